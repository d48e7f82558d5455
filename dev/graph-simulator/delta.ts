/**
 * Delta queries over the shared store's per-folder change logs.
 *
 * A round starts without a token: the folder's current items are paged in creation order
 * (@odata.nextLink with a $skiptoken), then an @odata.deltaLink ($deltatoken) names the change-log
 * position the round started at. A later call returns the items changed since then (their
 * current state) and @removed entries for items that left the folder. Items changed while a
 * round pages come again in the next one: the same item may be seen twice, as Graph documents.
 *
 * Tokens are opaque, sealed with an HMAC and carry an epoch: damaged or forged tokens, tokens of
 * another folder or mailbox, and tokens issued before an expiry (control API) get 410
 * SyncStateNotFound.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeId } from '../ews-simulator/ids';
import type { EwsStore, Folder, Item } from '../ews-simulator/model';

export type DeltaResource = 'messages' | 'events' | 'contacts' | 'tasks';

export interface DeltaToken {
  readonly resource: DeltaResource;
  readonly mailbox: string;
  readonly folderId: string;
  /** 'i': initial listing in progress (after = last item counter sent); 'd': changes from `position`. */
  readonly phase: 'i' | 'd';
  /** Change-log position: where the round started (phase i) or the next entry to report (phase d). */
  readonly position: number;
  readonly after: number;
  readonly epoch: number;
  /** $select given on the first call, kept in the links as Graph does. */
  readonly select?: readonly string[];
  /** calendarView window (epoch ms). */
  readonly window?: readonly [number, number];
  /** Prefer: IdType="ImmutableId" on the first call. */
  readonly immutable?: boolean;
}

const MAC_BYTES = 16;

export class DeltaTokenCodec {
  constructor(private readonly key: Buffer) {}

  encode(token: DeltaToken): string {
    const body = Buffer.from(JSON.stringify(token), 'utf8');
    const mac = createHmac('sha256', this.key).update(body).digest().subarray(0, MAC_BYTES);
    return Buffer.concat([mac, body]).toString('base64url');
  }

  decode(text: string): DeltaToken | undefined {
    if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
    const bytes = Buffer.from(text, 'base64url');
    if (bytes.length <= MAC_BYTES) return undefined;
    const mac = bytes.subarray(0, MAC_BYTES);
    const body = bytes.subarray(MAC_BYTES);
    const wanted = createHmac('sha256', this.key).update(body).digest().subarray(0, MAC_BYTES);
    if (!timingSafeEqual(mac, wanted)) return undefined;
    try {
      return JSON.parse(body.toString('utf8')) as DeltaToken;
    } catch {
      return undefined;
    }
  }
}

/** Items of a folder in creation order with their id counters, rebuilt when the folder changed. */
interface FolderIndex {
  readonly logLength: number;
  readonly ids: readonly string[];
  readonly numbers: readonly number[];
}

export type RemovalReason = 'deleted' | 'changed';

/** One entry of a delta page: the item (current state) or a removal. */
export type DeltaEntry = { readonly kind: 'item'; readonly item: Item } | { readonly kind: 'removed'; readonly itemId: string; readonly reason: RemovalReason };

export interface DeltaPage {
  readonly entries: readonly DeltaEntry[];
  /** Token for the next page (nextLink) or, when `complete`, for the next round (deltaLink). */
  readonly next: DeltaToken;
  readonly complete: boolean;
}

export interface DeltaScope {
  readonly store: EwsStore;
  readonly folder: Folder;
  /** Which items of the folder belong to the resource (e.g. messages only; events in the window). */
  readonly includes: (item: Item) => boolean;
  /** Why an item id left (Deleted vs moved); defaults to 'deleted'. */
  readonly removalReason: (itemId: string) => RemovalReason;
}

export class DeltaEngine {
  private readonly indexes = new WeakMap<Folder, FolderIndex>();

  private index(folder: Folder): FolderIndex {
    const cached = this.indexes.get(folder);
    if (cached && cached.logLength === folder.changeLog.length) return cached;
    const ids = [...folder.itemIds];
    const numbers = ids.map((id) => decodeId(id)?.number ?? 0);
    const fresh = { logLength: folder.changeLog.length, ids, numbers };
    this.indexes.set(folder, fresh);
    return fresh;
  }

  /** One page of a round; `token` is the decoded (and already checked) token of this round. */
  page(scope: DeltaScope, token: DeltaToken, pageSize: number): DeltaPage {
    return token.phase === 'i' ? this.initialPage(scope, token, pageSize) : this.changesPage(scope, token, pageSize);
  }

  private initialPage(scope: DeltaScope, token: DeltaToken, pageSize: number): DeltaPage {
    const { ids, numbers } = this.index(scope.folder);
    let start = lowerBound(numbers, token.after + 1);
    const entries: DeltaEntry[] = [];
    let last = token.after;
    while (start < ids.length && entries.length < pageSize) {
      const item = scope.store.getItem(ids[start]!);
      last = numbers[start]!;
      start++;
      if (item && scope.includes(item)) entries.push({ kind: 'item', item });
    }
    if (start < ids.length) return { entries, next: { ...token, after: last }, complete: false };
    // Listing done: the next round reports what changed since this round started.
    return { entries, next: { ...token, phase: 'd', after: 0 }, complete: true };
  }

  private changesPage(scope: DeltaScope, token: DeltaToken, pageSize: number): DeltaPage {
    const log = scope.folder.changeLog;
    const seen = new Set<string>();
    const entries: DeltaEntry[] = [];
    let position = Math.min(token.position, log.length);
    while (position < log.length) {
      const change = log[position]!;
      if (!seen.has(change.itemId)) {
        if (seen.size >= pageSize) break;
        seen.add(change.itemId);
      }
      position++;
    }
    for (const itemId of seen) {
      const item = scope.store.getItem(itemId);
      if (item && item.folderId === scope.folder.id) {
        if (scope.includes(item)) entries.push({ kind: 'item', item });
        // An event that left the calendarView window is gone from the view.
        else entries.push({ kind: 'removed', itemId, reason: 'changed' });
      } else entries.push({ kind: 'removed', itemId, reason: scope.removalReason(itemId) });
    }
    return { entries, next: { ...token, position }, complete: position >= log.length };
  }
}

/** First index whose value is >= wanted (numbers ascend: ids are issued in order). */
function lowerBound(numbers: readonly number[], wanted: number): number {
  let low = 0;
  let high = numbers.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (numbers[mid]! < wanted) low = mid + 1;
    else high = mid;
  }
  return low;
}
