/**
 * The Graph simulator's own control API (JSON under /_graph/): fault rules, delta-token expiry,
 * REST-disabled mailboxes, the request log. Store content (organisations, mailboxes, items, mail
 * delivery, application access policies) is the shared store's control API under /_simulator/.
 * Errors are problem+json naming every field at fault.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpProblem, validationProblem } from '../../shared/http/problem';
import { readJson as readStoreControlJson } from '../ews-simulator/control';
import type { NewFaultRule } from '../ews-simulator/faults';
import { GRAPH_FAULT_KINDS, type GraphFaultKind, type GraphSimulatorState } from './state';

interface FieldError {
  readonly field: string;
  readonly message: string;
}

class ControlInputError extends Error {
  constructor(readonly errors: readonly FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

/** A control request body: a JSON object (checked by the EWS simulator's reader). */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return (await readStoreControlJson(req)) as Record<string, unknown>;
}

/** A fault rule from JSON; every wrong field is reported. */
export function parseFaultRule(body: Record<string, unknown>): NewFaultRule<GraphFaultKind> {
  const errors: FieldError[] = [];
  const known = new Set(['kind', 'operation', 'principal', 'mailbox', 'appId', 'probability', 'count', 'retryAfterInSeconds', 'latencyInMs']);
  for (const key of Object.keys(body)) if (!known.has(key)) errors.push({ field: key, message: 'unknown field' });
  if (!GRAPH_FAULT_KINDS.includes(body.kind as GraphFaultKind)) errors.push({ field: 'kind', message: `required, one of ${GRAPH_FAULT_KINDS.join(', ')}` });
  const optionalString = (name: string): string | undefined => {
    const value = body[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !value) errors.push({ field: name, message: 'a non-empty string' });
    return typeof value === 'string' ? value : undefined;
  };
  const optionalNumber = (name: string, min: number, max: number, integer: boolean): number | undefined => {
    const value = body[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) errors.push({ field: name, message: `${integer ? 'an integer' : 'a number'} from ${min} to ${max}` });
    return typeof value === 'number' ? value : undefined;
  };
  const operation = optionalString('operation');
  // One principal filter: the mailbox address or the app id (any of the names).
  const principals = [optionalString('principal'), optionalString('mailbox'), optionalString('appId')].filter((p): p is string => p !== undefined);
  if (principals.length > 1) errors.push({ field: 'principal', message: 'give at most one of principal, mailbox, appId' });
  const probability = optionalNumber('probability', 0, 1, false);
  const count = optionalNumber('count', 1, 1_000_000, true);
  const retryAfterInSeconds = optionalNumber('retryAfterInSeconds', 0, 3600, true);
  const latencyInMs = optionalNumber('latencyInMs', 0, 120_000, true);
  if (errors.length > 0) throw new ControlInputError(errors);
  return {
    kind: body.kind as GraphFaultKind,
    ...(operation ? { operation } : {}),
    ...(principals[0] ? { principal: principals[0] } : {}),
    ...(probability !== undefined ? { probability } : {}),
    ...(count !== undefined ? { count } : {}),
    ...(retryAfterInSeconds !== undefined ? { retryAfterInSeconds } : {}),
    ...(latencyInMs !== undefined ? { latencyInMs } : {}),
  };
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json; charset=utf-8'): void {
  if (status === 204) {
    res.writeHead(204);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': contentType });
  res.end(JSON.stringify(body));
}

function notFound(detail: string): HttpProblem {
  return new HttpProblem(404, 'NotFound', 'Not found', detail);
}

export async function handleGraphControlRequest(req: IncomingMessage, res: ServerResponse, state: GraphSimulatorState): Promise<void> {
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://simulator');
  const instance = url.pathname;
  try {
    const parts = url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
    const result = await dispatch(method, parts, url.searchParams, req, state);
    send(res, result.status ?? 200, result.body);
  } catch (error) {
    const problem =
      error instanceof ControlInputError
        ? validationProblem(error.errors.map((e) => ({ pointer: `/${e.field}`, detail: e.message })))
        : error instanceof HttpProblem
          ? error
          : new HttpProblem(500, 'SimulatorDefect', 'The simulator failed', error instanceof Error ? error.message : String(error));
    send(res, problem.status, problem.toDetails(instance), 'application/problem+json; charset=utf-8');
  }
}

async function dispatch(method: string, parts: string[], query: URLSearchParams, req: IncomingMessage, state: GraphSimulatorState): Promise<{ status?: number; body: unknown }> {
  const [resource, id, sub] = parts;
  const route = `${method} ${resource ?? ''}${id !== undefined ? '/:id' : ''}${sub !== undefined ? `/${sub}` : ''}`;
  switch (route) {
    case 'GET ':
    case 'GET health':
      return { body: { status: 'ok', mailboxes: state.store.mailboxes().length, restDisabled: [...state.restDisabled] } };
    case 'GET faults':
      return { body: state.faults.list() };
    case 'POST faults':
      return { status: 201, body: state.faults.add(parseFaultRule(await readJson(req))) };
    case 'DELETE faults': {
      const seed = query.get('seed');
      if (seed !== null && !/^\d+$/.test(seed)) throw new ControlInputError([{ field: 'seed', message: 'a non-negative integer' }]);
      state.faults.clear(seed === null ? undefined : Number(seed));
      return { status: 204, body: null };
    }
    case 'DELETE faults/:id':
      if (!state.faults.remove(id!)) throw notFound('No such fault rule.');
      return { status: 204, body: null };
    case 'POST delta-tokens/:id': {
      if (id !== 'expire') break;
      const body = await readJson(req);
      if (body.mailbox !== undefined && typeof body.mailbox !== 'string') throw new ControlInputError([{ field: 'mailbox', message: 'a mailbox address' }]);
      const mailbox = typeof body.mailbox === 'string' ? state.store.getMailbox(body.mailbox) : undefined;
      if (typeof body.mailbox === 'string' && !mailbox) throw notFound(`No mailbox ${body.mailbox}`);
      state.expireDeltaTokens(mailbox?.smtpAddress);
      return { body: { expired: mailbox?.smtpAddress ?? 'all' } };
    }
    case 'POST mailboxes/:id/rest': {
      const body = await readJson(req);
      if (typeof body.enabled !== 'boolean') throw new ControlInputError([{ field: 'enabled', message: 'required, a boolean' }]);
      const mailbox = state.store.getMailbox(id!);
      if (!mailbox) throw notFound(`No mailbox ${id}`);
      if (body.enabled) state.restDisabled.delete(mailbox.smtpAddress);
      else state.restDisabled.add(mailbox.smtpAddress);
      return { body: { mailbox: mailbox.smtpAddress, restEnabled: body.enabled } };
    }
    case 'GET requests': {
      const raw = query.get('limit') ?? '100';
      if (!/^\d+$/.test(raw)) throw new ControlInputError([{ field: 'limit', message: 'a non-negative integer' }]);
      const operation = query.get('operation');
      const entries = operation ? state.requestLog.filter((e) => e.operation === operation) : state.requestLog;
      return { body: entries.slice(-Number(raw)) };
    }
    case 'DELETE requests':
      state.requestLog.length = 0;
      return { status: 204, body: null };
  }
  throw notFound(`No control route ${method} /_graph/${parts.join('/')}`);
}
