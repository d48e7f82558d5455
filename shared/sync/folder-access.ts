/**
 * Folder trees and folder rights of one mailbox entry, through the sync's own access path
 * (openMailboxSource: the group's credential, or the linked delegated user's own token). The admin
 * API lists a mailbox's folders with it and the connection test asks, per folder, whether the right
 * to read it is there: a right that passes here is the right the sync uses.
 */
import { KIND_OF_SYNCED_FOLDER as KIND_OF_FOLDER } from './folder-tree';
import type { GroupRecord, MailboxRecord } from '../storage/records';
import { describeTarget, isWellKnown, MailboxSourceError } from './mailbox-source';
import type { FolderTarget, FolderTree, MailboxSource } from './mailbox-source';
import { folderTargetsFor } from './sync-worker';
import type { DelegatedUserLinks } from './sync-worker';

export type FolderAccess = 'granted' | 'denied' | 'notFound' | 'error';

export interface FolderRight {
  readonly mailbox: string;
  /** What the mailbox entry chose: the kind, and the id or path of a chosen folder. */
  readonly kind: 'mail' | 'calendar' | 'contacts' | 'tasks';
  readonly id?: string;
  readonly path?: string;
  readonly access: FolderAccess;
  /** Exchange's or Graph's own code when the right is not there (e.g. ErrorAccessDenied). */
  readonly code?: string;
  readonly message: string;
}

export interface MailboxFolderAccess {
  listFolders(group: GroupRecord, mailbox: MailboxRecord): Promise<FolderTree>;
  /** One entry per folder the mailbox syncs (its own choice, else the user's or the group's). */
  checkFolders(group: GroupRecord, mailbox: MailboxRecord): Promise<FolderRight[]>;
}


function accessOf(error: MailboxSourceError, target?: FolderTarget): FolderAccess {
  if (error.code === 'AccessDenied') return 'denied';
  // Exchange answers ErrorFolderNotFound for a folder one has no right on; a well-known folder always exists, so that is a denied right.
  if (error.code === 'FolderNotFound' && target !== undefined && isWellKnown(target)) return 'denied';
  if (error.code === 'FolderNotFound' || error.code === 'MailboxNotFound') return 'notFound';
  return 'error';
}

function rightOf(mailbox: string, target: FolderTarget, access: FolderAccess, message: string, code?: string): FolderRight {
  const chosen = typeof target === 'string' ? { folder: target } : target;
  return {
    mailbox,
    kind: KIND_OF_FOLDER[chosen.folder],
    ...('id' in chosen && chosen.id !== undefined ? { id: chosen.id } : {}),
    ...('path' in chosen && chosen.path !== undefined ? { path: chosen.path } : {}),
    access,
    ...(code ? { code } : {}),
    message,
  };
}

function toSourceError(error: unknown): MailboxSourceError {
  return error instanceof MailboxSourceError ? error : new MailboxSourceError('Unknown', error instanceof Error ? error.message : String(error), { cause: error });
}

export function createMailboxFolderAccess(openSource: (group: GroupRecord, mailbox: MailboxRecord) => Promise<MailboxSource>, users?: DelegatedUserLinks): MailboxFolderAccess {
  return {
    async listFolders(group, mailbox) {
      const source = await openSource(group, mailbox).catch((error: unknown) => Promise.reject(toSourceError(error)));
      if (!source.listFolders) throw new MailboxSourceError('Configuration', 'This protocol cannot list folders.');
      return source.listFolders();
    },
    async checkFolders(group, mailbox) {
      const targets = await folderTargetsFor(group, mailbox, users);
      let source: MailboxSource;
      try {
        source = await openSource(group, mailbox);
      } catch (error) {
        const failure = toSourceError(error);
        return targets.map((target) => rightOf(mailbox.smtpAddress, target, accessOf(failure), failure.message, failure.sourceCode ?? failure.code));
      }
      const rights: FolderRight[] = [];
      for (const target of targets) {
        try {
          // The sync's own first read, one change long: exactly the right the sync needs, nothing more is fetched.
          await source.listChanges(target, undefined, 1);
          rights.push(rightOf(mailbox.smtpAddress, target, 'granted', `Can read the ${describeTarget(target)} of ${mailbox.smtpAddress}.`));
        } catch (error) {
          const failure = toSourceError(error);
          const access = accessOf(failure, target);
          const what = `the ${describeTarget(target)} of ${mailbox.smtpAddress}`;
          const message =
            access === 'denied'
              ? `No right to read ${what} (${failure.sourceCode ?? failure.code}): grant FullAccess, delegate access or a folder permission (Reviewer or more) to the account the group uses.`
              : access === 'notFound'
                ? `Not found, or no right to see it: ${what} (${failure.sourceCode ?? failure.code}). Check the folder's path or id (GET .../folders) and the folder permissions.`
                : `Could not check ${what}: ${failure.message}`;
          rights.push(rightOf(mailbox.smtpAddress, target, access, message, failure.sourceCode ?? failure.code));
        }
      }
      return rights;
    },
  };
}
