/**
 * The directory lookup's composition root: the same mailbox access (credential resolution, Key
 * Vault cache, delegated tokens, Graph cloud) the sync worker uses, so a lookup reaches Exchange
 * exactly as the group's sync does. Built on first use.
 */
import { syncRuntime } from '../sync/sync-composition';
import { createDirectoryLookup } from './directory-lookup';
import type { DirectoryLookup } from './directory-lookup';

let shared: DirectoryLookup | undefined;

export function directoryLookupService(): DirectoryLookup {
  shared ??= createDirectoryLookup(syncRuntime().access);
  return shared;
}
