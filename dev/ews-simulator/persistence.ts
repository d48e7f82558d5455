/**
 * Persistence of the simulator's state for `npm start`: the store (organisations, mailboxes,
 * accounts, rights, policies, folders, items, change logs, id counter) and the SyncState HMAC
 * key go to one JSON file, so ids, ChangeKeys and SyncStates issued before a restart stay valid
 * after it.
 *
 * Saves are atomic (temp file + rename), at most `debounceInMs` after the first unsaved change,
 * and once more on close. Dates are written as {"$date": ISO}, bytes as {"$base64": ...}.
 * Not persisted: pull subscriptions, fault rules, the request log and counters.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Attachment, Item } from './model';
import type { InMemoryEwsStore, StoreSnapshot } from './store';

const FORMAT = 'ews-simulator-snapshot';
const VERSION = 1;

/** The file's top level. */
interface SnapshotFile {
  readonly format: typeof FORMAT;
  readonly version: number;
  readonly savedAt: string;
  /** Base64 HMAC key sealing SyncStates. */
  readonly syncStateKey: string;
  readonly store: StoreSnapshot;
}

export interface LoadedState {
  readonly store: StoreSnapshot;
  readonly syncStateKey: Buffer;
}

export class SnapshotError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`EWS simulator state file ${path}: ${message}. Fix or delete the file to start again from the seed.`);
    this.name = 'SnapshotError';
  }
}

/** Serializes the store and key. Items and attachments keep absent fields as null, so they load with one shape. */
export function serializeState(store: InMemoryEwsStore, syncStateKey: Buffer): string {
  const snapshot = store.snapshot();
  const keepAbsentFields = new Set<object>();
  for (const item of snapshot.items) {
    keepAbsentFields.add(item);
    for (const attachment of item.attachments) keepAbsentFields.add(attachment);
  }
  const file: SnapshotFile = { format: FORMAT, version: VERSION, savedAt: new Date().toISOString(), syncStateKey: syncStateKey.toString('base64'), store: snapshot };
  return JSON.stringify(file, function (this: Record<string, unknown>, key: string, value: unknown): unknown {
    const original = this[key];
    if (original instanceof Date) return { $date: Number.isNaN(original.getTime()) ? null : original.toISOString() };
    if (original instanceof Uint8Array) return { $base64: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') };
    if (value === undefined && keepAbsentFields.has(this)) return null;
    return value;
  });
}

function reviveTyped(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if ('$date' in record && Object.keys(record).length === 1) return new Date(typeof record.$date === 'string' ? record.$date : Number.NaN);
    if ('$base64' in record && Object.keys(record).length === 1 && typeof record.$base64 === 'string') return Buffer.from(record.$base64, 'base64');
  }
  return value;
}

/** null (written for absent optional fields) back to undefined, by assignment so the shape stays. */
function absentFieldsToUndefined(target: Item | Attachment): void {
  const record = target as unknown as Record<string, unknown>;
  for (const key of Object.keys(record)) if (record[key] === null) record[key] = undefined;
}

export function parseState(text: string, path: string): LoadedState {
  let file: SnapshotFile;
  try {
    file = JSON.parse(text, reviveTyped) as SnapshotFile;
  } catch (error) {
    throw new SnapshotError(path, `not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!file || typeof file !== 'object' || file.format !== FORMAT) throw new SnapshotError(path, 'not an EWS simulator state file');
  if (file.version !== VERSION) throw new SnapshotError(path, `format version ${String(file.version)} is not supported (expected ${VERSION})`);
  const store = file.store;
  const key = typeof file.syncStateKey === 'string' ? Buffer.from(file.syncStateKey, 'base64') : Buffer.alloc(0);
  if (key.length < 16 || !store || !Array.isArray(store.items) || !Array.isArray(store.mailboxes) || typeof store.counter !== 'number') throw new SnapshotError(path, 'incomplete state');
  for (const item of store.items) {
    absentFieldsToUndefined(item);
    for (const attachment of item.attachments) absentFieldsToUndefined(attachment);
  }
  return { store, syncStateKey: key };
}

/** Reads the state file; undefined when it does not exist. Throws SnapshotError when it is unusable. */
export function loadState(path: string): LoadedState | undefined {
  if (!existsSync(path)) return undefined;
  return parseState(readFileSync(path, 'utf8'), path);
}

export interface StatePersisterOptions {
  /** Longest time between the first unsaved change and the save (default 1000 ms). */
  readonly debounceInMs?: number;
  /** Told about failed background saves (default: console.error). */
  readonly onError?: (error: unknown) => void;
}

/** Saves the store to `path` shortly after changes and on close. */
export class StatePersister {
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private savedRevision: number;
  private readonly unsubscribe: () => void;
  private readonly debounceInMs: number;
  private readonly onError: (error: unknown) => void;
  private closed = false;
  /** How long the last serialization blocked the event loop. */
  private lastSerializeInMs = 0;

  constructor(
    private readonly path: string,
    private readonly store: InMemoryEwsStore,
    private readonly syncStateKey: Buffer,
    options: StatePersisterOptions = {},
  ) {
    this.debounceInMs = options.debounceInMs ?? 1000;
    this.onError = options.onError ?? ((error) => console.error('EWS simulator: saving state failed:', error));
    this.savedRevision = store.changeRevision;
    mkdirSync(dirname(path), { recursive: true });
    this.unsubscribe = store.onMutation(() => this.schedule());
  }

  /** Writes now, synchronously (used after seeding and by close). */
  saveNowSync(): void {
    const revision = this.store.changeRevision;
    const temp = this.tempPath();
    try {
      writeFileSync(temp, serializeState(this.store, this.syncStateKey));
      renameSync(temp, this.path);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
    this.savedRevision = revision;
  }

  /** Stops watching, waits for a background save, writes the final state. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.saving;
    if (this.store.changeRevision !== this.savedRevision) this.saveNowSync();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    // Big stores take a while to serialize (about 30 ms per 1,000 items) and block the event loop
    // meanwhile: keep that to a fraction of the time under a steady stream of changes.
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.saveInBackground();
      },
      Math.max(this.debounceInMs, this.lastSerializeInMs * 4),
    );
    this.timer.unref();
  }

  private async saveInBackground(): Promise<void> {
    if (this.saving) {
      // A save is running; it may miss the latest changes, so go again afterwards.
      await this.saving;
      if (this.store.changeRevision !== this.savedRevision) this.schedule();
      return;
    }
    const revision = this.store.changeRevision;
    if (revision === this.savedRevision) return;
    const temp = this.tempPath();
    // Serialization is synchronous, so the file holds one consistent state.
    const started = Date.now();
    const text = serializeState(this.store, this.syncStateKey);
    this.lastSerializeInMs = Date.now() - started;
    this.saving = (async () => {
      try {
        await writeFile(temp, text);
        await rename(temp, this.path);
        this.savedRevision = revision;
      } catch (error) {
        await rm(temp, { force: true });
        this.onError(error);
      }
    })();
    try {
      await this.saving;
    } finally {
      this.saving = undefined;
    }
  }

  private tempPath(): string {
    return `${this.path}.${process.pid}.tmp`;
  }
}
