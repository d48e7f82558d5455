/**
 * SyncFolderItems: replays the folder's change log from the SyncState position, coalescing per
 * item as Exchange does (created then changed => Create; created then deleted => nothing;
 * only read-flag changes => ReadFlagChange), stopping before the change that would exceed
 * MaxChangesReturned so the next call resumes exactly there.
 */
import { itemXml } from '../item-xml';
import type { Folder, Item } from '../model';
import { folderIdElements, resolveFolder } from '../request-context';
import { EwsError, SoapFault, responseMessage } from '../soap';
import { decodeSyncState, encodeSyncState } from '../sync-state';
import { attr, child, childText, children, type Element } from '../xml';
import { asEwsError, readItemShape, type Operation } from './common';

type Coalesced = { kind: 'create' | 'update' | 'delete' | 'readFlag'; isRead?: boolean };

const NAME = 'SyncFolderItemsResponseMessage';

function failure(error: EwsError, state = ''): string {
  return `<m:ResponseMessages>${responseMessage(NAME, `<m:SyncState>${state}</m:SyncState><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>`, error)}</m:ResponseMessages>`;
}

export function readMaxChanges(request: Element): number {
  const raw = childText(request, 'MaxChangesReturned');
  const max = Number(raw);
  // The schema restricts MaxChangesReturned to 1..512: Exchange rejects others in schema validation.
  if (raw === undefined || !Number.isInteger(max) || max < 1 || max > 512) {
    throw new SoapFault('ErrorSchemaValidation', `The request failed schema validation: The 'MaxChangesReturned' element is invalid - The value '${raw ?? ''}' is invalid according to its datatype 'MaxSyncChangesReturnedType'.`);
  }
  return max;
}

export const syncFolderItems: Operation = (ctx, request) => {
  const max = readMaxChanges(request);
  const shape = readItemShape(child(request, 'ItemShape'), 'find');
  const folderElement = folderIdElements(child(request, 'SyncFolderId'))[0];
  const token = childText(request, 'SyncState') ?? '';
  const ignored = new Set(children(child(request, 'Ignore') ?? request, 'ItemId').map((e) => attr(e, 'Id') ?? ''));
  let folder: Folder;
  try {
    if (!folderElement) throw new EwsError('ErrorInvalidRequest', 'SyncFolderId is required.');
    folder = resolveFolder(ctx, folderElement);
  } catch (error) {
    return failure(asEwsError(error));
  }
  let position = 0;
  if (token) {
    const decoded = decodeSyncState(ctx.syncStateKey, token, { kind: 'items', scope: folder.id });
    if (!decoded || decoded.position > folder.changeLog.length) return failure(new EwsError('ErrorInvalidSyncStateData'));
    position = decoded.position;
  }
  const log = folder.changeLog;
  const changes = new Map<string, Coalesced>();
  let end = position;
  for (; end < log.length; end++) {
    const change = log[end]!;
    if (ignored.has(change.itemId)) continue;
    const previous = changes.get(change.itemId);
    if (!previous && changes.size >= max) break;
    if (!previous) {
      changes.set(change.itemId, change.kind === 'readFlag' ? { kind: 'readFlag', isRead: change.isRead! } : { kind: change.kind });
      continue;
    }
    if (change.kind === 'delete') {
      if (previous.kind === 'create') changes.delete(change.itemId);
      else changes.set(change.itemId, { kind: 'delete' });
    } else if (change.kind === 'create') {
      changes.set(change.itemId, { kind: 'create' });
    } else if (change.kind === 'update') {
      if (previous.kind !== 'create') changes.set(change.itemId, { kind: 'update' });
    } else if (previous.kind === 'readFlag') {
      previous.isRead = change.isRead!;
    }
  }
  let out = '';
  for (const [itemId, change] of changes) {
    if (change.kind === 'delete') {
      out += `<t:Delete><t:ItemId Id="${itemId}"/></t:Delete>`;
      continue;
    }
    const item: Item | undefined = ctx.store.getItem(itemId);
    // Gone since (moved/deleted later in the log beyond this page): the Delete comes on a later page.
    if (!item || item.folderId !== folder.id) continue;
    if (change.kind === 'readFlag') {
      out += `<t:ReadFlagChange><t:ItemId Id="${itemId}"/><t:IsRead>${change.isRead}</t:IsRead></t:ReadFlagChange>`;
      continue;
    }
    const tag = change.kind === 'create' ? 'Create' : 'Update';
    out += `<t:${tag}>${itemXml(item, shape, ctx.store)}</t:${tag}>`;
  }
  const state = encodeSyncState(ctx.syncStateKey, { kind: 'items', scope: folder.id, position: end });
  const last = end >= log.length;
  return `<m:ResponseMessages>${responseMessage(NAME, `<m:SyncState>${state}</m:SyncState><m:IncludesLastItemInRange>${last}</m:IncludesLastItemInRange><m:Changes>${out}</m:Changes>`)}</m:ResponseMessages>`;
};
