/** The product's EWS layer: connection factory, one function per EWS operation, typed errors, retry policy. */
export * from './errors';
export * from './types';
export { createMailboxClient, refreshingBearerCredential, validateEwsUrl, DEFAULT_EWS_TIMEOUT_IN_MS, DEFAULT_USER_AGENT } from './mailbox-client';
export type { EwsCredential, MailboxAccess, MailboxClient, MailboxClientOptions, EwsServerVersion } from './mailbox-client';
export { classifyEwsFailure, parseSoapFault, parseRetryAfter, authenticationSchemes } from './error-classifier';
export { createThrottlingPolicy, withRetries, RetryLaterError } from './throttling-policy';
export type { RetryDecision, ThrottlingPolicy, ThrottlingPolicyOptions, WithRetriesOptions } from './throttling-policy';
export { getFolder } from './operations/get-folder';
export { findFolders, type FindFoldersOptions } from './operations/find-folders';
export { syncFolderItems, MAX_SYNC_CHANGES, type SyncFolderItemsOptions } from './operations/sync-folder-items';
export { getItems, type GetItemsOptions } from './operations/get-items';
export { deleteItems, type DeleteItemsMode } from './operations/delete-items';
export { updateIsRead } from './operations/update-is-read';
export { sendMessage, type OutgoingMessage, type OutgoingAttachment } from './operations/send-message';
export { MAX_ITEM_BATCH } from './operations/item-results';
export { checkMailboxAccess, type MailboxAccessCheck } from './operations/check-access';
export { discoverEwsUrl, autodiscoverCandidates, type AutodiscoverOptions, type AutodiscoverAttempt, type DiscoveredEwsEndpoint } from './autodiscover';
