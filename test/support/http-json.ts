/** HTTP calls the way the admin and consent tests make them, with the body parsed when it is JSON. */

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
