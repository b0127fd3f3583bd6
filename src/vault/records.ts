import { blindIndex } from '../crypto/index.js';
import { KurabanError, type ErrorDetail } from '../errors/index.js';
import type { DataKey, Keyring } from '../keys/index.js';
import { normaliseForIndex, validateRecord, type FieldDef, type RecordValues } from '../schema/index.js';
import type { IndexRow, IndexTerm, RecordRow, Store, StoreOps, StoreTx } from '../store/index.js';
import type { Collection, Collections } from './collections.js';
import { SUBJECT_ID_PATTERN } from './identifiers.js';
import { decryptRecord, encryptRecord } from './record-crypto.js';
import { UUID_PATTERN } from './record-id.js';

export interface RecordInput {
  readonly subjectId?: string | null | undefined;
  readonly fields: unknown;
}

export interface VaultRecord {
  readonly id: string;
  readonly subjectId: string | null;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly fields: RecordValues;
}

export interface Rejected {
  readonly index: number;
  readonly problems: readonly ErrorDetail[];
}

export interface CreateManyOptions {
  /** 'atomic': any invalid record fails the whole call. 'skip-invalid': invalid ones are returned as rejected. */
  readonly mode: 'atomic' | 'skip-invalid';
  /** Runs inside the same transaction as the insert (e.g. an import's resume checkpoint). */
  readonly inTransaction?: (tx: StoreTx, result: { created: number; rejected: readonly Rejected[] }) => Promise<void>;
}

export interface CreateManyResult {
  readonly created: ReadonlyArray<{ readonly index: number; readonly id: string; readonly version: number }>;
  readonly rejected: readonly Rejected[];
}

export interface SearchOptions {
  readonly limit: number;
  readonly after?: string | undefined;
}

export interface RecordsDeps {
  readonly store: Store;
  readonly keyring: Keyring;
  readonly collections: Collections;
  readonly clock: () => Date;
  readonly newId: () => string;
}

export const MAX_BATCH = 10_000;
export const MAX_SEARCH_LIMIT = 1000;

interface Prepared {
  readonly index: number;
  readonly id: string;
  readonly subjectId: string | null;
  readonly values: RecordValues;
  readonly digests: readonly IndexRow[];
}

/** Records: validate → index → encrypt under the subject's or the collection's key → store, and back. */
export class Records {
  constructor(private readonly deps: RecordsDeps) {}

  async create(tenantId: string, collectionName: string, input: RecordInput): Promise<VaultRecord> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const now = this.deps.clock().toISOString();
    const result = await this.insert(collection, [input], { mode: 'atomic' }, now);
    const made = result.created[0] as { id: string };
    const [p] = result.prepared;
    return { id: made.id, subjectId: p?.subjectId ?? null, version: 1, createdAt: now, updatedAt: now, fields: p?.values ?? {} };
  }

  async createMany(tenantId: string, collectionName: string, inputs: readonly RecordInput[], options: CreateManyOptions): Promise<CreateManyResult> {
    if (inputs.length > MAX_BATCH) throw new KurabanError('BATCH_TOO_LARGE', `at most ${MAX_BATCH} records per batch`);
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const { created, rejected } = await this.insert(collection, inputs, options, this.deps.clock().toISOString());
    return { created, rejected };
  }

  async get(tenantId: string, collectionName: string, id: string): Promise<VaultRecord> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const row = UUID_PATTERN.test(id) ? await this.deps.store.getRecord(collection.id, id) : undefined;
    // A record of another tenant is in another collection id: it is simply not found here.
    if (!row || row.tenantId !== tenantId) throw new KurabanError('RECORD_NOT_FOUND');
    return this.open(collection, row);
  }

  /** Replaces a record's fields (and optionally its subject) if its version is `expectedVersion`. */
  async update(tenantId: string, collectionName: string, id: string, expectedVersion: number, input: RecordInput): Promise<VaultRecord> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const existing = UUID_PATTERN.test(id) ? await this.deps.store.getRecord(collection.id, id) : undefined;
    if (!existing || existing.tenantId !== tenantId) throw new KurabanError('RECORD_NOT_FOUND');
    if (existing.version !== expectedVersion) throw new KurabanError('VERSION_CONFLICT');
    const subjectId = input.subjectId === undefined ? existing.subjectId : input.subjectId;
    const problems: ErrorDetail[] = [];
    const prepared = this.prepare(collection, await this.indexKeys(collection), { subjectId, fields: input.fields }, 0, id, problems);
    if (!prepared) throw new KurabanError('RECORD_INVALID', undefined, { details: problems });
    await this.checkUnique(collection, [prepared], new Set([id]), 'atomic');
    const now = this.deps.clock().toISOString();
    const ok = await this.deps.store.transaction(async (tx) => {
      const key = await this.writeKey(tx, collection, prepared.subjectId);
      const version = existing.version + 1;
      const ciphertext = encryptRecord(key.key, prepared.values, {
        tenantId,
        collectionId: collection.id,
        recordId: id,
        version,
        subjectId: prepared.subjectId,
        keyVersion: key.version,
      });
      const row: RecordRow = { ...existing, subjectId: prepared.subjectId, version, keyVersion: key.version, ciphertext, updatedAt: now };
      return tx.replaceRecord(row, expectedVersion, prepared.digests);
    });
    if (!ok) throw new KurabanError('VERSION_CONFLICT');
    return { id, subjectId: prepared.subjectId, version: existing.version + 1, createdAt: existing.createdAt, updatedAt: now, fields: prepared.values };
  }

  async delete(tenantId: string, collectionName: string, id: string, expectedVersion?: number): Promise<void> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const existing = UUID_PATTERN.test(id) ? await this.deps.store.getRecord(collection.id, id) : undefined;
    if (!existing || existing.tenantId !== tenantId) throw new KurabanError('RECORD_NOT_FOUND');
    if (expectedVersion !== undefined && existing.version !== expectedVersion) throw new KurabanError('VERSION_CONFLICT');
    const ok = await this.deps.store.deleteRecord(collection.id, id, expectedVersion);
    if (!ok) throw new KurabanError(expectedVersion === undefined ? 'RECORD_NOT_FOUND' : 'VERSION_CONFLICT');
  }

  /**
   * Equality search on searchable or unique fields, all terms ANDed. Values are validated and
   * normalised as when stored, hashed under the field's index key, and matched on digests only;
   * hits are decrypted and checked again, so a digest collision can never return a wrong record.
   */
  async search(tenantId: string, collectionName: string, where: unknown, options: SearchOptions): Promise<{ records: VaultRecord[]; next?: string }> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    if (typeof where !== 'object' || where === null || Array.isArray(where) || Object.keys(where).length === 0) {
      throw new KurabanError('SEARCH_INVALID', 'where must name at least one field', { details: [{ reason: 'empty_where' }] });
    }
    const problems: ErrorDetail[] = [];
    const wanted: Array<{ field: FieldDef; normalised: string }> = [];
    for (const [name, value] of Object.entries(where as Record<string, unknown>)) {
      const field = collection.schema.fields.find((f) => f.name === name);
      if (!field) {
        problems.push(/^[a-z][a-z0-9_]{0,62}$/.test(name) ? { field: name, reason: 'unknown_field' } : { reason: 'unknown_field' });
        continue;
      }
      if (!field.searchable && !field.unique) {
        problems.push({ field: name, reason: 'not_searchable' });
        continue;
      }
      const checked = validateRecord({ fields: [{ ...field, required: true }] }, { [name]: value });
      if (checked.problems.length > 0) {
        problems.push(...checked.problems);
        continue;
      }
      wanted.push({ field, normalised: normaliseForIndex(field, checked.values[name] as RecordValues[string]) });
    }
    if (problems.length > 0) throw new KurabanError('SEARCH_INVALID', undefined, { details: problems });
    if (options.after !== undefined && !UUID_PATTERN.test(options.after)) {
      throw new KurabanError('SEARCH_INVALID', 'invalid cursor', { details: [{ reason: 'invalid_cursor' }] });
    }
    const limit = Math.min(Math.max(1, Math.floor(options.limit)), MAX_SEARCH_LIMIT);
    const terms: IndexTerm[] = [];
    for (const w of wanted) {
      const key = await this.deps.keyring.fieldIndexKey(this.deps.store, tenantId, collection.id, w.field.name);
      terms.push({ field: w.field.name, digest: blindIndex(key, w.normalised) });
    }
    const ids = await this.deps.store.searchRecordIds(collection.id, terms, limit + 1, options.after);
    const page = ids.slice(0, limit);
    const rows = await this.deps.store.getRecords(collection.id, page);
    const records: VaultRecord[] = [];
    for (const row of rows) {
      const rec = await this.open(collection, row);
      if (wanted.every((w) => rec.fields[w.field.name] !== undefined && normaliseForIndex(w.field, rec.fields[w.field.name] as RecordValues[string]) === w.normalised)) {
        records.push(rec);
      }
    }
    const last = page[page.length - 1];
    return ids.length > limit && last !== undefined ? { records, next: last } : { records };
  }

  /** Every record of a collection in id order, a page at a time (export). */
  async *scan(tenantId: string, collectionName: string, pageSize = 1000): AsyncGenerator<VaultRecord> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    let after: string | undefined;
    for (;;) {
      const rows = await this.deps.store.listRecords(collection.id, pageSize, after);
      for (const row of rows) yield await this.open(collection, row);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]?.id;
    }
  }

  async count(tenantId: string, collectionName: string): Promise<number> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    return this.deps.store.countRecords(collection.id);
  }

  private async insert(
    collection: Collection,
    inputs: readonly RecordInput[],
    options: CreateManyOptions,
    now: string,
  ): Promise<CreateManyResult & { prepared: Prepared[] }> {
    const rejected: Rejected[] = [];
    let prepared: Prepared[] = [];
    const indexKeys = await this.indexKeys(collection);
    for (let i = 0; i < inputs.length; i++) {
      const problems: ErrorDetail[] = [];
      const p = this.prepare(collection, indexKeys, inputs[i] as RecordInput, i, this.deps.newId(), problems);
      if (p) prepared.push(p);
      else rejected.push({ index: i, problems });
    }
    if (options.mode === 'atomic' && rejected.length > 0) {
      throw new KurabanError('RECORD_INVALID', undefined, {
        details: rejected.flatMap((r) => r.problems.map((d) => (inputs.length > 1 ? { ...d, index: r.index } : d))),
      });
    }
    const duplicates = await this.checkUnique(collection, prepared, new Set(), options.mode);
    if (duplicates.length > 0) {
      const bad = new Set(duplicates.map((d) => d.index));
      prepared = prepared.filter((p) => !bad.has(p.index));
      rejected.push(...duplicates);
      rejected.sort((a, b) => a.index - b.index);
    }
    await this.deps.store.transaction(async (tx) => {
      const rows = await this.encryptAll(tx, collection, prepared, now);
      await tx.insertRecords(
        rows,
        prepared.flatMap((p) => p.digests),
      );
      if (options.inTransaction) await options.inTransaction(tx, { created: rows.length, rejected });
    });
    return { created: prepared.map((p) => ({ index: p.index, id: p.id, version: 1 })), rejected, prepared };
  }

  private async encryptAll(tx: StoreTx, collection: Collection, prepared: readonly Prepared[], now: string): Promise<RecordRow[]> {
    const subjects = prepared.flatMap((p) => (p.subjectId === null ? [] : [p.subjectId]));
    const subjectKeys = subjects.length > 0 ? await this.deps.keyring.subjectKeysForWrite(tx, collection.tenantId, subjects) : new Map<string, DataKey>();
    const collectionKey = prepared.some((p) => p.subjectId === null)
      ? await this.deps.keyring.collectionKey(tx, collection.tenantId, collection.id)
      : undefined;
    return prepared.map((p) => {
      const key = (p.subjectId === null ? collectionKey : subjectKeys.get(p.subjectId)) as DataKey;
      const ciphertext = encryptRecord(key.key, p.values, {
        tenantId: collection.tenantId,
        collectionId: collection.id,
        recordId: p.id,
        version: 1,
        subjectId: p.subjectId,
        keyVersion: key.version,
      });
      return {
        collectionId: collection.id,
        id: p.id,
        tenantId: collection.tenantId,
        subjectId: p.subjectId,
        version: 1,
        keyVersion: key.version,
        ciphertext,
        createdAt: now,
        updatedAt: now,
      };
    });
  }

  private async writeKey(tx: StoreTx, collection: Collection, subjectId: string | null): Promise<DataKey> {
    if (subjectId === null) return this.deps.keyring.collectionKey(tx, collection.tenantId, collection.id);
    const keys = await this.deps.keyring.subjectKeysForWrite(tx, collection.tenantId, [subjectId]);
    return keys.get(subjectId) as DataKey;
  }

  /** The blind-index key of every indexed field, fetched once per call rather than per record. */
  private async indexKeys(collection: Collection): Promise<Map<string, Buffer>> {
    const keys = new Map<string, Buffer>();
    for (const f of collection.schema.fields) {
      if (f.searchable || f.unique) keys.set(f.name, await this.deps.keyring.fieldIndexKey(this.deps.store, collection.tenantId, collection.id, f.name));
    }
    return keys;
  }

  private prepare(
    collection: Collection,
    indexKeys: ReadonlyMap<string, Buffer>,
    input: RecordInput,
    index: number,
    id: string,
    problems: ErrorDetail[],
  ): Prepared | undefined {
    if (typeof input !== 'object' || input === null) {
      problems.push({ reason: 'record_not_object' });
      return undefined;
    }
    const subjectId = input.subjectId ?? null;
    if (subjectId !== null && (typeof subjectId !== 'string' || !SUBJECT_ID_PATTERN.test(subjectId))) {
      problems.push({ field: 'subjectId', reason: 'invalid_subject_id' });
    }
    const { values, problems: fieldProblems } = validateRecord(collection.schema, input.fields);
    problems.push(...fieldProblems);
    if (problems.length > 0) return undefined;
    if (Buffer.byteLength(JSON.stringify(values)) > 256 * 1024) {
      problems.push({ reason: 'record_too_large' });
      return undefined;
    }
    const digests: IndexRow[] = [];
    for (const f of collection.schema.fields) {
      const key = indexKeys.get(f.name);
      const v = values[f.name];
      if (key === undefined || v === undefined) continue;
      digests.push({ collectionId: collection.id, field: f.name, digest: blindIndex(key, normaliseForIndex(f, v)), recordId: id, unique: f.unique });
    }
    return { index, id, subjectId, values, digests };
  }

  /**
   * Unique fields: a value may appear once per collection. Duplicates inside the batch and against
   * stored records are found before writing; the database's unique index stays the final guard.
   */
  private async checkUnique(collection: Collection, prepared: readonly Prepared[], self: ReadonlySet<string>, mode: CreateManyOptions['mode']): Promise<Rejected[]> {
    const uniqueRows = prepared.flatMap((p) => p.digests.filter((d) => d.unique).map((d) => ({ p, d })));
    if (uniqueRows.length === 0) return [];
    const out = new Map<number, ErrorDetail[]>();
    const seen = new Map<string, number>();
    for (const { p, d } of uniqueRows) {
      const k = `${d.field}\0${d.digest.toString('base64')}`;
      if (seen.has(k)) out.set(p.index, [...(out.get(p.index) ?? []), { field: d.field, reason: 'duplicate_in_batch' }]);
      else seen.set(k, p.index);
    }
    const taken = await this.deps.store.findUniqueDigests(
      collection.id,
      uniqueRows.map(({ d }) => ({ field: d.field, digest: d.digest })),
    );
    for (const t of taken) {
      if (self.has(t.recordId)) continue;
      for (const { p, d } of uniqueRows) {
        if (d.field === t.field && d.digest.equals(t.digest)) out.set(p.index, [...(out.get(p.index) ?? []), { field: d.field, reason: 'unique_violation' }]);
      }
    }
    if (out.size === 0) return [];
    const rejected = [...out].map(([index, problems]) => ({ index, problems }));
    if (mode === 'atomic') {
      throw new KurabanError('UNIQUE_VIOLATION', undefined, {
        details: rejected.flatMap((r) => r.problems.map((d) => (prepared.length > 1 ? { ...d, index: r.index } : d))),
      });
    }
    return rejected;
  }

  private async open(collection: Collection, row: RecordRow, ops: StoreOps = this.deps.store): Promise<VaultRecord> {
    const key =
      row.subjectId === null
        ? await this.deps.keyring.collectionKey(ops, collection.tenantId, collection.id, row.keyVersion)
        : await this.deps.keyring.subjectKey(ops, collection.tenantId, row.subjectId, row.keyVersion);
    const fields = decryptRecord(key.key, row.ciphertext, {
      tenantId: collection.tenantId,
      collectionId: collection.id,
      recordId: row.id,
      version: row.version,
      subjectId: row.subjectId,
      keyVersion: row.keyVersion,
    });
    return { id: row.id, subjectId: row.subjectId, version: row.version, createdAt: row.createdAt, updatedAt: row.updatedAt, fields };
  }
}
