import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import type { RunningWebhookReceiver } from '../../dev/webhook-receiver/receiver';
import { isPublicAddress, resolveTarget } from '../../shared/delivery/address-policy';
import { createChangeBatch, createChangeRecord } from '../../shared/delivery/change-batch';
import { postWebhook } from '../../shared/delivery/webhook-sender';
import { signatureHeader, verifySignature } from '../../shared/delivery/webhook-signature';
import { SecretString } from '../../shared/logging';

const SECRET = 'whsec_test-secret';

function sampleBatch() {
  const record = createChangeRecord({
    tenantId: 't1', groupId: 'g1', mailbox: 'alex@contoso.com', folder: 'inbox', changeType: 'created',
    itemId: 'AAMkAD-item-1', changeKey: 'CQAAAB', fullResync: false, occurredAt: new Date().toISOString(),
  });
  return createChangeBatch({ tenantId: 't1', groupId: 'g1', mailbox: 'alex@contoso.com', records: [record] });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('signatures', () => {
  test('a signature verifies with the secret and fails on a changed body, secret or an old timestamp', () => {
    const now = 1_700_000_000;
    const header = signatureHeader(SECRET, now, '{"a":1}');
    assert.match(header, /^t=1700000000,v1=[0-9a-f]{64}$/);
    assert.deepEqual(verifySignature(SECRET, header, '{"a":1}', { nowInSeconds: now + 10 }), { valid: true, timestampInSeconds: now });
    assert.equal(verifySignature(SECRET, header, '{"a":2}', { nowInSeconds: now }).valid, false);
    assert.equal(verifySignature('other', header, '{"a":1}', { nowInSeconds: now }).valid, false);
    assert.deepEqual(verifySignature(SECRET, header, '{"a":1}', { nowInSeconds: now + 301 }), { valid: false, reason: 'expired' });
    assert.deepEqual(verifySignature(SECRET, 't=1,v1=zz', '{}'), { valid: false, reason: 'malformed' });
  });

  test('the idempotency key is stable for the same change and differs for another change key', () => {
    const base = { tenantId: 't', groupId: 'g', mailbox: 'A@contoso.com', folder: 'inbox' as const, changeType: 'updated' as const, itemId: 'i', fullResync: false };
    assert.equal(createChangeRecord({ ...base, changeKey: 'k1' }).idempotencyKey, createChangeRecord({ ...base, mailbox: 'a@contoso.com', changeKey: 'k1' }).idempotencyKey);
    assert.notEqual(createChangeRecord({ ...base, changeKey: 'k1' }).idempotencyKey, createChangeRecord({ ...base, changeKey: 'k2' }).idempotencyKey);
  });
});

describe('sender and demo receiver', () => {
  let receiver: RunningWebhookReceiver;
  const printed: string[] = [];

  before(async () => {
    receiver = await startWebhookReceiver({ port: 0, secret: SECRET, print: (line) => printed.push(line) });
  });
  after(async () => {
    await receiver.close();
  });

  test('a signed batch is accepted by the receiver, printed one line per record, listed at /received', async () => {
    const batch = sampleBatch();
    const outcome = await postWebhook(
      { url: receiver.url, body: JSON.stringify(batch), batchId: batch.batchId, idempotencyKey: batch.batchId, secret: new SecretString(SECRET) },
      { environment: 'development' },
    );
    assert.deepEqual(outcome, { ok: true, status: 204 });
    const listed = (await (await fetch(receiver.url + 'received')).json()) as { batchId: string; idempotencyKey: string }[];
    assert.equal(listed.at(-1)?.batchId, batch.batchId);
    assert.equal(listed.at(-1)?.idempotencyKey, batch.batchId);
    assert.ok(printed.some((line) => line.includes('created') && line.includes('alex@contoso.com')));
  });

  test('the receiver refuses a tampered body, a wrong secret and an old timestamp', async () => {
    const body = JSON.stringify(sampleBatch());
    const old = Math.floor(Date.now() / 1000) - 600;
    const cases = [
      { header: signatureHeader(SECRET, Math.floor(Date.now() / 1000), body), sent: body.replace('alex', 'eve') },
      { header: signatureHeader('wrong', Math.floor(Date.now() / 1000), body), sent: body },
      { header: signatureHeader(SECRET, old, body), sent: body },
    ];
    for (const c of cases) {
      const response = await fetch(receiver.url, { method: 'POST', headers: { 'x-connector-signature': c.header, 'content-type': 'application/json' }, body: c.sent });
      assert.equal(response.status, 401);
    }
    assert.deepEqual(receiver.refused().slice(-3).map((r) => r.reason), ['signature mismatch', 'signature mismatch', 'signature expired']);
  });

  test('a replayed batch (same id, fresh signature) is acknowledged but not processed twice', async () => {
    const batch = sampleBatch();
    const request = { url: receiver.url, body: JSON.stringify(batch), batchId: batch.batchId, idempotencyKey: batch.batchId, secret: new SecretString(SECRET) };
    await postWebhook(request, { environment: 'development' });
    const before = receiver.received().length;
    assert.equal((await postWebhook(request, { environment: 'development' })).ok, true);
    assert.equal(receiver.received().length, before);
  });
});

describe('sender failures', () => {
  test('a 3xx redirect is a failure and is not followed', async () => {
    let followed = false;
    const target = createServer((request, response) => {
      if (request.url === '/elsewhere') followed = true;
      response.writeHead(307, { location: '/elsewhere' }).end();
    });
    const url = await listen(target);
    try {
      const outcome = await postWebhook({ url, body: '{}', batchId: 'b', idempotencyKey: 'b', secret: new SecretString(SECRET) }, { environment: 'development' });
      assert.equal(outcome.ok, false);
      assert.equal(!outcome.ok && outcome.code, 'Redirect');
      assert.equal(followed, false);
    } finally {
      await close(target);
    }
  });

  test('a receiver that does not answer in time is a Timeout failure', async () => {
    const target = createServer(() => {
      /* never answers */
    });
    const url = await listen(target);
    try {
      const outcome = await postWebhook({ url, body: '{}', batchId: 'b', idempotencyKey: 'b', secret: new SecretString(SECRET) }, { environment: 'development', timeoutInMs: 300 });
      assert.equal(!outcome.ok && outcome.code, 'Timeout');
    } finally {
      await close(target);
    }
  });

  test('a 500 is an HttpStatus failure carrying the status', async () => {
    const target = createServer((_request, response) => response.writeHead(500).end());
    const url = await listen(target);
    try {
      const outcome = await postWebhook({ url, body: '{}', batchId: 'b', idempotencyKey: 'b', secret: new SecretString(SECRET) }, { environment: 'development' });
      assert.deepEqual(outcome, { ok: false, code: 'HttpStatus', message: 'The target answered 500.', status: 500 });
    } finally {
      await close(target);
    }
  });
});

describe('target address policy', () => {
  test('production refuses loopback, private, link-local and http targets, including names resolving there', async () => {
    for (const url of ['https://127.0.0.1/hook', 'https://10.1.2.3/', 'https://169.254.169.254/latest', 'https://[::1]/', 'https://[fe80::1]/', 'https://[::ffff:192.168.1.1]/', 'https://localhost/', 'http://93.184.216.34/']) {
      await assert.rejects(resolveTarget(url, 'production'), { code: 'TargetAddressNotAllowed' }, url);
    }
    // DNS answers are checked, every one of them (one private address among public ones is enough to refuse).
    const rebinding = async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }];
    await assert.rejects(resolveTarget('https://hooks.example.com/', 'production', rebinding), /10\.0\.0\.5/);
    const resolved = await resolveTarget('https://hooks.example.com/', 'production', async () => [{ address: '93.184.216.34', family: 4 }]);
    assert.deepEqual(resolved.addresses, [{ address: '93.184.216.34', family: 4 }]);
  });

  test('the send re-checks the address: a host that now resolves privately is refused without connecting', async () => {
    const outcome = await postWebhook(
      { url: 'https://hooks.example.com/', body: '{}', batchId: 'b', idempotencyKey: 'b', secret: new SecretString(SECRET) },
      { environment: 'production', resolver: async () => [{ address: '127.0.0.1', family: 4 }] },
    );
    assert.equal(!outcome.ok && outcome.code, 'TargetAddressNotAllowed');
  });

  test('public addresses pass; development allows http to loopback only', async () => {
    assert.equal(isPublicAddress('93.184.216.34'), true);
    assert.equal(isPublicAddress('2606:4700::1111'), true);
    assert.equal(isPublicAddress('100.64.1.1'), false);
    await resolveTarget('http://127.0.0.1:8446/', 'development');
    await assert.rejects(resolveTarget('http://hooks.example.com/', 'development', async () => [{ address: '93.184.216.34', family: 4 }]));
  });
});
