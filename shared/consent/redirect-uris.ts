/**
 * Redirect URIs come from configuration only: PUBLIC_BASE_URL plus the callback routes in
 * infra/entra-redirect-routes.json (the same file the Entra app registration is built from),
 * never from the incoming request.
 */
import routes from '../../infra/entra-redirect-routes.json';

export const ADMIN_CONSENT_CALLBACK_ROUTE: string = routes.adminConsentCallback;
export const SIGN_IN_CALLBACK_ROUTE: string = routes.userSignInCallback;
/** Where invitation links point: the sign-in start endpoint. */
export const SIGN_IN_START_ROUTE = 'consent/signin';

function underApi(publicBaseUrl: string, route: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/api/${route}`;
}

export function adminConsentRedirectUri(publicBaseUrl: string): string {
  return underApi(publicBaseUrl, ADMIN_CONSENT_CALLBACK_ROUTE);
}

export function signInRedirectUri(publicBaseUrl: string): string {
  return underApi(publicBaseUrl, SIGN_IN_CALLBACK_ROUTE);
}

export function signInStartUrl(publicBaseUrl: string, tenantId: string, code: string): string {
  return `${underApi(publicBaseUrl, SIGN_IN_START_ROUTE)}?${new URLSearchParams({ tenant: tenantId, code })}`;
}
