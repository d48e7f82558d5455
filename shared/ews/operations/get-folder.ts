import { BasePropertySet, Folder, PropertySet } from 'ews-javascript-api';
import { toEwsFolder } from '../item-mapping';
import type { MailboxClient } from '../mailbox-client';
import type { EwsFolder, FolderRef } from '../types';
import { toFolderId } from './folder-ids';

/** GetFolder: one folder with its counts. Fails with EwsResponseError (e.g. ErrorFolderNotFound, ErrorNonExistentMailbox). */
export async function getFolder(client: MailboxClient, folder: FolderRef): Promise<EwsFolder> {
  const folderId = toFolderId(client, folder);
  return client.execute('GetFolder', async (service) => toEwsFolder(await Folder.Bind(service, folderId, new PropertySet(BasePropertySet.FirstClassProperties))));
}
