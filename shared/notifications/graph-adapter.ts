/**
 * Microsoft Graph change notifications: the NotificationProtocolAdapter for groups on Graph.
 * One subscription per synced folder and mailbox:
 *   mail      users/{mailbox}/mailFolders('inbox')/messages
 *   calendar  users/{mailbox}/events
 *   contacts  users/{mailbox}/contacts
 *   tasks     users/{mailbox}/todo/lists/{default list id}/tasks
 * each with changeType created,updated,deleted, a notificationUrl and a lifecycleNotificationUrl
 * on the anonymous callback functions, a fresh random clientState (only its hash is kept), and
 * the longest lifetime the resource allows (Outlook resources: under 7 days, 10,080 minutes; To Do
 * tasks: under 3 days, 4,230 minutes; learn.microsoft.com/graph/api/resources/subscription).
 * Subscriptions are renewed (PATCH expirationDateTime) once less than half their lifetime is left.
 */
import type * as Graph from '@microsoft/microsoft-graph-types';
import type { SyncedFolder } from '../delivery/change-batch';
import { GraphServiceError } from '../graph/errors';
import type { GraphMailbox } from '../graph/graph-client';
import { groupProtocol } from '../storage/records';
import type { GroupRecord, MailboxRecord } from '../storage/records';
import { newSubscriptionSecret } from './client-state';
import type { NotificationProtocolAdapter, RenewResult, SubscribeResult, SubscriptionTarget } from './subscription-manager';
import type { NotificationSubscriptionRecord } from './subscription-records';

export const GRAPH_NOTIFICATION_ROUTE = 'notifications/graph';
export const GRAPH_LIFECYCLE_ROUTE = 'notifications/graph/lifecycle';

/** Graph's maxima, a few minutes short so clock skew between us and Graph never makes a request too long. */
const LIFETIME_IN_MINUTES: Readonly<Record<SyncedFolder, number>> = { inbox: 10_080 - 10, calendar: 10_080 - 10, contacts: 10_080 - 10, tasks: 4_230 - 10 };

export function graphSubscriptionLifetimeInMs(folder: SyncedFolder): number {
  return LIFETIME_IN_MINUTES[folder] * 60_000;
}

export interface GraphAdapterOptions {
  /** Opens a Graph client for the mailbox with the group's credentials (mailbox-access.ts). */
  openClient(group: GroupRecord, mailbox: Pick<MailboxRecord, 'smtpAddress' | 'userId'>): Promise<GraphMailbox>;
  readonly now?: () => Date;
}

function isGone(error: unknown): boolean {
  return error instanceof GraphServiceError && (error.statusCode === 404 || error.code === 'ResourceNotFound' || error.code === 'ItemNotFound');
}

async function resourceOf(client: GraphMailbox, folder: SyncedFolder): Promise<string> {
  const user = client.userPath.replace(/^\//, '');
  switch (folder) {
    case 'inbox':
      return `${user}/mailFolders('inbox')/messages`;
    case 'calendar':
      return `${user}/events`;
    case 'contacts':
      return `${user}/contacts`;
    case 'tasks': {
      for await (const page of client.pages<Graph.TodoTaskList>(`${client.userPath}/todo/lists`)) {
        const list = page.value.find((l) => l.wellknownListName === 'defaultList');
        if (list?.id) return `${user}/todo/lists/${encodeURIComponent(list.id)}/tasks`;
      }
      throw new GraphServiceError('notFound', 'FolderNotFound', 'The mailbox has no default To Do list.');
    }
  }
}

export function createGraphNotificationAdapter(options: GraphAdapterOptions): NotificationProtocolAdapter {
  const now = options.now ?? (() => new Date());
  const expiry = (folder: SyncedFolder) => new Date(now().getTime() + graphSubscriptionLifetimeInMs(folder)).toISOString();
  return {
    protocol: 'graph',
    serves: (group) => groupProtocol(group) === 'graph',

    async subscribe(target: SubscriptionTarget): Promise<SubscribeResult> {
      const client = await options.openClient(target.group, target.mailbox);
      const resource = await resourceOf(client, target.folder);
      const secret = newSubscriptionSecret();
      const created = await client.post<Graph.Subscription>('/subscriptions', {
        changeType: 'created,updated,deleted',
        notificationUrl: `${target.callbackBaseUrl}/api/${GRAPH_NOTIFICATION_ROUTE}`,
        lifecycleNotificationUrl: `${target.callbackBaseUrl}/api/${GRAPH_LIFECYCLE_ROUTE}`,
        resource,
        expirationDateTime: expiry(target.folder),
        clientState: secret.value.reveal(),
        latestSupportedTlsVersion: 'v1_2',
      });
      if (!created?.id) throw new GraphServiceError('protocol', 'MalformedResponse', 'Graph created a subscription without an id');
      return { kind: 'created', subscriptionId: created.id, resource, secretHash: secret.hash, ...(created.expirationDateTime ? { expiresAt: new Date(created.expirationDateTime).toISOString() } : {}) };
    },

    async renew(target: SubscriptionTarget, record: NotificationSubscriptionRecord): Promise<RenewResult> {
      const client = await options.openClient(target.group, target.mailbox);
      try {
        // A renewal also answers a reauthorizationRequired challenge (Graph accepts either).
        const renewed = await client.patch<Graph.Subscription>(`/subscriptions/${encodeURIComponent(record.subscriptionId ?? '')}`, { expirationDateTime: expiry(record.folder) });
        return { kind: 'renewed', ...(renewed?.expirationDateTime ? { expiresAt: new Date(renewed.expirationDateTime).toISOString() } : {}) };
      } catch (error) {
        if (isGone(error)) return { kind: 'gone' };
        throw error;
      }
    },

    async unsubscribe(group: GroupRecord | undefined, record: NotificationSubscriptionRecord): Promise<void> {
      if (!group || !record.subscriptionId) return;
      const client = await options.openClient(group, { smtpAddress: record.mailbox });
      try {
        await client.delete(`/subscriptions/${encodeURIComponent(record.subscriptionId)}`);
      } catch (error) {
        if (!isGone(error)) throw error;
      }
    },

    needsRenewal(record: NotificationSubscriptionRecord, at: Date): boolean {
      if (!record.expiresAt) return true;
      return Date.parse(record.expiresAt) - at.getTime() < graphSubscriptionLifetimeInMs(record.folder) / 2;
    },
  };
}
