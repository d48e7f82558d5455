import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigurationError, loadConfig } from '../../shared/config';

const valid = {
  PUBLIC_BASE_URL: 'https://connector.example.com',
  AzureWebJobsStorage__accountName: 'stconnector01',
  KEY_VAULT_URL: 'https://kv-connector.vault.azure.net',
  AZURE_CLIENT_ID: '11111111-1111-4111-8111-111111111111',
  ADMIN_API_AUDIENCE: 'c0ffee00-0000-4000-8000-00000000ad01',
  ADMIN_API_TENANT_ID: '22222222-2222-4222-8222-222222222222',
  CONNECTOR_APP_CLIENT_ID: '33333333-3333-4333-8333-333333333333',
};

test('a complete Azure configuration loads with its defaults', () => {
  const config = loadConfig(valid);
  assert.equal(config.environment, 'production');
  assert.equal(config.storage.kind, 'identity');
  assert.equal(config.storage.kind === 'identity' && config.storage.tableEndpoint, 'https://stconnector01.table.core.windows.net');
  assert.equal(config.ews.defaultUrl, 'https://outlook.office365.com/EWS/Exchange.asmx');
  assert.equal(config.identity.authorityHost, 'https://login.microsoftonline.com');
});

test('missing and malformed settings fail with one message naming each setting', () => {
  const { KEY_VAULT_URL: _omit, ...rest } = valid;
  assert.throws(
    () => loadConfig({ ...rest, PUBLIC_BASE_URL: 'not a url', SYNC_TIME_BUDGET_MS: 'soon' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.code, 'ConfigurationInvalid');
      assert.match(error.message, /KEY_VAULT_URL: is required but not set/);
      assert.match(error.message, /PUBLIC_BASE_URL: /);
      assert.match(error.message, /SYNC_TIME_BUDGET_MS: /);
      assert.equal(error.problems.length, 3);
      return true;
    },
  );
});

test('a Key Vault URL must be https', () => {
  assert.throws(() => loadConfig({ ...valid, KEY_VAULT_URL: 'http://localhost:8443' }), /KEY_VAULT_URL: must be an https URL/);
});

test('a connection string never shows when the configuration is printed', () => {
  const config = loadConfig({ ...valid, AzureWebJobsStorage: 'AccountKey=c2VjcmV0LWtleQ==' });
  assert.equal(config.storage.kind, 'connectionString');
  assert.doesNotMatch(JSON.stringify(config), /c2VjcmV0LWtleQ/);
});

test("ADMIN_API_AUDIENCE must be the admin API app's client id: Entra's v2.0 tokens never carry the api:// URI as aud", () => {
  assert.throws(
    () => loadConfig({ ...valid, ADMIN_API_AUDIENCE: 'api://exchange-connector' }),
    (error: unknown) => error instanceof ConfigurationError && /ADMIN_API_AUDIENCE: must be the admin API app's Application \(client\) ID/.test(error.message),
  );
});

test('MICROSOFT_CLOUD picks Entra and Exchange Online endpoints from the fixed list; the operator may override them, tenants cannot', () => {
  const global = loadConfig(valid);
  assert.deepEqual([global.ews.cloud, global.ews.resource, global.identity.authorityHost], ['global', 'https://outlook.office365.com', 'https://login.microsoftonline.com']);
  const gccHigh = loadConfig({ ...valid, MICROSOFT_CLOUD: 'usGovernment' });
  assert.equal(gccHigh.ews.defaultUrl, 'https://outlook.office365.us/EWS/Exchange.asmx');
  assert.equal(gccHigh.ews.resource, 'https://outlook.office365.us');
  assert.equal(gccHigh.identity.authorityHost, 'https://login.microsoftonline.us');
  const china = loadConfig({ ...valid, MICROSOFT_CLOUD: 'china', EWS_DEFAULT_URL: 'https://ews.example.cn/EWS/Exchange.asmx' });
  assert.equal(china.ews.defaultUrl, 'https://ews.example.cn/EWS/Exchange.asmx');
  assert.equal(china.identity.authorityHost, 'https://login.chinacloudapi.cn');
  assert.throws(() => loadConfig({ ...valid, MICROSOFT_CLOUD: 'attacker' }), (error: unknown) => error instanceof ConfigurationError && /MICROSOFT_CLOUD: must be one of global, usGovernment, usGovernmentDoD, china/.test(error.message));
});
