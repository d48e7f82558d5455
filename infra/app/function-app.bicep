// The Function App: Linux, Node 22, Flex Consumption (FC1), running as the user-assigned
// managed identity. Every app setting lives here, in one place; the names come from
// shared/config/settings-catalogue.ts and test/infra/bicep-crosscheck.test.ts checks that
// each setting marked requiredInAzure is set.

param name string
param planName string
param location string
param tags object = {}

@description('Resource id of the user-assigned managed identity.')
param identityId string
@description('Client id of the user-assigned managed identity.')
param identityClientId string

param storageAccountName string
param blobServiceUri string
param queueServiceUri string
param tableServiceUri string
param deploymentContainerName string

param applicationInsightsName string
param keyVaultUrl string

@allowed([
  'production'
  'development'
])
param connectorEnvironment string = 'production'

@description('Public https origin when a custom domain fronts the app; empty = the default host name.')
param publicBaseUrl string = ''

param adminApiAudience string
param adminApiTenantId string
param connectorAppClientId string
@description('Empty: the admin console answers that it is not configured.')
param adminConsoleClientId string = ''

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      // Only TLS here: Flex Consumption deprecates many siteConfig properties, and
      // FTP is closed by the basicPublishingCredentialsPolicies below.
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobServiceUri}/${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }

  // Deployments authenticate with Entra ID (az CLI / azd); publishing passwords stay off.
  // `location` is not in Azure's type definitions for this resource, but ARM rejects the PUT
  // without it (Azure/bicep-types-az#1529; Bicep warns BCP187). dev/azure-type-check.ts lists
  // this one known gap and requires the property here.
  resource ftpPublishing 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    location: location
    properties: {
      allow: false
    }
  }

  resource scmPublishing 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    location: location
    properties: {
      allow: false
    }
  }
}

// A separate resource rather than siteConfig.appSettings so PUBLIC_BASE_URL can use the
// site's own default host name. Writing this resource replaces all app settings: every
// setting the app needs is listed here.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    CONNECTOR_ENVIRONMENT: connectorEnvironment
    PUBLIC_BASE_URL: empty(publicBaseUrl) ? 'https://${functionApp.properties.defaultHostName}' : publicBaseUrl
    // Identity-based host storage: no connection string, no account key.
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__blobServiceUri: blobServiceUri
    AzureWebJobsStorage__queueServiceUri: queueServiceUri
    AzureWebJobsStorage__tableServiceUri: tableServiceUri
    KEY_VAULT_URL: keyVaultUrl
    // DefaultAzureCredential / ManagedIdentityCredential pick the user-assigned identity by this.
    AZURE_CLIENT_ID: identityClientId
    ADMIN_API_AUDIENCE: adminApiAudience
    ADMIN_API_TENANT_ID: adminApiTenantId
    CONNECTOR_APP_CLIENT_ID: connectorAppClientId
    ADMIN_CONSOLE_CLIENT_ID: adminConsoleClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
output publicBaseUrl string = empty(publicBaseUrl) ? 'https://${functionApp.properties.defaultHostName}' : publicBaseUrl
