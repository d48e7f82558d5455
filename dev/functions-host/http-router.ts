/**
 * The HTTP front of the local host: routes requests to HTTP-triggered functions the way the
 * Functions host does (routePrefix, route templates, methods, authLevel, body size limit),
 * hands the handler a real @azure/functions HttpRequest and maps what it returns back.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpRequest, HttpResponse, trigger } from '@azure/functions';
import type { Cookie, HttpFunctionOptions, HttpResponseInit } from '@azure/functions';
import { isAuthorized, presentedKey, type AuthLevel, type FunctionKeys } from './function-keys';
import type { HostLogSink } from './host-log';
import type { InvocationTracker } from './invocations';
import { compareRoutePrecedence, parseRouteTemplate, type RouteTemplate } from './route-template';

export interface HttpRouterOptions {
  readonly routePrefix: string;
  readonly keys: FunctionKeys;
  readonly maxRequestBodySizeInBytes: number;
  /** The host answers a known route with the wrong method with 404 (Azure behaviour); 405 adds an Allow header. */
  readonly methodMismatchStatus: 404 | 405;
  readonly tracker: InvocationTracker;
  readonly log: HostLogSink;
  /** Handles the host's own admin API (POST /admin/functions/{name}); returns false when the path is not an admin route. */
  readonly admin?: (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<boolean>;
}

interface HttpRoute {
  readonly functionName: string;
  readonly template: RouteTemplate;
  readonly methods: readonly string[];
  readonly authLevel: AuthLevel;
  readonly options: HttpFunctionOptions;
}

export class RequestBodyTooLargeError extends Error {
  readonly code = 'RequestBodyTooLarge';
}

export function buildHttpRoutes(functions: readonly { name: string; options: HttpFunctionOptions }[]): HttpRoute[] {
  return functions
    .map(({ name, options }) => ({
      functionName: name,
      template: parseRouteTemplate(options.route ?? name),
      methods: (options.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase()),
      authLevel: options.authLevel ?? 'anonymous',
      options,
    }))
    .sort((a, b) => compareRoutePrecedence(a.template, b.template));
}

/** The part of the path after the route prefix, or undefined when the path is outside it. */
function pathUnderPrefix(pathname: string, routePrefix: string): string | undefined {
  if (routePrefix === '') return pathname.replace(/^\/+/, '');
  const prefix = `/${routePrefix}`.toLowerCase();
  const lower = pathname.toLowerCase();
  if (lower === prefix || lower === `${prefix}/`) return '';
  return lower.startsWith(`${prefix}/`) ? pathname.slice(prefix.length + 1) : undefined;
}

export async function readBody(request: IncomingMessage, limitInBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitInBytes) throw new RequestBodyTooLargeError(`Request body of ${declared} bytes exceeds ${limitInBytes}`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limitInBytes) throw new RequestBodyTooLargeError(`Request body exceeds ${limitInBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Request headers as one string per name (repeated headers joined as HTTP allows). */
export function requestHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headersDistinct)) {
    if (value) headers[name] = value.join(name === 'cookie' ? '; ' : ', ');
  }
  return headers;
}

function serializeCookie(cookie: Cookie): string {
  const parts = [`${cookie.name}=${cookie.value}`];
  if (cookie.domain) parts.push(`Domain=${cookie.domain}`);
  if (cookie.path) parts.push(`Path=${cookie.path}`);
  if (cookie.expires !== undefined) parts.push(`Expires=${new Date(cookie.expires).toUTCString()}`);
  if (cookie.maxAge !== undefined) parts.push(`Max-Age=${cookie.maxAge}`);
  if (cookie.secure) parts.push('Secure');
  if (cookie.httpOnly) parts.push('HttpOnly');
  if (cookie.sameSite) parts.push(`SameSite=${cookie.sameSite}`);
  return parts.join('; ');
}

function sendEmpty(response: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  response.writeHead(status, { 'content-length': '0', ...headers });
  response.end();
}

/** Writes what a handler returned. Nothing returned means 204 No Content, as the host answers. */
async function writeResult(response: ServerResponse, result: unknown, method: string): Promise<void> {
  if (result === undefined || result === null) {
    sendEmpty(response, 204);
    return;
  }
  if (typeof result !== 'object') throw new TypeError('The HTTP response must be an object with optional properties "body", "status", "headers", and "cookies".');
  const mapped = result instanceof HttpResponse ? result : new HttpResponse(result as HttpResponseInit);
  const body = Buffer.from(await mapped.arrayBuffer());
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of mapped.headers.entries()) {
    if (name !== 'set-cookie') headers[name] = value;
  }
  const cookies = [...mapped.headers.getSetCookie(), ...mapped.cookies.map(serializeCookie)];
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  headers['content-length'] = String(body.length);
  response.writeHead(mapped.status, headers);
  response.end(method === 'HEAD' ? undefined : body);
}

export class HttpRouter {
  private readonly routes: HttpRoute[];

  constructor(
    routes: HttpRoute[],
    private readonly options: HttpRouterOptions,
  ) {
    this.routes = routes;
  }

  /** Function name and URL template of every route, for the start-up banner. */
  describe(baseUrl: string): { functionName: string; methods: readonly string[]; url: string; authLevel: AuthLevel }[] {
    const prefix = this.options.routePrefix ? `/${this.options.routePrefix}` : '';
    return this.routes.map((r) => ({ functionName: r.functionName, methods: r.methods, url: `${baseUrl}${prefix}/${r.template.template.replace(/^\/+/, '')}`, authLevel: r.authLevel }));
  }

  async handle(request: IncomingMessage, response: ServerResponse, baseUrl: string): Promise<void> {
    const url = new URL(request.url ?? '/', baseUrl);
    const method = (request.method ?? 'GET').toUpperCase();
    if (this.options.admin && (await this.options.admin(request, response, url))) return;
    const path = pathUnderPrefix(url.pathname, this.options.routePrefix);
    if (path === undefined) {
      this.sendHomeOrNotFound(response, url, method);
      return;
    }
    const candidates = this.routes.flatMap((route) => {
      const values = route.template.match(path);
      return values ? [{ route, values }] : [];
    });
    const chosen = candidates.find((c) => c.route.methods.includes(method));
    if (!chosen) {
      if (candidates.length > 0 && this.options.methodMismatchStatus === 405) {
        const allowed = [...new Set(candidates.flatMap((c) => c.route.methods))].join(', ');
        sendEmpty(response, 405, { allow: allowed });
      } else sendEmpty(response, 404);
      return;
    }
    const { route, values } = chosen;
    if (!isAuthorized(route.authLevel, route.functionName, presentedKey(new Headers(requestHeaders(request)), url), this.options.keys)) {
      sendEmpty(response, 401);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(request, this.options.maxRequestBodySizeInBytes);
    } catch (error) {
      if (error instanceof RequestBodyTooLargeError) {
        this.options.log('warn', `Rejected ${method} ${url.pathname}: ${error.message}`);
        sendEmpty(response, 413, { connection: 'close' });
        request.resume();
        return;
      }
      throw error;
    }
    await this.invoke(route, values, request, response, url, method, body);
  }

  private async invoke(route: HttpRoute, params: Record<string, string>, request: IncomingMessage, response: ServerResponse, url: URL, method: string, body: Buffer): Promise<void> {
    const headers = requestHeaders(request);
    const httpRequest = new HttpRequest({ method, url: url.toString(), headers, params, ...(body.length > 0 ? { body: { bytes: body } } : {}) });
    const triggerBinding = trigger.http({ methods: route.options.methods ?? ['GET', 'POST'], authLevel: route.authLevel, ...(route.options.route !== undefined ? { route: route.options.route } : {}) });
    try {
      await this.options.tracker.run(
        {
          functionName: route.functionName,
          trigger: 'http',
          triggerBinding,
          reason: `This function was programmatically called via the host APIs.`,
          triggerMetadata: { headers, query: Object.fromEntries(url.searchParams), params, ...params },
        },
        async (context) => {
          const result: unknown = await route.options.handler(httpRequest, context);
          await writeResult(response, result, method);
        },
      );
    } catch {
      // The tracker has logged the failure with its stack; the caller sees only the status, as in Azure.
      sendEmpty(response, 500);
    }
  }

  private sendHomeOrNotFound(response: ServerResponse, url: URL, method: string): void {
    if (url.pathname === '/' && (method === 'GET' || method === 'HEAD')) {
      const page = Buffer.from('<!DOCTYPE html><html><body><h1>Your Functions 4.0 app is up and running (local host)</h1></body></html>');
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(page.length) });
      response.end(method === 'HEAD' ? undefined : page);
      return;
    }
    sendEmpty(response, 404);
  }
}
