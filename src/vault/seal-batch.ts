import { AES_256_KEY_BYTES, blindIndex, randomBytesPooled, seal } from '../crypto/index.js';
import type { ErrorDetail } from '../errors/index.js';
import { wrappedKeyAad, type DataKey } from '../keys/index.js';
import { normaliseForIndex, validateRecord, LIMITS, type FieldDef, type RecordValues } from '../schema/index.js';
import { encodeIndexDigests, type IndexRow, type RecordRow, type WrappedKeyRow } from '../store/index.js';
import { fpeValueProblem } from '../tokens/index.js';
import { SUBJECT_ID_PATTERN } from './identifiers.js';
import { encryptRecord } from './record-crypto.js';

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

export interface NewSubjectKey {
  readonly subjectId: string;
  readonly version: number;
  readonly key: Buffer;
}

export interface SealOutput {
  readonly records: RecordRow[];
  readonly index: IndexRow[];
  readonly newKeys: WrappedKeyRow[];
  readonly newKeyMaterial: NewSubjectKey[];
  readonly rejected: Rejected[];
  /** Index in `inputs` of each record row. */
  readonly positions: number[];
  /** Canonical values per record row, when asked for. */
  readonly values?: RecordValues[];
  /** Per record row, the canonical values of its tokenised fields (when the job names any). */
  readonly tokenValues?: RecordValues[];
}

const FIRST_KEY_VERSION = 1;

/** Validate → blind-index → choose or create the subject key → encrypt. Pure: same inputs, same checks. */
export function sealBatch(job: SealJob): SealOutput {
  const indexKeys = new Map(job.indexKeys);
  const subjectKeys = new Map<string, DataKey>(job.subjectKeys);
  const nextVersions = new Map(job.subjectNextVersions ?? []);
  const tokenFields = job.tokenFields !== undefined && job.tokenFields.length > 0 ? job.tokenFields : undefined;
  const out: SealOutput = {
    records: [], index: [], newKeys: [], newKeyMaterial: [], rejected: [], positions: [],
    ...(job.returnValues ? { values: [] } : {}),
    ...(tokenFields ? { tokenValues: [] } : {}),
  };
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
    let plain: Buffer | undefined;
    if (problems.length === 0) {
      plain = Buffer.from(JSON.stringify(values), 'utf8');
      if (plain.length > LIMITS.recordBytes) problems.push({ reason: 'record_too_large' });
    }
    if (problems.length > 0 || plain === undefined) {
      out.rejected.push({ index: i, problems });
      continue;
    }
    const id = job.ids[i] as string;
    const entries: IndexRow[] = [];
    for (const f of job.fields) {
      const key = indexKeys.get(f.name);
      const v = values[f.name];
      if (key === undefined || v === undefined) continue;
      entries.push({ collectionId: job.collectionId, field: f.name, digest: blindIndex(key, normaliseForIndex(f, v)), recordId: id, unique: f.unique });
    }
    for (const e of entries) out.index.push(e);
    let key: DataKey;
    if (subjectId === null) {
      if (job.collectionKey === null) throw new Error('sealBatch: collection key missing');
      key = job.collectionKey;
    } else {
      key = subjectKeys.get(subjectId) ?? createSubjectKey(job, subjectId, nextVersions.get(subjectId) ?? FIRST_KEY_VERSION, subjectKeys, out);
    }
    const ciphertext = encryptRecord(key.key, plain, {
      tenantId: job.tenantId,
      collectionId: job.collectionId,
      recordId: id,
      version: job.version,
      subjectId,
      keyVersion: key.version,
    });
    plain.fill(0);
    out.records.push({
      collectionId: job.collectionId,
      id,
      tenantId: job.tenantId,
      subjectId,
      version: job.version,
      keyVersion: key.version,
      ciphertext,
      indexDigests: encodeIndexDigests(entries),
      createdAt: job.now,
      updatedAt: job.now,
    });
    out.positions.push(i);
    out.values?.push(values);
    if (tokenValues) out.tokenValues?.push(tokenValues);
  }
  return out;
}

function createSubjectKey(job: SealJob, subjectId: string, version: number, subjectKeys: Map<string, DataKey>, out: SealOutput): DataKey {
  const key = randomBytesPooled(AES_256_KEY_BYTES);
  const wrapped = seal(job.tenantKey.key, key, wrappedKeyAad(job.tenantId, 'subject', subjectId, version));
  const dk = { version, key };
  subjectKeys.set(subjectId, dk);
  out.newKeys.push({ tenantId: job.tenantId, kind: 'subject', scopeId: subjectId, version, wrapped, createdAt: job.now, wrappedBy: job.tenantKey.version });
  out.newKeyMaterial.push({ subjectId, version, key });
  return dk;
}
