/**
 * persistPath: the simulator keeps its state across restarts. SyncStates issued before a restart
 * still work after it and report the changes made around it; ids, ChangeKeys, accounts, rights,
 * bodies, dates and attachment bytes come back; saves happen shortly after changes and on close;
 * a damaged file stops the start instead of being overwritten.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { EwsStore } from '../../dev/ews-simulator/model';
import { loadState } from '../../dev/ews-simulator/persistence';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { PASSWORDS, seedSmallOrganisation } from './fixture';
import { basicAuth, extract, soapCall } from './soap-client';

const dir = mkdtempSync(join(tmpdir(), 'ews-sim-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const alice = basicAuth('alice@contoso.com', PASSWORDS.alice);

interface Page {
  readonly code: string | undefined;
  readonly state: string;
  readonly last: boolean;
  readonly changes: string[];
}

/** One SyncFolderItems call on alice's Inbox; changes as "Kind:ItemId". */
async function syncInbox(sim: EwsSimulator, state: string): Promise<Page> {
  const { body } = await soapCall(
    sim.url,
    `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>` +
      (state ? `<m:SyncState>${state}</m:SyncState>` : '') +
      `<m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`,
    { authorization: alice },
  );
  return {
    code: extract(body, /<m:ResponseCode>([^<]+)</),
    state: extract(body, /<m:SyncState>([^<]*)</) ?? '',
    last: extract(body, /<m:IncludesLastItemInRange>([^<]+)</) === 'true',
    changes: [...body.matchAll(/<t:(Create|Update|Delete|ReadFlagChange)>(?:<t:Message>)?<t:ItemId Id="([^"]+)"/g)].map((m) => `${m[1]}:${m[2]}`),
  };
}

async function caughtUp(sim: EwsSimulator): Promise<string> {
  let state = '';
  for (;;) {
    const page = await syncInbox(sim, state);
    assert.equal(page.code, 'NoError');
    state = page.state;
    if (page.last) return state;
  }
}

async function control(sim: EwsSimulator, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${sim.controlUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  return response.status === 204 ? undefined : response.json();
}

async function getItem(sim: EwsSimulator, authorization: string, id: string): Promise<string> {
  return (
    await soapCall(sim.url, `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:BodyType>Text</t:BodyType></m:ItemShape><m:ItemIds><t:ItemId Id="${id}"/></m:ItemIds></m:GetItem>`, { authorization })
  ).body;
}

let seedRuns = 0;
function countingSeed(store: EwsStore): void {
  seedRuns++;
  seedSmallOrganisation(store);
}

test('a SyncState issued before a restart stays valid and reports changes made before and after it; ids and accounts survive', async () => {
  const path = join(dir, 'restart', 'ews-simulator.json');
  const first = await startEwsSimulator({ seed: countingSeed, persistPath: path, persistDebounceInMs: 60_000 });
  assert.equal(first.restoredFromFile, false);
  assert.equal(seedRuns, 1);
  assert.ok(existsSync(path), 'the seeded state is saved at once');

  const state = await caughtUp(first);
  const inbox = first.store.folderItems(first.store.getFolder('alice@contoso.com', { distinguished: 'inbox' }));
  const toRead = inbox[2]!;
  const withAttachment = inbox.find((item) => item.attachments.length > 0)!;
  // Changes after the SyncState, before the restart (saved by close, not by the 60 s debounce).
  const delivered = (await control(first, 'POST', '/deliver', { from: 'Dan Customer <dan@example.net>', toRecipients: ['alice@contoso.com'], subject: 'Before restart', body: 'Sent before the restart.', receivedAt: '2025-03-04T10:00:00Z' })) as { id: string; changeKey: string }[];
  await control(first, 'PATCH', `/items/${encodeURIComponent(toRead.id)}`, { isRead: false });
  await control(first, 'POST', '/mailboxes', { smtpAddress: 'erin@contoso.com', displayName: 'Erin', password: 'Erin-Pass1' });
  await control(first, 'POST', '/service-accounts', { userPrincipalName: 'svc-new@contoso.com', password: 'SvcNew-Pass1' });
  await control(first, 'POST', '/impersonation-rights', { principal: 'svc-new@contoso.com', scope: { kind: 'list', mailboxes: ['erin@contoso.com'] } });
  const attachmentXmlBefore = await getItem(first, alice, withAttachment.id);
  await first.close();

  const second = await startEwsSimulator({ seed: countingSeed, persistPath: path });
  try {
    assert.equal(second.restoredFromFile, true);
    assert.equal(seedRuns, 1, 'the seed does not run when the state file exists');
    // Changes after the restart.
    const after = second.store.deliverMail({ from: { address: 'dan@example.net' }, toRecipients: [{ address: 'alice@contoso.com' }], subject: 'After restart' })[0]!;
    assert.ok(!inbox.some((item) => item.id === after.id) && after.id !== delivered[0]!.id, 'new ids continue after the saved counter');
    second.store.deleteItem(inbox[0]!.id, 'HardDelete');

    const page = await syncInbox(second, state);
    assert.equal(page.code, 'NoError');
    assert.deepEqual(page.changes, [`Create:${delivered[0]!.id}`, `ReadFlagChange:${toRead.id}`, `Create:${after.id}`, `Delete:${inbox[0]!.id}`]);
    assert.equal(page.last, true);
    assert.deepEqual((await syncInbox(second, page.state)).changes, []);

    // Same ids and ChangeKeys, same content (body, dates, attachment bytes).
    const again = await getItem(second, alice, delivered[0]!.id);
    assert.equal(extract(again, /<t:ItemId Id="[^"]+" ChangeKey="([^"]+)"/), delivered[0]!.changeKey);
    assert.match(again, /<t:Body BodyType="Text"[^>]*>Sent before the restart\.<\/t:Body>/);
    assert.match(again, /<t:DateTimeReceived>2025-03-04T10:00:00Z<\/t:DateTimeReceived>/);
    assert.match(again, /<t:Name>Dan Customer<\/t:Name>/);
    assert.equal(await getItem(second, alice, withAttachment.id), attachmentXmlBefore);
    const attachmentId = extract(attachmentXmlBefore, /<t:AttachmentId Id="([^"]+)"/)!;
    const attachment = await soapCall(second.url, `<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="${attachmentId}"/></m:AttachmentIds></m:GetAttachment>`, { authorization: alice });
    assert.equal(Buffer.from(extract(attachment.body, /<t:Content>([^<]+)</) ?? '', 'base64').toString(), 'invoice 101');

    // Accounts, passwords and rights made through the control API came back.
    const erin = await soapCall(second.url, '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>', {
      authorization: basicAuth('svc-new@contoso.com', 'SvcNew-Pass1'),
      impersonate: 'erin@contoso.com',
    });
    assert.equal(extract(erin.body, /<m:ResponseCode>([^<]+)</), 'NoError');
    const denied = await soapCall(second.url, '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>', {
      authorization: basicAuth('svc-new@contoso.com', 'SvcNew-Pass1'),
      impersonate: 'bob@contoso.com',
    });
    assert.match(denied.body, /ErrorImpersonateUserDenied/);

    // Restored items have the same shape as new ones (see store-shape.test.ts).
    assert.equal(Object.keys(second.store.getItem(toRead.id)!).join(), Object.keys(after).join());
  } finally {
    await second.close();
  }
});

test('changes are saved in the background shortly after they happen, atomically', async () => {
  const path = join(dir, 'debounce.json');
  const sim = await startEwsSimulator({ seed: seedSmallOrganisation, persistPath: path, persistDebounceInMs: 50 });
  try {
    const created = sim.store.createItem('bob@contoso.com', { distinguished: 'inbox' }, { kind: 'message', subject: 'Saved without close' });
    const deadline = Date.now() + 10_000;
    let saved = false;
    while (!saved && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      saved = loadState(path)?.store.items.some((item) => item.id === created.id && item.subject === 'Saved without close') ?? false;
    }
    assert.ok(saved, 'the change reached the file while the simulator kept running');
    assert.deepEqual(
      (await import('node:fs')).readdirSync(join(dir)).filter((name) => name.startsWith('debounce.json.')),
      [],
      'no temp files left behind',
    );
  } finally {
    await sim.close();
  }
});

test('a SyncState from a simulator without that state file is refused after restart (the key is per file)', async () => {
  const other = await startEwsSimulator({ seed: seedSmallOrganisation });
  const foreignState = await caughtUp(other);
  await other.close();
  const sim = await startEwsSimulator({ seed: seedSmallOrganisation, persistPath: join(dir, 'key.json') });
  try {
    assert.equal((await syncInbox(sim, foreignState)).code, 'ErrorInvalidSyncStateData');
  } finally {
    await sim.close();
  }
});

test('a damaged state file stops the start with a clear error and is left as it was', async () => {
  const path = join(dir, 'damaged.json');
  writeFileSync(path, '{"format":"ews-simulator-snapshot","version":1,"store":');
  await assert.rejects(startEwsSimulator({ seed: seedSmallOrganisation, persistPath: path }), /damaged\.json: not valid JSON.*delete the file/);
  assert.equal(readFileSync(path, 'utf8'), '{"format":"ews-simulator-snapshot","version":1,"store":');
  writeFileSync(path, JSON.stringify({ format: 'something-else' }));
  await assert.rejects(startEwsSimulator({ persistPath: path }), /not an EWS simulator state file/);
});
