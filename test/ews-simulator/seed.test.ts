import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createEwsStore } from '../../dev/ews-simulator/store';
import type { CalendarItem, Contact, EwsStore, Item, Message, Task } from '../../dev/ews-simulator/model';
import { DEMO_DIRECTORY_PEOPLE, DEMO_MAILBOXES, DEMO_ORGANISATION, DEMO_SERVICE_ACCOUNT, demoOrganisationSeed, fillMailbox, SeededRandom } from '../../dev/ews-simulator/seed';

const CLOCK = new Date('2025-03-03T12:00:00.000Z');
const REFERENCE = new Date('2025-03-03T09:00:00.000Z');

function storeWithMailbox(): EwsStore {
  const store = createEwsStore({ now: () => CLOCK });
  store.addOrganisation({ id: 'fabrikam', name: 'Fabrikam', domains: ['fabrikam.test'] });
  store.addMailbox({ smtpAddress: 'erin@fabrikam.test', displayName: 'Erin Evans' });
  return store;
}

function itemsIn(store: EwsStore, folder: Parameters<EwsStore['getFolder']>[1], mailbox = 'erin@fabrikam.test'): Item[] {
  return store.folderItems(store.getFolder(mailbox, folder));
}

function snapshot(items: readonly Item[]): string {
  return JSON.stringify(items, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value));
}

describe('SeededRandom', () => {
  it('repeats its sequence for a seed and differs between seeds', () => {
    const draw = (seed: string): number[] => {
      const random = new SeededRandom(seed);
      return Array.from({ length: 20 }, () => random.nextUint32());
    };
    assert.deepEqual(draw('a'), draw('a'));
    assert.notDeepEqual(draw('a'), draw('b'));
  });
});

describe('fillMailbox', () => {
  it('gives the same items for the same seed and different ones for another seed', () => {
    const fill = (seed: string): Item[] => {
      const store = storeWithMailbox();
      fillMailbox(store, 'erin@fabrikam.test', { count: 300, seed, referenceDate: REFERENCE });
      return itemsIn(store, { distinguished: 'inbox' });
    };
    const first = fill('seed-1');
    assert.equal(first.length, 300);
    assert.equal(snapshot(fill('seed-1')), snapshot(first));
    const other = fill('seed-2');
    assert.notDeepEqual(
      other.map((item) => item.subject),
      first.map((item) => item.subject),
    );
  });

  it('fills an Inbox with received mail in threads (RE:/FW:, quoted history, In-Reply-To)', () => {
    const store = storeWithMailbox();
    fillMailbox(store, 'erin@fabrikam.test', { count: 400, seed: 'threads', referenceDate: REFERENCE });
    const messages = itemsIn(store, { distinguished: 'inbox' }) as Message[];
    assert.ok(messages.every((m) => m.kind === 'message' && m.subject.length > 0));
    assert.ok(messages.every((m) => m.from && m.from.address !== 'erin@fabrikam.test'), 'the Inbox holds mail from others');
    assert.ok(messages.every((m) => m.toRecipients.some((r) => r.address === 'erin@fabrikam.test')), 'addressed to the owner');

    const replies = messages.filter((m) => /^(RE|Re): /.test(m.subject));
    const forwards = messages.filter((m) => m.subject.startsWith('FW: '));
    assert.ok(replies.length > 40, `replies: ${replies.length}`);
    assert.ok(forwards.length > 5, `forwards: ${forwards.length}`);
    const ids = new Map(messages.map((m) => [m.internetMessageId, m]));
    assert.equal(ids.size, messages.length, 'Internet message ids are unique');
    for (const reply of replies) {
      const parent = ids.get(reply.inReplyTo);
      assert.ok(parent, `reply "${reply.subject}" points at an earlier message`);
      assert.equal(reply.subject.replace(/^(RE|Re): /, ''), parent.subject.replace(/^(RE|Re|FW): /, ''));
      assert.ok(parent.dateTimeReceived < reply.dateTimeReceived);
      assert.match(reply.body.content, /Original Message|<b>From:<\/b>/, 'replies quote the earlier message');
    }

    const received = messages.map((m) => m.dateTimeReceived.getTime());
    assert.deepEqual(received, [...received].sort((a, b) => a - b), 'created oldest first');
    assert.ok(received.every((t) => t <= REFERENCE.getTime()));
    assert.ok(messages.some((m) => m.body.type === 'HTML') && messages.some((m) => m.body.type === 'Text'));
    assert.ok(messages.every((m) => m.body.content.split(/\n\n|<\/p><p>/).length >= 3), 'greeting, paragraphs and closing');
    const unread = messages.filter((m) => !m.isRead).length;
    assert.ok(unread > 0 && unread < messages.length / 2, `unread: ${unread}`);
    assert.ok(messages.some((m) => m.attachments.length > 0));
    assert.ok(new Set(messages.map((m) => m.from?.address)).size > 30, 'many different senders');
  });

  it('writes Sent Items from the owner, drafts without a sent time', () => {
    const store = storeWithMailbox();
    fillMailbox(store, 'erin@fabrikam.test', { count: 30, seed: 's', folder: { distinguished: 'sentitems' }, referenceDate: REFERENCE });
    fillMailbox(store, 'erin@fabrikam.test', { count: 5, seed: 's', folder: { distinguished: 'drafts' }, referenceDate: REFERENCE });
    const sent = itemsIn(store, { distinguished: 'sentitems' }) as Message[];
    assert.ok(sent.every((m) => m.from?.address === 'erin@fabrikam.test' && m.isRead && m.dateTimeSent));
    assert.ok(sent.every((m) => m.toRecipients.every((r) => r.address !== 'erin@fabrikam.test')));
    const drafts = itemsIn(store, { distinguished: 'drafts' }) as Message[];
    assert.ok(drafts.every((m) => m.isDraft && m.dateTimeSent === undefined));
  });

  it('fills a calendar with meetings around the reference date, with attendees and locations, and some all-day events', () => {
    const store = storeWithMailbox();
    fillMailbox(store, 'erin@fabrikam.test', { count: 200, seed: 'cal', folder: { distinguished: 'calendar' }, referenceDate: REFERENCE });
    const meetings = itemsIn(store, { distinguished: 'calendar' }) as CalendarItem[];
    assert.equal(meetings.length, 200);
    assert.ok(meetings.every((m) => m.kind === 'calendarItem' && m.end > m.start && m.subject));
    assert.ok(meetings.some((m) => m.start > REFERENCE) && meetings.some((m) => m.start < REFERENCE), 'past and upcoming');
    const allDay = meetings.filter((m) => m.isAllDayEvent);
    assert.ok(allDay.length > 0);
    assert.ok(allDay.every((m) => m.start.getUTCHours() === 0 && (m.end.getTime() - m.start.getTime()) % 86_400_000 === 0));
    const timed = meetings.filter((m) => !m.isAllDayEvent);
    assert.ok(timed.every((m) => m.location !== '' && m.requiredAttendees.length >= 1 && m.organizer));
    assert.ok(timed.every((m) => m.requiredAttendees.some((a) => a.mailbox.address === 'erin@fabrikam.test') || m.organizer?.address === 'erin@fabrikam.test'));
    assert.equal(new Set(meetings.map((m) => m.uid)).size, meetings.length);
  });

  it('fills contacts with company, e-mail and phone numbers', () => {
    const store = storeWithMailbox();
    fillMailbox(store, 'erin@fabrikam.test', { count: 250, seed: 'con', folder: { distinguished: 'contacts' }, referenceDate: REFERENCE });
    const contacts = itemsIn(store, { distinguished: 'contacts' }) as Contact[];
    assert.equal(contacts.length, 250);
    for (const contact of contacts) {
      assert.ok(contact.givenName && contact.surname && contact.companyName && contact.jobTitle);
      assert.equal(contact.fileAs, `${contact.surname}, ${contact.givenName}`);
      assert.match(contact.emailAddresses[0]!.address, /^[a-z.]+@[a-z.-]+$/);
      assert.match(contact.phoneNumbers.find((p) => p.key === 'BusinessPhone')!.number, /^\+\d+ [\d ]+$/);
    }
    assert.ok(contacts.some((c) => c.phoneNumbers.some((p) => p.key === 'MobilePhone')));
  });

  it('fills tasks whose status agrees with progress and dates', () => {
    const store = storeWithMailbox();
    fillMailbox(store, 'erin@fabrikam.test', { count: 120, seed: 'tasks', folder: { distinguished: 'tasks' }, referenceDate: REFERENCE });
    const tasks = itemsIn(store, { distinguished: 'tasks' }) as Task[];
    assert.ok(tasks.every((t) => t.dueDate && t.startDate && t.dueDate > t.startDate));
    const statuses = new Set(tasks.map((t) => t.status));
    assert.ok(statuses.has('Completed') && statuses.has('NotStarted') && statuses.has('InProgress'));
    for (const task of tasks) {
      if (task.status === 'Completed') assert.ok(task.percentComplete === 100 && task.completeDate);
      else assert.ok(task.percentComplete < 100 && !task.completeDate);
    }
  });

  it('creates 100,000 items in one folder', () => {
    const store = storeWithMailbox();
    const summary = fillMailbox(store, 'erin@fabrikam.test', { count: 100_000, seed: 'bulk' });
    assert.equal(summary.created, 100_000);
    const inbox = store.getFolder('erin@fabrikam.test', { distinguished: 'inbox' });
    assert.equal(inbox.itemIds.size, 100_000);
    assert.equal(inbox.changeLog.length, 100_000);
    assert.equal(store.getItem(summary.lastItemId!)?.mailbox, 'erin@fabrikam.test');
  });
});

describe('demoOrganisationSeed', () => {
  function seeded(): EwsStore {
    const store = createEwsStore({ now: () => CLOCK });
    demoOrganisationSeed({ referenceDate: REFERENCE }).apply(store);
    return store;
  }

  it('creates Contoso with its mailboxes, passwords and the impersonating service account', () => {
    const store = seeded();
    const org = store.organisationForTenant(DEMO_ORGANISATION.entraTenantId);
    assert.equal(org?.name, 'Contoso');
    assert.deepEqual(org?.domains, ['contoso.com']);
    assert.deepEqual(
      store.mailboxes('contoso').map((m) => m.smtpAddress).sort(),
      [...DEMO_MAILBOXES, ...DEMO_DIRECTORY_PEOPLE].map((p) => p.address).sort(),
    );
    // The directory describes each person (department, title, phones) for directory lookups.
    assert.equal(store.getMailbox('alice@contoso.com')?.attributes.jobtitle, 'Account Manager');
    assert.equal(store.getMailbox('anders.lindqvist@contoso.com')?.attributes.businessphone, '+46 8 555 0112');
    for (const account of DEMO_MAILBOXES) assert.equal(store.getMailbox(account.address)?.password, account.password);
    assert.equal(store.getServiceAccount(DEMO_SERVICE_ACCOUNT.userPrincipalName)?.password, DEMO_SERVICE_ACCOUNT.password);
    const [right] = store.impersonationRights(DEMO_SERVICE_ACCOUNT.userPrincipalName);
    assert.ok(right);
    for (const mailbox of store.mailboxes('contoso')) assert.ok(store.scopeCovers(right.scope, mailbox), mailbox.smtpAddress);
  });

  it('puts a few dozen items in the main folders, plus internal mail delivered between the users', () => {
    const store = seeded();
    for (const account of DEMO_MAILBOXES) {
      for (const folder of ['inbox', 'calendar', 'contacts'] as const) {
        const count = itemsIn(store, { distinguished: folder }, account.address).length;
        assert.ok(count >= 24 && count <= 80, `${account.address} ${folder}: ${count}`);
      }
    }
    const aliceSent = itemsIn(store, { distinguished: 'sentitems' }, 'alice@contoso.com') as Message[];
    const internal = DEMO_MAILBOXES.flatMap((account) => itemsIn(store, { distinguished: 'inbox' }, account.address) as Message[]).filter((m) => m.from?.address === 'alice@contoso.com');
    const delivered = internal.filter((m) => aliceSent.some((s) => s.internetMessageId === m.internetMessageId));
    assert.ok(delivered.length > 0, 'a message Alice sent is in a colleague’s Inbox');
  });

  it('is deterministic for a seed and reference date', () => {
    assert.equal(snapshot(itemsIn(seeded(), { distinguished: 'inbox' }, 'bob@contoso.com')), snapshot(itemsIn(seeded(), { distinguished: 'inbox' }, 'bob@contoso.com')));
  });
});
