/**
 * The admin API client, typed by the generated Operations (from the OpenAPI document): an
 * operation ID picks the method, path, parameters, body and response type together, so a call
 * the API does not accept does not compile.
 */
import { OPERATIONS, type Operations, type Schemas } from './generated/admin-api';

export type OperationId = keyof Operations;
export type Problem = Schemas['Problem'];
type Empty = Record<string, never>;

export type CallInput<K extends OperationId> = (Operations[K]['params'] extends Empty ? { params?: Empty } : { params: Operations[K]['params'] }) &
  (Operations[K]['body'] extends undefined ? { body?: undefined } : { body: Operations[K]['body'] }) & {
    query?: Operations[K]['query'];
    ifMatch?: string;
  };

/** A problem+json answer (or a network failure described as one). */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = 'ApiError';
  }

  /** What the API said about one field (JSON pointer such as /impersonation/serviceAccount) or its items (/mailboxes/0). */
  fieldError(pointer: string): string | undefined {
    const details = (this.problem.errors ?? []).filter((e) => coversPointer(pointer, e.pointer)).map((e) => e.detail);
    return details.length > 0 ? details.join('; ') : undefined;
  }
}

/** True when `pointer` is the field itself or inside it (/mailboxes covers /mailboxes/3). */
export function coversPointer(field: string, pointer: string): boolean {
  return pointer === field || pointer.startsWith(`${field}/`);
}

export type TokenSource = () => Promise<string>;

export interface ApiClient {
  call<K extends OperationId>(operation: K, input: CallInput<K>): Promise<Operations[K]['response']>;
}

export function expandPath(template: string, params: Readonly<Record<string, string>>): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`Missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
}

export function createApiClient(apiBase: string, token: TokenSource): ApiClient {
  return {
    async call(operation, input) {
      const { method, path } = OPERATIONS[operation];
      const url = new URL(apiBase + expandPath(path, (input.params ?? {}) as Record<string, string>), window.location.origin);
      for (const [name, value] of Object.entries(input.query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
      const headers: Record<string, string> = { authorization: `Bearer ${await token()}`, accept: 'application/json' };
      if (input.body !== undefined) headers['content-type'] = 'application/json';
      if (input.ifMatch) headers['if-match'] = input.ifMatch;
      let response: Response;
      try {
        response = await fetch(url, { method, headers, ...(input.body !== undefined ? { body: JSON.stringify(input.body) } : {}) });
      } catch {
        throw new ApiError({ type: 'about:blank', title: 'The admin API could not be reached', status: 0, detail: 'Check your network connection and try again.' });
      }
      if (response.status === 204) return undefined as never;
      const text = await response.text();
      const parsed: unknown = text ? JSON.parse(text) : undefined;
      if (!response.ok) {
        const problem = (parsed && typeof parsed === 'object' ? parsed : {}) as Partial<Problem>;
        throw new ApiError({ type: problem.type ?? 'about:blank', title: problem.title ?? `The admin API answered ${response.status}`, status: response.status, ...(problem.detail ? { detail: problem.detail } : {}), ...(problem.code ? { code: problem.code } : {}), ...(problem.errors ? { errors: problem.errors } : {}) });
      }
      return parsed as never;
    },
  };
}
