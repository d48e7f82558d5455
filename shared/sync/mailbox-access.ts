/**
 * The one place that turns a group's settings and its Key Vault credential into an EWS client
 * for one mailbox: service-account impersonation (Basic/NTLM), app-only tokens (client secret
 * or certificate) and delegated per-user tokens. The sync worker and the admin connection test
 * both go through here, so a credential that passes the test is used the same way by the sync.
 */
import { X509Certificate } from 'node:crypto';
import { appOnlyEwsCredential } from '../auth/app-only-token';
import { pemBundleBlocks } from '../auth/certificate-pem';
import { delegatedEwsCredential } from '../auth/delegated-token';
import type { DelegatedTokenProvider } from '../auth/delegated-token';
import type { AppCredentialMaterial } from '../auth/app-only-token';
import type { ConnectorEnvironment } from '../config';
import { createMailboxClient } from '../ews';
import type { EwsCredential, MailboxClient } from '../ews';
import { SecretString } from '../logging/secret-string';
import type { CredentialReference, GroupRecord } from '../storage/records';
import { MailboxSourceError } from './mailbox-source';


export interface MailboxAccessOptions {
  readonly environment: ConnectorEnvironment;
  readonly defaultEwsUrl: string;
  /** Entra authority host (https://login.microsoftonline.com, or the local identity provider). */
  readonly authorityHost: string;
  readonly readSecret: (name: string, version: string) => Promise<SecretString>;
  /** Per-user tokens of delegated groups (ReauthenticationRequiredError when the user must sign in again). Without it, delegated groups fail with a Configuration error. */
  readonly delegatedTokens?: DelegatedTokenProvider | undefined;
  readonly ewsTimeoutInMs?: number;
  /** Largest EWS answer accepted (default 32 MiB); tests lower it. */
  readonly ewsMaxResponseBytes?: number;
}

export interface MailboxIdentity {
  readonly smtpAddress: string;
  /** The customer's user id, for delegated token lookup. */
  readonly userId?: string | undefined;
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

/** The EwsCredential for a group and mailbox; MailboxSourceError('Configuration') when the group is not set up. */
export async function groupEwsCredential(group: GroupRecord, mailbox: MailboxIdentity, options: MailboxAccessOptions): Promise<EwsCredential> {
  if (group.mailboxAccessType === 'delegated') {
    if (!options.delegatedTokens) throw configurationError('Delegated access is not available in this deployment (no delegated token provider).');
    return delegatedEwsCredential(options.delegatedTokens, { tenantId: group.tenantId, mailbox: mailbox.smtpAddress });
  }
  const reference = group.credential;
  if (!reference) throw configurationError('The group has no credentials yet: set them with PUT .../credentials.');
  const secret = await options.readSecret(reference.secretName, reference.secretVersion);
  if (group.mailboxAccessType === 'impersonation') {
    if (!group.impersonation) throw configurationError('The group has no service account configured.');
    return { kind: group.impersonation.authScheme, username: group.impersonation.serviceAccount, password: secret };
  }
  if (!group.appOnly) throw configurationError('The group has no app-only settings (Entra tenant and client id).');
  return appOnlyEwsCredential({
    authorityHost: options.authorityHost,
    tenantId: group.appOnly.entraTenantId,
    clientId: group.appOnly.clientId,
    credential: appCredentialMaterial(reference, secret),
    credentialVersion: `${reference.secretName}/${reference.secretVersion}`,
  });
}

/** An EWS client bound to one mailbox of the group, with the group's access type. */
export async function openMailboxClient(group: GroupRecord, mailbox: MailboxIdentity, options: MailboxAccessOptions): Promise<MailboxClient> {
  const credential = await groupEwsCredential(group, mailbox, options);
  return createMailboxClient(group.ewsUrl ?? options.defaultEwsUrl, credential, {
    mailbox: mailbox.smtpAddress,
    access: group.mailboxAccessType,
    ...(options.ewsTimeoutInMs !== undefined ? { timeoutInMs: options.ewsTimeoutInMs } : {}),
    ...(options.ewsMaxResponseBytes !== undefined ? { maxResponseBytes: options.ewsMaxResponseBytes } : {}),
    allowInsecureHttp: options.environment === 'development',
  });
}
