/**
 * The Bicep in infra/ against the code: settings, roles, secrets, API versions. No Bicep
 * compiler exists offline, so dev/infra-check.ts reads the templates itself; these tests also
 * break a copy of infra/ on purpose to prove the reader notices each kind of mistake.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkInfrastructure, deriveRoleNeeds, readInfrastructure, type Finding, type FindingRule, type RoleNeed } from '../../dev/infra-check';
import { projectRoot } from '../../dev/project-paths';
import { SETTINGS } from '../../shared/config/settings-catalogue';
import { ROLE_NEED_RULES } from './role-needs';

const root = projectRoot();
const infraDir = join(root, 'infra');
const scratch = mkdtempSync(join(tmpdir(), 'infra-check-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function describeFindings(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.file}:${f.line} ${f.rule}: ${f.message}`).join('\n') || '(none)';
}

/** Source code that uses every client the rules know, so every rule's role is needed. */
function codeUsingEverySdk(): RoleNeed[] {
  const dir = join(scratch, 'code-all');
  mkdirSync(join(dir, 'shared'), { recursive: true });
  writeFileSync(
    join(dir, 'shared', 'clients.ts'),
    [
      "import { SecretClient } from '@azure/keyvault-secrets';",
      "import { TableClient } from '@azure/data-tables';",
      "import { QueueClient } from '@azure/storage-queue';",
      'export const clients = [SecretClient, TableClient, QueueClient];',
    ].join('\n'),
  );
  return deriveRoleNeeds([join(dir, 'shared')], ROLE_NEED_RULES, dir);
}

const everyRoleNeeded = codeUsingEverySdk();

test('the Bicep in infra/ passes every cross-check against the code', () => {
  const needs = deriveRoleNeeds([join(root, 'shared'), join(root, 'functions')], ROLE_NEED_RULES, root);
  const report = checkInfrastructure({ infraDir, settings: SETTINGS, roleNeeds: needs });
  assert.deepEqual(report.findings, [], describeFindings(report.findings));
  // Also with code that uses every SDK, so a role not yet used by the code is still covered.
  const full = checkInfrastructure({ infraDir, settings: SETTINGS, roleNeeds: everyRoleNeeded });
  assert.deepEqual(full.findings, [], describeFindings(full.findings));
});

test('the Function App sets every setting the catalogue requires in Azure, keyless', () => {
  const model = readInfrastructure(infraDir);
  const names = model.appSettings.map((s) => s.name);
  for (const setting of SETTINGS.filter((s) => s.requiredInAzure)) assert.ok(names.includes(setting.name), `${setting.name} is not set`);
  const byName = new Map(model.appSettings.map((s) => [s.name, s.value]));
  assert.equal(byName.get('AzureWebJobsStorage__credential'), "'managedidentity'");
  assert.equal(byName.has('AzureWebJobsStorage'), false, 'no storage connection string in Azure');
  assert.match(byName.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING') ?? '', /^'ClientId=\$\{\w+\};Authorization=AAD'$/);
  assert.equal(byName.get('AZURE_CLIENT_ID'), byName.get('AzureWebJobsStorage__clientId'), 'the app and the host use the same identity');
});

test('the reader sees every resource the product needs, each with an API version', () => {
  const model = readInfrastructure(infraDir);
  const types = new Set(model.resources.map((r) => r.fullType));
  for (const type of [
    'Microsoft.Resources/resourceGroups',
    'Microsoft.ManagedIdentity/userAssignedIdentities',
    'Microsoft.Storage/storageAccounts',
    'Microsoft.Storage/storageAccounts/blobServices/containers',
    'Microsoft.KeyVault/vaults',
    'Microsoft.OperationalInsights/workspaces',
    'Microsoft.Insights/components',
    'Microsoft.Web/serverfarms',
    'Microsoft.Web/sites',
    'Microsoft.Web/sites/config',
    'Microsoft.Web/sites/basicPublishingCredentialsPolicies',
    'Microsoft.Authorization/roleAssignments',
  ]) {
    assert.ok(types.has(type), `${type} is not declared`);
  }
  for (const resource of model.resources.filter((r) => r.declaredType.includes('/'))) {
    assert.match(resource.apiVersion ?? '', /^\d{4}-\d{2}-\d{2}/, `${resource.file}:${resource.line} ${resource.symbol}`);
  }
});

test('roles are derived from the SDK clients the code uses', () => {
  const dir = join(scratch, 'code-derive');
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'vault.ts'), "import { SecretClient, type SecretProperties } from '@azure/keyvault-secrets';\nexport const c = SecretClient;\n");
  writeFileSync(join(dir, 'src', 'types-only.ts'), "import type { TableClient } from '@azure/data-tables';\nexport type T = TableClient;\n");
  writeFileSync(join(dir, 'src', 'trigger.ts'), "defineStorageQueueFunction('sync', { queueName: 'sync', handler });\n");
  const needs = deriveRoleNeeds([join(dir, 'src')], ROLE_NEED_RULES, dir);
  const byRole = new Map(needs.map((n) => [n.role.name, n.evidence]));
  assert.deepEqual(byRole.get('Key Vault Secrets Officer'), ['src/vault.ts']);
  assert.deepEqual(byRole.get('Storage Queue Data Contributor'), ['src/trigger.ts']);
  assert.equal(byRole.has('Storage Table Data Contributor'), false, 'a type-only import calls nothing');
  assert.deepEqual(byRole.get('Storage Blob Data Owner'), ['always'], 'the Functions host always needs it');
  assert.deepEqual(byRole.get('Monitoring Metrics Publisher'), ['always']);
});

test('the reader understands the other ways to write app settings, and says when it cannot', () => {
  const dir = join(scratch, 'forms', 'infra');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'main.bicep'),
    [
      "var shared = { FROM_VAR: 'a' }",
      "resource site 'Microsoft.Web/sites@2024-04-01' = {",
      "  name: 'x' // a comment with 'quotes' and { braces",
      "  kind: 'functionapp,linux'",
      '  properties: {',
      '    siteConfig: {',
      '      appSettings: [',
      "        { name: 'IN_ARRAY', value: '${shared.FROM_VAR}/https://x' }",
      '        {',
      "          name: 'SECOND_IN_ARRAY'",
      "          value: 'b'",
      '        }',
      '      ]',
      '    }',
      '  }',
      '}',
      "resource settings 'Microsoft.Web/sites/config@2024-04-01' = {",
      '  parent: site',
      "  name: 'appsettings'",
      "  properties: union(shared, { 'QUOTED_KEY': 'c' }, {",
      "    MULTI_LINE: 'd'",
      '  })',
      '}',
      "resource other 'Microsoft.Web/sites/config@2024-04-01' = {",
      '  parent: site',
      "  name: 'appsettings'",
      '  properties: someFunction()',
      '}',
    ].join('\n'),
  );
  const model = readInfrastructure(dir);
  assert.deepEqual(model.appSettings.map((s) => s.name).sort(), ['FROM_VAR', 'IN_ARRAY', 'MULTI_LINE', 'QUOTED_KEY', 'SECOND_IN_ARRAY']);
  const unreadable = model.readerFindings.filter((f) => f.rule === 'unreadable-app-settings');
  assert.equal(unreadable.length, 1, describeFindings(model.readerFindings));
  assert.match(unreadable[0].message, /someFunction/);
});

interface Breakage {
  readonly title: string;
  readonly file: string;
  readonly from: string | RegExp;
  readonly to: string;
  readonly expect: FindingRule;
  readonly mentions: RegExp;
}

const BREAKAGES: readonly Breakage[] = [
  { title: 'an app setting removed', file: 'app/function-app.bicep', from: /^\s*KEY_VAULT_URL: keyVaultUrl\n/m, to: '', expect: 'missing-app-setting', mentions: /KEY_VAULT_URL/ },
  {
    title: 'a role assignment removed',
    file: 'core/role-assignments.bicep',
    from: /resource appStorageTableDataContributor [\s\S]*?\n}\n/,
    to: '',
    expect: 'missing-role-assignment',
    mentions: /Storage Table Data Contributor/,
  },
  {
    title: 'a listKeys() call added',
    file: 'core/storage.bicep',
    from: 'output id string = storage.id',
    to: 'output id string = storage.id\noutput key string = storage.listKeys().keys[0].value',
    expect: 'secret-function',
    mentions: /listKeys/,
  },
  {
    title: 'an API version dropped',
    file: 'core/keyvault.bicep',
    from: "'Microsoft.KeyVault/vaults@2023-07-01' =",
    to: "'Microsoft.KeyVault/vaults' =",
    expect: 'missing-api-version',
    mentions: /Microsoft\.KeyVault\/vaults/,
  },
  {
    title: 'a connection string with an account key',
    file: 'app/function-app.bicep',
    from: "    AzureWebJobsStorage__credential: 'managedidentity'\n",
    to: "    AzureWebJobsStorage__credential: 'managedidentity'\n    AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc=='\n",
    expect: 'secret-literal',
    mentions: /key/,
  },
  { title: 'shared key access switched on', file: 'core/storage.bicep', from: 'allowSharedKeyAccess: false', to: 'allowSharedKeyAccess: true', expect: 'insecure-property', mentions: /allowSharedKeyAccess/ },
  {
    title: 'a secure parameter with a default',
    file: 'core/keyvault.bicep',
    from: 'param location string',
    to: "@secure()\n@description('x')\nparam adminPassword string = 'hunter2'\nparam location string",
    expect: 'secure-param-default',
    mentions: /adminPassword/,
  },
  { title: 'a role assigned at resource group scope', file: 'core/role-assignments.bicep', from: '  scope: vault\n  properties', to: '  properties', expect: 'role-scope', mentions: /Key Vault Secrets Officer|resourceGroup/ },
  {
    title: 'a setting Flex Consumption does not use',
    file: 'app/function-app.bicep',
    from: '    ADMIN_API_AUDIENCE: adminApiAudience\n',
    to: "    ADMIN_API_AUDIENCE: adminApiAudience\n    FUNCTIONS_WORKER_RUNTIME: 'node'\n",
    expect: 'deprecated-flex-setting',
    mentions: /FUNCTIONS_WORKER_RUNTIME/,
  },
  { title: 'a deploy-script output removed', file: 'main.bicep', from: /^output ADMIN_API_URL .*\n/m, to: '', expect: 'missing-output', mentions: /ADMIN_API_URL/ },
  { title: 'FTP publishing left on', file: 'app/function-app.bicep', from: "name: 'ftp'\n    location: location\n    properties: {\n      allow: false", to: "name: 'ftp'\n    location: location\n    properties: {\n      allow: true", expect: 'insecure-property', mentions: /allow/ },
];

function brokenCopy(name: string, breakages: readonly Breakage[]): string {
  const dir = join(scratch, name, 'infra');
  cpSync(infraDir, dir, { recursive: true });
  // main.bicep reads ../host.json; the copy keeps it beside the infra folder.
  cpSync(join(root, 'host.json'), join(scratch, name, 'host.json'));
  for (const breakage of breakages) {
    const path = join(dir, breakage.file);
    const before = readFileSync(path, 'utf8');
    const broken = before.replace(breakage.from, breakage.to);
    assert.notEqual(broken, before, `breakage "${breakage.title}" did not apply: the template changed, update the test`);
    writeFileSync(path, broken);
  }
  return dir;
}

describe('a deliberately broken copy of infra/ is caught', () => {
  for (const [index, breakage] of BREAKAGES.entries()) {
    test(breakage.title, () => {
      const dir = brokenCopy(`single-${index}`, [breakage]);
      const { findings } = checkInfrastructure({ infraDir: dir, settings: SETTINGS, roleNeeds: everyRoleNeeded });
      const hits = findings.filter((f) => f.rule === breakage.expect && breakage.mentions.test(f.message));
      assert.ok(hits.length > 0, `expected ${breakage.expect} mentioning ${breakage.mentions}, got:\n${describeFindings(findings)}`);
    });
  }

  test('all breakages at once are each reported', () => {
    const dir = brokenCopy('all', BREAKAGES);
    const { findings } = checkInfrastructure({ infraDir: dir, settings: SETTINGS, roleNeeds: everyRoleNeeded });
    for (const breakage of BREAKAGES) {
      assert.ok(
        findings.some((f) => f.rule === breakage.expect && breakage.mentions.test(f.message)),
        `${breakage.title}: not reported among\n${describeFindings(findings)}`,
      );
    }
  });
});
