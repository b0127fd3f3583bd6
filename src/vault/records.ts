import { blindIndex } from '../crypto/index.js';
import { KurabanError, type ErrorDetail } from '../errors/index.js';
import type { DataKey, Keyring } from '../keys/index.js';
import { NAME_PATTERN, normaliseForIndex, validateRecord, type FieldDef, type RecordValues } from '../schema/index.js';
import type { IndexTerm, RecordRow, Store, StoreOps, StoreTx } from '../store/index.js';
import type { AccessLog } from './access-log.js';
import { auditEntries, type Audit } from './audit.js';
import type { Collection, Collections } from './collections.js';
import { openRecordValues } from './open-record.js';
import { UUID_PATTERN } from './record-id.js';
import type { RecordInput, Rejected, SealJob, SealOutput } from './seal-batch.js';
import type { Sealer } from './sealer.js';
import { tokenFields, type RecordTokens, type Tokens } from './tokens.js';

export type { RecordInput, Rejected } from './seal-batch.js';

export interface VaultRecord {
  readonly id: string;
  readonly subjectId: string | null;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly fields: RecordValues;
  /** On writes: the tokens of the record's tokenised fields (docs/tokens.md). */
  readonly tokens?: RecordTokens;
}

export interface CreateManyOptions {
  /** 'atomic': any invalid record fails the whole call. 'skip-invalid': invalid ones are returned as rejected. */
  readonly mode: 'atomic' | 'skip-invalid';
  /** Runs inside the same transaction as the insert (e.g. an import's resume checkpoint). */
  readonly inTransaction?: (tx: StoreTx, result: { created: number; rejected: readonly Rejected[] }) => Promise<void>;
  /** Who writes: one log entry per call (split if it lists more than 1,000 ids), in the insert's transaction. */
  readonly audit?: Audit;
  /** The action the entry names; default `record.create`. */
  readonly auditAction?: 'record.create' | 'record.import';
}

export interface CreateManyResult {
  readonly created: ReadonlyArray<{ readonly index: number; readonly id: string; readonly version: number; readonly tokens?: RecordTokens }>;
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
  readonly sealer: Sealer;
  readonly clock: () => Date;
  readonly newId: () => string;
  /** Where audited writes append their log entry, in the write's own transaction. */
  readonly accessLog: AccessLog;
  /** Makes the tokens of tokenised fields; they are registered in the write's transaction. */
  readonly tokens: Tokens;
}

/**
 * A batch whose keys are gathered and whose sealing has been handed to the sealer (see
 * Records.prepareMany); `sealed` settles when the worker is done.
 */
export interface PreparedBatch {
  readonly collection: Collection;
  readonly inputs: readonly RecordInput[];
  readonly ids: readonly string[];
  readonly options: CreateManyOptions;
  readonly now: string;
  readonly version: number;
  readonly returnValues: boolean;
  readonly sealed: Promise<SealOutput>;
}

interface CommittedBatch {
  readonly batch: PreparedBatch;
  readonly sealed: SealOutput;
  /** Per record row of `sealed`, its tokens (empty objects when the collection tokenises nothing). */
  readonly tokens: readonly RecordTokens[];
}

/** The declared field names present in the inputs (names only; never values). */
function fieldsOf(collection: Collection, inputs: readonly RecordInput[]): string[] {
  const names = new Set<string>();
  const declared = collection.schema.fields;
  for (const input of inputs) {
    const fields = input?.fields;
    if (typeof fields !== 'object' || fields === null) continue;
    for (const f of declared) if (!names.has(f.name) && Object.hasOwn(fields, f.name)) names.add(f.name);
    if (names.size === declared.length) break;
  }
  return [...names];
}

/** A subject key was created concurrently by another writer: seal again with the stored key. */
class SubjectKeyRace extends Error {}
/** A key the batch was sealed under was erased, retired or rotated away meanwhile: seal again. */
class StaleKey extends Error {}

type KeyRef = { readonly kind: 'tenant' | 'collection' | 'subject'; readonly scopeId: string; readonly version: number };

/** The stored keys a sealed batch depends on: existing data keys it encrypted under, and the tenant key that wrapped its new keys. */
function keysUsed(tenantId: string, collectionId: string, sealed: SealOutput): KeyRef[] {
  const refs = new Map<string, KeyRef>();
  const fresh = new Set(sealed.newKeys.map((k) => k.scopeId));
  for (const r of sealed.records) {
    if (r.subjectId !== null && fresh.has(r.subjectId)) continue; // created with this batch
    const ref: KeyRef = r.subjectId === null ? { kind: 'collection', scopeId: collectionId, version: r.keyVersion } : { kind: 'subject', scopeId: r.subjectId, version: r.keyVersion };
    refs.set(`${ref.kind}\0${ref.scopeId}\0${ref.version}`, ref);
  }
  const wrapper = sealed.newKeys[0]?.wrappedBy;
  if (wrapper !== undefined) refs.set('tenant', { kind: 'tenant', scopeId: tenantId, version: wrapper });
  return [...refs.values()];
}

/** `tokens` on a written record only when the collection tokenises something. */
function withTokens(tokens: RecordTokens | undefined): { tokens?: RecordTokens } {
  return tokens !== undefined && Object.keys(tokens).length > 0 ? { tokens } : {};
}

export const MAX_BATCH = 10_000;
export const MAX_SEARCH_LIMIT = 1000;

/** Records: validate → index → encrypt under the subject's or the collection's key → store, and back. */
export class Records {
  /** Per tenant: whether the last store look-up of uncached subjects found none (see seal()). */
  private readonly newSubjectsLast = new Map<string, boolean>();

  constructor(private readonly deps: RecordsDeps) {}

  async create(tenantId: string, collectionName: string, input: RecordInput, audit?: Audit): Promise<VaultRecord> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const options: CreateManyOptions = audit ? { mode: 'atomic', audit } : { mode: 'atomic' };
    const { batch, sealed, tokens } = await this.commit(await this.prepare(collection, [input], options, 1, undefined, true));
    const row = sealed.records[0] as RecordRow;
    return { id: row.id, subjectId: row.subjectId, version: 1, createdAt: batch.now, updatedAt: batch.now, fields: sealed.values?.[0] ?? {}, ...withTokens(tokens[0]) };
  }

  async createMany(tenantId: string, collectionName: string, inputs: readonly RecordInput[], options: CreateManyOptions): Promise<CreateManyResult> {
    return this.commitPrepared(await this.prepareMany(tenantId, collectionName, inputs, options));
  }

  /**
   * First half of createMany: gathers the keys (reads) and hands validation, indexing and
   * encryption to the sealer (a worker thread for large batches), without waiting for it. An
   * importer prepares batch k+1 and then commits batch k, so sealing and writing overlap.
   */
  async prepareMany(tenantId: string, collectionName: string, inputs: readonly RecordInput[], options: CreateManyOptions): Promise<PreparedBatch> {
    if (inputs.length > MAX_BATCH) throw new KurabanError('BATCH_TOO_LARGE', `at most ${MAX_BATCH} records per batch`);
    const collection = await this.deps.collections.get(tenantId, collectionName);
    return this.prepare(collection, inputs, options, 1, undefined, false);
  }

  /** Second half of createMany: unique checks, then one transaction for keys, records and indexes. */
  async commitPrepared(prepared: PreparedBatch): Promise<CreateManyResult> {
    const { sealed, tokens } = await this.commit(prepared);
    return {
      created: sealed.records.map((r, i) => ({ index: sealed.positions[i] as number, id: r.id, version: r.version, ...withTokens(tokens[i]) })),
      rejected: sealed.rejected,
    };
  }

  async get(tenantId: string, collectionName: string, id: string): Promise<VaultRecord> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const row = UUID_PATTERN.test(id) ? await this.deps.store.getRecord(collection.id, id) : undefined;
    // A record of another tenant is in another collection id: it is simply not found here.
    if (!row || row.tenantId !== tenantId) throw new KurabanError('RECORD_NOT_FOUND');
    return this.open(collection, row);
  }

  /** Replaces a record's fields (and optionally its subject) if its version is `expectedVersion`. */
  async update(tenantId: string, collectionName: string, id: string, expectedVersion: number, input: RecordInput, audit?: Audit): Promise<VaultRecord> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const existing = UUID_PATTERN.test(id) ? await this.deps.store.getRecord(collection.id, id) : undefined;
    if (!existing || existing.tenantId !== tenantId) throw new KurabanError('RECORD_NOT_FOUND');
    if (existing.version !== expectedVersion) throw new KurabanError('VERSION_CONFLICT');
    const subjectId = input.subjectId === undefined ? existing.subjectId : input.subjectId;
    const prepared = await this.prepare(collection, [{ subjectId, fields: input.fields }], { mode: 'atomic' }, existing.version + 1, [id], true);
    const { sealed, tokens } = await this.commit(prepared, async (tx, s) => {
      const row = s.records[0] as RecordRow;
      const ok = await tx.replaceRecord({ ...row, createdAt: existing.createdAt }, expectedVersion, s.index);
      if (!ok) throw new KurabanError('VERSION_CONFLICT');
      // The record's tokens are re-issued with the new values (registered by commit after this).
      await tx.deleteRecordTokens(collection.id, [id]);
      if (audit) {
        const touched = { collection: collection.name, records: [id], subjects: [existing.subjectId, row.subjectId], fields: fieldsOf(collection, [input]) };
        await this.deps.accessLog.append(tx, ...auditEntries(audit, tenantId, 'record.update', touched, 'ok', this.deps.clock()));
      }
    });
    const row = sealed.records[0] as RecordRow;
    return { id, subjectId: row.subjectId, version: row.version, createdAt: existing.createdAt, updatedAt: row.updatedAt, fields: sealed.values?.[0] ?? {}, ...withTokens(tokens[0]) };
  }

  async delete(tenantId: string, collectionName: string, id: string, expectedVersion?: number, audit?: Audit): Promise<void> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const existing = UUID_PATTERN.test(id) ? await this.deps.store.getRecord(collection.id, id) : undefined;
    if (!existing || existing.tenantId !== tenantId) throw new KurabanError('RECORD_NOT_FOUND');
    if (expectedVersion !== undefined && existing.version !== expectedVersion) throw new KurabanError('VERSION_CONFLICT');
    const ok = await this.deps.store.transaction(async (tx) => {
      const done = await tx.deleteRecord(collection.id, id, expectedVersion);
      // A deleted record's tokens resolve to nothing: their registry rows go with it.
      if (done) await tx.deleteRecordTokens(collection.id, [id]);
      if (done && audit) {
        const touched = { collection: collection.name, records: [id], subjects: [existing.subjectId] };
        await this.deps.accessLog.append(tx, ...auditEntries(audit, tenantId, 'record.delete', touched, 'ok', this.deps.clock()));
      }
      return done;
    });
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
        problems.push(NAME_PATTERN.test(name) ? { field: name, reason: 'unknown_field' } : { reason: 'unknown_field' });
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

  private async prepare(
    collection: Collection,
    inputs: readonly RecordInput[],
    options: CreateManyOptions,
    version: number,
    ids: readonly string[] | undefined,
    returnValues: boolean,
  ): Promise<PreparedBatch> {
    const now = this.deps.clock().toISOString();
    const recordIds = ids ?? inputs.map(() => this.deps.newId());
    const { job, uncached } = await this.sealJob(collection, inputs, recordIds, version, now, returnValues);
    const sealed = this.seal(job, uncached);
    sealed.catch(() => {}); // observed by commit(); never an unhandled rejection if the batch is abandoned
    return { collection, inputs, ids: recordIds, options, now, version, returnValues, sealed };
  }

  /**
   * Seals a job whose subject keys came from the cache, once the store has said which `uncached`
   * subjects have a key (or an erasure tombstone). Where the sealer works apart (a worker) and this
   * tenant's last look-up found none of its subjects in the store (a load of new people), sealing
   * starts at once, as though every uncached subject were new, while the look-up runs: if it then
   * finds any, that work is dropped and the batch sealed again with their keys, and the tenant goes
   * back to looking up first. Either way the batch is sealed with exactly the keys the store holds;
   * a key created meanwhile by another writer is caught at commit (SubjectKeyRace).
   */
  private async seal(job: SealJob, uncached: readonly string[]): Promise<SealOutput> {
    const { keyring, sealer, store } = this.deps;
    if (uncached.length === 0) return sealer.seal(job);
    const ahead = this.newSubjectsLast.get(job.tenantId) === true && sealer.sealsApart(job.inputs.length) ? sealer.seal(job) : undefined;
    ahead?.catch(() => {});
    const stored = await keyring.storedSubjectKeys(store, job.tenantId, uncached);
    const allNew = stored.existing.size === 0 && stored.nextVersions.size === 0;
    this.newSubjectsLast.set(job.tenantId, allNew);
    if (allNew) return ahead ?? sealer.seal(job);
    return sealer.seal({
      ...job,
      subjectKeys: [...job.subjectKeys, ...stored.existing],
      ...(stored.nextVersions.size > 0 ? { subjectNextVersions: [...stored.nextVersions] } : {}),
    });
  }

  /** The job with the subject keys the cache holds, and the subjects it does not (for seal() to look up). */
  private async sealJob(
    collection: Collection,
    inputs: readonly RecordInput[],
    ids: readonly string[],
    version: number,
    now: string,
    returnValues: boolean,
  ): Promise<{ job: SealJob; uncached: string[] }> {
    const { keyring, store } = this.deps;
    const tokenised = tokenFields(collection);
    const subjects: string[] = [];
    let needsCollectionKey = false;
    for (const input of inputs) {
      const s = typeof input === 'object' && input !== null ? input.subjectId : undefined;
      if (typeof s === 'string') subjects.push(s);
      else needsCollectionKey = true;
    }
    const indexKeys: Array<[string, Buffer]> = [];
    for (const f of collection.schema.fields) {
      if (f.searchable || f.unique) indexKeys.push([f.name, await keyring.fieldIndexKey(store, collection.tenantId, collection.id, f.name)]);
    }
    const { existing, missing } = subjects.length > 0 ? keyring.cachedSubjectKeys(collection.tenantId, subjects) : { existing: new Map<string, DataKey>(), missing: [] };
    const job: SealJob = {
      tenantId: collection.tenantId,
      collectionId: collection.id,
      fields: collection.schema.fields,
      indexKeys,
      collectionKey: needsCollectionKey ? await keyring.collectionKey(store, collection.tenantId, collection.id) : null,
      tenantKey: await keyring.tenantWrappingKey(store, collection.tenantId),
      subjectKeys: [...existing],
      inputs,
      ids,
      version,
      now,
      returnValues,
      ...(tokenised.length > 0 ? { tokenFields: tokenised } : {}),
    };
    return { job, uncached: missing };
  }

  /**
   * Unique checks, then one transaction: new subject keys, then the rows (or `write` for updates),
   * then the caller's hook. If another writer created one of our new subject keys first, the insert
   * count tells, and the batch is sealed again with the stored key.
   */
  private async commit(batch: PreparedBatch, write?: (tx: StoreTx, sealed: SealOutput) => Promise<void>): Promise<CommittedBatch> {
    let current = batch;
    for (let attempt = 1; ; attempt++) {
      const raw = await current.sealed;
      if (current.options.mode === 'atomic' && raw.rejected.length > 0) {
        throw new KurabanError('RECORD_INVALID', undefined, {
          details: raw.rejected.flatMap((r) => r.problems.map((d) => (current.inputs.length > 1 ? { ...d, index: r.index } : d))),
        });
      }
      const sealed = await this.dropUniqueConflicts(current, raw);
      const tokens = sealed.tokenValues
        ? await this.deps.tokens.forRecords(current.collection, sealed.records, sealed.tokenValues, current.now)
        : { rows: [], tokens: sealed.records.map(() => ({})) };
      try {
        await this.deps.store.transaction(async (tx) => {
          const newKeys = sealed.newKeys; // only keys some record uses (dropUniqueConflicts drops the others with their records)
          // The keys this batch was sealed under must still exist as it lands (held until commit):
          // a subject erased or a key version retired meanwhile, perhaps by another process whose
          // change our key cache has not seen, must not receive rows no key can open.
          const refs = keysUsed(current.collection.tenantId, current.collection.id, sealed);
          if (refs.length > 0 && (await tx.lockWrappedKeys(current.collection.tenantId, refs)) !== refs.length) {
            for (const r of refs) this.deps.keyring.forget(current.collection.tenantId, r.kind, r.scopeId, [r.version]);
            throw new StaleKey();
          }
          if (newKeys.length > 0 && (await tx.insertWrappedKeys(newKeys, true)) !== newKeys.length) throw new SubjectKeyRace();
          if (write) {
            await write(tx, sealed);
            if (tokens.rows.length > 0) await tx.insertTokens(tokens.rows);
          } else {
            await tx.insertRecords(sealed.records, sealed.index);
            if (tokens.rows.length > 0) await tx.insertTokens(tokens.rows);
            const audit = current.options.audit;
            if (audit && sealed.records.length > 0) {
              const touched = {
                collection: current.collection.name,
                records: sealed.records.map((r) => r.id),
                subjects: sealed.records.map((r) => r.subjectId),
                fields: fieldsOf(current.collection, sealed.positions.map((p) => current.inputs[p] as RecordInput)),
              };
              const action = current.options.auditAction ?? 'record.create';
              await this.deps.accessLog.append(tx, ...auditEntries(audit, current.collection.tenantId, action, touched, 'ok', this.deps.clock()));
            }
          }
          if (current.options.inTransaction) await current.options.inTransaction(tx, { created: sealed.records.length, rejected: sealed.rejected });
        });
      } catch (e) {
        if (!(e instanceof SubjectKeyRace || e instanceof StaleKey) || attempt >= 3) throw e;
        current = await this.prepare(current.collection, current.inputs, current.options, current.version, current.ids, current.returnValues);
        continue;
      }
      // New subject keys are not cached (a bulk load would only churn the cache; a later read loads
      // them), and their material never left sealBatch.
      return { batch: current, sealed, tokens: tokens.tokens };
    }
  }

  /**
   * Unique fields: a value may appear once per collection. Duplicates inside the batch and against
   * stored records are found before writing; the database's unique index stays the final guard.
   * Atomic batches fail whole; skip-invalid batches drop the offending records into `rejected`.
   */
  private async dropUniqueConflicts(batch: PreparedBatch, sealed: SealOutput): Promise<SealOutput> {
    const { collection } = batch;
    const uniqueRows = sealed.index.filter((d) => d.unique);
    if (uniqueRows.length === 0) return sealed;
    const positionOf = new Map(sealed.records.map((r, i) => [r.id, sealed.positions[i] as number]));
    const problems = new Map<string, ErrorDetail[]>();
    const add = (recordId: string, d: ErrorDetail) => problems.set(recordId, [...(problems.get(recordId) ?? []), d]);
    const seen = new Set<string>();
    for (const d of uniqueRows) {
      const k = `${d.field}\0${d.digest.toString('base64')}`;
      if (seen.has(k)) add(d.recordId, { field: d.field, reason: 'duplicate_in_batch' });
      else seen.add(k);
    }
    const taken = await this.deps.store.findUniqueDigests(
      collection.id,
      uniqueRows.map((d) => ({ field: d.field, digest: d.digest })),
    );
    for (const t of taken) {
      for (const d of uniqueRows) {
        if (d.recordId !== t.recordId && d.field === t.field && d.digest.equals(t.digest)) add(d.recordId, { field: d.field, reason: 'unique_violation' });
      }
    }
    if (problems.size === 0) return sealed;
    const rejected = [...problems].map(([id, p]) => ({ index: positionOf.get(id) as number, problems: p }));
    if (batch.options.mode === 'atomic') {
      throw new KurabanError('UNIQUE_VIOLATION', undefined, {
        details: rejected.flatMap((r) => r.problems.map((d) => (batch.inputs.length > 1 ? { ...d, index: r.index } : d))),
      });
    }
    const keep = sealed.records.map((r) => !problems.has(r.id));
    const records = sealed.records.filter((_r, i) => keep[i]);
    const used = new Set(records.map((r) => r.subjectId));
    return {
      ...sealed,
      records,
      newKeys: sealed.newKeys.filter((k) => used.has(k.scopeId)), // a key only dropped records needed is not stored
      positions: sealed.positions.filter((_p, i) => keep[i]),
      index: sealed.index.filter((d) => !problems.has(d.recordId)),
      ...(sealed.values ? { values: sealed.values.filter((_v, i) => keep[i]) } : {}),
      ...(sealed.tokenValues ? { tokenValues: sealed.tokenValues.filter((_v, i) => keep[i]) } : {}),
      rejected: [...sealed.rejected, ...rejected].sort((a, b) => a.index - b.index),
    };
  }

  private async open(collection: Collection, row: RecordRow, ops: StoreOps = this.deps.store): Promise<VaultRecord> {
    const fields = await openRecordValues(this.deps.keyring, ops, collection, row);
    return { id: row.id, subjectId: row.subjectId, version: row.version, createdAt: row.createdAt, updatedAt: row.updatedAt, fields };
  }
}
