/**
 * Azurite's blob, queue and table servers, run in this process.
 *
 * `require('azurite')` loads the VS Code extension entry and fails outside VS Code, so this
 * module loads the three server classes directly. Running them in-process starts in about
 * a second, needs no child process to reap, and close() leaves no handles behind.
 * Azurite ships no type declarations for these modules: the small interfaces below describe
 * only what we call.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The emulator's well-known account (public, documented by Microsoft; not a secret). */
export const DEV_STORAGE_ACCOUNT_NAME = 'devstoreaccount1';
export const DEV_STORAGE_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export const DEFAULT_AZURITE_PORTS: AzuritePorts = { blob: 10000, queue: 10001, table: 10002 };

export interface AzuritePorts {
  readonly blob: number;
  readonly queue: number;
  readonly table: number;
}

export interface StartAzuriteOptions {
  /** true: data lives in memory and vanishes on close (tests). false: data persists under `location`. */
  readonly inMemory: boolean;
  /** Folder for persisted data; required when inMemory is false. */
  readonly location?: string;
  /** Fixed ports; default 0 (random) when inMemory, else 10000/10001/10002. Use 0 for a random port. */
  readonly ports?: Partial<AzuritePorts>;
  /** Interface to listen on; loopback by default. */
  readonly host?: string;
  /** Memory cap for in-memory blob and queue content, in bytes (default 256 MiB). */
  readonly memoryLimitInBytes?: number;
}

export interface AzuriteInstance {
  /** A connection string naming all three endpoints with the devstoreaccount1 key. */
  readonly connectionString: string;
  readonly accountName: string;
  readonly accountKey: string;
  readonly blobEndpoint: string;
  readonly queueEndpoint: string;
  readonly tableEndpoint: string;
  readonly ports: AzuritePorts;
  close(): Promise<void>;
}

interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  readonly httpServer: {
    address(): { port: number } | string | null;
    readonly listening: boolean;
    once(event: 'close', listener: () => void): void;
    closeAllConnections(): void;
  };
}

/** How long close() lets open keep-alive connections finish before cutting them. */
const CLOSE_GRACE_IN_MS = 2000;

/**
 * Azurite's close() resolves before its listener has closed (it stops the HTTP server in a
 * later tick and lets connections drain), so wait for the server's own 'close' event.
 */
async function closeServer(server: AzuriteServer): Promise<void> {
  const listenerClosed = server.httpServer.listening ? new Promise<void>((resolve) => server.httpServer.once('close', resolve)) : Promise.resolve();
  await server.close();
  const cutOff = setTimeout(() => server.httpServer.closeAllConnections(), CLOSE_GRACE_IN_MS);
  await listenerClosed;
  clearTimeout(cutOff);
}

type ServerConstructor<Config> = new (config: Config) => AzuriteServer;
type ChunkStore = object;

interface PersistenceLocation {
  locationId: string;
  locationPath: string;
  maxConcurrency: number;
}

interface AzuriteModules {
  readonly BlobServer: ServerConstructor<unknown>;
  readonly QueueServer: ServerConstructor<unknown>;
  readonly TableServer: ServerConstructor<unknown>;
  readonly BlobConfiguration: new (...args: unknown[]) => unknown;
  readonly QueueConfiguration: new (...args: unknown[]) => unknown;
  readonly TableConfiguration: new (...args: unknown[]) => unknown;
  readonly MemoryExtentChunkStore: new (sizeLimitInBytes: number) => ChunkStore;
}

let modules: AzuriteModules | undefined;

function defaultExport<T>(path: string): T {
  return (require(path) as { default: T }).default;
}

function azuriteModules(): AzuriteModules {
  modules ??= {
    BlobServer: defaultExport('azurite/dist/src/blob/BlobServer'),
    QueueServer: defaultExport('azurite/dist/src/queue/QueueServer'),
    TableServer: defaultExport('azurite/dist/src/table/TableServer'),
    BlobConfiguration: defaultExport('azurite/dist/src/blob/BlobConfiguration'),
    QueueConfiguration: defaultExport('azurite/dist/src/queue/QueueConfiguration'),
    TableConfiguration: defaultExport('azurite/dist/src/table/TableConfiguration'),
    MemoryExtentChunkStore: (require('azurite/dist/src/common/persistence/MemoryExtentStore') as {
      MemoryExtentChunkStore: new (sizeLimitInBytes: number) => ChunkStore;
    }).MemoryExtentChunkStore,
  };
  return modules;
}

/** Where one service keeps its files when persisted, named as the Azurite CLI names them. */
function storagePaths(location: string, service: 'blob' | 'queue' | 'table') {
  return {
    metadataDb: join(location, `__azurite_db_${service}__.json`),
    extentDb: join(location, `__azurite_db_${service}_extent__.json`),
    extents: [{ locationId: 'Default', locationPath: join(location, `__${service}storage__`), maxConcurrency: 10 }] as PersistenceLocation[],
  };
}

function boundPort(server: AzuriteServer): number {
  const address = server.httpServer.address();
  if (address === null || typeof address === 'string') throw new Error('Azurite server is not listening on a TCP port');
  return address.port;
}

function createServers(options: StartAzuriteOptions, location: string, ports: AzuritePorts, host: string) {
  const m = azuriteModules();
  const inMemory = options.inMemory;
  // Each instance gets its own chunk store: Azurite's default one is process-wide and would be
  // shared between instances started by different tests in one process.
  const chunks = inMemory ? new m.MemoryExtentChunkStore(options.memoryLimitInBytes ?? 256 * 1024 * 1024) : undefined;
  const blob = storagePaths(location, 'blob');
  const queue = storagePaths(location, 'queue');
  const table = storagePaths(location, 'table');
  // Positional arguments as Azurite's own entry points pass them (see azurite/dist/src/azurite.js):
  // no access log, no debug log, strict mode, skipApiVersionCheck on, no certificate, no OAuth.
  const blobConfig = new m.BlobConfiguration(host, ports.blob, undefined, blob.metadataDb, blob.extentDb, blob.extents,
    false, undefined, false, undefined, false, true, '', '', '', undefined, false, inMemory, chunks);
  const queueConfig = new m.QueueConfiguration(host, ports.queue, undefined, queue.metadataDb, queue.extentDb, queue.extents,
    false, undefined, false, undefined, false, true, '', '', '', undefined, false, inMemory, chunks);
  const tableConfig = new m.TableConfiguration(host, ports.table, undefined, table.metadataDb,
    false, false, undefined, undefined, false, true, '', '', '', undefined, false, inMemory);
  return {
    blob: new m.BlobServer(blobConfig),
    queue: new m.QueueServer(queueConfig),
    table: new m.TableServer(tableConfig),
  };
}

/** Starts Azurite's blob, queue and table services and returns their endpoints. */
export async function startAzurite(options: StartAzuriteOptions): Promise<AzuriteInstance> {
  if (!options.inMemory && !options.location) throw new Error('startAzurite: a location is required unless inMemory is true');
  const host = options.host ?? '127.0.0.1';
  const defaults = options.inMemory ? { blob: 0, queue: 0, table: 0 } : DEFAULT_AZURITE_PORTS;
  const ports = { ...defaults, ...options.ports };
  const location = options.location ? resolve(options.location) : '';
  if (!options.inMemory) mkdirSync(location, { recursive: true });

  const servers = createServers(options, location, ports, host);
  const all = [servers.blob, servers.queue, servers.table];
  const started = await Promise.allSettled(all.map((server) => server.start()));
  const failure = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await Promise.allSettled(all.map(closeServer));
    throw new Error(`Azurite failed to start: ${String((failure.reason as Error)?.message ?? failure.reason)}`, { cause: failure.reason });
  }

  const actual = { blob: boundPort(servers.blob), queue: boundPort(servers.queue), table: boundPort(servers.table) };
  const endpointHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const endpoint = (port: number) => `http://${endpointHost}:${port}/${DEV_STORAGE_ACCOUNT_NAME}`;
  const blobEndpoint = endpoint(actual.blob);
  const queueEndpoint = endpoint(actual.queue);
  const tableEndpoint = endpoint(actual.table);
  let closing: Promise<void> | undefined;
  return {
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${DEV_STORAGE_ACCOUNT_NAME};AccountKey=${DEV_STORAGE_ACCOUNT_KEY};` +
      `BlobEndpoint=${blobEndpoint};QueueEndpoint=${queueEndpoint};TableEndpoint=${tableEndpoint};`,
    accountName: DEV_STORAGE_ACCOUNT_NAME,
    accountKey: DEV_STORAGE_ACCOUNT_KEY,
    blobEndpoint,
    queueEndpoint,
    tableEndpoint,
    ports: actual,
    close: () => {
      closing ??= Promise.all(all.map(closeServer)).then(() => undefined);
      return closing;
    },
  };
}
