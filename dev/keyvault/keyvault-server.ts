/**
 * A local stand-in for the Azure Key Vault secrets data plane, over HTTPS, that the real
 * @azure/keyvault-secrets SecretClient talks to unmodified. It speaks the REST API the SDK sends
 * (any api-version), answers unauthenticated requests with the Bearer challenge the SDK's
 * keyVaultAuthenticationPolicy parses, and keeps state in memory, optionally in a JSON file.
 * Secret values are stored as given (a dev stand-in) and never written to any log.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { z } from 'zod';
import { KeyVaultServiceError, SecretVault, type VaultSnapshot } from './secret-vault';
import { setSecretBody, updateSecretBody, WireFormat } from './wire-format';
import { closeServer, listen } from '../server-lifecycle';

export interface KeyVaultServerOptions {
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** Interface to bind; loopback by default. */
  readonly host?: string;
  readonly tlsCertificate: { readonly cert: string; readonly key: string };
  /** Tenant named in the Bearer challenge: the SDK asks its credential for a token from it. */
  readonly tenantId: string;
  /** Entra authority host named in the challenge, e.g. https://localhost:8444. */
  readonly authorityHost: string;
  /** Keep the vault in this JSON file across restarts (written with mode 0600). */
  readonly persistPath?: string;
  /** Decides whether a bearer token is good. Default: any non-empty token. */
  readonly verifyAccessToken?: (token: string) => Promise<boolean>;
  /** Largest page a list answers (Key Vault: 25); smaller values force nextLink paging. */
  readonly pageSize?: number;
  /** Days a deleted secret stays recoverable (default 90). */
  readonly recoverableDays?: number;
  readonly clock?: () => Date;
  /** Told about every request once answered; carries no token, body or value. */
  readonly onRequest?: (event: KeyVaultRequestEvent) => void;
}

export interface KeyVaultRequestEvent {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly errorCode?: string;
}

export interface RunningKeyVaultServer {
  /** The vault URL clients use, e.g. https://localhost:8443. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Key Vault's documented ceiling for maxresults and its default page size. */
const MAX_PAGE_SIZE = 25;
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_SECRET_VALUE_BYTES = 25 * 1024;
const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
const SERVICE_VERSION = '1.9.0.0-local';

interface JsonReply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

interface ParsedRequest {
  readonly method: string;
  readonly url: URL;
  /** Path segments after the host, decoded; a trailing slash gives a trailing ''. */
  readonly segments: readonly string[];
  readonly vaultUrl: string;
  readonly request: IncomingMessage;
}

export async function startKeyVaultServer(options: KeyVaultServerOptions): Promise<RunningKeyVaultServer> {
  const vault = new SecretVault(
    { recoverableDays: options.recoverableDays, clock: options.clock, onChange: options.persistPath ? persistTo(options.persistPath) : undefined },
    options.persistPath ? loadSnapshot(options.persistPath) : undefined,
  );
  const handler = new KeyVaultRequestHandler(vault, options);
  const server = createServer({ cert: options.tlsCertificate.cert, key: options.tlsCertificate.key }, (request, response) => {
    void handler.handle(request, response);
  });
  const host = options.host ?? '127.0.0.1';
  await listen(server, options.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://${urlHostFor(host)}:${port}`,
    port,
    close: () => closeServer(server),
  };
}

class KeyVaultRequestHandler {
  private readonly verifyAccessToken: (token: string) => Promise<boolean>;
  private readonly challenge: string;
  private readonly pageSize: number;

  constructor(
    private readonly vault: SecretVault,
    private readonly options: KeyVaultServerOptions,
  ) {
    this.verifyAccessToken = options.verifyAccessToken ?? (async (token) => token.length > 0);
    // The exact shape keyvault-common's parseWWWAuthenticateHeader reads: the tenant is the
    // authorization URL's path, the scope is `${resource}/.default`.
    this.challenge = `Bearer authorization="${options.authorityHost.replace(/\/+$/, '')}/${options.tenantId}", resource="${KEY_VAULT_RESOURCE}"`;
    this.pageSize = Math.min(Math.max(1, options.pageSize ?? MAX_PAGE_SIZE), MAX_PAGE_SIZE);
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'https://localhost');
    let reply: JsonReply;
    try {
      reply = await this.reply(method, url, request);
    } catch (error: unknown) {
      reply = errorReply(error);
    }
    this.send(response, reply);
    if (!this.options.onRequest) return;
    const errorCode = (reply.body as { error?: { code?: string } } | undefined)?.error?.code;
    this.options.onRequest({ method, path: url.pathname, status: reply.status, ...(errorCode ? { errorCode } : {}) });
  }

  private async reply(method: string, url: URL, request: IncomingMessage): Promise<JsonReply> {
    const unauthenticated = await this.authenticate(request);
    if (unauthenticated) return unauthenticated;
    if (!url.searchParams.get('api-version')) {
      throw new KeyVaultServiceError(400, 'BadParameter', "The 'api-version' query parameter is missing.");
    }
    const segments = url.pathname.split('/').slice(1).map(decodePathSegment);
    const vaultUrl = `https://${request.headers.host ?? 'localhost'}`;
    return this.route({ method, url, segments, vaultUrl, request });
  }

  /** undefined when the request carries an acceptable bearer token; else the 401 to send. */
  private async authenticate(request: IncomingMessage): Promise<JsonReply | undefined> {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (token && (await this.verifyAccessToken(token).catch(() => false))) return undefined;
    return {
      status: 401,
      headers: { 'www-authenticate': this.challenge },
      body: {
        error: {
          code: 'Unauthorized',
          message: token ? 'The access token was rejected.' : 'AKV10000: Request is missing a Bearer or PoP token.',
        },
      },
    };
  }

  private async route(req: ParsedRequest): Promise<JsonReply> {
    const [collection, name, third] = req.segments;
    const depth = req.segments.length;
    if (collection === 'secrets') {
      if (depth === 1 || (depth === 2 && name === '')) return this.only(req, 'GET', () => this.listSecrets(req));
      if (depth === 2) return this.secretResource(req, name);
      if (depth === 3 && third === 'versions') return this.only(req, 'GET', () => this.listVersions(req, name));
      if (depth === 3) return this.versionResource(req, name, third);
    }
    if (collection === 'deletedsecrets') {
      if (depth === 1 || (depth === 2 && name === '')) return this.only(req, 'GET', () => this.listDeletedSecrets(req));
      if (depth === 2) return this.deletedSecretResource(req, name);
      if (depth === 3 && third === 'recover') return this.only(req, 'POST', () => this.recover(req, name));
    }
    throw new KeyVaultServiceError(404, 'NotFound', `No Key Vault operation matches ${req.method} ${req.url.pathname}.`);
  }

  /** /secrets/{name}: set, delete, and GET meaning the latest version. */
  private async secretResource(req: ParsedRequest, name: string): Promise<JsonReply> {
    const format = this.format(req);
    switch (req.method) {
      case 'PUT': {
        const body = await readJson(req.request, setSecretBody);
        if (Buffer.byteLength(body.value, 'utf8') > MAX_SECRET_VALUE_BYTES) {
          throw new KeyVaultServiceError(400, 'BadParameter', `The secret value exceeds the maximum size of ${MAX_SECRET_VALUE_BYTES} bytes.`);
        }
        const { secret, version } = this.vault.setSecret(name, body);
        return ok(format.secretBundle(secret, version, true));
      }
      case 'GET': {
        const { secret, version } = this.vault.readSecret(name);
        return ok(format.secretBundle(secret, version, true));
      }
      case 'DELETE':
        return ok(format.deletedBundle(this.vault.deleteSecret(name)));
      default:
        throw methodNotAllowed(req);
    }
  }

  /** /secrets/{name}/{version}: an empty version means the latest. */
  private async versionResource(req: ParsedRequest, name: string, version: string): Promise<JsonReply> {
    const format = this.format(req);
    switch (req.method) {
      case 'GET': {
        const found = this.vault.readSecret(name, version || undefined);
        return ok(format.secretBundle(found.secret, found.version, true));
      }
      case 'PATCH': {
        const body = await readJson(req.request, updateSecretBody);
        const found = this.vault.updateSecret(name, version || undefined, body);
        // Key Vault's update answers the bundle without the value.
        return ok(format.secretBundle(found.secret, found.version, false));
      }
      default:
        throw methodNotAllowed(req);
    }
  }

  private async deletedSecretResource(req: ParsedRequest, name: string): Promise<JsonReply> {
    switch (req.method) {
      case 'GET':
        return ok(this.format(req).deletedBundle(this.vault.getDeletedSecret(name)));
      case 'DELETE':
        this.vault.purgeDeletedSecret(name);
        return { status: 204 };
      default:
        throw methodNotAllowed(req);
    }
  }

  private recover(req: ParsedRequest, name: string): JsonReply {
    const secret = this.vault.recoverDeletedSecret(name);
    const versions = secret.versions;
    return ok(this.format(req).secretBundle(secret, versions[versions.length - 1], false));
  }

  private listSecrets(req: ParsedRequest): JsonReply {
    const format = this.format(req);
    const rows = this.vault.listSecrets().map((secret) => ({ sortKey: secret.name.toLowerCase(), item: format.secretItem(secret) }));
    return ok(this.page(req, rows));
  }

  private listVersions(req: ParsedRequest, name: string): JsonReply {
    const format = this.format(req);
    const secret = { name, versions: this.vault.listVersions(name) };
    const rows = secret.versions.map((version, index) => ({ sortKey: String(index).padStart(8, '0'), item: format.versionItem(secret, version) }));
    return ok(this.page(req, rows));
  }

  private listDeletedSecrets(req: ParsedRequest): JsonReply {
    const format = this.format(req);
    const rows = this.vault.listDeletedSecrets().map((deleted) => ({ sortKey: deleted.secret.name.toLowerCase(), item: format.deletedItem(deleted) }));
    return ok(this.page(req, rows));
  }

  /**
   * One page of a list, with `nextLink` when more remain. The skip token names the last row
   * returned, so a page stays correct when rows are added or removed between calls.
   */
  private page<T>(req: ParsedRequest, rows: readonly { sortKey: string; item: T }[]): { value: T[]; nextLink: string | null } {
    const size = this.requestedPageSize(req.url);
    const token = req.url.searchParams.get('$skiptoken');
    const after = token ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
    const remaining = after === undefined ? rows : rows.filter((row) => row.sortKey > after);
    const pageRows = remaining.slice(0, size);
    if (remaining.length <= size) return { value: pageRows.map((row) => row.item), nextLink: null };
    const next = new URL(`${req.vaultUrl}${req.url.pathname}`);
    next.searchParams.set('api-version', req.url.searchParams.get('api-version') ?? '');
    next.searchParams.set('$skiptoken', Buffer.from(pageRows[pageRows.length - 1].sortKey, 'utf8').toString('base64url'));
    next.searchParams.set('maxresults', String(size));
    return { value: pageRows.map((row) => row.item), nextLink: next.toString() };
  }

  private requestedPageSize(url: URL): number {
    const requested = url.searchParams.get('maxresults');
    if (requested === null) return this.pageSize;
    const size = Number(requested);
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
      throw new KeyVaultServiceError(400, 'BadParameter', `maxresults must be an integer from 1 to ${MAX_PAGE_SIZE}.`);
    }
    return Math.min(size, this.pageSize);
  }

  private only(req: ParsedRequest, method: string, answer: () => JsonReply): JsonReply {
    if (req.method !== method) throw methodNotAllowed(req);
    return answer();
  }

  private format(req: ParsedRequest): WireFormat {
    return new WireFormat(req.vaultUrl, this.vault.recoverableDays);
  }

  private send(response: ServerResponse, reply: JsonReply): void {
    const headers: Record<string, string> = {
      'x-ms-request-id': randomUUID(),
      'x-ms-keyvault-service-version': SERVICE_VERSION,
      'cache-control': 'no-cache',
      ...reply.headers,
    };
    if (reply.body === undefined) {
      response.writeHead(reply.status, headers).end();
      return;
    }
    const payload = JSON.stringify(reply.body);
    response
      .writeHead(reply.status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(payload)) })
      .end(payload);
  }
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new KeyVaultServiceError(400, 'BadParameter', 'The request URI is malformed.');
  }
}

function ok(body: unknown): JsonReply {
  return { status: 200, body };
}

function methodNotAllowed(req: ParsedRequest): KeyVaultServiceError {
  return new KeyVaultServiceError(405, 'MethodNotAllowed', `The method ${req.method} is not allowed on ${req.url.pathname}.`);
}

function errorReply(error: unknown): JsonReply {
  if (error instanceof KeyVaultServiceError) {
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message, ...(error.innerCode ? { innererror: { code: error.innerCode } } : {}) } },
    };
  }
  // The message of an unexpected failure may quote request data: keep it out of the response.
  return { status: 500, body: { error: { code: 'InternalServerError', message: 'The local Key Vault failed to handle the request.' } } };
}

async function readJson<Schema extends z.ZodType>(request: IncomingMessage, schema: Schema): Promise<z.infer<Schema>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new KeyVaultServiceError(413, 'RequestEntityTooLarge', 'The request body is too large.');
    chunks.push(chunk);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new KeyVaultServiceError(400, 'BadParameter', 'The request body is not valid JSON.');
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    // Issues name paths and rules, never the submitted values.
    const detail = result.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
    throw new KeyVaultServiceError(400, 'BadParameter', `Invalid request body: ${detail}`);
  }
  return result.data;
}

function loadSnapshot(path: string): VaultSnapshot | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as VaultSnapshot;
  } catch (error: unknown) {
    throw new Error(`The local Key Vault state file ${path} is unreadable (${(error as Error).message}); delete it or run npm run dev:reset.`);
  }
}

/** Writes the whole state after each change, through a rename so a crash never leaves half a file. */
function persistTo(path: string): (snapshot: VaultSnapshot) => void {
  return (snapshot) => {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(snapshot), { mode: 0o600 });
    renameSync(temporary, path);
  };
}

function urlHostFor(host: string): string {
  if (host === '127.0.0.1' || host === '::1' || host === 'localhost' || host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

