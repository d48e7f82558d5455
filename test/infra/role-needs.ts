/**
 * Which Azure data-plane roles the product's code needs, and why. The Bicep cross-check
 * (test/infra/bicep-crosscheck.test.ts and `npm run infra:check`) derives the needs from the
 * code with these rules and fails when infra/ does not assign one of them, scoped to the
 * resource it is about. Role definition ids are Azure built-in roles ("Azure built-in roles"
 * reference); a role is only correct with its id, names are for people.
 */
import type { RoleNeedRule } from '../../dev/infra-check';

export const ROLE_NEED_RULES: readonly RoleNeedRule[] = [
  {
    role: { name: 'Storage Blob Data Owner', roleDefinitionId: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b', scopeResourceType: 'Microsoft.Storage/storageAccounts' },
    // The Functions host itself, with AzureWebJobsStorage__credential=managedidentity: blob
    // leases for timer triggers and singletons, host keys, and the Flex Consumption
    // deployment package container. Microsoft documents Owner (not Contributor) for the host.
    why: 'the Functions host keeps leases, keys and the deployment package in blobs',
    neededWhen: { always: true },
  },
  {
    role: { name: 'Storage Queue Data Contributor', roleDefinitionId: '974c5e8b-45b9-4653-ba55-5f855dd0fb88', scopeResourceType: 'Microsoft.Storage/storageAccounts' },
    // Queue triggers: the host reads, updates (visibility), deletes and moves messages to
    // <queue>-poison. The app's own QueueClient sends continuation and delivery messages.
    why: 'queue triggers and QueueClient/QueueServiceClient read, send and delete messages',
    neededWhen: { packageImports: [{ packageName: '@azure/storage-queue', names: ['QueueClient', 'QueueServiceClient'] }], calls: ['defineStorageQueueFunction'] },
  },
  {
    role: { name: 'Storage Table Data Contributor', roleDefinitionId: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', scopeResourceType: 'Microsoft.Storage/storageAccounts' },
    // Tenants, groups, mailboxes, sync state and audit live in tables the app creates and writes.
    why: 'TableClient/TableServiceClient create tables and read and write entities',
    neededWhen: { packageImports: [{ packageName: '@azure/data-tables', names: ['TableClient', 'TableServiceClient'] }] },
  },
  {
    role: { name: 'Key Vault Secrets Officer', roleDefinitionId: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7', scopeResourceType: 'Microsoft.KeyVault/vaults' },
    // The app stores what it manages (customer credentials, signing keys, token caches) and
    // rotates and deletes them; Key Vault Secrets User could only read.
    why: 'SecretClient sets, reads, lists and deletes the secrets the app manages',
    neededWhen: { packageImports: [{ packageName: '@azure/keyvault-secrets', names: ['SecretClient'] }] },
  },
  {
    role: { name: 'Monitoring Metrics Publisher', roleDefinitionId: '3913510d-42f4-4e42-8a64-420c390055eb', scopeResourceType: 'Microsoft.Insights/components' },
    // Application Insights has local auth disabled: the host sends telemetry with an Entra
    // token for the identity named in APPLICATIONINSIGHTS_AUTHENTICATION_STRING.
    why: 'the Functions host sends telemetry to Application Insights with Entra authentication',
    neededWhen: { always: true },
  },
];
