import { isIP } from 'node:net';
import type { ConnectorEnvironment } from '../config';
import type { FieldProblem } from '../http/problem';

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/**
 * Outbound URLs (EWS endpoints, webhooks) must be https. Plain http is allowed only for
 * loopback hosts in development, where the local simulators live. URLs carrying a user name or
 * password are refused: they would be stored and shown as plain configuration.
 */
export function outboundUrlProblem(raw: string, environment: ConnectorEnvironment, pointer: string): FieldProblem | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { pointer, detail: 'must be an absolute https URL' };
  }
  if (url.username || url.password) return { pointer, detail: 'must not contain a user name or password; use the credentials endpoint' };
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && environment === 'development' && isLoopbackHost(url.hostname)) return undefined;
  return {
    pointer,
    detail: environment === 'development' ? 'must use https (plain http is allowed only for loopback hosts in development)' : 'must use https',
  };
}
