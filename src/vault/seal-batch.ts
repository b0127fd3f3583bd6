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
   * sealBatch (it is zeroed before return): only the records sealed under it and the wrapped form do.
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

const FIRST_KEY_VERSION = 1;

/** A record that passed validation, waiting for the second pass. */
interface Accepted {
  readonly index: number;
  readonly subjectId: string | null;
  readonly values: RecordValues;
  readonly plainAt: number;
  readonly plainLength: number;
  readonly tokenValues?: RecordValues;
}

/**
 * Plaintext scratch: every accepted record's canonical JSON, side by side, between the two passes.
 * Reused from batch to batch (one per thread) and zeroed before sealBatch returns.
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
 * Validate → blind-index → choose or create the subject key → encrypt. Pure: same inputs, same checks.
 *
 * Two passes: the first validates and serialises every record, so that the second can write all
 * ciphertexts, digests, encoded index entries and wrapped keys into one buffer each, of exactly the
 * size needed (each row holds a view into it; a worker transfers the four buffers as they are). Per record this saves several small allocations and the copies a
 * concatenation would make.
 */
export function sealBatch(job: SealJob): SealOutput {
  const indexKeys = new Map(job.indexKeys.map(([name, key]) => [name, new HmacSha256(key)] as const));
  const subjectKeys = new Map<string, DataKey>(job.subjectKeys);
  const nextVersions = new Map(job.subjectNextVersions ?? []);
  const tokenFields = job.tokenFields !== undefined && job.tokenFields.length > 0 ? job.tokenFields : undefined;
  const out: SealOutput = {
    records: [], index: [], newKeys: [], rejected: [], positions: [],
    ...(job.returnValues ? { values: [] } : {}),
    ...(tokenFields ? { tokenValues: [] } : {}),
  };
  const indexed = job.fields.filter((f) => indexKeys.has(f.name));
  const accepted: Accepted[] = [];
  const newSubjects = new Set<string>();
  let plainUsed = 0;
  let ciphertextBytes = 0;
  let entryCount = 0;
  let encodedBytes = 0;
  let keyMaterial: Buffer | undefined;
  try {
    // ── Pass 1: validate and serialise ────────────────────────────────────────────────────────
    for (let i = 0; i < job.inputs.length; i++) {
      const input = job.inputs[i];
      const problems: ErrorDetail[] = [];
      if (typeof input !== 'object' || input === null) {
        out.rejected.push({ index: i, problems: [{ reason: 'record_not_object' }] });
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
        out.rejected.push({ index: i, problems });
        continue;
      }
      accepted.push({ index: i, subjectId, values, plainAt: plainUsed, plainLength, ...(tokenValues ? { tokenValues } : {}) });
      plainUsed += plainLength;
      ciphertextBytes += CIPHERTEXT_OVERHEAD + plainLength;
      for (const f of indexed) {
        if (values[f.name] === undefined) continue;
        entryCount++;
        encodedBytes += 3 + f.name.length + BLIND_INDEX_BYTES;
      }
      if (subjectId !== null && !subjectKeys.has(subjectId)) newSubjects.add(subjectId);
    }

    // ── Pass 2: index, create subject keys, encrypt — into buffers of exactly the right size ──
    const ciphertexts = ownBuffer(ciphertextBytes);
    const digests = ownBuffer(entryCount * BLIND_INDEX_BYTES);
    const encoded = ownBuffer(encodedBytes);
    const recordAad = recordAadEncoder(job.tenantId, job.collectionId);
    // New subject keys: random (one draw for the batch), wrapped by the tenant key all at once
    // (wrapped-key format 2, AES-KW with the row's AAD digest inside: crypto/key-wrap.ts).
    const newList = [...newSubjects];
    const newVersions = newList.map((s) => nextVersions.get(s) ?? FIRST_KEY_VERSION);
    const wrapped = ownBuffer(newList.length * WRAPPED_KEY_KW_BYTES);
    keyMaterial = randomFillSync(Buffer.alloc(newList.length * AES_256_KEY_BYTES));
    if (newList.length > 0) {
      const wrapAad = wrappedKeyAadEncoder(job.tenantId, 'subject');
      wrapKeysInto(job.tenantKey.key, keyMaterial, newList.length, (k) => wrapAad(newList[k] as string, newVersions[k] as number), wrapped, 0);
    }
    for (let k = 0; k < newList.length; k++) {
      const subjectId = newList[k] as string;
      const version = newVersions[k] as number;
      const material = keyMaterial.subarray(k * AES_256_KEY_BYTES, (k + 1) * AES_256_KEY_BYTES);
      subjectKeys.set(subjectId, { version, key: material });
      out.newKeys.push({ tenantId: job.tenantId, kind: 'subject', scopeId: subjectId, version, wrapped: wrapped.subarray(k * WRAPPED_KEY_KW_BYTES, (k + 1) * WRAPPED_KEY_KW_BYTES), createdAt: job.now, wrappedBy: job.tenantKey.version });
    }
    let ctAt = 0;
    let digestAt = 0;
    let encodedAt = 0;
    for (const a of accepted) {
      const id = job.ids[a.index] as string;
      const encodedStart = encodedAt;
      for (const f of indexed) {
        const v = a.values[f.name];
        if (v === undefined) continue;
        blindIndexInto(indexKeys.get(f.name) as HmacSha256, normaliseForIndex(f, v), digests, digestAt);
        const digest = digests.subarray(digestAt, digestAt + BLIND_INDEX_BYTES);
        digestAt += BLIND_INDEX_BYTES;
        out.index.push({ collectionId: job.collectionId, field: f.name, digest, recordId: id, unique: f.unique });
        // The record's own copy of its entries (store/index-digests.ts encoding).
        encoded[encodedAt++] = f.name.length;
        encodedAt += encoded.write(f.name, encodedAt, 'latin1');
        encoded[encodedAt++] = BLIND_INDEX_BYTES;
        encodedAt += digest.copy(encoded, encodedAt);
        encoded[encodedAt++] = f.unique ? 1 : 0;
      }
      let key: DataKey;
      if (a.subjectId === null) {
        if (job.collectionKey === null) throw new Error('sealBatch: collection key missing');
        key = job.collectionKey;
      } else {
        key = subjectKeys.get(a.subjectId) as DataKey; // existing, or created above
      }
      const plain = scratch.subarray(a.plainAt, a.plainAt + a.plainLength);
      const length = sealInto(key.key, plain, recordAad(id, job.version, a.subjectId, key.version), ciphertexts, ctAt);
      plain.fill(0);
      out.records.push({
        collectionId: job.collectionId,
        id,
        tenantId: job.tenantId,
        subjectId: a.subjectId,
        version: job.version,
        keyVersion: key.version,
        ciphertext: ciphertexts.subarray(ctAt, ctAt + length),
        indexDigests: encoded.subarray(encodedStart, encodedAt),
        createdAt: job.now,
        updatedAt: job.now,
      });
      ctAt += length;
      out.positions.push(a.index);
      out.values?.push(a.values);
      if (a.tokenValues) out.tokenValues?.push(a.tokenValues);
    }
    return out;
  } finally {
    for (const k of indexKeys.values()) k.destroy();
    keyMaterial?.fill(0);
    scratch.fill(0, 0, plainUsed);
    if (scratch.length > SCRATCH_KEEP_BYTES) scratch = Buffer.alloc(SCRATCH_INITIAL_BYTES); // an unusually large batch's scratch is not kept
  }
}
