/**
 * The engine when a group switches protocol, with in-memory state and scripted sources: the new
 * protocol starts its own state without re-delivering what the old one delivered (items last
 * changed before the old protocol's last read), in both directions (EWS → Graph and back), the
 * records are not flagged as a full resync, the migration survives a continuation, and Graph
 * records name their source.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChangeBatch, ChangeItem, ChangeRecord, SyncedFolder } from '../../shared/delivery/change-batch';
import type { FolderSyncKey, FolderSyncState, SyncStateVersion, VersionedFolderSyncState } from '../../shared/storage/sync-state-repository';
import { GRAPH_STATE_PREFIX } from '../../shared/sync/mailbox-source';
import type { ChangePage, FetchedItem, MailboxSource } from '../../shared/sync/mailbox-source';
import { syncMailbox } from '../../shared/sync/sync-engine';
import type { SyncStateStore } from '../../shared/sync/sync-engine';

class MemoryStates implements SyncStateStore {
  readonly rows = new Map<string, FolderSyncState & { version: number }>();
  async read(key: FolderSyncKey): Promise<VersionedFolderSyncState> {
    const row = this.rows.get(key.folder);
    return row ? { ...row, version: { etag: String(row.version), overflowRows: 0 } } : { syncState: undefined, phase: 'initial', fullResync: false, updatedAt: undefined, version: undefined };
  }
  async save(key: FolderSyncKey, next: FolderSyncState, previous: SyncStateVersion | undefined): Promise<SyncStateVersion> {
    const version = (previous ? Number(previous.etag) : 0) + 1;
    this.rows.set(key.folder, { ...next, version });
    return { etag: String(version), overflowRows: 0 };
  }
}

function message(id: string, receivedAt: string): ChangeItem {
  return {
    kind: 'message', id, changeKey: `ck-${id}`, parentFolderId: undefined, itemClass: 'IPM.Note', subject: `Subject ${id}`, categories: [], importance: 'normal',
    createdAt: receivedAt, lastModifiedAt: receivedAt, bodyText: '', bodyHtml: undefined, hasAttachments: false, attachments: [],
    from: undefined, sender: undefined, to: [], cc: [], bcc: [], receivedAt, sentAt: receivedAt, isRead: false, internetMessageId: undefined, conversationId: undefined,
  };
}

/** A source listing every item of the mailbox as created, in pages of `pageSize`. */
function scriptedSource(protocol: 'ews' | 'graph', items: readonly ChangeItem[], pageSize = 100): MailboxSource & { listedFrom: (string | undefined)[] } {
  const prefix = protocol === 'graph' ? GRAPH_STATE_PREFIX : 'ews-';
  const listedFrom: (string | undefined)[] = [];
  return {
    listedFrom,
    ...(protocol === 'graph' ? { protocol } : {}),
    ownsSyncState: (state) => state.startsWith(prefix),
    async listChanges(_folder: SyncedFolder, syncState: string | undefined): Promise<ChangePage> {
      listedFrom.push(syncState);
      if (syncState !== undefined && !syncState.startsWith(prefix)) throw new Error('a foreign state reached the source');
      const offset = syncState === undefined ? 0 : Number(syncState.slice(prefix.length));
      const page = items.slice(offset, offset + pageSize);
      return { syncState: `${prefix}${offset + page.length}`, includesLastItemInRange: offset + page.length >= items.length, changes: page.map((item) => ({ type: 'created', itemId: item.id, changeKey: item.changeKey })) };
    },
    async getItems(ids): Promise<FetchedItem[]> {
      return ids.map((id) => ({ ok: true, itemId: id, item: items.find((item) => item.id === id)! }));
    },
  };
}

function run(states: MemoryStates, source: MailboxSource, at: string, outbox: ChangeRecord[], deadlineInMs = Number.MAX_SAFE_INTEGER) {
  return syncMailbox(
    { states, outbox: { enqueue: async (batch: ChangeBatch) => (outbox.push(...batch.records), { batchId: batch.batchId, claimCheck: false }) }, now: () => new Date(at) },
    { tenantId: 't', groupId: 'g', mailbox: 'alice@contoso.com', folders: ['inbox'], initialSync: { kind: 'all' }, source, deadlineInMs },
  );
}

describe('switching protocol', () => {
  test('EWS → Graph: only what arrived after the last EWS read is delivered, not flagged, with source graph; and back', async () => {
    const states = new MemoryStates();
    const old = [message('old-1', '2026-01-01T00:00:00Z'), message('old-2', '2026-01-02T00:00:00Z')];
    const delivered: ChangeRecord[] = [];
    await run(states, scriptedSource('ews', old), '2026-02-01T00:00:00Z', delivered);
    assert.deepEqual(delivered.map((r) => r.itemId), ['old-1', 'old-2']);
    assert.equal(delivered[0]!.source, undefined);

    // The same mailbox seen through Graph (other ids), plus one message that arrived after the switch.
    const graphItems = [message('g-old-1', '2026-01-01T00:00:00Z'), message('g-old-2', '2026-01-02T00:00:00Z'), message('g-new', '2026-02-02T00:00:00Z')];
    const afterSwitch: ChangeRecord[] = [];
    const graph = scriptedSource('graph', graphItems, 2);
    // A deadline in the past: one page per run, so the migration has to survive a continuation.
    const first = await run(states, graph, '2026-02-03T00:00:00Z', afterSwitch, 0);
    assert.equal(first.complete, false);
    assert.equal(graph.listedFrom[0], undefined, 'the EWS state never reached the Graph source');
    assert.ok(states.rows.get('inbox')?.migratedSince, 'the migration is remembered between runs');
    const second = await run(states, graph, '2026-02-03T00:01:00Z', afterSwitch);
    assert.equal(second.complete, true);
    assert.deepEqual(afterSwitch.map((r) => [r.itemId, r.changeType, r.fullResync, r.source]), [['g-new', 'created', false, 'graph']]);
    assert.equal(states.rows.get('inbox')?.phase, 'incremental');
    assert.equal(states.rows.get('inbox')?.migratedSince, undefined, 'cleared once the pass reached the end');

    // And back to EWS: nothing delivered again, one new message is.
    const backAgain: ChangeRecord[] = [];
    await run(states, scriptedSource('ews', [...old, message('new-after-return', '2026-03-01T00:00:00Z')]), '2026-03-02T00:00:00Z', backAgain);
    assert.deepEqual(backAgain.map((r) => [r.itemId, r.fullResync, r.source]), [['new-after-return', false, undefined]]);
  });
});
