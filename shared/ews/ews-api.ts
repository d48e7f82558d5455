/**
 * ews-javascript-api on first use. It is ~740 modules and the largest part of the function app's
 * cold start, while the sync hot path (soap/) never needs it: only the long tail (send, folders,
 * connection tests, updates) does. Modules take its types with `import type` and its values from
 * ewsApi() inside the functions that run a call.
 */
import type * as EwsJavascriptApi from 'ews-javascript-api';

export type EwsApi = typeof EwsJavascriptApi;

let api: EwsApi | undefined;

export function ewsApi(): EwsApi {
  api ??= require('ews-javascript-api') as EwsApi;
  return api;
}
