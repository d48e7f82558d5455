/**
 * Outbound delivery must not become a way into our own network (SSRF): in production a target
 * host must resolve only to public addresses. Checked when the target is set AND at every send,
 * and the send connects to exactly the addresses that were checked (no second DNS lookup that
 * a rebinding attacker could answer differently).
 */
import { lookup as lookupCallback } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { ConnectorEnvironment } from '../config';

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['2001:db8::', 32], ['64:ff9b::', 96], ['100::', 64],
] as const) blocked.addSubnet(network, prefix, 'ipv6');

/** IPv4-mapped IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it carries. */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return isPublicAddress(mapped[1]);
  const family = isIP(address);
  if (family === 0) return false;
  return !blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class TargetAddressError extends Error {
  readonly code = 'TargetAddressNotAllowed';
}

export interface ResolvedTarget {
  readonly url: URL;
  /** The addresses to connect to (already checked). */
  readonly addresses: readonly { readonly address: string; readonly family: 4 | 6 }[];
}

export type HostResolver = (hostname: string) => Promise<readonly { address: string; family: number }[]>;

/** The operating system's resolver (getaddrinfo: hosts file, then DNS), every address. */
export const systemResolver: HostResolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

function isLoopbackName(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost');
}

/**
 * Validates a target URL and resolves its host. https only, except http to loopback in
 * development (the local demo receiver). In production every resolved address must be public.
 */
export async function resolveTarget(raw: string, environment: ConnectorEnvironment, resolver: HostResolver = systemResolver): Promise<ResolvedTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetAddressError('The target is not an absolute URL.');
  }
  if (url.username || url.password) throw new TargetAddressError('The target URL must not carry a user name or password.');
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(hostname);
  const results = literal ? [{ address: hostname, family: literal }] : isLoopbackName(hostname) ? [{ address: '127.0.0.1', family: 4 }] : await resolver(hostname).catch(() => {
    throw new TargetAddressError(`The target host ${hostname} could not be resolved.`);
  });
  if (results.length === 0) throw new TargetAddressError(`The target host ${hostname} has no addresses.`);
  const addresses = results.map((r) => ({ address: r.address, family: (r.family === 6 ? 6 : 4) as 4 | 6 }));
  if (environment === 'development') {
    const loopbackOnly = addresses.every((a) => a.address === '::1' || a.address.startsWith('127.'));
    if (url.protocol === 'http:' && loopbackOnly) return { url, addresses };
    if (url.protocol !== 'https:') throw new TargetAddressError('The target must use https (http only to loopback in development).');
    return { url, addresses };
  }
  if (url.protocol !== 'https:') throw new TargetAddressError('The target must use https.');
  const refused = addresses.find((a) => !isPublicAddress(a.address));
  if (refused) throw new TargetAddressError(`The target host ${hostname} resolves to a private, loopback or link-local address (${refused.address}); only public addresses are allowed.`);
  return { url, addresses };
}

/** The error code a refused connection reports (network layers pass `code` through). */
export const TARGET_ADDRESS_REFUSED = 'ETARGETNOTALLOWED';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
export type GuardedLookup = (hostname: string, options: LookupOneOptions | LookupAllOptions | number | undefined, callback: LookupCallback) => void;

/**
 * A `lookup` for http(s) requests and axios that refuses, at connect time, any host that resolves
 * to a non-public address (outside development). It is the resolution the socket then uses, so a
 * host that answered a public address when it was configured and a private one now (DNS
 * rebinding), or a redirect to a private host, never gets a connection. The error says only that
 * the address is not allowed: whether something listens there is never learned.
 */
export function publicOnlyLookup(environment: ConnectorEnvironment): GuardedLookup {
  return (hostname, options, callback) => {
    const wantsAll = typeof options === 'object' && options !== null && options.all === true;
    const family = typeof options === 'number' ? options : (options?.family ?? 0);
    lookupCallback(hostname, { all: true, verbatim: true, family: family as 0 | 4 | 6 }, (error, addresses) => {
      if (error) return callback(error, wantsAll ? [] : '');
      const refused = environment === 'development' ? undefined : addresses.find((a) => !isPublicAddress(a.address));
      if (refused || addresses.length === 0) {
        const denied: NodeJS.ErrnoException = new Error(`${hostname} resolves to an address that is not allowed (only public addresses are).`);
        denied.code = TARGET_ADDRESS_REFUSED;
        return callback(denied, wantsAll ? [] : '');
      }
      if (wantsAll) return callback(null, addresses);
      const first = addresses[0]!;
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * Sockets skip the resolver for IP literals, so publicOnlyLookup never sees them: this refuses a
 * URL whose host is a non-public literal (or a loopback name) outside development, before connecting.
 */
export function literalTargetRefused(raw: string, environment: ConnectorEnvironment): boolean {
  if (environment === 'development') return false;
  let hostname: string;
  try {
    hostname = new URL(raw).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return true;
  }
  if (isLoopbackName(hostname)) return true;
  return isIP(hostname) !== 0 && !isPublicAddress(hostname);
}
