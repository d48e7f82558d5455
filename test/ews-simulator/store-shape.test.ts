/**
 * Items of one kind share one object shape (same properties in the same order, absent optional
 * ones undefined), whatever optional fields the caller gave, and keep it through updates that
 * clear fields. Mixed shapes made bulk fills of the store several times slower; the benchmark
 * measures the speed, this test guards the cause.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EwsStore, Item } from '../../dev/ews-simulator/model';
import { createEwsStore } from '../../dev/ews-simulator/store';

function storeWithMailbox(): EwsStore {
  const store = createEwsStore({ now: () => new Date('2025-03-01T08:00:00Z') });
  store.addOrganisation({ id: 'contoso', name: 'Contoso', domains: ['contoso.com'] });
  store.addMailbox({ smtpAddress: 'alice@contoso.com', displayName: 'Alice' });
  return store;
}

function keys(item: Item): string {
  return Object.keys(item).join(',');
}

test('messages with and without optional fields have the same properties in the same order', () => {
  const store = storeWithMailbox();
  const bare = store.createItem('alice@contoso.com', { distinguished: 'inbox' }, { kind: 'message' });
  const full = store.createItem('alice@contoso.com', { distinguished: 'inbox' }, {
    kind: 'message',
    subject: 'Full',
    from: { address: 'dan@example.net' },
    dateTimeSent: new Date('2025-03-01T07:00:00Z'),
    internetMessageId: '<full@example.net>',
    inReplyTo: '<earlier@example.net>',
    attachments: [{ name: 'a.txt', contentType: 'text/plain', content: Buffer.from('a'), contentId: 'cid-a' }],
  });
  const delivered = store.deliverMail({ from: { address: 'dan@example.net' }, toRecipients: [{ address: 'alice@contoso.com' }] })[0]!;
  assert.equal(keys(bare), keys(full));
  assert.equal(keys(delivered), keys(full));
  // Absent stays absent to readers and in JSON.
  assert.equal(bare.kind === 'message' ? bare.from : 'x', undefined);
  assert.equal('from' in JSON.parse(JSON.stringify(bare)), false);
  assert.equal(full.kind === 'message' ? full.from?.address : undefined, 'dan@example.net');

  store.updateItem(full.id, { from: null });
  assert.equal(keys(store.getItem(full.id)!), keys(bare));
});

test('calendar items, contacts and tasks keep one shape each, also after clearing optional fields', () => {
  const store = storeWithMailbox();
  const start = new Date('2025-03-03T10:00:00Z');
  const end = new Date('2025-03-03T11:00:00Z');
  const meetingA = store.createItem('alice@contoso.com', { distinguished: 'calendar' }, { kind: 'calendarItem', start, end });
  const meetingB = store.createItem('alice@contoso.com', { distinguished: 'calendar' }, { kind: 'calendarItem', start, end, organizer: { address: 'bob@contoso.com' }, uid: 'u1' });
  assert.equal(keys(meetingA), keys(meetingB));

  const contactA = store.createItem('alice@contoso.com', { distinguished: 'contacts' }, { kind: 'contact', displayName: 'Dan' });
  const contactB = store.createItem('alice@contoso.com', { distinguished: 'contacts' }, { kind: 'contact', givenName: 'Dan', surname: 'Customer', companyName: 'Example', jobTitle: 'Buyer', department: 'Purchasing' });
  assert.equal(keys(contactA), keys(contactB));
  store.updateItem(contactB.id, { givenName: null, companyName: null });
  const cleared = store.getItem(contactB.id)!;
  assert.equal(keys(cleared), keys(contactA));
  assert.equal(cleared.kind === 'contact' ? cleared.givenName : 'x', undefined);

  const taskA = store.createItem('alice@contoso.com', { distinguished: 'tasks' }, { kind: 'task' });
  const taskB = store.createItem('alice@contoso.com', { distinguished: 'tasks' }, { kind: 'task', dueDate: end, startDate: start, status: 'Completed', completeDate: end });
  assert.equal(keys(taskA), keys(taskB));
  store.updateItem(taskB.id, { dueDate: null });
  assert.equal(keys(store.getItem(taskB.id)!), keys(taskA));
});
