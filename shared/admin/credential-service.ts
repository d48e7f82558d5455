import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { pemBundleBlocks } from '../auth/certificate-pem';
import { decodeKeytab, formatPrincipal, KeytabFormatError, type KeytabEntry } from '../auth/kerberos/keytab';
import { kerberosClientPrincipal } from '../auth/kerberos/negotiate-client';
import { HttpProblem, validationProblem } from '../http/problem';
import type { FieldProblem } from '../http/problem';
import { SecretString } from '../logging';
import { secretNames } from '../secrets/secret-names';
import type { CredentialKind, CredentialReference, GroupRecord, Stored } from '../storage';
import type { AdminDependencies } from './admin-dependencies';
import { recordAudit } from './audit-trail';
import { updateOptimistically } from './concurrency';
import { groupPath, loadGroup } from './group-service';
import type { AdminPrincipal } from './principal';
import type { SetCredentialsRequest } from './schemas';

interface CredentialToStore {
  readonly kind: CredentialKind;
  readonly value: SecretString;
  readonly expiresOn?: Date;
  readonly contentType: string;
  readonly certificateThumbprint?: string;
}

type CredentialField = 'password' | 'keytab' | 'clientSecret' | 'certificate';

/** Which field the access type takes; any other field given is an error at its pointer. */
const ACCEPTED_FIELD: Record<GroupRecord['mailboxAccessType'], readonly CredentialField[]> = {
  impersonation: ['password', 'keytab'],
  appOnly: ['clientSecret', 'certificate'],
  delegated: [],
};

/** The access-type rules applied to a credentials body the schema refused, so the answer names these fields too. */
export async function credentialBodyProblems(raw: unknown, context: { deps: AdminDependencies; principal: AdminPrincipal; params: Readonly<Record<'tenantId' | 'groupId', string>> }): Promise<FieldProblem[]> {
  if (typeof raw !== 'object' || raw === null) return [];
  const group = await loadGroup(context.deps, context.principal, context.params.tenantId, context.params.groupId).catch(() => undefined);
  if (!group) return [];
  // Only presence matters to these rules: a value of the wrong type is the schema's to report.
  const present = Object.fromEntries(['password', 'keytab', 'clientSecret', 'certificate', 'expiresOn'].filter((field) => (raw as Record<string, unknown>)[field] !== undefined).map((field) => [field, '']));
  return credentialFieldProblems(group, present as SetCredentialsRequest);
}

function credentialFieldProblems(group: GroupRecord, input: SetCredentialsRequest): FieldProblem[] {
  // A keytab holds Kerberos keys only: it is no use to a Basic or NTLM service account.
  const accepted = ACCEPTED_FIELD[group.mailboxAccessType].filter((field) => field !== 'keytab' || group.impersonation?.authScheme === 'kerberos');
  if (accepted.length === 0) {
    return [{ pointer: '', detail: 'delegated groups have no group credential: each user signs in and consents for their own mailbox' }];
  }
  const given = (['password', 'keytab', 'clientSecret', 'certificate'] as const).filter((field) => input[field] !== undefined);
  const problems: FieldProblem[] = given
    .filter((field) => !accepted.includes(field))
    .map((field) => ({
      pointer: `/${field}`,
      detail:
        field === 'keytab' && group.mailboxAccessType === 'impersonation'
          ? `applies only to groups with authScheme kerberos (this group uses ${group.impersonation?.authScheme ?? 'basic'}; use password)`
          : `does not apply to ${group.mailboxAccessType} groups (use ${accepted.join(' or ')})`,
    }));
  const acceptedGiven = given.filter((field) => accepted.includes(field));
  if (acceptedGiven.length === 0 && problems.length === 0) problems.push({ pointer: `/${accepted[0]}`, detail: `is required (${accepted.join(' or ')})` });
  if (acceptedGiven.length > 1) problems.push({ pointer: `/${acceptedGiven[1]}`, detail: `give only one of ${acceptedGiven.join(', ')}` });
  if (input.certificate !== undefined && input.expiresOn !== undefined) {
    problems.push({ pointer: '/expiresOn', detail: 'is taken from the certificate itself; leave it out' });
  }
  return problems;
}

/** Checks a PEM bundle (certificate + private key) and reads its public facts. Never echoes PEM content. */
function parseCertificateBundle(pem: string): { thumbprint: string; expiresOn: Date } {
  const { certificate: certificateBlock, privateKey: keyBlock } = pemBundleBlocks(pem);
  const problem = (detail: string) => validationProblem([{ pointer: '/certificate', detail }]);
  if (!certificateBlock) throw problem('must contain a PEM certificate (-----BEGIN CERTIFICATE-----)');
  if (!keyBlock) throw problem('must contain the unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)');
  let certificate: X509Certificate;
  let key: KeyObject;
  try {
    certificate = new X509Certificate(certificateBlock);
  } catch {
    throw problem('the certificate block is not a valid X.509 certificate');
  }
  try {
    key = createPrivateKey(keyBlock);
  } catch {
    throw problem('the private key block is not a valid unencrypted private key');
  }
  if (!certificate.checkPrivateKey(key)) throw problem('the private key does not belong to the certificate');
  const expiresOn = new Date(certificate.validTo);
  if (expiresOn.getTime() <= Date.now()) throw problem(`the certificate expired on ${expiresOn.toISOString()}`);
  return { thumbprint: certificate.fingerprint.replaceAll(':', '').toUpperCase(), expiresOn };
}

/** A keytab must be readable and hold keys for the group's service account (never echoes key bytes). */
function checkKeytab(group: GroupRecord, base64: string): void {
  const problem = (detail: string) => validationProblem([{ pointer: '/keytab', detail }]);
  let entries: KeytabEntry[];
  try {
    entries = decodeKeytab(Buffer.from(base64, 'base64'));
  } catch (error) {
    throw problem(error instanceof KeytabFormatError ? error.message : 'is not a readable keytab');
  }
  const kerberos = group.impersonation?.kerberos;
  if (!kerberos || !group.impersonation) return;
  const principal = kerberosClientPrincipal(group.impersonation.serviceAccount, kerberos.realm);
  const held = [...new Set(entries.map((entry) => formatPrincipal(entry.principal)))];
  if (!held.some((name) => name.toLowerCase() === principal.toLowerCase())) {
    throw problem(`holds no keys for ${principal} (it holds keys for: ${held.slice(0, 5).join(', ')})`);
  }
}

function credentialToStore(group: GroupRecord, input: SetCredentialsRequest): CredentialToStore {
  const expiresOn = input.expiresOn ? new Date(input.expiresOn) : undefined;
  if (input.keytab !== undefined) {
    checkKeytab(group, input.keytab);
    return { kind: 'keytab', value: new SecretString(input.keytab), expiresOn, contentType: 'application/octet-stream; encoding=base64' };
  }
  if (input.password !== undefined) return { kind: 'password', value: new SecretString(input.password), expiresOn, contentType: 'text/plain' };
  if (input.clientSecret !== undefined) return { kind: 'clientSecret', value: new SecretString(input.clientSecret), expiresOn, contentType: 'text/plain' };
  const pem = input.certificate ?? '';
  const facts = parseCertificateBundle(pem);
  return { kind: 'certificate', value: new SecretString(pem), expiresOn: facts.expiresOn, contentType: 'application/x-pem-file', certificateThumbprint: facts.thumbprint };
}

function secretNameFor(kind: CredentialKind, tenantId: string, groupId: string): string {
  switch (kind) {
    case 'password':
      return secretNames.groupPassword(tenantId, groupId);
    case 'clientSecret':
      return secretNames.groupClientSecret(tenantId, groupId);
    case 'certificate':
      return secretNames.groupCertificate(tenantId, groupId);
    case 'keytab':
      return secretNames.groupKeytab(tenantId, groupId);
  }
}

/**
 * Stores a group's credential in Key Vault (a new version on every call: rotation) and
 * records only where it is and when it expires. The value goes from the request straight into
 * a SecretString and on to Key Vault; it is never logged, stored in a table or returned.
 */
export async function setGroupCredentials(
  deps: AdminDependencies,
  principal: AdminPrincipal,
  tenantId: string,
  groupId: string,
  input: SetCredentialsRequest,
): Promise<Stored<GroupRecord>> {
  const group = await loadGroup(deps, principal, tenantId, groupId);
  const problems = credentialFieldProblems(group, input);
  if (problems.length > 0) throw validationProblem(problems);
  const credential = credentialToStore(group, input);
  const secretName = secretNameFor(credential.kind, tenantId, groupId);
  const stored = await deps.vault.setSecret(secretName, credential.value, {
    ...(credential.expiresOn ? { expiresOn: credential.expiresOn } : {}),
    contentType: credential.contentType,
    tags: { tenantId, groupId, kind: credential.kind },
  });
  const at = deps.now().toISOString();
  const reference: CredentialReference = {
    kind: credential.kind,
    secretName: stored.name,
    secretVersion: stored.version,
    updatedAt: at,
    ...(credential.expiresOn ? { expiresOn: credential.expiresOn.toISOString() } : {}),
    ...(credential.certificateThumbprint ? { certificateThumbprint: credential.certificateThumbprint } : {}),
  };
  const previous = group.credential;
  let after: Stored<GroupRecord>;
  try {
    ({ after } = await updateOptimistically(
      () => loadGroup(deps, principal, tenantId, groupId),
      undefined,
      (current) => {
        const { etag: _etag, ...record } = current;
        return { ...record, credential: reference, updatedAt: at };
      },
      (next, etag) => deps.groups.replace(next, etag),
    ));
  } catch (error) {
    // The group was deleted while the secret was being written: the secret must not outlive it.
    if (error instanceof HttpProblem && error.status === 404) await deps.vault.deleteSecret(secretName).catch(() => undefined);
    throw error;
  }
  // Switching between client secret and certificate leaves the old kind's secret unused. The new
  // credential is already in force, so a Key Vault failure here must not answer "nothing was
  // changed": the audit entry names the secret left behind instead.
  const previousLeftBehind: string | null =
    previous && previous.secretName !== reference.secretName
      ? await deps.vault.deleteSecret(previous.secretName).then(
          () => null,
          () => previous.secretName,
        )
      : null;
  await recordAudit(deps, principal, tenantId, previous ? 'credentials.rotated' : 'credentials.set', `${groupPath(tenantId, groupId)}/credentials`, {
    kind: reference.kind,
    reference: reference.secretName,
    version: reference.secretVersion,
    expiresOn: reference.expiresOn ?? null,
    ...(previousLeftBehind !== null ? { previousSecretNotDeleted: previousLeftBehind } : {}),
  });
  return after;
}
