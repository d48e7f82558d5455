/**
 * Demo webhook receiver: what a customer's endpoint should do. Verifies the signature,
 * refuses replays (timestamp outside 5 minutes, or a batch id already seen), prints one line
 * per record, keeps the last N batches in memory and lists them at GET /received.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChangeBatch } from '../../shared/delivery/change-batch';
import { BATCH_ID_HEADER, SIGNATURE_HEADER, verifySignature } from '../../shared/delivery/webhook-signature';

export interface ReceivedBatch {
  readonly receivedAt: string;
  readonly batchId: string;
  readonly idempotencyKey: string | undefined;
  readonly batch: ChangeBatch;
}

/** A signed notice (credentialExpiring, mailboxFailing) rather than a change batch. */
export interface ReceivedEvent {
  readonly receivedAt: string;
  readonly event: { readonly type: string; readonly eventId: string; readonly tenantId: string; readonly groupId: string; readonly message: string } & Record<string, unknown>;
}

export interface WebhookReceiverOptions {
  /** Default 8446; 0 picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** The signing secret, or every secret currently accepted (one per sending group, or old and new during a rotation). */
  readonly secret: string | (() => string | readonly string[]);
  /** Batches kept for GET /received. Default 100. */
  readonly keep?: number;
  readonly toleranceInSeconds?: number;
  /** Where the one-line summaries go; default console.log. */
  readonly print?: (line: string) => void;
  /** Test hook: answer with this status instead of 204 (after verifying). */
  readonly respondWith?: () => number | undefined;
}

export interface RunningWebhookReceiver {
  readonly url: string;
  received(): ReceivedBatch[];
  /** Signed events (GET /events). */
  events(): ReceivedEvent[];
  /** Requests refused (bad signature, replay), with the reason. */
  refused(): { reason: string; at: string }[];
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) request.destroy(new Error('body too large'));
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Lines a person can follow: every record of a small batch, a count per folder and change for a big one (an initial sync). */
const MAX_LINES_PER_BATCH = 8;

function readableLines(batch: ChangeBatch): string[] {
  const lines = summary(batch);
  if (lines.length <= MAX_LINES_PER_BATCH) return lines;
  const counts = new Map<string, number>();
  for (const r of batch.records) counts.set(`${r.changeType} ${r.folder}`, (counts.get(`${r.changeType} ${r.folder}`) ?? 0) + 1);
  const parts = [...counts].map(([what, n]) => `${n} ${what}`).join(', ');
  return [`batch ${batch.batchId.slice(0, 8)} for ${batch.mailbox}: ${batch.records.length} records (${parts})${batch.records.some((r) => r.fullResync) ? ', full resync' : ''}`];
}

function summary(batch: ChangeBatch): string[] {
  const candidates = (batch.contactCandidates ?? []).map((c) => `${batch.mailbox}: contact candidate ${c.changeType} ${c.address} (${c.receivedFromCount} received, ${c.sentToCount} sent)`);
  return [...candidates, ...batch.records.map((r) => {
    const subject = r.item && 'subject' in r.item && r.item.subject ? ` "${r.item.subject}"` : '';
    return `${r.occurredAt ?? batch.createdAt} ${r.changeType.padEnd(15)} ${r.folder.padEnd(8)} ${batch.mailbox}${subject} item=${r.itemId.slice(0, 16)}…`;
  })];
}

export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<RunningWebhookReceiver> {
  const keep = options.keep ?? 100;
  const secretsOf = (): readonly string[] => {
    const secrets = typeof options.secret === 'function' ? options.secret() : options.secret;
    return typeof secrets === 'string' ? [secrets] : secrets;
  };
  const print = options.print ?? ((line: string) => console.log(line));
  const received: ReceivedBatch[] = [];
  const events: ReceivedEvent[] = [];
  const refused: { reason: string; at: string }[] = [];
  const seenBatchIds = new Set<string>();

  const refuse = (response: ServerResponse, status: number, reason: string) => {
    refused.push({ reason, at: new Date().toISOString() });
    print(`refused: ${reason}`);
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: reason }));
  };

  const server = createServer(async (request, response) => {
    try {
      if (request.method === 'GET' && request.url === '/events') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(events));
        return;
      }
      if (request.method === 'GET' && request.url === '/received') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received));
        return;
      }
      if (request.method !== 'POST') {
        response.writeHead(405, { allow: 'POST, GET' }).end();
        return;
      }
      const body = await readBody(request);
      const checks = secretsOf().map((secret) =>
        verifySignature(secret, request.headers[SIGNATURE_HEADER] as string | undefined, body, {
          ...(options.toleranceInSeconds !== undefined ? { toleranceInSeconds: options.toleranceInSeconds } : {}),
        }),
      );
      const check = checks.find((c) => c.valid) ?? checks[0] ?? { valid: false as const, reason: 'no secret configured' };
      if (!check.valid) return refuse(response, 401, `signature ${check.reason}`);
      const parsed = JSON.parse(body.toString('utf8')) as ChangeBatch | ReceivedEvent['event'];
      if ('type' in parsed && typeof parsed.type === 'string') {
        events.push({ receivedAt: new Date().toISOString(), event: parsed });
        if (events.length > keep) events.shift();
        // JSON.stringify keeps a hostile message on one line, quoted: it cannot forge other output.
        print(`event ${parsed.type} for group ${String(parsed.groupId).slice(0, 36)}: ${JSON.stringify(String(parsed.message).slice(0, 500))}`);
        response.writeHead(204).end();
        return;
      }
      const batch = parsed as ChangeBatch;
      const batchId = (request.headers[BATCH_ID_HEADER] as string | undefined) ?? batch.batchId;
      const override = options.respondWith?.();
      if (override !== undefined) {
        response.writeHead(override).end();
        return;
      }
      // A batch id seen before is a replay (or a redelivery after our 2xx got lost): acknowledge, don't process.
      if (seenBatchIds.has(batchId)) {
        refused.push({ reason: 'duplicate batch', at: new Date().toISOString() });
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ duplicate: true }));
        return;
      }
      seenBatchIds.add(batchId);
      received.push({ receivedAt: new Date().toISOString(), batchId, idempotencyKey: request.headers['idempotency-key'] as string | undefined, batch });
      if (received.length > keep) received.shift();
      for (const line of readableLines(batch)) print(line);
      response.writeHead(204).end();
    } catch (error) {
      refuse(response, 400, `unreadable request (${(error as Error).message})`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8446, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
    received: () => [...received],
    events: () => [...events],
    refused: () => [...refused],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
