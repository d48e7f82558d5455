/**
 * Admin consent to the product's multi-tenant connector app, in two legs:
 *
 * 1. An admin API call hands out the consent link (Entra's /adminconsent). Entra sends the
 *    customer's admin back to the anonymous callback with `admin_consent` and `tenant` — query
 *    parameters nobody signs, so they are never trusted for anything but a refusal.
 * 2. On a grant, the callback sends the same browser into an OpenID Connect sign-in (authorization
 *    code + PKCE + nonce) at the same redirect URI. The connector tenant is bound to the Entra
 *    tenant only when the validated id_token shows an administrator (a directory role that can
 *    grant consent) of that tenant, the tenant matches what the link was made for, and no other
 *    connector tenant is bound to it (docs/security.md).
 *
 * Every step checks the signed, single-use, expiring state.
 */
import { ConsentStateError } from '../auth/consent-state';
import type { VerifiedConsentState } from '../auth/consent-state';
import { toEntraAuthError } from '../auth/entra-errors';
import { CONSENT_CAPABLE_ROLES, IdTokenError, verifyIdToken } from '../auth/id-token';
import { bindingConflict, verifiedEntraTenant } from '../admin/tenant-binding';
import type { AdminConsentRecord } from '../storage/consents-repository';
import { PreconditionFailedError } from '../storage';
import type { TenantRecord } from '../storage';
import type { ConsentDependencies } from './consent-dependencies';
import { adminConsentRedirectUri } from './redirect-uris';
import type { BrowserStep, ResultPage } from './result-page';
import { stateProblemPage } from './state-pages';

export interface AdminConsentLink {
  readonly url: string;
  readonly redirectUri: string;
  readonly expiresAt: string;
}

export type AdminConsentStep = BrowserStep;

export async function createAdminConsentLink(deps: ConsentDependencies, tenant: TenantRecord, requestedBy: { objectId: string; name: string }): Promise<AdminConsentLink> {
  const expected = verifiedEntraTenant(tenant);
  const issued = await deps.states.issue({ purpose: 'adminConsent', tenantId: tenant.id, ...(expected ? { entraTenantId: expected } : {}), requestedBy });
  const redirectUri = adminConsentRedirectUri(deps.publicBaseUrl);
  const params = new URLSearchParams({ client_id: deps.connectorApp.clientId, redirect_uri: redirectUri, state: issued.state });
  return { url: `${deps.connectorApp.authority(expected)}/adminconsent?${params}`, redirectUri, expiresAt: issued.expiresAt.toISOString() };
}

function clip(text: string | null, max = 600): string {
  return (text ?? '').replace(/[\u0000-\u001f]/g, ' ').slice(0, max);
}

function page(result: ResultPage): AdminConsentStep {
  return { kind: 'page', page: result };
}

const replayed = (): AdminConsentStep => page(stateProblemPage(new ConsentStateError('StateReplayed', 'This consent link was already used. Ask for a new one.')));

/** Handles both legs at the one registered redirect URI; the state's purpose says which leg this is. */
export async function completeAdminConsent(deps: ConsentDependencies, query: URLSearchParams): Promise<AdminConsentStep> {
  let claims: VerifiedConsentState;
  try {
    // The signed state says which leg this is; nothing else in the query is trusted for that.
    claims = await deps.states.verify(query.get('state'), 'adminConsent').catch((error: unknown) => {
      if (error instanceof ConsentStateError && error.code === 'StateWrongPurpose') return deps.states.verify(query.get('state'), 'adminConsentVerify');
      throw error;
    });
  } catch (error: unknown) {
    if (error instanceof ConsentStateError) return page(stateProblemPage(error));
    throw error;
  }
  const tenant = await deps.tenants.find(claims.tenantId);
  if (!tenant) return page({ status: 400, code: 'TenantNotFound', title: 'Consent link no longer valid', message: 'The tenant this link was made for no longer exists.' });
  if (!(await deps.consents.consumeState(claims.stateId, claims.purpose, claims.expiresAt))) return replayed();
  return claims.purpose === 'adminConsent' ? afterConsentPrompt(deps, tenant, claims, query) : afterAdministratorSignIn(deps, tenant, claims, query);
}

/** Leg 1: Entra's answer to the consent prompt. A refusal is recorded; a grant must still be proved. */
async function afterConsentPrompt(deps: ConsentDependencies, tenant: TenantRecord, claims: VerifiedConsentState, query: URLSearchParams): Promise<AdminConsentStep> {
  const granted = query.get('admin_consent')?.toLowerCase() === 'true' && !query.get('error');
  const requestedBy = claims.requestedBy ?? { objectId: 'unknown', name: 'unknown' };
  if (!granted) {
    const at = deps.now().toISOString();
    const error = { code: clip(query.get('error'), 100) || 'access_denied', description: clip(query.get('error_description')) };
    const record: AdminConsentRecord = { tenantId: tenant.id, status: 'refused', at, requestedBy, error, ...(tenant.entraTenantId ? { entraTenantId: tenant.entraTenantId } : {}) };
    await deps.consents.recordAdminConsent(record);
    await deps.audit.append({ tenantId: tenant.id, actor: requestedBy, action: 'consent.refused', target: `/tenants/${tenant.id}/consent`, details: { error: error.code, description: error.description } }, deps.now());
    return page({ status: 200, code: 'AdminConsentRefused', title: 'Consent was not granted', message: `Entra ID reported: ${error.description || error.code}. Nothing was changed; your provider can send a new link.` });
  }
  // The `tenant` parameter is not signed: the sign-in below tells which organisation consented.
  const issued = await deps.states.issue({ purpose: 'adminConsentVerify', tenantId: tenant.id, ...(claims.entraTenantId ? { entraTenantId: claims.entraTenantId } : {}), requestedBy });
  const { challenge } = await deps.states.pkce(issued.stateId);
  const application = await deps.connectorApp.application(claims.entraTenantId);
  const location = await application.getAuthCodeUrl({
    scopes: ['openid', 'profile'],
    redirectUri: adminConsentRedirectUri(deps.publicBaseUrl),
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    state: issued.state,
    nonce: await deps.states.nonce(issued.stateId),
    responseMode: 'query',
  });
  return { kind: 'redirect', location };
}

function verificationFailed(message: string, status = 400, code = 'AdminVerificationFailed'): AdminConsentStep {
  return page({ status, code, title: 'Consent could not be confirmed', message: `${message} Nothing was changed; ask your provider for a new link.` });
}

/** Leg 2: the administrator's sign-in. Only a validated id_token binds the tenant. */
async function afterAdministratorSignIn(deps: ConsentDependencies, tenant: TenantRecord, claims: VerifiedConsentState, query: URLSearchParams): Promise<AdminConsentStep> {
  const code = query.get('code');
  if (!code) return verificationFailed(`Entra ID reported: ${clip(query.get('error_description')) || clip(query.get('error'), 100) || 'no answer'}.`);
  const { verifier } = await deps.states.pkce(claims.stateId);
  const nonce = await deps.states.nonce(claims.stateId);
  const application = await deps.connectorApp.application(claims.entraTenantId);
  let idToken: string;
  try {
    const result = await application.acquireTokenByCode(
      { code, scopes: ['openid', 'profile'], redirectUri: adminConsentRedirectUri(deps.publicBaseUrl), codeVerifier: verifier, nonce, state: query.get('state')! },
      { code, state: query.get('state')! },
    );
    idToken = result.idToken;
  } catch (error: unknown) {
    return verificationFailed(toEntraAuthError(error, { clientId: deps.connectorApp.clientId }).message);
  }
  let signedIn;
  try {
    signedIn = await verifyIdToken(idToken, { authorityHost: deps.connectorApp.authorityHost, clientId: deps.connectorApp.clientId, nonce });
  } catch (error: unknown) {
    if (error instanceof IdTokenError) return verificationFailed(error.message);
    throw error;
  }
  if (!signedIn.directoryRoles.some((role) => CONSENT_CAPABLE_ROLES.has(role))) {
    return verificationFailed(`${signedIn.name} does not hold a directory role that can grant admin consent (Global Administrator, Privileged Role Administrator, Cloud Application Administrator or Application Administrator).`, 403, 'NotAnAdministrator');
  }
  const expected = verifiedEntraTenant(tenant) ?? claims.entraTenantId;
  if (expected && expected.toLowerCase() !== signedIn.tenantId) {
    return page(stateProblemPage(new ConsentStateError('StateWrongTenant', 'Consent was granted in another organisation than the one this link was made for. Sign in with an administrator of the right organisation.')));
  }
  const conflict = await bindingConflict(deps.tenants, signedIn.tenantId, tenant);
  if (conflict) return verificationFailed('This organisation is already connected to another tenant of this service.', 409, 'EntraTenantAlreadyBound');
  return recordGrant(deps, tenant, claims, signedIn);
}

async function recordGrant(
  deps: ConsentDependencies,
  tenant: TenantRecord,
  claims: VerifiedConsentState,
  signedIn: { tenantId: string; objectId: string; name: string },
): Promise<AdminConsentStep> {
  const at = deps.now().toISOString();
  const requestedBy = claims.requestedBy ?? { objectId: 'unknown', name: 'unknown' };
  const grantedBy = { objectId: signedIn.objectId, name: signedIn.name };
  const entraTenantId = signedIn.tenantId;
  for (let attempt = 0; ; attempt++) {
    const current = await deps.tenants.find(tenant.id);
    if (!current) return page({ status: 400, code: 'TenantNotFound', title: 'Consent link no longer valid', message: 'The tenant this link was made for no longer exists.' });
    if (current.entraTenantId === entraTenantId && current.entraTenantBoundBy === 'adminConsent') break;
    const { etag, ...record } = current;
    try {
      await deps.tenants.replace({ ...record, entraTenantId, entraTenantBoundBy: 'adminConsent', updatedAt: at }, etag);
      break;
    } catch (error: unknown) {
      if (!(error instanceof PreconditionFailedError) || attempt >= 2) throw error;
    }
  }
  await deps.consents.recordAdminConsent({ tenantId: tenant.id, status: 'granted', entraTenantId, at, requestedBy, grantedBy });
  await deps.audit.append(
    { tenantId: tenant.id, actor: grantedBy, action: 'consent.granted', target: `/tenants/${tenant.id}/consent`, details: { entraTenantId, grantedBy: grantedBy.name, requestedBy: requestedBy.name } },
    deps.now(),
  );
  return page({ status: 200, code: 'AdminConsentGranted', title: 'Consent granted', message: `Thank you. ${tenant.displayName} is now connected; you can close this page.` });
}
