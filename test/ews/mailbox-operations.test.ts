/**
 * The EWS client layer against the EWS simulator: every operation through ews-javascript-api,
 * with Basic and NTLM impersonation and app-only Bearer tokens from the local identity provider.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  createMailboxClient,
  deleteItems,
  EwsAuthenticationError,
  EwsDisabledError,
  EwsResponseError,
  EwsThrottledError,
  EwsUnavailableError,
  createThrottlingPolicy,
  withRetries,
  findFolders,
  getFolder,
  getItems,
  sendMessage,
  syncFolderItems,
  updateIsRead,
  type EwsCredential,
  type EwsMessage,
  type MailboxClient,
} from '../../shared/ews';
import { appOnlyEwsCredential, clearAppOnlyTokenCache } from '../../shared/auth/app-only-token';
import { SecretString } from '../../shared/logging';
import { ensureDevCertificate } from '../../dev/certs';
import { projectRoot } from '../../dev/project-paths';
import { startEwsSimulator } from '../../dev/ews-simulator/server';
import type { EwsStore } from '../../dev/ews-simulator/model';
import { startIdentityProvider, type RunningIdentityProvider } from '../../dev/identity/server';
import { DEMO_IDENTITY, demoIdentitySeed } from '../../dev/identity/demo-seed';

const ORG_TENANT = DEMO_IDENTITY.contosoTenantId;
const SERVICE_ACCOUNT = 'svc-connector@contoso.com';
const SERVICE_PASSWORD = 'Svc-Pass-1';
const LIMITED_ACCOUNT = 'svc-limited@contoso.com';

let simulator: Awaited<ReturnType<typeof startEwsSimulator>>;
let store: EwsStore;
let idp: RunningIdentityProvider;

function seed(target: EwsStore): void {
  target.addOrganisation({ id: 'contoso', name: 'Contoso', domains: ['contoso.com'], entraTenantId: ORG_TENANT, authentication: { basic: true, ntlm: true, oauth: true } });
  for (const name of ['alice', 'bob', 'carol']) target.addMailbox({ smtpAddress: `${name}@contoso.com`, displayName: name[0]!.toUpperCase() + name.slice(1), password: `${name}-pass` });
  target.addServiceAccount({ userPrincipalName: SERVICE_ACCOUNT, password: SERVICE_PASSWORD });
  target.grantImpersonation({ principal: SERVICE_ACCOUNT, scope: { kind: 'all' } });
  target.addServiceAccount({ userPrincipalName: LIMITED_ACCOUNT, password: SERVICE_PASSWORD });
  target.grantImpersonation({ principal: LIMITED_ACCOUNT, scope: { kind: 'list', mailboxes: ['bob@contoso.com'] } });
}

before(async () => {
  const cert = await ensureDevCertificate(join(projectRoot(), '.dev', 'certs'));
  idp = await startIdentityProvider({ port: 0, tlsCertificate: cert, seed: demoIdentitySeed({ contosoAdminConsent: true }) });
  simulator = await startEwsSimulator({ port: 0, host: '127.0.0.1', identity: { authorityHost: idp.url } });
  store = simulator.store;
  seed(store);
});
after(async () => {
  await simulator?.close();
  await idp?.close();
  clearAppOnlyTokenCache();
});

const basic: EwsCredential = { kind: 'basic', username: SERVICE_ACCOUNT, password: new SecretString(SERVICE_PASSWORD) };
const ntlm: EwsCredential = { kind: 'ntlm', username: SERVICE_ACCOUNT, password: new SecretString(SERVICE_PASSWORD) };

function clientFor(mailbox: string, credential: EwsCredential = basic): MailboxClient {
  return createMailboxClient(simulator.url, credential, { mailbox, allowInsecureHttp: true, timeoutInMs: 10_000 });
}

function appOnly(): EwsCredential {
  return appOnlyEwsCredential({
    authorityHost: idp.url,
    tenantId: ORG_TENANT,
    clientId: DEMO_IDENTITY.connectorApp.clientId,
    credential: { kind: 'secret', secret: new SecretString(DEMO_IDENTITY.connectorApp.clientSecret) },
  });
}

function deliver(to: string, subject: string, extra: { body?: string; isRead?: boolean } = {}): string {
  const [copy] = store.deliverMail({
    from: { name: 'Sender', address: 'sender@fabrikam.com' },
    toRecipients: [{ address: to }],
    subject,
    body: { type: 'Text', content: extra.body ?? `Body of ${subject}` },
  });
  return copy!.id;
}

describe('authentication and impersonation', () => {
  for (const [name, credential] of [['Basic', basic], ['NTLM', ntlm]] as const) {
    test(`${name} service account impersonating alice reads her inbox`, async () => {
      deliver('alice@contoso.com', `hello via ${name}`);
      const folder = await getFolder(clientFor('alice@contoso.com', credential), { distinguished: 'inbox' });
      assert.ok((folder.totalCount ?? 0) >= 1);
      assert.ok(folder.id.length > 0);
    });
  }

  test('app-only Bearer token (full_access_as_app) from the identity provider reads a mailbox', async () => {
    deliver('carol@contoso.com', 'for the app');
    const client = clientFor('carol@contoso.com', appOnly());
    assert.equal(client.access, 'appOnly');
    const page = await syncFolderItems(client, { distinguished: 'inbox' }, undefined);
    assert.ok(page.changes.some((c) => c.type === 'create'));
  });

  test('delegated Bearer token reaches the user\'s own mailbox without impersonation, not another one', async () => {
    const token = idp.control.issueUserAccessToken({ user: 'alice@contoso.com', audience: 'https://outlook.office365.com', scp: 'EWS.AccessAsUser.All', appId: DEMO_IDENTITY.connectorApp.clientId });
    const delegated: EwsCredential = { kind: 'bearer', getToken: async () => new SecretString(token) };
    const own = createMailboxClient(simulator.url, delegated, { mailbox: 'alice@contoso.com', access: 'delegated', allowInsecureHttp: true });
    const logStart = simulator.state.requestLog.length;
    assert.ok((await getFolder(own, { distinguished: 'inbox' })).id);
    assert.equal(simulator.state.requestLog[logStart]?.impersonated, false);
    const other = createMailboxClient(simulator.url, delegated, { mailbox: 'bob@contoso.com', access: 'delegated', allowInsecureHttp: true });
    await assert.rejects(getFolder(other, { distinguished: 'inbox' }), (e: unknown) => e instanceof EwsResponseError && e.code === 'ErrorAccessDenied');
  });

  test('a wrong password → EwsAuthenticationError', async () => {
    const wrong: EwsCredential = { kind: 'basic', username: SERVICE_ACCOUNT, password: new SecretString('nope') };
    await assert.rejects(getFolder(clientFor('alice@contoso.com', wrong), { distinguished: 'inbox' }), (e: unknown) => e instanceof EwsAuthenticationError && e.schemes.length > 0);
  });

  test('impersonating a mailbox outside the scope → ErrorImpersonateUserDenied', async () => {
    const limited: EwsCredential = { kind: 'basic', username: LIMITED_ACCOUNT, password: new SecretString(SERVICE_PASSWORD) };
    await getFolder(clientFor('bob@contoso.com', limited), { distinguished: 'inbox' });
    await assert.rejects(getFolder(clientFor('alice@contoso.com', limited), { distinguished: 'inbox' }), (e: unknown) => e instanceof EwsResponseError && e.code === 'ErrorImpersonateUserDenied');
  });

  test('a mailbox that does not exist → ErrorNonExistentMailbox', async () => {
    await assert.rejects(getFolder(clientFor('nobody@contoso.com'), { distinguished: 'inbox' }), (e: unknown) => e instanceof EwsResponseError && e.code === 'ErrorNonExistentMailbox');
  });
});

describe('operations', () => {
  test('findFolders lists the standard folders under msgfolderroot', async () => {
    const names: string[] = [];
    for await (const folder of findFolders(clientFor('alice@contoso.com'), { distinguished: 'msgfolderroot' }, { pageSize: 2 })) names.push(folder.displayName ?? '');
    for (const expected of ['Inbox', 'Sent Items', 'Deleted Items']) assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
  });

  test('syncFolderItems pages to the end and then reports only new changes', async () => {
    const mailbox = 'bob@contoso.com';
    const ids = Array.from({ length: 25 }, (_, i) => deliver(mailbox, `sync ${i}`));
    const client = clientFor(mailbox);
    const seen = new Set<string>();
    let state: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await syncFolderItems(client, { distinguished: 'inbox' }, state, { maxChangesReturned: 10 });
      pages++;
      assert.ok(page.changes.length <= 10);
      for (const change of page.changes) {
        assert.equal(change.type, 'create');
        assert.equal(change.itemKind, 'message');
        assert.ok(change.changeKey);
        seen.add(change.itemId);
      }
      state = page.syncState;
      if (page.includesLastItemInRange) break;
    }
    assert.ok(pages >= 3);
    for (const id of ids) assert.ok(seen.has(id));

    store.updateItem(ids[0]!, { isRead: true });
    store.deleteItem(ids[1]!, 'HardDelete');
    const newId = deliver(mailbox, 'after sync');
    const delta = await syncFolderItems(client, { distinguished: 'inbox' }, state);
    assert.equal(delta.includesLastItemInRange, true);
    const byType = (type: string) => delta.changes.filter((c) => c.type === type).map((c) => c.itemId);
    assert.deepEqual(byType('readFlagChange'), [ids[0]]);
    assert.equal(delta.changes.find((c) => c.type === 'readFlagChange')?.isRead, true);
    assert.deepEqual(byType('delete'), [ids[1]]);
    assert.deepEqual(byType('create'), [newId]);
  });

  test('a damaged sync state → ErrorInvalidSyncStateData', async () => {
    const page = await syncFolderItems(clientFor('alice@contoso.com'), { distinguished: 'inbox' }, undefined);
    const damaged = page.syncState.slice(0, -6) + (page.syncState.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA');
    await assert.rejects(syncFolderItems(clientFor('alice@contoso.com'), { distinguished: 'inbox' }, damaged), (e: unknown) => e instanceof EwsResponseError && e.code === 'ErrorInvalidSyncStateData');
  });

  test('getItems returns messages as plain objects and a missing id as a per-item error value', async () => {
    const first = deliver('alice@contoso.com', 'Quarterly report', { body: 'Numbers attached.' });
    const second = deliver('alice@contoso.com', 'Lunch?');
    store.deleteItem(second, 'HardDelete');
    const third = deliver('alice@contoso.com', 'Third');
    const results = await getItems(clientFor('alice@contoso.com'), [first, second, third], { bodyType: 'text' });
    assert.equal(results.length, 3);
    const [a, b, c] = results;
    assert.ok(a?.ok && c?.ok, JSON.stringify(results));
    const message = a.value as EwsMessage;
    assert.equal(message.kind, 'message');
    assert.equal(message.subject, 'Quarterly report');
    assert.equal(message.bodyText?.trim(), 'Numbers attached.');
    assert.equal(message.from?.address, 'sender@fabrikam.com');
    assert.deepEqual(message.to.map((t) => t.address), ['alice@contoso.com']);
    assert.equal(message.isRead, false);
    assert.ok(message.receivedAt && !Number.isNaN(Date.parse(message.receivedAt)));
    assert.equal(b?.ok, false);
    assert.equal(!b?.ok && b?.error.code, 'ErrorItemNotFound');
    assert.equal(c.itemId, third);
  });

  test('getItems maps calendar items, contacts and tasks', async () => {
    const mailbox = 'carol@contoso.com';
    const meeting = store.createItem(mailbox, { distinguished: 'calendar' }, {
      kind: 'calendarItem', subject: 'Planning', start: new Date('2026-12-01T09:00:00Z'), end: new Date('2026-12-01T10:00:00Z'), location: 'Room 1',
      organizer: { name: 'Carol', address: mailbox }, requiredAttendees: [{ mailbox: { name: 'Bob', address: 'bob@contoso.com' } }],
    });
    const person = store.createItem(mailbox, { distinguished: 'contacts' }, {
      kind: 'contact', givenName: 'Dana', surname: 'Scully', companyName: 'FBI', emailAddresses: [{ key: 'EmailAddress1', address: 'dana@fbi.example' }], phoneNumbers: [{ key: 'MobilePhone', number: '+1 555 0100' }],
    });
    const todo = store.createItem(mailbox, { distinguished: 'tasks' }, { kind: 'task', subject: 'File report', dueDate: new Date('2026-12-24T00:00:00Z'), status: 'InProgress' });
    const results = await getItems(clientFor(mailbox), [meeting.id, person.id, todo.id]);
    const [m, p, t] = results.map((r) => (r.ok ? r.value : assert.fail(JSON.stringify(r))));
    assert.ok(m?.kind === 'calendarItem');
    assert.equal(m.start, '2026-12-01T09:00:00.000Z');
    assert.equal(m.end, '2026-12-01T10:00:00.000Z');
    assert.equal(m.location, 'Room 1');
    assert.deepEqual(m.requiredAttendees.map((x) => x.address), ['bob@contoso.com']);
    assert.ok(p?.kind === 'contact');
    assert.equal(p.surname, 'Scully');
    assert.equal(p.companyName, 'FBI');
    assert.deepEqual(p.emailAddresses.map((e) => [e.key, e.address]), [['EmailAddress1', 'dana@fbi.example']]);
    assert.deepEqual(p.phoneNumbers, [{ key: 'MobilePhone', number: '+1 555 0100' }]);
    assert.ok(t?.kind === 'task');
    assert.equal(t.status, 'InProgress');
    assert.equal(t.dueDate?.slice(0, 10), '2026-12-24');
  });

  test('deleteItems: each mode, with a per-item error for an id already gone', async () => {
    const mailbox = 'alice@contoso.com';
    const client = clientFor(mailbox);
    const toDeleted = deliver(mailbox, 'move me');
    const soft = deliver(mailbox, 'soft');
    const hard = deliver(mailbox, 'hard');
    const moved = await deleteItems(client, [toDeleted], 'MoveToDeletedItems');
    assert.deepEqual(moved.map((r) => r.ok), [true]);
    const deletedItems = store.folderItems(store.getFolder(mailbox, { distinguished: 'deleteditems' }));
    assert.ok(deletedItems.some((item) => item.subject === 'move me'));
    const results = await deleteItems(client, [soft, hard, hard], 'HardDelete');
    assert.deepEqual(results.map((r) => r.ok), [true, true, false]);
    assert.equal(!results[2]!.ok && results[2]!.error.code, 'ErrorItemNotFound');
    assert.equal(store.getItem(hard), undefined);
    const softResult = await deleteItems(client, [deliver(mailbox, 'soft 2')], 'SoftDelete');
    assert.equal(softResult[0]?.ok, true);
  });

  test('updateIsRead marks messages read and gives new change keys', async () => {
    const id = deliver('alice@contoso.com', 'unread');
    const [result] = await updateIsRead(clientFor('alice@contoso.com'), [id], true);
    assert.ok(result?.ok, JSON.stringify(result));
    assert.equal((store.getItem(id) as { isRead?: boolean }).isRead, true);
  });

  test('sendMessage arrives in the recipient inbox with its attachment, and a copy stays in Sent Items', async () => {
    const subject = `Invoice ${Date.now()}`;
    const logStart = simulator.state.requestLog.length;
    await sendMessage(clientFor('alice@contoso.com'), {
      to: ['bob@contoso.com'],
      cc: ['carol@contoso.com'],
      subject,
      body: { contentType: 'html', content: '<p>Please find the invoice attached.</p>' },
      attachments: [{ name: 'invoice.txt', contentType: 'text/plain', contentBase64: Buffer.from('total: 42').toString('base64') }],
    });
    assert.deepEqual(simulator.state.requestLog.slice(logStart).map((entry) => entry.operation), ['CreateItem'], 'one CreateItem with the attachment inline');
    const inbox = store.folderItems(store.getFolder('bob@contoso.com', { distinguished: 'inbox' }));
    const received = inbox.find((item) => item.subject === subject);
    assert.ok(received, 'delivered to bob');
    assert.equal(received.kind === 'message' && received.from?.address, 'alice@contoso.com');
    assert.deepEqual(received.attachments.map((a) => [a.name, Buffer.from(a.content).toString()]), [['invoice.txt', 'total: 42']]);
    assert.ok(store.folderItems(store.getFolder('carol@contoso.com', { distinguished: 'inbox' })).some((item) => item.subject === subject));
    assert.ok(store.folderItems(store.getFolder('alice@contoso.com', { distinguished: 'sentitems' })).some((item) => item.subject === subject));
  });
});

describe('injected faults reach the caller as typed errors', () => {
  const inbox = { distinguished: 'inbox' } as const;
  const run = () => getFolder(clientFor('alice@contoso.com'), inbox).then(() => undefined, (e: unknown) => e);

  test('ErrorServerBusy with BackOffMilliseconds', async () => {
    simulator.faults.add({ kind: 'serverBusy', operation: 'GetFolder', backOffInMs: 12_345, count: 1 });
    const error = await run();
    assert.ok(error instanceof EwsThrottledError, String(error));
    assert.equal(error.code, 'ErrorServerBusy');
    assert.equal(error.retryAfterInMs, 12_345);
  });

  test('ErrorExceededConnectionCount', async () => {
    simulator.faults.add({ kind: 'exceededConnectionCount', operation: 'GetFolder', count: 1 });
    const error = await run();
    assert.ok(error instanceof EwsThrottledError, String(error));
    assert.equal(error.code, 'ErrorExceededConnectionCount');
  });

  test('HTTP 503 and HTTP 429 with Retry-After', async () => {
    simulator.faults.add({ kind: 'http503', operation: 'GetFolder', retryAfterInSeconds: 4, count: 1 });
    const unavailable = await run();
    assert.ok(unavailable instanceof EwsThrottledError && unavailable.code === 'ServiceUnavailable', String(unavailable));
    assert.equal(unavailable.retryAfterInMs, 4000);
    simulator.faults.add({ kind: 'http429', operation: 'GetFolder', retryAfterInSeconds: 9, count: 1 });
    const tooMany = await run();
    assert.ok(tooMany instanceof EwsThrottledError && tooMany.code === 'TooManyRequests', String(tooMany));
    assert.equal(tooMany.retryAfterInMs, 9000);
  });

  test('HTTP 500 without a SOAP fault, and a reset connection', async () => {
    simulator.faults.add({ kind: 'http500', operation: 'GetFolder', count: 1 });
    const serverError = await run();
    assert.ok(serverError instanceof EwsUnavailableError && serverError.code === 'ServerError', String(serverError));
    simulator.faults.add({ kind: 'connectionReset', operation: 'GetFolder', count: 1 });
    const reset = await run();
    assert.ok(reset instanceof EwsUnavailableError && reset.code === 'ConnectionReset', String(reset));
  });

  test('invalid sync state', async () => {
    simulator.faults.add({ kind: 'invalidSyncState', operation: 'SyncFolderItems', count: 1 });
    const error = await syncFolderItems(clientFor('alice@contoso.com'), inbox, undefined).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof EwsResponseError && error.code === 'ErrorInvalidSyncStateData', String(error));
  });

  test('withRetries rides out short ErrorServerBusy back-offs', async () => {
    simulator.faults.add({ kind: 'serverBusy', operation: 'GetFolder', backOffInMs: 20, count: 2 });
    let attempts = 0;
    const folder = await withRetries(() => {
      attempts++;
      return getFolder(clientFor('alice@contoso.com'), inbox);
    }, createThrottlingPolicy());
    assert.equal(attempts, 3);
    assert.ok(folder.id);
  });

  test('an organisation with EWS disabled → EwsDisabledError', async () => {
    store.updateOrganisation('contoso', { ewsEnabled: false });
    try {
      const error = await run();
      assert.ok(error instanceof EwsDisabledError, String(error));
    } finally {
      store.updateOrganisation('contoso', { ewsEnabled: true });
    }
  });

  test('a disabled mailbox and an expired service-account password', async () => {
    store.updateMailbox('carol@contoso.com', { enabled: false });
    try {
      const disabled = await getFolder(clientFor('carol@contoso.com'), inbox).then(() => undefined, (e: unknown) => e);
      assert.ok(disabled instanceof EwsResponseError, String(disabled));
      assert.match(disabled.code, /^Error(AccountDisabled|MailboxStoreUnavailable)$/);
    } finally {
      store.updateMailbox('carol@contoso.com', { enabled: true });
    }
    store.updateServiceAccount(SERVICE_ACCOUNT, { passwordExpired: true });
    try {
      const expired = await run();
      assert.ok(expired instanceof EwsAuthenticationError || (expired instanceof EwsResponseError && expired.code === 'ErrorPasswordExpired'), String(expired));
    } finally {
      store.updateServiceAccount(SERVICE_ACCOUNT, { passwordExpired: false });
    }
  });
});
