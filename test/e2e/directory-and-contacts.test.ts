/**
 * Reach (#16), "Directory lookup and contacts from mail", through the admin API and the local
 * stack (Functions host, Azurite, Key Vault, identity provider, EWS and Graph simulators over one
 * store), on EWS and on Graph:
 * - directory lookup: EWS ResolveNames with full contact data (an ambiguous name, an address, no
 *   match) and Graph /users ($search, $filter) and /people; problem+json naming every query
 *   parameter at fault; as an attacker, another tenant's group in the URL and query text that
 *   tries to inject into Graph's $filter / $search.
 * - contacts from mail: with the group setting on, a new message from outside delivers a
 *   `contactCandidate` record (created), a second one updates its counts and lastSeen, mail sent
 *   by the mailbox counts as sentTo; as an attacker, a hostile display name and address in mail
 *   yield no malformed candidate and never touch the tenant's own domain list.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoOrganisationSeed } from '../../dev/ews-simulator/seed/demo';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import { startWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import type { RunningWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import { contactCandidateRecordSchema } from '../../shared/delivery/change-batch';
import type { ContactCandidateRecord } from '../../shared/delivery/change-batch';
import { SecretString } from '../../shared/logging';
import { secretNames } from '../../shared/secrets/secret-names';
import { startConnectorStack } from '../support/connector-stack';
import type { ConnectorStack } from '../support/connector-stack';
import { answerAdminConsent } from '../support/admin-consent-browser';
import { eventually } from '../support/eventually';
import { adminApiCalls } from '../support/http-json';
import type { JsonResponse } from '../support/http-json';

const d = DEMO_IDENTITY;
const MASTER_KEY = 'reach-directory-master-key';
const BOB = 'bob@contoso.com';
const CAROL = 'carol@contoso.com';
const ALICE = 'alice@contoso.com';
const CUSTOMER_APP = 'c0ffee00-0000-4000-8000-0000000c0516';
const CUSTOMER_SECRET = 'contoso-directory-app-secret';

let stack: ConnectorStack;
let receiver: RunningWebhookReceiver;
let adminToken: string;
let tenantId: string;
let otherTenantId: string;
let ewsGroup: string;
let graphGroup: string;
const signingSecrets: string[] = [];

const { api, ok } = adminApiCalls(() => stack.settings.PUBLIC_BASE_URL, () => adminToken);

async function createGroup(tenant: string, body: Record<string, unknown>): Promise<string> {
  const group = await ok('POST', `/tenants/${tenant}/groups`, { folders: ['mail'], pollIntervalMinutes: 60, delivery: { kind: 'webhook', url: `${receiver.url}/webhook` }, ...body });
  const key = await ok('POST', `/tenants/${tenant}/groups/${group.id}/delivery/signing-key`);
  signingSecrets.push(key.secret);
  if (group.mailboxAccessType === 'appOnly') await ok('PUT', `/tenants/${tenant}/groups/${group.id}/credentials`, { clientSecret: CUSTOMER_SECRET });
  if (group.mailboxAccessType === 'impersonation') await ok('PUT', `/tenants/${tenant}/groups/${group.id}/credentials`, { password: 'Connector-Svc-Pass1' });
  return group.id;
}

function lookup(groupId: string, query: string, tenant = tenantId, token = adminToken): Promise<JsonResponse> {
  return api('GET', `/tenants/${tenant}/groups/${groupId}/directory?${query}`, undefined, token);
}

interface Person {
  displayName: string;
  emailAddress: string;
  department?: string;
  jobTitle?: string;
  phones: { type: string; number: string }[];
}

before(async () => {
  receiver = await startWebhookReceiver({ port: 0, secret: () => signingSecrets, print: () => undefined, keep: 5_000 });
  stack = await startConnectorStack({
    functions: ['admin-tenants', 'admin-consent', 'consent-admin-callback', 'admin-groups', 'admin-mailboxes', 'admin-directory', 'delivery-admin', 'delivery-deliver-batch', 'sync-schedule', 'sync-mailbox'],
    publicBaseUrlIsHost: true,
    identitySeed: { contosoAdminConsent: true },
    ews: { seed: (store) => demoOrganisationSeed({ itemsPerFolder: 2 }).apply(store), trustIdentityProvider: true },
    graph: {},
    functionKeys: { masterKey: MASTER_KEY },
    queues: { maxPollingIntervalInMs: 200, visibilityTimeoutInMs: 0 },
    shutdownGracePeriodInMs: 5_000,
    // A group change reaches the sync worker at once (the timer may have read the group before the test changed it).
    extraSettings: { SYNC_CONFIG_CACHE_TTL_MS: '0' },
    beforeHost: async ({ secrets }) => {
      await secrets.setSecret(secretNames.connectorAppClientSecret(), new SecretString(d.connectorApp.clientSecret), { expiresOn: new Date(Date.now() + 365 * 24 * 3600_000) });
    },
  });
  adminToken = stack.idp.control.issueAccessToken({ tenantId: d.operatorTenantId, audience: d.adminApi.audience, roles: ['Connector.Admin'], oid: d.users.operatorAdmin.objectId, name: 'Operator Admin', upn: d.users.operatorAdmin.upn });
  stack.idp.control.addApp({
    appId: CUSTOMER_APP,
    displayName: 'Contoso CRM',
    homeTenantId: d.contosoTenantId,
    secrets: [{ value: CUSTOMER_SECRET, displayName: 'e2e' }],
    requiredResourceAccess: [{ resource: 'https://graph.microsoft.com', applicationPermissions: ['Mail.ReadWrite', 'User.Read.All', 'People.Read.All'] }],
  });
  stack.idp.control.grantAdminConsent(d.contosoTenantId, CUSTOMER_APP);
  tenantId = (await ok('POST', '/tenants', { displayName: 'Contoso (reach)', entraTenantId: d.contosoTenantId })).id;
  const consent = await ok('POST', `/tenants/${tenantId}/consent`);
  assert.equal((await answerAdminConsent(consent.url, d.users.contosoAdmin)).code, 'AdminConsentGranted');
  otherTenantId = (await ok('POST', '/tenants', { displayName: 'Fabrikam (reach)' })).id;

  ewsGroup = await createGroup(tenantId, { name: 'On-premises', externalId: 'reach-ews', mailboxAccessType: 'impersonation', ewsUrl: stack.ews!.url, impersonation: { serviceAccount: 'svc-connector@contoso.com', authScheme: 'ntlm' } });
  await ok('POST', `/tenants/${tenantId}/groups/${ewsGroup}/mailboxes`, { smtpAddress: BOB });
  graphGroup = await createGroup(tenantId, { name: 'Online', externalId: 'reach-graph', mailboxAccessType: 'appOnly', appOnly: { entraTenantId: d.contosoTenantId, clientId: CUSTOMER_APP } });
  await ok('POST', `/tenants/${tenantId}/groups/${graphGroup}/mailboxes`, { smtpAddress: CAROL });
});

after(async () => {
  if (process.env.REACH_E2E_LOGS) console.log(stack.logs.filter((l) => !l.startsWith('debug')).join('\n'));
  await stack?.close();
  await receiver?.close();
});

describe('directory lookup through the admin API', () => {
  it('EWS: ResolveNames finds an ambiguous name with full contact data, an exact address, and nothing', async () => {
    const anders = await lookup(ewsGroup, 'q=anders');
    assert.equal(anders.status, 200, anders.text);
    assert.equal(anders.body.protocol, 'ews');
    assert.equal(anders.body.ambiguous, true, 'several candidates: ErrorNameResolutionMultipleResults');
    assert.equal(anders.body.anchorMailbox, BOB);
    const people = anders.body.items as Person[];
    assert.deepEqual(people.map((p) => p.emailAddress).sort(), ['alice@contoso.com', 'anders.lindqvist@contoso.com', 'lee.andersen@contoso.com']);
    const lindqvist = people.find((p) => p.emailAddress === 'anders.lindqvist@contoso.com')!;
    assert.deepEqual([lindqvist.displayName, lindqvist.department, lindqvist.jobTitle, lindqvist.phones], ['Anders Lindqvist', 'Sales', 'Sales Director Nordics', [{ type: 'business', number: '+46 8 555 0112' }]]);

    const exact = await lookup(ewsGroup, `q=${encodeURIComponent('carol@contoso.com')}`);
    assert.equal(exact.body.ambiguous, false);
    assert.deepEqual(exact.body.items, [
      { displayName: 'Carol Chen', emailAddress: 'carol@contoso.com', givenName: 'Carol', surname: 'Chen', jobTitle: 'Controller', department: 'Finance', companyName: 'Contoso', officeLocation: 'London 4.12', phones: [{ type: 'business', number: '+44 20 7946 0103' }, { type: 'mobile', number: '+44 7700 900103' }] },
    ]);
    const none = await lookup(ewsGroup, 'q=zzz-nobody');
    assert.equal(none.status, 200, 'ErrorNameResolutionNoResults is an empty answer, not a failure');
    assert.deepEqual([none.body.items, none.body.moreAvailable], [[], false]);
    const limited = await lookup(ewsGroup, 'q=anders&limit=2');
    assert.deepEqual([limited.body.items.length, limited.body.moreAvailable], [2, true]);
  });

  it('Graph: /users by name ($search) and by address ($filter), and /people for the anchor mailbox', async () => {
    const anders = await lookup(graphGroup, 'q=anders');
    assert.equal(anders.status, 200, anders.text);
    assert.equal(anders.body.protocol, 'graph');
    const people = anders.body.items as Person[];
    assert.deepEqual(people.map((p) => p.emailAddress).sort(), ['alice@contoso.com', 'anders.lindqvist@contoso.com', 'lee.andersen@contoso.com']);
    const alice = people.find((p) => p.emailAddress === ALICE)!;
    assert.deepEqual([alice.department, alice.jobTitle, alice.phones], ['Sales', 'Account Manager', [{ type: 'business', number: '+1 206 555 0101' }, { type: 'mobile', number: '+1 206 555 0191' }]]);
    const exact = await lookup(graphGroup, `q=${encodeURIComponent('Adele.Vance@contoso.com')}`);
    assert.deepEqual((exact.body.items as Person[]).map((p) => [p.displayName, p.department]), [['Adele Vance', 'Retail']]);
    const relevant = await lookup(graphGroup, 'q=bob&source=people');
    assert.equal(relevant.status, 200, relevant.text);
    assert.deepEqual((relevant.body.items as Person[]).map((p) => p.emailAddress), [BOB]);
    assert.equal(relevant.body.anchorMailbox, CAROL);
  });

  it('problem+json names every query parameter at fault', async () => {
    const response = await lookup(ewsGroup, `q=&limit=0&source=gal&mailbox=not-an-address&colour=red`);
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
    for (const pointer of ['/q', '/limit', '/source', '/mailbox', '/colour']) assert.ok((response.body.errors as { pointer: string }[]).some((e) => e.pointer === pointer), `${pointer} in ${response.text}`);
    const foreignMailbox = await lookup(ewsGroup, `q=bob&mailbox=${encodeURIComponent(ALICE)}`);
    assert.equal(foreignMailbox.status, 400);
    assert.deepEqual(foreignMailbox.body.errors, [{ pointer: '/mailbox', detail: 'is not a mailbox of this group' }]);
  });

  it('attacker: another tenant\'s group in the URL is not found, for a tenant admin and under another tenant id', async () => {
    const tenantAdmin = stack.idp.control.issueAccessToken({ tenantId: d.operatorTenantId, audience: d.adminApi.audience, roles: [`Connector.TenantAdmin.${otherTenantId}`], oid: '0e000000-0000-4000-8000-00000000a0a0', name: 'Fabrikam admin', upn: 'admin@fabrikam.test' });
    const foreign = await lookup(ewsGroup, 'q=anders', tenantId, tenantAdmin);
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.code, 'TenantNotFound');
    const crossed = await lookup(ewsGroup, 'q=anders', otherTenantId);
    assert.equal(crossed.status, 404, 'a group id under another tenant id');
    assert.equal(crossed.body.code, 'GroupNotFound');
    assert.ok(!JSON.stringify(foreign.body).includes('Anders') && !JSON.stringify(crossed.body).includes('Anders'));
  });

  it('attacker: query text that tries to widen Graph\'s $filter or $search stays a literal', async () => {
    // Unescaped, the address path's filter would become "... eq 'x@y' or startswith(displayName,'A')" and list Alice and Adele.
    const filter = await lookup(graphGroup, `q=${encodeURIComponent("x@y' or startswith(displayName,'A")}`);
    assert.equal(filter.status, 200, filter.text);
    assert.deepEqual(filter.body.items, []);
    const search = await lookup(graphGroup, `q=${encodeURIComponent('zz" OR "displayName:a')}`);
    assert.equal(search.status, 200, search.text);
    assert.deepEqual(search.body.items, []);
    const ews = await lookup(ewsGroup, `q=${encodeURIComponent('</m:UnresolvedEntry><m:UnresolvedEntry>alice')}`);
    assert.equal(ews.status, 200, ews.text);
    assert.deepEqual(ews.body.items, [], 'markup in the query is text to Exchange');
  });
});

async function invoke(name: string, input = ''): Promise<void> {
  const response = await fetch(`${stack.host.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  assert.equal(response.status, 202);
}

async function syncNow(groupId: string, mailbox: string): Promise<void> {
  await eventually('no sync job running', () => (stack.host.invocations().some((r) => r.functionName === 'sync-mailbox' && r.status === 'running') ? undefined : true), { intervalInMs: 50 });
  const before = stack.host.invocations().filter((r) => r.functionName === 'sync-mailbox').length;
  await invoke('sync-mailbox', JSON.stringify({ version: 1, tenantId, groupId, mailbox, reason: 'manual', enqueuedAt: new Date().toISOString() }));
  await eventually('the sync job ran', () => {
    const runs = stack.host.invocations().filter((r) => r.functionName === 'sync-mailbox');
    return runs.length > before && runs.slice(before).every((r) => r.status !== 'running') ? true : undefined;
  });
}

function candidates(groupId: string): ContactCandidateRecord[] {
  return receiver
    .received()
    .filter((b) => b.batch.groupId === groupId)
    .flatMap((b) => [...(b.batch.contactCandidates ?? [])]);
}

function latest(groupId: string, address: string): ContactCandidateRecord | undefined {
  return candidates(groupId).filter((c) => c.address === address).at(-1);
}

function mailFrom(mailbox: string, from: { name?: string; address: string }, subject: string, receivedAt: Date, extra: Record<string, unknown> = {}): void {
  stack.ews!.store.createItem(mailbox, { distinguished: 'inbox' }, {
    kind: 'message',
    subject,
    from,
    toRecipients: [{ address: mailbox }],
    dateTimeReceived: receivedAt,
    dateTimeCreated: receivedAt,
    internetMessageId: `<${subject.replace(/\W+/g, '-')}-${receivedAt.getTime()}@example.net>`,
    ...extra,
  });
}

const CONTACT_SETTINGS = { enabled: true, ownDomains: ['contoso.com'], excludePatterns: ['*@newsletter.example.com'] };

for (const protocol of ['ews', 'graph'] as const) {
  describe(`contacts from mail over ${protocol === 'ews' ? 'EWS' : 'Graph'}`, () => {
    const mailbox = protocol === 'ews' ? BOB : CAROL;
    const group = () => (protocol === 'ews' ? ewsGroup : graphGroup);
    const customer = `dana.${protocol}@example.net`;

    it('off by default; when on, new mail delivers a contactCandidate (created), and a second message updates counts and lastSeen', async () => {
      const current = await ok('GET', `/tenants/${tenantId}/groups/${group()}`);
      assert.deepEqual(current.contactCandidates, { enabled: false, ownDomains: [], excludePatterns: [] });
      const patched = await ok('PATCH', `/tenants/${tenantId}/groups/${group()}`, { contactCandidates: CONTACT_SETTINGS });
      assert.deepEqual(patched.contactCandidates, CONTACT_SETTINGS);
      // The initial sync (seeded mail, counted too) first, so the new messages arrive incrementally.
      await syncNow(group(), mailbox);
      const first = new Date(Date.now() - 60_000);
      mailFrom(mailbox, { name: 'Dana Customer', address: customer.toUpperCase() }, `Order ${protocol} 1`, first);
      mailFrom(mailbox, { name: 'Robot', address: 'noreply@shop.example' }, `Receipt ${protocol}`, first);
      mailFrom(mailbox, { name: 'Weekly', address: 'weekly@newsletter.example.com' }, `News ${protocol}`, first);
      await syncNow(group(), mailbox);
      const created = await eventually('the candidate delivered', () => latest(group(), customer)).catch((error: unknown) => {
        throw new Error(`${String(error)}; records: ${receiver.received().filter((b) => b.batch.groupId === group()).flatMap((b) => b.batch.records.map((r) => `${r.changeType}:${(r.item as { subject?: string } | undefined)?.subject}:${JSON.stringify((r.item as { from?: unknown } | undefined)?.from)}`)).join(" ; ")}; candidates: ${candidates(group()).map((c) => c.address).join(', ')}; logs: ${stack.logs.filter((l) => /warn|error/i.test(l)).slice(-5).join(' | ')}`);
      });
      assert.equal(created.changeType, 'created');
      assert.deepEqual([created.receivedFromCount, created.sentToCount, created.messageCount, created.displayName, created.mailbox], [1, 0, 1, 'Dana Customer', mailbox]);
      assert.equal(created.firstSeen, created.lastSeen);
      assert.ok(contactCandidateRecordSchema.safeParse(created).success);
      assert.ok(!candidates(group()).some((c) => c.address.startsWith('noreply@') || c.address.endsWith('@newsletter.example.com') || c.address.endsWith('@contoso.com')), 'excluded and own addresses are never candidates');

      const second = new Date();
      mailFrom(mailbox, { name: 'Dana C. (Purchasing)', address: customer }, `Order ${protocol} 2`, second);
      // Mail the mailbox itself sent (a copy in its Inbox) counts as sentTo for its outside recipients.
      mailFrom(mailbox, { name: 'Me', address: mailbox }, `Quote ${protocol}`, new Date(second.getTime() - 1_000), { toRecipients: [{ name: 'Dana', address: customer }], ccRecipients: [{ address: 'colleague@contoso.com' }] });
      await syncNow(group(), mailbox);
      const updated = await eventually('the candidate updated', () => {
        const record = latest(group(), customer);
        return record && record.messageCount === 3 ? record : undefined;
      });
      assert.equal(updated.changeType, 'updated');
      assert.deepEqual([updated.receivedFromCount, updated.sentToCount, updated.firstSeen, updated.displayName], [2, 1, created.firstSeen, 'Dana C. (Purchasing)']);
      assert.ok(Date.parse(updated.lastSeen) > Date.parse(created.lastSeen), 'lastSeen moved on');
      assert.equal(receiver.refused().length, 0, 'every candidate batch carried a valid signature');

      // A sync with nothing new counts nothing again.
      await syncNow(group(), mailbox);
      assert.equal(latest(group(), customer)!.messageCount, 3);
    });

    it('attacker: a hostile display name and address in mail give no malformed candidate and leave the own-domain list alone', async () => {
      const at = new Date();
      mailFrom(mailbox, { name: `CEO <ceo@contoso.com>\r\nBcc: all@contoso.com <script>alert(1)</script>${'X'.repeat(20_000)}`, address: `boss.${protocol}@contoso.com.evil.example` }, `Urgent ${protocol}`, at);
      mailFrom(mailbox, { name: 'Spoof', address: `victim.${protocol}@contoso.com>\r\nBcc: y@evil.example` }, `Spoof ${protocol}`, at);
      await syncNow(group(), mailbox);
      const hostile = await eventually('the look-alike sender delivered', () => latest(group(), `boss.${protocol}@contoso.com.evil.example`));
      assert.ok(contactCandidateRecordSchema.safeParse(hostile).success);
      assert.ok(!/[\r\n]/.test(hostile.displayName ?? ''), 'no line breaks');
      assert.ok([...(hostile.displayName ?? '')].length <= 256);
      for (const candidate of candidates(group())) {
        assert.ok(contactCandidateRecordSchema.safeParse(candidate).success, candidate.address);
        assert.match(candidate.address, /^[a-z0-9._%+-]+@[a-z0-9.-]+$/, `a plain lower-case address: ${candidate.address}`);
        assert.ok(!candidate.address.endsWith('@contoso.com'));
      }
      const after = await ok('GET', `/tenants/${tenantId}/groups/${group()}`);
      assert.deepEqual(after.contactCandidates.ownDomains, ['contoso.com'], 'mail never changes the own-domain list');
    });
  });
}
