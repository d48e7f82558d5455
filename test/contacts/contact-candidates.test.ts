/**
 * Contacts from mail, below the stack: which addresses a page contributes (own domains, exclusion
 * patterns, directions, hostile names and addresses), and the Table Storage aggregate's promise
 * that a message is counted once however often its page is applied (replays, two mailboxes, two
 * workers at once), with a bounded number of Table calls per page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAzurite } from '../../dev/azurite/azurite';
import type { AzuriteInstance } from '../../dev/azurite/azurite';
import { ContactCandidateStore } from '../../shared/contacts/contact-candidate-store';
import { createContactCandidateCollector } from '../../shared/contacts/contact-candidates';
import { cleanDisplayName, ContactFilter, normalizeAddress, observationsOf } from '../../shared/contacts/contact-observations';
import { contactCandidateRecordSchema, createChangeRecord } from '../../shared/delivery/change-batch';
import type { ChangeBatch, ChangeItem, ChangeRecord } from '../../shared/delivery/change-batch';
import { syncMailbox } from '../../shared/sync/sync-engine';
import type { MailboxSource } from '../../shared/sync/mailbox-source';
import type { EwsMessage } from '../../shared/ews/types';
import { SecretString } from '../../shared/logging';
import { TableStorage } from '../../shared/storage';

let azurite: AzuriteInstance;
let storage: TableStorage;
let tableCalls = 0;

before(async () => {
  azurite = await startAzurite({ inMemory: true });
  storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) } });
});
after(async () => {
  await azurite?.close();
});

const SETTINGS = { enabled: true, ownDomains: ['contoso.com'], excludePatterns: ['*@newsletter.example.com'] };

function message(itemId: string, fields: Partial<EwsMessage>, mailbox = 'bob@contoso.com'): ChangeRecord {
  const item: EwsMessage = { kind: 'message', id: itemId, changeKey: 'ck', subject: 's', from: undefined, sender: undefined, to: [], cc: [], bcc: [], receivedAt: '2026-11-01T10:00:00Z', sentAt: undefined, isRead: false, internetMessageId: undefined, conversationId: undefined, ...fields } as EwsMessage;
  return createChangeRecord({ tenantId: 't1', groupId: 'g1', mailbox, folder: 'inbox', itemId, changeKey: 'ck', changeType: 'created', fullResync: false, item, occurredAt: '2026-11-01T10:00:05Z' });
}

describe('observations from a page of records', () => {
  const filter = new ContactFilter(SETTINGS, 'bob@contoso.com');

  it('senders from outside are receivedFrom, recipients of own mail are sentTo; own domains, noreply and patterns excluded', () => {
    const observations = observationsOf(
      [
        message('1', { from: { name: 'Dana', address: 'Dana@Example.NET' }, to: [{ name: 'Bob', address: 'bob@contoso.com' }] }),
        message('2', { from: { name: 'Bob', address: 'bob@contoso.com' }, to: [{ name: 'Erin', address: 'erin@example.org' }, { name: 'Carol', address: 'carol@sales.contoso.com' }], cc: [{ name: undefined, address: 'ERIN@example.org' }] }),
        message('3', { from: { name: 'Robot', address: 'noreply@shop.example' } }),
        message('4', { from: { name: 'News', address: 'weekly@newsletter.example.com' } }),
        message('5', { from: { name: 'Colleague', address: 'carol@contoso.com' }, to: [{ name: 'F', address: 'frank@example.com' }] }),
        createChangeRecord({ ...message('6', { from: { name: 'Gone', address: 'gone@example.com' } }), changeType: 'deleted' }),
      ],
      'bob@contoso.com',
      filter,
    );
    assert.deepEqual(
      observations.map((o) => [o.address, o.direction, o.displayName]),
      [
        ['dana@example.net', 'receivedFrom', 'Dana'],
        ['erin@example.org', 'sentTo', 'Erin'],
        ['frank@example.com', 'sentTo', 'F'],
      ],
    );
  });

  it('attacker: hostile addresses are dropped, hostile names cleaned, look-alike domains are not own', () => {
    const huge = `<script>alert(1)</script>${'A'.repeat(100_000)}`;
    const observations = observationsOf(
      [
        message('1', { from: { name: 'CEO <ceo@contoso.com>\r\nBcc: all@contoso.com', address: 'attacker@evil.example' } }),
        message('2', { from: { name: huge, address: 'ceo@contoso.com.evil.example' } }),
        message('3', { from: { name: 'x', address: 'victim@contoso.com>\r\nBcc: y@evil.example' } }),
        message('4', { from: { name: 'x', address: '"quoted"@evil.example' } }),
        message('5', { from: { name: 'x', address: `${'a'.repeat(300)}@evil.example` } }),
        message('6', { from: { name: 'x', address: 'a@b@evil.example' } }),
      ],
      'bob@contoso.com',
      filter,
    );
    assert.deepEqual(observations.map((o) => o.address), ['attacker@evil.example', 'ceo@contoso.com.evil.example']);
    assert.equal(observations[0]!.displayName, 'CEO <ceo@contoso.com> Bcc: all@contoso.com', 'no line breaks survive');
    assert.equal([...observations[1]!.displayName!].length, 256);
    assert.equal(normalizeAddress(' Dana@Example.NET '), 'dana@example.net');
    assert.equal(cleanDisplayName('\u0000\u200b  '), undefined);
  });
});

describe('the Table Storage aggregate', () => {
  const countingStorage = (): TableStorage =>
    ({
      table: async (name: string) => {
        const client = await storage.table(name);
        return new Proxy(client, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver) as unknown;
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              if (property === 'submitTransaction' || property === 'listEntities' || property === 'getEntity') tableCalls++;
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        });
      },
    }) as unknown as TableStorage;

  it('counts each message once: a replayed page and the same message in a second mailbox add nothing; state is re-sent', async () => {
    const store = new ContactCandidateStore(countingStorage());
    const collect = (mailbox: string) => createContactCandidateCollector(store, { tenantId: 't1', groupId: 'g-once', mailbox, settings: SETTINGS, now: () => new Date('2026-11-02T00:00:00Z') });
    const page = Array.from({ length: 60 }, (_, i) => message(`m${i}`, { from: { name: `Sender ${i % 20}`, address: `sender${i % 20}@example.net` }, internetMessageId: `<m${i}@example.net>`, receivedAt: new Date(Date.parse('2026-11-01T00:00:00Z') + i * 60_000).toISOString() }));
    tableCalls = 0;
    const first = await collect('bob@contoso.com').collect(page);
    assert.ok(tableCalls <= 4, `a 60-message page from 20 senders takes a few Table calls, not one per message (${tableCalls})`);
    assert.equal(first.length, 20);
    assert.ok(first.every((r) => r.changeType === 'created' && r.receivedFromCount === 3 && r.messageCount === 3));
    for (const record of first) assert.ok(contactCandidateRecordSchema.safeParse(record).success);

    const replay = await collect('bob@contoso.com').collect(page);
    assert.deepEqual(replay.map((r) => [r.address, r.receivedFromCount, r.changeType]), first.map((r) => [r.address, 3, 'updated']));
    assert.deepEqual(replay.map((r) => r.idempotencyKey), first.map((r) => r.idempotencyKey), 'same state, same key: receivers drop the duplicates');

    const sameMessagesElsewhere = page.map((r, i) => message(`carol-${i}`, r.item as EwsMessage, 'carol@contoso.com'));
    const fromCarol = await collect('carol@contoso.com').collect(sameMessagesElsewhere);
    assert.ok(fromCarol.every((r) => r.receivedFromCount === 3), 'the same Internet message id in another mailbox is not counted again');

    const later = await collect('bob@contoso.com').collect([message('new', { from: { name: 'Sender Zero (Sales)', address: 'SENDER0@example.net' }, internetMessageId: '<new@example.net>', receivedAt: '2026-11-03T09:00:00Z' })]);
    assert.deepEqual(later.map((r) => [r.address, r.receivedFromCount, r.lastSeen, r.firstSeen, r.displayName, r.changeType]), [['sender0@example.net', 4, '2026-11-03T09:00:00Z', '2026-11-01T00:00:00.000Z', 'Sender Zero (Sales)', 'updated']]);

    // The page again as Graph reports changed messages (updated records): still nothing counted twice.
    const asUpdates = page.map((r) => createChangeRecord({ ...r, changeType: 'updated' }));
    tableCalls = 0;
    const updates = await collect('bob@contoso.com').collect(asUpdates);
    assert.ok(updates.every((r) => r.receivedFromCount === (r.address === 'sender0@example.net' ? 4 : 3)));
    assert.ok(tableCalls <= 8, `markers of updated messages read 14 per query (${tableCalls} calls)`);
  });

  it('two workers applying the same page at once still count each message once', async () => {
    const store = new ContactCandidateStore(storage);
    const page = Array.from({ length: 30 }, (_, i) => message(`r${i}`, { from: { name: 'Race', address: `race${i % 3}@example.net` }, internetMessageId: `<race${i}@example.net>` }));
    const collector = createContactCandidateCollector(store, { tenantId: 't1', groupId: 'g-race', mailbox: 'bob@contoso.com', settings: SETTINGS });
    await Promise.all([collector.collect(page), collector.collect(page), collector.collect(page)]);
    const all: { address: string; receivedFromCount: number }[] = [];
    for await (const candidate of store.list('t1', 'g-race')) all.push(candidate);
    assert.deepEqual(all.map((c) => [c.address, c.receivedFromCount]).sort(), [['race0@example.net', 10], ['race1@example.net', 10], ['race2@example.net', 10]]);
  });
});

describe('through the sync engine', () => {
  it('nothing lost and nothing counted twice when the outbox refuses the candidates after they were counted (crash, replay)', async () => {
    const store = new ContactCandidateStore(storage);
    const item = { kind: 'message', id: 'i1', changeKey: 'c1', subject: 'Hello', from: { name: 'Quinn', address: 'quinn@example.org' }, sender: undefined, to: [], cc: [], bcc: [], receivedAt: '2026-11-05T08:00:00Z', internetMessageId: '<quinn-1@example.org>' } as unknown as ChangeItem;
    const source: MailboxSource = {
      listChanges: async () => ({ syncState: 'after-1', includesLastItemInRange: true, changes: [{ type: 'created', itemId: 'i1' }] }),
      getItems: async (ids) => ids.map((itemId) => ({ ok: true as const, itemId, item })),
    };
    const delivered: ChangeBatch[] = [];
    let refuse = true;
    const outbox = {
      enqueue: async (batch: ChangeBatch) => {
        if (batch.contactCandidates && refuse) {
          refuse = false;
          throw new Error('queue unavailable');
        }
        delivered.push(batch);
        return { batchId: batch.batchId, claimCheck: false };
      },
    };
    let saved = 0;
    const states = { read: async () => ({ syncState: undefined, phase: 'incremental' as const, fullResync: false, updatedAt: undefined, version: undefined }), save: async () => ({ etag: String(++saved), overflowRows: 0 }) };
    const request = () => ({
      tenantId: 't1', groupId: 'g-replay', mailbox: 'bob@contoso.com', folders: ['inbox' as const], initialSync: { kind: 'all' as const }, source, deadlineInMs: Date.now() + 60_000,
      contactCandidates: createContactCandidateCollector(store, { tenantId: 't1', groupId: 'g-replay', mailbox: 'bob@contoso.com', settings: SETTINGS }),
    });
    await assert.rejects(syncMailbox({ states, outbox }, request()), /did not accept/);
    assert.equal(saved, 0, 'the state was not saved: the page is read again');
    await syncMailbox({ states, outbox }, request());
    const candidates = delivered.flatMap((b) => b.contactCandidates ?? []);
    assert.deepEqual(candidates.map((c) => [c.address, c.receivedFromCount, c.displayName]), [['quinn@example.org', 1, 'Quinn']], 'delivered once the outbox took it, counted once');
    assert.equal(saved, 1);
  });
});
