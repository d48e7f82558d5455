/** Shared setup for the Graph simulator tests: IdP, EWS simulator and Graph simulator over one store. */
import { join } from 'node:path';
import { devStateDir, ensureDevCertificate } from '../../dev/certs';
import { startEwsSimulator, type EwsSimulator } from '../../dev/ews-simulator/server';
import { startGraphSimulator, type GraphSimulator, type GraphSimulatorOptions } from '../../dev/graph-simulator/server';
import { demoIdentitySeed, startIdentityProvider, type RunningIdentityProvider } from '../../dev/identity';
import { projectRoot } from '../../dev/project-paths';
import { seedSmallOrganisation, TENANT_ID } from '../ews-simulator/fixture';

export { TENANT_ID };
export const GRAPH = 'https://graph.microsoft.com';
export const APP_ID = 'c0ffee00-0000-4000-8000-00000000c0de';
export const ALL_APP_ROLES = ['Mail.ReadWrite', 'Mail.Send', 'Calendars.ReadWrite', 'Contacts.ReadWrite', 'Tasks.ReadWrite.All'] as const;

export interface GraphFixture {
  readonly idp: RunningIdentityProvider;
  readonly ews: EwsSimulator;
  readonly graph: GraphSimulator;
  appToken(roles?: readonly string[], options?: { appId?: string; tenantId?: string; audience?: string; expiresInSeconds?: number }): string;
  userToken(user: string, scp: string): string;
  close(): Promise<void>;
}

export async function startGraphFixture(options: Partial<GraphSimulatorOptions> = {}): Promise<GraphFixture> {
  const tls = await ensureDevCertificate(join(devStateDir(projectRoot()), 'certs'));
  const idp = await startIdentityProvider({ tlsCertificate: tls, seed: demoIdentitySeed(), port: 0 });
  const ews = await startEwsSimulator({ seed: seedSmallOrganisation, identity: { jwksUri: (tid) => idp.jwksUri(tid) } });
  const graph = await startGraphSimulator({ store: ews.store, identity: { authorityHost: idp.url }, tls, ...options });
  return {
    idp,
    ews,
    graph,
    appToken: (roles = ALL_APP_ROLES, o = {}) =>
      idp.control.issueAccessToken({ tenantId: o.tenantId ?? TENANT_ID, audience: o.audience ?? GRAPH, roles, appId: o.appId ?? APP_ID, ...(o.expiresInSeconds !== undefined ? { expiresInSeconds: o.expiresInSeconds } : {}) }),
    userToken: (user, scp) => idp.control.issueUserAccessToken({ user, audience: GRAPH, scp, appId: APP_ID }),
    close: async () => {
      await graph.close();
      await ews.close();
      await idp.close();
    },
  };
}

export interface JsonResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** A Graph call with a bearer token; `path` is below /v1.0 or an absolute link. */
export async function graphCall<T = Record<string, unknown>>(
  graph: GraphSimulator,
  token: string | undefined,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const url = path.startsWith('http') ? path : `${graph.url}${path}`;
  const headers: Record<string, string> = { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as T };
}

/** Follows nextLinks to the deltaLink; returns every entry and the deltaLink. */
export async function deltaRound(graph: GraphSimulator, token: string, firstUrl: string, headers: Record<string, string> = {}): Promise<{ entries: Record<string, unknown>[]; deltaLink: string; pages: number }> {
  const entries: Record<string, unknown>[] = [];
  let url = firstUrl;
  for (let pages = 1; pages < 10_000; pages++) {
    const page = await graphCall<{ value: Record<string, unknown>[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string }>(graph, token, url, { headers });
    if (page.status !== 200) throw new Error(`delta page ${pages}: ${page.status} ${JSON.stringify(page.body)}`);
    entries.push(...page.body.value);
    if (page.body['@odata.deltaLink']) return { entries, deltaLink: page.body['@odata.deltaLink'], pages };
    url = page.body['@odata.nextLink']!;
  }
  throw new Error('delta round did not end');
}
