/**
 * KDC addresses under the outbound address policy (shared/delivery/address-policy.ts): a group's
 * KDCs are administrator input like its EWS URL, so in production each must resolve to public
 * addresses only. The checked address is what libkrb5 gets, so it never resolves a name itself.
 */
import type { ConnectorEnvironment } from '../../config';
import { resolveTarget, TargetAddressError, type HostResolver, systemResolver } from '../../delivery/address-policy';
import { KerberosError } from './negotiate-client';

export const DEFAULT_KDC_PORT = 88;

/** `dc01.contoso.com:88` → `203.0.113.7:88` (first allowed address); KerberosError KdcNotAllowed when the policy refuses it. */
export function kdcResolver(environment: ConnectorEnvironment, resolver: HostResolver = systemResolver): (kdc: string) => Promise<string> {
  return async (kdc) => {
    try {
      const target = await resolveTarget(`https://${kdc}/`, environment, resolver);
      // Not target.url.port: a URL drops :443, the https default, which is no default for a KDC.
      const port = (kdc.startsWith('[') ? /^\[[^\]]*\]:(\d+)$/ : /:(\d+)$/).exec(kdc)?.[1] ?? String(DEFAULT_KDC_PORT);
      const first = target.addresses[0]!;
      return `${first.family === 6 ? `[${first.address}]` : first.address}:${port}`;
    } catch (error) {
      if (error instanceof TargetAddressError) throw new KerberosError('KdcNotAllowed', `The KDC ${kdc} is not allowed: ${error.message.replace(/^The target host/, 'its host')}`);
      throw error;
    }
  };
}
