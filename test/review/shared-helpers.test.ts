/**
 * Review merges of duplicated logic: the refreshing bearer credential (app-only and delegated
 * tokens) and the PEM bundle reading (admin credential check and token signing).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { pemBundleBlocks } from '../../shared/auth/certificate-pem';
import { refreshingBearerCredential } from '../../shared/ews';
import { SecretString } from '../../shared/logging';

describe('refreshingBearerCredential', () => {
  test('asks for a fresh token once after a 401, and for the cached one otherwise', async () => {
    const asked: boolean[] = [];
    const credential = refreshingBearerCredential(async ({ forceRefresh }) => {
      asked.push(forceRefresh);
      return new SecretString(`token-${asked.length}`);
    });
    assert.equal(credential.kind, 'bearer');
    if (credential.kind !== 'bearer') return;
    assert.equal((await credential.getToken()).reveal(), 'token-1');
    await credential.onUnauthorized?.();
    await credential.getToken();
    await credential.getToken();
    assert.deepEqual(asked, [false, true, false]);
  });
});

describe('pemBundleBlocks', () => {
  const certificate = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';

  test('finds the certificate and an unencrypted PKCS#8, RSA or EC key in any order', () => {
    const pkcs8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString().trim();
    const sec1 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString().trim();
    assert.deepEqual(pemBundleBlocks(`${pkcs8}\n${certificate}\n`), { certificate, privateKey: pkcs8 });
    assert.deepEqual(pemBundleBlocks(`${certificate}\n${sec1}`), { certificate, privateKey: sec1 });
    const rsa = '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----';
    assert.equal(pemBundleBlocks(`${certificate}${rsa}`).privateKey, rsa);
  });

  test('an encrypted key or a missing block is absent, not an empty string', () => {
    const encrypted = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----';
    assert.deepEqual(pemBundleBlocks(`${certificate}\n${encrypted}`), { certificate });
    assert.deepEqual(pemBundleBlocks('nothing here'), {});
  });
});
