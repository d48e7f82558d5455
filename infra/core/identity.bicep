// The app's own identity. One user-assigned identity serves the Functions host (storage,
// deployment package, telemetry) and the app code (tables, queues, Key Vault), so a
// redeploy or a re-created Function App keeps every role assignment.

@description('Name of the user-assigned managed identity.')
param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
