/**
 * Admin consent to the product's multi-tenant connector app: an admin API call hands out the
 * consent link for a tenant; Entra sends the customer's admin back to the anonymous callback,
 * which checks the signed, single-use state and records the grant or the refusal.
 */
import { ConsentStateError } from '../auth/consent-state';
import type { AdminConsentRecord } from '../storage/consents-repository';
import type { TenantRecord } from '../storage';
import type { ConsentDependencies } from './consent-dependencies';
import { adminConsentRedirectUri } from './redirect-uris';
import type { ResultPage } from './result-page';
import { stateProblemPage } from './state-pages';

export interface AdminConsentLink {
  readonly url: string;
  readonly redirectUri: string;
  readonly expiresAt: string;
}

export async function createAdminConsentLink(deps: ConsentDependencies, tenant: TenantRecord, requestedBy: { objectId: string; name: string }): Promise<AdminConsentLink> {
  const issued = await deps.states.issue({ purpose: 'adminConsent', tenantId: tenant.id, ...(tenant.entraTenantId ? { entraTenantId: tenant.entraTenantId } : {}), requestedBy });
  const redirectUri = adminConsentRedirectUri(deps.publicBaseUrl);
  const params = new URLSearchParams({ client_id: deps.connectorApp.clientId, redirect_uri: redirectUri, state: issued.state });
  return { url: `${deps.connectorApp.authority(tenant.entraTenantId)}/adminconsent?${params}`, redirectUri, expiresAt: issued.expiresAt.toISOString() };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function clip(text: string | null, max = 600): string {
  return (text ?? '').replace(/[\u0000-\u001f]/g, ' ').slice(0, max);
}

/** Handles Entra's redirect after the admin consent prompt. Nothing is stored unless the state checks out. */
export async function completeAdminConsent(deps: ConsentDependencies, query: URLSearchParams): Promise<ResultPage> {
  let claims;
  try {
    claims = await deps.states.verify(query.get('state'), 'adminConsent');
  } catch (error: unknown) {
    if (error instanceof ConsentStateError) return stateProblemPage(error);
    throw error;
  }
  const tenant = await deps.tenants.find(claims.tenantId);
  if (!tenant) return { status: 400, code: 'TenantNotFound', title: 'Consent link no longer valid', message: 'The tenant this link was made for no longer exists.' };
  const returnedTenant = query.get('tenant');
  const granted = query.get('admin_consent')?.toLowerCase() === 'true' && !query.get('error');
  if (granted) {
    if (!returnedTenant || !GUID.test(returnedTenant)) return { status: 400, code: 'ConsentResponseInvalid', title: 'Unexpected answer from Entra ID', message: 'The consent response did not name the tenant.' };
    const expected = claims.entraTenantId ?? tenant.entraTenantId;
    if (expected && expected.toLowerCase() !== returnedTenant.toLowerCase()) {
      return stateProblemPage(new ConsentStateError('StateWrongTenant', `Consent was granted in another organisation than the one this link was made for. Sign in with an administrator of the right organisation.`));
    }
  }
  if (!(await deps.consents.consumeState(claims.stateId, claims.purpose, claims.expiresAt))) {
    return stateProblemPage(new ConsentStateError('StateReplayed', 'This consent link was already used. Ask for a new one.'));
  }
  const at = deps.now().toISOString();
  const requestedBy = claims.requestedBy ?? { objectId: 'unknown', name: 'unknown' };
  const actor = { objectId: requestedBy.objectId, name: requestedBy.name };
  if (!granted) {
    const error = { code: clip(query.get('error'), 100) || 'access_denied', description: clip(query.get('error_description')) };
    const record: AdminConsentRecord = { tenantId: tenant.id, status: 'refused', at, requestedBy, error, ...(tenant.entraTenantId ? { entraTenantId: tenant.entraTenantId } : {}) };
    await deps.consents.recordAdminConsent(record);
    await deps.audit.append({ tenantId: tenant.id, actor, action: 'consent.refused', target: `/tenants/${tenant.id}/consent`, details: { error: error.code, description: error.description } }, deps.now());
    return { status: 200, code: 'AdminConsentRefused', title: 'Consent was not granted', message: `Entra ID reported: ${error.description || error.code}. Nothing was changed; your provider can send a new link.` };
  }
  const entraTenantId = returnedTenant!.toLowerCase();
  await deps.consents.recordAdminConsent({ tenantId: tenant.id, status: 'granted', entraTenantId, at, requestedBy });
  if (!tenant.entraTenantId) {
    const { etag, ...current } = tenant;
    await deps.tenants.replace({ ...current, entraTenantId, updatedAt: at }, etag);
  }
  await deps.audit.append({ tenantId: tenant.id, actor, action: 'consent.granted', target: `/tenants/${tenant.id}/consent`, details: { entraTenantId } }, deps.now());
  return { status: 200, code: 'AdminConsentGranted', title: 'Consent granted', message: `Thank you. ${tenant.displayName} is now connected; you can close this page.` };
}
