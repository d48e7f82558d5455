import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidSecretNameError, isValidSecretName, secretNameComponent, secretNames } from '../../shared/secrets';

const CONTOSO_TENANT = '00000000-0000-4000-8000-0000000000d1';

describe('secret names', () => {
  test('product secrets get readable, Key Vault-valid names', () => {
    assert.equal(secretNames.groupPassword(CONTOSO_TENANT, 'sales'), 'group-000000000000400080000000000000d1-sales-password');
    assert.equal(secretNames.groupClientSecret('contoso', 'sales'), 'group-contoso-sales-client-secret');
    assert.equal(secretNames.groupCertificate('contoso', 'sales'), 'group-contoso-sales-certificate');
    assert.equal(secretNames.webhookSigningKey('contoso', 'sales'), 'webhook-contoso-sales-signing');
    assert.equal(secretNames.consentStateSigningKey(), 'consent-state-signing-key');
    assert.equal(secretNames.connectorAppClientSecret(), 'connector-app-client-secret');
    assert.match(secretNames.userTokenCache(CONTOSO_TENANT, 'alice@contoso.com'), /^user-token-cache-000000000000400080000000000000d1-h[0-9a-f]{40}$/);
  });

  test('any id maps to a valid name no longer than 127 characters', () => {
    const awkward = ['x'.repeat(1000), 'Ünïcødé ✓', 'a/b\\c?d#e', 'with-dashes-in-it', 'UPPER', ' ', '-', '../../etc/passwd', '\u0000'];
    for (const id of awkward) {
      for (const name of [
        secretNames.groupPassword(id, id),
        secretNames.groupClientSecret(id, id),
        secretNames.userTokenCache(id, id),
        secretNames.webhookSigningKey(id, id),
      ]) {
        assert.ok(isValidSecretName(name), `${JSON.stringify(name)} is valid`);
        assert.ok(name.length <= 127);
      }
    }
  });

  test('different ids never share a name, including ids that look like other encodings', () => {
    const guidHex = CONTOSO_TENANT.replaceAll('-', '');
    const ids = [
      CONTOSO_TENANT,
      guidHex, // a 32-character key that spells the GUID's digits
      'contoso',
      'Contoso', // names are case-insensitive in Key Vault, so case must not be the only difference
      'CONTOSO',
      'contoso-sales',
      'contoso.sales',
      'a'.repeat(24),
      'a'.repeat(25),
      'h' + 'a'.repeat(40),
    ];
    const components = ids.map(secretNameComponent);
    assert.equal(new Set(components.map((c) => c.toLowerCase())).size, ids.length, components.join('\n'));

    const names = new Set<string>();
    for (const tenant of ids) for (const group of ids) names.add(secretNames.groupPassword(tenant, group).toLowerCase());
    assert.equal(names.size, ids.length * ids.length);
  });

  test('GUIDs differing only in letter case are the same id', () => {
    assert.equal(secretNameComponent(CONTOSO_TENANT.toUpperCase()), secretNameComponent(CONTOSO_TENANT));
  });

  test('an empty id is refused rather than silently named', () => {
    assert.throws(() => secretNames.groupPassword('', 'sales'), InvalidSecretNameError);
  });
});
