/**
 * Notification latency, EWS push (issue #13): mail created through the EWS simulator's control
 * API at a steady rate, measured until its signed webhook reaches the demo receiver (which checks
 * every signature), through the local Functions host with the production function files. Two
 * runs: EWS push on (the 1-minute poll still scheduled, but out of the path), and notifications
 * switched off (NOTIFICATIONS_ENABLED=false: the 1-minute poll only).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Benchmark, BenchContext, BenchMetric, BenchResult } from './bench';
import { devStateDir, devTrustBundle, ensureDevCertificate } from './certs';
import { projectRoot } from './project-paths';
import { startWebhookReceiver } from './webhook-receiver/receiver';
import { SecretString } from '../shared/logging';
import { secretNames } from '../shared/secrets';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository } from '../shared/storage';
import { startConnectorStack, type ConnectorStack } from '../test/support/connector-stack';

const MASTER_KEY = 'notification-bench-master-key';
const SVC = 'svc@fabrikam.test';
const SVC_PASSWORD = 'Fabrikam-Svc-Pass1';
const MAILBOX = 'anna@fabrikam.test';
const SIGNING_SECRET = 'notification-bench-signing-secret-0123456789';

interface Run {
  readonly latenciesInMs: number[];
  readonly lost: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutInMs: number): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function measure(context: BenchContext, notifications: boolean, count: number, intervalInMs: number): Promise<Run> {
  const receiver = await startWebhookReceiver({ port: 0, secret: () => [SIGNING_SECRET], print: () => undefined, keep: 10_000 });
  let stack: ConnectorStack | undefined;
  try {
    stack = await startConnectorStack({
      functions: ['sync-schedule', 'sync-mailbox', 'delivery-deliver-batch', 'notifications-ews', 'notifications-renew'],
      publicBaseUrlIsHost: true,
      ews: {
        seed: (store) => {
          store.addOrganisation({ id: 'fabrikam', name: 'Fabrikam', domains: ['fabrikam.test'] });
          store.addMailbox({ smtpAddress: MAILBOX, displayName: 'Anna', password: 'User-Pass1' });
          store.addServiceAccount({ userPrincipalName: SVC, password: SVC_PASSWORD, organisationId: 'fabrikam' });
          store.grantImpersonation({ organisationId: 'fabrikam', principal: SVC, scope: { kind: 'all' } });
        },
      },
      extraSettings: { NOTIFICATIONS_ENABLED: String(notifications), LOG_LEVEL: 'info' },
      functionKeys: { masterKey: MASTER_KEY },
      queues: { maxPollingIntervalInMs: 200 },
      beforeHost: async ({ azurite, secrets }) => {
        const secretName = secretNames.groupPassword('fabrikam', 'sales');
        const stored = await secrets.setSecret(secretName, new SecretString(SVC_PASSWORD));
        await secrets.setSecret(secretNames.webhookSigningKey('fabrikam', 'sales'), new SecretString(SIGNING_SECRET));
        const storage = new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(azurite.connectionString) } });
        const at = new Date().toISOString();
        await new TenantsRepository(storage).create({ id: 'fabrikam', displayName: 'Fabrikam', status: 'active', createdAt: at, updatedAt: at });
        await new GroupsRepository(storage).create({
          tenantId: 'fabrikam', id: 'sales', name: 'Sales', externalId: 'sales', mailboxAccessType: 'impersonation',
          impersonation: { serviceAccount: SVC, authScheme: 'basic' },
          credential: { kind: 'password', secretName, secretVersion: stored.version, updatedAt: at },
          delivery: { kind: 'webhook', url: `${receiver.url}/webhook` },
          folders: ['mail'], pollIntervalMinutes: 1, initialSync: { kind: 'all' }, enabled: true, createdAt: at, updatedAt: at,
        });
        await new MailboxesRepository(storage).create({ tenantId: 'fabrikam', groupId: 'sales', smtpAddress: MAILBOX, enabled: true, status: 'pending', counts: { created: 0, updated: 0, deleted: 0 }, createdAt: at, updatedAt: at });
      },
    });
    const running = stack;
    const controlUrl = running.ews!.controlUrl;
    if (notifications) {
      await fetch(`${running.host.url}/admin/functions/notifications-renew`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: '{"input":""}' });
      await waitFor(
        'an active EWS push subscription',
        async () => ((await (await fetch(`${controlUrl}/push-subscriptions`)).json()) as { state: string }[]).some((s) => s.state === 'active') || undefined,
        30_000,
      );
      context.log('EWS push subscription active');
    }
    const created = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const subject = `Latency ${notifications ? 'push' : 'poll'} ${i}`;
      const response = await fetch(`${controlUrl}/mailboxes/${MAILBOX}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ folder: 'inbox', item: { kind: 'message', subject } }) });
      if (!response.ok) throw new Error(`control API: ${response.status}`);
      created.set(subject, Date.now());
      await new Promise((resolve) => setTimeout(resolve, intervalInMs));
    }
    const arrived = new Map<string, number>();
    const deadline = Date.now() + (notifications ? 30_000 : 150_000);
    while (arrived.size < created.size && Date.now() < deadline) {
      for (const batch of receiver.received()) {
        for (const record of batch.batch.records) {
          const subject = record.item?.subject;
          if (subject && created.has(subject) && !arrived.has(subject)) arrived.set(subject, Date.parse(batch.receivedAt));
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const latenciesInMs = [...arrived].map(([subject, at]) => at - created.get(subject)!).sort((a, b) => a - b);
    context.log(`${notifications ? 'push' : 'poll only'}: ${arrived.size}/${created.size} delivered`);
    if (process.env['NOTIFICATION_BENCH_LOGS']) for (const line of running.logs) context.log(line);
    return { latenciesInMs, lost: created.size - arrived.size };
  } finally {
    await stack?.close();
    await receiver.close();
  }
}

function metrics(prefix: string, run: Run, targets: boolean): BenchMetric[] {
  const lost: BenchMetric = { name: `${prefix} not delivered`, value: run.lost, unit: 'mails', ...(targets ? { target: { atMost: 0 } } : {}) };
  if (run.latenciesInMs.length === 0) return [lost];
  return [
    { name: `${prefix} p50`, value: percentile(run.latenciesInMs, 50), unit: 'ms', ...(targets ? { target: { atMost: 2000 } } : {}) },
    { name: `${prefix} p95`, value: percentile(run.latenciesInMs, 95), unit: 'ms' },
    { name: `${prefix} p99`, value: percentile(run.latenciesInMs, 99), unit: 'ms', ...(targets ? { target: { atMost: 5000 } } : {}) },
    lost,
  ];
}

const NOTES = [
  'Through the local Functions host (sync-schedule, sync-mailbox, delivery-deliver-batch, notifications-ews, notifications-renew), Azurite, local Key Vault, EWS simulator (real StatusFrequency minutes), demo webhook receiver verifying signatures.',
  'push on: 40 mails, one every 500 ms; group poll interval 1 minute (healthy notifications move the mailbox to the 15-minute safety poll).',
  'notifications off: NOTIFICATIONS_ENABLED=false, 12 mails, one every 5 s, 1-minute poll.',
  'Latency = receiver receivedAt - control API answer for the mail. Each mode runs in its own process (the app caches its runtime per process, as a Functions worker does).',
];

/**
 * The local Key Vault and identity provider serve TLS with the dev certificate, which Node trusts only
 * through NODE_EXTRA_CA_CERTS read at process start: each measurement runs in a child process that has it
 * (as idle-tick-bench does), one per mode.
 */
async function runChild(context: BenchContext, mode: 'push' | 'poll'): Promise<Run> {
  const cert = await ensureDevCertificate(join(devStateDir(projectRoot()), 'certs'));
  const child = spawn(process.execPath, [__filename, `--notification-latency-child=${mode}`], { env: { ...process.env, NODE_EXTRA_CA_CERTS: devTrustBundle(cert) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let errors = '';
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('log ')) context.log(line.slice(4));
      else if (line.startsWith('result ')) output = line.slice(7);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString('utf8')).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (pending.startsWith('result ')) output = pending.slice(7);
  if (code !== 0 || !output) throw new Error(`notification latency bench (${mode}) exited with ${code}: ${errors.split('\n').filter((line) => !line.startsWith('WARNING')).join('\n')}`);
  return JSON.parse(output) as Run;
}

async function run(context: BenchContext): Promise<BenchResult> {
  const push = await runChild(context, 'push');
  const poll = await runChild(context, 'poll');
  return { metrics: [...metrics('push on', push, true), ...metrics('notifications off', poll, false)], notes: NOTES };
}

const childMode = process.argv.find((arg) => arg.startsWith('--notification-latency-child='))?.split('=')[1];
if (require.main === module && (childMode === 'push' || childMode === 'poll')) {
  const log = { log: (message: string) => process.stdout.write(`log ${message}\n`), collectGarbage: () => undefined };
  (childMode === 'push' ? measure(log, true, 40, 500) : measure(log, false, 12, 5_000)).then(
    (result) => {
      process.stdout.write(`\nresult ${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

export const benchmarks: Benchmark[] = [
  {
    name: 'notifications.ews-push.latency',
    description: 'EWS push: mail created via the simulator control API (2 per second) → signed webhook at the receiver, p50/p95/p99; and the same with notifications off (1-minute poll)',
    run,
  },
];
