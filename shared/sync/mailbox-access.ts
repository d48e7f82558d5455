/**
 * The one place that turns a group's settings and its Key Vault credential into an EWS client
 * for one mailbox: service-account impersonation (Basic/NTLM), app-only tokens (client secret
 * or certificate) and delegated per-user tokens. The sync worker and the admin connection test
 * both go through here, so a credential that passes the test is used the same way by the sync.
 */
import { X509Certificate } from 'node:crypto';
import { appOnlyEwsCredential } from '../auth/app-only-token';
import { kdcResolver } from '../auth/kerberos/kdc-addresses';
import { negotiateTokenSource } from '../auth/kerberos/negotiate-client';
import { pemBundleBlocks } from '../auth/certificate-pem';
import { delegatedEwsCredential } from '../auth/delegated-token';
import type { DelegatedTokenProvider, DelegatedUserRef } from '../auth/delegated-token';
import type { AppCredentialMaterial } from '../auth/app-only-token';
import type { ConnectorEnvironment } from '../config';
import { acquireAppOnlyToken } from '../auth/app-only-token';
import { literalTargetRefused, publicOnlyLookup } from '../delivery/address-policy';
import { createMailboxClient } from '../ews';
import { createGraphClient } from '../graph/graph-client';
import type { GraphMailbox, GraphTokenSource } from '../graph/graph-client';
import { GLOBAL_GRAPH_RESOURCE } from '../graph/endpoints';
import type { GraphCloud } from '../graph/endpoints';
import type { EwsCredential, MailboxClient } from '../ews';
import { SecretString } from '../logging/secret-string';
import type { CredentialReference, GroupRecord } from '../storage/records';
import { MailboxSourceError } from './mailbox-source';


export interface MailboxAccessOptions {
  readonly environment: ConnectorEnvironment;
  /**
   * Exchange Online's EWS endpoint in the deployment's Microsoft cloud (EWS_DEFAULT_URL). The only
   * URL the connector app's own tokens (delegated groups) are ever sent to; the default for
   * app-only groups that name no URL.
   */
  readonly defaultEwsUrl: string;
  /** Entra authority host (https://login.microsoftonline.com, or the local identity provider). */
  readonly authorityHost: string;
  /** Exchange Online's token resource in the deployment's cloud (config.ews.resource); default the global cloud's. */
  readonly ewsResource?: string;
  readonly readSecret: (name: string, version: string) => Promise<SecretString>;
  /** Per-user tokens of delegated groups (ReauthenticationRequiredError when the user must sign in again). Without it, delegated groups fail with a Configuration error. */
  readonly delegatedTokens?: DelegatedTokenProvider | undefined;
  readonly ewsTimeoutInMs?: number;
  /** The configured Graph cloud (GRAPH_ENDPOINT); default the global one. */
  readonly graph?: GraphCloud | undefined;
  readonly graphTimeoutInMs?: number;
  /** Injectable fetch for Graph calls (tests). */
  readonly graphFetch?: typeof fetch;
  /** Largest EWS answer accepted (default 32 MiB); tests lower it. */
  readonly ewsMaxResponseBytes?: number;
}

export interface MailboxIdentity {
  readonly smtpAddress: string;
  /** The customer's user id, for delegated token lookup. */
  readonly userId?: string | undefined;
  /** Delegated groups: the user whose own token reaches this (linked) mailbox; absent: the user linked to it. */
  readonly delegatedUserObjectId?: string | undefined;
}

/** Which delegated user's token reaches the mailbox: the one named on the mailbox entry, else the one linked to the mailbox. */
function delegatedUserOf(group: GroupRecord, mailbox: MailboxIdentity): DelegatedUserRef {
  return mailbox.delegatedUserObjectId ? { tenantId: group.tenantId, userObjectId: mailbox.delegatedUserObjectId } : { tenantId: group.tenantId, mailbox: mailbox.smtpAddress };
}

/** MSAL wants the private key and the SHA-256 thumbprint; a certificate credential is stored as one PEM bundle. */
export function certificateCredentialMaterial(pemBundle: SecretString): AppCredentialMaterial {
  const pem = pemBundle.reveal();
  const blocks = pemBundleBlocks(pem);
  const certificateBlock = blocks.certificate ?? '';
  const keyBlock = blocks.privateKey ?? '';
  const thumbprintSha256 = new X509Certificate(certificateBlock).fingerprint256.replaceAll(':', '').toLowerCase();
  return { kind: 'certificate', privateKeyPem: new SecretString(keyBlock), thumbprintSha256, x5c: certificateBlock };
}

/** The app credential material of an app-only group, from its Key Vault secret. */
export function appCredentialMaterial(reference: CredentialReference, secret: SecretString): AppCredentialMaterial {
  return reference.kind === 'certificate' ? certificateCredentialMaterial(secret) : { kind: 'secret', secret };
}

function configurationError(message: string): MailboxSourceError {
  return new MailboxSourceError('Configuration', message);
}

/** Exchange's HTTP SPN for a Kerberos group: as configured, else HTTP/<the EWS URL's host>. */
export function groupServicePrincipal(group: GroupRecord, defaultEwsUrl: string): string {
  return group.impersonation?.kerberos?.servicePrincipal ?? `HTTP/${new URL(groupEwsUrl(group, defaultEwsUrl)).hostname}`;
}

/**
 * A service account's credential: Basic or NTLM with its password, or Negotiate with a Kerberos
 * ticket from its password or keytab (the ticket cache belongs to this tenant's group alone).
 */
export function serviceAccountCredential(group: GroupRecord, reference: CredentialReference, secret: SecretString, options: Pick<MailboxAccessOptions, 'environment' | 'defaultEwsUrl'>): EwsCredential {
  const impersonation = group.impersonation;
  if (!impersonation) throw configurationError('The group has no service account configured.');
  if (impersonation.authScheme !== 'kerberos') {
    if (reference.kind !== 'password') throw configurationError(`The group's credential is a ${reference.kind}; ${impersonation.authScheme} needs the service account password (PUT .../credentials).`);
    return { kind: impersonation.authScheme, username: impersonation.serviceAccount, password: secret };
  }
  const kerberos = impersonation.kerberos;
  if (!kerberos) throw configurationError('authScheme is kerberos but the group has no Kerberos settings (realm, kdcs).');
  const source = negotiateTokenSource({
    tenantId: group.tenantId,
    groupId: group.id,
    realm: kerberos.realm,
    kdcs: kerberos.kdcs,
    userPrincipal: impersonation.serviceAccount,
    servicePrincipal: groupServicePrincipal(group, options.defaultEwsUrl),
    secret: reference.kind === 'keytab' ? { kind: 'keytab', keytabBase64: secret } : { kind: 'password', password: secret },
    credentialVersion: `${reference.secretName}/${reference.secretVersion}`,
    resolveKdc: kdcResolver(options.environment),
  });
  return { kind: 'negotiate', getToken: () => source.getToken(), onUnauthorized: () => source.onUnauthorized() };
}

/** The EwsCredential for a group and mailbox; MailboxSourceError('Configuration') when the group is not set up. */
export async function groupEwsCredential(group: GroupRecord, mailbox: MailboxIdentity, options: MailboxAccessOptions): Promise<EwsCredential> {
  if (group.mailboxAccessType === 'delegated') {
    if (!options.delegatedTokens) throw configurationError('Delegated access is not available in this deployment (no delegated token provider).');
    return delegatedEwsCredential(options.delegatedTokens, delegatedUserOf(group, mailbox));
  }
  const reference = group.credential;
  if (!reference) throw configurationError('The group has no credentials yet: set them with PUT .../credentials.');
  const secret = await options.readSecret(reference.secretName, reference.secretVersion);
  if (group.mailboxAccessType === 'impersonation') {
    if (!group.impersonation) throw configurationError('The group has no service account configured.');
    return serviceAccountCredential(group, reference, secret, options);
  }
  if (!group.appOnly) throw configurationError('The group has no app-only settings (Entra tenant and client id).');
  return appOnlyEwsCredential({
    authorityHost: options.authorityHost,
    tenantId: group.appOnly.entraTenantId,
    clientId: group.appOnly.clientId,
    credential: appCredentialMaterial(reference, secret),
    credentialVersion: `${reference.secretName}/${reference.secretVersion}`,
    ...(options.ewsResource ? { resource: options.ewsResource } : {}),
  });
}

/**
 * Where a group's EWS calls go. Delegated groups use the connector app's tokens, so they go to
 * Exchange Online only, whatever the group row says (docs/security.md); a URL an administrator
 * supplied is used only with the customer's own credentials (service account, own app).
 */
export function groupEwsUrl(group: GroupRecord, defaultEwsUrl: string): string {
  if (group.mailboxAccessType === 'delegated') return defaultEwsUrl;
  return group.ewsUrl ?? defaultEwsUrl;
}

/** An EWS client bound to one mailbox of the group, with the group's access type. */
export async function openMailboxClient(group: GroupRecord, mailbox: MailboxIdentity, options: MailboxAccessOptions): Promise<MailboxClient> {
  const ewsUrl = groupEwsUrl(group, options.defaultEwsUrl);
  // A row stored before the outbound address policy (or written around the API) must not reach private space.
  if (literalTargetRefused(ewsUrl, options.environment)) {
    throw configurationError('The EWS URL points at a private, loopback or link-local address; only public addresses are allowed. Change the group\'s ewsUrl.');
  }
  const credential = await groupEwsCredential(group, mailbox, options);
  return createMailboxClient(ewsUrl, credential, {
    mailbox: mailbox.smtpAddress,
    access: group.mailboxAccessType,
    ...(options.ewsTimeoutInMs !== undefined ? { timeoutInMs: options.ewsTimeoutInMs } : {}),
    ...(options.ewsMaxResponseBytes !== undefined ? { maxResponseBytes: options.ewsMaxResponseBytes } : {}),
    allowInsecureHttp: options.environment === 'development',
    // Every connection re-checks that the host resolves to public addresses only (production).
    lookup: publicOnlyLookup(options.environment),
  });
}

/**
 * Where a Graph group's tokens come from: the app's client credentials for `<graph>/.default`
 * (the application permissions the customer consented), or the delegated user's Graph token.
 * Service-account groups have no Graph access (Configuration error).
 */
export async function groupGraphTokens(group: GroupRecord, mailbox: MailboxIdentity, options: MailboxAccessOptions): Promise<GraphTokenSource> {
  const resource = options.graph?.resource ?? GLOBAL_GRAPH_RESOURCE;
  if (group.mailboxAccessType === 'delegated') {
    const provider = options.delegatedTokens;
    if (!provider?.acquireGraphToken) throw configurationError('Delegated access is not available in this deployment (no delegated token provider).');
    const user = delegatedUserOf(group, mailbox);
    return ({ forceRefresh }) => provider.acquireGraphToken!(user, { forceRefresh, resource });
  }
  if (group.mailboxAccessType !== 'appOnly') throw configurationError("Graph needs app-only or delegated access; service-account groups use protocol 'ews'.");
  const reference = group.credential;
  if (!reference) throw configurationError('The group has no credentials yet: set them with PUT .../credentials.');
  if (!group.appOnly) throw configurationError('The group has no app-only settings (Entra tenant and client id).');
  const material = appCredentialMaterial(reference, await options.readSecret(reference.secretName, reference.secretVersion));
  const tokenOptions = {
    authorityHost: options.authorityHost,
    tenantId: group.appOnly.entraTenantId,
    clientId: group.appOnly.clientId,
    credential: material,
    credentialVersion: `${reference.secretName}/${reference.secretVersion}`,
    resource,
  };
  return async ({ forceRefresh }) => (await acquireAppOnlyToken(tokenOptions, { forceRefresh })).token;
}

/** A Graph client bound to one mailbox of the group, on the configured Graph cloud endpoint. */
export async function openGraphClient(group: GroupRecord, mailbox: MailboxIdentity, options: MailboxAccessOptions): Promise<GraphMailbox> {
  const tokens = await groupGraphTokens(group, mailbox, options);
  return createGraphClient(options.graph?.endpoint ?? GLOBAL_GRAPH_RESOURCE, mailbox.smtpAddress, tokens, {
    ...(options.graphTimeoutInMs !== undefined ? { timeoutInMs: options.graphTimeoutInMs } : {}),
    ...(options.graphFetch ? { fetch: options.graphFetch } : {}),
  });
}
