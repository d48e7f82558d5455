/**
 * Which credentials expire soon: every group credential with an expiry (client secrets and
 * certificates in Key Vault) and the connector app's own secret. Buckets are 30, 14 and 7 days
 * and expired; the connection test uses credentialExpiryWarning for the same rule.
 */
import type { CredentialReference, GroupRecord } from '../storage';

export type ExpiryState = 'expired' | 'expiresWithin7Days' | 'expiresWithin14Days' | 'expiresWithin30Days' | 'ok';

const DAY_IN_MS = 24 * 3600_000;

export function expiryStateOf(expiresOn: Date, now: Date): ExpiryState {
  const left = expiresOn.getTime() - now.getTime();
  if (left <= 0) return 'expired';
  if (left <= 7 * DAY_IN_MS) return 'expiresWithin7Days';
  if (left <= 14 * DAY_IN_MS) return 'expiresWithin14Days';
  if (left <= 30 * DAY_IN_MS) return 'expiresWithin30Days';
  return 'ok';
}

/** A sentence for an admin when the credential is expired or expires within 30 days; undefined otherwise. */
export function credentialExpiryWarning(credential: Pick<CredentialReference, 'kind' | 'expiresOn'>, now: Date): string | undefined {
  if (!credential.expiresOn) return undefined;
  const expiresOn = new Date(credential.expiresOn);
  const state = expiryStateOf(expiresOn, now);
  if (state === 'ok') return undefined;
  const what = credential.kind === 'certificate' ? 'certificate' : credential.kind === 'clientSecret' ? 'client secret' : 'password';
  if (state === 'expired') return `The ${what} expired on ${expiresOn.toISOString()}; store a new one.`;
  const days = Math.ceil((expiresOn.getTime() - now.getTime()) / DAY_IN_MS);
  return `The ${what} expires in ${days} day${days === 1 ? '' : 's'} (${expiresOn.toISOString()}); store a new one before then (the old one keeps working until it expires).`;
}

export interface CredentialExpiryNotice {
  readonly state: Exclude<ExpiryState, 'ok'>;
  readonly expiresOn: string;
  readonly message: string;
}

function renewalAdvice(kind: CredentialReference['kind'], credentialsUrl: string): string {
  switch (kind) {
    case 'clientSecret':
      return `create a new client secret in Entra (app registration > Certificates & secrets) and PUT its value to ${credentialsUrl} (with its expiresOn)`;
    case 'certificate':
      return `upload a new certificate to the app registration in Entra and PUT the PEM (certificate and private key) to ${credentialsUrl}`;
    default:
      return `set a new password for the service account and PUT it to ${credentialsUrl} (with its expiresOn)`;
  }
}

/**
 * The same rule as credentialExpiryWarning, phrased as what to do for one group's credential:
 * where to renew it and where to store the new one. undefined when nothing is due within 30 days.
 */
export function credentialExpiryNotice(
  credential: Pick<CredentialReference, 'kind' | 'expiresOn'>,
  now: Date,
  options: { readonly credentialsUrl: string },
): CredentialExpiryNotice | undefined {
  if (!credential.expiresOn) return undefined;
  const expiresOn = new Date(credential.expiresOn);
  if (Number.isNaN(expiresOn.getTime())) return undefined;
  const state = expiryStateOf(expiresOn, now);
  if (state === 'ok') return undefined;
  const what = credential.kind === 'certificate' ? 'certificate' : credential.kind === 'clientSecret' ? 'client secret' : 'password';
  const advice = renewalAdvice(credential.kind, options.credentialsUrl);
  const at = expiresOn.toISOString();
  if (state === 'expired') return { state, expiresOn: at, message: `The ${what} expired on ${at}; ${advice}.` };
  const days = Math.ceil((expiresOn.getTime() - now.getTime()) / DAY_IN_MS);
  return {
    state,
    expiresOn: at,
    message: `The ${what} expires in ${days} day${days === 1 ? '' : 's'} (${at}); before then, ${advice}. The current one keeps working until it expires.`,
  };
}

export interface CredentialExpiryEntry {
  readonly owner: 'group' | 'connectorApp';
  readonly tenantId?: string;
  readonly groupId?: string;
  readonly groupName?: string;
  readonly kind: string;
  readonly secretName: string;
  readonly expiresOn: string;
  readonly daysLeft: number;
  readonly state: Exclude<ExpiryState, 'ok'>;
  readonly message: string;
}

export function groupCredentialEntry(group: GroupRecord, now: Date): CredentialExpiryEntry | undefined {
  const credential = group.credential;
  if (!credential?.expiresOn) return undefined;
  const expiresOn = new Date(credential.expiresOn);
  const state = expiryStateOf(expiresOn, now);
  if (state === 'ok') return undefined;
  return {
    owner: 'group',
    tenantId: group.tenantId,
    groupId: group.id,
    groupName: group.name,
    kind: credential.kind,
    secretName: credential.secretName,
    expiresOn: expiresOn.toISOString(),
    daysLeft: Math.floor((expiresOn.getTime() - now.getTime()) / DAY_IN_MS),
    state,
    message: credentialExpiryWarning(credential, now)!,
  };
}

export function connectorSecretEntry(secretName: string, expiresOn: Date | undefined, now: Date): CredentialExpiryEntry | undefined {
  if (!expiresOn) return undefined;
  const state = expiryStateOf(expiresOn, now);
  if (state === 'ok') return undefined;
  return {
    owner: 'connectorApp',
    kind: 'clientSecret',
    secretName,
    expiresOn: expiresOn.toISOString(),
    daysLeft: Math.floor((expiresOn.getTime() - now.getTime()) / DAY_IN_MS),
    state,
    message: `The connector app's ${credentialExpiryWarning({ kind: 'clientSecret', expiresOn: expiresOn.toISOString() }, now)!.replace(/^The /, '')} Add a new client secret to the app registration and store it in Key Vault as ${secretName}.`,
  };
}
