// Operator-side monitoring on Application Insights: a workbook answering the questions operators
// ask (docs/operations.md has the same KQL), and log alert rules for dead letters, poison
// queue messages, the delivery failure rate and credentials about to expire. Alerts email
// `alertEmail` through an action group when one is given; without it they show in the portal.

param applicationInsightsName string
param location string
param tags object = {}
@description('Operator mailbox for Azure Monitor alerts; empty: alerts fire without notifications.')
param alertEmail string = ''
param namePrefix string

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'connector'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actions = empty(alertEmail) ? [] : [ actionGroup.id ]

// Each rule: a KQL query over Application Insights, evaluated every 15 minutes.
var rules = [
  {
    name: 'dead-letters'
    description: 'Change batches were dead-lettered after the last delivery attempt (replay them from /api/admin/tenants/{t}/dead-letters).'
    severity: 1
    window: 'PT15M'
    query: 'customMetrics | where name == "connector.delivery.dead_letters" | summarize deadLetters = sum(valueSum) by tenant = tostring(customDimensions["connector.tenant.id"]), group = tostring(customDimensions["connector.group.id"]) | where deadLetters > 0'
  }
  {
    name: 'poison-queue-messages'
    description: 'A queue message failed maxDequeueCount times and was moved to a -poison queue (sync-jobs-poison, deliveries-poison, outbound-mail-poison).'
    severity: 1
    window: 'PT15M'
    query: 'traces | where message has "-poison" and (message has "MaxDequeueCount" or message has "moved to") | summarize messages = count() by queue = extract(@"([a-z0-9-]+-poison)", 1, message)'
  }
  {
    name: 'delivery-failure-rate'
    description: 'More than 20% of delivery attempts failed in the last 30 minutes (receiver down, signing key missing, target refused).'
    severity: 2
    window: 'PT30M'
    query: 'customMetrics | where name in ("connector.delivery.attempts", "connector.delivery.failures") | summarize attempts = sumif(valueSum, name == "connector.delivery.attempts"), failures = sumif(valueSum, name == "connector.delivery.failures") by tenant = tostring(customDimensions["connector.tenant.id"]) | where attempts >= 10 and failures > 0.2 * attempts'
  }
  {
    name: 'credentials-expiring'
    description: 'A group credential or the connector app secret expires within 7 days (customers are emailed too; docs/operations.md).'
    severity: 2
    window: 'PT1H'
    query: 'customMetrics | where name == "connector.credential.days_to_expiry" | summarize daysLeft = min(valueMin) by tenant = tostring(customDimensions["connector.tenant.id"]), group = tostring(customDimensions["connector.group.id"]), kind = tostring(customDimensions["connector.credential.kind"]) | where daysLeft <= 7'
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for rule in rules: {
  name: 'alert-${namePrefix}-${rule.name}'
  location: location
  tags: tags
  properties: {
    displayName: 'Exchange Connector: ${rule.name}'
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      applicationInsights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: rule.window
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actions
    }
  }
}]

// The workbook: one tile per operator question, the same queries as docs/operations.md.
var workbookContent = {
  version: 'Notebook/1.0'
  items: [
    {
      type: 1
      content: { json: '## Exchange Connector\nThroughput, lag, failures and expiring credentials. Queries: docs/operations.md.' }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        title: 'Which tenants are failing (delivery failures and failed syncs, last 24 h)'
        query: 'customMetrics | where timestamp > ago(24h) and name in ("connector.delivery.failures", "connector.connection_test.failures") | summarize failures = sum(valueSum) by tenant = tostring(customDimensions["connector.tenant.id"]), code = tostring(customDimensions["error.type"]) | order by failures desc'
        queryType: 0
        resourceType: 'microsoft.insights/components'
        visualization: 'table'
      }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        title: 'How far behind sync is (lag p95 per group, seconds)'
        query: 'customMetrics | where timestamp > ago(24h) and name == "connector.sync.lag" | summarize lagAvgSeconds = sum(valueSum) / sum(valueCount), lagMaxSeconds = max(valueMax) by group = tostring(customDimensions["connector.group.id"]), bin(timestamp, 1h) | render timechart'
        queryType: 0
        resourceType: 'microsoft.insights/components'
        visualization: 'timechart'
      }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        title: 'What is throttled (events and back-off seconds per tenant)'
        query: 'customMetrics | where timestamp > ago(24h) and name in ("connector.sync.throttled", "connector.sync.backoff") | summarize value = sum(valueSum) by tenant = tostring(customDimensions["connector.tenant.id"]), name | evaluate pivot(name, sum(value))'
        queryType: 0
        resourceType: 'microsoft.insights/components'
        visualization: 'table'
      }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        title: 'What expires this month'
        query: 'customMetrics | where timestamp > ago(2h) and name == "connector.credential.days_to_expiry" | summarize daysLeft = min(valueMin) by tenant = tostring(customDimensions["connector.tenant.id"]), group = tostring(customDimensions["connector.group.id"]), kind = tostring(customDimensions["connector.credential.kind"]) | where daysLeft <= 31 | order by daysLeft asc'
        queryType: 0
        resourceType: 'microsoft.insights/components'
        visualization: 'table'
      }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        title: 'Throughput (items synced and batches delivered per hour)'
        query: 'customMetrics | where timestamp > ago(24h) and name in ("connector.sync.items", "connector.delivery.attempts") | summarize value = sum(valueSum) by name, bin(timestamp, 1h) | render timechart'
        queryType: 0
        resourceType: 'microsoft.insights/components'
        visualization: 'timechart'
      }
    }
  ]
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsights.id, 'exchange-connector-operations')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Exchange Connector operations'
    category: 'workbook'
    sourceId: applicationInsights.id
    serializedData: string(workbookContent)
  }
}

output workbookId string = workbook.id
