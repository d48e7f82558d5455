import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { SecretString } from '../../shared/logging';
import {
  createSecretStore,
  InvalidSecretNameError,
  isLoopbackUrl,
  SecretAccessDeniedError,
  SecretDisabledError,
  SecretNotFoundError,
  SecretStoreError,
  type SecretStore,
} from '../../shared/secrets';
import { StubCredential, startTestVault, type StartedVault } from '../keyvault/vault-fixture';

const VALUE = 'p@ssw0rd-that-must-never-leak';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function rejection(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error: unknown) {
    return error;
  }
  assert.fail('expected the call to fail');
}

/** Every way a returned object could reach a log or a response. */
function renderings(value: unknown): string[] {
  return [JSON.stringify(value), inspect(value, { depth: 10, showHidden: true }), String(value)];
}

describe('secret store against the local Key Vault', () => {
  let vault: StartedVault;
  let store: SecretStore;
  before(async () => {
    vault = await startTestVault({ pageSize: 2 });
    store = createSecretStore(vault.server.url, new StubCredential(), { environment: 'development' });
  });
  after(async () => {
    await vault.server.close();
  });

  test('set returns a reference without the value; get returns a SecretString', async () => {
    const expiresOn = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000);
    const reference = await store.setSecret('store-basic', new SecretString(VALUE), { expiresOn, contentType: 'text/plain', tags: { kind: 'password' } });
    assert.equal(reference.name, 'store-basic');
    assert.match(reference.version, /^[0-9a-f]{32}$/);
    assert.ok(reference.updatedAt instanceof Date);
    assert.equal(reference.expiresOn?.getTime(), expiresOn.getTime());
    assert.deepEqual(reference.tags, { kind: 'password' });

    const value = await store.getSecret('store-basic');
    assert.ok(value instanceof SecretString);
    assert.equal(value.reveal(), VALUE);

    const entry = await store.getSecretEntry('store-basic', { version: reference.version });
    assert.equal(entry.value.reveal(), VALUE);
    assert.equal(entry.reference.version, reference.version);
    assert.equal(entry.reference.contentType, 'text/plain');

    for (const shown of [...renderings(reference), ...renderings(value), ...renderings(entry)]) {
      assert.ok(!shown.includes(VALUE), `the value leaked in: ${shown.slice(0, 200)}`);
    }
  });

  test('versions: get by version, list every version across pages', async () => {
    const versions: string[] = [];
    for (let i = 0; i < 5; i++) versions.push((await store.setSecret('store-versions', new SecretString(`value-${i}`))).version);
    assert.equal((await store.getSecret('store-versions')).reveal(), 'value-4');
    assert.equal((await store.getSecret('store-versions', { version: versions[1] })).reveal(), 'value-1');

    const listed = await collect(store.listVersions('store-versions'));
    assert.deepEqual(listed.map((r) => r.version).sort(), [...versions].sort());
    assert.ok(vault.requests.filter((r) => r.path === '/secrets/store-versions/versions').length >= 3, 'it followed nextLink');
    for (const shown of renderings(listed)) assert.ok(!shown.includes('value-'));
  });

  test('listSecrets filters by name prefix', async () => {
    await store.setSecret('prefix-one', new SecretString('1'));
    await store.setSecret('prefix-two', new SecretString('2'));
    await store.setSecret('other-three', new SecretString('3'));
    const names = (await collect(store.listSecrets({ namePrefix: 'PREFIX-' }))).map((r) => r.name).sort();
    assert.deepEqual(names, ['prefix-one', 'prefix-two']);
  });

  test('an unknown secret is a typed SecretNotFoundError; findSecret gives undefined', async () => {
    const error = await rejection(() => store.getSecret('store-missing'));
    assert.ok(error instanceof SecretNotFoundError);
    assert.equal(error.code, 'SecretNotFound');
    assert.equal(error.statusCode, 404);
    assert.equal(error.serviceCode, 'SecretNotFound');
    assert.equal(error.secretName, 'store-missing');
    assert.equal(await store.findSecret('store-missing'), undefined);
  });

  test('a disabled secret is a typed SecretDisabledError; re-enabling restores it', async () => {
    const reference = await store.setSecret('store-disabled', new SecretString(VALUE));
    const updated = await store.updateSecretProperties('store-disabled', reference.version, { enabled: false });
    assert.equal(updated.enabled, false);
    const error = await rejection(() => store.getSecret('store-disabled'));
    assert.ok(error instanceof SecretDisabledError);
    assert.equal(error.code, 'SecretDisabled');
    assert.equal(error.serviceCode, 'Forbidden/SecretDisabled');
    await store.updateSecretProperties('store-disabled', reference.version, { enabled: true });
    assert.equal((await store.getSecret('store-disabled')).reveal(), VALUE);
  });

  test('delete waits for the soft delete; recover and purge; deleting nothing gives undefined', async () => {
    await store.setSecret('store-delete', new SecretString(VALUE));
    const deleted = await store.deleteSecret('store-delete');
    assert.equal(deleted?.name, 'store-delete');
    assert.ok(deleted?.scheduledPurgeAt instanceof Date);
    assert.equal(await store.findSecret('store-delete'), undefined, 'a soft-deleted secret is not readable');
    assert.equal((await store.getDeletedSecret('store-delete')).name, 'store-delete');
    assert.ok((await collect(store.listDeletedSecrets())).some((d) => d.name === 'store-delete'));

    // Key Vault refuses to write a soft-deleted name (409); the store recovers it, then writes.
    const reused = await store.setSecret('store-delete', new SecretString('again'));
    assert.equal((await store.getSecret('store-delete')).reveal(), 'again');
    assert.equal((await store.getSecret('store-delete', { version: reused.version })).reveal(), 'again');
    assert.ok((await rejection(() => store.getDeletedSecret('store-delete'))) instanceof SecretNotFoundError);

    await store.deleteSecret('store-delete');
    const recovered = await store.recoverDeletedSecret('store-delete');
    assert.equal(recovered.name, 'store-delete');
    assert.equal((await store.getSecret('store-delete')).reveal(), 'again');

    await store.deleteSecret('store-delete');
    await store.purgeDeletedSecret('store-delete');
    assert.ok((await rejection(() => store.getDeletedSecret('store-delete'))) instanceof SecretNotFoundError);
    assert.equal(await store.deleteSecret('store-never-existed'), undefined);
  });

  test('names Key Vault would reject fail before any request', async () => {
    const before = vault.requests.length;
    const error = await rejection(() => store.setSecret('bad name!', new SecretString(VALUE)));
    assert.ok(error instanceof InvalidSecretNameError);
    assert.equal(error.code, 'InvalidSecretName');
    assert.equal(vault.requests.length, before);
  });

  test('errors never carry the value, even when setting one fails', async () => {
    // Over Key Vault's 25 KiB value limit: refused by the vault.
    const error = await rejection(() => store.setSecret('store-leak-check', new SecretString(VALUE.repeat(Math.ceil(30_000 / VALUE.length)))));
    assert.ok(error instanceof SecretStoreError);
    for (const shown of [...renderings(error), (error as Error).stack ?? '']) {
      assert.ok(!shown.includes(VALUE), `the value leaked in: ${shown.slice(0, 300)}`);
    }
  });
});

describe('secret store authentication and challenge checks', () => {
  test('a vault that rejects the token gives SecretAccessDeniedError', async () => {
    const vault = await startTestVault({ verifyAccessToken: async () => false });
    try {
      const store = createSecretStore(vault.server.url, new StubCredential());
      const error = await rejection(() => store.getSecret('anything'));
      assert.ok(error instanceof SecretAccessDeniedError);
      assert.equal(error.code, 'SecretAccessDenied');
      assert.equal(error.statusCode, 401);
    } finally {
      await vault.server.close();
    }
  });

  test('a credential that cannot get a token gives SecretStoreAuthenticationFailed', async () => {
    const vault = await startTestVault();
    try {
      const failing = {
        getToken: async (): Promise<never> => {
          const error = new Error('no identity available here');
          error.name = 'CredentialUnavailableError';
          throw error;
        },
      };
      const error = await rejection(() => createSecretStore(vault.server.url, failing).getSecret('anything'));
      assert.ok(error instanceof SecretAccessDeniedError);
      assert.equal(error.code, 'SecretStoreAuthenticationFailed');
    } finally {
      await vault.server.close();
    }
  });

  test('in production the SDK keeps checking the challenge resource, so a loopback vault is refused', async () => {
    const vault = await startTestVault();
    try {
      const store = createSecretStore(vault.server.url, new StubCredential(), { environment: 'production' });
      const error = await rejection(() => store.getSecret('anything'));
      assert.ok(error instanceof SecretStoreError);
      assert.match((error as Error).message, /challenge resource/);
    } finally {
      await vault.server.close();
    }
  });

  test('loopback detection covers the local vault URLs only', () => {
    assert.equal(isLoopbackUrl('https://localhost:8443'), true);
    assert.equal(isLoopbackUrl('https://127.0.0.1:8443'), true);
    assert.equal(isLoopbackUrl('https://[::1]:8443'), true);
    assert.equal(isLoopbackUrl('https://contoso-kv.vault.azure.net'), false);
    assert.equal(isLoopbackUrl('https://localhost.evil.example'), false);
  });
});
