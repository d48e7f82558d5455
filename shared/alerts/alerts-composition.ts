/** Wires the alert run from the consent (mail path, contacts) and delivery (signing keys, targets) services. */
import { appConfig } from '../config';
import { consentDependencies } from '../consent/consent-composition';
import { deliveryServices } from '../delivery/delivery-composition';
import { failure } from '../delivery/delivery-outcome';
import type { DeliveryOutcome } from '../delivery/delivery-outcome';
import { sendEventToQueueTarget } from '../delivery/queue-target-sender';
import { postWebhook } from '../delivery/webhook-sender';
import type { Logger } from '../logging';
import { AlertNoticesRepository } from '../storage/alert-notices-repository';
import { secretNames } from '../secrets/secret-names';
import { TableStorage } from '../storage';
import type { GroupRecord } from '../storage';
import type { AlertDependencies, AlertEvent } from './alerts';

let overrides: Partial<AlertDependencies> = {};

/** Tests move the clock (or replace a channel) for the timer running in the local host. */
export function useAlertsOverrides(next: Partial<AlertDependencies>): void {
  overrides = next;
}

export function alertDependencies(log: Logger): AlertDependencies {
  const config = appConfig();
  const consent = consentDependencies();
  const delivery = deliveryServices();
  const storage = new TableStorage({ storage: config.storage, credential: delivery.credential });
  const sendEvent = async (group: GroupRecord, event: AlertEvent): Promise<DeliveryOutcome> => {
    const target = group.delivery;
    if (!target) return failure('NoTarget', 'The group has no delivery target.');
    if (target.kind === 'queue') return sendEventToQueueTarget(target, event, { environment: config.environment, credential: delivery.credential });
    const secret = await delivery.signingKeys.current(group.tenantId, group.id);
    if (!secret) return failure('SigningKeyMissing', 'The group has no webhook signing key.');
    // Signed exactly like change batches, so the receiver's one verification covers both.
    return postWebhook(
      { url: target.url, body: JSON.stringify(event), batchId: event.eventId, idempotencyKey: event.eventId, secret },
      { environment: config.environment, timeoutInMs: config.delivery.webhookTimeoutInMs },
    );
  };
  return {
    tenants: consent.tenants,
    groups: consent.groups,
    mailboxes: consent.mailboxes,
    consents: consent.consents,
    audit: consent.audit,
    notices: new AlertNoticesRepository(storage),
    mailer: consent.mailer,
    sendEvent,
    connectorSecretExpiry: async () => (await consent.vault.getSecretEntry(secretNames.connectorAppClientSecret())).reference.expiresOn,
    persistentFailureAfterInMs: config.operations.persistentFailureAfterInMinutes * 60_000,
    now: () => new Date(),
    log,
    ...overrides,
  };
}
