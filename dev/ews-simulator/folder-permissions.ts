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

interface LevelFlags {
  readonly createItems: boolean;
  readonly createSubFolders: boolean;
  readonly owner: boolean;
  readonly visible: boolean;
  readonly contact: boolean;
  readonly edit: 'None' | 'Owned' | 'All';
  readonly delete: 'None' | 'Owned' | 'All';
  readonly read: boolean;
}

/** What each level grants (Exchange's role definitions). */
const FLAGS: Readonly<Record<PermissionLevel, LevelFlags>> = {
  Owner: { createItems: true, createSubFolders: true, owner: true, visible: true, contact: true, edit: 'All', delete: 'All', read: true },
  PublishingEditor: { createItems: true, createSubFolders: true, owner: false, visible: true, contact: false, edit: 'All', delete: 'All', read: true },
  Editor: { createItems: true, createSubFolders: false, owner: false, visible: true, contact: false, edit: 'All', delete: 'All', read: true },
  PublishingAuthor: { createItems: true, createSubFolders: true, owner: false, visible: true, contact: false, edit: 'Owned', delete: 'Owned', read: true },
  Author: { createItems: true, createSubFolders: false, owner: false, visible: true, contact: false, edit: 'Owned', delete: 'Owned', read: true },
  NoneditingAuthor: { createItems: true, createSubFolders: false, owner: false, visible: true, contact: false, edit: 'None', delete: 'Owned', read: true },
  Reviewer: { createItems: false, createSubFolders: false, owner: false, visible: true, contact: false, edit: 'None', delete: 'None', read: true },
  Contributor: { createItems: true, createSubFolders: false, owner: false, visible: true, contact: false, edit: 'None', delete: 'None', read: false },
  None: { createItems: false, createSubFolders: false, owner: false, visible: false, contact: false, edit: 'None', delete: 'None', read: false },
};

function permissionXml(userId: string, level: PermissionLevel, calendar: boolean): string {
  const flags = FLAGS[level];
  const tag = calendar ? 'CalendarPermission' : 'Permission';
  return (
    `<t:${tag}><t:UserId>${userId}</t:UserId>` +
    `<t:CanCreateItems>${flags.createItems}</t:CanCreateItems><t:CanCreateSubFolders>${flags.createSubFolders}</t:CanCreateSubFolders>` +
    `<t:IsFolderOwner>${flags.owner}</t:IsFolderOwner><t:IsFolderVisible>${flags.visible}</t:IsFolderVisible><t:IsFolderContact>${flags.contact}</t:IsFolderContact>` +
    `<t:EditItems>${flags.edit}</t:EditItems><t:DeleteItems>${flags.delete}</t:DeleteItems>` +
    `<t:ReadItems>${flags.read ? 'FullDetails' : 'None'}</t:ReadItems>` +
    `<t:${calendar ? 'CalendarPermissionLevel' : 'PermissionLevel'}>${level}</t:${calendar ? 'CalendarPermissionLevel' : 'PermissionLevel'}>` +
    `</t:${tag}>`
  );
}

/**
 * A folder's PermissionSet as GetFolder returns it (folder:PermissionSet): Default and Anonymous
 * first, as Exchange lists them, then one entry per user; a calendar folder uses the calendar variant.
 */
export function permissionSetXml(folder: Folder, escape: (value: string) => string): string {
  const calendar = folder.folderClass.startsWith('IPF.Appointment');
  const entries = [
    permissionXml('<t:DistinguishedUser>Default</t:DistinguishedUser>', 'None', calendar),
    permissionXml('<t:DistinguishedUser>Anonymous</t:DistinguishedUser>', 'None', calendar),
    ...(folder.permissions ?? []).map((permission) => permissionXml(`<t:PrimarySmtpAddress>${escape(permission.user)}</t:PrimarySmtpAddress>`, permission.level, calendar)),
  ].join('');
  return calendar ? `<t:PermissionSet><t:CalendarPermissions>${entries}</t:CalendarPermissions></t:PermissionSet>` : `<t:PermissionSet><t:Permissions>${entries}</t:Permissions></t:PermissionSet>`;
}
