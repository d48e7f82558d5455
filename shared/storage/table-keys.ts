/**
 * PartitionKey / RowKey encoding. Table Storage forbids / \ # ? and control characters in
 * keys, and raw input in a key would let a caller pick which rows a range query touches.
 * So every user- or route-supplied value is base64url-encoded (alphabet A-Z a-z 0-9 - _)
 * before it becomes part of a key: any string maps to exactly one safe key and back.
 */
const MAX_KEY_BYTES = 1024;

export function encodeKeyPart(value: string): string {
  const encoded = Buffer.from(value, 'utf8').toString('base64url');
  // Keys are capped at 1 KiB; callers validate lengths long before this, so this is a bug guard.
  if (encoded.length > MAX_KEY_BYTES / 2) throw new RangeError('value too long to form a table key');
  return encoded;
}

export function decodeKeyPart(encoded: string): string {
  return Buffer.from(encoded, 'base64url').toString('utf8');
}

/** Joins already-encoded parts; '~' never occurs in base64url output, so the join is unambiguous. */
export function joinKeyParts(...encodedParts: string[]): string {
  return encodedParts.join('~');
}

/**
 * A RowKey that sorts newest first: Table Storage returns rows in ascending key order, so the
 * time is inverted and zero-padded, with a random suffix keeping same-millisecond rows apart.
 */
export function newestFirstRowKey(at: Date, uniqueSuffix: string): string {
  const inverted = (8_640_000_000_000_000 - at.getTime()).toString().padStart(16, '0');
  return `${inverted}_${uniqueSuffix}`;
}
