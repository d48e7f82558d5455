import { X509Certificate } from 'node:crypto';
import type { Directory } from './directory';
import { nowInSeconds } from './directory';
import { entraErrors } from './entra-errors';
import { decodeJwt, verifyJwtSignature } from './jwt';
import type { StoredApp, StoredTenant } from './model';
import type { ClientAuthMethod } from './tokens';

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const CLOCK_SKEW_IN_SECONDS = 300;

export interface AuthenticatedClient {
  readonly app: StoredApp;
  readonly method: ClientAuthMethod;
}

export interface ClientAuthenticationInput {
  readonly form: URLSearchParams;
  readonly authorizationHeader: string | undefined;
  /** The tenant the request is for (resolved), or undefined for common/organizations. */
  readonly tenant: StoredTenant | undefined;
  readonly tenantName: string;
  /** Token endpoint URLs an assertion's `aud` may name (the tenant path as called, and by id). */
  readonly acceptedAssertionAudiences: readonly string[];
}

function basicCredentials(header: string | undefined): { clientId: string; secret: string } | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const cut = decoded.indexOf(':');
  if (cut < 0) return undefined;
  try {
    // RFC 6749 2.3.1: both parts are form-urlencoded before base64.
    return { clientId: decodeURIComponent(decoded.slice(0, cut)), secret: decodeURIComponent(decoded.slice(cut + 1)) };
  } catch {
    return undefined;
  }
}

/**
 * Confidential client authentication as Entra does it: the app must exist in the tenant
 * (AADSTS700016), then a client secret (client_secret_post or _basic) or a certificate-signed
 * assertion (private_key_jwt, RS256 with x5t or PS256 with x5t#S256) must check out.
 */
export function authenticateClient(directory: Directory, input: ClientAuthenticationInput): AuthenticatedClient {
  const { form } = input;
  const basic = basicCredentials(input.authorizationHeader);
  const assertion = form.get('client_assertion') ?? undefined;
  const decoded = assertion ? decodeJwt(assertion) : undefined;
  const clientId = form.get('client_id') ?? basic?.clientId ?? (typeof decoded?.payload.iss === 'string' ? decoded.payload.iss : undefined);
  if (!clientId) throw entraErrors.missingParameter('client_id');
  const app = directory.findApp(clientId);
  if (!app || app.firstParty || (input.tenant && !directory.appPresentInTenant(app, input.tenant.id))) {
    throw entraErrors.appNotFoundInDirectory(clientId, input.tenantName);
  }
  if (assertion !== undefined) {
    if (form.get('client_assertion_type') !== JWT_BEARER_ASSERTION_TYPE) throw entraErrors.missingParameter('client_assertion_type');
    if (!decoded) throw entraErrors.assertionMalformed('The client assertion is not a compact JWS.');
    verifyAssertion(directory, app, decoded, input.acceptedAssertionAudiences);
    return { app, method: 'certificate' };
  }
  const secret = form.get('client_secret') ?? basic?.secret;
  if (secret === undefined || secret === null) throw entraErrors.missingClientCredential();
  const check = directory.checkSecret(app, secret);
  if (check.kind === 'invalid') throw entraErrors.invalidClientSecret(app.appId);
  if (check.kind === 'expired') throw entraErrors.expiredClientSecret(app.appId, check.keyId);
  return { app, method: 'secret' };
}

function verifyAssertion(directory: Directory, app: StoredApp, jwt: NonNullable<ReturnType<typeof decodeJwt>>, audiences: readonly string[]): void {
  const { header, payload } = jwt;
  if (payload.iss !== app.appId || payload.sub !== app.appId) throw entraErrors.assertionIssuerInvalid();
  const audience = typeof payload.aud === 'string' ? payload.aud : '';
  if (!audiences.some((a) => a.toLowerCase() === audience.toLowerCase())) throw entraErrors.assertionAudienceInvalid(audience);
  const now = nowInSeconds();
  if (typeof payload.exp !== 'number' || payload.exp + CLOCK_SKEW_IN_SECONDS < now) throw entraErrors.assertionExpired();
  if (typeof payload.nbf === 'number' && payload.nbf - CLOCK_SKEW_IN_SECONDS > now) throw entraErrors.assertionExpired();
  const sha256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
  const sha1 = typeof header.x5t === 'string' ? header.x5t : undefined;
  if (!sha256 && !sha1) throw entraErrors.assertionMalformed('The assertion header must carry x5t or x5t#S256.');
  const certificate = directory.findCertificate(app, { sha1, sha256 });
  if (!certificate) throw entraErrors.assertionCertificateUnknown(sha256 ?? sha1 ?? '', app.appId);
  if (certificate.expiresAt && Date.parse(certificate.expiresAt) <= Date.now()) throw entraErrors.certificateExpired(app.appId);
  const publicKey = new X509Certificate(certificate.certificatePem).publicKey;
  if (!verifyJwtSignature(jwt, publicKey)) throw entraErrors.assertionSignatureInvalid();
}
