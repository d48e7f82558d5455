import type { TenantSegment } from './directory';

/**
 * OpenID Connect discovery documents in Entra's shapes. For a tenant the endpoints carry
 * the tenant id; for common/organizations they keep the path name and the issuer carries
 * the literal `{tenantid}` placeholder, as Entra's do.
 */
export function openIdConfiguration(authorityUrl: string, segment: TenantSegment, version: 1 | 2): Record<string, unknown> {
  const pathTenant = segment.kind === 'tenant' ? segment.tenant.id : segment.name;
  const issuerTenant = segment.kind === 'tenant' ? segment.tenant.id : '{tenantid}';
  const base = `${authorityUrl}/${pathTenant}`;
  const v2 = version === 2;
  return {
    token_endpoint: v2 ? `${base}/oauth2/v2.0/token` : `${base}/oauth2/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: v2 ? `${base}/discovery/v2.0/keys` : `${base}/discovery/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: v2 ? `${authorityUrl}/${issuerTenant}/v2.0` : `${authorityUrl}/${issuerTenant}/`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${authorityUrl}/oidc/userinfo`,
    authorization_endpoint: v2 ? `${base}/oauth2/v2.0/authorize` : `${base}/oauth2/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: v2 ? `${base}/oauth2/v2.0/logout` : `${base}/oauth2/logout`,
    claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
    code_challenge_methods_supported: ['plain', 'S256'],
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

/**
 * The instance discovery answer (`/common/discovery/instance`). MSAL asks the public cloud
 * for it, never this host, so clients use knownAuthorities / disableInstanceDiscovery; the
 * document is served for clients that want to pass it as cloudDiscoveryMetadata.
 */
export function instanceDiscovery(authorityUrl: string): Record<string, unknown> {
  const host = new URL(authorityUrl).host;
  return {
    tenant_discovery_endpoint: `${authorityUrl}/common/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}
