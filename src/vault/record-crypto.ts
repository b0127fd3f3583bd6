import { aadEncoder, encodeAad, open, seal, type AeadKey } from '../crypto/index.js';
import { decryptionFailed } from '../errors/index.js';
import type { RecordValues } from '../schema/index.js';

const RECORD_AAD_LABEL = 'kuraban/record/v1';

export interface RecordBinding {
  readonly tenantId: string;
  readonly collectionId: string;
  readonly recordId: string;
  readonly version: number;
  /** null: the collection's key; otherwise the subject whose key encrypts it. */
  readonly subjectId: string | null;
  readonly keyVersion: number;
}

/** AAD binding a record's ciphertext to where it belongs; moving or re-versioning it breaks the tag. */
export function recordAad(b: RecordBinding): Buffer {
  const scope = b.subjectId === null ? 'collection' : `subject:${b.subjectId}`;
  return encodeAad(RECORD_AAD_LABEL, [b.tenantId, b.collectionId, b.recordId, b.version, scope, b.keyVersion]);
}

/**
 * recordAad for many records of one tenant and collection (a batch), byte for byte the same; each
 * returned view is valid until the next call.
 */
export function recordAadEncoder(tenantId: string, collectionId: string): (recordId: string, version: number, subjectId: string | null, keyVersion: number) => Buffer {
  const encode = aadEncoder(RECORD_AAD_LABEL, [tenantId, collectionId]);
  return (recordId, version, subjectId, keyVersion) => encode(recordId, version, subjectId === null ? 'collection' : `subject:${subjectId}`, keyVersion);
}

/** Encrypts a record's canonical JSON (values, or the already serialised bytes). */
export function encryptRecord(key: AeadKey, values: RecordValues | Buffer, binding: RecordBinding): Buffer {
  const plain = Buffer.isBuffer(values) ? values : Buffer.from(JSON.stringify(values), 'utf8');
  return seal(key, plain, recordAad(binding));
}

export function decryptRecord(key: AeadKey, ciphertext: Buffer, binding: RecordBinding): RecordValues {
  const plain = open(key, ciphertext, recordAad(binding));
  try {
    return JSON.parse(plain.toString('utf8')) as RecordValues;
  } catch (e) {
    throw decryptionFailed(e);
  } finally {
    plain.fill(0);
  }
}
