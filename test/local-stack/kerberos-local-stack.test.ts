/**
 * The composition `npm start` runs, with its demo realm: the local stack starts an MIT KDC for
 * CONTOSO.COM (like Azurite), the EWS simulator accepts tickets for HTTP/mail.contoso.com, and an
 * administrator switches the demo group from NTLM to Kerberos through the admin API, keeping the
 * service account's password in Key Vault. The next sync of a mailbox runs on Kerberos tickets.
 *
 * Skipped with one line when krb5-kdc or the `kerberos` addon is missing (.ci/run installs both).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { seedDemoOrganisation, type DemoOrganisation } from '../../dev/demo-organisation';
import { DEMO_SERVICE_ACCOUNT } from '../../dev/ews-simulator/seed/demo';
import { kdcAvailability } from '../../dev/kerberos/kdc';
import { startLocalStack, type DemoKerberos, type LocalStack } from '../../dev/local-stack';
import { projectRoot } from '../../dev/project-paths';
import { kerberosAvailability } from '../../shared/auth/kerberos/gss-library';
import { requestJson } from '../support/http-json';

const kdcState = kdcAvailability();
const addonState = kerberosAvailability();
const skip = !kdcState.available ? `Kerberos local-stack test skipped: ${kdcState.reason}` : !addonState.available ? `Kerberos local-stack test skipped: ${addonState.reason}` : false;

const MASTER_KEY = 'kerberos-local-stack-master-key';

describe('npm start\'s demo realm', { skip }, () => {
  let stack: LocalStack;
  let demo: DemoOrganisation;
  let kerberos: DemoKerberos;

  before(async () => {
    // Workers read the group fresh, so the switch to Kerberos applies to the next job (production: within 30 s).
    stack = await startLocalStack({ projectRoot: projectRoot(), mode: 'ephemeral', functionKeys: { masterKey: MASTER_KEY }, settingsOverrides: { SYNC_CONFIG_CACHE_TTL_MS: '0' } });
    demo = await seedDemoOrganisation(stack);
    assert.ok(!('unavailable' in stack.kerberos), 'the local stack started its KDC');
    kerberos = stack.kerberos as DemoKerberos;
  });

  after(async () => {
    await stack?.close();
  });

  const api = (method: string, path: string, body?: unknown) =>
    requestJson(method, `${stack.apiBaseUrl}/admin/tenants/${demo.tenantId}${path}`, { headers: { authorization: `Bearer ${stack.adminToken()}` }, body });

  it('the demo group switched to Kerberos through the admin API passes its connection test and syncs on tickets', async () => {
    const switched = await api('PATCH', `/groups/${demo.groupId}`, {
      impersonation: { serviceAccount: DEMO_SERVICE_ACCOUNT.userPrincipalName, authScheme: 'kerberos', kerberos: { realm: kerberos.realm, kdcs: [kerberos.kdc], servicePrincipal: kerberos.servicePrincipal } },
    });
    assert.equal(switched.status, 200, switched.text);
    assert.equal(switched.body.impersonation.authScheme, 'kerberos');

    const mailbox = demo.mailboxes[0]!;
    const tested = await api('POST', `/groups/${demo.groupId}/connection-tests`, { targetMailbox: mailbox });
    assert.equal(tested.status, 200, tested.text);
    assert.equal(tested.body.outcome, 'passed', tested.text);

    // Work the demo started before the switch (syncs, and the change-notification renewal timer's
    // Subscribe calls when the test crosses a 10-minute mark) ends first, on NTLM; from here on only
    // Kerberos may appear.
    const host = stack.functionsHost!;
    const quiet = Date.now() + 30_000;
    while (host.invocations().some((r) => r.status === 'running') && Date.now() < quiet) await new Promise((resolve) => setTimeout(resolve, 100));
    const control = `${stack.ewsSimulator.controlUrl}`;
    await fetch(`${control}/requests`, { method: 'DELETE' });
    const since = Date.now();
    const job = JSON.stringify({ version: 1, tenantId: demo.tenantId, groupId: demo.groupId, mailbox, reason: 'manual', enqueuedAt: new Date().toISOString() });
    const fired = await fetch(`${stack.functionsHost!.url}/admin/functions/sync-mailbox`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input: job }) });
    assert.equal(fired.status, 202);
    const run = await stack.functionsHost!.waitForInvocation((r) => r.functionName === 'sync-mailbox' && r.startedAt.getTime() >= since && r.status !== 'running', { timeoutInMs: 30_000 });
    assert.equal(run.status, 'succeeded', run.error);

    const entries = (await (await fetch(`${control}/requests?limit=1000`)).json()) as { principal?: string; scheme?: string; operation?: string; status: number }[];
    const syncCalls = entries.filter((entry) => entry.operation === 'SyncFolderItems' && entry.status === 200);
    assert.ok(syncCalls.length > 0, `SyncFolderItems calls: ${JSON.stringify(entries.slice(0, 5))}`);
    assert.deepEqual([...new Set(syncCalls.map((entry) => `${entry.principal} ${entry.scheme}`))], [`${DEMO_SERVICE_ACCOUNT.userPrincipalName} Negotiate`]);

    // An initial sync of a demo mailbox takes a continuation or two; each runs on tickets too.
    const deadline = Date.now() + 45_000;
    let status = await api('GET', `/groups/${demo.groupId}/mailboxes/${encodeURIComponent(mailbox)}`);
    while (status.body?.status !== 'ok' && Date.now() < deadline) {
      assert.ok(!status.body?.lastError, status.text);
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = await api('GET', `/groups/${demo.groupId}/mailboxes/${encodeURIComponent(mailbox)}`);
    }
    assert.equal(status.body.status, 'ok', status.text);
    const later = (await (await fetch(`${control}/requests?limit=1000`)).json()) as { principal?: string; scheme?: string }[];
    const schemes = new Set(later.filter((entry) => entry.principal === DEMO_SERVICE_ACCOUNT.userPrincipalName).map((entry) => entry.scheme));
    assert.deepEqual([...schemes], ['Negotiate'], 'every request of the service account since the switch used Kerberos');
  });
});
