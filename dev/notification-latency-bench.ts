/**
 * `npm run bench -- notification-latency`: time from a new message in Exchange to the signed
 * webhook at the customer's receiver, with change notifications on and off, per protocol.
 *
 * The whole product runs in the local Functions host (every function file: timers, queues, the
 * notification callbacks) against Azurite, the local Key Vault, the identity provider and the
 * simulators. A group with a 1-minute poll interval syncs one mailbox; messages are created through
 * the simulator's control API at a steady rate, and each one's latency is the receiver's arrival
 * time (signature verified) minus its creation time. With notifications on, the mailbox's
 * notifications are healthy, so the scheduler leaves it to the safety poll (15 minutes): the
 * 1-minute poll is out of the path. With them off, the same messages wait for the poll.
 *
 * Protocol-parameterised: PROTOCOLS holds one setup per protocol (how to create its group); add an
 * entry to measure another (`ews`: EWS push through the EWS simulator).
 *
 * Environment: NOTIFY_BENCH_MESSAGES (on: 40), NOTIFY_BENCH_RATE_PER_SECOND (on: 2),
 * NOTIFY_BENCH_OFF_MESSAGES (6, one every 10 s: a minute of polls), NOTIFY_BENCH_PROTOCOLS (graph,ews).
 */
import type { Benchmark, BenchContext, BenchMetric, BenchResult } from './bench';
import { DEMO_SERVICE_ACCOUNT, demoOrganisationSeed } from './ews-simulator/seed/demo';
import { DEMO_IDENTITY } from './identity/demo-seed';
import { startWebhookReceiver } from './webhook-receiver/receiver';
import type { RunningWebhookReceiver } from './webhook-receiver/receiver';
import { SecretString } from '../shared/logging';
import { secretNames } from '../shared/secrets/secret-names';
import { startConnectorStack } from '../test/support/connector-stack';
import type { ConnectorStack } from '../test/support/connector-stack';
import { answerAdminConsent } from '../test/support/admin-consent-browser';
import { requestJson } from '../test/support/http-json';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './project-paths';
import { runBenchChild, serveBenchChild } from './bench-child';

const d = DEMO_IDENTITY;
const MASTER_KEY = 'notification-bench-master-key';
const MAILBOX = 'alice@contoso.com';

/** What a protocol needs to be measured: its group, created through the admin API. */
export interface NotificationBenchProtocol {
  readonly name: string;
  /** Creates the group (delivery to `webhookUrl`, 1-minute poll, mail only); returns its id. */
  createGroup(admin: AdminClient, stack: ConnectorStack, webhookUrl: string): Promise<string>;
}

export interface AdminClient {
  readonly tenantId: string;
  call(method: string, path: string, body?: unknown): Promise<any>;
}

const CUSTOMER_APP = 'c0ffee00-0000-4000-8000-0000000c0503';
const CUSTOMER_SECRET = 'contoso-bench-app-secret';

export const PROTOCOLS: Record<string, NotificationBenchProtocol> = {
  graph: {
    name: 'graph',
    async createGroup(admin, stack, webhookUrl) {
      stack.idp.control.addApp({
        appId: CUSTOMER_APP,
        displayName: 'Contoso bench app',
        homeTenantId: d.contosoTenantId,
        secrets: [{ value: CUSTOMER_SECRET, displayName: 'bench' }],
        requiredResourceAccess: [{ resource: 'https://graph.microsoft.com', applicationPermissions: ['Mail.ReadWrite'] }],
      });
      stack.idp.control.grantAdminConsent(d.contosoTenantId, CUSTOMER_APP);
      const group = await admin.call('POST', `/tenants/${admin.tenantId}/groups`, { name: 'Bench (Graph)', externalId: 'bench-graph', mailboxAccessType: 'appOnly', appOnly: { entraTenantId: d.contosoTenantId, clientId: CUSTOMER_APP }, folders: ['mail'], pollIntervalMinutes: 1, delivery: { kind: 'webhook', url: webhookUrl } });
      await admin.call('PUT', `/tenants/${admin.tenantId}/groups/${group.id}/credentials`, { clientSecret: CUSTOMER_SECRET });
      return group.id as string;
    },
  },
  ews: {
    name: 'ews',
    // EWS push (on-premises Exchange): an impersonation group with the demo service account; the
    // EWS simulator pushes SendNotification to the host's notifications-ews callback.
    async createGroup(admin, stack, webhookUrl) {
      const group = await admin.call('POST', `/tenants/${admin.tenantId}/groups`, {
        name: 'Bench (EWS push)', externalId: 'bench-ews', mailboxAccessType: 'impersonation', ewsUrl: stack.ews!.url,
        impersonation: { serviceAccount: DEMO_SERVICE_ACCOUNT.userPrincipalName, authScheme: 'basic' },
        folders: ['mail'], pollIntervalMinutes: 1, delivery: { kind: 'webhook', url: webhookUrl },
      });
      await admin.call('PUT', `/tenants/${admin.tenantId}/groups/${group.id}/credentials`, { password: DEMO_SERVICE_ACCOUNT.password });
      return group.id as string;
    },
  },
};

function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutInMs: number): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface Measured {
  readonly latenciesInMs: number[];
  readonly lost: number;
  readonly scheduledRuns: number;
}

async function measure(protocol: NotificationBenchProtocol, notifications: boolean, messages: number, intervalInMs: number, context: BenchContext): Promise<Measured> {
  const signingSecrets: string[] = [];
  const receiver: RunningWebhookReceiver = await startWebhookReceiver({ port: 0, secret: () => signingSecrets, print: () => undefined, keep: 10_000 });
  const functions = readdirSync(join(projectRoot(), 'dist', 'functions')).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3));
  const stack = await startConnectorStack({
    functions,
    publicBaseUrlIsHost: true,
    identitySeed: { contosoAdminConsent: true },
    ews: { seed: (store) => demoOrganisationSeed({ itemsPerFolder: 1 }).apply(store), trustIdentityProvider: true },
    graph: {},
    functionKeys: { masterKey: MASTER_KEY },
    extraSettings: { NOTIFICATIONS_ENABLED: String(notifications), LOG_LEVEL: 'info' },
    beforeHost: async ({ secrets }) => {
      await secrets.setSecret(secretNames.connectorAppClientSecret(), new SecretString(d.connectorApp.clientSecret), { expiresOn: new Date(Date.now() + 365 * 24 * 3600_000) });
    },
  });
  try {
    const adminToken = stack.idp.control.issueAccessToken({ tenantId: d.operatorTenantId, audience: d.adminApi.audience, roles: ['Connector.Admin'], oid: d.users.operatorAdmin.objectId, name: 'Operator Admin', upn: d.users.operatorAdmin.upn });
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await requestJson(method, `${stack.settings.PUBLIC_BASE_URL}/api/admin${path}`, { headers: { authorization: `Bearer ${adminToken}` }, body });
      if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${response.text}`);
      return response.body;
    };
    const tenantId = (await call('POST', '/tenants', { displayName: 'Contoso (bench)', entraTenantId: d.contosoTenantId })).id as string;
    const consent = await call('POST', `/tenants/${tenantId}/consent`);
    await answerAdminConsent(consent.url, d.users.contosoAdmin);
    const admin: AdminClient = { tenantId, call };
    const groupId = await protocol.createGroup(admin, stack, `${receiver.url}/webhook`);
    signingSecrets.push((await call('POST', `/tenants/${tenantId}/groups/${groupId}/delivery/signing-key`)).secret);
    await call('POST', `/tenants/${tenantId}/groups/${groupId}/mailboxes`, { smtpAddress: MAILBOX });
    const invoke = (name: string) => fetch(`${stack.host.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input: '' }) });
    context.log(`group ready; initial sync (notifications ${notifications ? 'on' : 'off'})`);
    await invoke('schedule-due-groups');
    await until('initial sync', async () => ((await call('GET', `/tenants/${tenantId}/groups/${groupId}/mailboxes/${MAILBOX}`)).status === 'ok' ? true : undefined), 120_000);
    if (notifications) {
      context.log('initial sync done; subscribing');
      await invoke('notifications-renew');
      await until('notifications active', async () => ((await call('GET', `/tenants/${tenantId}/groups/${groupId}/mailboxes/${MAILBOX}`)).notifications?.state === 'active' ? true : undefined), 60_000);
    }
    const scheduledBefore = stack.logs.filter((l) => l.includes('"reason":"scheduled"') && l.includes('sync-mailbox')).length;
    context.log(`${protocol.name}, notifications ${notifications ? 'on' : 'off'}: ${messages} messages, one every ${intervalInMs} ms`);
    const created = new Map<string, number>();
    for (let index = 0; index < messages; index++) {
      const subject = `Bench ${notifications ? 'on' : 'off'} ${index}`;
      const started = Date.now();
      const response = await fetch(`${stack.graph!.storeControlUrl}/mailboxes/${MAILBOX}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ folder: 'inbox', item: { kind: 'message', subject, from: { address: 'customer@example.net' } } }) });
      if (response.status !== 201) throw new Error(`creating a message: ${response.status} ${await response.text()}`);
      created.set(subject, started);
      await sleep(Math.max(0, intervalInMs - (Date.now() - started)));
    }
    const arrivals = (): Map<string, number> => {
      const seen = new Map<string, number>();
      for (const batch of receiver.received()) for (const record of batch.batch.records) if (record.item?.subject && created.has(record.item.subject) && !seen.has(record.item.subject)) seen.set(record.item.subject, Date.parse(batch.receivedAt));
      return seen;
    };
    // Everything arrives within the poll interval plus a sync, whichever way it is triggered.
    context.log('messages created; waiting for deliveries');
    await until('every message delivered', () => (arrivals().size === created.size ? true : undefined), 100_000).catch(() => undefined);
    const seen = arrivals();
    const latencies = [...seen].map(([subject, at]) => at - created.get(subject)!).sort((a, b) => a - b);
    if (receiver.refused().length > 0) throw new Error(`the receiver refused ${receiver.refused().length} deliveries`);
    const scheduledRuns = stack.logs.filter((l) => l.includes('"reason":"scheduled"') && l.includes('sync-mailbox')).length - scheduledBefore;
    return { latenciesInMs: latencies, lost: created.size - seen.size, scheduledRuns };
  } finally {
    await stack.close();
    await receiver.close();
  }
}

function metricsOf(prefix: string, measured: Measured, targets: boolean): BenchMetric[] {
  const s = (ms: number) => Math.round(ms) / 1000;
  return [
    { name: `${prefix} p50`, value: s(percentile(measured.latenciesInMs, 50)), unit: 's', ...(targets ? { target: { atMost: 2 } } : {}) },
    { name: `${prefix} p95`, value: s(percentile(measured.latenciesInMs, 95)), unit: 's' },
    { name: `${prefix} p99`, value: s(percentile(measured.latenciesInMs, 99)), unit: 's', ...(targets ? { target: { atMost: 5 } } : {}) },
    { name: `${prefix} not delivered`, value: measured.lost, unit: 'messages', ...(targets ? { target: { atMost: 0 } } : {}) },
  ];
}

function settingsOf(notifications: boolean): { readonly messages: number; readonly intervalInMs: number } {
  return notifications ? { messages: envNumber('NOTIFY_BENCH_MESSAGES', 40), intervalInMs: 1000 / envNumber('NOTIFY_BENCH_RATE_PER_SECOND', 2) } : { messages: envNumber('NOTIFY_BENCH_OFF_MESSAGES', 6), intervalInMs: 10_000 };
}

/** Each mode in its own process: the host runs the functions in-process, and their per-process caches belong to one stack. */
async function measureBoth(protocol: NotificationBenchProtocol, context: BenchContext): Promise<BenchResult> {
  const on = await runInChild(protocol, true, context);
  const off = await runInChild(protocol, false, context);
  const onSettings = settingsOf(true);
  return {
    metrics: [...metricsOf('notifications on:', on, true), { name: 'notifications on: scheduled polls during the run', value: on.scheduledRuns, unit: 'jobs' }, ...metricsOf('notifications off:', off, false)],
    notes: [
      `on: ${onSettings.messages} messages at ${(1000 / onSettings.intervalInMs).toFixed(1)}/s; off: ${settingsOf(false).messages} messages, one every 10 s, 1-minute poll interval`,
      'latency = receiver arrival (signature verified) − message creation through the simulator control API; whole product in the local Functions host',
    ],
  };
}

const CHILD_FLAG = '--notification-latency-child';

async function runInChild(protocol: NotificationBenchProtocol, notifications: boolean, context: BenchContext): Promise<Measured> {
  return runBenchChild<Measured>(__filename, [CHILD_FLAG, protocol.name, notifications ? 'on' : 'off'], context, 'notification latency bench');
}

if (require.main === module && process.argv.includes(CHILD_FLAG)) {
  const protocol = PROTOCOLS[process.argv[process.argv.indexOf(CHILD_FLAG) + 1] ?? ''];
  const notifications = process.argv[process.argv.indexOf(CHILD_FLAG) + 2] === 'on';
  const { messages, intervalInMs } = settingsOf(notifications);
  serveBenchChild((context) => (protocol ? measure(protocol, notifications, messages, intervalInMs, context) : Promise.reject(new Error('unknown protocol'))));
}

function benchmarkFor(protocol: NotificationBenchProtocol): Benchmark {
  return {
    name: `notification-latency-${protocol.name}`,
    description: `New message → signed webhook at the receiver over ${protocol.name}, change notifications on (the 1-minute poll out of the path) and off (the poll only): p50/p95/p99`,
    run: (context) => measureBoth(protocol, context),
  };
}

const selected = (process.env.NOTIFY_BENCH_PROTOCOLS ?? Object.keys(PROTOCOLS).join(',')).split(',').map((p) => p.trim()).filter((p) => PROTOCOLS[p]);

export const benchmarks: Benchmark[] = selected.map((name) => benchmarkFor(PROTOCOLS[name]!));
