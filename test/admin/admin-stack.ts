/**
 * The admin API as it really runs: the production function files loaded by the local
 * Functions host, with Azurite, the local Key Vault and the identity provider, all on random
 * loopback ports. Tests talk HTTP to it and inspect storage, the vault and the captured logs.
 */
import type { AzuriteInstance } from '../../dev/azurite/azurite';
import type { FunctionsHost } from '../../dev/functions-host/host';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import type { RunningIdentityProvider } from '../../dev/identity/server';
import type { RunningKeyVaultServer } from '../../dev/keyvault';
import type { SecretStore } from '../../shared/secrets/secret-store';
import { startConnectorStack } from '../support/connector-stack';
import { requestJson } from '../support/http-json';
import type { JsonResponse } from '../support/http-json';

export const OPERATOR_TENANT = DEMO_IDENTITY.operatorTenantId;
export const ADMIN_AUDIENCE = DEMO_IDENTITY.adminApi.audience;

export type ApiResponse = JsonResponse;

export interface RequestOptions {
  readonly token?: string | null;
  readonly body?: unknown;
  /** Sent as is (no JSON encoding). */
  readonly rawBody?: string | Buffer;
  readonly headers?: Record<string, string>;
}

export interface AdminStack {
  readonly host: FunctionsHost;
  readonly idp: RunningIdentityProvider;
  readonly azurite: AzuriteInstance;
  readonly vault: RunningKeyVaultServer;
  /** A SecretStore on the same vault, as the app's identity. */
  readonly secrets: SecretStore;
  /** Every line the host and the functions logged. */
  readonly logs: string[];
  readonly settings: Readonly<Record<string, string>>;
  /** Connector.Admin token (all tenants). */
  adminToken(): string;
  /** Connector.TenantAdmin token limited to `tenantIds`. */
  tenantAdminToken(tenantIds: readonly string[]): string;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  /** Every entity in every table, as JSON text, for leak scans. */
  dumpTables(): Promise<string>;
  close(): Promise<void>;
}

export async function startAdminStack(extraSettings: Record<string, string> = {}): Promise<AdminStack> {
  const stack = await startConnectorStack({ functions: ['admin-ping', 'admin-tenants', 'admin-groups', 'admin-mailboxes', 'openapi', 'admin-ews-url-discovery'], extraSettings });
  const { idp } = stack;
  const mint = (roles: string[], extraClaims: Record<string, unknown> = {}, oid: string = DEMO_IDENTITY.users.operatorAdmin.objectId, name = 'Operator Admin') =>
    idp.control.issueAccessToken({ tenantId: OPERATOR_TENANT, audience: ADMIN_AUDIENCE, roles, oid, name, upn: 'admin@operator.example.com', extraClaims });

  return {
    host: stack.host,
    idp,
    azurite: stack.azurite,
    vault: stack.vault,
    secrets: stack.secrets,
    logs: stack.logs,
    settings: stack.settings,
    adminToken: () => mint(['Connector.Admin']),
    tenantAdminToken: (tenantIds) => mint(['Connector.TenantAdmin'], { connector_tenants: [...tenantIds] }, DEMO_IDENTITY.users.operatorTenantAdmin.objectId, 'Tenant Admin'),
    request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token !== null) headers.authorization ??= `Bearer ${options.token ?? mint(['Connector.Admin'])}`;
      return requestJson(method, stack.host.url + path, { headers, body: options.body, ...(options.rawBody !== undefined ? { rawBody: options.rawBody } : {}) });
    },
    dumpTables: () => stack.dumpTables(),
    close: () => stack.close(),
  };
}

/** A group body with an impersonation service account (NTLM) and the given external id. */
export function impersonationGroupBody(externalId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Sales',
    externalId,
    mailboxAccessType: 'impersonation',
    ewsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx',
    impersonation: { serviceAccount: 'svc-connector@contoso.com', authScheme: 'ntlm' },
    ...extra,
  };
}

/** Creates a tenant through the API and returns its id (asserting 201). */
export async function createTenantThroughApi(stack: AdminStack, displayName = 'Contoso'): Promise<string> {
  const created = await stack.request('POST', '/api/admin/tenants', { body: { displayName } });
  if (created.status !== 201) throw new Error(`POST /tenants: ${created.status} ${created.text}`);
  return created.body.id;
}

/** Creates a group through the API and returns its id (asserting 201). */
export async function createGroupThroughApi(stack: AdminStack, tenantId: string, body: object): Promise<string> {
  const created = await stack.request('POST', `/api/admin/tenants/${tenantId}/groups`, { body });
  if (created.status !== 201) throw new Error(`POST /groups: ${created.status} ${created.text}`);
  return created.body.id;
}
