import { SecretClient } from '@azure/keyvault-secrets';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StubCredential, startTestVault, TEST_AUTHORITY_HOST, TEST_TENANT_ID, TEST_TOKEN, type StartedVault } from './vault-fixture';

function clientFor(vault: StartedVault, credential = new StubCredential()): SecretClient {
  return new SecretClient(vault.server.url, credential, { disableChallengeResourceVerification: true });
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function rawRequest(url: string, method: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Runs `action` and returns the error it throws (the test fails when it throws none). */
async function errorFrom(action: () => Promise<unknown>): Promise<{ statusCode?: number; code?: string; message: string }> {
  try {
    await action();
  } catch (error: unknown) {
    return error as { statusCode?: number; code?: string; message: string };
  }
  assert.fail('expected the call to fail');
}

describe('local Key Vault with the real SecretClient', () => {
  let vault: StartedVault;
  before(async () => {
    vault = await startTestVault({ pageSize: 2 });
  });
  after(async () => {
    await vault.server.close();
  });

  test('an unauthenticated request gets the Bearer challenge the SDK parses, then the token is used', async () => {
    const raw = await rawRequest(`${vault.server.url}/secrets?api-version=7.5`, 'GET');
    assert.equal(raw.status, 401);
    assert.equal(raw.headers['www-authenticate'], `Bearer authorization="${TEST_AUTHORITY_HOST}/${TEST_TENANT_ID}", resource="https://vault.azure.net"`);
    assert.equal(JSON.parse(raw.body).error.code, 'Unauthorized');

    const credential = new StubCredential();
    const client = clientFor(vault, credential);
    const start = vault.requests.length;
    await client.setSecret('challenge-first', 'v1');
    await client.getSecret('challenge-first');
    const seen = vault.requests.slice(start);
    assert.deepEqual(
      seen.map((r) => `${r.method} ${r.status}`),
      ['PUT 401', 'PUT 200', 'GET 200'],
      'the SDK sends once without a token, is challenged, retries with one, and reuses it',
    );
    assert.deepEqual(credential.tokenRequests[0], { scopes: ['https://vault.azure.net/.default'], tenantId: TEST_TENANT_ID });
  });

  test('set, then get the latest and a specific version', async () => {
    const client = clientFor(vault);
    const first = await client.setSecret('versioned', 'first value', { contentType: 'text/plain', tags: { owner: 'tests' } });
    const second = await client.setSecret('versioned', 'second value');
    assert.match(first.properties.version ?? '', /^[0-9a-f]{32}$/);
    assert.notEqual(first.properties.version, second.properties.version);
    assert.equal(first.properties.id, `${vault.server.url}/secrets/versioned/${first.properties.version}`);
    assert.equal(first.value, 'first value');

    const latest = await client.getSecret('versioned');
    assert.equal(latest.value, 'second value');
    assert.equal(latest.properties.version, second.properties.version);

    const older = await client.getSecret('versioned', { version: first.properties.version });
    assert.equal(older.value, 'first value');
    assert.equal(older.properties.contentType, 'text/plain');
    assert.deepEqual(older.properties.tags, { owner: 'tests' });
    assert.ok(older.properties.createdOn instanceof Date);
    assert.equal(older.properties.recoveryLevel, 'Recoverable+Purgeable');

    assert.equal((await client.getSecret('VERSIONED')).value, 'second value', 'names ignore case like Key Vault');
  });

  test('unknown secrets and versions are 404 SecretNotFound; bad names are 400 BadParameter', async () => {
    const client = clientFor(vault);
    const missing = await errorFrom(() => client.getSecret('never-set'));
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.code, 'SecretNotFound');
    await client.setSecret('has-one-version', 'x');
    const badVersion = await errorFrom(() => client.getSecret('has-one-version', { version: '0'.repeat(32) }));
    assert.equal(badVersion.statusCode, 404);
    const badName = await errorFrom(() => client.setSecret('not_valid', 'x'));
    assert.equal(badName.statusCode, 400);
    assert.equal(badName.code, 'BadParameter');
    const tooLong = await errorFrom(() => client.setSecret('a'.repeat(128), 'x'));
    assert.equal(tooLong.statusCode, 400);
  });

  test('lists secrets and versions across several pages through nextLink', async () => {
    const client = clientFor(vault);
    const versions: string[] = [];
    for (let i = 0; i < 5; i++) versions.push((await client.setSecret('paged', `value ${i}`)).properties.version ?? '');
    for (const name of ['list-a', 'list-b', 'list-c']) await client.setSecret(name, 'x');

    const start = vault.requests.length;
    const listed = await collect(client.listPropertiesOfSecretVersions('paged'));
    assert.deepEqual(listed.map((p) => p.version).sort(), [...versions].sort());
    const pageRequests = vault.requests.slice(start).filter((r) => r.path === '/secrets/paged/versions');
    assert.equal(pageRequests.length, 3, 'five versions at two per page take three requests');
    assert.ok(listed.every((p) => p.name === 'paged' && p.enabled === true));

    const names = (await collect(client.listPropertiesOfSecrets())).map((p) => p.name);
    for (const name of ['list-a', 'list-b', 'list-c', 'paged']) assert.ok(names.includes(name), `${name} is listed`);
    assert.equal(new Set(names).size, names.length, 'no secret is listed twice across pages');

    assert.deepEqual(await collect(client.listPropertiesOfSecretVersions('no-such-secret')), []);
  });

  test('update attributes: a disabled version refuses get with 403 Forbidden, expiry is reported', async () => {
    const client = clientFor(vault);
    const set = await client.setSecret('to-disable', 'secret');
    const version = set.properties.version ?? '';
    const expiresOn = new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000);
    const updated = await client.updateSecretProperties('to-disable', version, { enabled: false, expiresOn, tags: { state: 'off' } });
    assert.equal(updated.enabled, false);
    assert.equal(updated.expiresOn?.getTime(), expiresOn.getTime());
    assert.deepEqual(updated.tags, { state: 'off' });

    const refused = await errorFrom(() => client.getSecret('to-disable'));
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.code, 'Forbidden');
    assert.match(refused.message, /disabled secret/);

    const listed = await collect(client.listPropertiesOfSecretVersions('to-disable'));
    assert.equal(listed[0].enabled, false, 'listing still shows the disabled version');

    await client.updateSecretProperties('to-disable', version, { enabled: true });
    const back = await client.getSecret('to-disable');
    assert.equal(back.value, 'secret');
    assert.equal(back.properties.expiresOn?.getTime(), expiresOn.getTime(), 'unchanged attributes are kept');
  });

  test('an expired secret is still returned, as Key Vault treats exp as informational', async () => {
    const client = clientFor(vault);
    const past = new Date(Date.now() - 60_000);
    await client.setSecret('already-expired', 'still readable', { expiresOn: past });
    const read = await client.getSecret('already-expired');
    assert.equal(read.value, 'still readable');
    assert.ok((read.properties.expiresOn?.getTime() ?? Infinity) <= Date.now());
  });

  test('delete is soft: get deleted, list deleted, recover, delete again, purge', async () => {
    const client = clientFor(vault);
    await client.setSecret('soft-deleted', 'keep me');
    const poller = await client.beginDeleteSecret('soft-deleted');
    const deleted = await poller.pollUntilDone();
    assert.equal(deleted.name, 'soft-deleted');
    assert.equal(deleted.value, undefined, 'a deleted bundle carries no value');
    assert.equal(deleted.recoveryId, `${vault.server.url}/deletedsecrets/soft-deleted`);
    assert.ok(deleted.deletedOn instanceof Date);
    assert.equal(((deleted.scheduledPurgeDate?.getTime() ?? 0) - (deleted.deletedOn?.getTime() ?? 0)) / 86_400_000, 90);

    assert.equal((await errorFrom(() => client.getSecret('soft-deleted'))).statusCode, 404);
    assert.equal((await client.getDeletedSecret('soft-deleted')).recoveryId, deleted.recoveryId);
    assert.ok((await collect(client.listDeletedSecrets())).some((d) => d.name === 'soft-deleted'));

    const reuse = await errorFrom(() => client.setSecret('soft-deleted', 'other'));
    assert.equal(reuse.statusCode, 409, 'a soft-deleted name cannot be reused');
    // As Key Vault answers: error code Conflict, inner error ObjectIsDeletedButRecoverable.
    assert.equal(reuse.code, 'Conflict');
    assert.equal((reuse as { details?: { error?: { innerError?: { code?: string } } } }).details?.error?.innerError?.code, 'ObjectIsDeletedButRecoverable');

    const recovered = await (await client.beginRecoverDeletedSecret('soft-deleted')).pollUntilDone();
    assert.equal(recovered.name, 'soft-deleted');
    assert.equal((await client.getSecret('soft-deleted')).value, 'keep me');

    await (await client.beginDeleteSecret('soft-deleted')).pollUntilDone();
    await client.purgeDeletedSecret('soft-deleted');
    assert.equal((await errorFrom(() => client.getDeletedSecret('soft-deleted'))).statusCode, 404);
    await client.setSecret('soft-deleted', 'new life');
    assert.equal((await client.getSecret('soft-deleted')).value, 'new life', 'after a purge the name is free');
  });

  test('requests never reach the vault without the api-version', async () => {
    const raw = await rawRequest(`${vault.server.url}/secrets`, 'GET', { authorization: `Bearer ${TEST_TOKEN}` });
    assert.equal(raw.status, 400);
    assert.equal(JSON.parse(raw.body).error.code, 'BadParameter');
  });
});

describe('local Key Vault token verification', () => {
  test('a token the verifier rejects gets 401 even after the challenge', async () => {
    const vault = await startTestVault({ verifyAccessToken: async (token) => token === 'good-token' });
    try {
      const rejected = await errorFrom(() => clientFor(vault, new StubCredential('bad-token')).setSecret('guarded', 'x'));
      assert.equal(rejected.statusCode, 401);
      await clientFor(vault, new StubCredential('good-token')).setSecret('guarded', 'x');
      assert.equal((await clientFor(vault, new StubCredential('good-token')).getSecret('guarded')).value, 'x');
    } finally {
      await vault.server.close();
    }
  });
});

describe('local Key Vault purge schedule', () => {
  test('a deleted secret is purged on its scheduled date and its name is free again', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const vault = await startTestVault({ recoverableDays: 7, clock: () => now });
    try {
      const client = clientFor(vault);
      await client.setSecret('short-lived', 'x');
      const deleted = await (await client.beginDeleteSecret('short-lived')).pollUntilDone();
      assert.equal(deleted.scheduledPurgeDate?.toISOString(), '2026-01-08T00:00:00.000Z');
      now = new Date('2026-01-07T23:59:59Z');
      assert.equal((await client.getDeletedSecret('short-lived')).name, 'short-lived', 'still recoverable the day before');
      now = new Date('2026-01-08T00:00:00Z');
      assert.equal((await errorFrom(() => client.getDeletedSecret('short-lived'))).statusCode, 404);
      await client.setSecret('short-lived', 'y');
    } finally {
      await vault.server.close();
    }
  });
});

describe('local Key Vault persistence', () => {
  test('secrets, versions and soft-deleted secrets survive a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-persist-'));
    const persistPath = join(dir, 'keyvault.json');
    try {
      const first = await startTestVault({ persistPath });
      const firstClient = clientFor(first);
      const v1 = await firstClient.setSecret('durable', 'one');
      await firstClient.setSecret('durable', 'two');
      await firstClient.setSecret('deleted-before-restart', 'gone');
      await (await firstClient.beginDeleteSecret('deleted-before-restart')).pollUntilDone();
      await first.server.close();
      assert.equal(statSync(persistPath).mode & 0o077, 0, 'the state file is readable by its owner only');

      const second = await startTestVault({ persistPath });
      try {
        const client = clientFor(second);
        assert.equal((await client.getSecret('durable')).value, 'two');
        assert.equal((await client.getSecret('durable', { version: v1.properties.version })).value, 'one');
        assert.equal((await client.getDeletedSecret('deleted-before-restart')).name, 'deleted-before-restart');
      } finally {
        await second.server.close();
      }
      assert.match(readFileSync(persistPath, 'utf8'), /"durable"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
