/** Shared setup for the simulator tests: a small, fully known organisation. */
import type { EwsStore } from '../../dev/ews-simulator/model';

export const TENANT_ID = '00000000-0000-4000-8000-0000000000d1';
export const PASSWORDS = {
  alice: 'Alice-Pass1',
  bob: 'Bob-Pass1',
  carol: 'Carol-Pass1',
  svc: 'Svc-Pass1',
  svcSales: 'SvcSales-Pass1',
} as const;

/** Contoso with alice, bob, carol (+ shared dispatch), two service accounts and a few items. */
export function seedSmallOrganisation(store: EwsStore): void {
  store.addOrganisation({ id: 'contoso', name: 'Contoso', domains: ['contoso.com'], entraTenantId: TENANT_ID });
  store.addOrganisation({ id: 'fabrikam', name: 'Fabrikam', domains: ['fabrikam.com'], entraTenantId: '00000000-0000-4000-8000-0000000000f2' });
  store.addMailbox({ smtpAddress: 'alice@contoso.com', displayName: 'Alice Anders', password: PASSWORDS.alice, attributes: { department: 'Sales' }, entraObjectId: 'd1000000-0000-4000-8000-000000000a11' });
  store.addMailbox({ smtpAddress: 'bob@contoso.com', displayName: 'Bob Berg', password: PASSWORDS.bob, attributes: { department: 'Operations' } });
  store.addMailbox({ smtpAddress: 'carol@contoso.com', displayName: 'Carol Chen', password: PASSWORDS.carol, attributes: { department: 'Sales' } });
  store.addMailbox({ smtpAddress: 'dispatch@contoso.com', displayName: 'Contoso Dispatch', kind: 'shared', fullAccess: ['alice@contoso.com'] });
  store.addMailbox({ smtpAddress: 'frank@fabrikam.com', displayName: 'Frank Fabrikam', password: 'Frank-Pass1' });
  store.addServiceAccount({ userPrincipalName: 'svc@contoso.com', password: PASSWORDS.svc });
  store.grantImpersonation({ principal: 'svc@contoso.com', scope: { kind: 'all' } });
  store.addServiceAccount({ userPrincipalName: 'svc-sales@contoso.com', password: PASSWORDS.svcSales });
  store.grantImpersonation({ principal: 'svc-sales@contoso.com', scope: { kind: 'filter', attribute: 'department', equals: 'Sales' } });

  const base = Date.parse('2025-03-01T08:00:00Z');
  for (let i = 0; i < 12; i++) {
    store.createItem('alice@contoso.com', { distinguished: 'inbox' }, {
      kind: 'message',
      subject: `Order ${100 + i}`,
      body: i % 2 ? { type: 'HTML', content: `<html><body><p>Order <b>${100 + i}</b> &amp; details</p></body></html>` } : { type: 'Text', content: `Order ${100 + i} details` },
      from: { name: 'Dan Customer', address: 'dan@example.net' },
      toRecipients: [{ name: 'Alice Anders', address: 'alice@contoso.com' }],
      dateTimeReceived: new Date(base + i * 3_600_000),
      dateTimeCreated: new Date(base + i * 3_600_000),
      dateTimeSent: new Date(base + i * 3_600_000 - 60_000),
      isRead: i < 4,
      internetMessageId: `<order-${100 + i}@example.net>`,
      categories: i === 0 ? ['Orders'] : [],
      ...(i === 1 ? { attachments: [{ name: 'invoice.txt', contentType: 'text/plain', content: Buffer.from('invoice 101') }] } : {}),
    });
  }
  store.createItem('alice@contoso.com', { distinguished: 'calendar' }, {
    kind: 'calendarItem',
    subject: 'Weekly sync',
    start: new Date('2025-03-03T10:00:00Z'),
    end: new Date('2025-03-03T10:30:00Z'),
    location: 'Room 1',
    organizer: { name: 'Alice Anders', address: 'alice@contoso.com' },
    requiredAttendees: [{ mailbox: { name: 'Bob Berg', address: 'bob@contoso.com' }, responseType: 'Accept' }],
  });
  store.createItem('alice@contoso.com', { distinguished: 'contacts' }, {
    kind: 'contact',
    givenName: 'Dan',
    surname: 'Customer',
    companyName: 'Example Net',
    emailAddresses: [{ key: 'EmailAddress1', address: 'dan@example.net' }],
    phoneNumbers: [{ key: 'BusinessPhone', number: '+1 555 0100' }],
  });
  store.createItem('alice@contoso.com', { distinguished: 'tasks' }, { kind: 'task', subject: 'Call Dan', dueDate: new Date('2025-03-05T00:00:00Z'), status: 'InProgress', percentComplete: 50 });
  store.createItem('dispatch@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject: 'Pickup request', from: { address: 'dan@example.net' }, toRecipients: [{ address: 'dispatch@contoso.com' }] });
  store.createItem('bob@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject: 'Bob private', from: { address: 'dan@example.net' }, toRecipients: [{ address: 'bob@contoso.com' }] });
}
