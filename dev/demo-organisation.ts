/**
 * The demo organisation `npm start` shows: Contoso as a tenant of the connector, with an
 * on-premises style group (service account with impersonation, NTLM) over the simulator's
 * Contoso mailboxes. It is created through the admin API, as an administrator would, and
 * only once: a restart finds it and leaves it as it is.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_MAILBOXES, DEMO_SERVICE_ACCOUNT } from './ews-simulator/seed/demo';
import type { LocalStack } from './local-stack';

export const DEMO_GROUP_EXTERNAL_ID = 'contoso-onprem';
export const DEMO_DELEGATED_GROUP_EXTERNAL_ID = 'contoso-field';
/** The delegated demo user: invited, signs in, gets synced (docs/consent.md walks through it). */
export const DEMO_DELEGATED_MAILBOX = 'alice@contoso.com';

export interface DemoOrganisation {
  readonly tenantId: string;
  readonly groupId: string;
  /** The delegated group: Alice signs in herself (no service account). */
  readonly delegatedGroupId: string;
  readonly mailboxes: readonly string[];
  readonly connectionTest: { readonly outcome: string; readonly steps: readonly { name: string; status: string; message: string }[] } | undefined;
}

export interface SeedDemoOptions {
  readonly log?: (line: string) => void;
}

class AdminApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} /admin${path} answered ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

interface Listed<T> {
  readonly items: readonly T[];
}

/**
 * The operator binds the demo tenant to Contoso's Entra tenant as a Connector.Admin (an audited
 * action; docs/security.md): the local identity provider already holds Contoso's admin consent.
 * A tenant kept from before bindings had to be proved is re-confirmed the same way.
 */
async function findOrCreateTenant(api: AdminApiClient, entraTenantId: string): Promise<string> {
  const tenants = await api.call<Listed<{ id: string; displayName: string; entraTenantId?: string; entraTenantBoundBy?: string }>>('GET', '/tenants?limit=100');
  const existing = tenants.items.find((t) => t.displayName === 'Contoso');
  if (existing) {
    if (existing.entraTenantId !== entraTenantId || !existing.entraTenantBoundBy) await api.call('PATCH', `/tenants/${existing.id}`, { entraTenantId });
    return existing.id;
  }
  const created = await api.call<{ id: string }>('POST', '/tenants', { displayName: 'Contoso', entraTenantId });
  return created.id;
}

async function findGroup(api: AdminApiClient, tenantId: string, externalId: string): Promise<string | undefined> {
  const groups = await api.call<Listed<{ id: string; externalId: string }>>('GET', `/tenants/${tenantId}/groups?limit=100`);
  return groups.items.find((g) => g.externalId === externalId)?.id;
}

async function findOrCreateGroup(api: AdminApiClient, tenantId: string, ewsUrl: string, webhookUrl: string): Promise<{ id: string; created: boolean }> {
  const existing = await findGroup(api, tenantId, DEMO_GROUP_EXTERNAL_ID);
  if (existing) return { id: existing, created: false };
  const group = await api.call<{ id: string }>('POST', `/tenants/${tenantId}/groups`, {
    name: 'Contoso on-premises Exchange',
    externalId: DEMO_GROUP_EXTERNAL_ID,
    mailboxAccessType: 'impersonation',
    ewsUrl,
    impersonation: { serviceAccount: DEMO_SERVICE_ACCOUNT.userPrincipalName, authScheme: 'ntlm' },
    folders: ['mail', 'calendar', 'contacts', 'tasks'],
    pollIntervalMinutes: 1,
    initialSync: { kind: 'all' },
    delivery: { kind: 'webhook', url: webhookUrl },
  });
  return { id: group.id, created: true };
}

export async function seedDemoOrganisation(stack: LocalStack, options: SeedDemoOptions = {}): Promise<DemoOrganisation> {
  const log = options.log ?? (() => undefined);
  const api = new AdminApiClient(stack.apiBaseUrl, stack.adminToken(600));
  const tenantId = await findOrCreateTenant(api, '00000000-0000-4000-8000-0000000000d1');
  const group = await findOrCreateGroup(api, tenantId, stack.ewsSimulator.url, stack.webhookReceiver.url);
  // Alice signs in herself in the delegated group; the service account serves everyone else.
  const serviceAccountMailboxes = DEMO_MAILBOXES.filter((m) => m.address !== DEMO_DELEGATED_MAILBOX);
  const mailboxes = serviceAccountMailboxes.map((m) => m.address);
  if (group.created) {
    await api.call('PUT', `/tenants/${tenantId}/groups/${group.id}/credentials`, { password: DEMO_SERVICE_ACCOUNT.password });
    await api.call('POST', `/tenants/${tenantId}/groups/${group.id}/mailbox-imports`, {
      mailboxes: serviceAccountMailboxes.map((m) => ({ smtpAddress: m.address, displayName: m.displayName })),
    });
    log(`Demo organisation created: tenant ${tenantId}, group ${group.id} with ${mailboxes.length} mailboxes`);
  } else {
    log(`Demo organisation found: tenant ${tenantId}, group ${group.id}`);
  }
  stack.useSigningSecret(await webhookSigningSecret(api, stack, tenantId, group.id));
  const delegatedGroupId = await findOrCreateDelegatedGroup(api, tenantId, stack.webhookReceiver.url, log);
  stack.useSigningSecret(await webhookSigningSecret(api, stack, tenantId, delegatedGroupId));
  const connectionTest = await api
    .call<DemoOrganisation['connectionTest']>('POST', `/tenants/${tenantId}/groups/${group.id}/connection-tests`, { targetMailbox: mailboxes[0] })
    .catch((error: unknown) => {
      log(`Connection test could not run: ${(error as Error).message}`);
      return undefined;
    });
  return { tenantId, groupId: group.id, delegatedGroupId, mailboxes, connectionTest };
}

/**
 * A delegated group whose only mailbox is Alice's, waiting for her to sign in. Invitation and
 * re-authentication emails go out from the dispatch mailbox (the local identity provider has
 * Contoso's admin consent for the connector app, which app-only sending needs).
 */
async function findOrCreateDelegatedGroup(api: AdminApiClient, tenantId: string, webhookUrl: string, log: (line: string) => void): Promise<string> {
  const existing = await findGroup(api, tenantId, DEMO_DELEGATED_GROUP_EXTERNAL_ID);
  if (existing) return existing;
  // No ewsUrl: users' tokens for the connector app go only to Exchange Online (EWS_DEFAULT_URL, the simulator here).
  const group = await api.call<{ id: string }>('POST', `/tenants/${tenantId}/groups`, {
    name: 'Contoso field staff (each user signs in)',
    externalId: DEMO_DELEGATED_GROUP_EXTERNAL_ID,
    mailboxAccessType: 'delegated',
    folders: ['mail'],
    pollIntervalMinutes: 1,
    initialSync: { kind: 'all' },
    delivery: { kind: 'webhook', url: webhookUrl },
  });
  await api.call('POST', `/tenants/${tenantId}/groups/${group.id}/mailboxes`, { smtpAddress: DEMO_DELEGATED_MAILBOX, displayName: 'Alice Anders' });
  await api.call('PUT', `/tenants/${tenantId}/consent-settings`, { senderMailbox: 'dispatch@contoso.com', emailInvitations: true, emailReauthentication: true });
  log(`Delegated demo group created: ${group.id} (${DEMO_DELEGATED_MAILBOX} waits for an invitation)`);
  return group.id;
}

/**
 * The receiver (the customer's side) must know the signing secret, which the API shows only
 * once, at rotation. Persistent runs keep the receiver's copy in .dev/ so a restart reuses it.
 */
async function webhookSigningSecret(api: AdminApiClient, stack: LocalStack, tenantId: string, groupId: string): Promise<string> {
  const saved = stack.stateDir ? join(stack.stateDir, 'webhook-receiver', `${groupId}.secret`) : undefined;
  if (saved && existsSync(saved)) return readFileSync(saved, 'utf8').trim();
  const rotated = await api.call<{ secret: string }>('POST', `/tenants/${tenantId}/groups/${groupId}/delivery/signing-key`);
  if (saved) {
    mkdirSync(join(saved, '..'), { recursive: true });
    writeFileSync(saved, rotated.secret, { mode: 0o600 });
  }
  return rotated.secret;
}
