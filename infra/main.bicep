// Exchange Connector: everything the product needs in one Azure resource group.
// Subscription scope (as azd templates do) so one deployment creates the resource group too:
//   az deployment sub create --location <region> --template-file infra/main.bicep --parameters ...
// infra/deploy.sh and `azd up` both run it; docs/deployment.md explains every parameter.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Environment name (azd AZURE_ENV_NAME), e.g. "prod" or "contoso-test". Part of every resource name and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Azure region for every resource; it must offer the Flex Consumption plan.')
// The regions that offer Flex Consumption, as Microsoft's own azd sample lists them
// (Azure-Samples/functions-quickstart-typescript-azd, infra/main.bicep). Microsoft adds regions
// over time: `az functionapp list-flexconsumption-locations` gives today's list; add a region
// here once it appears there (docs/deployment.md).
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'eastus2euap'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group to create or update; empty = rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object id of the deploying user, group or service principal (CI): gets Key Vault Administrator on the vault so it can store the connector app\'s client secret. Empty = nobody.')
param principalId string = ''

// azd sets AZURE_PRINCIPAL_TYPE to User or ServicePrincipal for whoever is signed in;
// infra/deploy.sh does the same. A wrong type makes the role assignment fail or be slow to
// apply, so it is an explicit parameter.
@description('Kind of principalId: User (interactive), ServicePrincipal (CI, workload identity) or Group.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

// Purge protection keeps a deleted vault's name for its retention period (90 days), so
// provisioning the same environment again after deleting it fails with "vault exists in
// deleted state". Either recover that vault (keyVaultCreateMode recover: it comes back with
// its secrets, which infra/deploy.sh does by itself) or start a new one under another name
// (a salt). docs/deployment.md explains both.
@description('Letters and digits appended to the Key Vault name (kv-<token>-<salt>), to provision a new vault while a deleted one still holds the old name. Empty = no salt.')
@maxLength(7)
param keyVaultNameSalt string = ''

@description('default = create or update the vault; recover = bring back the soft-deleted vault of the same name, with its secrets.')
@allowed([
  'default'
  'recover'
])
param keyVaultCreateMode string = 'default'

@minLength(1)
@description('Client id of the product\'s multi-tenant Entra app (admin consent and per-user sign-in).')
param connectorAppClientId string

@minLength(36)
@maxLength(36)
@description('Application (client) id of the admin API app registration: the aud of its v2.0 tokens (requestedAccessTokenVersion 2). Not the api:// URI.')
param adminApiAudience string

@description('Entra tenant that issues admin tokens; empty = the tenant of this subscription.')
param adminApiTenantId string = ''

@description('Client id of the admin web console\'s SPA app registration; empty = /api/admin/ says the console is not configured.')
param adminConsoleClientId string = ''

@allowed([
  'production'
  'development'
])
param connectorEnvironment string = 'production'

@description('Public https origin when a custom domain fronts the app (no trailing slash); empty = the Function App\'s default host name.')
param publicBaseUrl string = ''

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Operator email for Azure Monitor alerts (dead letters, poison queues, failure rate, expiring credentials); empty: no notifications.')
param alertEmail string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
// The routes the consent engineer registers; this file is the one place both read.
var redirectRoutes = loadJsonContent('entra-redirect-routes.json')
var routePrefix = loadJsonContent('../host.json').extensions.http.routePrefix
var deploymentContainerName = 'app-package-${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'core/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'core/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module keyVault 'core/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: empty(keyVaultNameSalt) ? 'kv-${resourceToken}' : 'kv-${resourceToken}-${toLower(keyVaultNameSalt)}'
    location: location
    tags: tags
    createMode: keyVaultCreateMode
  }
}

module monitoring 'core/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

// Workbook and Azure Monitor alert rules (dead letters, poison queues, failure rate, expiring credentials).
module operations 'core/operations.bicep' = {
  name: 'operations'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
    alertEmail: alertEmail
    namePrefix: resourceToken
  }
}

module roleAssignments 'core/role-assignments.bicep' = {
  name: 'role-assignments'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  // The host reaches storage and Key Vault as soon as it starts: grant the roles first.
  dependsOn: [
    roleAssignments
  ]
  params: {
    name: 'func-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: union(tags, {
      'azd-service-name': 'api'
    })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobServiceUri: storage.outputs.blobServiceUri
    queueServiceUri: storage.outputs.queueServiceUri
    tableServiceUri: storage.outputs.tableServiceUri
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultUrl: keyVault.outputs.uri
    connectorEnvironment: connectorEnvironment
    publicBaseUrl: publicBaseUrl
    adminApiAudience: adminApiAudience
    adminApiTenantId: empty(adminApiTenantId) ? tenant().tenantId : adminApiTenantId
    connectorAppClientId: connectorAppClientId
    adminConsoleClientId: adminConsoleClientId
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
}

var baseUrl = functionApp.outputs.publicBaseUrl

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URL string = keyVault.outputs.uri
output PUBLIC_BASE_URL string = baseUrl
output ADMIN_API_URL string = '${baseUrl}/${routePrefix}/admin'
// The admin console (a single-page app served by the admin-console function under the route
// prefix) signs in at this address: register it as a SPA redirect URI (docs/deployment.md).
output ADMIN_CONSOLE_URL string = '${baseUrl}/${routePrefix}/admin/'
output OPENAPI_URL string = '${baseUrl}/${routePrefix}/openapi.json'
output HEALTH_URL string = '${baseUrl}/${routePrefix}/health'
output CONSENT_CALLBACK_URL string = '${baseUrl}/${routePrefix}/${redirectRoutes.adminConsentCallback}'
output INVITATION_CALLBACK_URL string = '${baseUrl}/${routePrefix}/${redirectRoutes.userSignInCallback}'
output CONNECTOR_APP_CLIENT_ID string = connectorAppClientId
