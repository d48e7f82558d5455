import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { TARGET_ADDRESS_REFUSED } from '../delivery/address-policy';
import type { NodeStyleLookup } from '../ews/transport';

export type ProbeResult =
  | { readonly reachable: true; readonly httpStatus: number }
  | { readonly reachable: false; readonly code: string; readonly message: string };

const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_NOT_YET_VALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

function describeFailure(code: string, host: string, timeoutInMs: number): { code: string; message: string } {
  if (code === TARGET_ADDRESS_REFUSED) {
    // Said the same way whatever listens there: a connection test must not become a port scanner.
    return { code: 'TargetAddressNotAllowed', message: `${host} resolves to an address that is not allowed (only public addresses are); nothing was sent to it.` };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return { code: 'HostNotFound', message: `The host name ${host} could not be resolved (DNS). Check the EWS URL's host name.` };
  }
  if (code === 'ECONNREFUSED') return { code: 'ConnectionRefused', message: `${host} refused the connection: nothing listens on that port, or a firewall rejects us.` };
  if (code === 'ECONNRESET') return { code: 'ConnectionReset', message: `${host} closed the connection during the request (a proxy or firewall may be interfering).` };
  if (code === 'Timeout' || code === 'ETIMEDOUT') return { code: 'Timeout', message: `${host} did not answer within ${timeoutInMs} ms (firewall, or the server is down).` };
  if (TLS_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL')) {
    return { code: 'TlsFailure', message: `The TLS handshake with ${host} failed (${code}): the server's certificate is not trusted, expired, or issued for another name.` };
  }
  return { code: 'NetworkError', message: `Could not reach ${host} (${code}).` };
}

/**
 * Is anything answering HTTP at the EWS URL? An unauthenticated GET is enough: Exchange
 * answers 401 with its challenge. DNS, TCP and TLS failures are told apart so the message
 * says what to fix. No credentials are sent.
 */
export function probeEndpoint(ewsUrl: string, timeoutInMs: number, lookup?: NodeStyleLookup): Promise<ProbeResult> {
  const url = new URL(ewsUrl);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const req = send(url, { method: 'GET', headers: { 'user-agent': 'ExchangeConnector-ConnectionTest/0.1' }, agent: false, ...(lookup ? { lookup: lookup as LookupFunction } : {}) }, (res) => {
      res.resume();
      finish({ reachable: true, httpStatus: res.statusCode ?? 0 });
      req.destroy();
    });
    req.setTimeout(timeoutInMs, () => {
      finish({ reachable: false, ...describeFailure('Timeout', url.host, timeoutInMs) });
      req.destroy();
    });
    req.on('error', (error: NodeJS.ErrnoException) => finish({ reachable: false, ...describeFailure(error.code ?? 'Unknown', url.host, timeoutInMs) }));
    req.end();
  });
}
