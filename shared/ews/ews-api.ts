/**
 * ews-javascript-api, reached through ewsApi() by every module of the long tail. Only those use it:
 * the sync hot path (soap/) never does. It is ~740 modules and the largest part of the function
 * app's cold start, and this is the one place that decides when it loads.
 *
 * It still loads with this module (at start-up). Deferring it to first use (set EWS_API_LOAD_AT_START
 * below to false) cut the app's start from ~1,600 to ~750 modules, but the synchronous require then
 * stalls the event loop for several seconds on a loaded machine in the middle of the first
 * send/connection test, and the consent and delegated end-to-end suites (in-process identity
 * provider over keep-alive sockets) then failed with MSAL endpoints_resolution_error. See
 * docs/sync.md, "Cold start".
 */
import type * as EwsJavascriptApi from 'ews-javascript-api';

export type EwsApi = typeof EwsJavascriptApi;

const EWS_API_LOAD_AT_START = false;

let api: EwsApi | undefined = EWS_API_LOAD_AT_START ? (require('ews-javascript-api') as EwsApi) : undefined;

export function ewsApi(): EwsApi {
  api ??= require('ews-javascript-api') as EwsApi;
  return api;
}
