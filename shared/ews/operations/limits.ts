/** Batch limits shared by both EWS paths (kept apart from the operations so reading them loads nothing). */

/** EWS caps a SyncFolderItems page at 512 changes (schema: MaxSyncChangesReturnedType 1..512). */
export const MAX_SYNC_CHANGES = 512;

/** Largest batch one call accepts; keep GetItem batches far smaller (50–100) when bodies are requested. */
export const MAX_ITEM_BATCH = 1000;
