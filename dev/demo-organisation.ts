/**
 * The demo organisation `npm start` shows: Contoso as a tenant of the connector, with an
 * on-premises style group (service account with impersonation, NTLM) over the simulator's
 * Contoso mailboxes. It is created through the admin API, as an administrator would, and
 * only once: a restart finds it and leaves it as it is.
 *
 * A restart finds it by the tenant ID the API assigned, recorded in .dev/demo-organisation.json
 * (docs/consent.md reads it too). Never by display name: the admin API walkthrough creates a
 * second tenant named "Contoso" with the same Entra tenant, and a lookup by name attached the
 * demo to whichever came first in the listing (duplicate groups, overwritten consent settings,
 * a receiver that knew the wrong signing secret).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEMO_MAILBOXES, DEMO_SERVICE_ACCOUNT } from './ews-simulator/seed/demo';
import { DEMO_ALERT_CONTACT, type LocalStack } from './local-stack';

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
  /** Where the demo tenant's ID is recorded; default `<stateDir>/demo-organisation.json`, in memory when ephemeral. */
  readonly recordPath?: string;
}

/** What .dev/demo-organisation.json holds: the IDs the admin API assigned to the demo. */
export interface DemoOrganisationRecord {
  readonly tenantId: string;
  readonly groupId?: string;
  readonly delegatedGroupId?: string;
}

export const DEMO_RECORD_FILE = 'demo-organisation.json';
const DEMO_TENANT_NAME = 'Contoso';
const DEMO_ENTRA_TENANT_ID = '00000000-0000-4000-8000-0000000000d1';

/** Ephemeral stacks (tests) have no state directory: their record lives as long as the stack. */
const ephemeralRecords = new WeakMap<LocalStack, DemoOrganisationRecord>();

interface DemoRecordStore {
  read(): DemoOrganisationRecord | undefined;
  write(record: DemoOrganisationRecord): void;
}

function demoRecordStore(stack: LocalStack, recordPath: string | undefined): DemoRecordStore {
  const path = recordPath ?? (stack.stateDir ? join(stack.stateDir, DEMO_RECORD_FILE) : undefined);
  if (!path) return { read: () => ephemeralRecords.get(stack), write: (record) => void ephemeralRecords.set(stack, record) };
  return {
    read: () => {
      if (!existsSync(path)) return undefined;
      const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<DemoOrganisationRecord>;
      return typeof parsed.tenantId === 'string' ? (parsed as DemoOrganisationRecord) : undefined;
    },
    write: (record) => {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `${JSON.stringify(record, null, 2)}\n`);
    },
  };
}

class AdminApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const found = await this.find<T>(method, path, body);
    if (found === undefined) throw new Error(`${method} /admin${path} answered 404`);
    return found;
  }

  /** Like `call`, but a 404 answers undefined (a recorded tenant deleted since). */
  async find<T>(method: string, path: string, body?: unknown): Promise<T | undefined> {
    const response = await fetch(`${this.baseUrl}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`${method} /admin${path} answered ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

interface Listed<T> {
  readonly items: readonly T[];
}

/**
 * The recorded tenant if it still exists; otherwise a new one. State made before the record
 * existed is adopted only when exactly one demo-looking tenant (one holding the demo group's
 * externalId) exists, else the demo starts afresh rather than guess. The operator binds the demo
 * tenant to Contoso's Entra tenant as a Connector.Admin (an audited action; docs/security.md): the
 * local identity provider already holds Contoso's admin consent. A tenant kept from before
 * bindings had to be proved is re-confirmed the same way.
 */
async function findOrCreateTenant(api: AdminApiClient, records: DemoRecordStore): Promise<string> {
  const recorded = records.read();
  const existing = recorded ? await api.find<{ id: string; entraTenantId?: string; entraTenantBoundBy?: string }>('GET', `/tenants/${recorded.tenantId}`) : undefined;
  const adopted = existing ? existing.id : recorded ? undefined : await soleUnrecordedDemoTenant(api);
  if (adopted) {
    const tenant = existing ?? (await api.call<{ entraTenantId?: string; entraTenantBoundBy?: string }>('GET', `/tenants/${adopted}`));
    if (tenant.entraTenantId !== DEMO_ENTRA_TENANT_ID || !tenant.entraTenantBoundBy) await api.call('PATCH', `/tenants/${adopted}`, { entraTenantId: DEMO_ENTRA_TENANT_ID });
  }
  const tenantId = adopted ?? (await api.call<{ id: string }>('POST', '/tenants', { displayName: DEMO_TENANT_NAME, entraTenantId: DEMO_ENTRA_TENANT_ID })).id;
  records.write({ tenantId });
  return tenantId;
}

async function soleUnrecordedDemoTenant(api: AdminApiClient): Promise<string | undefined> {
  const tenants = await api.call<Listed<{ id: string; displayName: string }>>('GET', '/tenants?limit=200');
  const candidates: string[] = [];
  for (const tenant of tenants.items.filter((t) => t.displayName === DEMO_TENANT_NAME)) {
    if (await findGroup(api, tenant.id, DEMO_GROUP_EXTERNAL_ID)) candidates.push(tenant.id);
  }
  return candidates.length === 1 ? candidates[0] : undefined;
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
    // Contacts from mail: the receiver shows contactCandidate records for outside senders (docs/delivery.md).
    contactCandidates: { enabled: true, ownDomains: ['contoso.com'], excludePatterns: [] },
  });
  return { id: group.id, created: true };
}

export async function seedDemoOrganisation(stack: LocalStack, options: SeedDemoOptions = {}): Promise<DemoOrganisation> {
  const log = options.log ?? (() => undefined);
  const api = new AdminApiClient(stack.apiBaseUrl, stack.adminToken(600));
  const records = demoRecordStore(stack, options.recordPath);
  const tenantId = await findOrCreateTenant(api, records);
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
  records.write({ tenantId, groupId: group.id, delegatedGroupId });
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
    name: 'Contoso field staff',
    externalId: DEMO_DELEGATED_GROUP_EXTERNAL_ID,
    mailboxAccessType: 'delegated',
    folders: ['mail'],
    pollIntervalMinutes: 1,
    initialSync: { kind: 'all' },
    delivery: { kind: 'webhook', url: webhookUrl },
  });
  await api.call('POST', `/tenants/${tenantId}/groups/${group.id}/mailboxes`, { smtpAddress: DEMO_DELEGATED_MAILBOX, displayName: 'Alice Anders' });
  await api.call('PUT', `/tenants/${tenantId}/consent-settings`, { senderMailbox: 'dispatch@contoso.com', emailInvitations: true, emailReauthentication: true, alertContacts: [DEMO_ALERT_CONTACT] });
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
