/** The operations the simulator implements, by request element name. */
import type { Operation } from './common';
import { convertId, resolveNames } from './directory';
import { findItem } from './find-item';
import { createFolder, findFolder, getFolder, syncFolderHierarchy } from './folders';
import { copyItem, createItem, deleteItem, getAttachment, getItem, moveItem, updateItem } from './items';
import { getEvents, subscribe, unsubscribe } from './notifications';
import { syncFolderItems } from './sync-items';
import { getDelegate } from './delegates';

export const OPERATIONS: Readonly<Record<string, Operation>> = {
  GetFolder: getFolder,
  FindFolder: findFolder,
  CreateFolder: createFolder,
  SyncFolderHierarchy: syncFolderHierarchy,
  SyncFolderItems: syncFolderItems,
  FindItem: findItem,
  GetItem: getItem,
  CreateItem: createItem,
  UpdateItem: updateItem,
  DeleteItem: deleteItem,
  MoveItem: moveItem,
  CopyItem: copyItem,
  GetAttachment: getAttachment,
  ResolveNames: resolveNames,
  ConvertId: convertId,
  Subscribe: subscribe,
  GetEvents: getEvents,
  Unsubscribe: unsubscribe,
  GetDelegate: getDelegate,
};

/** Operations whose response element is itself a response message (ResponseClass on it, the status first inside). */
export const SELF_STATUS_RESPONSES: ReadonlySet<string> = new Set(['GetDelegate']);

export type { Operation };
