// Storage for the Functions runtime (leases, host keys, queue triggers), the Flex
// Consumption deployment package, and the app's tables and queues. Keyless: shared key
// access is off, so every caller signs in with Entra ID and needs a data-plane role.

@description('Storage account name: 3-24 lowercase letters and digits.')
param name string
param location string
param tags object = {}

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource blobServices 'blobServices' = {
    name: 'default'

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }
}

output id string = storage.id
output name string = storage.name
// Built from the cloud's storage suffix (not primaryEndpoints, which end in '/') so the
// app settings carry clean service URIs in every Azure cloud.
output blobServiceUri string = 'https://${storage.name}.blob.${environment().suffixes.storage}'
output queueServiceUri string = 'https://${storage.name}.queue.${environment().suffixes.storage}'
output tableServiceUri string = 'https://${storage.name}.table.${environment().suffixes.storage}'
