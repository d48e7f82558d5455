/**
 * The connection test of a Graph group, step by step, against recorded-shape Graph answers: a
 * token without the permission a folder needs fails at graphRoles (no mailbox call made), an
 * on-premises mailbox fails at mailboxReachable, a mailbox outside the app's management scope
 * fails at rbacScope, and the token asked for is Graph's (not EWS's).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createConnectionTester } from '../../shared/admin/connection-test';
import { SecretString } from '../../shared/logging';
import type { GroupRecord } from '../../shared/storage';

const at = '2026-01-01T00:00:00.000Z';
const GROUP: GroupRecord = {
  tenantId: 't', id: 'g', name: 'g', externalId: 'g', mailboxAccessType: 'appOnly', protocol: 'graph',
  appOnly: { entraTenantId: '00000000-0000-4000-8000-0000000000d1', clientId: 'c0ffee00-0000-4000-8000-00000000c0de' },
  credential: { kind: 'clientSecret', secretName: 's', secretVersion: '1', updatedAt: at, expiresOn: '2030-01-01T00:00:00.000Z' },
  folders: ['mail', 'calendar'], pollIntervalMinutes: 5, initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
};

function jwt(roles: readonly string[]): string {
  return `e30.${Buffer.from(JSON.stringify({ roles })).toString('base64url')}.sig`;
}

function tester(roles: readonly string[], answer: () => { status: number; body: unknown }) {
  const calls: string[] = [];
  const resources: (string | undefined)[] = [];
  const fetchImpl = (async (input: string | URL | Request) => {
    calls.push(String(input));
    const { status, body } = answer();
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const run = createConnectionTester({
    environment: 'development',
    defaultEwsUrl: 'https://outlook.office365.com/EWS/Exchange.asmx',
    readSecret: async () => new SecretString('secret'),
    tokens: { acquire: async (request) => (resources.push(request.resource), new SecretString(jwt(roles))) },
    graph: { endpoint: 'https://graph.test', resource: 'https://graph.microsoft.com' },
    graphFetch: fetchImpl,
    now: () => new Date(at),
  });
  return { calls, resources, run: () => run.run(GROUP, 'alice@contoso.com') };
}

const statuses = (result: { steps: readonly { name: string; status: string }[] }) => result.steps.map((s) => `${s.name}:${s.status}`);

describe('Graph connection test', () => {
  test('all steps pass with the roles and a reachable mailbox; the token is asked for Graph', async () => {
    const t = tester(['Mail.ReadWrite', 'Calendars.ReadWrite', 'Mail.Send'], () => ({ status: 200, body: { id: 'inbox', totalItemCount: 3 } }));
    const result = await t.run();
    assert.equal(result.outcome, 'passed');
    assert.deepEqual(statuses(result), ['configuration:passed', 'credentialExpiry:passed', 'tokenAcquisition:passed', 'graphRoles:passed', 'mailboxReachable:passed', 'rbacScope:passed']);
    assert.deepEqual(t.resources, ['https://graph.microsoft.com']);
    assert.match(t.calls[0]!, /^https:\/\/graph\.test\/v1\.0\/users\/alice%40contoso\.com\/mailFolders\/inbox/);
  });

  test('a missing permission fails at graphRoles, naming it, before the mailbox is called', async () => {
    const t = tester(['Mail.ReadWrite'], () => ({ status: 200, body: {} }));
    const result = await t.run();
    const failed = result.steps.find((s) => s.status === 'failed')!;
    assert.equal(failed.name, 'graphRoles');
    assert.match(failed.message, /Calendars\.ReadWrite/);
    assert.equal(t.calls.length, 0);
  });

  test('on-premises mailbox → mailboxReachable; outside the management scope → rbacScope', async () => {
    const onPrem = await tester(['Mail.ReadWrite', 'Calendars.ReadWrite'], () => ({ status: 404, body: { error: { code: 'MailboxNotEnabledForRESTAPI', message: 'REST API is not yet supported for this mailbox.' } } })).run();
    assert.deepEqual(statuses(onPrem).slice(4), ['mailboxReachable:failed', 'rbacScope:skipped']);
    assert.match(onPrem.steps[4]!.message, /protocol 'ews'/);
    const scoped = await tester(['Mail.ReadWrite', 'Calendars.ReadWrite'], () => ({ status: 403, body: { error: { code: 'ErrorAccessDenied', message: 'Access is denied.' } } })).run();
    assert.deepEqual(statuses(scoped).slice(4), ['mailboxReachable:passed', 'rbacScope:failed']);
    assert.match(scoped.steps[5]!.message, /New-ManagementScope/);
  });
});
