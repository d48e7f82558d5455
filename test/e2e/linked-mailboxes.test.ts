/**
 * Issue 16, additional mailboxes and shared folders, end to end through the admin API and the local
 * stack (Functions host, IdP, Key Vault, EWS and Graph simulators over one store, signed webhook):
 * a delegated user (Alice) with her own mailbox plus a shared mailbox (dispatch, FullAccess) and a
 * colleague's calendar (Bob, folder permission / delegate access), over Graph and over EWS with her
 * own token; a chosen non-default folder (by path) synced; the connection test reporting a denied
 * and then a granted folder right. As an attacker: another tenant linking Contoso's user, hostile
 * folder paths and ids, and a link to a mailbox the user holds no right on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoOrganisationSeed } from '../../dev/ews-simulator/seed/demo';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import { startWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import type { RunningWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import type { ChangeRecord } from '../../shared/delivery/change-batch';
import { SecretString } from '../../shared/logging';
import { secretNames } from '../../shared/secrets/secret-names';
import { answerAdminConsent } from '../support/admin-consent-browser';
import { startConnectorStack } from '../support/connector-stack';
import type { ConnectorStack } from '../support/connector-stack';
import { eventually, resultCode } from '../support/eventually';
import { adminApiCalls, controlCall } from '../support/http-json';

const d = DEMO_IDENTITY;
const MASTER_KEY = 'linked-e2e-master-key';
const ALICE = 'alice@contoso.com';
const BOB = 'bob@contoso.com';
const CAROL = 'carol@contoso.com';
const DISPATCH = 'dispatch@contoso.com';
const ALICE_OID = d.users.alice.objectId;

let stack: ConnectorStack;
let receiver: RunningWebhookReceiver;
let adminToken: string;
let tenantId: string;
const signingSecrets: string[] = [];

const { api, ok } = adminApiCalls(() => stack.settings.PUBLIC_BASE_URL, () => adminToken);

const storeControl = (method: string, path: string, body?: unknown): Promise<any> => controlCall(stack.graph!.storeControlUrl, method, path, body);

async function invoke(name: string, input = ''): Promise<void> {
  const response = await fetch(`${stack.host.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  assert.equal(response.status, 202);
}

async function syncNow(groupId: string, mailbox: string): Promise<void> {
  await eventually('no sync job running', () => (stack.host.invocations().some((r) => r.functionName === 'sync-mailbox' && r.status === 'running') ? undefined : true), { intervalInMs: 50 });
  await invoke('sync-mailbox', JSON.stringify({ version: 1, tenantId, groupId, mailbox, reason: 'manual', enqueuedAt: new Date().toISOString() }));
}

function records(groupId: string, mailbox: string): ChangeRecord[] {
  return receiver
    .received()
    .filter((b) => b.batch.groupId === groupId && b.batch.mailbox === mailbox)
    .flatMap((b) => [...b.batch.records]);
}

async function createGroup(body: Record<string, unknown>, tenant = tenantId): Promise<string> {
  const group = await ok('POST', `/tenants/${tenant}/groups`, { folders: ['mail'], pollIntervalMinutes: 60, delivery: { kind: 'webhook', url: `${receiver.url}/webhook` }, ...body });
  const key = await ok('POST', `/tenants/${tenant}/groups/${group.id}/delivery/signing-key`);
  signingSecrets.push(key.secret);
  return group.id;
}

/** Alice accepts an invitation to her own mailbox in the group and signs in (her token then serves every mailbox linked to her). */
async function signInAlice(groupId: string): Promise<void> {
  await ok('POST', `/tenants/${tenantId}/groups/${groupId}/mailboxes`, { smtpAddress: ALICE });
  const invitation = await ok('POST', `/tenants/${tenantId}/groups/${groupId}/invitations`, { mailboxes: [ALICE], sendEmail: false });
  const start = await fetch(invitation.items[0].link, { redirect: 'manual' });
  assert.equal(start.status, 302, await start.text());
  const authorize = new URL(start.headers.get('location')!);
  authorize.searchParams.set('login_hint', ALICE);
  authorize.searchParams.set('dev_password', d.users.alice.password);
  authorize.searchParams.set('dev_consent', 'accept');
  const answer = await fetch(authorize, { redirect: 'manual' });
  assert.equal(answer.status, 302, await answer.text());
  assert.equal(resultCode(await (await fetch(answer.headers.get('location')!)).text()), 'SignInCompleted');
}

interface FolderRightView {
  readonly mailbox: string;
  readonly kind: string;
  readonly path?: string;
  readonly access: string;
  readonly code?: string;
}

async function aliceRights(groupId: string): Promise<{ outcome: string; folderRights: FolderRightView[] }> {
  return ok('POST', `/tenants/${tenantId}/groups/${groupId}/connection-tests`, { delegatedUserObjectId: ALICE_OID });
}

function rightOf(result: { folderRights: FolderRightView[] }, mailbox: string, kind: string, path?: string): FolderRightView | undefined {
  return result.folderRights.find((right) => right.mailbox === mailbox && right.kind === kind && right.path === path);
}

before(async () => {
  receiver = await startWebhookReceiver({ port: 0, secret: () => signingSecrets, print: () => undefined, keep: 5_000 });
  stack = await startConnectorStack({
    functions: ['admin-tenants', 'admin-consent', 'consent-admin-callback', 'admin-groups', 'admin-mailboxes', 'admin-invitations', 'admin-delegated-users', 'consent-signin', 'delivery-admin', 'delivery-deliver-batch', 'sync-mailbox'],
    publicBaseUrlIsHost: true,
    identitySeed: { contosoAdminConsent: true },
    ews: { seed: (store) => demoOrganisationSeed({ itemsPerFolder: 1 }).apply(store), trustIdentityProvider: true },
    graph: {},
    functionKeys: { masterKey: MASTER_KEY },
    queues: { maxPollingIntervalInMs: 200, visibilityTimeoutInMs: 0 },
    shutdownGracePeriodInMs: 5_000,
    beforeHost: async ({ secrets }) => {
      await secrets.setSecret(secretNames.connectorAppClientSecret(), new SecretString(d.connectorApp.clientSecret), { expiresOn: new Date(Date.now() + 365 * 24 * 3600_000) });
    },
  });
  adminToken = stack.idp.control.issueAccessToken({ tenantId: d.operatorTenantId, audience: d.adminApi.audience, roles: ['Connector.Admin'], oid: d.users.operatorAdmin.objectId, name: 'Operator Admin', upn: d.users.operatorAdmin.upn });
  tenantId = (await ok('POST', '/tenants', { displayName: 'Contoso (linked mailboxes)', entraTenantId: d.contosoTenantId })).id;
  const consent = await ok('POST', `/tenants/${tenantId}/consent`);
  assert.equal((await answerAdminConsent(consent.url, d.users.contosoAdmin)).code, 'AdminConsentGranted');
  // A shared mailbox with an Orders folder below its Inbox, and mail in both.
  const orders = await storeControl('POST', `/mailboxes/${DISPATCH}/folders`, { parent: 'inbox', displayName: 'Orders' });
  await storeControl('POST', `/mailboxes/${DISPATCH}/items`, { folder: orders.id, item: { kind: 'message', subject: 'Order in the Orders folder', from: { address: 'shop@example.net' } } });
  await storeControl('POST', `/mailboxes/${DISPATCH}/items`, { folder: 'inbox', item: { kind: 'message', subject: 'Dispatch inbox mail', from: { address: 'shop@example.net' } } });
  const start = new Date(Date.now() + 86_400_000);
  await storeControl('POST', `/mailboxes/${BOB}/items`, { folder: 'calendar', item: { kind: 'calendarItem', subject: 'Bob on site', start: start.toISOString(), end: new Date(start.getTime() + 3_600_000).toISOString() } });
});

after(async () => {
  if (process.env.LINKED_E2E_LOGS) console.log(stack.logs.filter((l) => !l.startsWith('debug')).join('\n'));
  await stack?.close();
  await receiver?.close();
});

for (const protocol of ['graph', 'ews'] as const) {
  describe(`linked mailboxes over ${protocol}`, () => {
    let group: string;

    it(`${protocol}: a delegated user syncs her own mailbox and a shared one with her own token, including a chosen non-default folder`, async () => {
      group = await createGroup({ name: `Field (${protocol})`, externalId: `field-${protocol}`, mailboxAccessType: 'delegated', protocol });
      if (protocol === 'graph') await signInAlice(group);
      else await ok('POST', `/tenants/${tenantId}/groups/${group}/mailboxes`, { smtpAddress: ALICE, delegatedUserObjectId: ALICE_OID });
      // Denied first: Alice holds no right on dispatch yet.
      await storeControl('PATCH', `/mailboxes/${DISPATCH}`, { fullAccess: [] });
      await ok('POST', `/tenants/${tenantId}/groups/${group}/mailboxes`, { smtpAddress: DISPATCH, delegatedUserObjectId: ALICE_OID, folders: [{ kind: 'mail' }, { kind: 'mail', path: 'Inbox/Orders' }] });
      const denied = await aliceRights(group);
      assert.equal(denied.outcome, 'failed');
      assert.equal(rightOf(denied, DISPATCH, 'mail')?.access, 'denied', JSON.stringify(denied.folderRights));
      assert.equal(rightOf(denied, ALICE, 'mail')?.access, 'granted', 'her own mailbox is reached with her own token');

      await storeControl('PATCH', `/mailboxes/${DISPATCH}`, { fullAccess: [ALICE] });
      const granted = await aliceRights(group);
      assert.equal(granted.outcome, 'passed', JSON.stringify(granted.folderRights));
      assert.equal(rightOf(granted, DISPATCH, 'mail', 'Inbox/Orders')?.access, 'granted');

      const tree = await ok('GET', `/tenants/${tenantId}/groups/${group}/mailboxes/${DISPATCH}/folders`);
      assert.equal(tree.protocol, protocol);
      const listed = tree.folders.find((f: { path: string }) => f.path === 'Inbox/Orders');
      assert.ok(listed, `Inbox/Orders listed: ${tree.folders.map((f: { path: string }) => f.path).join(', ')}`);
      assert.equal(listed.kind, 'mail');

      await syncNow(group, DISPATCH);
      const got = await eventually('dispatch synced with Alice\'s token, both folders', () => {
        const list = records(group, DISPATCH);
        const subjects = list.map((r) => r.item?.subject);
        return subjects.includes('Order in the Orders folder') && subjects.includes('Dispatch inbox mail') ? list : undefined;
      });
      const order = got.find((r) => r.item?.subject === 'Order in the Orders folder')!;
      assert.equal(order.folder, 'inbox');
      assert.equal(order.folderPath, 'Inbox/Orders', 'a chosen folder names its path on the record');
      assert.equal(got.find((r) => r.item?.subject === 'Dispatch inbox mail')!.folderPath, undefined);
      assert.equal(receiver.refused().length, 0);
      const mailbox = await ok('GET', `/tenants/${tenantId}/groups/${group}/mailboxes/${DISPATCH}`);
      assert.equal(mailbox.status, 'ok', JSON.stringify(mailbox.lastError));
      assert.equal(mailbox.delegatedUserObjectId, ALICE_OID);
      assert.deepEqual(mailbox.folders, [{ kind: 'mail' }, { kind: 'mail', path: 'Inbox/Orders' }]);
    });

    it(`${protocol}: a colleague's calendar: the connection test reports the denied right, then the granted one, and the calendar syncs`, async () => {
      await storeControl('PUT', `/mailboxes/${BOB}/folder-permissions/calendar`, { permissions: [] });
      // EWS: Alice is Bob's delegate for his tasks only, so she may open his mailbox but not his calendar.
      await storeControl('PUT', `/mailboxes/${BOB}/delegates`, { delegates: protocol === 'ews' ? [{ user: ALICE, tasks: 'Reviewer' }] : [] });
      await ok('POST', `/tenants/${tenantId}/groups/${group}/mailboxes`, { smtpAddress: BOB, delegatedUserObjectId: ALICE_OID, folders: [{ kind: 'calendar' }] });
      const denied = await aliceRights(group);
      assert.equal(denied.outcome, 'failed');
      const bobCalendar = rightOf(denied, BOB, 'calendar');
      assert.equal(bobCalendar?.access, 'denied', JSON.stringify(denied.folderRights));
      // What each protocol answers: EWS ErrorFolderNotFound for a folder without a right in a mailbox one may open
      // (Exchange's "no right looks like no folder"), Graph 403 ErrorAccessDenied.
      assert.equal(bobCalendar?.code, protocol === 'ews' ? 'ErrorFolderNotFound' : 'ErrorAccessDenied');

      // Graph: a folder permission on the calendar; EWS: delegate access with Reviewer on the calendar.
      if (protocol === 'graph') await storeControl('PUT', `/mailboxes/${BOB}/folder-permissions/calendar`, { permissions: [{ user: ALICE, level: 'Reviewer' }] });
      else await storeControl('PUT', `/mailboxes/${BOB}/delegates`, { delegates: [{ user: ALICE, calendar: 'Reviewer' }] });
      const granted = await aliceRights(group);
      assert.equal(rightOf(granted, BOB, 'calendar')?.access, 'granted', JSON.stringify(granted.folderRights));

      await syncNow(group, BOB);
      await eventually('Bob\'s calendar synced with Alice\'s right', () => (records(group, BOB).some((r) => r.item?.subject === 'Bob on site') ? true : undefined));
      assert.ok(records(group, BOB).every((r) => r.folder === 'calendar'), 'only the shared calendar, nothing else of Bob\'s');
    });

    it(`${protocol}: attacker: a link to a mailbox the user holds no right on syncs nothing and says AccessDenied`, async () => {
      await ok('POST', `/tenants/${tenantId}/groups/${group}/mailboxes`, { smtpAddress: CAROL, delegatedUserObjectId: ALICE_OID });
      await syncNow(group, CAROL);
      const mailbox = await eventually('Carol\'s link fails', async () => {
        const current = await ok('GET', `/tenants/${tenantId}/groups/${group}/mailboxes/${CAROL}`);
        return current.status === 'error' ? current : undefined;
      });
      assert.match(mailbox.lastError.code, /AccessDenied|FolderNotFound/);
      assert.equal(records(group, CAROL).length, 0, 'nothing of Carol\'s was delivered');
      await ok('DELETE', `/tenants/${tenantId}/groups/${group}/mailboxes/${CAROL}`);
    });
  });
}

describe('service-account and app-only groups', () => {
  it('ews: a service-account group syncs a shared mailbox\'s chosen folder and a colleague\'s calendar like any mailbox', async () => {
    const group = await createGroup({ name: 'On-prem shared', externalId: 'onprem-shared', mailboxAccessType: 'impersonation', ewsUrl: stack.settings.EWS_DEFAULT_URL, impersonation: { serviceAccount: 'svc-connector@contoso.com', authScheme: 'basic' } });
    await ok('PUT', `/tenants/${tenantId}/groups/${group}/credentials`, { password: 'Connector-Svc-Pass1' });
    await ok('POST', `/tenants/${tenantId}/groups/${group}/mailboxes`, { smtpAddress: DISPATCH, folders: [{ kind: 'mail', path: 'inbox/orders' }] });
    await ok('POST', `/tenants/${tenantId}/groups/${group}/mailboxes`, { smtpAddress: BOB, folders: [{ kind: 'calendar' }] });
    const test = await ok('POST', `/tenants/${tenantId}/groups/${group}/connection-tests`, { targetMailbox: DISPATCH });
    assert.equal(test.outcome, 'passed', JSON.stringify(test));
    assert.deepEqual(test.folderRights.map((r: FolderRightView) => `${r.mailbox}:${r.kind}:${r.path}:${r.access}`), [`${DISPATCH}:mail:inbox/orders:granted`]);
    await syncNow(group, DISPATCH);
    await syncNow(group, BOB);
    const shared = await eventually('the Orders folder of the shared mailbox', () => (records(group, DISPATCH).length > 0 ? records(group, DISPATCH) : undefined));
    assert.deepEqual([...new Set(shared.map((r) => r.item?.subject))], ['Order in the Orders folder'], 'only the chosen folder (path compared case-insensitively)');
    await eventually('Bob\'s calendar', () => (records(group, BOB).some((r) => r.item?.subject === 'Bob on site') ? true : undefined));
  });

  it('graph: an app-only group syncs a shared mailbox\'s chosen folder and a colleague\'s calendar like any mailbox', async () => {
    const app = 'c0ffee00-0000-4000-8000-0000000c0516';
    stack.idp.control.addApp({
      appId: app,
      displayName: 'Contoso line-of-business app (#16)',
      homeTenantId: d.contosoTenantId,
      secrets: [{ value: 'lob-secret-16', displayName: 'e2e' }],
      requiredResourceAccess: [{ resource: 'https://graph.microsoft.com', applicationPermissions: ['Mail.ReadWrite', 'Calendars.ReadWrite', 'Contacts.ReadWrite', 'Tasks.ReadWrite.All'] }],
    });
    stack.idp.control.grantAdminConsent(d.contosoTenantId, app);
    const group = await createGroup({ name: 'App shared', externalId: 'app-shared', mailboxAccessType: 'appOnly', appOnly: { entraTenantId: d.contosoTenantId, clientId: app } });
    await ok('PUT', `/tenants/${tenantId}/groups/${group}/credentials`, { clientSecret: 'lob-secret-16' });
    await ok('POST', `/tenants/${tenantId}/groups/${group}/mailboxes`, { smtpAddress: DISPATCH, folders: [{ kind: 'mail', path: 'Inbox/Orders' }] });
    await ok('POST', `/tenants/${tenantId}/groups/${group}/mailboxes`, { smtpAddress: BOB, folders: [{ kind: 'calendar' }] });
    const test = await ok('POST', `/tenants/${tenantId}/groups/${group}/connection-tests`, { targetMailbox: DISPATCH });
    assert.equal(test.outcome, 'passed', JSON.stringify(test));
    assert.equal(test.folderRights[0].access, 'granted');
    await syncNow(group, DISPATCH);
    await syncNow(group, BOB);
    const shared = await eventually('the Orders folder of the shared mailbox', () => (records(group, DISPATCH).length > 0 ? records(group, DISPATCH) : undefined));
    assert.deepEqual([...new Set(shared.map((r) => r.item?.subject))], ['Order in the Orders folder']);
    assert.ok(shared.every((r) => r.source === 'graph' && r.folderPath === 'Inbox/Orders'));
    await eventually('Bob\'s calendar', () => (records(group, BOB).some((r) => r.item?.subject === 'Bob on site') ? true : undefined));
  });

  it('graph: a chosen folder that does not exist is reported by the connection test and fails the sync with FolderNotFound', async () => {
    const group = await createGroup({ name: 'Field missing folder', externalId: 'field-missing', mailboxAccessType: 'delegated', protocol: 'graph' });
    await ok('POST', `/tenants/${tenantId}/groups/${group}/mailboxes`, { smtpAddress: DISPATCH, delegatedUserObjectId: ALICE_OID, folders: [{ kind: 'mail', path: 'Inbox/No such folder' }] });
    const test = await ok('POST', `/tenants/${tenantId}/groups/${group}/connection-tests`, { targetMailbox: DISPATCH });
    assert.equal(test.outcome, 'failed');
    assert.equal(test.folderRights[0].access, 'notFound', JSON.stringify(test.folderRights));
    await syncNow(group, DISPATCH);
    const mailbox = await eventually('the sync fails', async () => {
      const current = await ok('GET', `/tenants/${tenantId}/groups/${group}/mailboxes/${DISPATCH}`);
      return current.status === 'error' ? current : undefined;
    });
    assert.equal(mailbox.lastError.code, 'FolderNotFound');
    assert.match(mailbox.lastError.message, /No such folder/);
  });
});

describe('linking, as an attacker', () => {
  it('another tenant cannot link a mailbox to Contoso\'s signed-in user', async () => {
    const other = (await ok('POST', '/tenants', { displayName: 'Mallory Ltd' })).id;
    const group = await createGroup({ name: 'Mallory field', externalId: 'mallory-field', mailboxAccessType: 'delegated', protocol: 'ews' }, other);
    const response = await api('POST', `/tenants/${other}/groups/${group}/mailboxes`, { smtpAddress: DISPATCH, delegatedUserObjectId: ALICE_OID });
    assert.equal(response.status, 400, response.text);
    assert.deepEqual(response.body.errors.map((e: { pointer: string }) => e.pointer), ['/delegatedUserObjectId']);
  });

  it('hostile folder paths and ids are refused, every field named; a service-account group cannot name a user', async () => {
    const group = await createGroup({ name: 'On-prem', externalId: 'onprem-hostile', mailboxAccessType: 'impersonation', ewsUrl: stack.settings.EWS_DEFAULT_URL, impersonation: { serviceAccount: 'svc-connector@contoso.com', authScheme: 'basic' } });
    const response = await api('POST', `/tenants/${tenantId}/groups/${group}/mailboxes`, {
      smtpAddress: DISPATCH,
      delegatedUserObjectId: ALICE_OID,
      folders: [
        { kind: 'mail', path: '../../Inbox' },
        { kind: 'mail', path: 'Inbox//Orders' },
        { kind: 'mail', path: 'Inbox/\u0000Orders' },
        { kind: 'mail', path: 'Inbox/\u202eevil' },
        { kind: 'mail', id: '../../users/ceo@fabrikam.test' },
        { kind: 'mail', id: 'AAMk', path: 'Inbox' },
        { kind: 'notes' },
      ],
    });
    assert.equal(response.status, 400, response.text);
    const pointers = response.body.errors.map((e: { pointer: string }) => e.pointer);
    for (const pointer of ['/folders/0/path', '/folders/1/path', '/folders/2/path', '/folders/3/path', '/folders/4/id', '/folders/5/path', '/folders/6/kind', '/delegatedUserObjectId']) {
      assert.ok(pointers.includes(pointer), `${pointer} named in ${pointers.join(', ')}`);
    }
    // Names with characters that matter to XML or URLs are fine: they are compared, never sent as a path.
    const fine = await api('POST', `/tenants/${tenantId}/groups/${group}/mailboxes`, { smtpAddress: DISPATCH, folders: [{ kind: 'mail', path: 'Inbox/R&D <"Projects"> 100%' }] });
    assert.equal(fine.status, 201, fine.text);
  });
});
