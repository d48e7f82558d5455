/**
 * infra/ against Azure's own Bicep type definitions (../shared/azure-types, read in place):
 * the real templates have no finding, and each known-bad snippet is caught with its file,
 * line, property path and the type's expectation.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkAzureTypes, UNVERIFIED_TYPES, type TypeFinding, type TypeFindingRule } from '../../dev/azure-type-check';
import { azureTypesDir, projectRoot } from '../../dev/project-paths';

const typesDir = azureTypesDir();
const scratch = mkdtempSync(join(tmpdir(), 'azure-types-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function describeFindings(findings: readonly TypeFinding[]): string {
  return findings.map((f) => `${f.file}:${f.line} ${f.rule} [${f.path}] ${f.message}`).join('\n') || '(none)';
}

let counter = 0;
/** Writes the files into a fresh infra folder and checks it. */
function check(files: Record<string, string>): readonly TypeFinding[] {
  const dir = join(scratch, `case-${counter++}`);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return checkAzureTypes(dir, typesDir).findings;
}

const SITE = (properties: string, extra = ''): string => `param location string
resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan'
  location: location
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
}
resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func'
  location: location
  kind: 'functionapp,linux'
  properties: {
    serverFarmId: plan.id
${properties}
  }
${extra}
}
`;

const VAULT = (properties: string): string => `resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-test'
  location: 'westeurope'
  properties: {
${properties}
  }
}
`;

const VAULT_OK = `    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }`;

interface Case {
  readonly title: string;
  readonly files: Record<string, string>;
  readonly rule: TypeFindingRule;
  readonly path: string;
  /** The finding's line in main.bicep (1-based). */
  readonly line?: number;
  readonly mentions: RegExp;
}

const CASES: readonly Case[] = [
  {
    title: 'a misspelled property',
    files: { 'main.bicep': SITE("    siteConfig: {\n      minTlsVersoin: '1.2'\n    }") },
    rule: 'unknown-property',
    path: 'properties.siteConfig.minTlsVersoin',
    line: 17,
    mentions: /no such property on SiteConfig.*did you mean minTlsVersion/,
  },
  {
    title: 'a property in the wrong case',
    files: { 'main.bicep': SITE('    HttpsOnly: true') },
    rule: 'unknown-property',
    path: 'properties.HttpsOnly',
    mentions: /spells it httpsOnly/,
  },
  {
    title: 'a read-only property set',
    files: { 'main.bicep': SITE("    defaultHostName: 'func.example.net'") },
    rule: 'read-only-property',
    path: 'properties.defaultHostName',
    line: 16,
    mentions: /read-only on SiteProperties/,
  },
  {
    title: 'a wrong enum value (runtime.name)',
    files: { 'main.bicep': SITE("    functionAppConfig: {\n      runtime: {\n        name: 'nodejs'\n        version: '22'\n      }\n    }") },
    rule: 'invalid-value',
    path: 'properties.functionAppConfig.runtime.name',
    mentions: /'nodejs' is not allowed; expected .*'node'/,
  },
  {
    title: 'a wrong enum value in the wrong case (Key Vault SKU)',
    files: { 'main.bicep': VAULT("    tenantId: subscription().tenantId\n    sku: {\n      family: 'A'\n      name: 'Standard'\n    }") },
    rule: 'invalid-value',
    path: 'properties.sku.name',
    line: 8,
    mentions: /'Standard' is not allowed \(did you mean 'standard'\?\)/,
  },
  {
    title: 'a wrong TLS version',
    files: { 'main.bicep': SITE("    siteConfig: {\n      minTlsVersion: '1.4'\n    }") },
    rule: 'invalid-value',
    path: 'properties.siteConfig.minTlsVersion',
    mentions: /'1\.2'/,
  },
  {
    title: 'a wrong deployment storage authentication type',
    files: {
      'main.bicep': SITE(
        "    functionAppConfig: {\n      deployment: {\n        storage: {\n          type: 'blobContainer'\n          value: 'https://x/y'\n          authentication: {\n            type: 'UserAssigned'\n          }\n        }\n      }\n    }",
      ),
    },
    rule: 'invalid-value',
    path: 'properties.functionAppConfig.deployment.storage.authentication.type',
    mentions: /'UserAssignedIdentity'/,
  },
  {
    title: 'a missing required property',
    files: { 'main.bicep': VAULT("    sku: {\n      family: 'A'\n      name: 'standard'\n    }") },
    rule: 'missing-required-property',
    path: 'properties.tenantId',
    mentions: /required by VaultProperties/,
  },
  {
    title: 'a missing location on a tracked resource',
    files: { 'main.bicep': "resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {\n  name: 'id'\n}\n" },
    rule: 'missing-required-property',
    path: 'location',
    mentions: /required/,
  },
  {
    title: 'a string where a bool goes',
    files: { 'main.bicep': SITE("    httpsOnly: 'true'") },
    rule: 'wrong-type',
    path: 'properties.httpsOnly',
    mentions: /'true' \(string\) given; expected bool/,
  },
  {
    title: 'a parameter of the wrong type',
    files: { 'main.bicep': 'param https string\n' + SITE('    httpsOnly: https') },
    rule: 'wrong-type',
    path: 'properties.httpsOnly',
    mentions: /parameter https is string; expected bool/,
  },
  {
    title: 'an @allowed value the type does not allow',
    files: {
      'main.bicep':
        "@allowed([\n  'User'\n  'Robot'\n])\nparam principalType string\nresource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {\n  name: guid('x')\n  properties: {\n    roleDefinitionId: 'x'\n    principalId: 'y'\n    principalType: principalType\n  }\n}\n",
    },
    rule: 'invalid-value',
    path: 'properties.principalType',
    line: 3,
    mentions: /'Robot' is not allowed.*'ServicePrincipal'/,
  },
  {
    title: 'a bad branch of a conditional value',
    files: { 'main.bicep': "param flag bool\n" + VAULT(`${VAULT_OK}\n    createMode: flag ? 'recover' : 'restore'`) },
    rule: 'invalid-value',
    path: 'properties.createMode',
    mentions: /'restore' is not allowed; expected 'recover' \| 'default'/,
  },
  {
    title: 'a string too long for the type',
    files: { 'main.bicep': VAULT(`${VAULT_OK}\n    softDeleteRetentionInDays: 7\n    vaultUri: 'x'`).replace("name: 'kv-test'", "name: 'kv-this-name-is-far-too-long-for-a-vault'") },
    rule: 'invalid-value',
    path: 'name',
    mentions: /does not match \^\[a-zA-Z0-9-\]\{3,24\}\$/,
  },
  {
    title: 'an unknown API version',
    files: { 'main.bicep': "resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2099-01-01' = {\n  name: 'id'\n  location: 'westeurope'\n}\n" },
    rule: 'unknown-resource-type',
    path: '',
    line: 1,
    mentions: /no type definitions for Microsoft\.ManagedIdentity at API version 2099-01-01.*available: 2023-01-31/,
  },
  {
    title: 'an unknown resource type',
    files: { 'main.bicep': "resource id 'Microsoft.ManagedIdentity/userAssignedIdentitys@2023-01-31' = {\n  name: 'id'\n  location: 'westeurope'\n}\n" },
    rule: 'unknown-resource-type',
    path: '',
    mentions: /did you mean Microsoft\.ManagedIdentity\/userAssignedIdentities/,
  },
  {
    title: 'a misspelled nested child resource',
    files: {
      'main.bicep':
        "resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'stx'\n  location: 'westeurope'\n  kind: 'StorageV2'\n  sku: {\n    name: 'Standard_LRS'\n  }\n  resource blob 'blobService' = {\n    name: 'default'\n  }\n}\n",
    },
    rule: 'unknown-resource-type',
    path: '',
    line: 8,
    mentions: /Microsoft\.Storage\/storageAccounts\/blobService is not a resource type.*did you mean .*blobServices/,
  },
  {
    title: 'a child resource whose parent: is of the wrong type',
    files: { 'main.bicep': SITE('    httpsOnly: true') + "resource settings 'Microsoft.Web/sites/config@2024-04-01' = {\n  parent: plan\n  name: 'appsettings'\n  properties: {}\n}\n" },
    rule: 'bad-parent',
    path: 'parent',
    mentions: /plan is a Microsoft\.Web\/serverfarms, but Microsoft\.Web\/sites\/config needs a Microsoft\.Web\/sites/,
  },
  {
    title: 'a child resource with neither parent nor a parent segment in its name',
    files: { 'main.bicep': "resource settings 'Microsoft.Web/sites/config@2024-04-01' = {\n  name: 'appsettings'\n  properties: {}\n}\n" },
    rule: 'bad-parent',
    path: 'name',
    mentions: /child type/,
  },
  {
    title: 'a child resource name outside its allowed set',
    files: { 'main.bicep': SITE('    httpsOnly: true', "  resource ftp 'basicPublishingCredentialsPolicies' = {\n    name: 'ftps'\n    location: location\n    properties: {\n      allow: false\n    }\n  }") },
    rule: 'invalid-value',
    path: 'name',
    mentions: /'ftps' is not allowed; expected one of 'ftp', 'scm'/,
  },
  {
    title: 'a read-only resource type deployed',
    files: { 'main.bicep': SITE('    httpsOnly: true') + "resource s 'Microsoft.Web/sites/config/appsettings@2024-04-01' = {\n  name: 'func/appsettings/x'\n}\n" },
    rule: 'scope',
    path: '',
    mentions: /read-only: it cannot be deployed/,
  },
  {
    title: 'a resource group declared in a resource-group-scope file',
    files: { 'main.bicep': "resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {\n  name: 'rg'\n  location: 'westeurope'\n}\n" },
    rule: 'scope',
    path: '',
    mentions: /cannot be deployed at resourceGroup scope; the definitions allow subscription/,
  },
  {
    title: 'a property an existing resource cannot take',
    files: { 'main.bicep': "resource kv 'Microsoft.KeyVault/vaults@2023-07-01' existing = {\n  name: 'kv'\n  location: 'westeurope'\n}\n" },
    rule: 'unknown-property',
    path: 'location',
    mentions: /takes only name, scope and parent/,
  },
  {
    title: 'a publishing policy without the location ARM requires',
    files: { 'main.bicep': SITE('    httpsOnly: true', "  resource ftp 'basicPublishingCredentialsPolicies' = {\n    name: 'ftp'\n    properties: {\n      allow: false\n    }\n  }") },
    rule: 'missing-required-property',
    path: 'location',
    mentions: /bicep-types-az\/issues\/1529/,
  },
  {
    title: 'an object the reader cannot see into',
    files: { 'main.bicep': 'param config object\n' + SITE('    siteConfig: config') },
    rule: 'unreadable-construct',
    path: 'properties.siteConfig',
    mentions: /parameter config \(object\) cannot be checked against object SiteConfig/,
  },
  {
    title: 'a spread in a resource body',
    files: { 'main.bicep': 'var more = {}\n' + SITE('    ...more') },
    rule: 'unreadable-construct',
    path: 'properties',
    mentions: /cannot read '\.\.\.more'/,
  },
  {
    title: 'a resource loop',
    files: { 'main.bicep': "resource ids 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = [for n in ['a', 'b']: {\n  name: n\n  location: 'westeurope'\n}]\n" },
    rule: 'unreadable-construct',
    path: '',
    mentions: /for` loop/,
  },
  {
    title: 'a module given a parameter it does not declare, and not one it requires',
    files: {
      'main.bicep': "module m 'mod.bicep' = {\n  name: 'm'\n  params: {\n    locaton: 'westeurope'\n  }\n}\n",
      'mod.bicep': 'param location string\n',
    },
    rule: 'module-params',
    path: 'params.locaton',
    mentions: /locaton is not a parameter of the module \(did you mean location\?\)/,
  },
  {
    title: "a module given a value outside the module parameter's @allowed",
    files: {
      'main.bicep': "param t string = ''\nmodule m 'mod.bicep' = {\n  name: 'm'\n  params: {\n    kind: empty(t) ? 'Person' : t\n  }\n}\n",
      'mod.bicep': "@allowed([\n  'User'\n  'ServicePrincipal'\n])\nparam kind string\n",
    },
    rule: 'module-params',
    path: 'params.kind',
    mentions: /'Person' is not in the module's @allowed/,
  },
  {
    title: 'a misspelled property read from a resource, inside a string interpolation',
    files: { 'main.bicep': SITE('    httpsOnly: true') + "output url string = 'https://${site.properties.defaultHostname}/api'\n" },
    rule: 'unknown-property',
    path: 'properties.defaultHostname',
    line: 20,
    mentions: /site\.properties\.defaultHostname: Microsoft\.Web\/sites has no such property on SiteProperties \(the definition spells it defaultHostName\)/,
  },
  {
    title: 'a module output that the module does not declare',
    files: {
      'main.bicep': "module m 'mod.bicep' = {\n  name: 'm'\n}\noutput id string = m.outputs.clientID\n",
      'mod.bicep': "output clientId string = 'x'\n",
    },
    rule: 'module-params',
    path: 'outputs.clientID',
    line: 4,
    mentions: /reads output clientID, which mod\.bicep does not declare \(did you mean clientId\?\)/,
  },
  {
    title: "a parameter whose @allowed values the module's parameter does not all allow",
    files: {
      'main.bicep': "@allowed([\n  'User'\n  'Device'\n])\nparam principalType string = 'User'\nmodule m 'mod.bicep' = {\n  name: 'm'\n  params: {\n    kind: principalType\n  }\n}\n",
      'mod.bicep': "@allowed([\n  'User'\n  'ServicePrincipal'\n])\nparam kind string\n",
    },
    rule: 'module-params',
    path: 'params.kind',
    line: 3,
    mentions: /'Device' is not in the module's @allowed for kind: 'User', 'ServicePrincipal'/,
  },
];

describe('Azure type definitions', () => {
  // CI has ../shared beside the clone; without the definitions nothing below could be checked,
  // and a skipped type check would look like a passed one.
  test('the type definitions are there', () => {
    assert.ok(existsSync(join(typesDir, 'microsoft.web@2024-04-01.json')), `no Azure type definitions at ${typesDir} (set AZURE_TYPES_DIR)`);
  });

  test('every resource body in infra/ passes the type check', () => {
    const report = checkAzureTypes(join(projectRoot(), 'infra'), typesDir);
    assert.deepEqual(report.findings, [], describeFindings(report.findings));
    assert.ok(report.resourcesChecked >= 20, `only ${report.resourcesChecked} resources checked`);
    // Only the listed types may go unverified, and each listed one is really deployed.
    const unverifiedTypes = new Set(report.unverified.map((f) => /\(([^()]+@[0-9-]+)\)/.exec(f.message)?.[1]));
    assert.deepEqual([...unverifiedTypes].sort(), Object.keys(UNVERIFIED_TYPES).sort(), describeFindings(report.unverified));
  });

  test('a correct snippet has no finding (the checks below are not noise)', () => {
    const findings = check({
      'main.bicep':
        VAULT(`${VAULT_OK}\n    enableRbacAuthorization: true\n    publicNetworkAccess: 'Enabled'`) +
        SITE(
          "    httpsOnly: true\n    siteConfig: {\n      minTlsVersion: '1.2'\n    }\n    functionAppConfig: {\n      runtime: {\n        name: 'node'\n        version: '22'\n      }\n      scaleAndConcurrency: {\n        maximumInstanceCount: 100\n        instanceMemoryMB: 2048\n      }\n    }",
          "  resource ftp 'basicPublishingCredentialsPolicies' = {\n    name: 'ftp'\n    location: location\n    properties: {\n      allow: false\n    }\n  }",
        ),
    });
    assert.deepEqual(findings, [], describeFindings(findings));
  });

  for (const c of CASES) {
    test(`caught: ${c.title}`, () => {
      const findings = check(c.files);
      const hit = findings.find((f) => f.rule === c.rule && f.path === c.path && c.mentions.test(f.message));
      assert.ok(hit, `expected ${c.rule} at ${c.path || '(resource)'} matching ${c.mentions}; got\n${describeFindings(findings)}`);
      assert.equal(hit.file, 'main.bicep');
      if (c.line !== undefined) assert.equal(hit.line, c.line, describeFindings([hit]));
    });
  }

  test('hostile templates: prototype names, unterminated and deeply nested bodies neither crash nor pass', () => {
    const findings = check({
      'main.bicep':
        VAULT(`${VAULT_OK}\n    constructor: 'x'\n    __proto__: {}\n    toString: 1`) +
        "resource r 'Microsoft.Resources/resourceGroups@2024-03-01' = {\n  name: 'x'\n  location: 'y'\n  tags: {\n" +
        '    a: '.repeat(1) + '{ b: '.repeat(400) + "'z'" + ' }'.repeat(400) + '\n  }\n}\n' +
        "resource u 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {\n  name: 'never closed\n",
    });
    for (const key of ['constructor', '__proto__', 'toString']) {
      assert.ok(findings.some((f) => f.rule === 'unknown-property' && f.path === `properties.${key}`), `${key}: ${describeFindings(findings)}`);
    }
    assert.ok(findings.some((f) => f.rule === 'scope' && /resourceGroup scope/.test(f.message)), describeFindings(findings));
  });

  test('a missing types folder is a finding, not a pass', () => {
    const dir = join(scratch, 'no-types');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'main.bicep'), "resource id 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {\n  name: 'id'\n  location: 'x'\n}\n");
    const report = checkAzureTypes(dir, join(scratch, 'nowhere'));
    assert.equal(report.findings.length, 1);
    assert.match(report.findings[0].message, /nothing could be checked/);
  });
});
