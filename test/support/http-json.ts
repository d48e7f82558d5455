/** HTTP calls the way the admin and consent tests make them, with the body parsed when it is JSON. */
import assert from 'node:assert/strict';

export interface JsonResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** Parsed JSON body (undefined when empty or not JSON); loosely typed because tests probe arbitrary shapes. */
  readonly body: any;
}

export interface JsonRequestOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON (content-type application/json unless headers name one). */
  readonly body?: unknown;
  /** Sent as is (no JSON encoding); wins over `body`. */
  readonly rawBody?: string | Buffer;
}

export async function requestJson(method: string, url: string, options: JsonRequestOptions = {}): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Buffer | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: parseJsonOrUndefined(text) };
}

function parseJsonOrUndefined(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The admin API as the end-to-end tests call it: `api` answers whatever came back, `ok` asserts a 2xx
 * and answers the body. Base URL and token are read per call (the stack starts in a before hook).
 */
export function adminApiCalls(baseUrl: () => string, token: () => string) {
  const api = (method: string, path: string, body?: unknown, bearer = token()): Promise<JsonResponse> =>
    requestJson(method, `${baseUrl()}/api/admin${path}`, { headers: { authorization: `Bearer ${bearer}` }, body });
  const ok = async (method: string, path: string, body?: unknown): Promise<any> => {
    const response = await api(method, path, body);
    assert.ok(response.status >= 200 && response.status < 300, `${method} ${path}: ${response.status} ${response.text}`);
    return response.body;
  };
  return { api, ok };
}

/** A simulator control-API call that must succeed: the JSON answer (undefined for 204). */
export async function controlCall(baseUrl: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${baseUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  return response.status === 204 ? undefined : response.json();
}
