/**
 * The one place that decides what the product's secrets are called in Key Vault.
 *
 * Key Vault names are 1-127 characters of [0-9a-zA-Z-] and case-insensitive, so ids cannot be
 * used as they are. Each id becomes one dash-free, lowercase component, by one of three rules
 * whose outputs never overlap (their lengths differ), so different ids never share a name:
 *   - a GUID (tenant and object ids; any case): its 32 hex digits, e.g. 0000...00d1;
 *   - 1-24 characters of [a-z0-9] (short readable keys such as "contoso"): itself;
 *   - anything else (mixed case, '@', '.', '-', long keys): "h" + 40 hex digits of its SHA-256.
 * Because components hold no '-', the fixed words around them keep every kind of name apart.
 * GUIDs that differ only in letter case are the same id, as everywhere in Entra.
 */
import { createHash } from 'node:crypto';
import { InvalidSecretNameError } from './errors';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const READABLE_KEY = /^[a-z0-9]{1,24}$/;
const KEY_VAULT_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const HASH_HEX_DIGITS = 40;

/** The Key Vault-safe form of one id inside a secret name. */
export function secretNameComponent(id: string): string {
  if (id.length === 0) throw new InvalidSecretNameError('An id used in a secret name must not be empty.');
  if (GUID.test(id)) return id.replaceAll('-', '').toLowerCase();
  if (READABLE_KEY.test(id)) return id;
  return 'h' + createHash('sha256').update(id, 'utf8').digest('hex').slice(0, HASH_HEX_DIGITS);
}

export function isValidSecretName(name: string): boolean {
  return KEY_VAULT_NAME.test(name);
}

export function assertValidSecretName(name: string): void {
  if (!isValidSecretName(name)) {
    throw new InvalidSecretNameError(`"${name.slice(0, 140)}" is not a valid Key Vault secret name (1-127 characters of 0-9, a-z, A-Z and '-').`, name);
  }
}

function named(...parts: string[]): string {
  const name = parts.join('-');
  assertValidSecretName(name);
  return name;
}

const c = secretNameComponent;

/** Names of every secret the product keeps. Tenant, group and user keys are the product's own ids. */
export const secretNames = {
  /** Password of a group's service account (basic/NTLM EWS). */
  groupPassword: (tenantKey: string, groupKey: string): string => named('group', c(tenantKey), c(groupKey), 'password'),
  /** Client secret of a group's own Entra app (app-only EWS with a secret). */
  groupClientSecret: (tenantKey: string, groupKey: string): string => named('group', c(tenantKey), c(groupKey), 'client-secret'),
  /** Certificate (PEM or PFX; see contentType) of a group's own Entra app. */
  groupCertificate: (tenantKey: string, groupKey: string): string => named('group', c(tenantKey), c(groupKey), 'certificate'),
  /** Keytab (base64) of a group's Kerberos service account (Negotiate EWS). */
  groupKeytab: (tenantKey: string, groupKey: string): string => named('group', c(tenantKey), c(groupKey), 'keytab'),
  /** Every name a group's credential can have (one per kind), for cleanup that must not depend on the group row. */
  groupCredentials: (tenantKey: string, groupKey: string): string[] => ['password', 'client-secret', 'certificate', 'keytab'].map((kind) => named('group', c(tenantKey), c(groupKey), kind)),
  /** Key that signs the webhook deliveries of a group. */
  webhookSigningKey: (tenantKey: string, groupKey: string): string => named('webhook', c(tenantKey), c(groupKey), 'signing'),
  /** MSAL token cache of one delegated user. */
  userTokenCache: (tenantKey: string, userKey: string): string => named('user-token-cache', c(tenantKey), c(userKey)),
  /** Key that signs the `state` of admin-consent and sign-in redirects. */
  consentStateSigningKey: (): string => 'consent-state-signing-key',
  /** Client secret of the product's multi-tenant connector app. */
  connectorAppClientSecret: (): string => 'connector-app-client-secret',
} as const;
