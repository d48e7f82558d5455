import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { ensureDevCertificate } from '../../dev/certs';
import { demoIdentitySeed, DEMO_IDENTITY, startIdentityProvider, type IdentityProviderOptions, type IdentitySeed, type RunningIdentityProvider } from '../../dev/identity';
import { projectRoot } from '../../dev/project-paths';

export { DEMO_IDENTITY };

/** An IdP on a random loopback port with the demo seed (plus `extra`), trusted through NODE_EXTRA_CA_CERTS. */
export async function startTestIdentityProvider(extra: Partial<IdentitySeed> = {}, options: Partial<IdentityProviderOptions> = {}): Promise<RunningIdentityProvider> {
  const tlsCertificate = await ensureDevCertificate(join(projectRoot(), '.dev', 'certs'));
  const demo = demoIdentitySeed();
  const seed: IdentitySeed = {
    tenants: [...demo.tenants, ...(extra.tenants ?? [])],
    apps: [...demo.apps, ...(extra.apps ?? [])],
    users: [...demo.users, ...(extra.users ?? [])],
    consents: [...(demo.consents ?? []), ...(extra.consents ?? [])],
  };
  return startIdentityProvider({ tlsCertificate, seed, ...options });
}

export interface ClientCertificate {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** Hex thumbprints, as MSAL takes them. */
  readonly thumbprintSha1Hex: string;
  readonly thumbprintSha256Hex: string;
}

/** A self-signed client certificate for private_key_jwt client authentication. */
export async function newClientCertificate(commonName = 'connector-test-client'): Promise<ClientCertificate> {
  const pems = await generate([{ name: 'commonName', value: commonName }], { keySize: 2048, algorithm: 'sha256', notAfterDate: new Date(Date.now() + 24 * 3600 * 1000) });
  const cert = new X509Certificate(pems.cert);
  return {
    certificatePem: pems.cert,
    privateKeyPem: pems.private,
    thumbprintSha1Hex: cert.fingerprint.replace(/:/g, ''),
    thumbprintSha256Hex: cert.fingerprint256.replace(/:/g, ''),
  };
}

/** The claims of a JWT, unverified (tests check what was issued). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Reads an MSAL/identity error's text, which carries Entra's AADSTS code. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const withCode = error as Error & { errorCode?: string; errorMessage?: string; subError?: string };
    return `${withCode.errorCode ?? ''} ${withCode.subError ?? ''} ${withCode.errorMessage ?? ''} ${error.message}`;
  }
  return String(error);
}
