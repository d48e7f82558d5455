/**
 * Metrics and traces through the whole local stack (the same composition `npm start` runs, on
 * random ports): the in-memory SDK is installed before the Functions host loads the app, the
 * timer is fired through the host's admin API, and the demo group's mailboxes are synced and
 * delivered to the demo receiver. One trace must run from the timer to the webhook call.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { seedDemoOrganisation, type DemoOrganisation } from '../../dev/demo-organisation';
import { startLocalStack, type LocalStack } from '../../dev/local-stack';
import { projectRoot } from '../../dev/project-paths';
import { installTestTelemetry, type TestTelemetry } from '../support/telemetry';
import { eventually } from '../support/eventually';

const MASTER_KEY = 'telemetry-test-master-key';
let telemetry: TestTelemetry;
let stack: LocalStack;
let demo: DemoOrganisation;

async function invoke(name: string, input: string): Promise<void> {
  const response = await fetch(`${stack.functionsHost!.url}/admin/functions/${name}`, { method: 'POST', headers: { 'x-functions-key': MASTER_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  assert.equal(response.status, 202);
}

/** Waits until `check` stops throwing (its last failure is the message on timeout). */
async function until(what: string, check: () => Promise<void> | void, timeoutInMs: number): Promise<void> {
  let last: unknown;
  await eventually(what, async () => {
    try {
      await check();
      return true;
    } catch (error) {
      last = error;
      return undefined;
    }
  }, { timeoutInMs }).catch(() => assert.fail(`${what}: ${(last as Error | undefined)?.message}`));
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

before(async () => {
  telemetry = installTestTelemetry();
  stack = await startLocalStack({ projectRoot: projectRoot(), mode: 'ephemeral', functionKeys: { masterKey: MASTER_KEY } });
  demo = await seedDemoOrganisation(stack);
  await invoke('schedule-due-groups', '');
  // Three service-account mailboxes, four folders each: every batch reaches the receiver.
  await until('condition', async () => {
    const received = stack.webhookReceiver.received();
    assert.ok(received.length >= 12, `received ${received.length} batches`);
  }, 60_000);
  // A sync job's span ends after its batches were delivered (deliveries run while it still syncs): wait for the jobs to finish.
  await until('every sync job finished and exported', async () => {
    assert.ok(telemetry.spans().filter((s) => s.name === 'deliver webhook').length >= 12);
    assert.ok(telemetry.spans().filter((s) => s.name === 'process sync-jobs').length >= 4);
    assert.ok(stack.functionsHost!.invocations().every((r) => r.status !== 'running'));
  }, 60_000);
});

after(async () => {
  await stack?.close();
  await telemetry?.shutdown();
});

test('one trace runs from the timer through sync-jobs and deliveries to the EWS and webhook calls', () => {
  const spans = telemetry.spans();
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const span of spans) byTrace.set(span.spanContext().traceId, [...(byTrace.get(span.spanContext().traceId) ?? []), span]);
  // The host's own every-minute timer may run too (and may find the group already claimed): look
  // for the traces rooted at a timer run that reached the webhook.
  const complete = [...byTrace.values()].filter(
    (trace) => trace.some((s) => s.name === 'timer schedule-due-groups' && !parentOf(s)) && trace.some((s) => s.name === 'deliver webhook'),
  );
  assert.ok(complete.length >= 1, `no trace from a timer to a webhook; traces: ${[...byTrace.values()].map((t) => t.map((s) => s.name).join('>')).slice(0, 5).join(' | ')}`);
  for (const trace of complete) {
    const byId = new Map(trace.map((s) => [s.spanContext().spanId, s]));
    const chainOf = (span: ReadableSpan): string[] => {
      const names: string[] = [];
      for (let at: ReadableSpan | undefined = span; at; at = parentOf(at) ? byId.get(parentOf(at)!) : undefined) names.unshift(at.name);
      return names;
    };
    const webhook = trace.find((s) => s.name === 'deliver webhook')!;
    // Every hop is a parent link: the queue messages carried the context.
    assert.deepEqual(chainOf(webhook), ['timer schedule-due-groups', 'process sync-jobs', 'process deliveries', 'deliver webhook']);
    assert.equal(webhook.kind, SpanKind.CLIENT);
    assert.equal(webhook.attributes['connector.group.id'], demo.groupId);
    const job = trace.find((s) => s.name === 'process sync-jobs')!;
    assert.equal(job.kind, SpanKind.CONSUMER);
    assert.equal(job.attributes['messaging.destination.name'], 'sync-jobs');
    const ews = trace.filter((s) => s.name.startsWith('EWS '));
    assert.ok(ews.some((s) => s.name === 'EWS SyncFolderItems') && ews.every((s) => s.kind === SpanKind.CLIENT && s.attributes['http.response.status_code'] === 200));
    assert.ok(ews.every((s) => chainOf(s)[1] === 'process sync-jobs'), 'EWS calls are children of their sync job');
  }
  // Every consumer span continues whoever enqueued its message.
  const known = new Set(spans.map((s) => s.spanContext().spanId));
  for (const consumer of spans.filter((s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.destination.name'] === 'deliveries')) {
    assert.ok(parentOf(consumer) && known.has(parentOf(consumer)!), 'a delivery continues its sync job');
  }
  for (const span of spans) {
    assert.ok(!JSON.stringify(span.attributes).includes('@contoso.com'), `${span.name} carries no mailbox address`);
  }
});

test('metrics: items synced, pages, sync lag, delivery attempts and queue ages, by group and protocol, never by mailbox', async () => {
  const points = await telemetry.metricPoints();
  const of = (name: string) => points.filter((p) => p.name === name);
  const items = of('connector.sync.items').find((p) => p.attributes['connector.group.id'] === demo.groupId);
  assert.ok(items && items.value >= 100, `items synced: ${JSON.stringify(of('connector.sync.items'))}`);
  assert.equal(items.attributes['connector.protocol'], 'ews');
  assert.equal(items.attributes['connector.tenant.id'], demo.tenantId);
  assert.ok((of('connector.sync.pages')[0]?.value ?? 0) >= 12);
  const attempts = of('connector.delivery.attempts').find((p) => p.attributes['connector.group.id'] === demo.groupId);
  assert.ok(attempts && attempts.value >= 12 && attempts.attributes['connector.delivery.target'] === 'webhook');
  assert.ok((of('connector.sync.lag').find((p) => p.attributes['connector.group.id'] === demo.groupId)?.count ?? 0) >= 12, 'a lag per delivered record');
  const ages = of('connector.queue.message_age').map((p) => p.attributes['messaging.destination.name']).sort();
  assert.deepEqual([...new Set(ages)], ['deliveries', 'sync-jobs']);
  for (const point of points) assert.ok(!JSON.stringify(point.attributes).includes('@'), `${point.name} has no address dimension`);
});

test('a failing connection test counts by its code; throttling counts events and back-off seconds', async () => {
  await fetch(`${stack.ewsSimulator.controlUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'serverBusy', operation: 'SyncFolderItems', count: 1, backOffInMs: 30_000 }) });
  const response = await fetch(`${stack.apiBaseUrl}/admin/tenants/${demo.tenantId}/groups/${demo.groupId}/connection-tests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ targetMailbox: 'nobody@contoso.com' }),
  });
  const result = (await response.json()) as { outcome: string; steps: { status: string; code?: string }[] };
  assert.equal(result.outcome, 'failed');
  const code = result.steps.find((s) => s.status === 'failed')?.code;
  const failures = (await telemetry.metricPoints()).filter((p) => p.name === 'connector.connection_test.failures');
  assert.ok(failures.some((p) => p.attributes['error.type'] === code && p.attributes['connector.group.id'] === demo.groupId), JSON.stringify(failures));

  await invoke('sync-mailbox', JSON.stringify({ version: 1, tenantId: demo.tenantId, groupId: demo.groupId, mailbox: 'bob@contoso.com', reason: 'manual', enqueuedAt: new Date().toISOString() }));
  await until('condition', async () => {
    const points = await telemetry.metricPoints();
    assert.ok(points.some((p) => p.name === 'connector.sync.throttled' && p.value >= 1));
    assert.ok(points.some((p) => p.name === 'connector.sync.backoff' && p.value >= 1));
  }, 15_000);
});

test('attacker: a forged or malformed traceparent in a queue message never fails the job', async () => {
  const since = Date.now();
  for (const traceparent of ['00-not-a-trace', `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`, '<script>', 'ff-'.repeat(300)]) {
    await invoke('sync-mailbox', JSON.stringify({ version: 1, tenantId: demo.tenantId, groupId: demo.groupId, mailbox: 'carol@contoso.com', reason: 'manual', enqueuedAt: new Date().toISOString(), traceparent }));
  }
  await until('condition', async () => {
    const runs = stack.functionsHost!.invocations().filter((r) => r.functionName === 'sync-mailbox' && r.startedAt.getTime() >= since && r.status !== 'running');
    assert.equal(runs.length, 4);
    assert.ok(runs.every((r) => r.status === 'succeeded'), runs.map((r) => r.error).join('; '));
  }, 20_000);
});
