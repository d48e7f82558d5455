/**
 * HTTP Negotiate (SPNEGO carrying Kerberos) for a service-account group: one token per EWS
 * request, as `Authorization: Negotiate <token>`.
 *
 * Each (tenant, group, credential version) gets its own workspace: a private directory (0700,
 * under one per-process temp dir) holding the group's krb5.conf (its realm and KDCs only), a
 * client keytab (0600) with the service account's keys, and its own ticket cache. GSSAPI gets the
 * TGT from that keytab when the cache has none (or it expired), then the service ticket for the
 * group's SPN; both stay in the group's cache, so later requests cost local crypto only. A rotated
 * credential is a new workspace, and no tenant's call can name another tenant's cache (paths come
 * from a digest of the tenant and group ids, calls are serialised in gss-library.ts).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretString } from '../../logging/secret-string';
import { gssLibrary, KerberosUnavailableError, withKrb5Environment, type Krb5Environment } from './gss-library';
import { decodeKeytab, encodeKeytab, formatPrincipal, keytabEntriesFromPassword, parsePrincipal, type KeytabEntry } from './keytab';

export type KerberosErrorCode =
  | 'KerberosUnavailable'
  | 'InvalidCredentials'
  | 'UnknownPrincipal'
  | 'UnknownServicePrincipal'
  | 'KdcUnreachable'
  | 'ClockSkew'
  | 'InvalidKeytab'
  | 'KdcNotAllowed'
  | 'KerberosFailure';

/** A Kerberos failure before anything reached Exchange. `transient`: worth trying again later (KDC down). */
export class KerberosError extends Error {
  constructor(
    readonly code: KerberosErrorCode,
    message: string,
    readonly transient = false,
  ) {
    super(message);
    this.name = 'KerberosError';
  }
}

/** The key material of the service account: its password, or a keytab (base64) exported for it. */
export type KerberosSecret = { readonly kind: 'password'; readonly password: SecretString } | { readonly kind: 'keytab'; readonly keytabBase64: SecretString };

export interface KerberosClientSettings {
  /** Connector tenant and group: the workspace (ticket cache, keytab) belongs to them alone. */
  readonly tenantId: string;
  readonly groupId: string;
  /** e.g. CONTOSO.COM */
  readonly realm: string;
  /** KDCs as host or host:port (TCP is used). */
  readonly kdcs: readonly string[];
  /** The service account, as name@REALM (the realm is added when missing). */
  readonly userPrincipal: string;
  /** Exchange's HTTP service principal, e.g. HTTP/mail.contoso.com (in the group's realm). */
  readonly servicePrincipal: string;
  readonly secret: KerberosSecret;
  /** Changes when the secret is rotated (e.g. the Key Vault secret version): a new workspace, a new cache. */
  readonly credentialVersion: string;
  /**
   * Turns a configured KDC (host or host:port) into the address:port libkrb5 connects to, checked
   * against the outbound address policy (kdc-addresses.ts). libkrb5 then never resolves a name
   * itself, so a KDC host that resolves to a private address (or rebinds to one) is never reached.
   */
  readonly resolveKdc?: (kdc: string) => Promise<string>;
}

export interface NegotiateTokenSource {
  /** A fresh SPNEGO token for one request (each carries a new authenticator: Exchange's replay cache refuses reuse). */
  getToken(): Promise<SecretString>;
  /** Exchange refused a token: drop the cached tickets so the next request asks the KDC again. */
  onUnauthorized(): void;
}

interface Workspace {
  readonly dir: string;
  readonly environment: Krb5Environment;
  readonly principal: string;
  readonly service: string;
}

const MAX_WORKSPACES = 500;
const workspaces = new Map<string, Workspace>();
let root: string | undefined;

function workspaceRoot(): string {
  if (!root) {
    root = mkdtempSync(join(tmpdir(), 'exchange-connector-krb5-'));
    const created = root;
    // Keys and tickets live on this instance's disk only while the process runs.
    process.once('exit', () => rmSync(created, { recursive: true, force: true }));
  }
  return root;
}

/**
 * The Kerberos principal of a service account given as UPN, DOMAIN\\user or a bare name: its user
 * name in the group's realm (svc-connector@contoso.com → svc-connector@CONTOSO.COM). Active
 * Directory's principal (and the salt of its keys) is the sAMAccountName in the realm.
 */
export function kerberosClientPrincipal(serviceAccount: string, realm: string): string {
  const trimmed = serviceAccount.trim();
  const slash = trimmed.indexOf('\\');
  const name = slash >= 0 ? trimmed.slice(slash + 1) : trimmed.split('@')[0]!;
  return `${name}@${realm}`;
}


/** HTTP/mail.contoso.com → HTTP@mail.contoso.com (GSSAPI's host-based service name). */
export function gssServiceName(servicePrincipal: string): string {
  const [service, host] = servicePrincipal.split('/');
  return `${service}@${host}`;
}

function clientKeytab(settings: KerberosClientSettings, principal: string): Buffer {
  const parsed = parsePrincipal(principal);
  if (settings.secret.kind === 'password') return encodeKeytab(keytabEntriesFromPassword(parsed, settings.secret.password.reveal()));
  let entries: KeytabEntry[];
  try {
    entries = decodeKeytab(Buffer.from(settings.secret.keytabBase64.reveal(), 'base64'));
  } catch (error) {
    throw new KerberosError('InvalidKeytab', `The stored keytab is unusable: ${(error as Error).message}.`);
  }
  const own = entries.filter((entry) => formatPrincipal(entry.principal).toLowerCase() === principal.toLowerCase());
  if (own.length === 0) throw new KerberosError('InvalidKeytab', `The stored keytab has no keys for ${principal}.`);
  return encodeKeytab(own);
}

/**
 * A krb5.conf naming one realm and its KDCs, nothing else: no DNS lookups of KDCs or realms and no
 * DNS canonicalisation of service host names (a ticket is asked for the SPN exactly as configured),
 * TCP only. `hosts` map to the realm, so their SPNs are asked of its KDCs.
 */
export function krb5Config(realm: string, kdcs: readonly string[], hosts: readonly string[] = []): string {
  return [
    '[libdefaults]',
    `  default_realm = ${realm}`,
    '  dns_lookup_kdc = false',
    '  dns_lookup_realm = false',
    '  dns_canonicalize_hostname = false',
    '  rdns = false',
    '  udp_preference_limit = 1',
    '  forwardable = false',
    '[realms]',
    `  ${realm} = {`,
    ...kdcs.map((kdc) => `    kdc = ${kdc}`),
    '  }',
    '[domain_realm]',
    ...hosts.map((host) => `  ${host} = ${realm}`),
    '',
  ].join('\n');
}

function workspaceKey(settings: KerberosClientSettings): string {
  return createHash('sha256')
    .update(JSON.stringify([settings.tenantId, settings.groupId, settings.credentialVersion, settings.realm, settings.kdcs, settings.userPrincipal, settings.servicePrincipal]))
    .digest('hex')
    .slice(0, 32);
}

async function resolvedSettings(settings: KerberosClientSettings): Promise<KerberosClientSettings> {
  if (!settings.resolveKdc) return settings;
  const resolve = settings.resolveKdc;
  return { ...settings, kdcs: await Promise.all(settings.kdcs.map((kdc) => resolve(kdc))) };
}

function openWorkspace(settings: KerberosClientSettings): Workspace {
  const key = workspaceKey(settings);
  const existing = workspaces.get(key);
  if (existing) {
    workspaces.delete(key);
    workspaces.set(key, existing); // most recently used last
    return existing;
  }
  const principal = kerberosClientPrincipal(settings.userPrincipal, settings.realm);
  const serviceHost = settings.servicePrincipal.split('/')[1] ?? '';
  const dir = join(workspaceRoot(), key);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'krb5.conf'), krb5Config(settings.realm, settings.kdcs, [serviceHost]), { mode: 0o600 });
  writeFileSync(join(dir, 'client.keytab'), clientKeytab(settings, principal), { mode: 0o600 });
  const workspace: Workspace = {
    dir,
    principal,
    service: gssServiceName(settings.servicePrincipal),
    environment: { KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5CCNAME: `FILE:${join(dir, 'ccache')}`, KRB5_CLIENT_KTNAME: `FILE:${join(dir, 'client.keytab')}` },
  };
  workspaces.set(key, workspace);
  if (workspaces.size > MAX_WORKSPACES) {
    const [oldestKey, oldest] = workspaces.entries().next().value as [string, Workspace];
    workspaces.delete(oldestKey);
    rmSync(oldest.dir, { recursive: true, force: true });
  }
  return workspace;
}

/** Where a workspace's ticket cache is (tests check that tenants never share one). */
export async function ticketCachePath(settings: KerberosClientSettings): Promise<string> {
  return join(openWorkspace(await resolvedSettings(settings)).dir, 'ccache');
}

/** GSSAPI's words → a code an administrator can act on. The text names principals, never keys. */
export function kerberosFailure(error: unknown, settings: Pick<KerberosClientSettings, 'realm' | 'kdcs' | 'userPrincipal' | 'servicePrincipal'>): KerberosError {
  if (error instanceof KerberosError) return error;
  if (error instanceof KerberosUnavailableError) return new KerberosError('KerberosUnavailable', error.message);
  const text = error instanceof Error ? error.message : String(error);
  const user = kerberosClientPrincipal(settings.userPrincipal, settings.realm);
  if (/cannot open shared object|libgssapi|libkrb5|undefined symbol/i.test(text)) {
    return new KerberosError('KerberosUnavailable', `Kerberos is not available in this deployment: the MIT Kerberos library (libgssapi_krb5) could not be loaded (${text}).`);
  }
  if (/Preauthentication failed|Password incorrect|Decrypt integrity check failed|integrity check failed|No key table entry|Key table entry not found|Bad encryption type|KDC has no support for encryption type/i.test(text)) {
    return new KerberosError('InvalidCredentials', `The KDC of ${settings.realm} refused the service account ${user}: wrong password or keytab (or a keytab for another key version or salt). Set the credentials again. (${text})`);
  }
  if (/Server .*not found in Kerberos database|Server not found/i.test(text)) {
    return new KerberosError('UnknownServicePrincipal', `The KDC of ${settings.realm} knows no service principal ${settings.servicePrincipal}: check the group's SPN (setspn -L on the account that runs Exchange's EWS, or the load balancer's alternate service account). (${text})`);
  }
  if (/Client .*not found in Kerberos database|Client not found/i.test(text)) {
    return new KerberosError('UnknownPrincipal', `The KDC of ${settings.realm} knows no account ${user}: check the service account and the realm. (${text})`);
  }
  if (/Clock skew/i.test(text)) return new KerberosError('ClockSkew', `The clocks of this service and the KDC of ${settings.realm} differ by more than Kerberos allows (5 minutes). (${text})`);
  if (/Cannot contact any KDC|Cannot find KDC|Connection refused|timed out|Resource temporarily unavailable/i.test(text)) {
    return new KerberosError('KdcUnreachable', `No KDC of ${settings.realm} answered (${settings.kdcs.join(', ')}): check the KDC addresses and that TCP port 88 (or the given port) is reachable from the connector. (${text})`, true);
  }
  return new KerberosError('KerberosFailure', `Kerberos failed for ${user} and ${settings.servicePrincipal}: ${text}`);
}

/** The token source one EWS credential uses. Workspace files are written on first use. */
export function negotiateTokenSource(settings: KerberosClientSettings): NegotiateTokenSource {
  let lastWorkspace: Workspace | undefined;
  return {
    async getToken() {
      try {
        const library = gssLibrary();
        const workspace = openWorkspace(await resolvedSettings(settings));
        lastWorkspace = workspace;
        const token = await withKrb5Environment(workspace.environment, async () => {
          const client = await library.initializeClient(workspace.service, { principal: workspace.principal, mechOID: library.GSS_MECH_OID_SPNEGO });
          return client.step('');
        });
        if (!token) throw new KerberosError('KerberosFailure', 'GSSAPI produced no token.');
        return new SecretString(token);
      } catch (error) {
        throw kerberosFailure(error, settings);
      }
    },
    onUnauthorized() {
      if (lastWorkspace) rmSync(join(lastWorkspace.dir, 'ccache'), { force: true });
    },
  };
}
