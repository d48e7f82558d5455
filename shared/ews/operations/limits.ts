/** Batch rules shared by both EWS paths (kept apart from the operations so reading them loads nothing). */

/** EWS caps a SyncFolderItems page at 512 changes (schema: MaxSyncChangesReturnedType 1..512). */
export const MAX_SYNC_CHANGES = 512;

/** Largest batch one call accepts; keep GetItem batches far smaller (50–100) when bodies are requested. */
export const MAX_ITEM_BATCH = 1000;
/**
 * Codes that describe the mailbox or the caller, not one item: when Exchange reports them inside a
 * batch's response messages, the whole call failed and the throttling policy must see it.
 */
export const REQUEST_LEVEL_CODES: ReadonlySet<string> = new Set([
  'ErrorServerBusy',
  'ErrorExceededConnectionCount',
  'ErrorMailboxStoreUnavailable',
  'ErrorMailboxMoveInProgress',
  'ErrorNonExistentMailbox',
  'ErrorImpersonateUserDenied',
  'ErrorImpersonationDenied',
  'ErrorAccountDisabled',
  'ErrorPasswordExpired',
]);

