/**
 * Serves the admin web console from the Functions app itself (one deployment): the files that
 * `npm run build` bundled into dist/admin-console/, plus config.json with the sign-in settings.
 * Every answer carries a strict Content-Security-Policy: scripts only from this origin (no inline
 * script), connections only to this origin and the Entra authority, and no framing at all.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { HttpResponseInit } from '@azure/functions';
import { HttpProblem, problemResponse } from '../http/problem';

export interface ConsoleSettings {
  /** The SPA registration's client ID; undefined: the console answers that it is not configured. */
  readonly clientId: string | undefined;
  /** Entra authority host, e.g. https://login.microsoftonline.com (the local identity provider locally). */
  readonly authorityHost: string;
  /** The operator tenant that issues admin tokens. */
  readonly tenantId: string;
  /** The admin API's audience; the console asks for `${audience}/user_impersonation`. */
  readonly audience: string;
}

/** What the page reads from config.json. No secret: the console is a public client. */
export interface ConsoleClientConfig {
  readonly clientId: string;
  readonly authority: string;
  readonly knownAuthority: string;
  readonly scopes: readonly string[];
  readonly apiBase: string;
}

interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

/** dist/admin-console, next to dist/shared where this file runs from. */
export function defaultAssetsDir(): string {
  return join(__dirname, '..', '..', 'admin-console');
}

export function contentSecurityPolicy(authorityHost: string): string {
  const authority = new URL(authorityHost).origin;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${authority}`,
    // MSAL falls back to a hidden iframe on the authority when a refresh token cannot be used.
    `frame-src ${authority}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function securityHeaders(settings: ConsoleSettings): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(settings.authorityHost),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  };
}

export function consoleClientConfig(settings: ConsoleSettings & { clientId: string }): ConsoleClientConfig {
  const authorityHost = settings.authorityHost.replace(/\/+$/, '');
  return {
    clientId: settings.clientId,
    authority: `${authorityHost}/${settings.tenantId}`,
    knownAuthority: new URL(authorityHost).host,
    scopes: [`${settings.audience.replace(/\/+$/, '')}/user_impersonation`],
    apiBase: '/api',
  };
}

/** Loads the built files once; later requests are answered from memory. */
export class ConsoleSite {
  #assets: Map<string, Asset> | undefined;

  constructor(private readonly assetsDir: string = defaultAssetsDir()) {}

  #load(): Map<string, Asset> {
    if (this.#assets) return this.#assets;
    const assets = new Map<string, Asset>();
    const add = (dir: string, prefix: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) add(join(dir, entry.name), `${prefix}${entry.name}/`);
        else assets.set(`${prefix}${entry.name}`, { body: readFileSync(join(dir, entry.name)), contentType: CONTENT_TYPES[extname(entry.name)] ?? 'application/octet-stream' });
      }
    };
    try {
      add(this.assetsDir, '');
    } catch {
      // Not built: every request answers 503 below, naming the fix.
    }
    this.#assets = assets;
    return assets;
  }

  /** `path` is what follows /api/admin/ ('' for the page itself); `pathname` is the request's path. */
  serve(path: string, pathname: string, settings: ConsoleSettings): HttpResponseInit {
    const headers = securityHeaders(settings);
    // The page's files and its sign-in redirect are relative to /api/admin/, with the slash.
    if (path === '' && !pathname.endsWith('/')) return { status: 308, headers: { ...headers, location: `${pathname}/` } };
    const assets = this.#load();
    if (path === '' || path === 'index.html') {
      const page = assets.get('index.html');
      if (!page) return problemResponse(new HttpProblem(503, 'ConsoleNotBuilt', 'The admin console is not built', 'Run `npm run build`: it bundles the console into dist/admin-console/.'), undefined, headers);
      return { status: 200, headers: { ...headers, 'content-type': page.contentType, 'cache-control': 'no-cache' }, body: page.body };
    }
    if (path === 'config.json') {
      if (!settings.clientId) {
        return problemResponse(
          new HttpProblem(503, 'ConsoleNotConfigured', 'The admin console is not configured', 'Set ADMIN_CONSOLE_CLIENT_ID to the client ID of the console\'s Entra app registration (docs/deployment.md).'),
          undefined,
          headers,
        );
      }
      return { status: 200, headers: { ...headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, body: JSON.stringify(consoleClientConfig({ ...settings, clientId: settings.clientId })) };
    }
    const asset = path.startsWith('assets/') && !path.includes('..') ? assets.get(path) : undefined;
    if (!asset) return problemResponse(new HttpProblem(404, 'NotFound', 'Not found', 'No such admin API route or console file.'), undefined, headers);
    // File names carry a content hash, so a file never changes under its name.
    return { status: 200, headers: { ...headers, 'content-type': asset.contentType, 'cache-control': 'public, max-age=31536000, immutable' }, body: asset.body };
  }
}
