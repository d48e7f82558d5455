/**
 * ews-javascript-api, reached through ewsApi() by every module of the long tail. Only those use it:
 * the sync hot path (soap/) never does. It is ~740 modules, the largest part of what the function
 * app used to load at start, so it is required on first use (the first send, connection test,
 * folder call or write), not at start-up (docs/sync.md, "Cold start").
 *
 * The first use blocks the thread while it loads (hundreds of ms, seconds on a starved machine).
 * What that used to break (MSAL endpoints_resolution_error on a stale keep-alive connection to the
 * identity provider, request timers expiring during the block) is handled where the requests are
 * made: shared/http/stall-tolerant-timeout.ts.
 */
import type * as EwsJavascriptApi from 'ews-javascript-api';

export type EwsApi = typeof EwsJavascriptApi;

let api: EwsApi | undefined;

export function ewsApi(): EwsApi {
  api ??= require('ews-javascript-api') as EwsApi;
  return api;
}
