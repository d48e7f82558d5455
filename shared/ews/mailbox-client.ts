/**
 * The connection factory: one MailboxClient per (EWS URL, credential, mailbox). Each EWS call gets
 * a fresh ExchangeService and transport (cheap objects), so calls on one client may run concurrently
 * and every failure is classified with the record of its own HTTP exchange.
 */
import type { ExchangeCredentials, ExchangeService, ExchangeVersion } from 'ews-javascript-api';
import type { SecretString } from '../logging/secret-string';
import { classifyEwsFailure } from './error-classifier';
import { ewsApi } from './ews-api';
import { settleWithin } from '../http/outbound-guard';
import { EwsAuthenticationError, EwsConfigurationError, EwsCredentialError, EwsUnavailableError } from './errors';
import type { SoapRequestContext } from './soap/request-builder';
import { RecordingTransport, type TransportSettings } from './transport';

/** How we log on to Exchange. Passwords and tokens stay SecretStrings until the request is built. */
export type EwsCredential =
  | { readonly kind: 'basic' | 'ntlm'; readonly username: string; readonly password: SecretString }
  | {
      readonly kind: 'bearer';
      /** A current access token for the EWS resource (audience https://outlook.office365.com). Called once per EWS request; cache inside. */
      getToken(): Promise<SecretString>;
      /** Called once after a 401 before the request is retried, e.g. to drop a cached token. Without it a 401 fails at once. */
      onUnauthorized?(): Promise<void> | void;
    }
  | {
      /** HTTP Negotiate (SPNEGO/Kerberos) for a service account; the token source is shared/auth/kerberos. */
      readonly kind: 'negotiate';
      /** A fresh token per request. Failures carry a `code`, and `transient: true` when the KDC could not be reached. */
      getToken(): Promise<SecretString>;
      /** Called once after a 401 before the request is retried (drops cached tickets). */
      onUnauthorized?(): Promise<void> | void;
    };

/**
 * A bearer credential whose token source is asked for a fresh token (not the cached one) on the
 * first request after Exchange answered 401, and for the cached one otherwise.
 */
export function refreshingBearerCredential(acquire: (options: { readonly forceRefresh: boolean }) => Promise<SecretString>): EwsCredential {
  let refreshNext = false;
  return {
    kind: 'bearer',
    async getToken() {
      const forceRefresh = refreshNext;
      refreshNext = false;
      return acquire({ forceRefresh });
    },
    onUnauthorized() {
      refreshNext = true;
    },
  };
}

/**
 * - impersonation: a service account (Basic/NTLM) acting as the mailbox through ExchangeImpersonation.
 * - appOnly: an application token (full_access_as_app); Exchange Online demands impersonation of the mailbox.
 * - delegated: a user's own token (or password) reaching the user's own or a shared mailbox, no impersonation.
 */
export type MailboxAccess = 'impersonation' | 'appOnly' | 'delegated';

export type EwsServerVersion = keyof typeof ExchangeVersion;

export interface MailboxClientOptions {
  /** Primary SMTP address of the mailbox every call works on. */
  readonly mailbox: string;
  /** Defaults: basic/ntlm → impersonation, bearer → appOnly. */
  readonly access?: MailboxAccess;
  /** Per HTTP request, total (a slow-dripping answer ends too). Default 100,000 ms (the EWS Managed API's default). */
  readonly timeoutInMs?: number;
  /** Largest response body accepted, cut off while it arrives. Default 32 MiB (DEFAULT_MAX_RESPONSE_BYTES). */
  readonly maxResponseBytes?: number;
  readonly userAgent?: string;
  /** RequestServerVersion header. Default Exchange2013_SP1 (Exchange 2013+ and Exchange Online). */
  readonly requestedServerVersion?: EwsServerVersion;
  /** Allow http:// — only to a loopback host, and only where the caller's environment is development. */
  readonly allowInsecureHttp?: boolean;
  /** Host name resolution for every connection; the outbound address policy (publicOnlyLookup) refuses private addresses here. */
  readonly lookup?: TransportSettings['lookup'];
}

export interface MailboxClient {
  readonly ewsUrl: string;
  readonly mailbox: string;
  readonly access: MailboxAccess;
  /**
   * Runs one EWS call on a fresh ExchangeService bound to this mailbox. Failures reject with a typed
   * EwsError (see errors.ts). A bearer credential with onUnauthorized gets one retry after a 401.
   */
  execute<T>(operation: string, call: (service: ExchangeService) => Promise<T>): Promise<T>;
  /**
   * The hot path's way in (soap/fast-operations.ts): posts the SOAP envelope `build` returns over the
   * same transport, with the same authentication, impersonation and failure classification as
   * execute(), and resolves with the text of the HTTP 200 answer.
   */
  postSoap(operation: string, build: (context: SoapRequestContext) => string): Promise<string>;
}

export const DEFAULT_EWS_TIMEOUT_IN_MS = 100_000;
export const DEFAULT_USER_AGENT = 'ExchangeConnector/0.1';
/** Time after the transport's deadline for the library to hand back the refusal. */
const SETTLE_GRACE_IN_MS = 2_000;

// Authentication is applied by our transport (headers or the NTLM handshake), so ews-javascript-api's
// credential object must not write an Authorization header of its own. Defined on first use (lazy ews-javascript-api).
let transportAppliedCredentials: (new () => ExchangeCredentials) | undefined;
function credentialsAppliedByTransport(): ExchangeCredentials {
  transportAppliedCredentials ??= class TransportAppliedCredentials extends ewsApi().ExchangeCredentials {
    override PrepareWebRequest(): void {}
  };
  return new transportAppliedCredentials();
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Checks the EWS URL: https, or http to loopback when explicitly allowed. */
export function validateEwsUrl(ewsUrl: string, allowInsecureHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(ewsUrl);
  } catch {
    throw new EwsConfigurationError('InvalidEndpoint', `The EWS URL is not a valid absolute URL.`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && allowInsecureHttp && LOOPBACK_HOSTS.has(url.hostname)) return url;
  if (url.protocol === 'http:') {
    throw new EwsConfigurationError('InsecureEndpoint', `The EWS URL must use https (http is accepted only for a loopback host in development): ${url.origin}`);
  }
  throw new EwsConfigurationError('InvalidEndpoint', `The EWS URL must be an https URL, not ${url.protocol}`);
}

function defaultAccess(credential: EwsCredential): MailboxAccess {
  return credential.kind === 'bearer' ? 'appOnly' : 'impersonation';
}

function checkAccess(access: MailboxAccess, credential: EwsCredential): void {
  if (access === 'appOnly' && credential.kind !== 'bearer') {
    throw new EwsConfigurationError('UnsupportedAccess', 'App-only access needs a bearer credential (an application token).');
  }
  if (access === 'impersonation' && credential.kind === 'bearer') {
    throw new EwsConfigurationError('UnsupportedAccess', 'Service-account impersonation needs a basic, ntlm or negotiate credential; use appOnly for application tokens.');
  }
}

/** A Negotiate token, or the typed EWS error for why none could be made (nothing was sent to Exchange). */
async function negotiateAuthorization(getToken: () => Promise<SecretString>): Promise<string> {
  try {
    return 'Negotiate ' + (await getToken()).reveal();
  } catch (thrown: unknown) {
    const failure = thrown as { code?: unknown; transient?: unknown; message?: unknown };
    const message = typeof failure.message === 'string' ? failure.message : 'Kerberos failed';
    if (failure.transient === true) throw new EwsUnavailableError('NetworkError', message);
    throw new EwsCredentialError(typeof failure.code === 'string' ? failure.code : 'KerberosFailure', message);
  }
}

function basicAuthorization(username: string, password: SecretString): string {
  return 'Basic ' + Buffer.from(`${username}:${password.reveal()}`, 'utf8').toString('base64');
}

/** Creates the client for one mailbox. Throws EwsConfigurationError for a bad URL or an access/credential mismatch. */
export function createMailboxClient(ewsUrl: string, credential: EwsCredential, options: MailboxClientOptions): MailboxClient {
  const url = validateEwsUrl(ewsUrl, options.allowInsecureHttp ?? false);
  const mailbox = options.mailbox.trim();
  if (!/^[^@\s]+@[^@\s]+$/.test(mailbox)) throw new EwsConfigurationError('InvalidArgument', 'The mailbox must be an SMTP address.');
  const access = options.access ?? defaultAccess(credential);
  checkAccess(access, credential);
  const versionName: EwsServerVersion = options.requestedServerVersion ?? 'Exchange2013_SP1';
  const timeoutInMs = options.timeoutInMs ?? DEFAULT_EWS_TIMEOUT_IN_MS;
  const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
  const impersonate = access !== 'delegated';

  async function transportSettings(): Promise<TransportSettings> {
    // X-AnchorMailbox routes the request to the mailbox's server (required with impersonation in Exchange Online).
    const headers: Record<string, string> = { 'User-Agent': userAgent, 'X-AnchorMailbox': mailbox };
    if (credential.kind === 'basic') headers.Authorization = basicAuthorization(credential.username, credential.password);
    if (credential.kind === 'bearer') headers.Authorization = 'Bearer ' + (await credential.getToken()).reveal();
    if (credential.kind === 'negotiate') headers.Authorization = await negotiateAuthorization(() => credential.getToken());
    const ntlm = credential.kind === 'ntlm' ? { username: credential.username, password: credential.password.reveal() } : undefined;
    return {
      timeoutInMs,
      headers,
      ...(options.maxResponseBytes !== undefined ? { maxResponseBytes: options.maxResponseBytes } : {}),
      ...(ntlm ? { ntlm } : {}),
      ...(options.lookup ? { lookup: options.lookup } : {}),
    };
  }

  function exchangeService(transport: RecordingTransport): ExchangeService {
    const api = ewsApi();
    const service = new api.ExchangeService(api.ExchangeVersion[versionName]);
    service.Url = new api.Uri(url.href);
    service.Credentials = credentialsAppliedByTransport();
    service.XHRApi = transport;
    service.Timeout = timeoutInMs;
    if (impersonate) service.ImpersonatedUserId = new api.ImpersonatedUserId(api.ConnectingIdType.SmtpAddress, mailbox);
    return service;
  }

  /** One call with one retry after a 401 when the bearer credential can refresh its token. */
  async function withTransport<T>(operation: string, call: (transport: RecordingTransport) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const transport = new RecordingTransport(await transportSettings());
      try {
        // The transport aborts at timeoutInMs; this bound holds even if the library never settles its promise.
        return await settleWithin(call(transport), timeoutInMs + SETTLE_GRACE_IN_MS, () => new EwsUnavailableError('Timeout', `${operation}: no result within ${timeoutInMs} ms.`));
      } catch (thrown: unknown) {
        const error = classifyEwsFailure(thrown, transport.failure, operation);
        const canRefresh = (credential.kind === 'bearer' || credential.kind === 'negotiate') && credential.onUnauthorized !== undefined && attempt === 1;
        if (!(error instanceof EwsAuthenticationError) || !canRefresh) throw error;
        await credential.onUnauthorized?.();
      }
    }
  }

  const soapContext: SoapRequestContext = { serverVersion: versionName, mailbox, impersonate };

  return {
    ewsUrl: url.href,
    mailbox,
    access,
    execute<T>(operation: string, call: (service: ExchangeService) => Promise<T>): Promise<T> {
      return withTransport(operation, (transport) => call(exchangeService(transport)));
    },
    postSoap(operation: string, build: (context: SoapRequestContext) => string): Promise<string> {
      const body = build(soapContext);
      return withTransport(operation, async (transport) => {
        const response = await transport.xhr({ type: 'POST', url: url.href, data: body, headers: { 'Content-Type': 'text/xml; charset=utf-8', Accept: 'text/xml' } });
        return response.responseText;
      });
    },
  };
}
