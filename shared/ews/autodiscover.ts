/**
 * "EWS URL from an email address" for on-premises groups: SOAP Autodiscover (GetUserSettings,
 * MS-OXWSADISC) and POX Autodiscover (MS-OXDSCLI), over our own guarded transport, so failures
 * are classified like every other EWS call and every hop is ours to check.
 *
 * Candidates, in the order Microsoft documents for clients outside the domain: an explicit
 * Autodiscover URL when the administrator gives one, else https://{domain} and
 * https://autodiscover.{domain}, each asked over SOAP (autodiscover.svc) and then POX
 * (autodiscover.xml). Deliberately not tried: the Active Directory SCP lookup (needs domain
 * membership), the unauthenticated HTTP redirect method and DNS SRV records (both would let DNS
 * send the service account's password to another host).
 *
 * Autodiscover answers may redirect: to another Autodiscover URL (SOAP RedirectUrl, POX
 * redirectUrl) or to another address (SOAP RedirectAddress, POX redirectAddr). We follow them
 * ourselves (ews-javascript-api would follow them, and a redirected address through SRV and HTTP
 * redirects, without asking us): every URL we would contact, first or redirected, passes
 * `checkUrl` (the outbound address policy) before anything is sent, and `lookup` checks the
 * addresses again at connect time. At most `maxRedirects` hops, never the same (URL, address)
 * twice, and the whole discovery ends within `totalTimeoutInMs`.
 */
import { XMLBuilder } from 'fast-xml-parser';
import { settleWithin } from '../http/outbound-guard';
import { classifyEwsFailure } from './error-classifier';
import { EwsConfigurationError, EwsEndpointNotFoundError, EwsError, EwsProtocolError, EwsResponseError, EwsUnavailableError } from './errors';
import { DEFAULT_USER_AGENT, validateEwsUrl, type EwsCredential } from './mailbox-client';
import { child, childText, childrenNamed, path, readXml, XmlReadError, type XmlElement } from './soap/xml-reader';
import { RecordingTransport, type NodeStyleLookup, type TransportSettings } from './transport';

export const AUTODISCOVER_PATH = '/autodiscover/autodiscover.svc';
export const AUTODISCOVER_POX_PATH = '/autodiscover/autodiscover.xml';
/** Per request. Autodiscover answers are small and quick; a host that does not answer is skipped soon. */
export const DEFAULT_AUTODISCOVER_TIMEOUT_IN_MS = 15_000;
/** The whole discovery, every candidate and redirect included (an admin request waits for it). */
export const DEFAULT_AUTODISCOVER_TOTAL_TIMEOUT_IN_MS = 45_000;
/** Redirects followed (URL and address redirects together); Exchange deployments need one or two. */
export const MAX_AUTODISCOVER_REDIRECTS = 5;
/** Autodiscover answers are a few KiB; anything near this is not one. */
const MAX_AUTODISCOVER_RESPONSE_BYTES = 1024 * 1024;

export interface AutodiscoverOptions {
  /** Per request; default 15 s (never beyond what is left of totalTimeoutInMs). */
  readonly timeoutInMs?: number;
  /** The whole discovery; default 45 s. */
  readonly totalTimeoutInMs?: number;
  /** Redirects followed at most; default 5. */
  readonly maxRedirects?: number;
  readonly userAgent?: string;
  /** Allow http:// to a loopback host (development only), as for EWS URLs. */
  readonly allowInsecureHttp?: boolean;
  /** Ask this Autodiscover endpoint instead of deriving the candidates from the address's domain (.xml: POX, otherwise SOAP). */
  readonly autodiscoverUrl?: string;
  /** Called before any URL is contacted (candidates and redirects) and for the EWS URL found; throws to refuse it. */
  readonly checkUrl?: (url: URL) => Promise<void>;
  /** Resolver for every connection (the outbound address policy at connect time). */
  readonly lookup?: NodeStyleLookup;
  /** Told of each attempt as it ends (so a caller can show them when discovery fails). */
  readonly onAttempt?: (attempt: AutodiscoverAttempt) => void;
}

/** How one request went, for the administrator: which hosts were asked and what each said. */
export interface AutodiscoverAttempt {
  readonly url: string;
  readonly protocol: 'soap' | 'pox';
  readonly outcome: 'found' | 'redirected' | 'refusedByPolicy' | 'failed';
  /** The typed error's code when it failed (Unauthorized, HostNotFound, Timeout, ...), or the redirect kind. */
  readonly code?: string;
  /** For redirects: the URL or address it pointed to. */
  readonly redirectTo?: string;
}

export interface DiscoveredEwsEndpoint {
  readonly ewsUrl: string;
  readonly autodiscoverUrl: string;
  /** The address Exchange says is the mailbox's primary SMTP address (aliases resolve to it). */
  readonly primarySmtpAddress: string | undefined;
  readonly displayName: string | undefined;
  readonly attempts: readonly AutodiscoverAttempt[];
}

interface Candidate {
  readonly url: string;
  readonly protocol: 'soap' | 'pox';
}

/** The candidate Autodiscover URLs for an address (SOAP endpoints), most specific first. */
export function autodiscoverCandidates(emailAddress: string, explicitUrl?: string): string[] {
  return candidatesFor(emailAddress, explicitUrl)
    .filter((candidate) => candidate.protocol === 'soap' || explicitUrl !== undefined)
    .map((candidate) => candidate.url);
}

function candidatesFor(emailAddress: string, explicitUrl: string | undefined): Candidate[] {
  if (explicitUrl) return [{ url: explicitUrl, protocol: /\.xml$/i.test(new URL(explicitUrl, 'https://x/').pathname) ? 'pox' : 'soap' }];
  const domain = emailDomain(emailAddress);
  const hosts = [domain, `autodiscover.${domain}`];
  return hosts.flatMap((host): Candidate[] => [
    { url: `https://${host}${AUTODISCOVER_PATH}`, protocol: 'soap' },
    { url: `https://${host}${AUTODISCOVER_POX_PATH}`, protocol: 'pox' },
  ]);
}

function emailDomain(emailAddress: string): string {
  const match = /^[^@\s<>&"']+@([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+)$/i.exec(emailAddress.trim());
  // A top-level label with a letter: an IP literal is not a domain anyone publishes Autodiscover for.
  if (!match || !/[a-z]/i.test(match[1]!.split('.').pop()!)) throw new EwsConfigurationError('InvalidArgument', 'The email address is not an address with a DNS domain.');
  return match[1]!.toLowerCase();
}

function transportSettings(credential: EwsCredential, timeoutInMs: number, userAgent: string, lookup: NodeStyleLookup | undefined, expect: 'soap' | 'xml'): TransportSettings {
  const common = { timeoutInMs, maxResponseBytes: MAX_AUTODISCOVER_RESPONSE_BYTES, expect, ...(lookup ? { lookup } : {}) };
  if (credential.kind === 'basic') {
    const token = Buffer.from(`${credential.username}:${credential.password.reveal()}`, 'utf8').toString('base64');
    return { ...common, headers: { 'User-Agent': userAgent, Authorization: `Basic ${token}` } };
  }
  if (credential.kind === 'ntlm') return { ...common, headers: { 'User-Agent': userAgent }, ntlm: { username: credential.username, password: credential.password.reveal() } };
  throw new EwsConfigurationError('UnsupportedAccess', 'Autodiscover from an address is for on-premises service accounts (basic or ntlm credentials).');
}

// ---- requests (names are constants; the address and URL are escaped values) -----------------

const NS_AUTODISCOVER = 'http://schemas.microsoft.com/exchange/2010/Autodiscover';
const GET_USER_SETTINGS_ACTION = `${NS_AUTODISCOVER}/Autodiscover/GetUserSettings`;
const SETTINGS = ['ExternalEwsUrl', 'InternalEwsUrl', 'AutoDiscoverSMTPAddress', 'UserDisplayName'];
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true, processEntities: true });

function soapRequest(url: string, emailAddress: string): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'utf-8' },
    'soap:Envelope': {
      '@_xmlns:soap': 'http://schemas.xmlsoap.org/soap/envelope/',
      '@_xmlns:a': 'http://www.w3.org/2005/08/addressing',
      '@_xmlns:d': NS_AUTODISCOVER,
      'soap:Header': {
        'd:RequestedServerVersion': 'Exchange2013',
        'a:Action': { '@_soap:mustUnderstand': '1', '#text': GET_USER_SETTINGS_ACTION },
        'a:To': { '@_soap:mustUnderstand': '1', '#text': url },
      },
      'soap:Body': {
        'd:GetUserSettingsRequestMessage': {
          'd:Request': { 'd:Users': { 'd:User': { 'd:Mailbox': emailAddress } }, 'd:RequestedSettings': { 'd:Setting': SETTINGS } },
        },
      },
    },
  }) as string;
}

function poxRequest(emailAddress: string): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'utf-8' },
    Autodiscover: {
      '@_xmlns': 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006',
      Request: { EMailAddress: emailAddress, AcceptableResponseSchema: 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a' },
    },
  }) as string;
}

// ---- answers ---------------------------------------------------------------------------------

type Answer =
  | { readonly kind: 'settings'; readonly ewsUrl: string; readonly primarySmtpAddress: string | undefined; readonly displayName: string | undefined }
  | { readonly kind: 'redirectUrl'; readonly target: string }
  | { readonly kind: 'redirectAddress'; readonly target: string };

function parse(xml: string, what: string): XmlElement {
  try {
    return readXml(xml, { maxChars: MAX_AUTODISCOVER_RESPONSE_BYTES, maxDepth: 32, maxElements: 10_000 });
  } catch (error) {
    if (error instanceof XmlReadError) throw new EwsProtocolError(`${what}: the answer could not be read: ${error.message}`, { cause: error });
    throw error;
  }
}

function text(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function readSoapAnswer(xml: string, emailAddress: string): Answer {
  const response = path(parse(xml, 'Autodiscover'), 'Body', 'GetUserSettingsResponseMessage', 'Response');
  if (!response) throw new EwsProtocolError('Autodiscover: the answer is not a GetUserSettings response.', { code: 'MalformedResponse' });
  const topCode = text(childText(response, 'ErrorCode')) ?? 'NoError';
  if (topCode !== 'NoError') throw new EwsResponseError(topCode, text(childText(response, 'ErrorMessage')) ?? 'Autodiscover refused the request.');
  const user = child(child(response, 'UserResponses'), 'UserResponse');
  if (!user) throw new EwsProtocolError('Autodiscover: the answer has no user response.', { code: 'MalformedResponse' });
  const code = text(childText(user, 'ErrorCode')) ?? 'NoError';
  const redirect = text(childText(user, 'RedirectTarget'));
  if (code === 'RedirectUrl' && redirect) return { kind: 'redirectUrl', target: redirect };
  if (code === 'RedirectAddress' && redirect) return { kind: 'redirectAddress', target: redirect };
  if (code === 'InvalidUser') throw new EwsResponseError('InvalidUser', `Exchange does not know the address ${emailAddress}.`);
  if (code !== 'NoError') throw new EwsResponseError(code, text(childText(user, 'ErrorMessage')) ?? 'Autodiscover refused the request.');
  const settings = new Map<string, string>();
  for (const setting of childrenNamed(child(user, 'UserSettings'), 'UserSetting')) {
    const name = text(childText(setting, 'Name'));
    const value = text(childText(setting, 'Value'));
    if (name && value) settings.set(name, value);
  }
  const ewsUrl = settings.get('ExternalEwsUrl') ?? settings.get('InternalEwsUrl');
  if (!ewsUrl) throw new EwsResponseError('NoEwsUrl', 'Autodiscover answered, but without an EWS URL for this mailbox.');
  return { kind: 'settings', ewsUrl, primarySmtpAddress: settings.get('AutoDiscoverSMTPAddress'), displayName: settings.get('UserDisplayName') };
}

function readPoxAnswer(xml: string, emailAddress: string): Answer {
  const root = parse(xml, 'Autodiscover');
  const response = root.name === 'Autodiscover' ? child(root, 'Response') : undefined;
  if (!response) throw new EwsProtocolError('Autodiscover: the answer is not a POX Autodiscover response.', { code: 'MalformedResponse' });
  const error = child(response, 'Error');
  if (error) {
    const code = text(childText(error, 'ErrorCode'));
    // 500: "The email address can't be found." — Exchange's POX answer for an unknown user.
    if (code === '500') throw new EwsResponseError('InvalidUser', `Exchange does not know the address ${emailAddress}.`);
    throw new EwsResponseError(`Autodiscover${code ?? 'Error'}`, text(childText(error, 'Message')) ?? 'Autodiscover refused the request.');
  }
  const account = child(response, 'Account');
  const action = text(childText(account, 'Action'));
  const redirectUrl = text(childText(account, 'RedirectUrl'));
  const redirectAddress = text(childText(account, 'RedirectAddr'));
  if (action === 'redirectUrl' && redirectUrl) return { kind: 'redirectUrl', target: redirectUrl };
  if (action === 'redirectAddr' && redirectAddress) return { kind: 'redirectAddress', target: redirectAddress };
  const protocols = childrenNamed(account, 'Protocol');
  const ewsUrlOf = (type: string) => text(childText(protocols.find((p) => text(childText(p, 'Type')) === type), 'EwsUrl'));
  // EXPR is the outside view (external URL), EXCH the inside one: as ExternalEwsUrl before InternalEwsUrl.
  const ewsUrl = ewsUrlOf('EXPR') ?? ewsUrlOf('EXCH');
  if (!ewsUrl) throw new EwsResponseError('NoEwsUrl', 'Autodiscover answered, but without an EWS URL for this mailbox.');
  const user = child(response, 'User');
  return { kind: 'settings', ewsUrl, primarySmtpAddress: text(childText(user, 'AutoDiscoverSMTPAddress')), displayName: text(childText(user, 'DisplayName')) };
}

async function ask(candidate: Candidate, url: URL, emailAddress: string, credential: EwsCredential, timeoutInMs: number, options: AutodiscoverOptions): Promise<Answer> {
  const transport = new RecordingTransport(transportSettings(credential, timeoutInMs, options.userAgent ?? DEFAULT_USER_AGENT, options.lookup, candidate.protocol === 'soap' ? 'soap' : 'xml'));
  const body = candidate.protocol === 'soap' ? soapRequest(url.href, emailAddress) : poxRequest(emailAddress);
  const headers: Record<string, string> = { 'Content-Type': 'text/xml; charset=utf-8', Accept: 'text/xml' };
  if (candidate.protocol === 'soap') headers.SOAPAction = `"${GET_USER_SETTINGS_ACTION}"`;
  let xml: string;
  try {
    const response = await settleWithin(transport.xhr({ type: 'POST', url: url.href, data: body, headers }), timeoutInMs + 1_000, () => new EwsUnavailableError('Timeout', `Autodiscover: no answer within ${timeoutInMs} ms.`));
    xml = response.responseText;
  } catch (thrown: unknown) {
    throw classifyEwsFailure(thrown, transport.failure, 'Autodiscover');
  }
  return candidate.protocol === 'soap' ? readSoapAnswer(xml, emailAddress) : readPoxAnswer(xml, emailAddress);
}

/**
 * Finds the EWS URL of `emailAddress`'s mailbox. Rejects with EwsResponseError 'InvalidUser'
 * when Exchange answered that it does not know the address (authoritative: no further candidate
 * is tried), EwsAuthenticationError when the credential was refused everywhere it was tried,
 * EwsProtocolError 'TooManyRedirects' / 'RedirectLoop' for a server that keeps redirecting,
 * EwsUnavailableError 'Timeout' past totalTimeoutInMs, and EwsEndpointNotFoundError 'NotFound'
 * when no candidate answered (its message names every URL tried and why each failed).
 */
export async function discoverEwsUrl(emailAddress: string, credential: EwsCredential, options: AutodiscoverOptions = {}): Promise<DiscoveredEwsEndpoint> {
  const totalTimeoutInMs = options.totalTimeoutInMs ?? DEFAULT_AUTODISCOVER_TOTAL_TIMEOUT_IN_MS;
  const attempts: AutodiscoverAttempt[] = [];
  const record = (attempt: AutodiscoverAttempt): void => {
    attempts.push(attempt);
    options.onAttempt?.(attempt);
  };
  const run = discover(emailAddress, credential, options, attempts, record, Date.now() + totalTimeoutInMs);
  // A bound on the whole, even if a request's own deadline were to fail.
  return settleWithin(run, totalTimeoutInMs + 2_000, () => new EwsUnavailableError('Timeout', `Autodiscover did not finish within ${totalTimeoutInMs} ms.`));
}

async function discover(
  emailAddress: string,
  credential: EwsCredential,
  options: AutodiscoverOptions,
  attempts: readonly AutodiscoverAttempt[],
  record: (attempt: AutodiscoverAttempt) => void,
  deadline: number,
): Promise<DiscoveredEwsEndpoint> {
  const allowInsecureHttp = options.allowInsecureHttp ?? false;
  const maxRedirects = options.maxRedirects ?? MAX_AUTODISCOVER_REDIRECTS;
  const perRequest = options.timeoutInMs ?? DEFAULT_AUTODISCOVER_TIMEOUT_IN_MS;
  const asked = new Set<string>();
  let address = emailAddress.trim();
  let queue = candidatesFor(address, options.autodiscoverUrl);
  let redirects = 0;
  let lastError: EwsError | undefined;

  const follow = (): void => {
    redirects++;
    if (redirects > maxRedirects) throw new EwsProtocolError(`Autodiscover redirected more than ${maxRedirects} times; stopped.`, { code: 'TooManyRedirects' });
  };

  while (queue.length > 0) {
    const candidate = queue.shift()!;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new EwsUnavailableError('Timeout', `Autodiscover did not finish in time; tried ${describe(attempts)}.`);
    let url: URL;
    try {
      url = validateEwsUrl(candidate.url, allowInsecureHttp);
    } catch (error) {
      const typed = error as EwsError;
      record({ url: candidate.url, protocol: candidate.protocol, outcome: 'failed', code: typed.code });
      lastError = typed;
      continue;
    }
    const key = `${candidate.protocol} ${url.href} ${address.toLowerCase()}`;
    if (asked.has(key)) throw new EwsProtocolError(`Autodiscover redirected back to ${url.href} for ${address}: a redirect loop.`, { code: 'RedirectLoop' });
    asked.add(key);
    try {
      await options.checkUrl?.(url);
    } catch {
      record({ url: url.href, protocol: candidate.protocol, outcome: 'refusedByPolicy' });
      continue;
    }
    let answer: Answer;
    try {
      answer = await ask(candidate, url, address, credential, Math.min(perRequest, remaining), options);
    } catch (error: unknown) {
      const typed = error instanceof EwsError ? error : classifyEwsFailure(error, undefined, 'Autodiscover');
      record({ url: url.href, protocol: candidate.protocol, outcome: 'failed', code: typed.code });
      if (typed.code === 'InvalidUser') throw typed;
      lastError = typed;
      continue;
    }
    if (answer.kind === 'redirectUrl') {
      record({ url: url.href, protocol: candidate.protocol, outcome: 'redirected', code: 'RedirectUrl', redirectTo: answer.target });
      follow();
      // The redirect is the server's authoritative answer: it replaces the remaining candidates.
      queue = [{ url: answer.target, protocol: candidate.protocol }];
      continue;
    }
    if (answer.kind === 'redirectAddress') {
      record({ url: url.href, protocol: candidate.protocol, outcome: 'redirected', code: 'RedirectAddress', redirectTo: answer.target });
      follow();
      emailDomain(answer.target);
      address = answer.target.trim();
      queue = candidatesFor(address, options.autodiscoverUrl);
      continue;
    }
    // The discovered URL is held to the same rules as one an administrator types.
    let ewsUrl: URL;
    try {
      ewsUrl = validateEwsUrl(answer.ewsUrl, allowInsecureHttp);
      await options.checkUrl?.(ewsUrl).catch(() => {
        throw new EwsConfigurationError('TargetAddressNotAllowed', `Autodiscover named ${ewsUrl.host} as the EWS server, which the outbound address policy does not allow.`);
      });
    } catch (error) {
      const typed = error as EwsError;
      record({ url: url.href, protocol: candidate.protocol, outcome: 'failed', code: typed.code });
      lastError = typed;
      continue;
    }
    record({ url: url.href, protocol: candidate.protocol, outcome: 'found' });
    return { ewsUrl: ewsUrl.href, autodiscoverUrl: url.href, primarySmtpAddress: answer.primarySmtpAddress, displayName: answer.displayName, attempts: [...attempts] };
  }
  if (lastError && lastError.kind === 'authentication') throw lastError;
  throw new EwsEndpointNotFoundError('NotFound', `No Autodiscover endpoint answered for ${emailAddress}; tried ${describe(attempts)}.`, lastError ? { cause: lastError } : {});
}

function describe(attempts: readonly AutodiscoverAttempt[]): string {
  return attempts.map((a) => `${a.url} (${a.outcome === 'refusedByPolicy' ? 'refused by the outbound address policy' : (a.code ?? a.outcome)})`).join(', ') || 'nothing';
}
