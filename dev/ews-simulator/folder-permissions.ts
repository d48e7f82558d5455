/**
 * Folder permissions and delegate access in the simulated organisation: who may read (or change)
 * which folder of someone else's mailbox, beyond FullAccess. Exchange keeps a DACL per folder; a
 * delegate's levels are the same kind of entries on the well-known folders. Both protocols ask here
 * (the EWS request context and the Graph simulator's authorisation).
 */
import type { DistinguishedFolderName, Folder, Mailbox, PermissionLevel } from './model';

/** Levels that may read items (Contributor may only create, None nothing). */
const READ_LEVELS: ReadonlySet<PermissionLevel> = new Set(['Owner', 'PublishingEditor', 'Editor', 'PublishingAuthor', 'Author', 'NoneditingAuthor', 'Reviewer']);
/** Levels that may change and delete any item. */
const WRITE_LEVELS: ReadonlySet<PermissionLevel> = new Set(['Owner', 'PublishingEditor', 'Editor']);

const DELEGATE_FOLDERS: Partial<Record<DistinguishedFolderName, 'calendar' | 'tasks' | 'inbox' | 'contacts'>> = { calendar: 'calendar', tasks: 'tasks', inbox: 'inbox', contacts: 'contacts' };

/** The level `principals` hold on `folder`: its own DACL entry, else the delegate level for a well-known folder, else None. */
export function folderLevel(mailbox: Mailbox, folder: Folder, principals: ReadonlySet<string>): PermissionLevel {
  const entry = folder.permissions?.find((permission) => principals.has(permission.user));
  if (entry) return entry.level;
  const delegateFolder = folder.distinguishedName ? DELEGATE_FOLDERS[folder.distinguishedName] : undefined;
  if (delegateFolder) {
    const delegate = mailbox.delegates?.find((grant) => principals.has(grant.user));
    const level = delegate?.[delegateFolder];
    if (level) return level;
  }
  return 'None';
}

export function canReadFolder(mailbox: Mailbox, folder: Folder, principals: ReadonlySet<string>): boolean {
  return READ_LEVELS.has(folderLevel(mailbox, folder, principals));
}

export function canWriteFolder(mailbox: Mailbox, folder: Folder, principals: ReadonlySet<string>): boolean {
  return WRITE_LEVELS.has(folderLevel(mailbox, folder, principals));
}

/** Whether `principals` hold any folder right or delegate access in the mailbox (they may then open it, folder by folder). */
export function holdsAnyFolderRight(mailbox: Mailbox, principals: ReadonlySet<string>): boolean {
  if (mailbox.delegates?.some((grant) => principals.has(grant.user))) return true;
  for (const folder of mailbox.folders.values()) {
    if (folder.permissions?.some((permission) => principals.has(permission.user) && permission.level !== 'None')) return true;
  }
  return false;
}

/** The root folders a folder-level grantee may name (to find the shared folders below them), never read. */
export function isRootFolder(folder: Folder): boolean {
  return folder.distinguishedName === 'root' || folder.distinguishedName === 'msgfolderroot';
}
