/** What one send attempt to a customer's target came to. Failures are values: the caller decides on retry. */
export type DeliveryFailureCode =
  | 'Timeout'
  | 'Redirect'
  | 'HttpStatus'
  | 'NetworkError'
  | 'TargetAddressNotAllowed'
  | 'NoTarget'
  | 'SigningKeyMissing'
  | 'QueueSendFailed';

export type DeliveryOutcome =
  | { readonly ok: true; readonly status?: number }
  | { readonly ok: false; readonly code: DeliveryFailureCode; readonly message: string; readonly status?: number };

export function failure(code: DeliveryFailureCode, message: string, status?: number): DeliveryOutcome {
  return { ok: false, code, message, ...(status !== undefined ? { status } : {}) };
}
