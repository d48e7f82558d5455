/**
 * Hostile servers never crash the process (issue 11): every EWS operation the connector sends,
 * against every status × body kind, DTD hazards, a slow drip, a reset mid-body and no answer.
 * Each case must end in a typed EwsError with the expected code, within the configured timeout,
 * with no unhandled rejection or uncaught exception and no credential in the error.
 *
 * Before the guarded transport, a non-SOAP HTTP 500 made ews-javascript-api throw a TypeError outside
 * its promise chain: an unhandled rejection (the process dies) and a call that never settles.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { createMailboxClient, EwsError, type EwsCredential } from '../../shared/ews';
import { ewsApi } from '../../shared/ews/ews-api';
import { SecretString } from '../../shared/logging';
import {
  BODY_KINDS,
  describeBehaviour,
  HOSTILE_STATUSES,
  inParallel,
  NETWORK_BEHAVIOURS,
  startHostileServer,
  watchProcessFailures,
  XML_HAZARDS,
  type HostileBehaviour,
  type HostileServer,
} from '../support/hostile-server';
import { EWS_OPERATIONS, ewsDocuments, firstStepFor } from './hostile-documents';

const PASSWORD = 'Hostile-Secret-Pa55word';
const USER = 'svc@contoso.com';
// Generous: the matrix runs 16 cases at a time on a shared 2-core machine; only slow drip and no answer wait for it.
const TIMEOUT_IN_MS = 5_000;
const MAX_RESPONSE_BYTES = 256 * 1024;
/** A case must end within the timeout plus this (the client's grace, scheduling on a busy 2-core machine). */
const SLACK_IN_MS = 4_000;

const SECRETS = [PASSWORD, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')];

/** What the typed error's code must be for each behaviour. */
export function expectedCodes(behaviour: HostileBehaviour): readonly string[] {
  switch (behaviour.kind) {
    case 'network':
      return behaviour.behaviour === 'resetMidBody' ? ['ConnectionReset'] : ['Timeout'];
    case 'xmlHazard':
      return ['XmlDtdRefused'];
    case 'sequence':
      return expectedCodes(behaviour.then);
    case 'answer':
      if (behaviour.body === 'huge') return ['ResponseTooLarge'];
      switch (behaviour.status) {
        case 200:
          if (behaviour.body === 'html' || behaviour.body === 'text' || behaviour.body === 'json') return ['UnexpectedContentType'];
          // A complete envelope the library cannot read as this operation's answer.
          if (behaviour.body === 'wrongOperation' || behaviour.body === 'invalidUtf8') return ['ProtocolError', 'MalformedResponse'];
          return ['MalformedResponse'];
        case 400:
          return ['ProtocolError'];
        case 401:
          return ['Unauthorized'];
        case 403:
          return ['EwsDisabled'];
        case 404:
          return ['NotFound'];
        case 429:
          return ['TooManyRequests'];
        case 500:
        case 502:
          return ['ServerError'];
        case 503:
          return ['ServiceUnavailable'];
      }
  }
}

export function hostileMatrix(): HostileBehaviour[] {
  const behaviours: HostileBehaviour[] = [];
  for (const status of HOSTILE_STATUSES) for (const body of BODY_KINDS) behaviours.push({ kind: 'answer', status, body });
  for (const hazard of XML_HAZARDS) for (const status of [200, 500] as const) behaviours.push({ kind: 'xmlHazard', status, hazard });
  for (const behaviour of NETWORK_BEHAVIOURS) behaviours.push({ kind: 'network', behaviour });
  return behaviours;
}

interface CaseResult {
  readonly name: string;
  readonly problems: string[];
}

let server: HostileServer;

before(async () => {
  server = await startHostileServer(ewsDocuments);
});
after(async () => {
  await server.close();
});

const basic: EwsCredential = { kind: 'basic', username: USER, password: new SecretString(PASSWORD) };

async function runCase(operation: string, behaviour: HostileBehaviour, options: { timeoutInMs: number; maxResponseBytes?: number }): Promise<CaseResult> {
  const first = firstStepFor(operation);
  const served: HostileBehaviour = first ? { kind: 'sequence', first, then: behaviour } : behaviour;
  const url = server.caseUrl(served);
  const client = createMailboxClient(url, basic, { mailbox: 'alice@contoso.com', allowInsecureHttp: true, timeoutInMs: options.timeoutInMs, ...(options.maxResponseBytes ? { maxResponseBytes: options.maxResponseBytes } : {}) });
  const name = `${operation} ← ${describeBehaviour(behaviour)}`;
  const problems: string[] = [];
  const started = Date.now();
  try {
    await EWS_OPERATIONS[operation]!(client);
    problems.push('resolved instead of failing');
  } catch (error: unknown) {
    const elapsed = Date.now() - started;
    if (!(error instanceof EwsError)) problems.push(`untyped error ${inspect(error).slice(0, 200)}`);
    else if (!expectedCodes(behaviour).includes(error.code)) problems.push(`code ${error.code} (${error.message}), expected ${expectedCodes(behaviour).join('|')}`);
    if (elapsed > options.timeoutInMs + SLACK_IN_MS) problems.push(`took ${elapsed} ms`);
    const text = inspect(error, { depth: 8, showHidden: true }) + String((error as Error).message);
    for (const secret of SECRETS) if (text.includes(secret)) problems.push('a credential appears in the error');
  }
  return { name, problems };
}

describe('hostile EWS servers', () => {
  test('reproduces the upstream bug shape: a non-SOAP 500 settles with a typed, retryable error', async () => {
    // ews-javascript-api loads on first use (cold start); its load time on a busy machine is not the case's.
    ewsApi();
    const { result, failures } = await watchProcessFailures(() => runCase('GetFolder', { kind: 'answer', status: 500, body: 'text' }, { timeoutInMs: 3_000 }));
    assert.deepEqual(failures, []);
    assert.deepEqual(result.problems, []);
  });

  test('every operation × every hostile behaviour ends in the expected typed error, in bounded time', async () => {
    // Warm up ews-javascript-api (first use loads and compiles much of it) so the first cases are not timed with it.
    await runCase('GetFolder', { kind: 'answer', status: 500, body: 'empty' }, { timeoutInMs: 30_000 });
    const cases = Object.keys(EWS_OPERATIONS).flatMap((operation) => hostileMatrix().map((behaviour) => ({ operation, behaviour })));
    const started = Date.now();
    const { result, failures } = await watchProcessFailures(() =>
      inParallel(cases, 16, ({ operation, behaviour }) => runCase(operation, behaviour, { timeoutInMs: TIMEOUT_IN_MS, maxResponseBytes: MAX_RESPONSE_BYTES })),
    );
    const wrong = result.filter((r) => r.problems.length > 0).map((r) => `${r.name}: ${r.problems.join('; ')}`);
    assert.deepEqual(failures, [], 'no unhandled rejection or uncaught exception');
    assert.deepEqual(wrong, [], `${wrong.length} of ${cases.length} cases misbehaved`);
    assert.ok(cases.length >= 7 * 81, `matrix has ${cases.length} cases`);
    assert.equal(server.externalFetches, 0, 'an external entity was resolved');
    console.log(`# hostile matrix: ${cases.length} cases in ${Date.now() - started} ms`);
  });

  test('the 50 MB answer is cut off by the default size limit (32 MiB)', async () => {
    const { result, failures } = await watchProcessFailures(() =>
      Promise.all([runCase('GetItem', { kind: 'answer', status: 200, body: 'huge' }, { timeoutInMs: 20_000 }), runCase('SyncFolderItems', { kind: 'answer', status: 500, body: 'huge' }, { timeoutInMs: 20_000 })]),
    );
    assert.deepEqual(failures, []);
    assert.deepEqual(result.flatMap((r) => r.problems), []);
  });

  test('NTLM: the handshake obeys the same deadline (a server that never answers the negotiate)', async () => {
    const url = server.caseUrl({ kind: 'network', behaviour: 'noAnswer' });
    const client = createMailboxClient(url, { kind: 'ntlm', username: 'CONTOSO\\svc', password: new SecretString(PASSWORD) }, { mailbox: 'alice@contoso.com', allowInsecureHttp: true, timeoutInMs: 800 });
    const started = Date.now();
    await assert.rejects(EWS_OPERATIONS.GetFolder!(client), (error: unknown) => error instanceof EwsError && error.code === 'Timeout');
    assert.ok(Date.now() - started < 800 + SLACK_IN_MS);
  });
});
