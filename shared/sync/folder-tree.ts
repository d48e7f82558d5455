/**
 * A mailbox's folder tree, as an administrator chooses folders from it (GET .../mailboxes/{m}/folders)
 * and as the sync resolves a folder chosen by path. One lister per protocol, both paged with async
 * iterators underneath: EWS FindFolder (Deep) from the top of the information store, Graph
 * mailFolders with their childFolders plus contactFolders and To Do lists.
 *
 * A path is the display names from the top of the mailbox joined by '/', e.g. "Inbox/Projects".
 * Exchange allows '/' inside a folder name; such a folder is chosen by id instead.
 */
import type * as Graph from '@microsoft/microsoft-graph-types';
import { findFolders } from '../ews';
import type { MailboxClient } from '../ews';
import type { GraphMailbox } from '../graph/graph-client';
import type { SyncedFolder } from '../delivery/change-batch';
import { MailboxSourceError } from './mailbox-source';

export interface FolderNode {
  /** The protocol's folder id (EWS FolderId, or Graph's id). */
  readonly id: string;
  readonly parentId?: string | undefined;
  readonly displayName: string;
  /** Display names from the top of the mailbox, '/'-separated. */
  readonly path: string;
  /** The item kind the folder holds (by its folder class); absent for folders of other kinds (notes, journal). */
  readonly kind?: SyncedFolder | undefined;
  readonly folderClass?: string | undefined;
  readonly childFolderCount?: number | undefined;
}

/** The admin API's item kind of a synced folder (records say inbox, the API says mail). */
export const KIND_OF_SYNCED_FOLDER = { inbox: 'mail', calendar: 'calendar', contacts: 'contacts', tasks: 'tasks' } as const;

/** At most this many folders are listed (a tree larger than this is cut, and says so). */
export const MAX_FOLDERS_LISTED = 5_000;

export function kindOfFolderClass(folderClass: string | undefined): SyncedFolder | undefined {
  const value = folderClass ?? '';
  if (value === '' || value === 'IPF' || value.startsWith('IPF.Note')) return 'inbox';
  if (value.startsWith('IPF.Appointment')) return 'calendar';
  if (value.startsWith('IPF.Contact')) return 'contacts';
  if (value.startsWith('IPF.Task')) return 'tasks';
  return undefined;
}

/** Case-insensitive path comparison, as Exchange compares folder names. */
export function samePath(a: string, b: string): boolean {
  return a.localeCompare(b, undefined, { sensitivity: 'accent' }) === 0;
}

/** Paths of folders listed flat with their parent ids (FindFolder Deep does not promise parents first). */
function withPaths(flat: readonly Omit<FolderNode, 'path'>[], rootId: string | undefined): FolderNode[] {
  const byId = new Map(flat.map((folder) => [folder.id, folder]));
  const paths = new Map<string, string>();
  const pathOf = (folder: Omit<FolderNode, 'path'>, depth: number): string => {
    const known = paths.get(folder.id);
    if (known !== undefined) return known;
    const parent = folder.parentId && folder.parentId !== rootId ? byId.get(folder.parentId) : undefined;
    const path = parent && depth < 64 ? `${pathOf(parent, depth + 1)}/${folder.displayName}` : folder.displayName;
    paths.set(folder.id, path);
    return path;
  };
  return flat.map((folder) => ({ ...folder, path: pathOf(folder, 0) }));
}

/** EWS: FindFolder Deep under msgfolderroot (one request per page of 100). */
export async function ewsFolderTree(client: MailboxClient): Promise<{ folders: FolderNode[]; truncated: boolean }> {
  const flat: Omit<FolderNode, 'path'>[] = [];
  let truncated = false;
  const roots = new Set<string>();
  for await (const folder of findFolders(client, { distinguished: 'msgfolderroot' }, { traversal: 'deep', pageSize: 100 })) {
    if (flat.length >= MAX_FOLDERS_LISTED) {
      truncated = true;
      break;
    }
    flat.push({ id: folder.id, parentId: folder.parentFolderId, displayName: folder.displayName ?? '', kind: kindOfFolderClass(folder.folderClass), folderClass: folder.folderClass, childFolderCount: folder.childFolderCount });
  }
  // The root's id is the parent no listed folder has as its own id.
  const ids = new Set(flat.map((folder) => folder.id));
  for (const folder of flat) if (folder.parentId && !ids.has(folder.parentId)) roots.add(folder.parentId);
  return { folders: withPaths(flat, roots.size === 1 ? [...roots][0] : undefined), truncated };
}

interface GraphFolderEntity {
  readonly id?: string;
  readonly displayName?: string;
  readonly parentFolderId?: string;
  readonly childFolderCount?: number;
}

/** Graph: mailFolders and their childFolders (breadth first), contact folders and To Do lists. */
export async function graphFolderTree(client: GraphMailbox): Promise<{ folders: FolderNode[]; truncated: boolean }> {
  const user = client.userPath;
  const folders: FolderNode[] = [];
  let truncated = false;
  const add = (node: FolderNode): boolean => {
    if (folders.length >= MAX_FOLDERS_LISTED) {
      truncated = true;
      return false;
    }
    folders.push(node);
    return true;
  };
  const queue: { readonly listPath: string; readonly parentPath: string | undefined; readonly parentId: string | undefined }[] = [
    { listPath: `${user}/mailFolders?$top=100&$select=id,displayName,parentFolderId,childFolderCount`, parentPath: undefined, parentId: undefined },
  ];
  while (queue.length > 0 && !truncated) {
    const next = queue.shift()!;
    for await (const page of client.pages<GraphFolderEntity>(next.listPath)) {
      for (const folder of page.value) {
        if (!folder.id) continue;
        const path = next.parentPath === undefined ? (folder.displayName ?? '') : `${next.parentPath}/${folder.displayName ?? ''}`;
        if (!add({ id: folder.id, parentId: next.parentId, displayName: folder.displayName ?? '', path, kind: 'inbox', childFolderCount: folder.childFolderCount })) break;
        if ((folder.childFolderCount ?? 0) > 0) {
          queue.push({ listPath: `${user}/mailFolders/${encodeURIComponent(folder.id)}/childFolders?$top=100&$select=id,displayName,parentFolderId,childFolderCount`, parentPath: path, parentId: folder.id });
        }
      }
      if (truncated) break;
    }
  }
  if (!truncated) {
    // Graph lists contact folders flat; they live under the default Contacts folder (as EWS paths show them).
    const contactFolders: Graph.ContactFolder[] = [];
    for await (const page of client.pages<Graph.ContactFolder>(`${user}/contactFolders?$top=100`)) contactFolders.push(...page.value.filter((folder) => folder.id));
    const byId = new Map(contactFolders.map((folder) => [folder.id!, folder]));
    const contactPath = (folder: Graph.ContactFolder, depth: number): string => {
      const parent = folder.parentFolderId ? byId.get(folder.parentFolderId) : undefined;
      if (parent && depth < 64) return `${contactPath(parent, depth + 1)}/${folder.displayName ?? ''}`;
      return folder.displayName === 'Contacts' ? 'Contacts' : `Contacts/${folder.displayName ?? ''}`;
    };
    for (const folder of contactFolders) add({ id: folder.id!, parentId: folder.parentFolderId ?? undefined, displayName: folder.displayName ?? '', path: contactPath(folder, 0), kind: 'contacts' });
    for await (const page of client.pages<Graph.TodoTaskList>(`${user}/todo/lists`)) {
      for (const list of page.value) if (list.id) add({ id: list.id, displayName: list.displayName ?? '', path: `Tasks/${list.displayName ?? ''}`, kind: 'tasks' });
    }
  }
  return { folders, truncated };
}

/** The folder at `path` of the given kind; FolderNotFound names the path when there is none. */
export function folderAtPath(tree: readonly FolderNode[], path: string, kind: SyncedFolder): FolderNode {
  const found = tree.find((folder) => samePath(folder.path, path) && (folder.kind === undefined || folder.kind === kind));
  if (!found) throw new MailboxSourceError('FolderNotFound', `No ${kind} folder "${path}" in the mailbox (or no right to see it).`, { sourceCode: 'ErrorFolderNotFound' });
  return found;
}
