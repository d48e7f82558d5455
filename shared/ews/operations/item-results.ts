import { ServiceResult, type ServiceResponse } from 'ews-javascript-api';
import { responseCodeName, serviceResponseError } from '../error-classifier';
import type { ItemResult } from '../types';

import { REQUEST_LEVEL_CODES } from './limits';

export { MAX_ITEM_BATCH } from './limits';

/** Throws the typed error when a batch's responses carry a request-level code. */
export function throwIfRequestLevelFailure(responses: readonly ServiceResponse[], operation: string): void {
  for (const response of responses) {
    if (response.Result === ServiceResult.Success) continue;
    const code = responseCodeName(response.ErrorCode);
    if (!REQUEST_LEVEL_CODES.has(code)) continue;
    throw serviceResponseError(response, operation);
  }
}

/** One response of a batch as a per-item value: Success → ok; Error/Warning → its Exchange code and message. */
export function toItemResult<T>(itemId: string, response: ServiceResponse, value: () => T): ItemResult<T> {
  if (response.Result === ServiceResult.Success) return { ok: true, itemId, value: value() };
  const code = responseCodeName(response.ErrorCode);
  return { ok: false, itemId, error: { code, message: response.ErrorMessage || code } };
}
