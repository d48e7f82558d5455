import { FolderId, Mailbox, WellKnownFolderName } from 'ews-javascript-api';
import { EwsConfigurationError } from '../errors';
import type { MailboxClient } from '../mailbox-client';
import type { DistinguishedFolderName, FolderRef } from '../types';

const WELL_KNOWN: Readonly<Record<DistinguishedFolderName, WellKnownFolderName>> = {
  root: WellKnownFolderName.Root,
  msgfolderroot: WellKnownFolderName.MsgFolderRoot,
  inbox: WellKnownFolderName.Inbox,
  sentitems: WellKnownFolderName.SentItems,
  deleteditems: WellKnownFolderName.DeletedItems,
  drafts: WellKnownFolderName.Drafts,
  outbox: WellKnownFolderName.Outbox,
  junkemail: WellKnownFolderName.JunkEmail,
  calendar: WellKnownFolderName.Calendar,
  contacts: WellKnownFolderName.Contacts,
  tasks: WellKnownFolderName.Tasks,
  notes: WellKnownFolderName.Notes,
  journal: WellKnownFolderName.Journal,
  archivemsgfolderroot: WellKnownFolderName.ArchiveMsgFolderRoot,
};

/**
 * The EWS FolderId for a folder reference. Distinguished folders always name the client's mailbox
 * (DistinguishedFolderId/Mailbox), which is what reaches a shared mailbox with delegated access and
 * is harmless with impersonation.
 */
export function toFolderId(client: MailboxClient, folder: FolderRef): FolderId {
  if ('distinguished' in folder) {
    const wellKnown = WELL_KNOWN[folder.distinguished];
    if (wellKnown === undefined) throw new EwsConfigurationError('InvalidArgument', `Unknown distinguished folder: ${String(folder.distinguished)}`);
    return new FolderId(wellKnown, new Mailbox(client.mailbox));
  }
  if (!folder.id) throw new EwsConfigurationError('InvalidArgument', 'A folder id must not be empty.');
  return new FolderId(folder.id);
}
