import { randomFillSync } from 'node:crypto';
import { AES_256_KEY_BYTES, BLIND_INDEX_BYTES, blindIndexInto, CIPHERTEXT_OVERHEAD, HmacSha256, sealInto, wrapKeysInto, WRAPPED_KEY_KW_BYTES } from '../crypto/index.js';
import type { ErrorDetail } from '../errors/index.js';
import { wrappedKeyAadEncoder, type DataKey } from '../keys/index.js';
import { normaliseForIndex, validateRecord, LIMITS, type FieldDef, type RecordValues } from '../schema/index.js';
import type { IndexRow, RecordRow, WrappedKeyRow } from '../store/index.js';
import { fpeValueProblem } from '../tokens/index.js';
import { SUBJECT_ID_PATTERN } from './identifiers.js';
import { recordAadEncoder } from './record-crypto.js';

export interface RecordInput {
  readonly subjectId?: string | null | undefined;
  readonly fields: unknown;
}

export interface Rejected {
  readonly index: number;
  readonly problems: readonly ErrorDetail[];
}

/**
 * Everything needed to turn inputs into stored rows, with no I/O: so it can run on a worker thread
 * while the main thread writes the previous batch. Keys in here are live secrets; the worker zeroes
 * its copies after use.
 */
export interface SealJob {
  readonly tenantId: string;
  readonly collectionId: string;
  readonly fields: readonly FieldDef[];
  readonly indexKeys: ReadonlyArray<readonly [string, Buffer]>;
  readonly collectionKey: DataKey | null;
  /** Wraps subject keys created for subjects that have none yet. */
  readonly tenantKey: DataKey;
  readonly subjectKeys: ReadonlyArray<readonly [string, DataKey]>;
  /** Erased subjects: the version a new key must take (above the erasure's tombstone; never a destroyed key's number). */
  readonly subjectNextVersions?: ReadonlyArray<readonly [string, number]>;
  readonly inputs: readonly RecordInput[];
  readonly ids: readonly string[];
  /** Record version the rows get (1 on create). */
  readonly version: number;
  readonly now: string;
  /** Also return the canonical values (single-record writes answer with them). */
  readonly returnValues: boolean;
  /** Tokenised fields: their canonical values come back in `tokenValues` (tokens are made on the main thread). */
  readonly tokenFields?: readonly FieldDef[];
}

export interface SealOutput {
  readonly records: RecordRow[];
  readonly index: IndexRow[];
  /**
   * Subject keys created for this batch, wrapped by the tenant key. Their clear material never leaves
   * sealColumns (it is zeroed before return): only the records sealed under it and the wrapped form do.
   */
  readonly newKeys: WrappedKeyRow[];
  readonly rejected: Rejected[];
  /** Index in `inputs` of each record row. */
  readonly positions: number[];
  /** Canonical values per record row, when asked for. */
  readonly values?: RecordValues[];
  /** Per record row, the canonical values of its tokenised fields (when the job names any). */
  readonly tokenValues?: RecordValues[];
}

/**
 * What sealing produces, as columns: the bytes in four buffers of their own (ciphertexts, encoded
 * index entries, digests, wrapped keys: a worker transfers them, never copies) and the rows' other
 * values in typed arrays. No object per row or per index entry is made while sealing; unpack() builds
 * the rows the store takes, on the thread that writes them, from these and the job: what every row
 * of a batch shares (tenant, collection, version, time, the wrapping key's version) and each record
 * row's id and subject (its input's: `positions`) come from there, not from the sealing thread.
 */
export interface SealedColumns {
  /** Index in `inputs` of each record row. */
  readonly positions: number[];
  readonly keyVersions: Float64Array;
  readonly ciphertexts: Uint8Array;
  readonly ciphertextLengths: Uint32Array;
  /** Each record's own copy of its index entries (store/index-digests.ts encoding). */
  readonly indexDigests: Uint8Array;
  readonly indexDigestLengths: Uint32Array;
  /** Index rows: field (name in `indexFields`), record (position in the record rows), unique flag, digest (BLIND_INDEX_BYTES each). */
  readonly indexFields: string[];
  readonly indexFieldOf: Uint16Array;
  readonly indexRecordOf: Uint32Array;
  readonly indexUnique: Uint8Array;
  readonly digests: Uint8Array;
  /** Per new subject key: a record row of its subject (so its subject is that row's). */
  readonly newKeyRecordOf: Uint32Array;
  readonly newKeyVersions: Float64Array;
  /** WRAPPED_KEY_KW_BYTES per new key. */
  readonly wrapped: Uint8Array;
  readonly rejected: Rejected[];
  readonly values?: RecordValues[];
  readonly tokenValues?: RecordValues[];
}

/** The buffers of sealed columns that travel by transfer (each over an ArrayBuffer of exactly its own size). */
export function transferables(c: SealedColumns): ArrayBuffer[] {
  return [c.ciphertexts, c.indexDigests, c.digests, c.wrapped].map((b) => b.buffer as ArrayBuffer);
}

/** Validate → blind-index → choose or create the subject key → encrypt, as rows (sealColumns, then unpack). */
export function sealBatch(job: SealJob): SealOutput {
  return unpack(sealColumns(job), job);
}

const FIRST_KEY_VERSION = 1;

/** A record that passed validation, waiting for the second pass. */
interface Accepted {
  readonly index: number;
  readonly subjectId: string | null;
  readonly values: RecordValues;
  readonly plainAt: number;
  readonly plainLength: number;
  /** Which key seals it: NO_SLOT for the collection key, else its subject's slot (see sealColumns). */
  readonly keySlot: number;
  readonly tokenValues?: RecordValues;
}

const NO_SLOT = -1;

/**
 * Plaintext scratch: every accepted record's canonical JSON, side by side, between the two passes.
 * Reused from batch to batch (one per thread) and zeroed before sealColumns returns.
 */
const SCRATCH_INITIAL_BYTES = 64 * 1024;
const SCRATCH_KEEP_BYTES = 8 * 1024 * 1024;
let scratch = Buffer.alloc(SCRATCH_INITIAL_BYTES);

function ensureScratch(used: number, need: number): void {
  if (used + need <= scratch.length) return;
  const bigger = Buffer.alloc(Math.max(scratch.length * 2, used + need));
  scratch.copy(bigger, 0, 0, used);
  scratch.fill(0, 0, used);
  scratch = bigger;
}

/** A buffer with an ArrayBuffer of exactly its own size (transferable as it is; never Node's shared pool). */
function ownBuffer(n: number): Buffer {
  return Buffer.from(new ArrayBuffer(n));
}

/**
 * Validate → blind-index → choose or create the subject key → encrypt, into columns. Pure: same
 * inputs, same checks.
 *
 * Two passes: the first validates and serialises every record, so that the second can write all
 * ciphertexts, digests, encoded index entries and wrapped keys into one buffer each, of exactly the
 * size needed, and every other per-row value into a typed array: no object per row or per index entry.
 */
export function sealColumns(job: SealJob): SealedColumns {
  const indexKeys = new Map(job.indexKeys.map(([name, key]) => [name, new HmacSha256(key)] as const));
  // Subject keys by slot: the job's existing keys are slots 0..existing − 1; new subjects take the
  // slots after them in order of first appearance (one Map look-up per record to find a slot).
  const existingKeys = job.subjectKeys.map(([, k]) => k);
  const slotOf = new Map<string, number>(job.subjectKeys.map(([s], i) => [s, i] as const));
  const nextVersions = job.subjectNextVersions !== undefined && job.subjectNextVersions.length > 0 ? new Map(job.subjectNextVersions) : undefined;
  const tokenFields = job.tokenFields !== undefined && job.tokenFields.length > 0 ? job.tokenFields : undefined;
  const rejected: Rejected[] = [];
  const indexed = job.fields.filter((f) => indexKeys.has(f.name));
  const accepted: Accepted[] = [];
  /** New subjects, in order of first appearance, and the first accepted record that has each. */
  const newSubjects: string[] = [];
  const newSubjectRecord: number[] = [];
  let plainUsed = 0;
  let ciphertextBytes = 0;
  let entryCount = 0;
  let encodedBytes = 0;
  let keyMaterial: Buffer | undefined;
  /** The new key sealing the current record, copied out of keyMaterial (createCipheriv takes its own copy at once). */
  const newKey = Buffer.alloc(AES_256_KEY_BYTES);
  try {
    // ── Pass 1: validate and serialise ────────────────────────────────────────────────────────
    for (let i = 0; i < job.inputs.length; i++) {
      const input = job.inputs[i];
      const problems: ErrorDetail[] = [];
      if (typeof input !== 'object' || input === null) {
        rejected.push({ index: i, problems: [{ reason: 'record_not_object' }] });
        continue;
      }
      const subjectId = input.subjectId ?? null;
      if (subjectId !== null && (typeof subjectId !== 'string' || !SUBJECT_ID_PATTERN.test(subjectId))) {
        problems.push({ field: 'subjectId', reason: 'invalid_subject_id' });
      }
      const { values, problems: fieldProblems } = validateRecord({ fields: job.fields }, input.fields);
      problems.push(...fieldProblems);
      // Tokenised fields: their values go back to the main thread, which makes the tokens; a
      // format-preserving value outside its alphabet or FF1 domain is the record's problem.
      let tokenValues: Record<string, RecordValues[string]> | undefined;
      if (tokenFields && fieldProblems.length === 0) {
        tokenValues = {};
        for (const f of tokenFields) {
          const v = values[f.name];
          if (v === undefined) continue;
          const problem = f.token === 'format-preserving' ? fpeValueProblem(f, v) : undefined;
          if (problem) problems.push({ field: f.name, reason: problem });
          else tokenValues[f.name] = v;
        }
      }
      let plainLength = -1;
      if (problems.length === 0) {
        const json = JSON.stringify(values);
        ensureScratch(plainUsed, json.length * 3); // UTF-16 code unit → at most 3 UTF-8 bytes
        plainLength = scratch.write(json, plainUsed, 'utf8');
        if (plainLength > LIMITS.recordBytes) {
          scratch.fill(0, plainUsed, plainUsed + plainLength);
          problems.push({ reason: 'record_too_large' });
        }
      }
      if (problems.length > 0) {
        rejected.push({ index: i, problems });
        continue;
      }
      let keySlot = NO_SLOT;
      if (subjectId !== null) {
        const slot = slotOf.get(subjectId);
        if (slot !== undefined) keySlot = slot;
        else {
          keySlot = existingKeys.length + newSubjects.length;
          slotOf.set(subjectId, keySlot);
          newSubjects.push(subjectId);
          newSubjectRecord.push(accepted.length);
        }
      }
      accepted.push({ index: i, subjectId, values, plainAt: plainUsed, plainLength, keySlot, ...(tokenValues ? { tokenValues } : {}) });
      plainUsed += plainLength;
      ciphertextBytes += CIPHERTEXT_OVERHEAD + plainLength;
      for (const f of indexed) {
        if (values[f.name] === undefined) continue;
        entryCount++;
        encodedBytes += 3 + f.name.length + BLIND_INDEX_BYTES;
      }
    }

    // ── Pass 2: index, create subject keys, encrypt — into buffers of exactly the right size ──
    const n = accepted.length;
    const ciphertexts = ownBuffer(ciphertextBytes);
    const ciphertextLengths = new Uint32Array(n);
    const keyVersions = new Float64Array(n);
    const digests = ownBuffer(entryCount * BLIND_INDEX_BYTES);
    const indexFieldOf = new Uint16Array(entryCount);
    const indexRecordOf = new Uint32Array(entryCount);
    const indexUnique = new Uint8Array(entryCount);
    const encoded = ownBuffer(encodedBytes);
    const indexDigestLengths = new Uint32Array(n);
    const recordAad = recordAadEncoder(job.tenantId, job.collectionId);
    // New subject keys: random (one draw for the batch), wrapped by the tenant key all at once
    // (wrapped-key format 2, AES-KW with the row's AAD digest inside: crypto/key-wrap.ts).
    const newCount = newSubjects.length;
    const newKeyRecordOf = Uint32Array.from(newSubjectRecord);
    const newKeyVersions = new Float64Array(newCount).fill(FIRST_KEY_VERSION);
    if (nextVersions) for (let k = 0; k < newCount; k++) newKeyVersions[k] = nextVersions.get(newSubjects[k] as string) ?? FIRST_KEY_VERSION;
    const wrapped = ownBuffer(newCount * WRAPPED_KEY_KW_BYTES);
    keyMaterial = randomFillSync(Buffer.alloc(newCount * AES_256_KEY_BYTES));
    if (newCount > 0) {
      const wrapAad = wrappedKeyAadEncoder(job.tenantId, 'subject');
      wrapKeysInto(job.tenantKey.key, keyMaterial, newCount, (x) => wrapAad(newSubjects[x] as string, newKeyVersions[x] as number), wrapped, 0);
    }
    const fieldNames = indexed.map((f) => f.name);
    const indexHmacs = indexed.map((f) => indexKeys.get(f.name) as HmacSha256);
    let ctAt = 0;
    let entry = 0;
    let encodedAt = 0;
    const positions: number[] = new Array(n);
    const values: RecordValues[] | undefined = job.returnValues ? new Array(n) : undefined;
    const tokenValues: RecordValues[] | undefined = tokenFields ? [] : undefined;
    for (let r = 0; r < n; r++) {
      const a = accepted[r] as Accepted;
      const id = job.ids[a.index] as string;
      const encodedStart = encodedAt;
      for (let f = 0; f < indexed.length; f++) {
        const field = indexed[f] as FieldDef;
        const v = a.values[field.name];
        if (v === undefined) continue;
        const digestAt = entry * BLIND_INDEX_BYTES;
        blindIndexInto(indexHmacs[f] as HmacSha256, normaliseForIndex(field, v), digests, digestAt);
        indexFieldOf[entry] = f;
        indexRecordOf[entry] = r;
        indexUnique[entry] = field.unique ? 1 : 0;
        entry++;
        // The record's own copy of its entries (store/index-digests.ts encoding).
        encoded[encodedAt++] = field.name.length;
        encodedAt += encoded.write(field.name, encodedAt, 'latin1');
        encoded[encodedAt++] = BLIND_INDEX_BYTES;
        encodedAt += digests.copy(encoded, encodedAt, digestAt, digestAt + BLIND_INDEX_BYTES);
        encoded[encodedAt++] = field.unique ? 1 : 0;
      }
      indexDigestLengths[r] = encodedAt - encodedStart;
      let key: Buffer;
      let keyVersion: number;
      if (a.keySlot === NO_SLOT) {
        if (job.collectionKey === null) throw new Error('sealBatch: collection key missing');
        ({ key, version: keyVersion } = job.collectionKey);
      } else if (a.keySlot < existingKeys.length) {
        ({ key, version: keyVersion } = existingKeys[a.keySlot] as DataKey);
      } else {
        const k = a.keySlot - existingKeys.length; // created above
        keyMaterial.copy(newKey, 0, k * AES_256_KEY_BYTES, (k + 1) * AES_256_KEY_BYTES);
        key = newKey;
        keyVersion = newKeyVersions[k] as number;
      }
      const plain = scratch.subarray(a.plainAt, a.plainAt + a.plainLength);
      const length = sealInto(key, plain, recordAad(id, job.version, a.subjectId, keyVersion), ciphertexts, ctAt);
      plain.fill(0);
      ciphertextLengths[r] = length;
      keyVersions[r] = keyVersion;
      ctAt += length;
      positions[r] = a.index;
      if (values) values[r] = a.values;
      if (a.tokenValues) tokenValues?.push(a.tokenValues);
    }
    return {
      positions,
      keyVersions,
      ciphertexts,
      ciphertextLengths,
      indexDigests: encoded,
      indexDigestLengths,
      indexFields: fieldNames,
      indexFieldOf,
      indexRecordOf,
      indexUnique,
      digests,
      newKeyRecordOf,
      newKeyVersions,
      wrapped,
      rejected,
      ...(values ? { values } : {}),
      ...(tokenValues ? { tokenValues } : {}),
    };
  } finally {
    for (const k of indexKeys.values()) k.destroy();
    keyMaterial?.fill(0);
    newKey.fill(0);
    scratch.fill(0, 0, plainUsed);
    if (scratch.length > SCRATCH_KEEP_BYTES) scratch = Buffer.alloc(SCRATCH_INITIAL_BYTES); // an unusually large batch's scratch is not kept
  }
}

/** The rows the store takes, from sealed columns and the job they were sealed from (the writing thread's own copy). */
export function unpack(c: SealedColumns, job: SealJob): SealOutput {
  const view = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  const ct = view(c.ciphertexts);
  const ie = view(c.indexDigests);
  const records: RecordRow[] = new Array(c.positions.length);
  let at = 0;
  let ieAt = 0;
  for (let i = 0; i < records.length; i++) {
    const len = c.ciphertextLengths[i] as number;
    const ieLen = c.indexDigestLengths[i] as number;
    const position = c.positions[i] as number;
    records[i] = {
      collectionId: job.collectionId,
      id: job.ids[position] as string,
      tenantId: job.tenantId,
      subjectId: job.inputs[position]?.subjectId ?? null,
      version: job.version,
      keyVersion: c.keyVersions[i] as number,
      ciphertext: ct.subarray(at, at + len),
      indexDigests: ie.subarray(ieAt, ieAt + ieLen),
      createdAt: job.now,
      updatedAt: job.now,
    };
    at += len;
    ieAt += ieLen;
  }
  const dg = view(c.digests);
  const index: IndexRow[] = new Array(c.indexFieldOf.length);
  for (let i = 0; i < index.length; i++) {
    const record = records[c.indexRecordOf[i] as number] as RecordRow;
    index[i] = {
      collectionId: record.collectionId,
      field: c.indexFields[c.indexFieldOf[i] as number] as string,
      digest: dg.subarray(i * BLIND_INDEX_BYTES, (i + 1) * BLIND_INDEX_BYTES),
      recordId: record.id,
      unique: c.indexUnique[i] === 1,
    };
  }
  const wr = view(c.wrapped);
  const newKeys: WrappedKeyRow[] = new Array(c.newKeyRecordOf.length);
  for (let i = 0; i < newKeys.length; i++) {
    const scopeId = records[c.newKeyRecordOf[i] as number]?.subjectId;
    if (typeof scopeId !== 'string') throw new Error('unpack: a new key without a record of its subject');
    newKeys[i] = { tenantId: job.tenantId, kind: 'subject', scopeId, version: c.newKeyVersions[i] as number, wrapped: wr.subarray(i * WRAPPED_KEY_KW_BYTES, (i + 1) * WRAPPED_KEY_KW_BYTES), createdAt: job.now, wrappedBy: job.tenantKey.version };
  }
  return {
    records, index, newKeys, rejected: c.rejected, positions: c.positions,
    ...(c.values ? { values: c.values } : {}),
    ...(c.tokenValues ? { tokenValues: c.tokenValues } : {}),
  };
}
