/** GetFolder, FindFolder, CreateFolder, SyncFolderHierarchy. */
import { folderIdXml, folderXml } from '../item-xml';
import type { Folder } from '../model';
import { canReadFolderOf, folderIdElements, resolveFolder, type RequestContext } from '../request-context';
import { EwsError, SoapFault } from '../soap';
import { decodeSyncState, encodeSyncState } from '../sync-state';
import { attr, child, childText, children } from '../xml';
import { asEwsError, folderCounts, readFolderShape, responseMessages, type Operation } from './common';
import { optionalRestriction, unsupportedPath, type PathResolver, type Value } from './restrictions';
import { comparable, constantFor, folderProperty, pathXml, readExtendedPath, type FolderFacts } from '../extended-properties';
import { responseMessage } from '../soap';

export const getFolder: Operation = (ctx, request) => {
  const shape = readFolderShape(child(request, 'FolderShape'));
  const ids = folderIdElements(child(request, 'FolderIds'));
  return responseMessages('GetFolderResponseMessage', ids, (id) => {
    const folder = resolveFolder(ctx, id);
    return `<m:Folders>${folderXml(folder, shape, folderCounts(ctx.store, folder), ctx.store)}</m:Folders>`;
  });
};

function descendants(ctx: RequestContext, folder: Folder, deep: boolean): Folder[] {
  const result: Folder[] = [];
  for (const c of ctx.store.childFolders(folder)) {
    result.push(c);
    if (deep) result.push(...descendants(ctx, c, true));
  }
  return result;
}

const FOLDER_FIELDS: Record<string, { get: (folder: Folder, counts: () => FolderFacts) => Value; numeric?: boolean }> = {
  'folder:DisplayName': { get: (f) => f.displayName },
  'folder:FolderClass': { get: (f) => f.folderClass || undefined },
  'folder:TotalCount': { get: (_f, counts) => counts().total, numeric: true },
  'folder:ChildFolderCount': { get: (_f, counts) => counts().children, numeric: true },
  'folder:UnreadCount': { get: (_f, counts) => counts().unread, numeric: true },
};

/** Folder properties by FieldURI or by MAPI tag (e.g. PR_CONTAINER_CLASS to list mail folders only). */
function folderPaths(ctx: RequestContext): PathResolver<Folder> {
  const countsOf = (folder: Folder) => () => folderCounts(ctx.store, folder);
  return (path, purpose) => {
    if (path.localName === 'ExtendedFieldURI') {
      const extended = readExtendedPath(path);
      return { get: (folder) => comparable(folderProperty(folder, countsOf(folder)(), extended, ctx.store), extended.type), constant: (raw) => constantFor(extended.type, raw) };
    }
    const field = FOLDER_FIELDS[attr(path, 'FieldURI') ?? ''];
    if (!field) throw unsupportedPath(pathXml(path), purpose);
    return { get: (folder) => field.get(folder, countsOf(folder)), constant: (raw) => (field.numeric ? constantFor('Integer', raw) : raw) };
  };
}

export const findFolder: Operation = (ctx, request) => {
  const shape = readFolderShape(child(request, 'FolderShape'));
  const restriction = optionalRestriction(child(request, 'Restriction'), folderPaths(ctx));
  const deep = attr(request, 'Traversal') === 'Deep';
  if (attr(request, 'Traversal') === 'SoftDeleted') throw new SoapFault('ErrorInvalidRequest', 'SoftDeleted traversal is not supported by the simulator.');
  const view = child(request, 'IndexedPageFolderView');
  const max = view && attr(view, 'MaxEntriesReturned') !== undefined ? Number(attr(view, 'MaxEntriesReturned')) : Number.POSITIVE_INFINITY;
  const offset = view ? Number(attr(view, 'Offset') ?? '0') : 0;
  const fromEnd = view ? attr(view, 'BasePoint') === 'End' : false;
  const parents = folderIdElements(child(request, 'ParentFolderIds'));
  return responseMessages('FindFolderResponseMessage', parents, (id) => {
    const parent = resolveFolder(ctx, id);
    // Folders one has no right to read are not listed (a delegate sees only the folders shared with them).
    const all = descendants(ctx, parent, deep).filter((f) => (!f.hidden || parent.hidden) && canReadFolderOf(ctx, f) && (!restriction || restriction(f)));
    const start = fromEnd ? Math.max(0, all.length - offset - (Number.isFinite(max) ? max : all.length)) : offset;
    const page = all.slice(start, Number.isFinite(max) ? start + max : undefined);
    const last = start + page.length >= all.length;
    const next = start + page.length;
    return (
      `<m:RootFolder IndexedPagingOffset="${next}" TotalItemsInView="${all.length}" IncludesLastItemInRange="${last}"><t:Folders>` +
      page.map((f) => folderXml(f, shape, folderCounts(ctx.store, f), ctx.store)).join('') +
      '</t:Folders></m:RootFolder>'
    );
  });
};

export const createFolder: Operation = (ctx, request) => {
  const parentElement = folderIdElements(child(request, 'ParentFolderId'))[0];
  const folders = children(child(request, 'Folders') ?? request);
  return responseMessages('CreateFolderResponseMessage', folders, (element) => {
    if (!parentElement) throw new EwsError('ErrorInvalidRequest', 'ParentFolderId is required.');
    const parent = resolveFolder(ctx, parentElement);
    const name = childText(element, 'DisplayName');
    if (!name) throw new EwsError('ErrorInvalidRequest', 'DisplayName is required.');
    const defaultClass = element.localName === 'CalendarFolder' ? 'IPF.Appointment' : element.localName === 'ContactsFolder' ? 'IPF.Contact' : element.localName === 'TasksFolder' ? 'IPF.Task' : 'IPF.Note';
    const folder = ctx.store.createFolder(parent.mailbox, parent.id, name, childText(element, 'FolderClass') ?? defaultClass);
    const tag = element.localName === 'SearchFolder' ? 'Folder' : (element.localName ?? 'Folder');
    return `<m:Folders><t:${tag}>${folderIdXml(folder)}</t:${tag}></m:Folders>`;
  });
};

/** Folders inside `root`'s subtree (excluding root). */
function inSubtree(ctx: RequestContext, root: Folder, folder: Folder): boolean {
  let current: Folder | undefined = folder;
  while (current?.parentId) {
    if (current.parentId === root.id) return true;
    current = ctx.store.findFolderById(current.parentId);
  }
  return false;
}

export const syncFolderHierarchy: Operation = (ctx, request) => {
  const shape = readFolderShape(child(request, 'FolderShape'));
  const rootElement = folderIdElements(child(request, 'SyncFolderId'))[0];
  const token = childText(request, 'SyncState') ?? '';
  const name = 'SyncFolderHierarchyResponseMessage';
  let root: Folder;
  try {
    root = rootElement ? resolveFolder(ctx, rootElement) : ctx.store.getFolder(requireActing(ctx), { distinguished: 'msgfolderroot' });
  } catch (error) {
    return `<m:ResponseMessages>${responseMessage(name, '<m:SyncState></m:SyncState><m:IncludesLastFolderInRange>true</m:IncludesLastFolderInRange>', asEwsError(error))}</m:ResponseMessages>`;
  }
  const mailbox = ctx.store.getMailbox(root.mailbox)!;
  const scope = `${mailbox.smtpAddress}|${root.id}`;
  let position = 0;
  if (token) {
    const decoded = decodeSyncState(ctx.syncStateKey, token, { kind: 'hierarchy', scope });
    if (!decoded || decoded.position > mailbox.hierarchyLog.length) {
      return `<m:ResponseMessages>${responseMessage(name, '<m:SyncState></m:SyncState><m:IncludesLastFolderInRange>true</m:IncludesLastFolderInRange>', new EwsError('ErrorInvalidSyncStateData'))}</m:ResponseMessages>`;
    }
    position = decoded.position;
  }
  const changes = new Map<string, 'create' | 'update' | 'delete'>();
  for (let i = position; i < mailbox.hierarchyLog.length; i++) {
    const change = mailbox.hierarchyLog[i]!;
    const previous = changes.get(change.folderId);
    if (change.kind === 'delete') {
      if (previous === 'create') changes.delete(change.folderId);
      else changes.set(change.folderId, 'delete');
    } else if (previous !== 'create') {
      changes.set(change.folderId, change.kind);
    }
  }
  let out = '';
  for (const [folderId, kind] of changes) {
    if (kind === 'delete') {
      out += `<t:Delete><t:FolderId Id="${folderId}"/></t:Delete>`;
      continue;
    }
    const folder = ctx.store.findFolderById(folderId);
    if (!folder || !inSubtree(ctx, root, folder) || (folder.hidden && !root.hidden)) continue;
    const tag = kind === 'create' ? 'Create' : 'Update';
    out += `<t:${tag}>${folderXml(folder, shape, folderCounts(ctx.store, folder), ctx.store)}</t:${tag}>`;
  }
  const state = encodeSyncState(ctx.syncStateKey, { kind: 'hierarchy', scope, position: mailbox.hierarchyLog.length });
  return `<m:ResponseMessages>${responseMessage(name, `<m:SyncState>${state}</m:SyncState><m:IncludesLastFolderInRange>true</m:IncludesLastFolderInRange><m:Changes>${out}</m:Changes>`)}</m:ResponseMessages>`;
};

function requireActing(ctx: RequestContext): string {
  if (!ctx.actingAs) throw new EwsError('ErrorMissingEmailAddress');
  return ctx.actingAs.smtpAddress;
}
