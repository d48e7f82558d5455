import { BasePropertySet, FolderTraversal, FolderView, PropertySet } from 'ews-javascript-api';
import { EwsConfigurationError } from '../errors';
import { toEwsFolder } from '../item-mapping';
import type { MailboxClient } from '../mailbox-client';
import type { EwsFolder, FolderRef } from '../types';
import { toFolderId } from './folder-ids';

export interface FindFoldersOptions {
  /** shallow: direct children; deep: the whole subtree. Default shallow. */
  readonly traversal?: 'shallow' | 'deep';
  /** Folders per FindFolder request (1..1000). Default 100. */
  readonly pageSize?: number;
}

/** FindFolder, paged: yields every folder under `parent`, one EWS request per page. */
export async function* findFolders(client: MailboxClient, parent: FolderRef, options: FindFoldersOptions = {}): AsyncIterableIterator<EwsFolder> {
  const pageSize = options.pageSize ?? 100;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new EwsConfigurationError('InvalidArgument', 'pageSize must be an integer from 1 to 1000.');
  const parentId = toFolderId(client, parent);
  let offset = 0;
  for (;;) {
    const page = await client.execute('FindFolder', (service) => {
      const view = new FolderView(pageSize, offset);
      view.Traversal = options.traversal === 'deep' ? FolderTraversal.Deep : FolderTraversal.Shallow;
      view.PropertySet = new PropertySet(BasePropertySet.FirstClassProperties);
      return service.FindFolders(parentId, view);
    });
    for (const folder of page.Folders) yield toEwsFolder(folder);
    if (!page.MoreAvailable || page.Folders.length === 0) return;
    offset = page.NextPageOffset ?? offset + page.Folders.length;
  }
}
