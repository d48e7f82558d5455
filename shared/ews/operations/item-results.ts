import { ServiceResult, type ServiceResponse } from 'ews-javascript-api';
import { responseCodeName } from '../error-classifier';
import type { ItemResult } from '../types';

/** Largest batch one call accepts; keep GetItem batches far smaller (50–100) when bodies are requested. */
export const MAX_ITEM_BATCH = 1000;

/** One response of a batch as a per-item value: Success → ok; Error/Warning → its Exchange code and message. */
export function toItemResult<T>(itemId: string, response: ServiceResponse, value: () => T): ItemResult<T> {
  if (response.Result === ServiceResult.Success) return { ok: true, itemId, value: value() };
  const code = responseCodeName(response.ErrorCode);
  return { ok: false, itemId, error: { code, message: response.ErrorMessage || code } };
}
