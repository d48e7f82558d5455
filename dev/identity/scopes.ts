import type { Directory } from './directory';
import { EntraProtocolError, entraErrors } from './entra-errors';
import { OIDC_SCOPES } from './first-party-apps';
import type { StoredApp } from './model';

/** A scope parameter read the way Entra reads it: one resource, its scopes, and the OIDC extras. */
export interface ScopeRequest {
  readonly resource: StoredApp;
  /** The resource as the client named it; it becomes the token's audience. */
  readonly audience: string;
  /** True for `<resource>/.default`. */
  readonly isDefault: boolean;
  /** Scope values of the resource ("EWS.AccessAsUser.All"); empty for .default. */
  readonly values: readonly string[];
  /** openid, profile, email, offline_access as requested. */
  readonly oidc: readonly string[];
}

const GRAPH = 'https://graph.microsoft.com';

/** Splits "https://outlook.office365.com/EWS.AccessAsUser.All offline_access" into resource and values. */
export function parseScopeRequest(directory: Directory, scopeParameter: string | undefined, tenantName: string): ScopeRequest {
  const scopes = (scopeParameter ?? '').split(/\s+/).filter(Boolean);
  if (scopes.length === 0) throw entraErrors.missingParameter('scope');
  const oidc = scopes.filter((s) => OIDC_SCOPES.has(s));
  const byResource = new Map<string, string[]>();
  for (const scope of scopes.filter((s) => !OIDC_SCOPES.has(s))) {
    const cut = scope.lastIndexOf('/');
    // api://x/.default has its resource before the last slash; bare names are Graph scopes.
    const [audience, value] = cut > 0 && scope.slice(0, cut).includes(':') ? [scope.slice(0, cut), scope.slice(cut + 1)] : cut > 0 && /^[0-9a-f-]{36}$/i.test(scope.slice(0, cut)) ? [scope.slice(0, cut), scope.slice(cut + 1)] : [GRAPH, scope];
    byResource.set(audience, [...(byResource.get(audience) ?? []), value]);
  }
  if (byResource.size > 1) {
    throw new EntraProtocolError('invalid_scope', 28000, `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scopeParameter} is not valid.`);
  }
  const [audience, values] = byResource.size === 1 ? [...byResource.entries()][0]! : [GRAPH, ['User.Read']];
  const resource = directory.findResource(audience);
  if (!resource) throw entraErrors.resourceNotFound(audience, tenantName);
  const isDefault = values.includes('.default');
  if (isDefault && values.length > 1) throw entraErrors.invalidScope(scopeParameter ?? '', '.default cannot be combined with other scopes of the same resource.');
  if (!isDefault) {
    const unknown = values.filter((v) => !resource.exposedScopes.includes(v));
    if (unknown.length > 0) throw entraErrors.invalidScope(`${audience}/${unknown[0]}`, `The resource ${resource.displayName} does not expose it.`);
  }
  return { resource, audience: audience.replace(/\/+$/, ''), isDefault, values: isDefault ? [] : values, oidc };
}

/** The delegated scopes a request asks for: `.default` means those the client's registration lists. */
export function requestedDelegatedScopes(request: ScopeRequest, client: StoredApp, directory: Directory): string[] {
  if (!request.isDefault) return [...request.values];
  const listed = client.requiredResourceAccess.filter((r) => directory.findResource(r.resource)?.appId === request.resource.appId);
  return [...new Set(listed.flatMap((r) => r.delegatedPermissions ?? []))];
}
