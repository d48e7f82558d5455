import type { IdentityControl } from './control';
import { DirectoryError } from './directory';
import type { AppRegistrationSeed, IdentitySeed } from './model';

/** The local stack's identities; the README and `npm start` print these. Development values only. */
export const DEMO_IDENTITY = {
  operatorTenantId: '00000000-0000-4000-8000-000000000001',
  operatorDomain: 'operator.example.com',
  appIdentity: { clientId: 'c0ffee00-0000-4000-8000-00000000a99a', clientSecret: 'local-dev-app-secret' },
  /**
   * The admin API app as docs/deployment.md registers it: identifier URI api://exchange-connector
   * (clients ask for api://exchange-connector/.default) and requestedAccessTokenVersion 2, so its
   * tokens are v2.0 with `aud` = the app's client id — the value ADMIN_API_AUDIENCE must hold.
   */
  adminApi: { appId: 'c0ffee00-0000-4000-8000-00000000ad01', identifierUri: 'api://exchange-connector', audience: 'c0ffee00-0000-4000-8000-00000000ad01' },
  connectorApp: { clientId: 'c0ffee00-0000-4000-8000-00000000c0de', clientSecret: 'local-dev-connector-secret' },
  /** The admin web console: a single-page application (public client, no secret). */
  adminConsole: { clientId: 'c0ffee00-0000-4000-8000-00000000c051', scope: 'api://exchange-connector/user_impersonation' },
  contosoTenantId: '00000000-0000-4000-8000-0000000000d1',
  users: {
    operatorAdmin: { upn: 'admin@operator.example.com', password: 'Operator-Admin-Pass1', objectId: '0a000000-0000-4000-8000-0000000000a1' },
    operatorTenantAdmin: { upn: 'tenant-admin@operator.example.com', password: 'Operator-TenantAdmin-Pass1', objectId: '0a000000-0000-4000-8000-0000000000a2' },
    contosoAdmin: { upn: 'admin@contoso.com', password: 'Contoso-Admin-Pass1', objectId: 'd1000000-0000-4000-8000-0000000000a1' },
    alice: { upn: 'alice@contoso.com', password: 'Alice-Pass1', objectId: 'd1000000-0000-4000-8000-000000000a11' },
    bob: { upn: 'bob@contoso.com', password: 'Bob-Pass1', objectId: 'd1000000-0000-4000-8000-000000000b0b' },
    carol: { upn: 'carol@contoso.com', password: 'Carol-Pass1', objectId: 'd1000000-0000-4000-8000-000000000ca1' },
  },
} as const;

export interface DemoSeedOptions {
  /** Origins the connector app may redirect to (default http://localhost:7071 and http://127.0.0.1:7071). */
  readonly connectorOrigins?: readonly string[];
  /** Pre-grant Contoso's admin consent to the connector app (default false: onboarding shows the consent flow). */
  readonly contosoAdminConsent?: boolean;
}

/** The console's SPA registration: redirects back to /api/admin/ on the given origins; signs in operator-tenant users to the admin API. */
export function adminConsoleApp(origins: readonly string[]): AppRegistrationSeed {
  return {
    appId: DEMO_IDENTITY.adminConsole.clientId,
    displayName: 'Exchange Connector admin console',
    homeTenantId: DEMO_IDENTITY.operatorTenantId,
    spaRedirectUris: origins.map((origin) => `${origin}/api/admin/`),
    requiredResourceAccess: [{ resource: DEMO_IDENTITY.adminApi.audience, delegatedPermissions: ['user_impersonation'] }],
  };
}

/**
 * State persisted by an older `npm start` lacks the console's registration: add it (and the
 * operator tenant's consent to it) when missing, so signing in to the console works without a reset.
 */
export function ensureAdminConsoleRegistration(control: IdentityControl, origins: readonly string[]): void {
  try {
    control.addApp(adminConsoleApp(origins));
  } catch (error) {
    if (!(error instanceof DirectoryError)) throw error;
    for (const uri of adminConsoleApp(origins).spaRedirectUris ?? []) control.addSpaRedirectUri(DEMO_IDENTITY.adminConsole.clientId, uri);
  }
  control.grantAdminConsent(DEMO_IDENTITY.operatorTenantId, DEMO_IDENTITY.adminConsole.clientId);
}

/**
 * Tenants, apps and users of the local stack: the operator tenant with the app's own
 * service principal, the admin API app (roles Connector.Admin / Connector.TenantAdmin) and
 * its admins; the multi-tenant connector app; and the Contoso customer tenant.
 */
export function demoIdentitySeed(options: DemoSeedOptions = {}): IdentitySeed {
  const d = DEMO_IDENTITY;
  const origins = options.connectorOrigins ?? ['http://localhost:7071', 'http://127.0.0.1:7071'];
  return {
    tenants: [
      { id: d.operatorTenantId, displayName: 'Exchange Connector Operator', domains: [d.operatorDomain] },
      { id: d.contosoTenantId, displayName: 'Contoso', domains: ['contoso.com', 'contoso.onmicrosoft.com'] },
    ],
    apps: [
      {
        appId: d.appIdentity.clientId,
        displayName: 'Exchange Connector (app identity, local stand-in for the managed identity)',
        homeTenantId: d.operatorTenantId,
        secrets: [{ value: d.appIdentity.clientSecret, displayName: 'local development' }],
      },
      {
        appId: d.adminApi.appId,
        displayName: 'Exchange Connector Admin API',
        homeTenantId: d.operatorTenantId,
        identifierUris: [d.adminApi.identifierUri],
        requestedAccessTokenVersion: 2,
        exposedScopes: ['user_impersonation'],
        appRoles: [
          { value: 'Connector.Admin', displayName: 'Administer every connector tenant', allowedMemberTypes: ['User', 'Application'] },
          { value: 'Connector.TenantAdmin', displayName: 'Administer assigned connector tenants', allowedMemberTypes: ['User', 'Application'] },
        ],
      },
      {
        appId: d.connectorApp.clientId,
        displayName: 'Exchange Connector',
        homeTenantId: d.operatorTenantId,
        signInAudience: 'AzureADMultipleOrgs',
        secrets: [{ value: d.connectorApp.clientSecret, displayName: 'local development' }],
        redirectUris: origins.flatMap((origin) => [`${origin}/api/consent/admin/callback`, `${origin}/api/consent/signin/callback`]),
        requiredResourceAccess: [
          { resource: 'https://outlook.office365.com', applicationPermissions: ['full_access_as_app'], delegatedPermissions: ['EWS.AccessAsUser.All'] },
          // Graph back end (Exchange Online after EWS): app-only mailbox permissions, and delegated ones for signed-in users.
          {
            resource: 'https://graph.microsoft.com',
            applicationPermissions: ['Mail.ReadWrite', 'Mail.Send', 'Calendars.ReadWrite', 'Contacts.ReadWrite', 'Tasks.ReadWrite.All'],
            delegatedPermissions: ['User.Read', 'Mail.ReadWrite', 'Mail.ReadWrite.Shared', 'Mail.Send', 'Calendars.ReadWrite', 'Calendars.ReadWrite.Shared', 'Contacts.ReadWrite', 'Contacts.ReadWrite.Shared', 'Tasks.ReadWrite', 'Tasks.ReadWrite.Shared', 'User.ReadBasic.All'],
          },
        ],
      },
      adminConsoleApp(origins),
    ],
    users: [
      {
        objectId: d.users.operatorAdmin.objectId,
        tenantId: d.operatorTenantId,
        userPrincipalName: d.users.operatorAdmin.upn,
        password: d.users.operatorAdmin.password,
        displayName: 'Operator Admin',
        isTenantAdmin: true,
        appRoleAssignments: [{ resource: d.adminApi.identifierUri, roles: ['Connector.Admin'] }],
      },
      {
        objectId: d.users.operatorTenantAdmin.objectId,
        tenantId: d.operatorTenantId,
        userPrincipalName: d.users.operatorTenantAdmin.upn,
        password: d.users.operatorTenantAdmin.password,
        displayName: 'Operator Tenant Admin',
        appRoleAssignments: [{ resource: d.adminApi.identifierUri, roles: ['Connector.TenantAdmin'] }],
      },
      { objectId: d.users.contosoAdmin.objectId, tenantId: d.contosoTenantId, userPrincipalName: d.users.contosoAdmin.upn, password: d.users.contosoAdmin.password, displayName: 'Contoso Admin', isTenantAdmin: true },
      { objectId: d.users.alice.objectId, tenantId: d.contosoTenantId, userPrincipalName: d.users.alice.upn, password: d.users.alice.password, displayName: 'Alice Anders' },
      { objectId: d.users.bob.objectId, tenantId: d.contosoTenantId, userPrincipalName: d.users.bob.upn, password: d.users.bob.password, displayName: 'Bob Berg' },
      { objectId: d.users.carol.objectId, tenantId: d.contosoTenantId, userPrincipalName: d.users.carol.upn, password: d.users.carol.password, displayName: 'Carol Chen' },
    ],
    consents: [
      { kind: 'admin', tenantId: d.operatorTenantId, clientAppId: d.connectorApp.clientId },
      { kind: 'admin', tenantId: d.operatorTenantId, clientAppId: d.adminConsole.clientId },
      ...(options.contosoAdminConsent ? [{ kind: 'admin' as const, tenantId: d.contosoTenantId, clientAppId: d.connectorApp.clientId }] : []),
    ],
  };
}
