/**
 * Benchmark of the EWS simulator's serve rate over HTTP on loopback, for a 100,000-item mailbox:
 *
 * - fill: creating the items through the store (items/s) and the memory they take
 *   (heapUsed/rss before and after, bytes per item), to show memory is proportional to data;
 * - SyncFolderItems with IdOnly pages of 512, one sync chain from empty state to the end (changes/s);
 * - GetItem in batches with the Default shape and Text bodies (items/s).
 *
 * The simulator runs in this thread; the client runs in a worker thread and sends raw SOAP POSTs
 * over keep-alive connections, parsing answers with a few regular expressions, so the client
 * costs little and does not share the simulator's event loop. Authentication is Basic.
 */
import { Agent, request } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Benchmark, BenchContext, BenchMetric, BenchResult } from '../bench';
import { fillMailbox } from './seed';
import { createEwsStore } from './store';
import type { EwsStore } from './model';

export interface SimulatorBenchOptions {
  readonly itemCount: number;
  readonly syncPageSize: number;
  readonly getItemBatchSize: number;
  /** How many items the GetItem phase fetches (taken from the synced ids). */
  readonly getItemCount: number;
  /** Parallel keep-alive connections for GetItem (sync is one chain, so one connection). */
  readonly getItemConnections: number;
}

export const DEFAULT_SIMULATOR_BENCH_OPTIONS: SimulatorBenchOptions = {
  itemCount: 100_000,
  syncPageSize: 512,
  getItemBatchSize: 100,
  getItemCount: 20_000,
  getItemConnections: 2,
};

const MAILBOX = 'bench@bench.example';
const PASSWORD = 'Bench-Pass1';

/** A running simulator endpoint the client can POST SOAP to. */
interface RunningSimulator {
  readonly ewsUrl: string;
  close(): Promise<void>;
}

/** Starts the core's EWS server on an ephemeral loopback port over `store`. */
async function startSimulator(store: EwsStore): Promise<RunningSimulator> {
  const { startEwsSimulator } = await import('./server.js');
  const server = await startEwsSimulator({ store, port: 0, host: '127.0.0.1' });
  return { ewsUrl: server.url, close: () => server.close() };
}

// ---------------------------------------------------------------------------------------------
// Client side (worker thread)

interface ClientPlan {
  readonly role: 'ews-bench-client';
  readonly ewsUrl: string;
  readonly authorization: string;
  readonly options: SimulatorBenchOptions;
}

interface SyncMeasurement {
  readonly changes: number;
  readonly pages: number;
  readonly elapsedInMs: number;
  readonly responseBytes: number;
}

interface GetItemMeasurement {
  readonly items: number;
  readonly requests: number;
  readonly elapsedInMs: number;
  readonly responseBytes: number;
  readonly failures: number;
}

interface ClientReport {
  readonly sync: SyncMeasurement;
  readonly getItem: GetItemMeasurement;
}

const SOAP_HEAD =
  '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">' +
  '<soap:Header><t:RequestServerVersion Version="Exchange2013_SP1"/></soap:Header><soap:Body>';
const SOAP_TAIL = '</soap:Body></soap:Envelope>';

export function syncFolderItemsBody(syncState: string | undefined, pageSize: number): string {
  return (
    `${SOAP_HEAD}<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>` +
    '<m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>' +
    (syncState ? `<m:SyncState>${syncState}</m:SyncState>` : '') +
    `<m:MaxChangesReturned>${pageSize}</m:MaxChangesReturned></m:SyncFolderItems>${SOAP_TAIL}`
  );
}

/** GetItem with Text bodies: Default shape, or AllProperties + item:Body (what the connector asks for). */
export function getItemBody(ids: readonly string[], shape: 'Default' | 'AllProperties' = 'Default'): string {
  const extra = shape === 'AllProperties' ? '<t:AdditionalProperties><t:FieldURI FieldURI="item:Body"/></t:AdditionalProperties>' : '';
  return (
    `${SOAP_HEAD}<m:GetItem><m:ItemShape><t:BaseShape>${shape}</t:BaseShape><t:BodyType>Text</t:BodyType>${extra}</m:ItemShape>` +
    `<m:ItemIds>${ids.map((id) => `<t:ItemId Id="${id}"/>`).join('')}</m:ItemIds></m:GetItem>${SOAP_TAIL}`
  );
}

export function post(url: string, agent: Agent, authorization: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { authorization, 'content-type': 'text/xml; charset=utf-8', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 500)}`));
          else resolve(text);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const ITEM_ID = /<t:ItemId Id="([^"]+)"/g;

async function measureSync(plan: ClientPlan, agent: Agent): Promise<{ measurement: SyncMeasurement; ids: string[] }> {
  const ids: string[] = [];
  let syncState: string | undefined;
  let pages = 0;
  let responseBytes = 0;
  const started = performance.now();
  for (;;) {
    const response = await post(plan.ewsUrl, agent, plan.authorization, syncFolderItemsBody(syncState, plan.options.syncPageSize));
    pages++;
    responseBytes += response.length;
    if (!response.includes('ResponseClass="Success"')) throw new Error(`SyncFolderItems failed: ${response.slice(0, 800)}`);
    for (const match of response.matchAll(ITEM_ID)) ids.push(match[1]!);
    syncState = /<m:SyncState>([^<]*)<\/m:SyncState>/.exec(response)?.[1];
    if (/<m:IncludesLastItemInRange>true<\/m:IncludesLastItemInRange>/.test(response)) break;
    if (!syncState) throw new Error('SyncFolderItems returned no SyncState');
    if (pages > plan.options.itemCount) throw new Error('SyncFolderItems never reached the last item');
  }
  return { measurement: { changes: ids.length, pages, elapsedInMs: performance.now() - started, responseBytes }, ids };
}

async function measureGetItem(plan: ClientPlan, agents: readonly Agent[], ids: readonly string[]): Promise<GetItemMeasurement> {
  const batches: string[][] = [];
  const wanted = ids.slice(0, plan.options.getItemCount);
  for (let i = 0; i < wanted.length; i += plan.options.getItemBatchSize) batches.push(wanted.slice(i, i + plan.options.getItemBatchSize));
  let next = 0;
  let items = 0;
  let failures = 0;
  let responseBytes = 0;
  const started = performance.now();
  await Promise.all(
    agents.map(async (agent) => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const response = await post(plan.ewsUrl, agent, plan.authorization, getItemBody(batch));
        responseBytes += response.length;
        const ok = response.split('<m:GetItemResponseMessage ResponseClass="Success"').length - 1;
        items += ok;
        failures += batch.length - ok;
      }
    }),
  );
  return { items, requests: batches.length, elapsedInMs: performance.now() - started, responseBytes, failures };
}

async function runClient(plan: ClientPlan): Promise<ClientReport> {
  const agents = Array.from({ length: Math.max(1, plan.options.getItemConnections) }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  try {
    const { measurement: sync, ids } = await measureSync(plan, agents[0]!);
    if (sync.changes === 0) throw new Error('SyncFolderItems returned no items');
    const getItem = await measureGetItem(plan, agents, ids);
    return { sync, getItem };
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

if (!isMainThread && (workerData as ClientPlan | undefined)?.role === 'ews-bench-client') {
  runClient(workerData as ClientPlan).then(
    (report) => parentPort?.postMessage({ ok: true, report }),
    (error: unknown) => parentPort?.postMessage({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
}

function runClientInWorker(plan: ClientPlan): Promise<ClientReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: plan });
    worker.once('message', (message: { ok: true; report: ClientReport } | { ok: false; error: string }) => {
      if (message.ok) resolve(message.report);
      else reject(new Error(`bench client failed: ${message.error}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`bench client exited with ${code}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Benchmark (main thread)

interface MemoryReading {
  readonly heapUsed: number;
  readonly rss: number;
}

function readMemory(context: BenchContext): MemoryReading {
  context.collectGarbage();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

const MB = 1024 * 1024;

export async function runSimulatorBenchmark(context: BenchContext, options: SimulatorBenchOptions = DEFAULT_SIMULATOR_BENCH_OPTIONS): Promise<BenchResult> {
  const store = createEwsStore();
  store.addOrganisation({ id: 'bench', name: 'Bench', domains: ['bench.example'] });
  store.addMailbox({ smtpAddress: MAILBOX, displayName: 'Bench Mailbox', password: PASSWORD });
  const before = readMemory(context);

  context.log(`filling ${options.itemCount.toLocaleString('en-US')} items...`);
  const fillStarted = performance.now();
  const fill = fillMailbox(store, MAILBOX, { count: options.itemCount, seed: 'bench' });
  const fillElapsedInMs = performance.now() - fillStarted;
  const afterFill = readMemory(context);
  context.log(`filled in ${Math.round(fillElapsedInMs)} ms; heap +${((afterFill.heapUsed - before.heapUsed) / MB).toFixed(0)} MB`);

  const simulator = await startSimulator(store);
  let client: ClientReport;
  try {
    context.log(`syncing and fetching via ${simulator.ewsUrl}...`);
    client = await runClientInWorker({
      role: 'ews-bench-client',
      ewsUrl: simulator.ewsUrl,
      authorization: `Basic ${Buffer.from(`${MAILBOX}:${PASSWORD}`).toString('base64')}`,
      options,
    });
  } finally {
    await simulator.close();
  }
  const afterServe = readMemory(context);
  if (client.sync.changes !== fill.created) throw new Error(`sync returned ${client.sync.changes} changes for ${fill.created} items`);

  const changesPerSecond = (client.sync.changes / client.sync.elapsedInMs) * 1000;
  const itemsPerSecond = (client.getItem.items / client.getItem.elapsedInMs) * 1000;
  const metrics: BenchMetric[] = [
    { name: 'fill rate', value: Math.round((fill.created / fillElapsedInMs) * 1000), unit: 'items/s' },
    { name: 'SyncFolderItems IdOnly (page 512)', value: Math.round(changesPerSecond), unit: 'changes/s', target: { atLeast: 10_000 } },
    { name: 'SyncFolderItems avg page latency', value: client.sync.elapsedInMs / client.sync.pages, unit: 'ms' },
    { name: `GetItem Default+Text (batch ${options.getItemBatchSize})`, value: Math.round(itemsPerSecond), unit: 'items/s', target: { atLeast: 2_000 } },
    { name: 'GetItem avg response size', value: Math.round(client.getItem.responseBytes / client.getItem.requests / 1024), unit: 'KiB' },
    { name: 'GetItem failures', value: client.getItem.failures, unit: 'items', target: { atMost: 0 } },
    { name: 'heapUsed before fill', value: Math.round(before.heapUsed / MB), unit: 'MiB' },
    { name: 'heapUsed after fill', value: Math.round(afterFill.heapUsed / MB), unit: 'MiB' },
    { name: 'heapUsed after serving', value: Math.round(afterServe.heapUsed / MB), unit: 'MiB' },
    { name: 'heap per item', value: Math.round((afterFill.heapUsed - before.heapUsed) / fill.created), unit: 'bytes' },
    { name: 'rss before fill', value: Math.round(before.rss / MB), unit: 'MiB' },
    { name: 'rss after fill', value: Math.round(afterFill.rss / MB), unit: 'MiB' },
    { name: 'rss after serving', value: Math.round(afterServe.rss / MB), unit: 'MiB' },
  ];
  return {
    metrics,
    notes: [
      `${fill.created} messages in one Inbox (seed "bench"), ${client.sync.pages} SyncFolderItems pages, ${client.getItem.requests} GetItem requests for ${client.getItem.items} items.`,
      'Client: raw SOAP POSTs from a worker thread over keep-alive HTTP on 127.0.0.1, Basic auth; answers parsed with regular expressions.',
      `SyncFolderItems is one sequential chain on one connection; GetItem uses ${options.getItemConnections} keep-alive connection(s). The simulator itself runs on one thread.`,
      `Memory: after a full GC; "after serving" still holds the store (heap grows when bodies are flattened for output).`,
    ],
  };
}

export const benchmarks: readonly Benchmark[] = [
  {
    name: 'ews-simulator',
    description: 'EWS simulator serve rate over loopback HTTP for a 100,000-item mailbox (SyncFolderItems IdOnly, GetItem Default+Text) and memory per item',
    run: (context) => runSimulatorBenchmark(context),
  },
];
