/** The write-operations queue message: what the queue function accepts, and what it drops. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidWriteJobError, parseWriteJob } from '../../shared/write/write-jobs';

const job = { v: 1, tenantId: 't', groupId: 'g', mailbox: 'Alice@Contoso.test', operationId: '0f8fad5b-d9cb-469f-a165-70867728950e', enqueuedAt: '2026-12-03T14:00:00Z' };

test('a job with the trace context the queue sender adds is accepted; the mailbox is lower-cased', () => {
  const parsed = parseWriteJob(JSON.stringify({ ...job, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }));
  assert.equal(parsed.mailbox, 'alice@contoso.test');
  assert.equal(parsed.operationId, job.operationId);
});

test('forged or broken messages are refused with a typed error (the function drops them instead of poisoning the queue)', () => {
  for (const bad of ['not json', JSON.stringify({ ...job, operationId: '../../x' }), JSON.stringify({ ...job, v: 2 }), JSON.stringify({ ...job, mailbox: '' }), JSON.stringify([job])]) {
    assert.throws(() => parseWriteJob(bad), InvalidWriteJobError, bad);
  }
});
