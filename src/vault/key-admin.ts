import { KurabanError } from '../errors/index.js';
import { isTombstone, type Keyring, type RootKeyProvider } from '../keys/index.js';
import type { LogAction } from '../ledger/index.js';
import type { KeyJobRow, ReencryptRow, Store, StoreOps } from '../store/index.js';
import type { AccessLog } from './access-log.js';
import { auditEntries, type Audit, type Touched } from './audit.js';
import type { Collections } from './collections.js';
import { open, seal } from '../crypto/index.js';
import { recordAad } from './record-crypto.js';

/**
 * Rotation of every key below the root, and the root itself (src/keys/NOTES.md "Rotation").
 *
 * - root: every tenant key re-wrapped under the new root key, in one transaction (a few rows).
 * - tenant: a new tenant key version wraps new keys at once; `rewrap` moves the tenant's existing
 *   key rows to it a batch at a time (resumable); then the old version can be retired.
 * - data (a collection's key, or every subject key of a tenant): a new version encrypts new writes
 *   at once; `reencrypt` moves existing records to it a batch at a time (resumable, throttled, with
 *   progress); then old versions can be retired (subject keys are retired by the job itself).
 *
 * Records never change for root and tenant rotation; data rotation re-encrypts them without
 * changing their version (the content is the same). Every step is an access-log entry.
 */
export interface KeyAdminDeps {
  readonly store: Store;
  readonly keyring: Keyring;
  readonly collections: Collections;
  readonly accessLog: AccessLog;
  readonly clock: () => Date;
}

export interface JobOptions {
  /** Records (or key rows) per transaction. Default 1000. */
  readonly batch?: number;
  /** At most this many per second (throttle); default unlimited. */
  readonly maxRate?: number;
  readonly onProgress?: (job: KeyJobRow) => void;
  /** Stops between batches when aborted; the job resumes where it stopped on the next run. */
  readonly signal?: AbortSignal;
}

export interface KeyStatus {
  readonly tenantId: string;
  readonly tenantKey: { readonly current: number; readonly versions: ReadonlyArray<{ readonly version: number; readonly wraps: number }> };
  readonly collections: ReadonlyArray<{
    readonly name: string;
    readonly current: number;
    readonly versions: ReadonlyArray<{ readonly version: number; readonly records: number }>;
    /** Token key versions and the issued tokens registered under each (docs/tokens.md); absent until the collection tokenises. */
    readonly tokenKeys?: ReadonlyArray<{ readonly version: number; readonly tokens: number }>;
  }>;
  readonly subjectKeys: number;
  readonly jobs: readonly KeyJobRow[];
}

/** The scope id of the subject-key re-encryption job. */
export const SUBJECTS_SCOPE = '*subjects';
const DEFAULT_BATCH = 1000;

export class KeyAdmin {
  constructor(private readonly deps: KeyAdminDeps) {}

  /** Re-wraps every tenant key under `next`, and makes `next` the vault's root key, in one transaction. */
  async rotateRoot(next: RootKeyProvider, currentRootKeyId: string, audit: Audit): Promise<{ tenants: number; rootKeyId: string }> {
    if (next.keyId === currentRootKeyId) throw new KurabanError('KEY_ROTATION_INVALID', 'the new root key is the one in use');
    return this.deps.store.transaction(async (tx) => {
      const oldCheck = await tx.getMeta('root_check');
      if (oldCheck === undefined) throw new KurabanError('KEY_ROTATION_INVALID', 'vault has no root check value');
      const { rewrapped, rootCheck } = await this.deps.keyring.rewrapTenantKeysUnder(tx, next);
      if (!(await tx.replaceMeta('root_key_id', currentRootKeyId, next.keyId)) || !(await tx.replaceMeta('root_check', oldCheck, rootCheck))) {
        throw new KurabanError('KEY_ROTATION_INVALID', 'root key changed during rotation');
      }
      const tenants = await tx.listTenants();
      for (const t of tenants) await this.log(tx, audit, t.id, 'key.rotate_root', {});
      return { tenants: rewrapped, rootKeyId: next.keyId };
    });
  }

  /** A new tenant key version; returns it. Run `rewrap` next to move existing keys under it. */
  async rotateTenant(tenantId: string, audit: Audit): Promise<number> {
    return this.deps.store.transaction(async (tx) => {
      const version = await this.deps.keyring.rotateTenantKey(tx, tenantId);
      await this.log(tx, audit, tenantId, 'key.rotate_tenant', {});
      return version;
    });
  }

  /** Moves the tenant's key rows under its newest tenant key, a batch per transaction. Resumable. */
  async rewrap(tenantId: string, audit: Audit, options: JobOptions = {}): Promise<KeyJobRow> {
    const current = await this.deps.store.getWrappedKey(tenantId, 'tenant', tenantId);
    if (!current) throw new KurabanError('TENANT_NOT_FOUND');
    const remaining = [...(await this.deps.store.countWrappedKeysByWrapper(tenantId))].reduce((n, [v, c]) => (v < current.version ? n + c : n), 0);
    let job = await this.startJob(tenantId, 'rewrap', tenantId, current.version, remaining);
    const batch = options.batch ?? DEFAULT_BATCH;
    for (;;) {
      if (options.signal?.aborted) return job;
      const started = Date.now();
      const current = job;
      const [next, moved] = await this.deps.store.transaction(async (tx) => {
        const n = await this.deps.keyring.rewrapBatch(tx, tenantId, batch);
        if (n > 0) await this.log(tx, audit, tenantId, 'key.rewrap', {});
        return [await this.progress(tx, current, n, n === 0), n] as const;
      });
      job = next;
      options.onProgress?.(job);
      if (moved === 0) return job;
      await throttle(moved, started, options.maxRate);
    }
  }

  /** A new version of a collection's data key; returns it. Run `reencrypt` next. */
  async rotateCollection(tenantId: string, collectionName: string, audit: Audit): Promise<number> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    return this.deps.store.transaction(async (tx) => {
      const version = await this.deps.keyring.rotateCollectionKey(tx, tenantId, collection.id);
      await this.log(tx, audit, tenantId, 'key.rotate_data', { collection: collection.name });
      return version;
    });
  }

  /**
   * A new version of a collection's token key (docs/tokens.md): new tokens are made under it at once;
   * tokens already issued keep resolving under the version they carry (deterministic) or their
   * registry row records (format-preserving); random tokens are look-ups and never change.
   */
  async rotateTokens(tenantId: string, collectionName: string, audit: Audit): Promise<number> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    return this.deps.store.transaction(async (tx) => {
      const version = await this.deps.keyring.rotateTokenKey(tx, tenantId, collection.id);
      await this.log(tx, audit, tenantId, 'key.rotate_token', { collection: collection.name });
      return version;
    });
  }

  /**
   * Starts (or continues) rotating every subject key of the tenant: each subject whose newest key
   * is older than the job gets a new version, its records are re-encrypted under it and its old
   * versions are destroyed, one subject per step and many subjects per transaction.
   */
  async rotateSubjects(tenantId: string, audit: Audit, options: JobOptions = {}): Promise<KeyJobRow> {
    const { store } = this.deps;
    const running = (await store.listKeyJobs(tenantId)).find((j) => j.kind === 'reencrypt' && j.scopeId === SUBJECTS_SCOPE && j.state === 'running');
    const now = this.deps.clock().toISOString();
    let job: KeyJobRow = running ?? {
      id: `reencrypt:${tenantId}:${SUBJECTS_SCOPE}:${now}`,
      tenantId,
      kind: 'reencrypt',
      scopeId: SUBJECTS_SCOPE,
      targetVersion: 0,
      state: 'running',
      done: 0,
      total: 0,
      cursor: null,
      startedAt: now,
      updatedAt: now,
    };
    if (!running) {
      job = { ...job, total: await store.countSubjectKeys(tenantId) };
      await store.transaction(async (tx) => {
        await tx.saveKeyJob(job);
        await this.log(tx, audit, tenantId, 'key.rotate_data', {});
      });
    }
    const batch = Math.max(1, Math.floor((options.batch ?? DEFAULT_BATCH) / 10));
    for (;;) {
      if (options.signal?.aborted) return job;
      const started = Date.now();
      // Every subject once, in id order from the job's cursor (saved with each batch, so a crash resumes after the last committed subject).
      const subjects = await store.listSubjectScopes(tenantId, batch, job.cursor ?? undefined);
      if (subjects.length === 0) {
        job = await this.progress(store, job, 0, true);
        options.onProgress?.(job);
        return job;
      }
      const current = job;
      const [next, touched] = await store.transaction(async (tx) => {
        const records: string[] = [];
        let rotated = 0;
        for (const subjectId of subjects) {
          const ids = await this.reencryptSubject(tx, tenantId, subjectId);
          if (ids !== undefined) {
            rotated++;
            records.push(...ids);
          }
        }
        await this.log(tx, audit, tenantId, 'key.reencrypt', { records, subjects });
        const saved = await this.progress(tx, { ...current, cursor: subjects[subjects.length - 1] as string }, rotated, false);
        return [saved, records.length] as const;
      });
      job = next;
      options.onProgress?.(job);
      await throttle(Math.max(touched, subjects.length), started, options.maxRate);
    }
  }

  /** Moves a collection's collection-keyed records under its newest data key version. Resumable. */
  async reencrypt(tenantId: string, collectionName: string, audit: Audit, options: JobOptions = {}): Promise<KeyJobRow> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const { keyring, store } = this.deps;
    const current = await store.getWrappedKey(tenantId, 'collection', collection.id);
    if (!current) throw new KurabanError('COLLECTION_NOT_FOUND');
    const target = current.version;
    const counts = await store.countRecordsByKeyVersion(collection.id);
    const remaining = [...counts.collection].reduce((n, [v, c]) => (v < target ? n + c : n), 0);
    let job = await this.startJob(tenantId, 'reencrypt', collection.id, target, remaining);
    const batch = options.batch ?? DEFAULT_BATCH;
    const targetKey = await keyring.collectionKey(store, tenantId, collection.id, target);
    let after: string | undefined;
    for (;;) {
      if (options.signal?.aborted) return job;
      const started = Date.now();
      const rows = await store.listCollectionKeyedRecordsBelow(collection.id, target, batch, after);
      if (rows.length === 0) {
        job = await this.progress(store, job, 0, true);
        options.onProgress?.(job);
        return job;
      }
      const current = job;
      job = await store.transaction(async (tx) => {
        const updates = [];
        for (const row of rows) {
          const old = await keyring.collectionKey(tx, tenantId, collection.id, row.keyVersion);
          const binding = { tenantId, collectionId: collection.id, recordId: row.id, version: row.version, subjectId: null, keyVersion: row.keyVersion };
          // The plaintext bytes move as they are (no parse): same content, new key, new AAD.
          const plain = open(old.key, row.ciphertext, recordAad(binding));
          updates.push({ id: row.id, version: row.version, fromKeyVersion: row.keyVersion, toKeyVersion: target, ciphertext: seal(targetKey.key, plain, recordAad({ ...binding, keyVersion: target })) });
          plain.fill(0);
        }
        // A record updated meanwhile was written under the newest key already: nothing to move (compare-and-set).
        const ids = await tx.reencryptRecords(collection.id, updates);
        if (ids.length > 0) await this.log(tx, audit, tenantId, 'key.reencrypt', { collection: collection.name, records: ids });
        return this.progress(tx, current, ids.length, false);
      });
      after = rows[rows.length - 1]?.id;
      options.onProgress?.(job);
      await throttle(rows.length, started, options.maxRate);
    }
  }

  /**
   * Destroys an old key version once nothing uses it: a tenant key version that wraps no key row,
   * or a collection key version that encrypts no record. KEY_ROTATION_INVALID otherwise.
   */
  async retire(tenantId: string, target: { readonly collection?: string; readonly version: number }, audit: Audit): Promise<void> {
    const collection = target.collection === undefined ? undefined : await this.deps.collections.get(tenantId, target.collection);
    const kind = collection ? 'collection' : 'tenant';
    const scopeId = collection ? collection.id : tenantId;
    await this.deps.store.transaction(async (tx) => {
      const latest = await tx.getWrappedKey(tenantId, kind, scopeId);
      if (!latest) throw new KurabanError(collection ? 'COLLECTION_NOT_FOUND' : 'TENANT_NOT_FOUND');
      if (target.version >= latest.version) throw new KurabanError('KEY_ROTATION_INVALID', 'the newest key version cannot be retired; rotate first');
      // Delete first, then count: on PostgreSQL the delete waits for writers holding the row (FOR
      // SHARE), and the count then sees what they wrote.
      if ((await tx.deleteWrappedKeys(tenantId, kind, scopeId, [target.version])) !== 1) throw new KurabanError('KEY_ROTATION_INVALID', 'no such key version (already retired?)');
      const inUse = collection
        ? ((await tx.countRecordsByKeyVersion(collection.id)).collection.get(target.version) ?? 0)
        : ((await tx.countWrappedKeysByWrapper(tenantId)).get(target.version) ?? 0);
      if (inUse > 0) {
        throw new KurabanError('KEY_ROTATION_INVALID', `version ${target.version} still protects ${inUse} ${collection ? 'records' : 'keys'}; run \`kuraban keys ${collection ? 'reencrypt' : 'rewrap'}\` first`);
      }
      await this.log(tx, audit, tenantId, 'key.retire', collection ? { collection: collection.name } : {});
      tx.onCommit(() => this.deps.keyring.forget(tenantId, kind, scopeId, [target.version]));
    });
  }

  async status(tenantId: string): Promise<KeyStatus> {
    const { store } = this.deps;
    const tenantRows = await store.listWrappedKeys({ tenantId, kind: 'tenant' });
    if (tenantRows.length === 0) throw new KurabanError('TENANT_NOT_FOUND');
    const wraps = await store.countWrappedKeysByWrapper(tenantId);
    const collections = [];
    for (const c of await this.deps.collections.list(tenantId)) {
      const rows = await store.listWrappedKeys({ tenantId, kind: 'collection', scopeId: c.id });
      const counts = await store.countRecordsByKeyVersion(c.id);
      const tokenRows = await store.listWrappedKeys({ tenantId, kind: 'token', scopeId: c.id });
      const tokenCounts = tokenRows.length > 0 ? await store.countTokensByKeyVersion(c.id) : new Map<number, number>();
      collections.push({
        name: c.name,
        current: Math.max(...rows.map((r) => r.version)),
        versions: rows.map((r) => ({ version: r.version, records: counts.collection.get(r.version) ?? 0 })),
        ...(tokenRows.length > 0 ? { tokenKeys: tokenRows.map((r) => ({ version: r.version, tokens: tokenCounts.get(r.version) ?? 0 })) } : {}),
      });
    }
    return {
      tenantId,
      tenantKey: { current: Math.max(...tenantRows.map((r) => r.version)), versions: tenantRows.map((r) => ({ version: r.version, wraps: wraps.get(r.version) ?? 0 })) },
      collections,
      subjectKeys: await store.countSubjectKeys(tenantId),
      jobs: await store.listKeyJobs(tenantId),
    };
  }

  /** One subject: new key version, its records re-encrypted under it, older versions destroyed. Returns record ids (undefined: erased, nothing to rotate). */
  private async reencryptSubject(tx: StoreOps & { onCommit(fn: () => void): void }, tenantId: string, subjectId: string): Promise<string[] | undefined> {
    const { keyring } = this.deps;
    const old = await tx.listWrappedKeys({ tenantId, kind: 'subject', scopeId: subjectId });
    // An erased subject (only a tombstone left) has nothing to rotate.
    if (old.every((r) => isTombstone(r))) return undefined;
    const next = await keyring.rotateSubjectKey(tx, tenantId, subjectId);
    const byCollection = new Map<string, ReencryptRow[]>();
    for (const row of await tx.listSubjectRecords(tenantId, subjectId)) {
      const key = await keyring.subjectKey(tx, tenantId, subjectId, row.keyVersion);
      const binding = { tenantId, collectionId: row.collectionId, recordId: row.id, version: row.version, subjectId, keyVersion: row.keyVersion };
      const plain = open(key.key, row.ciphertext, recordAad(binding));
      const ciphertext = seal(next.key, plain, recordAad({ ...binding, keyVersion: next.version }));
      plain.fill(0);
      const list = byCollection.get(row.collectionId) ?? [];
      list.push({ id: row.id, version: row.version, fromKeyVersion: row.keyVersion, toKeyVersion: next.version, ciphertext });
      byCollection.set(row.collectionId, list);
    }
    const ids: string[] = [];
    for (const [collectionId, rows] of byCollection) {
      // Inside the transaction nothing else writes these rows (SQLite's write lock; on PostgreSQL the
      // old key rows are deleted below, which waits for and then fails any writer still using them).
      const changed = await tx.reencryptRecords(collectionId, rows);
      if (changed.length !== rows.length) throw new KurabanError('KEY_ROTATION_INVALID', 'a record changed during re-encryption; run it again');
      ids.push(...changed);
    }
    const versions = old.map((r) => r.version);
    await tx.deleteWrappedKeys(tenantId, 'subject', subjectId, versions);
    tx.onCommit(() => keyring.forget(tenantId, 'subject', subjectId, versions));
    return ids;
  }

  private async startJob(tenantId: string, kind: KeyJobRow['kind'], scopeId: string, targetVersion: number, remaining: number): Promise<KeyJobRow> {
    const id = `${kind}:${tenantId}:${scopeId}:${targetVersion}`;
    const now = this.deps.clock().toISOString();
    const existing = await this.deps.store.getKeyJob(id);
    const job: KeyJobRow = existing
      ? { ...existing, state: 'running', total: existing.done + remaining, updatedAt: now }
      : { id, tenantId, kind, scopeId, targetVersion, state: 'running', done: 0, total: remaining, cursor: null, startedAt: now, updatedAt: now };
    await this.deps.store.saveKeyJob(job);
    return job;
  }

  /** Saves a job's progress — inside the batch's own transaction, so a crash never miscounts. */
  private async progress(ops: StoreOps, job: KeyJobRow, moved: number, finished: boolean): Promise<KeyJobRow> {
    const next: KeyJobRow = { ...job, done: job.done + moved, state: finished ? 'done' : 'running', updatedAt: this.deps.clock().toISOString() };
    await ops.saveKeyJob(next);
    return next;
  }

  private async log(tx: StoreOps, audit: Audit, tenantId: string, action: LogAction, touched: Touched): Promise<void> {
    await this.deps.accessLog.append(tx, ...auditEntries(audit, tenantId, action, touched, 'ok', this.deps.clock()));
  }
}

async function throttle(items: number, startedMs: number, maxRate: number | undefined): Promise<void> {
  if (maxRate === undefined || maxRate <= 0) return;
  const wait = (items / maxRate) * 1000 - (Date.now() - startedMs);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
