import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { AuthorizationCode, IdentityProviderContext } from './context';
import { createIdentityControl, handleControlRequest, type IdentityControl } from './control';
import { Directory, type TenantSegment } from './directory';
import { instanceDiscovery, openIdConfiguration } from './discovery';
import { EntraProtocolError, entraErrors } from './entra-errors';
import { BodyTooLargeError, escapeHtml, htmlResult, jsonResult, page, readBody, type HttpResult } from './http-kit';
import { InteractiveFlows } from './interactive';
import { SigningKey } from './jwt';
import type { DirectoryState, IdentitySeed } from './model';
import { handleTokenRequest } from './token-endpoint';
import { TokenMinter } from './tokens';
import { closeServer, listen } from '../server-lifecycle';

export interface IdentityProviderOptions {
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** Loopback address to listen on (default 127.0.0.1; ::1 is added on the same port when available). */
  readonly host?: string;
  /** Host name in the authority URL and token issuers (default localhost; the dev certificate covers it). */
  readonly publicHostName?: string;
  readonly tlsCertificate: { readonly cert: string; readonly key: string };
  /** Used when no persisted state exists (or without persistPath). */
  readonly seed?: IdentitySeed;
  /** JSON file keeping the directory, refresh tokens and the signing key across restarts. */
  readonly persistPath?: string;
  readonly accessTokenLifetimeInSeconds?: number;
  readonly refreshTokenLifetimeInSeconds?: number;
  readonly authorizationCodeLifetimeInSeconds?: number;
}

export interface RunningIdentityProvider {
  /** The authority host, e.g. https://localhost:8444 (AZURE_AUTHORITY_HOST). */
  readonly url: string;
  readonly port: number;
  /** https://localhost:8444/{tenantId}/discovery/v2.0/keys */
  jwksUri(tenantId: string): string;
  /** https://localhost:8444/{tenantId}/v2.0 — the `iss` of tokens for that tenant. */
  issuer(tenantId: string): string;
  readonly control: IdentityControl;
  close(): Promise<void>;
}

interface PersistedState {
  readonly version: 1;
  readonly signingKeyPem: string;
  readonly directory: DirectoryState;
}

function loadPersisted(path: string | undefined): PersistedState | undefined {
  if (!path || !existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as PersistedState;
  return parsed.version === 1 ? parsed : undefined;
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}


/** Starts the Entra-compatible identity provider over HTTPS. */
export async function startIdentityProvider(options: IdentityProviderOptions): Promise<RunningIdentityProvider> {
  const persisted = loadPersisted(options.persistPath);
  const signingKey = persisted ? SigningKey.fromPem(persisted.signingKeyPem) : SigningKey.generate();
  const directory = persisted ? new Directory(persisted.directory) : Directory.fromSeed(options.seed ?? { tenants: [], apps: [], users: [] });
  let authorityUrl = '';
  const ctx: IdentityProviderContext = {
    directory,
    minter: new TokenMinter(signingKey, () => authorityUrl, options.accessTokenLifetimeInSeconds ?? 3600),
    codes: new Map<string, AuthorizationCode>(),
    authorityUrl: () => authorityUrl,
    refreshTokenLifetimeInSeconds: options.refreshTokenLifetimeInSeconds ?? 90 * 24 * 3600,
    authorizationCodeLifetimeInSeconds: options.authorizationCodeLifetimeInSeconds ?? 600,
  };
  const persist = (): void => {
    if (!options.persistPath) return;
    mkdirSync(dirname(options.persistPath), { recursive: true });
    const state: PersistedState = { version: 1, signingKeyPem: signingKey.toPem(), directory: directory.snapshot() };
    const temp = `${options.persistPath}.tmp`;
    writeFileSync(temp, JSON.stringify(state), { mode: 0o600 });
    renameSync(temp, options.persistPath);
  };
  let saveScheduled = false;
  directory.onChange = () => {
    if (saveScheduled || !options.persistPath) return;
    saveScheduled = true;
    setImmediate(() => {
      saveScheduled = false;
      persist();
    });
  };
  persist();

  const control = createIdentityControl(ctx);
  const interactive = new InteractiveFlows(ctx);
  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    route(request)
      .catch((error: unknown): HttpResult => {
        if (error instanceof EntraProtocolError) return jsonResult(error.status, error.toResponseBody());
        if (error instanceof BodyTooLargeError) return jsonResult(413, { error: 'invalid_request', error_description: error.message });
        console.error('identity provider: unexpected error', error);
        return jsonResult(500, { error: 'server_error', error_description: 'The identity provider failed unexpectedly; see its log.' });
      })
      .then((result) => {
        response.writeHead(result.status, { ...result.headers, ...corsHeaders(request) });
        response.end(result.body);
      }, () => response.destroy());
  };

  async function route(request: IncomingMessage): Promise<HttpResult> {
    const url = new URL(request.url ?? '/', authorityUrl);
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = request.method ?? 'GET';
    if (path.startsWith('/_control/')) return handleControlRequest(control, method, path, await readBody(request));
    if (method === 'OPTIONS' && isCorsPath(path)) return { status: 204, headers: { 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' } };
    if (path === '/') return htmlResult(200, page('Identity provider', `<p>Authority: ${escapeHtml(authorityUrl)}</p>`));
    const [, tenantPath = '', ...rest] = path.split('/');
    const endpoint = rest.join('/');
    if (endpoint === 'discovery/instance') return jsonResult(200, instanceDiscovery(authorityUrl));
    const segment = directory.resolveTenantSegment(decodeURIComponent(tenantPath));
    const isHtml = ['oauth2/v2.0/authorize', 'oauth2/authorize', 'adminconsent', 'v2.0/adminconsent', 'login', 'consent'].includes(endpoint);
    if (!segment) {
      const error = entraErrors.tenantNotFound(tenantPath);
      return isHtml ? htmlResult(400, page('Sign in failed', `<p class="error">${escapeHtml(error.message)}</p>`)) : jsonResult(400, error.toResponseBody());
    }
    return dispatch(request, method, endpoint, segment, tenantPath, url);
  }

  async function dispatch(request: IncomingMessage, method: string, endpoint: string, segment: TenantSegment, tenantPath: string, url: URL): Promise<HttpResult> {
    const get = method === 'GET';
    const interactiveRequest = (params: URLSearchParams) => ({ segment, tenantPath, params, headers: request.headers });
    switch (endpoint) {
      case 'v2.0/.well-known/openid-configuration':
        return get ? jsonResult(200, openIdConfiguration(authorityUrl, segment, 2)) : methodNotAllowed();
      case '.well-known/openid-configuration':
        return get ? jsonResult(200, openIdConfiguration(authorityUrl, segment, 1)) : methodNotAllowed();
      case 'discovery/v2.0/keys':
      case 'discovery/keys':
        return get ? jsonResult(200, { keys: [signingKey.jwk(`${authorityUrl}/{tenantid}/v2.0`)] }) : methodNotAllowed();
      case 'oauth2/v2.0/token':
      case 'oauth2/token': {
        if (method !== 'POST') return methodNotAllowed();
        const form = new URLSearchParams(await readBody(request));
        return jsonResult(200, handleTokenRequest(ctx, { segment, tenantPath, form, authorizationHeader: headerValue(request, 'authorization'), origin: headerValue(request, 'origin') }));
      }
      case 'oauth2/v2.0/authorize':
      case 'oauth2/authorize':
        return interactive.authorize(interactiveRequest(get ? url.searchParams : new URLSearchParams(await readBody(request))));
      case 'adminconsent':
        return interactive.adminConsent(interactiveRequest(url.searchParams), 1);
      case 'v2.0/adminconsent':
        return interactive.adminConsent(interactiveRequest(url.searchParams), 2);
      case 'login':
        return method === 'POST' ? interactive.login(new URLSearchParams(await readBody(request))) : methodNotAllowed();
      case 'consent':
        return method === 'POST' ? interactive.consent(new URLSearchParams(await readBody(request))) : methodNotAllowed();
      default:
        return jsonResult(404, { error: 'not_found', error_description: `No endpoint ${endpoint} on this identity provider.` });
    }
  }

  const host = options.host ?? '127.0.0.1';
  const servers: Server[] = [createServer({ cert: options.tlsCertificate.cert, key: options.tlsCertificate.key }, handler)];
  await listen(servers[0]!, options.port ?? 0, host);
  const port = (servers[0]!.address() as AddressInfo).port;
  if (host === '127.0.0.1') {
    // "localhost" may resolve to ::1 first; answer there too so clients never hit a closed port.
    const v6 = createServer({ cert: options.tlsCertificate.cert, key: options.tlsCertificate.key }, handler);
    try {
      await listen(v6, port, '::1');
      servers.push(v6);
    } catch {
      // No IPv6 loopback here; 127.0.0.1 alone serves.
    }
  }
  authorityUrl = `https://${options.publicHostName ?? 'localhost'}:${port}`;

  return {
    url: authorityUrl,
    port,
    jwksUri: (tenantId) => `${authorityUrl}/${tenantId}/discovery/v2.0/keys`,
    issuer: (tenantId) => ctx.minter.issuer(tenantId),
    control,
    async close() {
      await Promise.all(servers.map(closeServer));
      if (saveScheduled) persist();
      saveScheduled = false;
    },
  };
}

/**
 * Browser apps (MSAL for the browser) read the discovery documents and keys and redeem codes
 * cross-origin; Entra answers those endpoints to any origin. The HTML pages and the control API
 * get no CORS headers: a web page must not drive them.
 */
function isCorsPath(path: string): boolean {
  return /\/(oauth2\/(v2\.0\/)?token|discovery\/(v2\.0\/)?keys|(v2\.0\/)?\.well-known\/openid-configuration|discovery\/instance)$/.test(path) && !path.startsWith('/_control/');
}

function corsHeaders(request: IncomingMessage): Record<string, string> {
  const path = new URL(request.url ?? '/', 'https://localhost').pathname.replace(/\/+$/, '');
  return request.headers.origin && isCorsPath(path) ? { 'access-control-allow-origin': '*' } : {};
}

function methodNotAllowed(): HttpResult {
  return jsonResult(405, { error: 'invalid_request', error_description: 'Method not allowed on this endpoint.' });
}
