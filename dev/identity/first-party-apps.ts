import type { AppRegistrationSeed } from './model';

/** Microsoft's tenant, home of the first-party APIs. */
export const MICROSOFT_SERVICES_TENANT_ID = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a';

/** Microsoft Graph application permissions (app roles) for mailbox data. */
export const GRAPH_MAILBOX_APPLICATION_PERMISSIONS = [
  'Mail.Read',
  'Mail.ReadBasic.All',
  'Mail.ReadWrite',
  'Mail.Send',
  'Calendars.Read',
  'Calendars.ReadWrite',
  'Contacts.Read',
  'Contacts.ReadWrite',
  'Tasks.Read.All',
  'Tasks.ReadWrite.All',
  'User.Read.All',
  'User.ReadBasic.All',
] as const;

/** Microsoft Graph delegated permissions (scopes) for mailbox data; `.Shared` reaches mailboxes shared with the user. */
export const GRAPH_MAILBOX_DELEGATED_PERMISSIONS = [
  'Mail.Read',
  'Mail.ReadWrite',
  'Mail.Read.Shared',
  'Mail.ReadWrite.Shared',
  'Mail.Send',
  'Mail.Send.Shared',
  'Calendars.Read',
  'Calendars.ReadWrite',
  'Calendars.Read.Shared',
  'Calendars.ReadWrite.Shared',
  'Contacts.Read',
  'Contacts.ReadWrite',
  'Contacts.Read.Shared',
  'Contacts.ReadWrite.Shared',
  'Tasks.Read',
  'Tasks.ReadWrite',
  'Tasks.Read.Shared',
  'Tasks.ReadWrite.Shared',
  'User.ReadBasic.All',
] as const;

/**
 * The Microsoft APIs the product asks tokens for, with their real app ids and identifier
 * URIs. Like in Entra they exist in every tenant, so no seed has to register them.
 */
export const FIRST_PARTY_APIS: readonly AppRegistrationSeed[] = [
  {
    appId: '00000002-0000-0ff1-ce00-000000000000',
    displayName: 'Office 365 Exchange Online',
    homeTenantId: MICROSOFT_SERVICES_TENANT_ID,
    signInAudience: 'AzureADMultipleOrgs',
    identifierUris: ['https://outlook.office365.com', 'https://outlook.office.com', 'https://ps.outlook.com'],
    appRoles: [
      { value: 'full_access_as_app', displayName: 'Use Exchange Web Services with full access to all mailboxes', allowedMemberTypes: ['Application'] },
      { value: 'Exchange.ManageAsApp', displayName: 'Manage Exchange As Application', allowedMemberTypes: ['Application'] },
    ],
    exposedScopes: ['EWS.AccessAsUser.All'],
  },
  {
    appId: 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093',
    displayName: 'Azure Key Vault',
    homeTenantId: MICROSOFT_SERVICES_TENANT_ID,
    signInAudience: 'AzureADMultipleOrgs',
    identifierUris: ['https://vault.azure.net'],
    exposedScopes: ['user_impersonation'],
  },
  {
    appId: 'e406a681-f3d4-42a8-90b6-c2b029497af1',
    displayName: 'Azure Storage',
    homeTenantId: MICROSOFT_SERVICES_TENANT_ID,
    signInAudience: 'AzureADMultipleOrgs',
    identifierUris: ['https://storage.azure.com'],
    exposedScopes: ['user_impersonation'],
  },
  {
    appId: '00000003-0000-0000-c000-000000000000',
    displayName: 'Microsoft Graph',
    homeTenantId: MICROSOFT_SERVICES_TENANT_ID,
    signInAudience: 'AzureADMultipleOrgs',
    identifierUris: ['https://graph.microsoft.com'],
    // The mailbox permissions the connector's Graph back end uses (dev/graph-simulator checks them).
    appRoles: GRAPH_MAILBOX_APPLICATION_PERMISSIONS.map((value) => ({ value, displayName: value, allowedMemberTypes: ['Application' as const] })),
    exposedScopes: ['User.Read', 'openid', 'profile', 'email', 'offline_access', ...GRAPH_MAILBOX_DELEGATED_PERMISSIONS],
  },
];

export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** Scopes that describe the sign-in itself, not an API; they need no consent in the dev IdP. */
export const OIDC_SCOPES: ReadonlySet<string> = new Set(['openid', 'profile', 'email', 'offline_access']);
