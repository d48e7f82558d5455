import { REDACTED_TEXT, SecretString } from './secret-string';

/** Field names whose values are never logged, whatever they hold. */
const SENSITIVE_KEY = /pass(word)?|secret|token|authorization|assertion|credential|cookie|code_?verifier|client_?key|private_?key|signature|^code$|^state$/i;

/**
 * A `code` field is usually an error code ('ErrorServerBusy', 'InvalidClientSecret') and worth
 * logging; an OAuth authorization or invitation code is long and carries digits, dots or dashes
 * from its first characters. Only plain identifiers pass.
 */
const ERROR_CODE_LIKE = /^[A-Za-z][A-Za-z_]*$/;

function isSensitive(key: string, value: unknown): boolean {
  if (value === undefined || value === null || typeof value === 'boolean') return false;
  if (!SENSITIVE_KEY.test(key)) return false;
  return !(key.toLowerCase() === 'code' && typeof value === 'string' && value.length <= 64 && ERROR_CODE_LIKE.test(value));
}

/** Bearer tokens and JWTs that slip into free text (an error message, a URL). */
const JWT_LIKE = /eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g;
const BEARER_LIKE = /(Bearer|Basic|NTLM|Negotiate)\s+[A-Za-z0-9+/=._~-]{8,}/gi;
/** Secrets in a query string or a form body (an SDK error may quote the token request it sent). */
const QUERY_SECRET = /((?:^|[?&\s])(?:code|state|client_secret|client_assertion|password|access_token|refresh_token|id_token|sig)=)[^&#\s]+/gi;

export function redactText(text: string): string {
  return text.replace(JWT_LIKE, REDACTED_TEXT).replace(BEARER_LIKE, `$1 ${REDACTED_TEXT}`).replace(QUERY_SECRET, `$1${REDACTED_TEXT}`);
}

/** A deep copy of `value` that is safe to log: sensitive keys, SecretStrings and token-like text removed. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (value instanceof SecretString) return REDACTED_TEXT;
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[truncated]';
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: redactText(value.message), ...(code !== undefined ? { code: redactValue(code, depth + 1) } : {}) };
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = isSensitive(key, inner) ? REDACTED_TEXT : redactValue(inner, depth + 1);
  }
  return out;
}
