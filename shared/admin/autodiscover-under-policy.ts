/**
 * Autodiscover under the outbound address policy, for the admin API (ews-url-discovery.ts) and the
 * connection test: every Autodiscover URL (candidate or redirect) and the EWS URL found pass the
 * same rules as a webhook target (https; in production a host whose every address is public),
 * checked before anything is sent and again at connect time (publicOnlyLookup); time-boxed.
 */
import type { ConnectorEnvironment } from '../config';
import type { HostResolver } from '../delivery/address-policy';
import { publicOnlyLookup } from '../delivery/address-policy';
import { discoverEwsUrl, isEwsError } from '../ews';
import type { AutodiscoverAttempt, EwsCredential } from '../ews';
import { webhookTargetProblem } from './webhook-target-policy';

/** An admin request waits for the answer: the whole discovery ends within this. */
export const ADMIN_DISCOVERY_TIMEOUT_IN_MS = 30_000;

export interface DiscoveryRequest {
  readonly environment: ConnectorEnvironment;
  readonly credential: EwsCredential;
  readonly emailAddress: string;
  /** Ask this Autodiscover endpoint only (the administrator's, or the EWS server's own). */
  readonly autodiscoverUrl?: string | undefined;
  readonly totalTimeoutInMs?: number;
  readonly resolveHost?: HostResolver;
}

export interface DiscoveryView {
  readonly outcome: 'found' | 'failed';
  readonly emailAddress: string;
  readonly ewsUrl?: string;
  readonly autodiscoverUrl?: string;
  readonly primarySmtpAddress?: string;
  readonly displayName?: string;
  /** The typed error's code when discovery failed (InvalidUser, Unauthorized, NotFound, TooManyRedirects, Timeout, ...). */
  readonly code?: string;
  readonly message: string;
  readonly attempts: readonly AutodiscoverAttempt[];
  readonly durationInMs: number;
}

/** The outbound address policy as Autodiscover's checkUrl: throws (with the reason) for a URL not to contact. */
export function autodiscoverUrlPolicy(environment: ConnectorEnvironment, resolveHost?: HostResolver): (url: URL) => Promise<void> {
  return async (url) => {
    const problem = await webhookTargetProblem(url.href, { environment, ...(resolveHost ? { resolveHost } : {}) }, '');
    if (problem) throw new Error(problem.detail);
  };
}

function failureMessage(code: string, emailAddress: string, fallback: string): string {
  switch (code) {
    case 'InvalidUser':
      return `Exchange does not know ${emailAddress}: check the address (any address of the mailbox works; Autodiscover names the primary one).`;
    case 'Unauthorized':
      return 'Autodiscover refused the service account (HTTP 401): wrong password, locked account, or the scheme is not enabled on the Autodiscover virtual directory.';
    case 'TooManyRedirects':
    case 'RedirectLoop':
      return `Autodiscover kept redirecting (${code}); stopped. ${fallback}`;
    case 'Timeout':
      return `Autodiscover did not finish within the time allowed. ${fallback}`;
    default:
      return fallback;
  }
}

/** Runs Autodiscover for one address and describes the outcome for an administrator; never throws for Exchange's answers. */
export async function discoverUnderPolicy(request: DiscoveryRequest): Promise<DiscoveryView> {
  const started = performance.now();
  const durationInMs = () => Math.round(performance.now() - started);
  const attempts: AutodiscoverAttempt[] = [];
  try {
    const found = await discoverEwsUrl(request.emailAddress, request.credential, {
      ...(request.autodiscoverUrl ? { autodiscoverUrl: request.autodiscoverUrl } : {}),
      allowInsecureHttp: request.environment === 'development',
      totalTimeoutInMs: request.totalTimeoutInMs ?? ADMIN_DISCOVERY_TIMEOUT_IN_MS,
      checkUrl: autodiscoverUrlPolicy(request.environment, request.resolveHost),
      lookup: publicOnlyLookup(request.environment),
      onAttempt: (attempt) => attempts.push(attempt),
    });
    return {
      outcome: 'found',
      emailAddress: request.emailAddress,
      ewsUrl: found.ewsUrl,
      autodiscoverUrl: found.autodiscoverUrl,
      ...(found.primarySmtpAddress ? { primarySmtpAddress: found.primarySmtpAddress } : {}),
      ...(found.displayName ? { displayName: found.displayName } : {}),
      message: `Autodiscover at ${new URL(found.autodiscoverUrl).host} names ${found.ewsUrl} for ${found.primarySmtpAddress ?? request.emailAddress}.`,
      attempts: found.attempts,
      durationInMs: durationInMs(),
    };
  } catch (error) {
    if (!isEwsError(error)) throw error;
    return { outcome: 'failed', emailAddress: request.emailAddress, code: error.code, message: failureMessage(error.code, request.emailAddress, error.message), attempts, durationInMs: durationInMs() };
  }
}
