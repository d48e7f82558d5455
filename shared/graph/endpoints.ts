/**
 * The Graph cloud endpoints the connector may send tokens to. The endpoint is operator
 * configuration (GRAPH_ENDPOINT), never something an admin of a customer tenant supplies: the
 * product's multi-tenant app tokens go only to fixed Microsoft endpoints. Each national cloud
 * has its own endpoint and token audience; development may point at the local Graph simulator,
 * which accepts tokens for the global audience.
 */
export interface GraphCloud {
  /** Where requests go (origin, no path). */
  readonly endpoint: string;
  /** The token audience ("<resource>/.default" is requested). */
  readonly resource: string;
}

/** Microsoft's national cloud deployments of Graph (endpoint = audience). */
export const GRAPH_CLOUD_ENDPOINTS: readonly string[] = [
  'https://graph.microsoft.com',
  'https://graph.microsoft.us',
  'https://dod-graph.microsoft.us',
  'https://microsoftgraph.chinacloudapi.cn',
];

export const GLOBAL_GRAPH_RESOURCE = 'https://graph.microsoft.com';

/** Graph's endpoint in each Microsoft cloud a deployment can serve (MICROSOFT_CLOUD, shared/config/microsoft-clouds.ts). */
export const GRAPH_ENDPOINT_OF_CLOUD = {
  global: 'https://graph.microsoft.com',
  usGovernment: 'https://graph.microsoft.us',
  usGovernmentDoD: 'https://dod-graph.microsoft.us',
  china: 'https://microsoftgraph.chinacloudapi.cn',
} as const;

function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]' || hostname === '::1';
}

/** Why an endpoint setting is not allowed in this environment, or undefined when it is fine. */
export function graphEndpointProblem(endpoint: string, environment: 'production' | 'development'): string | undefined {
  const origin = originOf(endpoint);
  if (!origin) return 'must be an https URL';
  if (GRAPH_CLOUD_ENDPOINTS.includes(origin)) return undefined;
  if (environment === 'development' && isLoopback(new URL(origin).hostname)) return undefined;
  return `must be one of Microsoft's Graph endpoints (${GRAPH_CLOUD_ENDPOINTS.join(', ')})${environment === 'development' ? ' or a loopback simulator' : ''}`;
}

/** The cloud for a validated endpoint setting. */
export function graphCloud(endpoint: string): GraphCloud {
  const origin = originOf(endpoint) ?? GLOBAL_GRAPH_RESOURCE;
  return { endpoint: origin, resource: GRAPH_CLOUD_ENDPOINTS.includes(origin) ? origin : GLOBAL_GRAPH_RESOURCE };
}
