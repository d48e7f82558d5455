/**
 * The world of the real crash test (issue 11): Azurite, the local Key Vault and identity provider,
 * the EWS simulator with one large mailbox and a webhook receiver run in this (test) process; the
 * local Functions host runs as a child process (`dev/functions-host/main.js`) with the production
 * sync and delivery functions, and is SIGKILLed and restarted. Kill proxies sit in front of the
 * table endpoint and EWS, and the receiver can kill too, so a kill lands exactly in the phase asked
 * for: listing (SyncFolderItems), fetching (GetItem), saving state (a write to the syncstate table)
 * or delivering (a webhook POST).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueClient } from '@azure/storage-queue';
import { startAzurite, type AzuriteInstance } from '../../dev/azurite/azurite';
import { devStateDir, ensureDevCertificate } from '../../dev/certs';
import { fillMailbox } from '../../dev/ews-simulator/seed';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { seededRandom } from '../../dev/ews-simulator/faults';
import { DEMO_IDENTITY, demoIdentitySeed } from '../../dev/identity/demo-seed';
import { startIdentityProvider, type RunningIdentityProvider } from '../../dev/identity/server';
import { startKeyVaultServer, type RunningKeyVaultServer } from '../../dev/keyvault';
import { projectRoot } from '../../dev/project-paths';
import { closeServer, listen } from '../../dev/server-lifecycle';
import { createAppCredential } from '../../shared/auth/azure-credential';
import type { ChangeBatch } from '../../shared/delivery/change-batch';
import { DELIVERIES_QUEUE } from '../../shared/delivery/delivery-storage';
import { SecretString } from '../../shared/logging';
import { secretNames } from '../../shared/secrets/secret-names';
import { createSecretStore } from '../../shared/secrets/secret-store';
import { GroupsRepository, MailboxesRepository, TableStorage, TenantsRepository } from '../../shared/storage';
import { SyncStateRepository } from '../../shared/storage/sync-state-repository';
import { SYNC_JOBS_QUEUE, newSyncJob, storageSyncJobQueue } from '../../shared/sync/sync-jobs';
import { startKillProxy, type KillMoment, type KillProxy, type ProxiedRequest } from './kill-proxy';

export const TENANT = 'crash';
export const GROUP = 'sync';
export const MAILBOX = 'big@crash.test';
const SERVICE_ACCOUNT = 'svc@crash.test';
const SERVICE_PASSWORD = 'Crash-Svc-Pass1';
const SIGNING_SECRET = 'whsec-crash-test';

export type CrashPhase = 'listing' | 'fetching' | 'savingState' | 'delivering';
export const CRASH_PHASES: readonly CrashPhase[] = ['listing', 'fetching', 'savingState', 'delivering'];

interface ArmedKill {
  readonly phase: CrashPhase;
  /** Matching events still to let through before the kill. */
  remaining: number;
  readonly moment: KillMoment;
  readonly fired: () => void;
}

export interface KillRecord {
  readonly phase: CrashPhase;
  readonly moment: KillMoment;
  readonly at: number;
}

export interface CrashWorldOptions {
  readonly items: number;
  /** The functions host's processes: lease of a message being processed (renewed while running). */
  readonly queueLeaseSeconds?: number;
  readonly extraSettings?: Readonly<Record<string, string>>;
}

/** The EWS operation of a SOAP request (first element in the Body). */
function ewsOperation(body: Buffer): string {
  return /Body>\s*<(?:[\w-]+:)?(\w+)/.exec(body.toString('utf8'))?.[1] ?? '';
}

/** The sync position inside one of the simulator's SyncState tokens (bytes 5-8, big-endian). */
export function syncPosition(token: string): number | undefined {
  const bytes = Buffer.from(token, 'base64');
  return bytes.length >= 9 && bytes.subarray(0, 4).toString('ascii') === 'EWSS' ? bytes.readUInt32BE(5) : undefined;
}

/** A sync state written to the syncstate table, read from the request body (head row, chunk columns s0..sN). */
function writtenSyncState(request: ProxiedRequest): string | undefined {
  if (request.method === 'GET' || request.method === 'DELETE') return undefined;
  const text = request.body.toString('utf8');
  // A single write names the table in its path; a transaction ($batch) in its parts.
  if (!/\/syncstate/i.test(request.path) && !/\/syncstate/i.test(text)) return undefined;
  // Entity group transactions are multipart; single writes are JSON. Take the first entity with chunk columns.
  const match = /\{[^{}]*"s0"\s*:\s*"[^"]*"[^{}]*\}/.exec(text);
  if (!match) return undefined;
  try {
    const entity = JSON.parse(match[0]) as Record<string, unknown>;
    const chunks = Object.keys(entity).filter((k) => /^s\d+$/.test(k)).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    const value = chunks.map((k) => String(entity[k])).join('');
    return value || undefined;
  } catch {
    return undefined;
  }
}

export interface ReceivedDelivery {
  readonly batchId: string;
  readonly mailbox: string;
  readonly records: readonly { readonly itemId: string; readonly idempotencyKey: string; readonly changeType: string }[];
}

export class CrashWorld {
  readonly kills: KillRecord[] = [];
  readonly deliveries: ReceivedDelivery[] = [];
  /** Sync positions as written to the table (answered 2xx), in order. */
  readonly statePositions: number[] = [];
  readonly hostLogs: string[] = [];
  restarts = 0;
  #armed: ArmedKill | undefined;
  #child: ChildProcess | undefined;
  #childExited: Promise<void> | undefined;
  readonly #spawned: ChildProcess[] = [];
  #doomed: ChildProcess | undefined;
  #pendingFire: (() => void) | undefined;
  #settingsFile = '';
  #workDir = '';

  private constructor(
    readonly options: CrashWorldOptions,
    readonly azurite: AzuriteInstance,
    readonly idp: RunningIdentityProvider,
    readonly vault: RunningKeyVaultServer,
    readonly ews: EwsSimulator,
    private readonly servers: { tableProxy: KillProxy; ewsProxy: KillProxy; receiver: Server },
  ) {}

  static async start(options: CrashWorldOptions): Promise<CrashWorld> {
    const root = projectRoot();
    const cert = await ensureDevCertificate(join(devStateDir(root), 'certs'));
    const tls = { cert: cert.cert, key: cert.key };
    const idp = await startIdentityProvider({ port: 0, tlsCertificate: tls, seed: demoIdentitySeed() });
    const azurite = await startAzurite({ inMemory: true });
    const vault = await startKeyVaultServer({ port: 0, tlsCertificate: tls, tenantId: DEMO_IDENTITY.operatorTenantId, authorityHost: idp.url });
    const ews = await startEwsSimulator({
      seed: (store) => {
        store.addOrganisation({ id: 'crash', name: 'Crash', domains: ['crash.test'] });
        store.addMailbox({ smtpAddress: MAILBOX, displayName: 'Big', password: 'User-Pass1' });
        store.addServiceAccount({ userPrincipalName: SERVICE_ACCOUNT, password: SERVICE_PASSWORD, organisationId: 'crash' });
        store.grantImpersonation({ organisationId: 'crash', principal: SERVICE_ACCOUNT, scope: { kind: 'all' } });
        fillMailbox(store, MAILBOX, { count: options.items, seed: 'crash-test' });
      },
    });
    // Placeholders; the world wires the proxies' callbacks to itself below.
    let world: CrashWorld | undefined;
    const tableUpstream = /TableEndpoint=(http:\/\/[^;/]+)/.exec(azurite.connectionString)?.[1];
    if (!tableUpstream) throw new Error(`no TableEndpoint in ${azurite.connectionString}`);
    const tableProxy = await startKillProxy({
      upstream: tableUpstream,
      decide: (request) => world!.decide(writtenSyncState(request) !== undefined ? 'savingState' : undefined),
      kill: () => world!.killChild(),
      onAnswered: (request, status) => {
        const state = writtenSyncState(request);
        const position = state ? syncPosition(state) : undefined;
        if (position !== undefined && status < 300) world!.statePositions.push(position);
      },
    });
    const ewsProxy = await startKillProxy({
      upstream: new URL(ews.url).origin,
      decide: (request) => {
        const operation = ewsOperation(request.body);
        return world!.decide(operation === 'SyncFolderItems' ? 'listing' : operation === 'GetItem' ? 'fetching' : undefined);
      },
      kill: () => world!.killChild(),
    });
    const receiver = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void (async () => {
          const batch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChangeBatch;
          world!.deliveries.push({ batchId: batch.batchId, mailbox: batch.mailbox, records: batch.records.map((r) => ({ itemId: r.itemId, idempotencyKey: r.idempotencyKey, changeType: r.changeType })) });
          // Received, then the sender dies before it hears the 2xx: it will deliver the batch again.
          if (world!.decide('delivering').kill) {
            await world!.killChild();
            req.socket.destroy();
            return;
          }
          res.writeHead(204).end();
        })();
      });
    });
    await listen(receiver, 0, '127.0.0.1');
    world = new CrashWorld(options, azurite, idp, vault, ews, { tableProxy, ewsProxy, receiver });
    await world.seedRecords(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`);
    world.writeSettings();
    return world;
  }

  private async seedRecords(webhookUrl: string): Promise<void> {
    const credential = createAppCredential({
      clientId: DEMO_IDENTITY.appIdentity.clientId,
      tenantId: DEMO_IDENTITY.operatorTenantId,
      clientSecret: new SecretString(DEMO_IDENTITY.appIdentity.clientSecret),
      authorityHost: this.idp.url,
    });
    const secrets = createSecretStore(this.vault.url, credential, { environment: 'development' });
    const passwordName = secretNames.groupPassword(TENANT, GROUP);
    const stored = await secrets.setSecret(passwordName, new SecretString(SERVICE_PASSWORD));
    await secrets.setSecret(secretNames.webhookSigningKey(TENANT, GROUP), new SecretString(SIGNING_SECRET));
    const storage = this.storage();
    const at = new Date().toISOString();
    await new TenantsRepository(storage).create({ id: TENANT, displayName: 'Crash', status: 'active', createdAt: at, updatedAt: at });
    await new GroupsRepository(storage).create({
      tenantId: TENANT,
      id: GROUP,
      name: 'Crash',
      externalId: 'crash',
      mailboxAccessType: 'impersonation',
      ewsUrl: `${this.servers.ewsProxy.url}/EWS/Exchange.asmx`,
      impersonation: { serviceAccount: SERVICE_ACCOUNT, authScheme: 'basic' },
      credential: { kind: 'password', secretName: passwordName, secretVersion: stored.version, updatedAt: at },
      delivery: { kind: 'webhook', url: webhookUrl },
      folders: ['mail'],
      pollIntervalMinutes: 1,
      initialSync: { kind: 'all' },
      enabled: true,
      createdAt: at,
      updatedAt: at,
    });
    await new MailboxesRepository(storage).create({ tenantId: TENANT, groupId: GROUP, smtpAddress: MAILBOX, enabled: true, status: 'pending', counts: { created: 0, updated: 0, deleted: 0 }, createdAt: at, updatedAt: at });
  }

  storage(): TableStorage {
    return new TableStorage({ storage: { kind: 'connectionString', connectionString: new SecretString(this.azurite.connectionString) } });
  }

  private writeSettings(): void {
    this.#workDir = mkdtempSync(join(tmpdir(), 'crash-host-'));
    this.#settingsFile = join(this.#workDir, 'local.settings.json');
    const tableEndpoint = /TableEndpoint=(http:\/\/[^;/]+)/.exec(this.azurite.connectionString)![1]!;
    const values = {
      CONNECTOR_ENVIRONMENT: 'development',
      PUBLIC_BASE_URL: 'http://127.0.0.1:7071',
      // Tables go through the kill proxy; queues and blobs straight to Azurite.
      AzureWebJobsStorage: this.azurite.connectionString.replace(tableEndpoint, this.servers.tableProxy.url),
      KEY_VAULT_URL: this.vault.url,
      AZURE_CLIENT_ID: DEMO_IDENTITY.appIdentity.clientId,
      AZURE_TENANT_ID: DEMO_IDENTITY.operatorTenantId,
      AZURE_CLIENT_SECRET: DEMO_IDENTITY.appIdentity.clientSecret,
      AZURE_AUTHORITY_HOST: this.idp.url,
      ADMIN_API_AUDIENCE: DEMO_IDENTITY.adminApi.audience,
      ADMIN_API_TENANT_ID: DEMO_IDENTITY.operatorTenantId,
      CONNECTOR_APP_CLIENT_ID: DEMO_IDENTITY.connectorApp.clientId,
      EWS_DEFAULT_URL: this.ews.url,
      SYNC_TIME_BUDGET_MS: '10000',
      SYNC_LEASE_DURATION_MS: '3000',
      SYNC_BUSY_RETRY_DELAY_MS: '500',
      DELIVERY_RETRY_BASE_DELAY_SECONDS: '1',
      DELIVERY_WEBHOOK_TIMEOUT_MS: '5000',
      // The tests read per-job and per-queue lines, which are debug lines.
      LOG_LEVEL: 'debug',
      // Groups are read fresh by every job, as in the other test stacks.
      SYNC_CONFIG_CACHE_TTL_MS: '0',
      ...this.options.extraSettings,
    };
    writeFileSync(this.#settingsFile, JSON.stringify({ IsEncrypted: false, Values: values }, null, 2));
  }

  /** Starts one functions host process; `functions` are file names under dist/functions. */
  spawnHost(functions: readonly string[], extraArgs: readonly string[] = []): ChildProcess {
    const root = projectRoot();
    const child = spawn(
      process.execPath,
      [
        join(root, 'dist', 'dev', 'functions-host', 'main.js'),
        '--port', '0',
        '--settings', this.#settingsFile,
        '--queue-lease-seconds', String(this.options.queueLeaseSeconds ?? 3),
        ...functions.flatMap((name) => ['--app', join(root, 'dist', 'functions', `${name}.js`)]),
        ...extraArgs,
      ],
      { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#spawned.push(child);
    const tag = `[pid ${child.pid}] `;
    child.stdout!.on('data', (chunk: Buffer) => this.hostLogs.push(...chunk.toString('utf8').split('\n').filter(Boolean).map((l) => tag + l)));
    child.stderr!.on('data', (chunk: Buffer) => this.hostLogs.push(...chunk.toString('utf8').split('\n').filter(Boolean).map((l) => tag + l)));
    return child;
  }

  /** (Re)starts the single host the kill test uses. */
  startHost(): void {
    const child = this.spawnHost(['sync-schedule', 'sync-mailbox', 'delivery-deliver-batch']);
    this.#child = child;
    this.#childExited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Kills the host chosen when the kill was decided (not a newer one), then reports the kill as done. */
  async killChild(): Promise<void> {
    const child = this.#doomed ?? this.#child;
    const fire = this.#pendingFire;
    this.#doomed = undefined;
    this.#pendingFire = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }
    fire?.();
  }

  /** Stops the host gracefully (SIGTERM: in-flight invocations finish). */
  async stopHost(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([this.#childExited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    await this.killChild();
  }

  /** Arms the next kill: after `skip` matching events of `phase`, kill at `moment`. Resolves when it fired. */
  arm(phase: CrashPhase, skip: number, moment: KillMoment): Promise<void> {
    return new Promise((resolve) => {
      this.#armed = { phase, remaining: skip, moment, fired: resolve };
    });
  }

  disarm(): void {
    this.#armed = undefined;
  }

  private decide(phase: CrashPhase | undefined): { kill?: KillMoment } {
    const armed = this.#armed;
    if (!phase || !armed || armed.phase !== phase) return {};
    if (armed.remaining > 0) {
      armed.remaining--;
      return {};
    }
    this.#armed = undefined;
    this.kills.push({ phase, moment: armed.moment, at: Date.now() });
    // The caller kills this host (perhaps after forwarding); only then may the next one start.
    this.#doomed = this.#child;
    this.#pendingFire = armed.fired;
    return { kill: phase === 'delivering' ? 'afterUpstreamAnswered' : armed.moment };
  }

  async addMailboxRecord(smtpAddress: string): Promise<void> {
    const at = new Date().toISOString();
    await new MailboxesRepository(this.storage()).create({ tenantId: TENANT, groupId: GROUP, smtpAddress, enabled: true, status: 'pending', counts: { created: 0, updated: 0, deleted: 0 }, createdAt: at, updatedAt: at });
  }

  async enqueueSync(reason: 'manual' | 'scheduled' = 'manual'): Promise<void> {
    const queue = new QueueClient(this.azurite.connectionString, SYNC_JOBS_QUEUE);
    await queue.createIfNotExists();
    await storageSyncJobQueue(queue).enqueue(newSyncJob(TENANT, GROUP, MAILBOX, reason));
  }

  /** Messages in a queue (visible or not); 0 when the queue does not exist. */
  async queueDepth(name: string): Promise<number> {
    const queue = new QueueClient(this.azurite.connectionString, name);
    if (!(await queue.exists())) return 0;
    return (await queue.getProperties()).approximateMessagesCount ?? 0;
  }

  async syncPositionNow(): Promise<number | undefined> {
    const state = await new SyncStateRepository(this.storage()).read({ tenantId: TENANT, groupId: GROUP, mailbox: MAILBOX, folder: 'inbox' });
    return state.syncState ? syncPosition(state.syncState) : undefined;
  }

  async progress(): Promise<{ continuationPending: boolean } | undefined> {
    return new SyncStateRepository(this.storage()).readProgress(TENANT, GROUP, MAILBOX);
  }

  /** Distinct item ids and idempotency keys of created records received, and the total received. */
  tally(): { distinctItems: number; distinctKeys: number; createdRecords: number; batches: number } {
    const mine = this.deliveries.filter((d) => d.mailbox === MAILBOX);
    const created = mine.flatMap((d) => d.records).filter((r) => r.changeType === 'created');
    return {
      distinctItems: new Set(created.map((r) => r.itemId)).size,
      distinctKeys: new Set(created.map((r) => r.idempotencyKey)).size,
      createdRecords: created.length,
      batches: mine.length,
    };
  }

  async queueDepths(): Promise<Record<string, number>> {
    const names = [SYNC_JOBS_QUEUE, `${SYNC_JOBS_QUEUE}-poison`, DELIVERIES_QUEUE, `${DELIVERIES_QUEUE}-poison`];
    return Object.fromEntries(await Promise.all(names.map(async (name) => [name, await this.queueDepth(name)] as const)));
  }

  async close(): Promise<void> {
    this.disarm();
    const step = async (name: string, run: () => Promise<void>) => {
      const t = Date.now();
      await run();
      if (process.env.CRASH_DEBUG) console.error(`close ${name} ${Date.now() - t} ms`);
    };
    await step('child', () => this.killChild());
    await step('spawned', async () => {
      const alive = this.#spawned.filter((c) => c.exitCode === null && c.signalCode === null);
      await Promise.all(alive.map((c) => new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGKILL');
      })));
    });
    await step('tableProxy', () => this.servers.tableProxy.close());
    await step('ewsProxy', () => this.servers.ewsProxy.close());
    await step('receiver', () => closeServer(this.servers.receiver));
    await step('ews', () => this.ews.close());
    await step('vault', () => this.vault.close());
    await step('azurite', () => this.azurite.close());
    await step('idp', () => this.idp.close());
    rmSync(this.#workDir, { recursive: true, force: true });
  }
}

/**
 * The kill plan: phases spread evenly (each round of four shuffled), skips and moments from the seed.
 * Skips are small so the kills land while there is still work; `ordered` keeps listing → fetching →
 * saving state → delivering (the short run, where the sync has only three pages).
 */
export function killPlan(kills: number, seed: number, ordered = false): { phase: CrashPhase; skip: number; moment: KillMoment }[] {
  const random = seededRandom(seed);
  const plan: { phase: CrashPhase; skip: number; moment: KillMoment }[] = [];
  while (plan.length < kills) {
    const round = ordered ? [...CRASH_PHASES] : [...CRASH_PHASES].sort(() => random() - 0.5);
    for (const phase of round) {
      if (plan.length >= kills) break;
      // The short run has three pages only: kill at the first chance (fetching: the second GetItem).
      const skip = ordered ? (phase === 'fetching' ? 1 : 0) : phase === 'fetching' ? 1 + Math.floor(random() * 4) : Math.floor(random() * 2);
      plan.push({ phase, skip, moment: random() < 0.5 ? 'beforeForwarding' : 'afterUpstreamAnswered' });
    }
  }
  return plan;
}
