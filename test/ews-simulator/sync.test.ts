/** SyncFolderItems semantics over raw SOAP: coalescing, Ignore, paging, damaged states. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { PASSWORDS, seedSmallOrganisation } from './fixture';
import { basicAuth, extract, soapCall } from './soap-client';

let sim: EwsSimulator;
const alice = basicAuth('alice@contoso.com', PASSWORDS.alice);

before(async () => {
  sim = await startEwsSimulator({ seed: seedSmallOrganisation });
});
after(async () => {
  await sim.close();
});

interface Page {
  readonly body: string;
  readonly state: string;
  readonly last: boolean;
  /** [kind, item id] in order. */
  readonly changes: [string, string][];
}

async function sync(folder: string, state: string, max: number, ignore: string[] = []): Promise<Page> {
  const body = (
    await soapCall(
      sim.url,
      `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="${folder}"/></m:SyncFolderId>` +
        (state ? `<m:SyncState>${state}</m:SyncState>` : '') +
        (ignore.length ? `<m:Ignore>${ignore.map((id) => `<t:ItemId Id="${id}"/>`).join('')}</m:Ignore>` : '') +
        `<m:MaxChangesReturned>${max}</m:MaxChangesReturned></m:SyncFolderItems>`,
      { authorization: alice },
    )
  ).body;
  const changes = [...body.matchAll(/<t:(Create|Update|Delete|ReadFlagChange)>(?:<t:Message>)?<t:ItemId Id="([^"]+)"/g)].map((m) => [m[1]!, m[2]!] as [string, string]);
  return { body, state: extract(body, /<m:SyncState>([^<]*)</) ?? '', last: extract(body, /<m:IncludesLastItemInRange>([^<]+)</) === 'true', changes };
}

async function caughtUp(folder: string): Promise<string> {
  let state = '';
  for (;;) {
    const page = await sync(folder, state, 512);
    state = page.state;
    if (page.last) return state;
  }
}

test('coalescing: created+updated is one Create, created+deleted is nothing, read-flag only is ReadFlagChange', async () => {
  const start = await caughtUp('inbox');
  const existing = sim.store.folderItems(sim.store.getFolder('alice@contoso.com', { distinguished: 'inbox' }));
  const [readOnly, edited] = [existing[0]!, existing[1]!];
  const created = sim.store.createItem('alice@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject: 'new' });
  sim.store.updateItem(created.id, { subject: 'new, edited' });
  const transient = sim.store.createItem('alice@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject: 'gone soon' });
  sim.store.deleteItem(transient.id, 'HardDelete');
  sim.store.updateItem(readOnly.id, { isRead: false });
  sim.store.updateItem(readOnly.id, { isRead: true });
  sim.store.updateItem(edited.id, { isRead: true });
  sim.store.updateItem(edited.id, { categories: ['Blue'] });

  const page = await sync('inbox', start, 512);
  assert.equal(page.last, true);
  assert.deepEqual(page.changes, [
    ['Create', created.id],
    ['ReadFlagChange', readOnly.id],
    ['Update', edited.id],
  ]);
  assert.match(page.body, new RegExp(`<t:ReadFlagChange><t:ItemId Id="${readOnly.id.replace(/[+/=]/g, '\\$&')}"/><t:IsRead>true</t:IsRead>`));
  const after = await sync('inbox', page.state, 512);
  assert.deepEqual(after.changes, []);
});

test('paging honours MaxChangesReturned exactly and IncludesLastItemInRange marks the end', async () => {
  const start = await caughtUp('inbox');
  const created = Array.from({ length: 10 }, (_, i) => sim.store.createItem('alice@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject: `bulk ${i}` }).id);
  const sizes: number[] = [];
  const lasts: boolean[] = [];
  const seen: string[] = [];
  let state = start;
  for (;;) {
    const page = await sync('inbox', state, 3);
    sizes.push(page.changes.length);
    lasts.push(page.last);
    seen.push(...page.changes.map(([, id]) => id));
    state = page.state;
    if (page.last) break;
  }
  assert.deepEqual(sizes, [3, 3, 3, 1]);
  assert.deepEqual(lasts, [false, false, false, true]);
  assert.deepEqual(seen, created);
});

test('Ignore: changes to ignored items are skipped but consumed', async () => {
  const start = await caughtUp('inbox');
  const ignored = sim.store.createItem('alice@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject: 'mine' });
  const reported = sim.store.createItem('alice@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject: 'theirs' });
  const page = await sync('inbox', start, 512, [ignored.id]);
  assert.deepEqual(page.changes, [['Create', reported.id]]);
  assert.deepEqual((await sync('inbox', page.state, 512)).changes, []);
});

test('damaged or foreign sync states: ErrorInvalidSyncStateData with SyncState and IncludesLastItemInRange present', async () => {
  const inboxState = await caughtUp('inbox');
  const damaged = inboxState.slice(0, 10) + (inboxState[10] === 'A' ? 'B' : 'A') + inboxState.slice(11);
  for (const [folder, state] of [
    ['inbox', damaged],
    ['drafts', inboxState],
    ['inbox', 'not base64 at all!'],
  ] as const) {
    const page = await sync(folder, state, 10);
    assert.match(page.body, /ResponseClass="Error"[\s\S]*<m:ResponseCode>ErrorInvalidSyncStateData</, `${folder} ${state.slice(0, 12)}`);
    assert.match(page.body, /<m:SyncState><\/m:SyncState><m:IncludesLastItemInRange>true</);
  }
});

test('MaxChangesReturned outside 1..512 is a schema-validation SOAP fault', async () => {
  for (const max of [0, 513]) {
    const result = await soapCall(
      sim.url,
      `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:MaxChangesReturned>${max}</m:MaxChangesReturned></m:SyncFolderItems>`,
      { authorization: alice },
    );
    assert.equal(result.status, 500);
    assert.match(result.body, /<faultcode[^>]*>a:ErrorSchemaValidation<\/faultcode>/);
    assert.match(result.body, /<e:ResponseCode [^>]*>ErrorSchemaValidation</);
  }
});
