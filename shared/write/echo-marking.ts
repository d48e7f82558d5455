/**
 * Echo suppression: wraps the sync engine's outbox. Every record whose (item, version) the write
 * worker recorded as its own is marked `origin: "connector"` with the operation id, or dropped
 * when the group asked for that (write-back settings). Lookups are point reads in the mailbox's
 * partition; records of items never written by the connector cost one miss each.
 */
import type { ChangeBatch, ChangeRecord, DeliveryOutbox, OutboxReceipt } from '../delivery/change-batch';
import type { WriteStore } from './write-store';

function versionOf(record: ChangeRecord): string | undefined {
  if (record.changeType === 'deleted') return 'deleted';
  if (record.changeType === 'readFlagChanged') return record.isRead === undefined ? undefined : `read=${record.isRead}`;
  return record.changeKey;
}

export function markConnectorEchoes(inner: DeliveryOutbox, store: Pick<WriteStore, 'writtenBy' | 'settings'>): DeliveryOutbox {
  return {
    async enqueue(batch: ChangeBatch): Promise<OutboxReceipt> {
      if (batch.records.length === 0) return inner.enqueue(batch);
      const key = { tenantId: batch.tenantId, groupId: batch.groupId, mailbox: batch.mailbox };
      let drop: boolean | undefined;
      const records: ChangeRecord[] = [];
      for (const record of batch.records) {
        const version = versionOf(record);
        const operationId = version === undefined ? undefined : await store.writtenBy(key, record.itemId, version);
        if (operationId === undefined) {
          records.push(record);
          continue;
        }
        drop ??= (await store.settings(batch.tenantId, batch.groupId)).dropConnectorEchoes;
        if (!drop) records.push({ ...record, origin: 'connector', operationId });
      }
      // Nothing left to tell the application: accepted without a delivery (the engine may save its state).
      if (records.length === 0) return { batchId: batch.batchId, claimCheck: false };
      return inner.enqueue({ ...batch, records });
    },
  };
}
