/**
 * Every outbound call has a deadline (issue 11), also outside EWS: webhook delivery and the identity
 * provider's endpoints (MSAL's network module), against the hostile server's network behaviours.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BoundedNetworkClient } from '../../shared/auth/bounded-network-client';
import { toEntraAuthError } from '../../shared/auth/entra-errors';
import { postWebhook } from '../../shared/delivery/webhook-sender';
import { SecretString } from '../../shared/logging';
import { startHostileServer, watchProcessFailures, type HostileServer } from '../support/hostile-server';

const JSON_DOCUMENTS = {
  wrongOperation: JSON.stringify({ value: [{ id: 'x' }] }),
  truncated: '{"token_type":"Bearer","access_tok',
  contentType: 'application/json',
  wrap: (inner: string) => JSON.stringify({ inner }),
};

let server: HostileServer;
before(async () => {
  server = await startHostileServer(() => JSON_DOCUMENTS);
});
after(async () => {
  await server.close();
});

const webhook = (url: string) => postWebhook({ url, body: '{}', batchId: 'b', idempotencyKey: 'b', secret: new SecretString('whsec-hostile') }, { environment: 'development', timeoutInMs: 600 });

describe('webhook delivery against hostile receivers', () => {
  test('no answer, a slow drip and a reset end within the timeout, as failed deliveries or an early status', async () => {
    const { result, failures } = await watchProcessFailures(async () => {
      const started = Date.now();
      const outcomes = await Promise.all([
        webhook(server.caseUrl({ kind: 'network', behaviour: 'noAnswer' }, '/hook')),
        webhook(server.caseUrl({ kind: 'network', behaviour: 'resetMidBody' }, '/hook')),
        webhook(server.caseUrl({ kind: 'answer', status: 200, body: 'huge' }, '/hook')),
      ]);
      return { outcomes, elapsed: Date.now() - started };
    });
    assert.deepEqual(failures, []);
    const [noAnswer, reset, huge] = result.outcomes;
    assert.equal(noAnswer!.ok, false);
    assert.equal(!noAnswer!.ok && noAnswer!.code, 'Timeout');
    // The status line arrived before the reset / the 50 MB body: acknowledged by status, body not awaited.
    assert.equal(reset!.ok, true);
    assert.equal(huge!.ok, true);
    assert.ok(result.elapsed < 600 + 3_000, `took ${result.elapsed} ms`);
  });

  test('a body that drips after the status does not hold the connection past the deadline', async () => {
    const url = server.caseUrl({ kind: 'network', behaviour: 'slowDrip' }, '/hook');
    const outcome = await webhook(url);
    assert.equal(outcome.ok, true);
    // The server sees its response closed by the client at the deadline.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(server.openResponses(), 0);
  });
});

describe('identity provider endpoints (MSAL network module)', () => {
  const client = new BoundedNetworkClient({ timeoutInMs: 600, maxResponseBytes: 64 * 1024 });

  for (const [name, behaviour] of [
    ['no answer', { kind: 'network', behaviour: 'noAnswer' }],
    ['slow drip', { kind: 'network', behaviour: 'slowDrip' }],
    ['reset mid-body', { kind: 'network', behaviour: 'resetMidBody' }],
    ['HTML error page', { kind: 'answer', status: 502, body: 'html' }],
    ['50 MB body', { kind: 'answer', status: 200, body: 'huge' }],
  ] as const) {
    test(`token POST: ${name} → a transient EntraUnavailable within the deadline`, async () => {
      const started = Date.now();
      const error = await client.sendPostRequestAsync(server.caseUrl(behaviour, '/tenant/oauth2/v2.0/token'), { body: 'grant_type=client_credentials&client_secret=s3cr3t' }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      assert.ok(error, 'must fail');
      const mapped = toEntraAuthError(error);
      assert.equal(mapped.code, 'EntraUnavailable');
      assert.equal(mapped.transient, true);
      assert.doesNotMatch(mapped.message + String((error as Error).message), /s3cr3t/);
      assert.ok(Date.now() - started < 600 + 3_000);
    });
  }
});
