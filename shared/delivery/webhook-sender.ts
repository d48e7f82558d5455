import { request as httpRequest } from 'node:http';
import type { IncomingMessage, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ConnectorEnvironment } from '../config';
import type { SecretString } from '../logging';
import { resolveTarget, TargetAddressError } from './address-policy';
import type { HostResolver, ResolvedTarget } from './address-policy';
import { failure } from './delivery-outcome';
import type { DeliveryOutcome } from './delivery-outcome';
import { BATCH_ID_HEADER, IDEMPOTENCY_KEY_HEADER, SIGNATURE_HEADER, signatureHeader } from './webhook-signature';

export const DEFAULT_WEBHOOK_TIMEOUT_IN_MS = 10_000;
const USER_AGENT = 'ExchangeConnector-Webhook/1';

export interface WebhookRequest {
  readonly url: string;
  /** The exact bytes that are signed and sent. */
  readonly body: string;
  readonly batchId: string;
  readonly idempotencyKey: string;
  readonly secret: SecretString;
}

export interface WebhookSenderOptions {
  readonly environment: ConnectorEnvironment;
  /** Whole exchange (connect, send, response headers). Default 10 s. */
  readonly timeoutInMs?: number;
  readonly resolver?: HostResolver;
  readonly now?: () => Date;
}

/** Connects only to the addresses resolveTarget checked (defeats DNS rebinding between check and connect). */
function pinnedLookup(target: ResolvedTarget): LookupFunction {
  return (_hostname, options, callback) => {
    const [first] = target.addresses;
    if (!first) {
      callback(new TargetAddressError('no checked address'), '', 4);
      return;
    }
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: typeof target.addresses) => void)(null, target.addresses);
    else callback(null, first.address, first.family);
  };
}

/**
 * POSTs one signed batch. 2xx acknowledges; anything else (3xx included: redirects are never
 * followed, the signed body must not travel to a host nobody configured) is a failure value.
 */
export async function postWebhook(request: WebhookRequest, options: WebhookSenderOptions): Promise<DeliveryOutcome> {
  let target: ResolvedTarget;
  try {
    target = await resolveTarget(request.url, options.environment, options.resolver);
  } catch (error) {
    if (error instanceof TargetAddressError) return failure('TargetAddressNotAllowed', error.message);
    throw error;
  }
  const timeoutInMs = options.timeoutInMs ?? DEFAULT_WEBHOOK_TIMEOUT_IN_MS;
  const timestamp = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  const body = Buffer.from(request.body, 'utf8');
  const requestOptions: RequestOptions = {
    method: 'POST',
    lookup: pinnedLookup(target),
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(body.length),
      'user-agent': USER_AGENT,
      [SIGNATURE_HEADER]: signatureHeader(request.secret.reveal(), timestamp, body),
      [BATCH_ID_HEADER]: request.batchId,
      [IDEMPOTENCY_KEY_HEADER]: request.idempotencyKey,
    },
  };
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<DeliveryOutcome>((resolve) => {
    let settled = false;
    const settle = (outcome: DeliveryOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const outgoing = send(target.url, requestOptions, (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      // Drain (and ignore) the body so the socket is released; acknowledgement is the status alone.
      response.resume();
      response.on('error', () => undefined);
      if (status >= 200 && status < 300) settle({ ok: true, status });
      else if (status >= 300 && status < 400) settle(failure('Redirect', `The target answered ${status} (redirects are not followed).`, status));
      else settle(failure('HttpStatus', `The target answered ${status}.`, status));
    });
    // The deadline covers the whole exchange: after an early status, a body that drips still ends at timeoutInMs.
    const timer = setTimeout(() => {
      settle(failure('Timeout', `The target did not answer within ${timeoutInMs} ms.`));
      outgoing.destroy();
    }, timeoutInMs);
    outgoing.on('close', () => clearTimeout(timer));
    outgoing.on('error', (error: NodeJS.ErrnoException) => settle(failure('NetworkError', `The target could not be reached (${error.code ?? error.message}).`)));
    outgoing.end(body);
  });
}
