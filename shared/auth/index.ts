export { createAppCredential, isEntraAuthorityHost } from './azure-credential';
export { ADMIN_ROLES, AdminTokenError, createAdminTokenValidator, principalFromClaims } from './admin-token';
export type { AdminPrincipal, AdminTokenErrorCode, AdminTokenValidator, AdminTokenValidatorOptions, AdminTokenValidatorSettings } from './admin-token';
