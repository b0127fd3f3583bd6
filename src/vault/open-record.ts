import type { Keyring } from '../keys/index.js';
import type { RecordValues } from '../schema/index.js';
import type { RecordRow, StoreOps } from '../store/index.js';
import type { Collection } from './collections.js';
import { decryptRecord } from './record-crypto.js';

/** A stored record's values: its subject's key (or the collection's) at the row's key version, then AES-256-GCM with the row's AAD. */
export async function openRecordValues(keyring: Keyring, ops: StoreOps, collection: Collection, row: RecordRow): Promise<RecordValues> {
  const key =
    row.subjectId === null
      ? await keyring.collectionKey(ops, collection.tenantId, collection.id, row.keyVersion)
      : await keyring.subjectKey(ops, collection.tenantId, row.subjectId, row.keyVersion);
  return decryptRecord(key.key, row.ciphertext, {
    tenantId: collection.tenantId,
    collectionId: collection.id,
    recordId: row.id,
    version: row.version,
    subjectId: row.subjectId,
    keyVersion: row.keyVersion,
  });
}
