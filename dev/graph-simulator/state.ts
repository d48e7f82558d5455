/**
 * Runtime state of one Graph simulator over a (possibly shared) store: fault rules, delta-token
 * epochs, REST-disabled mailboxes, MailboxConcurrency slots, what the store's change events tell
 * about removals and moves, and the request log.
 */
import type { EwsStore, StoreEvent } from '../ews-simulator/model';
import { FaultInjector } from '../ews-simulator/faults';
import { DeltaEngine, DeltaTokenCodec, type RemovalReason } from './delta';

export type GraphFaultKind =
  /** 429 TooManyRequests with Retry-After (retryAfterInSeconds, default 10). */
  | 'http429'
  /** 429 ApplicationThrottled "MailboxConcurrency" with Retry-After, as if 4 requests were running. */
  | 'mailboxConcurrency'
  /** 503 ServiceNotAvailable (Retry-After when retryAfterInSeconds is set). */
  | 'http503'
  /** 504 gateway timeout. */
  | 'http504'
  /** 500 InternalServerError. */
  | 'http500'
  /** Answer after latencyInMs (holds the MailboxConcurrency slot meanwhile). */
  | 'latency'
  /** Delta calls answer 410 SyncStateNotFound. */
  | 'syncStateNotFound'
  /** Delta pages repeat every item they carry (Graph: the same item may come more than once). */
  | 'deltaDuplicates'
  /** The TCP connection is destroyed without an answer (in $batch: 504 for that request). */
  | 'connectionReset';

/** The request budget's window (Exchange Online: 10 minutes). */
export const BUDGET_WINDOW_IN_MS = 10 * 60 * 1000;

export const GRAPH_FAULT_KINDS: readonly GraphFaultKind[] = ['http429', 'mailboxConcurrency', 'http503', 'http504', 'http500', 'latency', 'syncStateNotFound', 'deltaDuplicates', 'connectionReset'];

export interface GraphRequestLogEntry {
  readonly id: string;
  readonly clientRequestId: string;
  readonly time: string;
  readonly method: string;
  readonly path: string;
  readonly operation: string;
  readonly appId?: string;
  readonly mailbox?: string;
  /** Set for requests inside a $batch: the batch's request id. */
  readonly batchRequestId?: string;
  readonly status: number;
  readonly code?: string;
  readonly fault?: string;
  readonly durationInMs: number;
}

export class GraphSimulatorState {
  readonly faults: FaultInjector<GraphFaultKind>;
  readonly codec: DeltaTokenCodec;
  readonly delta = new DeltaEngine();
  readonly restDisabled = new Set<string>();
  readonly requestLog: GraphRequestLogEntry[] = [];
  private readonly inFlight = new Map<string, number>();
  private readonly budgets = new Map<string, { startedAt: number; count: number }>();
  /** Every token carries the epoch it was issued in; expiring bumps the epoch. */
  private epoch = 1;
  private globalValidFrom = 0;
  private readonly mailboxValidFrom = new Map<string, number>();
  /** Why an item id left its folder. */
  private readonly removals = new Map<string, RemovalReason>();
  /** Current id of a moved item, by its origin id (immutable ids resolve through it). */
  private readonly currentByOrigin = new Map<string, string>();
  /** Origin of ids of moved items (for @removed entries once the item is gone). */
  private readonly originById = new Map<string, string>();
  private readonly unsubscribe: () => void;

  constructor(
    readonly store: EwsStore,
    deltaTokenKey: Buffer,
    faultSeed: number,
    readonly maxConcurrentRequestsPerMailbox: number,
    readonly requestLogSize: number,
    readonly maxRequestsPerWindow: number = 10_000,
  ) {
    this.faults = new FaultInjector<GraphFaultKind>(faultSeed);
    this.codec = new DeltaTokenCodec(deltaTokenKey);
    this.unsubscribe = store.onChange((event) => this.observe(event));
  }

  close(): void {
    this.unsubscribe();
  }

  private observe(event: StoreEvent): void {
    if (event.type === 'Deleted' && event.itemId) this.removals.set(event.itemId, 'deleted');
    if (event.type === 'Moved' && event.itemId && event.oldItemId) {
      const destination = this.store.findFolderById(event.parentFolderId);
      // A soft delete (to Recoverable Items) cannot be seen by the user any more: "deleted".
      this.removals.set(event.oldItemId, destination?.distinguishedName === 'recoverableitemsdeletions' ? 'deleted' : 'changed');
      const origin = this.store.getItem(event.itemId)?.immutableOrigin ?? this.originById.get(event.oldItemId) ?? event.oldItemId;
      this.currentByOrigin.set(origin, event.itemId);
      this.originById.set(event.itemId, origin);
      this.originById.set(event.oldItemId, origin);
    }
  }

  removalReason(itemId: string): RemovalReason {
    return this.removals.get(itemId) ?? 'deleted';
  }

  /** The origin of an item id (its own id unless it came from a move). */
  originOf(itemId: string): string {
    return this.store.getItem(itemId)?.immutableOrigin ?? this.originById.get(itemId) ?? itemId;
  }

  currentIdForOrigin(origin: string, mailbox: string): string | undefined {
    if (this.store.getItem(origin)) return origin;
    const moved = this.currentByOrigin.get(origin);
    if (moved && this.store.getItem(moved)) return moved;
    // Moved before this simulator started (state restored from a file): find it by its stored origin.
    const box = this.store.getMailbox(mailbox);
    for (const folder of box?.folders.values() ?? []) {
      for (const item of this.store.folderItems(folder)) {
        if (item.immutableOrigin === origin) {
          this.currentByOrigin.set(origin, item.id);
          return item.id;
        }
      }
    }
    return undefined;
  }

  // ---- delta token epochs ------------------------------------------------------------

  currentEpoch(): number {
    return this.epoch;
  }

  /** Tokens issued before now stop working (all, or one mailbox's): the next call gets 410. */
  expireDeltaTokens(mailbox?: string): void {
    this.epoch++;
    if (mailbox) this.mailboxValidFrom.set(mailbox.toLowerCase(), this.epoch);
    else this.globalValidFrom = this.epoch;
  }

  epochValid(epoch: number, mailbox: string): boolean {
    return epoch >= this.globalValidFrom && epoch >= (this.mailboxValidFrom.get(mailbox) ?? 0);
  }

  // ---- MailboxConcurrency ------------------------------------------------------------

  /**
   * Exchange Online's per-app, per-mailbox request budget (10,000 requests in 10 minutes): a fixed
   * window per key. Returns undefined when the request may go on, else the seconds until the window ends.
   */
  overBudget(key: string, nowInMs: number): number | undefined {
    let window = this.budgets.get(key);
    if (!window || nowInMs - window.startedAt >= BUDGET_WINDOW_IN_MS) {
      window = { startedAt: nowInMs, count: 0 };
      this.budgets.set(key, window);
    }
    if (window.count >= this.maxRequestsPerWindow) return Math.max(1, Math.ceil((window.startedAt + BUDGET_WINDOW_IN_MS - nowInMs) / 1000));
    window.count++;
    return undefined;
  }

  tryAcquire(key: string): boolean {
    const current = this.inFlight.get(key) ?? 0;
    if (current >= this.maxConcurrentRequestsPerMailbox) return false;
    this.inFlight.set(key, current + 1);
    return true;
  }

  release(key: string): void {
    const left = (this.inFlight.get(key) ?? 1) - 1;
    if (left <= 0) this.inFlight.delete(key);
    else this.inFlight.set(key, left);
  }

  record(entry: GraphRequestLogEntry): void {
    this.requestLog.push(entry);
    if (this.requestLog.length > this.requestLogSize) this.requestLog.splice(0, this.requestLog.length - this.requestLogSize);
  }
}
