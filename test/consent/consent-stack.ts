/**
 * The consent flows as they really run: the production function files in the local Functions
 * host (on a port chosen first, so PUBLIC_BASE_URL and the registered redirect URIs match),
 * Azurite, the local Key Vault, the identity provider and the EWS simulator with the Contoso
 * demo organisation. Tests drive it over HTTP like a browser and an admin would.
 */
import type { EwsSimulator } from '../../dev/ews-simulator/server';
import { demoOrganisationSeed } from '../../dev/ews-simulator/seed';
import { DEMO_IDENTITY } from '../../dev/identity/demo-seed';
import type { RunningIdentityProvider } from '../../dev/identity/server';
import { loadConfig } from '../../shared/config';
import { createConsentDependencies } from '../../shared/consent/consent-composition';
import type { ConsentDependencies } from '../../shared/consent/consent-dependencies';
import { SecretString } from '../../shared/logging';
import type { SecretStore } from '../../shared/secrets/secret-store';
import { secretNames } from '../../shared/secrets/secret-names';
import { startConnectorStack } from '../support/connector-stack';
import { requestJson } from '../support/http-json';
import type { JsonResponse } from '../support/http-json';

export { resultCode } from '../support/eventually';

export const d = DEMO_IDENTITY;

export type ApiResponse = JsonResponse;

export interface ConsentStack {
  readonly baseUrl: string;
  readonly idp: RunningIdentityProvider;
  readonly ews: EwsSimulator;
  readonly secrets: SecretStore;
  readonly logs: string[];
  readonly settings: Readonly<Record<string, string>>;
  /** The same use cases in this process (same tables and vault): the sync engine's view. */
  readonly inProcess: ConsentDependencies;
  request(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  dumpTables(): Promise<string>;
  close(): Promise<void>;
}

const FUNCTIONS = [
  'admin-tenants',
  'admin-groups',
  'admin-mailboxes',
  'admin-consent',
  'admin-invitations',
  'admin-delegated-users',
  'admin-credential-status',
  'consent-admin-callback',
  'consent-signin',
];

export async function startConsentStack(): Promise<ConsentStack> {
  const stack = await startConnectorStack({
    functions: FUNCTIONS,
    publicBaseUrlIsHost: true,
    ews: { seed: (store) => void demoOrganisationSeed({ itemsPerFolder: 2 }).apply(store), trustIdentityProvider: true },
    // The operator's post-deploy step: the connector app's client secret in Key Vault.
    beforeHost: async ({ secrets }) => {
      await secrets.setSecret(secretNames.connectorAppClientSecret(), new SecretString(d.connectorApp.clientSecret), { expiresOn: new Date(Date.now() + 365 * 24 * 3600_000) });
    },
  });
  const baseUrl = stack.settings.PUBLIC_BASE_URL!;
  const adminToken = stack.idp.control.issueAccessToken({ tenantId: d.operatorTenantId, audience: d.adminApi.audience, roles: ['Connector.Admin'], oid: d.users.operatorAdmin.objectId, name: 'Operator Admin', upn: d.users.operatorAdmin.upn });
  return {
    baseUrl,
    idp: stack.idp,
    ews: stack.ews!,
    secrets: stack.secrets,
    logs: stack.logs,
    settings: stack.settings,
    inProcess: createConsentDependencies(loadConfig(stack.settings)),
    request: (method, path, body) => requestJson(method, baseUrl + path, { headers: { authorization: `Bearer ${adminToken}` }, body }),
    dumpTables: () => stack.dumpTables(),
    close: () => stack.close(),
  };
}
