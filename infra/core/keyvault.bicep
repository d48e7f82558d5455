// The only place the product keeps secrets (customer credentials, webhook signing keys,
// per-user token caches, the connector app's client secret). RBAC mode: access is granted
// by Azure role assignments, never by vault access policies.

@description('Key Vault name: 3-24 letters, digits and hyphens.')
param name string
param location string
param tags object = {}

@description('default = create or update; recover = recover the soft-deleted vault of this name (with its secrets).')
@allowed([
  'default'
  'recover'
])
param createMode string = 'default'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // Only 'recover' changes anything: ARM then restores the soft-deleted vault of this name
    // instead of refusing it; the properties below apply on the next deployment.
    createMode: createMode
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Purge protection cannot be switched off again; it keeps a deleted secret recoverable
    // for the retention period even from someone holding Key Vault Administrator.
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

output id string = vault.id
output name string = vault.name
// No trailing slash (vaultUri has one): this value becomes KEY_VAULT_URL as it is.
output uri string = 'https://${vault.name}${environment().suffixes.keyvaultDns}'
