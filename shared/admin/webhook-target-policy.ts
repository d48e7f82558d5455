import { resolveTarget, systemResolver, TargetAddressError } from '../delivery/address-policy';
import type { HostResolver } from '../delivery/address-policy';
import type { ConnectorEnvironment } from '../config';
import type { FieldProblem } from '../http/problem';

/** A configuration request should not hang on a dead resolver; getaddrinfo alone can take ~20 s. */
export const WEBHOOK_RESOLVE_TIMEOUT_IN_MS = 5_000;

function within(resolver: HostResolver, timeoutInMs: number): HostResolver {
  return (hostname) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timeout')), timeoutInMs);
      resolver(hostname).then(
        (addresses) => {
          clearTimeout(timer);
          resolve(addresses);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
}

/**
 * The delivery address policy (shared/delivery/address-policy.ts, also applied at every send)
 * as a field problem: https only (http only to loopback in development) and, outside
 * development, a host whose every resolved address is public.
 */
export async function webhookTargetProblem(
  url: string,
  options: { readonly environment: ConnectorEnvironment; readonly resolveHost?: HostResolver },
  pointer: string,
): Promise<FieldProblem | undefined> {
  try {
    await resolveTarget(url, options.environment, within(options.resolveHost ?? systemResolver, WEBHOOK_RESOLVE_TIMEOUT_IN_MS));
    return undefined;
  } catch (error) {
    if (error instanceof TargetAddressError) return { pointer, detail: error.message };
    throw error;
  }
}
