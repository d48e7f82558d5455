/**
 * The incremental sync of one mailbox, protocol-independent: for each configured folder, read a
 * page of changes after the stored state, fetch the created/updated items, turn them into change
 * records, hand them to the delivery outbox, and only once the outbox accepted them save the new
 * state (ETag-checked). Pages continue until the folder is up to date or the time budget is
 * spent; the caller then queues a continuation. A crash anywhere before the state is saved
 * replays the same page next time, and records carry stable idempotency keys for receivers.
 */
import { createHash } from 'node:crypto';
import { createChangeBatch, createChangeRecord } from '../delivery/change-batch';
import type { ChangeItem, ChangeRecord, ContactCandidateRecord, DeliveryOutbox, SyncedFolder } from '../delivery/change-batch';
import type { ContactCandidateCollector } from '../contacts/contact-candidates';
import type { InitialSyncPolicy } from '../storage/records';
import type { FolderSyncKey, FolderSyncState, SyncStateVersion, VersionedFolderSyncState } from '../storage/sync-state-repository';
import { folderStateKey, isWellKnown, kindOfTarget, MailboxSourceError } from './mailbox-source';
import type { ChangePage, ChosenFolder, FolderTarget, MailboxSource, SourceChange } from './mailbox-source';

/** The outbox did not accept a batch: nothing was saved, the same page is read again on retry. */
export class OutboxRejectedError extends Error {
  readonly code = 'OutboxRejected';
  constructor(cause: unknown) {
    super(`The delivery outbox did not accept a batch: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'OutboxRejectedError';
  }
}

/** The part of SyncStateRepository the engine uses (an in-memory one works for unit tests). */
export interface SyncStateStore {
  read(key: FolderSyncKey): Promise<VersionedFolderSyncState>;
  save(key: FolderSyncKey, next: FolderSyncState, previous: SyncStateVersion | undefined): Promise<SyncStateVersion>;
}

export interface SyncEngineDependencies {
  readonly states: SyncStateStore;
  readonly outbox: DeliveryOutbox;
  readonly now?: () => Date;
}

export interface MailboxSyncRequest {
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
  /** Well-known folders by name, or chosen folders (by id or path) of a kind. */
  readonly folders: readonly FolderTarget[];
  readonly initialSync: InitialSyncPolicy;
  readonly source: MailboxSource;
  /** Stop starting new pages after this instant (epoch ms). At least one page always runs. */
  readonly deadlineInMs: number;
  /** 1..512; default 512. */
  readonly maxChangesPerPage?: number;
  /** Records per outbox batch; default 100. */
  readonly recordsPerBatch?: number;
  /** Called between pages (renew leases, check cancellation); may throw to stop. */
  readonly heartbeat?: () => Promise<void>;
  /** Called after each saved page with the running totals. */
  readonly onProgress?: (progress: SyncTotals) => Promise<void> | void;
  /** Groups with contact candidates on: counts each page's messages and answers the candidates to deliver with it. */
  readonly contactCandidates?: ContactCandidateCollector;
}

export interface SyncTotals {
  readonly created: number;
  readonly updated: number;
  readonly deleted: number;
  readonly readFlagChanged: number;
  /** Changes read but not delivered (initial-sync policy, or items gone before they could be fetched). */
  readonly skipped: number;
  readonly pages: number;
}

export interface MailboxSyncResult {
  /** True when every folder reached the end of its changes. */
  readonly complete: boolean;
  readonly totals: SyncTotals;
  /** Folders whose state was invalid and which started over (records flagged fullResync). */
  readonly fullResyncFolders: readonly SyncedFolder[];
}

const DEFAULT_MAX_CHANGES = 512;
const DEFAULT_RECORDS_PER_BATCH = 100;

class Totals {
  created = 0;
  updated = 0;
  deleted = 0;
  readFlagChanged = 0;
  skipped = 0;
  pages = 0;

  add(records: readonly ChangeRecord[]): void {
    for (const record of records) this[record.changeType]++;
  }

  snapshot(): SyncTotals {
    return { created: this.created, updated: this.updated, deleted: this.deleted, readFlagChanged: this.readFlagChanged, skipped: this.skipped, pages: this.pages };
  }
}

/** The date an initial "since" policy compares with: when a message arrived, else when the item last changed. */
export function itemDate(item: ChangeItem): string | undefined {
  if ((item.kind === 'message' || item.kind === 'meetingMessage') && item.receivedAt) return item.receivedAt;
  return item.lastModifiedAt ?? item.createdAt;
}

export async function syncMailbox(deps: SyncEngineDependencies, request: MailboxSyncRequest): Promise<MailboxSyncResult> {
  const now = deps.now ?? (() => new Date());
  const totals = new Totals();
  const fullResyncFolders: SyncedFolder[] = [];
  let complete = true;
  let firstPage = true;
  for (const folder of request.folders) {
    const key: FolderSyncKey = { tenantId: request.tenantId, groupId: request.groupId, mailbox: request.mailbox, folder: folderStateKey(folder) };
    let stored = await deps.states.read(key);
    let folderDone = false;
    // The next page, listed while this page's items are fetched and handed over (read-only, so a page
    // listed ahead and then dropped at the deadline costs one call and nothing else).
    let ahead: Promise<ChangePage> | undefined;
    let aheadStartedAt = '';
    try {
      while (!folderDone) {
        if (!firstPage && now().getTime() >= request.deadlineInMs) {
          complete = false;
          // Let the call listed ahead finish, so no request outlives the job's concurrency slot.
          await ahead?.catch(() => undefined);
          break;
        }
        firstPage = false;
        // When this page was asked for (a page listed ahead was asked for while the last one was handled):
        // a later protocol switch delivers only what changed after the last read (migratedRecords).
        const readStartedAt = ahead ? aheadStartedAt : now().toISOString();
        const page = ahead ? { page: await ahead, restarted: false as const } : await listChangesOrRestart(request, folder, stored, fullResyncFolders, now);
        ahead = undefined;
        if (page.restarted) stored = page.state;
        const reachedEnd = page.page.includesLastItemInRange;
        if (!reachedEnd) {
          aheadStartedAt = now().toISOString();
          ahead = listAhead(request, folder, page.page.syncState);
        }
        const fullResync = stored.fullResync;
        const records = await recordsFor(request, folder, page.page.changes, stored, totals, now);
        // Counted before the hand-over: a crash in between replays the page, whose messages are then
        // already counted, and the candidates' current state is handed over again (nothing lost).
        const candidates = request.contactCandidates ? await request.contactCandidates.collect(records) : [];
        await handOver(deps.outbox, request, folder, stored.syncState, fullResync, records, candidates);
        totals.add(records);
        totals.pages++;
        folderDone = reachedEnd;
        // Idle poll: nothing changed and the folder was already incremental. The stored state still
        // yields exactly the changes after it, so nothing is written (the saving is Table writes at scale).
        const unchanged = reachedEnd && page.page.changes.length === 0 && !page.restarted && stored.syncState !== undefined && stored.phase === 'incremental' && !fullResync;
        if (unchanged) continue;
        const next: FolderSyncState = {
          syncState: page.page.syncState,
          phase: reachedEnd ? 'incremental' : stored.phase,
          fullResync: reachedEnd ? false : fullResync,
          updatedAt: now().toISOString(),
          readStartedAt,
          ...(!reachedEnd && stored.migratedSince ? { migratedSince: stored.migratedSince } : {}),
        };
        const version = await deps.states.save(key, next, stored.version);
        stored = { ...next, version };
        if (page.page.changes.length > 0) await request.onProgress?.(totals.snapshot());
        if (!folderDone) await request.heartbeat?.();
      }
    } catch (error) {
      // Let the call listed ahead finish, so no request outlives the job's concurrency slot.
      await ahead?.catch(() => undefined);
      throw error;
    }
    if (!complete) break;
  }
  return { complete, totals: totals.snapshot(), fullResyncFolders };
}

/** Lists the page after `syncState` ahead of time; its failure surfaces when (and if) it is awaited. */
function listAhead(request: MailboxSyncRequest, folder: FolderTarget, syncState: string): Promise<ChangePage> {
  const page = request.source.listChanges(folder, syncState, request.maxChangesPerPage ?? DEFAULT_MAX_CHANGES);
  page.catch(() => undefined);
  return page;
}

/** One page; an invalid stored state restarts the folder from scratch as a full re-sync. */
async function listChangesOrRestart(
  request: MailboxSyncRequest,
  folder: FolderTarget,
  stored: VersionedFolderSyncState,
  fullResyncFolders: SyncedFolder[],
  now: () => Date,
): Promise<{ page: ChangePage; restarted: false } | { page: ChangePage; restarted: true; state: VersionedFolderSyncState }> {
  const maxChanges = request.maxChangesPerPage ?? DEFAULT_MAX_CHANGES;
  if (stored.syncState !== undefined && request.source.ownsSyncState?.(stored.syncState) === false) {
    // The group switched protocol: the old protocol delivered everything up to its last read, so the new
    // one starts its own state from scratch and delivers only what changed since then (no backlog, not flagged).
    const since = stored.migratedSince ?? stored.readStartedAt ?? stored.updatedAt ?? now().toISOString();
    const state: VersionedFolderSyncState = { ...stored, syncState: undefined, phase: 'initial', fullResync: false, migratedSince: since };
    return { page: await request.source.listChanges(folder, undefined, maxChanges), restarted: true, state };
  }
  try {
    return { page: await request.source.listChanges(folder, stored.syncState, maxChanges), restarted: false };
  } catch (error) {
    if (!(error instanceof MailboxSourceError) || error.code !== 'InvalidSyncState' || stored.syncState === undefined) throw error;
    fullResyncFolders.push(kindOfTarget(folder));
    // The phase stays: an initial sync that was never finished keeps its policy; a finished one re-delivers everything, flagged.
    const state: VersionedFolderSyncState = { ...stored, syncState: undefined, fullResync: stored.phase === 'incremental' };
    return { page: await request.source.listChanges(folder, undefined, maxChanges), restarted: true, state };
  }
}

async function recordsFor(
  request: MailboxSyncRequest,
  target: FolderTarget,
  changes: readonly SourceChange[],
  stored: VersionedFolderSyncState,
  totals: Totals,
  now: () => Date,
): Promise<ChangeRecord[]> {
  const initial = stored.phase === 'initial' && !stored.fullResync;
  const folder = kindOfTarget(target);
  if (initial && stored.migratedSince !== undefined) return withChosenFolder(target, await migratedRecords(request, folder, changes, stored, totals, now));
  if (initial && request.initialSync.kind === 'none') {
    totals.skipped += changes.length;
    return [];
  }
  const since = initial && request.initialSync.kind === 'since' ? new Date(request.initialSync.since).getTime() : undefined;
  const toFetch = [...new Set(changes.filter((c) => c.type === 'created' || c.type === 'updated').map((c) => c.itemId))];
  const fetched = new Map((await request.source.getItems(toFetch)).map((result) => [result.itemId, result]));
  const occurredAt = now().toISOString();
  // Read-flag changes have no change key: the state the page was read after tells one toggle from the next (and a replay from a new change).
  const keyContext = { sourcePosition: sourcePositionOf(stored.syncState) };
  const records: ChangeRecord[] = [];
  for (const change of changes) {
    const base = { tenantId: request.tenantId, groupId: request.groupId, mailbox: request.mailbox, folder, itemId: change.itemId, fullResync: stored.fullResync, occurredAt };
    if (change.type === 'deleted') {
      records.push(createChangeRecord({ ...base, changeType: 'deleted' }));
      continue;
    }
    if (change.type === 'readFlagChanged') {
      records.push(createChangeRecord({ ...base, changeType: 'readFlagChanged', ...(change.isRead !== undefined ? { isRead: change.isRead } : {}) }, keyContext));
      continue;
    }
    const result = fetched.get(change.itemId);
    // Gone (or unreadable) since the change was listed: a later page reports its deletion.
    if (!result || !result.ok) {
      totals.skipped++;
      continue;
    }
    if (since !== undefined) {
      const date = itemDate(result.item);
      if (date !== undefined && new Date(date).getTime() < since) {
        totals.skipped++;
        continue;
      }
    }
    const changeKey = result.item.changeKey ?? change.changeKey;
    records.push(createChangeRecord({ ...base, changeType: change.type, ...(changeKey ? { changeKey } : {}), item: result.item }));
  }
  return withChosenFolder(target, withSource(request, records));
}

/** Records of a chosen folder name it (folderId / folderPath), so the receiver can tell two mail folders apart. */
function withChosenFolder(target: FolderTarget, records: ChangeRecord[]): ChangeRecord[] {
  if (isWellKnown(target)) return records;
  const chosen = target as ChosenFolder;
  const extra = { ...(chosen.id !== undefined ? { folderId: chosen.id } : {}), ...(chosen.path !== undefined ? { folderPath: chosen.path } : {}) };
  return records.map((record) => ({ ...record, ...extra }));
}

/** Records carry the protocol that read them only when the source names one (Graph). */
function withSource(request: MailboxSyncRequest, records: ChangeRecord[]): ChangeRecord[] {
  const source = request.source.protocol;
  return source === undefined || source === 'ews' ? records : records.map((record) => ({ ...record, source }));
}

/**
 * The first pass of a folder after a protocol switch: items the old protocol already delivered
 * (last changed before `migratedSince`) are skipped; the rest are delivered as ordinary changes.
 */
async function migratedRecords(request: MailboxSyncRequest, folder: SyncedFolder, changes: readonly SourceChange[], stored: VersionedFolderSyncState, totals: Totals, now: () => Date): Promise<ChangeRecord[]> {
  // Exchange reports times to the second (EWS and Graph alike): an item changed in the same second as
  // the last read would look older than it is and be skipped. Rounding down delivers it (at worst twice).
  const since = Math.floor(new Date(stored.migratedSince!).getTime() / 1000) * 1000;
  const toFetch = [...new Set(changes.filter((c) => c.type === 'created' || c.type === 'updated').map((c) => c.itemId))];
  const fetched = new Map((await request.source.getItems(toFetch)).map((result) => [result.itemId, result]));
  const occurredAt = now().toISOString();
  const records: ChangeRecord[] = [];
  for (const change of changes) {
    const result = fetched.get(change.itemId);
    if (change.type === 'deleted' || change.type === 'readFlagChanged' || !result || !result.ok) {
      totals.skipped++;
      continue;
    }
    const item = result.item;
    // For a message its arrival counts; for other items their last change. No date: delivered before, skip.
    const changedAt = Math.max(...[item.lastModifiedAt, item.kind === 'message' || item.kind === 'meetingMessage' ? item.receivedAt : undefined].map((d) => (d ? new Date(d).getTime() : Number.NEGATIVE_INFINITY)));
    const newlyArrived = (item.kind === 'message' || item.kind === 'meetingMessage') && item.receivedAt !== undefined && new Date(item.receivedAt).getTime() >= since;
    if (!(changedAt >= since)) {
      totals.skipped++;
      continue;
    }
    const changeKey = item.changeKey ?? change.changeKey;
    records.push(
      createChangeRecord({
        tenantId: request.tenantId, groupId: request.groupId, mailbox: request.mailbox, folder, itemId: change.itemId, fullResync: false, occurredAt,
        changeType: newlyArrived || (item.createdAt !== undefined && new Date(item.createdAt).getTime() >= since) ? 'created' : 'updated',
        ...(changeKey ? { changeKey } : {}),
        item,
      }),
    );
  }
  return withSource(request, records);
}

/** A short digest of the sync state a page was read after (the empty state for the first page). */
export function sourcePositionOf(syncState: string | undefined): string {
  return createHash('sha256').update(syncState ?? '', 'utf8').digest('hex').slice(0, 32);
}

/** Batch ids are derived from the state the page was read from, so a replayed page yields the same ids. */
async function handOver(
  outbox: DeliveryOutbox,
  request: MailboxSyncRequest,
  target: FolderTarget,
  stateBefore: string | undefined,
  fullResync: boolean,
  records: readonly ChangeRecord[],
  candidates: readonly ContactCandidateRecord[] = [],
): Promise<void> {
  const size = request.recordsPerBatch ?? DEFAULT_RECORDS_PER_BATCH;
  const pageId = createHash('sha256')
    // A Graph page read from no state must not share its batch id with the EWS first page of the same folder (a switched group).
    .update([request.tenantId, request.groupId, request.mailbox.toLowerCase(), folderStateKey(target), String(fullResync), stateBefore ?? '', ...(request.source.protocol === 'graph' ? ['graph'] : [])].join('\n'))
    .digest('hex')
    .slice(0, 32);
  for (let offset = 0, index = 0; offset < records.length; offset += size, index++) {
    const batch = createChangeBatch({ tenantId: request.tenantId, groupId: request.groupId, mailbox: request.mailbox, records: records.slice(offset, offset + size), batchId: `${pageId}-${index}` });
    try {
      await outbox.enqueue(batch);
    } catch (error) {
      throw new OutboxRejectedError(error);
    }
  }
  // Candidates travel in batches of their own (CANDIDATES_PER_BATCH).
  for (let offset = 0, index = 0; offset < candidates.length; offset += CANDIDATES_PER_BATCH, index++) {
    const chunk = candidates.slice(offset, offset + CANDIDATES_PER_BATCH);
    // The same page replayed with the same candidate states gives the same id; changed states a new one.
    const digest = createHash('sha256').update(chunk.map((c) => c.idempotencyKey).join('\n')).digest('hex').slice(0, 12);
    const batch = { ...createChangeBatch({ tenantId: request.tenantId, groupId: request.groupId, mailbox: request.mailbox, records: [], batchId: `${pageId}-c${index}-${digest}` }), contactCandidates: chunk };
    try {
      await outbox.enqueue(batch);
    } catch (error) {
      throw new OutboxRejectedError(error);
    }
  }
}

// Worst case ~1.9 KB per candidate (a 256-character name in 4-byte characters): 20 fit a 64 KiB queue message as base64.
const CANDIDATES_PER_BATCH = 20;
