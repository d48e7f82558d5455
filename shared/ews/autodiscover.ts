/**
 * "EWS URL from an email address" for on-premises groups: SOAP Autodiscover (GetUserSettings,
 * MS-OXWSADISC) through ews-javascript-api, over our own transport so failures are classified like
 * every other EWS call.
 *
 * Candidates, in the order Microsoft documents for clients outside the domain: an explicit
 * Autodiscover URL when the administrator gives one, else https://{domain}/autodiscover/autodiscover.svc
 * and https://autodiscover.{domain}/autodiscover/autodiscover.svc. Deliberately not tried: the
 * Active Directory SCP lookup (needs domain membership), the unauthenticated HTTP redirect method
 * and DNS SRV records (both would let DNS send the service account's password to another host).
 * Each candidate passes `checkUrl` (the outbound address policy) before it is contacted.
 */
import { AutodiscoverErrorCode, AutodiscoverService, ExchangeCredentials, ExchangeVersion, Uri, UserSettingName } from 'ews-javascript-api';
import { classifyEwsFailure } from './error-classifier';
import { EwsConfigurationError, EwsEndpointNotFoundError, EwsError, EwsResponseError } from './errors';
import { DEFAULT_EWS_TIMEOUT_IN_MS, DEFAULT_USER_AGENT, validateEwsUrl, type EwsCredential } from './mailbox-client';
import { RecordingTransport, type TransportSettings } from './transport';

export const AUTODISCOVER_PATH = '/autodiscover/autodiscover.svc';

export interface AutodiscoverOptions {
  /** Per candidate; default the EWS default. */
  readonly timeoutInMs?: number;
  readonly userAgent?: string;
  /** Allow http:// to a loopback host (development only), as for EWS URLs. */
  readonly allowInsecureHttp?: boolean;
  /** Ask this Autodiscover endpoint instead of deriving the candidates from the address's domain. */
  readonly autodiscoverUrl?: string;
  /** Called before a candidate is contacted; throws to skip it (e.g. the outbound address policy). */
  readonly checkUrl?: (url: URL) => Promise<void>;
}

/** How one candidate went, for the administrator: which hosts were asked and why they did not answer. */
export interface AutodiscoverAttempt {
  readonly url: string;
  readonly outcome: 'found' | 'refusedByPolicy' | 'failed';
  /** The typed error's code when it failed (Unauthorized, HostNotFound, Timeout, ...). */
  readonly code?: string;
}

export interface DiscoveredEwsEndpoint {
  readonly ewsUrl: string;
  readonly autodiscoverUrl: string;
  /** The address Exchange says is the mailbox's primary SMTP address (aliases resolve to it). */
  readonly primarySmtpAddress: string | undefined;
  readonly displayName: string | undefined;
  readonly attempts: readonly AutodiscoverAttempt[];
}

/** The candidate Autodiscover URLs for an address, most specific first. */
export function autodiscoverCandidates(emailAddress: string, explicitUrl?: string): string[] {
  if (explicitUrl) return [explicitUrl];
  const domain = emailDomain(emailAddress);
  return [`https://${domain}${AUTODISCOVER_PATH}`, `https://autodiscover.${domain}${AUTODISCOVER_PATH}`];
}

function emailDomain(emailAddress: string): string {
  const match = /^[^@\s]+@([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+)$/i.exec(emailAddress.trim());
  // A top-level label with a letter: an IP literal is not a domain anyone publishes Autodiscover for.
  if (!match || !/[a-z]/i.test(match[1]!.split('.').pop()!)) throw new EwsConfigurationError('InvalidArgument', 'The email address is not an address with a DNS domain.');
  return match[1]!.toLowerCase();
}

// Our transport applies the Authorization header or the NTLM handshake.
class TransportAppliedCredentials extends ExchangeCredentials {
  override PrepareWebRequest(): void {}
}

function transportSettings(credential: EwsCredential, timeoutInMs: number, userAgent: string): TransportSettings {
  if (credential.kind === 'basic') {
    const token = Buffer.from(`${credential.username}:${credential.password.reveal()}`, 'utf8').toString('base64');
    return { timeoutInMs, headers: { 'User-Agent': userAgent, Authorization: `Basic ${token}` } };
  }
  if (credential.kind === 'ntlm') return { timeoutInMs, headers: { 'User-Agent': userAgent }, ntlm: { username: credential.username, password: credential.password.reveal() } };
  throw new EwsConfigurationError('UnsupportedAccess', 'Autodiscover from an address is for on-premises service accounts (basic or ntlm credentials).');
}

interface UserSettings {
  readonly ewsUrl: string;
  readonly primarySmtpAddress: string | undefined;
  readonly displayName: string | undefined;
}

async function askCandidate(url: URL, emailAddress: string, settings: TransportSettings): Promise<UserSettings> {
  const transport = new RecordingTransport(settings);
  const service = new AutodiscoverService(new Uri(url.href), ExchangeVersion.Exchange2013);
  service.Credentials = new TransportAppliedCredentials();
  service.XHRApi = transport;
  service.Timeout = settings.timeoutInMs;
  let response;
  try {
    response = await service.GetUserSettings(emailAddress, [UserSettingName.ExternalEwsUrl, UserSettingName.InternalEwsUrl, UserSettingName.AutoDiscoverSMTPAddress, UserSettingName.UserDisplayName]);
  } catch (thrown: unknown) {
    throw classifyEwsFailure(thrown, transport.failure, 'Autodiscover');
  }
  if (response.ErrorCode === AutodiscoverErrorCode.InvalidUser) {
    throw new EwsResponseError('InvalidUser', `Exchange does not know the address ${emailAddress}.`);
  }
  if (response.ErrorCode !== AutodiscoverErrorCode.NoError) {
    throw new EwsResponseError(AutodiscoverErrorCode[response.ErrorCode] ?? 'AutodiscoverError', response.ErrorMessage || 'Autodiscover refused the request.');
  }
  const setting = (name: UserSettingName): string | undefined => {
    const value: unknown = response.Settings.containsKey(name) ? response.Settings.get(name) : undefined;
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  };
  const ewsUrl = setting(UserSettingName.ExternalEwsUrl) ?? setting(UserSettingName.InternalEwsUrl);
  if (!ewsUrl) throw new EwsResponseError('NoEwsUrl', 'Autodiscover answered, but without an EWS URL for this mailbox.');
  return { ewsUrl, primarySmtpAddress: setting(UserSettingName.AutoDiscoverSMTPAddress), displayName: setting(UserSettingName.UserDisplayName) };
}

/**
 * Finds the EWS URL of `emailAddress`'s mailbox. Rejects with EwsResponseError 'InvalidUser'
 * when Exchange answered that it does not know the address (authoritative: no further candidate
 * is tried), EwsAuthenticationError when the credential was refused everywhere it was tried, and
 * EwsEndpointNotFoundError 'NotFound' when no candidate answered (its message names every URL tried
 * and why each failed).
 */
export async function discoverEwsUrl(emailAddress: string, credential: EwsCredential, options: AutodiscoverOptions = {}): Promise<DiscoveredEwsEndpoint> {
  const settings = transportSettings(credential, options.timeoutInMs ?? DEFAULT_EWS_TIMEOUT_IN_MS, options.userAgent ?? DEFAULT_USER_AGENT);
  const attempts: AutodiscoverAttempt[] = [];
  let lastError: EwsError | undefined;
  for (const candidate of autodiscoverCandidates(emailAddress, options.autodiscoverUrl)) {
    const url = validateEwsUrl(candidate, options.allowInsecureHttp ?? false);
    try {
      await options.checkUrl?.(url);
    } catch {
      attempts.push({ url: url.href, outcome: 'refusedByPolicy' });
      continue;
    }
    try {
      const found = await askCandidate(url, emailAddress, settings);
      // The discovered URL is held to the same rules as one an administrator types.
      const ewsUrl = validateEwsUrl(found.ewsUrl, options.allowInsecureHttp ?? false);
      attempts.push({ url: url.href, outcome: 'found' });
      return { ...found, ewsUrl: ewsUrl.href, autodiscoverUrl: url.href, attempts };
    } catch (error: unknown) {
      const typed = error instanceof EwsError ? error : classifyEwsFailure(error, undefined, 'Autodiscover');
      attempts.push({ url: url.href, outcome: 'failed', code: typed.code });
      if (typed.code === 'InvalidUser') throw typed;
      lastError = typed;
    }
  }
  if (lastError && lastError.kind === 'authentication') throw lastError;
  const tried = attempts.map((a) => `${a.url} (${a.outcome === 'refusedByPolicy' ? 'refused by the outbound address policy' : (a.code ?? a.outcome)})`).join(', ');
  throw new EwsEndpointNotFoundError('NotFound', `No Autodiscover endpoint answered for ${emailAddress}; tried ${tried}.`, lastError ? { cause: lastError } : {});
}
