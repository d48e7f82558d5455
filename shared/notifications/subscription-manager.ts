/**
 * Keeps each synced folder of each enabled mailbox subscribed, protocol-neutrally: the renewal
 * timer calls reconcileSubscriptions, which for every mailbox compares the folders it should
 * watch with its subscription records and asks the protocol's adapter to create, renew or
 * delete. Lifecycle events (a subscription removed or lost) call reconcileMailbox for one
 * mailbox, then the caller triggers a sync.
 *
 * An adapter (Graph: graph-subscriptions.ts; EWS push: the EWS module) speaks the protocol; this
 * file owns the records, the states and the decisions.
 */
import type { SyncedFolder } from '../delivery/change-batch';
import type { Logger } from '../logging';
import type { GroupsRepository } from '../storage/groups-repository';
import type { MailboxesRepository } from '../storage/mailboxes-repository';
import type { GroupRecord, MailboxRecord } from '../storage/records';
import type { Stored } from '../storage/entity-table';
import type { TenantsRepository } from '../storage/tenants-repository';
import { folderKindsFor, syncedFolders } from '../sync/sync-worker';
import type { DelegatedUserLinks } from '../sync/sync-worker';
import type { NotificationProtocol, NotificationSubscriptionRecord, NotificationSubscriptionsRepository, SubscriptionStatus } from './subscription-records';

export interface SubscriptionTarget {
  readonly group: GroupRecord;
  readonly mailbox: MailboxRecord;
  readonly folder: SyncedFolder;
  /** Origin the server calls back (NOTIFICATIONS_CALLBACK_BASE_URL), without a trailing slash. */
  readonly callbackBaseUrl: string;
}

/** What creating a subscription gave: the record's protocol fields. */
export type SubscribeResult =
  | { readonly kind: 'created'; readonly subscriptionId: string; readonly resource: string; readonly expiresAt?: string; readonly secretHash: string; readonly watermark?: string }
  /** The server or resource offers no notifications: the folder is polled at the normal interval. */
  | { readonly kind: 'unsupported'; readonly resource: string; readonly message: string };

export type RenewResult = { readonly kind: 'renewed'; readonly expiresAt?: string } | { readonly kind: 'gone' };

/** One protocol's subscription calls. Errors thrown are recorded on the record (status failed) and retried next run. */
export interface NotificationProtocolAdapter {
  readonly protocol: NotificationProtocol;
  /** True for the groups this protocol serves (by the group's protocol). */
  serves(group: GroupRecord): boolean;
  subscribe(target: SubscriptionTarget, previous: NotificationSubscriptionRecord | undefined): Promise<SubscribeResult>;
  /** Graph: PATCH a later expirationDateTime. EWS push may resubscribe from the watermark. */
  renew(target: SubscriptionTarget, record: NotificationSubscriptionRecord): Promise<RenewResult>;
  /** Deletes the server's subscription; a subscription the server no longer knows is not an error. */
  unsubscribe(group: GroupRecord | undefined, record: NotificationSubscriptionRecord): Promise<void>;
  /** True when the record must be renewed now (well before expiry, or missed keep-alives). */
  needsRenewal(record: NotificationSubscriptionRecord, now: Date): boolean;
}

export interface SubscriptionManagerDependencies {
  readonly tenants: Pick<TenantsRepository, 'find'>;
  readonly groups: Pick<GroupsRepository, 'find' | 'listAll'>;
  readonly mailboxes: Pick<MailboxesRepository, 'find' | 'list'>;
  readonly subscriptions: NotificationSubscriptionsRepository;
  readonly adapters: readonly NotificationProtocolAdapter[];
  readonly callbackBaseUrl: string;
  readonly delegatedUsers?: DelegatedUserLinks;
  readonly log?: Logger;
  readonly now?: () => Date;
  /** An `unsupported` folder is asked again after this long (default one day): servers get upgraded. */
  readonly unsupportedRetryInMs?: number;
}

export interface ReconcileTotals {
  created: number;
  renewed: number;
  recreated: number;
  deleted: number;
  failed: number;
  unchanged: number;
}

function emptyTotals(): ReconcileTotals {
  return { created: 0, renewed: 0, recreated: 0, deleted: 0, failed: 0, unchanged: 0 };
}

const DEFAULT_UNSUPPORTED_RETRY_IN_MS = 24 * 3600_000;

/** The renewal timer: every mailbox of every group, then records whose mailbox or group is gone. */
export async function reconcileSubscriptions(deps: SubscriptionManagerDependencies): Promise<ReconcileTotals> {
  const totals = emptyTotals();
  const wanted = new Set<string>();
  const activeTenants = new Map<string, boolean>();
  for await (const group of deps.groups.listAll()) {
    if (!activeTenants.has(group.tenantId)) activeTenants.set(group.tenantId, (await deps.tenants.find(group.tenantId))?.status === 'active');
    if (!group.enabled || !activeTenants.get(group.tenantId) || !adapterFor(deps, group)) continue;
    for await (const mailbox of deps.mailboxes.list(group.tenantId, group.id)) {
      if (!mailbox.enabled || mailbox.status === 'needsReauthentication') continue;
      try {
        const folders = await reconcileMailboxOf(deps, group, mailbox, totals);
        for (const folder of folders) wanted.add(recordId(group.tenantId, group.id, mailbox.smtpAddress, folder));
      } catch (error) {
        // One mailbox's trouble must not stop the others; its records say what failed.
        totals.failed++;
        deps.log?.warn('Could not reconcile the subscriptions of a mailbox', { tenantId: group.tenantId, groupId: group.id, mailbox: mailbox.smtpAddress, detail: describe(error) });
      }
    }
  }
  // Cleanup: a mailbox or group removed or disabled, a folder no longer synced, a protocol switched.
  for await (const record of deps.subscriptions.listAll()) {
    if (wanted.has(recordId(record.tenantId, record.groupId, record.mailbox, record.folder))) continue;
    await removeSubscription(deps, record);
    totals.deleted++;
  }
  if (totals.created + totals.renewed + totals.recreated + totals.deleted + totals.failed > 0) deps.log?.info('Change-notification subscriptions reconciled', { ...totals });
  return totals;
}

/** One mailbox (a lifecycle event, or after an admin change). Returns the folders it watches. */
export async function reconcileMailbox(deps: SubscriptionManagerDependencies, ref: { readonly tenantId: string; readonly groupId: string; readonly mailbox: string }, options: ReconcileOptions = {}): Promise<ReconcileTotals> {
  const totals = emptyTotals();
  const tenant = await deps.tenants.find(ref.tenantId);
  const group = await deps.groups.find(ref.tenantId, ref.groupId);
  const mailbox = await deps.mailboxes.find(ref.tenantId, ref.groupId, ref.mailbox);
  if (!tenant || tenant.status !== 'active' || !group || !group.enabled || !mailbox || !mailbox.enabled) {
    for (const record of await deps.subscriptions.listMailbox(ref.tenantId, ref.groupId, ref.mailbox)) {
      await removeSubscription(deps, record);
      totals.deleted++;
    }
    return totals;
  }
  await reconcileMailboxOf(deps, group, mailbox, totals, options);
  return totals;
}

export interface ReconcileOptions {
  /** Create new subscriptions even where records say active (the server removed them). */
  readonly recreate?: boolean;
  /** Renew active subscriptions now, whatever their expiry (a reauthorizationRequired challenge). */
  readonly renewNow?: boolean;
  /** recreate / renewNow apply to this folder only (the one the event was about). */
  readonly folder?: SyncedFolder;
}

/** Deletes a mailbox's subscriptions (server and records): mailbox or group removed or disabled. */
export async function removeMailboxSubscriptions(deps: Pick<SubscriptionManagerDependencies, 'subscriptions' | 'adapters' | 'groups' | 'log'>, ref: { readonly tenantId: string; readonly groupId: string; readonly mailbox: string }): Promise<number> {
  const records = await deps.subscriptions.listMailbox(ref.tenantId, ref.groupId, ref.mailbox);
  for (const record of records) await removeSubscription(deps, record);
  return records.length;
}

async function reconcileMailboxOf(deps: SubscriptionManagerDependencies, group: GroupRecord, mailbox: MailboxRecord, totals: ReconcileTotals, options: ReconcileOptions = {}): Promise<SyncedFolder[]> {
  const adapter = adapterFor(deps, group);
  const now = (deps.now ?? (() => new Date()))();
  const existing = new Map((await deps.subscriptions.listMailbox(group.tenantId, group.id, mailbox.smtpAddress)).map((r) => [r.folder, r] as const));
  if (!adapter) return [];
  const folders = syncedFolders(await folderKindsFor(group, mailbox.smtpAddress, deps.delegatedUsers));
  for (const folder of folders) {
    const target: SubscriptionTarget = { group, mailbox, folder, callbackBaseUrl: deps.callbackBaseUrl };
    const record = existing.get(folder);
    // A record of the other protocol (the group switched) is replaced: its server subscription goes first.
    if (record && record.protocol !== adapter.protocol) {
      await removeSubscription(deps, record);
      existing.delete(folder);
    }
    const current = existing.get(folder);
    try {
      const outcome = await reconcileFolder(deps, adapter, target, current, now, options.folder === undefined || options.folder === folder ? options : {});
      totals[outcome]++;
    } catch (error) {
      totals.failed++;
      await markFailed(deps, adapter.protocol, target, current, error, now);
    }
  }
  return folders;
}

type FolderOutcome = 'created' | 'renewed' | 'recreated' | 'unchanged';

async function reconcileFolder(deps: SubscriptionManagerDependencies, adapter: NotificationProtocolAdapter, target: SubscriptionTarget, record: Stored<NotificationSubscriptionRecord> | undefined, now: Date, options: ReconcileOptions): Promise<FolderOutcome> {
  const forceRecreate = options.recreate ?? false;
  const unsupportedRetry = deps.unsupportedRetryInMs ?? DEFAULT_UNSUPPORTED_RETRY_IN_MS;
  if (record?.status === 'unsupported' && !forceRecreate && now.getTime() - Date.parse(record.updatedAt) < unsupportedRetry) return 'unchanged';
  const expired = record?.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime();
  if (record && record.subscriptionId && record.status !== 'failed' && !expired && !forceRecreate) {
    if (!options.renewNow && !adapter.needsRenewal(record, now)) return 'unchanged';
    const renewing = await deps.subscriptions.save({ ...record, status: 'renewing', updatedAt: now.toISOString() }, record.etag);
    const renewed = await adapter.renew(target, renewing);
    if (renewed.kind === 'renewed') {
      await deps.subscriptions.save({ ...withoutError(renewing), status: 'active', ...(renewed.expiresAt ? { expiresAt: renewed.expiresAt } : {}), updatedAt: now.toISOString() }, renewing.etag);
      return 'renewed';
    }
    // The server no longer knows it: create a new one below.
    await createFolderSubscription(deps, adapter, target, renewing, now);
    return 'recreated';
  }
  if (record?.subscriptionId) await adapter.unsubscribe(target.group, record).catch(() => undefined);
  await createFolderSubscription(deps, adapter, target, record, now);
  return record ? 'recreated' : 'created';
}

async function createFolderSubscription(deps: SubscriptionManagerDependencies, adapter: NotificationProtocolAdapter, target: SubscriptionTarget, previous: Stored<NotificationSubscriptionRecord> | undefined, now: Date): Promise<void> {
  const result = await adapter.subscribe(target, previous);
  const base = {
    protocol: adapter.protocol,
    tenantId: target.group.tenantId,
    groupId: target.group.id,
    mailbox: target.mailbox.smtpAddress,
    folder: target.folder,
    createdAt: previous?.createdAt ?? now.toISOString(),
    updatedAt: now.toISOString(),
    ...(previous?.lastNotificationAt ? { lastNotificationAt: previous.lastNotificationAt } : {}),
  };
  if (previous?.subscriptionId && previous.subscriptionId !== (result.kind === 'created' ? result.subscriptionId : undefined)) await deps.subscriptions.forgetSubscriptionId(previous.protocol, previous.subscriptionId);
  const status: SubscriptionStatus = result.kind === 'created' ? 'active' : 'unsupported';
  const next: NotificationSubscriptionRecord =
    result.kind === 'created'
      ? { ...base, resource: result.resource, status, subscriptionId: result.subscriptionId, secretHash: result.secretHash, ...(result.expiresAt ? { expiresAt: result.expiresAt } : {}), ...((result.watermark ?? previous?.watermark) ? { watermark: (result.watermark ?? previous?.watermark)! } : {}) }
      : { ...base, resource: result.resource, status, lastError: { code: 'NotificationsUnsupported', message: result.message, at: now.toISOString() } };
  // Unconditional: the creation already happened at the server; this record must say so.
  await deps.subscriptions.save(next);
}

async function markFailed(deps: SubscriptionManagerDependencies, protocol: NotificationProtocol, target: SubscriptionTarget, record: NotificationSubscriptionRecord | undefined, error: unknown, now: Date): Promise<void> {
  const code = (error as { code?: unknown } | null)?.code;
  deps.log?.warn('Change-notification subscription failed; the mailbox is polled at its normal interval', { tenantId: target.group.tenantId, groupId: target.group.id, mailbox: target.mailbox.smtpAddress, folder: target.folder, errorCode: typeof code === 'string' ? code : 'Unknown', detail: describe(error) });
  const base: NotificationSubscriptionRecord = record ?? { protocol, tenantId: target.group.tenantId, groupId: target.group.id, mailbox: target.mailbox.smtpAddress, folder: target.folder, resource: '', status: 'failed', createdAt: now.toISOString(), updatedAt: now.toISOString() };
  await deps.subscriptions
    .save({ ...base, status: 'failed', lastError: { code: typeof code === 'string' ? code : 'SubscriptionFailed', message: describe(error).slice(0, 500), at: now.toISOString() }, updatedAt: now.toISOString() })
    .catch(() => undefined);
}

async function removeSubscription(deps: Pick<SubscriptionManagerDependencies, 'subscriptions' | 'adapters' | 'groups' | 'log'>, record: NotificationSubscriptionRecord): Promise<void> {
  const adapter = deps.adapters.find((a) => a.protocol === record.protocol);
  if (adapter && record.subscriptionId) {
    const group = await deps.groups.find(record.tenantId, record.groupId);
    // Without the group (deleted) there are no credentials: the server's subscription lapses at its expiry, and its notifications are refused meanwhile.
    await adapter.unsubscribe(group, record).catch((error: unknown) => deps.log?.debug('Could not delete a subscription at the server', { detail: describe(error) }));
  }
  await deps.subscriptions.delete(record);
}

function adapterFor(deps: Pick<SubscriptionManagerDependencies, 'adapters'>, group: GroupRecord): NotificationProtocolAdapter | undefined {
  return deps.adapters.find((adapter) => adapter.serves(group));
}

function withoutError(record: Stored<NotificationSubscriptionRecord>): NotificationSubscriptionRecord {
  const { etag: _etag, lastError: _lastError, ...rest } = record;
  void _etag;
  void _lastError;
  return rest;
}

function recordId(tenantId: string, groupId: string, mailbox: string, folder: string): string {
  return JSON.stringify([tenantId, groupId, mailbox.toLowerCase(), folder]);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Notifications switched off (NOTIFICATIONS_ENABLED=false): every subscription goes, at the server and here. */
export async function removeAllSubscriptions(deps: Pick<SubscriptionManagerDependencies, 'subscriptions' | 'adapters' | 'groups' | 'log'>): Promise<number> {
  let removed = 0;
  for await (const record of deps.subscriptions.listAll()) {
    await removeSubscription(deps, record);
    removed++;
  }
  return removed;
}
