/** The product's EWS layer: connection factory, one function per EWS operation, typed errors, retry policy. */
export * from './errors';
export * from './types';
export { createMailboxClient, refreshingBearerCredential, validateEwsUrl, DEFAULT_EWS_TIMEOUT_IN_MS, DEFAULT_USER_AGENT } from './mailbox-client';
export type { EwsCredential, MailboxAccess, MailboxClient, MailboxClientOptions, EwsServerVersion } from './mailbox-client';
export { classifyEwsFailure, parseSoapFault, parseRetryAfter, authenticationSchemes } from './error-classifier';
export { createThrottlingPolicy, withRetries, RetryLaterError } from './throttling-policy';
export type { RetryDecision, ThrottlingPolicy, ThrottlingPolicyOptions, WithRetriesOptions } from './throttling-policy';

// The long-tail operations run on ews-javascript-api, which is loaded with the first of them to run
// (see ews-api.ts): these wrappers require the operation module on call, so importing this index
// at start-up loads none of it. Types come from the modules as usual.
export type { FindFoldersOptions } from './operations/find-folders';
export type { SyncFolderItemsOptions } from './operations/sync-folder-items';
export type { GetItemsOptions } from './operations/get-items';
export type { DeleteItemsMode } from './operations/delete-items';
export type { OutgoingMessage, OutgoingAttachment } from './operations/send-message';
export type { MailboxAccessCheck } from './operations/check-access';
export type { EwsResolution, ResolveNamesOptions, ResolveNamesResult, ResolveNamesScope } from './operations/resolve-names';
export type { AutodiscoverOptions, AutodiscoverAttempt, DiscoveredEwsEndpoint } from './autodiscover';
export { MAX_ITEM_BATCH, MAX_SYNC_CHANGES } from './operations/limits';

type Operations = typeof import('./operations/get-folder') &
  typeof import('./operations/find-folders') &
  typeof import('./operations/sync-folder-items') &
  typeof import('./operations/get-items') &
  typeof import('./operations/delete-items') &
  typeof import('./operations/update-is-read') &
  typeof import('./operations/send-message') &
  typeof import('./operations/check-access') &
  typeof import('./operations/resolve-names') &
  typeof import('./autodiscover');

function lazy<K extends keyof Operations>(path: string, name: K): Operations[K] {
  return ((...args: unknown[]) => ((require(path) as Record<K, (...a: unknown[]) => unknown>)[name])(...args)) as Operations[K];
}

export const getFolder = lazy('./operations/get-folder', 'getFolder');
export const findFolders = lazy('./operations/find-folders', 'findFolders');
export const syncFolderItems = lazy('./operations/sync-folder-items', 'syncFolderItems');
export const getItems = lazy('./operations/get-items', 'getItems');
export const deleteItems = lazy('./operations/delete-items', 'deleteItems');
export const updateIsRead = lazy('./operations/update-is-read', 'updateIsRead');
export const sendMessage = lazy('./operations/send-message', 'sendMessage');
export const checkMailboxAccess = lazy('./operations/check-access', 'checkMailboxAccess');
export const resolveNames = lazy('./operations/resolve-names', 'resolveNames');
export const discoverEwsUrl = lazy('./autodiscover', 'discoverEwsUrl');
export const autodiscoverCandidates = lazy('./autodiscover', 'autodiscoverCandidates');
