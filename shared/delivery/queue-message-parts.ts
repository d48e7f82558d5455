/**
 * Splits a change batch into Storage queue messages that each fit the 64 KiB limit, as sent
 * (base64 of the JSON). A batch that fits travels unchanged; otherwise every message is a valid
 * sub-batch (batchId `<parent>.p<part>`, parentBatchId, part, partCount) with the records in
 * order. A record too large on its own loses its item body (item.bodyOmitted), then, if still too
 * large, every item field but its identity (item.detailsOmitted).
 *
 * The split is deterministic (same batch, same parts), so a retry that resumes at part k sends
 * exactly the parts the first attempt did not, and part ids are stable for receivers to dedupe.
 */
import { encodeQueueMessage } from '../storage';
import type { ChangeBatch, ChangeItem, ChangeRecord } from './change-batch';

/** What Azure Storage accepts per message: 64 KiB of message text (ours is base64). */
export const MAX_QUEUE_MESSAGE_CHARS = 64 * 1024;

export const OMITTED_FOR_QUEUE_LIMIT = 'queueMessageSizeLimit' as const;

/** Item fields that carry the body; the rest of the item is small by comparison. */
const BODY_FIELDS = ['bodyText', 'bodyHtml'] as const;

export interface QueueMessagePart {
  /** The message text to send (base64 JSON). */
  readonly text: string;
  readonly batch: ChangeBatch;
}

export class QueueMessageTooLargeError extends Error {
  readonly code = 'QueueMessageTooLarge';
}

function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

function withoutBody(item: ChangeItem): ChangeItem {
  const reduced: Record<string, unknown> = { ...item };
  for (const field of BODY_FIELDS) delete reduced[field];
  return { ...reduced, bodyOmitted: true, omittedReason: OMITTED_FOR_QUEUE_LIMIT } as unknown as ChangeItem;
}

function identityOnly(item: ChangeItem): ChangeItem {
  const { kind, id, changeKey } = item as { kind: string; id: string; changeKey?: string };
  return { kind, id, ...(changeKey !== undefined ? { changeKey } : {}), bodyOmitted: true, detailsOmitted: true, omittedReason: OMITTED_FOR_QUEUE_LIMIT } as unknown as ChangeItem;
}

/** The record as it can travel: whole if it fits beside an envelope of `envelopeBytes`, reduced otherwise. */
function fittingRecord(record: ChangeRecord, envelopeBytes: number, limitInChars: number): ChangeRecord {
  const fits = (candidate: ChangeRecord) => base64Length(envelopeBytes + jsonBytes(candidate)) <= limitInChars;
  if (fits(record) || !record.item) return record;
  const noBody: ChangeRecord = { ...record, item: withoutBody(record.item) };
  if (fits(noBody)) return noBody;
  return { ...record, item: identityOnly(record.item) };
}

function partOf(batch: ChangeBatch, records: readonly ChangeRecord[], part: number, partCount: number): ChangeBatch {
  return { ...batch, batchId: `${batch.batchId}.p${part}`, parentBatchId: batch.batchId, part, partCount, records };
}

/**
 * The messages to send for `batch`, in order. Throws QueueMessageTooLargeError only if a record
 * reduced to its identity still does not fit (ids are far smaller than 64 KiB, so not in practice).
 */
export function queueMessageParts(batch: ChangeBatch, limitInChars: number = MAX_QUEUE_MESSAGE_CHARS): QueueMessagePart[] {
  const whole = encodeQueueMessage(batch);
  if (whole.length <= limitInChars) return [{ text: whole, batch }];

  // Envelope size with the widest part numbers the split can produce; records add their JSON plus a comma.
  const widest = batch.records.length;
  const envelopeBytes = jsonBytes(partOf(batch, [], widest, widest));
  const groups: ChangeRecord[][] = [];
  let current: ChangeRecord[] = [];
  let currentBytes = envelopeBytes;
  for (const original of batch.records) {
    const record = fittingRecord(original, envelopeBytes, limitInChars);
    const bytes = jsonBytes(record) + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && base64Length(currentBytes + bytes) > limitInChars) {
      groups.push(current);
      current = [];
      currentBytes = envelopeBytes;
    }
    currentBytes += jsonBytes(record) + (current.length > 0 ? 1 : 0);
    current.push(record);
  }
  if (current.length > 0) groups.push(current);

  // Reduced records may leave the whole batch in one message: then it keeps its own batchId, unsplit.
  if (groups.length === 1) {
    const reduced: ChangeBatch = { ...batch, records: groups[0]! };
    const text = encodeQueueMessage(reduced);
    if (text.length > limitInChars) throw new QueueMessageTooLargeError(`Batch ${batch.batchId} is ${text.length} characters once encoded, over the ${limitInChars} limit.`);
    return [{ text, batch: reduced }];
  }
  return groups.map((records, index) => {
    const part = partOf(batch, records, index + 1, groups.length);
    const text = encodeQueueMessage(part);
    if (text.length > limitInChars) {
      throw new QueueMessageTooLargeError(`Part ${index + 1} of batch ${batch.batchId} is ${text.length} characters once encoded, over the ${limitInChars} limit.`);
    }
    return { text, batch: part };
  });
}
