import type { IndexRow, RecordRow } from './rows.js';

/**
 * A record's own blind-index entries, kept beside its ciphertext, so that replacing or deleting a
 * record removes exactly its index rows by primary key instead of scanning the collection's index.
 * Encoding: per entry, uint8 field-name length ‖ field name (ASCII, ≤ 63) ‖ uint8 digest length ‖
 * digest ‖ uint8 unique flag. The digests are the same truncated HMACs as in blind_index.
 */
export function encodeIndexDigests(entries: readonly IndexRow[]): Buffer {
  let total = 0;
  for (const e of entries) total += 3 + e.field.length + e.digest.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const e of entries) {
    out[at++] = e.field.length;
    at += out.write(e.field, at, 'latin1');
    out[at++] = e.digest.length;
    at += e.digest.copy(out, at);
    out[at++] = e.unique ? 1 : 0;
  }
  return out;
}

export function decodeIndexDigests(buf: Buffer, collectionId: string, recordId: string): IndexRow[] {
  const out: IndexRow[] = [];
  let at = 0;
  while (at < buf.length) {
    const nameLen = buf[at++] as number;
    const field = buf.toString('latin1', at, at + nameLen);
    at += nameLen;
    const digestLen = buf[at++] as number;
    const digest = Buffer.from(buf.subarray(at, at + digestLen));
    at += digestLen;
    const unique = buf[at++] === 1;
    out.push({ collectionId, field, digest, recordId, unique });
  }
  return out;
}

/** Each record's encoded entries: the writer's own when present, else encoded from `index`. */
export function indexDigestsOf(records: readonly RecordRow[], index: readonly IndexRow[]): Buffer[] {
  if (records.every((r) => r.indexDigests !== undefined)) return records.map((r) => r.indexDigests as Buffer);
  const byRecord = new Map<string, IndexRow[]>();
  for (const r of index) {
    const list = byRecord.get(r.recordId);
    if (list) list.push(r);
    else byRecord.set(r.recordId, [r]);
  }
  return records.map((r) => r.indexDigests ?? encodeIndexDigests(byRecord.get(r.id) ?? []));
}
