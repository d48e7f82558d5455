/**
 * Contacts from mail, per sync page: the page's records become observations, the store counts each
 * message once and answers the candidates' current state, and these become `contactCandidate`
 * records the sync engine hands to the outbox with the page (so they travel the usual signed
 * delivery, with retries and dead letters). Runs only for groups with contactCandidates enabled.
 */
import { createHash } from 'node:crypto';
import { CHANGE_RECORD_SCHEMA_VERSION } from '../delivery/change-batch';
import type { ChangeRecord, ContactCandidateRecord } from '../delivery/change-batch';
import type { AppliedCandidate, ContactCandidateStore } from './contact-candidate-store';
import { ContactFilter, observationsOf } from './contact-observations';
import type { ContactCandidateSettings } from './contact-observations';

/** What the sync engine calls per page (before it hands the page to the outbox). */
export interface ContactCandidateCollector {
  collect(records: readonly ChangeRecord[]): Promise<ContactCandidateRecord[]>;
}

export interface ContactCandidateContext {
  readonly tenantId: string;
  readonly groupId: string;
  readonly mailbox: string;
  readonly settings: ContactCandidateSettings;
  readonly now?: () => Date;
}

/** Same candidate state, same key: a replayed page re-sends records receivers already have. */
export function contactCandidateIdempotencyKey(tenantId: string, groupId: string, applied: AppliedCandidate): string {
  const s = applied.state;
  return createHash('sha256').update(['contactCandidate', 'v1', tenantId.toLowerCase(), groupId, s.address, String(s.receivedFromCount), String(s.sentToCount), s.lastSeen].join('\n'), 'utf8').digest('hex');
}

export function contactCandidateRecord(context: ContactCandidateContext, applied: AppliedCandidate, occurredAt: string): ContactCandidateRecord {
  const s = applied.state;
  return {
    type: 'contactCandidate',
    schemaVersion: CHANGE_RECORD_SCHEMA_VERSION,
    idempotencyKey: contactCandidateIdempotencyKey(context.tenantId, context.groupId, applied),
    changeType: applied.created ? 'created' : 'updated',
    tenantId: context.tenantId,
    groupId: context.groupId,
    address: s.address,
    ...(s.displayName ? { displayName: s.displayName } : {}),
    firstSeen: s.firstSeen,
    lastSeen: s.lastSeen,
    receivedFromCount: s.receivedFromCount,
    sentToCount: s.sentToCount,
    messageCount: s.receivedFromCount + s.sentToCount,
    mailbox: context.mailbox,
    occurredAt,
  };
}

export function createContactCandidateCollector(store: Pick<ContactCandidateStore, 'apply'>, context: ContactCandidateContext): ContactCandidateCollector {
  const filter = new ContactFilter(context.settings, context.mailbox);
  const now = context.now ?? (() => new Date());
  return {
    async collect(records) {
      const observations = observationsOf(records, context.mailbox, filter);
      if (observations.length === 0) return [];
      const applied = await store.apply(context.tenantId, context.groupId, observations);
      const occurredAt = now().toISOString();
      return applied.map((candidate) => contactCandidateRecord(context, candidate, occurredAt));
    },
  };
}
