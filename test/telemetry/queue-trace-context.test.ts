import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { QueueClient } from '@azure/storage-queue';
import { decodeQueueMessage, sendQueueMessage } from '../../shared/storage';
import { contextFromCarrier, SpanKind, withSpan } from '../../shared/telemetry';
import { installTestTelemetry, type TestTelemetry } from '../support/telemetry';

let telemetry: TestTelemetry;
before(() => {
  telemetry = installTestTelemetry();
});
after(async () => {
  await telemetry.shutdown();
});

function recordingQueue(): { client: QueueClient; texts: string[] } {
  const texts: string[] = [];
  const client = { sendMessage: async (text: string) => (texts.push(text), { messageId: String(texts.length) }) } as unknown as QueueClient;
  return { client, texts };
}

test('a message sent inside a span carries its W3C traceparent; the consumer continues that trace', async () => {
  const { client, texts } = recordingQueue();
  const traceId = await withSpan('producer', { kind: SpanKind.PRODUCER }, async (span) => {
    await sendQueueMessage(client, { version: 1, job: 'x' });
    return span.spanContext().traceId;
  });
  const message = decodeQueueMessage(texts[0]!) as { traceparent?: string; job: string };
  assert.equal(message.job, 'x');
  assert.match(message.traceparent ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  await withSpan('consumer', { kind: SpanKind.CONSUMER, parent: contextFromCarrier(message) }, async () => undefined);
  const consumer = telemetry.spans().find((s) => s.name === 'consumer')!;
  assert.equal(consumer.spanContext().traceId, traceId);
});

test('outside any span nothing is added; a message that fits only without trace context is sent without it', async () => {
  const { client, texts } = recordingQueue();
  await sendQueueMessage(client, { a: 1 });
  assert.deepEqual(decodeQueueMessage(texts[0]!), { a: 1 });
  // base64 of the JSON just under 64 KiB: adding ~80 characters of traceparent would not fit.
  const filler = 'x'.repeat(Math.floor((64 * 1024 * 3) / 4) - 20);
  await withSpan('producer', {}, async () => sendQueueMessage(client, { f: filler }));
  const sent = decodeQueueMessage(texts[1]!) as Record<string, unknown>;
  assert.equal(sent['traceparent'], undefined);
  assert.equal((sent['f'] as string).length, filler.length, 'the message itself went out whole');
});
