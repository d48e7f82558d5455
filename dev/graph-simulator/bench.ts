/**
 * Benchmark of the Graph simulator's serve rate over HTTP on loopback:
 *
 * - messages/delta initial round of a 20,000-message Inbox at odata.maxpagesize 100 and 1,000
 *   (items/s), then a change round after 2,000 read-flag changes made through the store;
 * - $batch of 20 GET messages/{id} spread over 5 mailboxes (4 each, so MailboxConcurrency lets
 *   all run): sub-requests/s and batches/s.
 *
 * Tokens are signed by a key this benchmark serves as a JWKS over HTTP (the simulator verifies
 * every request, as with the identity provider). The client runs in the same thread with fetch
 * (keep-alive) and parses every JSON answer, so the rates include the client's cost.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { Benchmark, BenchContext, BenchMetric, BenchResult } from '../bench';
import { fillMailbox } from '../ews-simulator/seed';
import { createEwsStore } from '../ews-simulator/store';
import { closeServer, listen } from '../server-lifecycle';
import { startGraphSimulator } from './server';
import { toRestId } from './ids';

const TENANT = '00000000-0000-4000-8000-00000000be01';
const APP = '00000000-0000-4000-8000-00000000be02';
const MAILBOX = 'bench@bench.example';
const BATCH_MAILBOXES = ['b1', 'b2', 'b3', 'b4', 'b5'].map((name) => `${name}@bench.example`);

export interface GraphBenchOptions {
  readonly itemCount: number;
  readonly changeCount: number;
  readonly batchCount: number;
  readonly itemsPerBatchMailbox: number;
}

export const DEFAULT_GRAPH_BENCH_OPTIONS: GraphBenchOptions = { itemCount: 20_000, changeCount: 2_000, batchCount: 200, itemsPerBatchMailbox: 400 };

interface DeltaMeasurement {
  readonly items: number;
  readonly pages: number;
  readonly elapsedInMs: number;
  readonly deltaLink: string;
}

async function deltaRound(firstUrl: string, token: string, pageSize: number, extraPrefer = ''): Promise<DeltaMeasurement> {
  const started = performance.now();
  let url = firstUrl;
  let items = 0;
  let pages = 0;
  for (;;) {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}`, prefer: `odata.maxpagesize=${pageSize}${extraPrefer}` } });
    if (response.status !== 200) throw new Error(`delta page ${pages + 1}: HTTP ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { value: unknown[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string };
    items += body.value.length;
    pages++;
    if (body['@odata.deltaLink']) return { items, pages, elapsedInMs: performance.now() - started, deltaLink: body['@odata.deltaLink'] };
    url = body['@odata.nextLink']!;
  }
}

async function run(context: BenchContext, options: GraphBenchOptions): Promise<BenchResult> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await listen(jwks, 0, '127.0.0.1');
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys`;
  const token = await new SignJWT({ tid: TENANT, appid: APP, roles: ['Mail.ReadWrite'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setAudience('https://graph.microsoft.com')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);

  const store = createEwsStore();
  store.addOrganisation({ id: 'bench', name: 'Bench', domains: ['bench.example'], entraTenantId: TENANT });
  for (const address of [MAILBOX, ...BATCH_MAILBOXES]) store.addMailbox({ smtpAddress: address, displayName: address });
  const fillStarted = performance.now();
  fillMailbox(store, MAILBOX, { count: options.itemCount, seed: 1 });
  for (const address of BATCH_MAILBOXES) fillMailbox(store, address, { count: options.itemsPerBatchMailbox, seed: 2 });
  context.log(`filled ${options.itemCount} + ${BATCH_MAILBOXES.length * options.itemsPerBatchMailbox} messages in ${Math.round(performance.now() - fillStarted)} ms`);
  const graph = await startGraphSimulator({ store, identity: { jwksUri: () => jwksUrl } });
  const metrics: BenchMetric[] = [];
  try {
    const first = `${graph.url}/users/${MAILBOX}/mailFolders/inbox/messages/delta`;
    await deltaRound(first, token, 1000); // warm-up: JIT, JWKS fetch
    let lastDeltaLink = '';
    for (const pageSize of [100, 1000]) {
      context.collectGarbage();
      const measured = await deltaRound(first, token, pageSize);
      if (measured.items !== options.itemCount) throw new Error(`delta returned ${measured.items} items, expected ${options.itemCount}`);
      const rate = Math.round(measured.items / (measured.elapsedInMs / 1000));
      context.log(`delta initial round, pages of ${pageSize}: ${measured.items} items in ${measured.pages} pages, ${Math.round(measured.elapsedInMs)} ms`);
      metrics.push({ name: `delta initial round, pages of ${pageSize}`, value: rate, unit: 'items/s', target: { atLeast: 5_000 } });
      lastDeltaLink = measured.deltaLink;
    }
    // What a sync engine asks for: the fields of a change record, no bodies.
    context.collectGarbage();
    const selected = await deltaRound(`${first}?$select=subject,from,toRecipients,receivedDateTime,isRead,internetMessageId,parentFolderId,hasAttachments`, token, 1000);
    context.log(`delta initial round with $select, pages of 1000: ${selected.items} items, ${Math.round(selected.elapsedInMs)} ms`);
    metrics.push({ name: 'delta initial round with $select, pages of 1000', value: Math.round(selected.items / (selected.elapsedInMs / 1000)), unit: 'items/s', target: { atLeast: 5_000 } });
    // A change record's fields including the body as text (Prefer outlook.body-content-type="text").
    context.collectGarbage();
    const withBody = await deltaRound(`${first}?$select=id,changeKey,parentFolderId,subject,categories,importance,createdDateTime,lastModifiedDateTime,body,hasAttachments,from,sender,toRecipients,ccRecipients,bccRecipients,receivedDateTime,sentDateTime,isRead,internetMessageId,conversationId`, token, 1000, ', outlook.body-content-type="text", IdType="ImmutableId"');
    context.log(`delta initial round with $select incl. text body, pages of 1000: ${withBody.items} items, ${Math.round(withBody.elapsedInMs)} ms`);
    metrics.push({ name: 'delta initial round, change-record $select + text body, pages of 1000', value: Math.round(withBody.items / (withBody.elapsedInMs / 1000)), unit: 'items/s' });
    const inbox = store.getFolder(MAILBOX, { distinguished: 'inbox' });
    const items = store.folderItems(inbox);
    for (let i = 0; i < options.changeCount; i++) store.updateItem(items[(i * 7) % items.length]!.id, { isRead: i % 2 === 0 });
    const changes = await deltaRound(lastDeltaLink, token, 1000);
    metrics.push({ name: `delta change round (${options.changeCount} read-flag changes)`, value: Math.round(changes.items / (changes.elapsedInMs / 1000)), unit: 'items/s' });

    // $batch: 20 GETs per batch, 4 per mailbox.
    const ids = BATCH_MAILBOXES.map((address) => store.folderItems(store.getFolder(address, { distinguished: 'inbox' })).map((item) => toRestId(item.id)));
    let failures = 0;
    const started = performance.now();
    for (let b = 0; b < options.batchCount; b++) {
      const requests = Array.from({ length: 20 }, (_, i) => {
        const box = i % BATCH_MAILBOXES.length;
        const list = ids[box]!;
        return { id: String(i + 1), method: 'GET', url: `/users/${BATCH_MAILBOXES[box]}/messages/${list[(b * 4 + Math.floor(i / BATCH_MAILBOXES.length)) % list.length]}?$select=subject,from,receivedDateTime,isRead` };
      });
      const response = await fetch(`${graph.url}/$batch`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ requests }) });
      const body = (await response.json()) as { responses: { status: number }[] };
      failures += body.responses.filter((r) => r.status !== 200).length;
    }
    const elapsed = (performance.now() - started) / 1000;
    if (failures > 0) throw new Error(`${failures} batch sub-requests failed`);
    metrics.push({ name: '$batch sub-requests (20 per batch, 5 mailboxes)', value: Math.round((options.batchCount * 20) / elapsed), unit: 'requests/s', target: { atLeast: 1_000 } });
    metrics.push({ name: '$batch batches', value: Math.round(options.batchCount / elapsed), unit: 'batches/s' });
  } finally {
    await graph.close();
    await closeServer(jwks);
  }
  return {
    metrics,
    notes: [
      `Inbox of ${options.itemCount} generated messages (dev/ews-simulator/seed fill), full entities (no $select) in delta pages.`,
      'HTTP on loopback, bearer token verified per request, client in the same thread (fetch, keep-alive) parsing every page.',
    ],
  };
}

export const benchmarks: Benchmark[] = [
  {
    name: 'graph-simulator',
    description: 'Graph simulator: messages/delta serve rate (20,000-message Inbox) and $batch',
    run: (context) => run(context, DEFAULT_GRAPH_BENCH_OPTIONS),
  },
];
