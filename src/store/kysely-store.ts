import { createHash } from 'node:crypto';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { KurabanError } from '../errors/index.js';
import type { Database } from './database.js';
import type {
  ApiKeyRow,
  PolicyRow,
  CollectionRow,
  ImportJobRow,
  IndexRow,
  KeyJobRow,
  ReencryptRow,
  IndexTerm,
  LogPendingEntry,
  LogPendingRow,
  LogStateRow,
  LogTileRow,
  LocationRow,
  RecordRow,
  ResidencyRow,
  TransferRow,
  TenantRow,
  TokenRow,
  FoundTokenRow,
  TokenRegistryScope,
  WrappedKeyKind,
  WrappedKeyRow,
} from './rows.js';
import { decodeIndexDigests, encodeIndexDigests } from './index-digests.js';
import type { Dialect, StoreOps } from './store.js';

/** What each backend supplies beyond portable Kysely queries: its bulk insert and its constraint names. */
export interface BackendSpecifics {
  readonly dialect: Dialect;
  bulkInsertRecords(db: Kysely<Database>, records: readonly RecordRow[], index: readonly IndexRow[]): Promise<void>;
  /** Inserts key rows, skipping existing ones when asked; returns how many were inserted. */
  bulkInsertWrappedKeys(db: Kysely<Database>, rows: readonly WrappedKeyRow[], ignoreExisting: boolean): Promise<number>;
  /** Token registry rows (inside a store transaction), skipping existing ones; returns how many were inserted. */
  bulkInsertTokens(db: Kysely<Database>, rows: readonly TokenRow[]): Promise<number>;
  /** StoreOps.findTokens in one query: on `db` inside a transaction (`inTransaction`), else on the read connection. */
  findTokens(db: Kysely<Database>, inTransaction: boolean, scope: TokenRegistryScope, hashes: readonly Buffer[]): Promise<FoundTokenRow[]>;
  /** Re-encrypted rows (inside a store transaction); returns the ids changed. */
  bulkReencrypt(db: Kysely<Database>, collectionId: string, rows: readonly ReencryptRow[]): Promise<string[]>;
  /**
   * Runs the migrator under a lock that serialises migrating processes. PostgreSQL: Kysely's own
   * advisory lock, so this just calls `fn`. SQLite: Kysely takes none, so the backend does.
   */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  /** The constraint or index a unique-violation error names, or undefined if `e` is not one. */
  uniqueViolation(e: unknown): string | undefined;
  /** The access log's hot path, used inside store transactions (outside, the plain queries below). */
  readonly logBulk: LogBulk;
}

/**
 * The access log's bulk statements (appending and integrating move thousands of rows per transaction):
 * each backend writes them its own way — SQLite as prepared multi-row statements, PostgreSQL with
 * unnest() arrays — with the semantics of the StoreOps methods of the same names (appendPending: SQLite
 * places entries at their index, PostgreSQL queues them). All but listPending run in a transaction.
 */
export interface LogBulk {
  appendPending(db: Kysely<Database>, tenantId: string, entries: readonly LogPendingEntry[]): Promise<void>;
  listPending(db: Kysely<Database>, tenantId: string, limit: number): Promise<LogPendingRow[]>;
  insertEntries(db: Kysely<Database>, tenantId: string, firstIndex: number, entries: readonly Buffer[]): Promise<void>;
  insertSubjects(db: Kysely<Database>, tenantId: string, rows: ReadonlyArray<{ readonly subjectId: string; readonly index: number }>): Promise<void>;
  /** Deletes exactly the pending rows `ids` of the tenant; returns how many there were. */
  deletePending(db: Kysely<Database>, tenantId: string, ids: readonly number[]): Promise<number>;
  putTiles(db: Kysely<Database>, tenantId: string, tiles: readonly LogTileRow[]): Promise<void>;
}

type Db = Kysely<Database> | Transaction<Database>;

/**
 * StoreOps over Kysely, shared by both backends. Writes go to `db`; reads outside a transaction go
 * to `read` (SQLite: a second, read-only connection, so reads proceed while a write transaction is
 * open; PostgreSQL: the same pool). Inside a transaction both are the transaction.
 */
export class KyselyStoreOps implements StoreOps {
  constructor(
    protected readonly db: Db,
    protected readonly backend: BackendSpecifics,
    protected readonly read: Db = db,
  ) {}

  /** Whether these ops run inside a store transaction (KyselyStoreTx). */
  protected isTransaction(): boolean {
    return false;
  }

  async getMeta(key: string): Promise<string | undefined> {
    const row = await this.read.selectFrom('kuraban_meta').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  async setMetaIfAbsent(key: string, value: string): Promise<string> {
    await this.db.insertInto('kuraban_meta').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
    const stored = await this.getMeta(key);
    if (stored === undefined) throw new KurabanError('STORE_UNAVAILABLE', 'metadata write was not visible');
    return stored;
  }

  async insertTenant(row: TenantRow): Promise<void> {
    await this.mapUnique(
      () => this.db.insertInto('tenants').values({ id: row.id, name: row.name, created_at: row.createdAt }).execute(),
      () => new KurabanError('TENANT_EXISTS'),
    );
  }

  async getTenant(id: string): Promise<TenantRow | undefined> {
    const r = await this.read.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return r && { id: r.id, name: r.name, createdAt: r.created_at };
  }

  async listTenants(): Promise<TenantRow[]> {
    const rows = await this.read.selectFrom('tenants').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
  }

  async insertWrappedKeys(rows: readonly WrappedKeyRow[], ignoreExisting: boolean): Promise<number> {
    if (rows.length === 0) return 0;
    return this.backend.bulkInsertWrappedKeys(this.db, rows, ignoreExisting);
  }

  async getWrappedKey(tenantId: string, kind: WrappedKeyKind, scopeId: string, version?: number): Promise<WrappedKeyRow | undefined> {
    let q = this.read
      .selectFrom('wrapped_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', kind)
      .where('scope_id', '=', scopeId);
    q = version === undefined ? q.orderBy('version', 'desc').limit(1) : q.where('version', '=', version);
    const r = await q.executeTakeFirst();
    return r && toWrappedKey(r);
  }

  async listWrappedKeys(filter: { readonly tenantId: string | null; readonly kind?: WrappedKeyKind; readonly scopeId?: string }): Promise<WrappedKeyRow[]> {
    let q = this.read.selectFrom('wrapped_keys').selectAll();
    if (filter.tenantId !== null) q = q.where('tenant_id', '=', filter.tenantId);
    if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
    if (filter.scopeId !== undefined) q = q.where('scope_id', '=', filter.scopeId);
    return (await q.orderBy('tenant_id').orderBy('kind').orderBy('scope_id').orderBy('version').execute()).map(toWrappedKey);
  }

  async listWrappedKeysWrappedBelow(tenantId: string, below: number, limit: number): Promise<WrappedKeyRow[]> {
    const rows = await this.read
      .selectFrom('wrapped_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('kind', '!=', 'tenant')
      .where('wrapped_by', '<', below)
      .limit(limit)
      .execute();
    return rows.map(toWrappedKey);
  }

  async countSubjectKeys(tenantId: string): Promise<number> {
    const r = await this.read
      .selectFrom('wrapped_keys')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', 'subject')
      // Erasure tombstones hold no key (see keys/keyring.ts isTombstone).
      .where(sql`length(wrapped)`, '>', 0)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async countWrappedKeysByWrapper(tenantId: string): Promise<Map<number, number>> {
    const rows = await this.read
      .selectFrom('wrapped_keys')
      .select((eb) => ['wrapped_by', eb.fn.countAll().as('n')])
      .where('tenant_id', '=', tenantId)
      .where('kind', '!=', 'tenant')
      .groupBy('wrapped_by')
      .execute();
    return new Map(rows.map((r) => [Number(r.wrapped_by), Number(r.n)]));
  }

  async rewrapKeys(rows: ReadonlyArray<{ readonly row: WrappedKeyRow; readonly fromWrappedBy: number }>): Promise<number> {
    let changed = 0;
    for (const { row, fromWrappedBy } of rows) {
      const res = await this.db
        .updateTable('wrapped_keys')
        .set({ wrapped: row.wrapped, wrapped_by: row.wrappedBy })
        .where('tenant_id', '=', row.tenantId)
        .where('kind', '=', row.kind)
        .where('scope_id', '=', row.scopeId)
        .where('version', '=', row.version)
        .where('wrapped_by', '=', fromWrappedBy)
        .executeTakeFirst();
      changed += Number(res.numUpdatedRows);
    }
    return changed;
  }

  async deleteWrappedKeys(tenantId: string, kind: WrappedKeyKind, scopeId: string, versions?: readonly number[]): Promise<number> {
    let q = this.db.deleteFrom('wrapped_keys').where('tenant_id', '=', tenantId).where('kind', '=', kind).where('scope_id', '=', scopeId);
    if (versions !== undefined) {
      if (versions.length === 0) return 0;
      q = q.where('version', 'in', [...versions]);
    }
    return Number((await q.executeTakeFirst()).numDeletedRows);
  }

  async lockWrappedKeys(tenantId: string, refs: ReadonlyArray<{ readonly kind: WrappedKeyKind; readonly scopeId: string; readonly version: number }>): Promise<number> {
    let found = 0;
    const byKind = new Map<string, Array<{ scopeId: string; version: number }>>();
    for (const r of refs) {
      const list = byKind.get(r.kind);
      if (list) list.push(r);
      else byKind.set(r.kind, [r]);
    }
    for (const [kind, list] of byKind) {
      for (let i = 0; i < list.length; i += 5000) {
        const chunk = list.slice(i, i + 5000);
        // The ids as one parameter, as in getLatestWrappedKeys: one short statement, not a
        // 500-placeholder one compiled per call (a batch for known people locks ~1,000 subject keys).
        const ids = [...new Set(chunk.map((c) => c.scopeId))];
        const inChunk =
          this.backend.dialect === 'postgres'
            ? sql<boolean>`scope_id = any(${ids}::text[])`
            : sql<boolean>`scope_id in (select value from json_each(${JSON.stringify(ids)}))`;
        let q = this.db.selectFrom('wrapped_keys').select(['scope_id', 'version']).where('tenant_id', '=', tenantId).where('kind', '=', kind).where(inChunk);
        if (this.backend.dialect === 'postgres') q = q.forShare();
        const have = new Set((await q.execute()).map((r) => `${r.scope_id}\0${Number(r.version)}`));
        for (const c of chunk) if (have.has(`${c.scopeId}\0${c.version}`)) found++;
      }
    }
    return found;
  }

  async getLatestWrappedKeys(tenantId: string, kind: WrappedKeyKind, scopeIds: readonly string[]): Promise<WrappedKeyRow[]> {
    const latest = new Map<string, WrappedKeyRow>();
    // The ids travel as one parameter (a JSON array for SQLite, a text[] for PostgreSQL), so a
    // batch's look-up is one short statement instead of 500-placeholder ones compiled and prepared
    // per call; both plans are primary-key look-ups per id.
    for (let i = 0; i < scopeIds.length; i += 5000) {
      const chunk = scopeIds.slice(i, i + 5000);
      const inChunk =
        this.backend.dialect === 'postgres'
          ? sql<boolean>`scope_id = any(${chunk}::text[])`
          : sql<boolean>`scope_id in (select value from json_each(${JSON.stringify(chunk)}))`;
      const rows = await this.read.selectFrom('wrapped_keys').selectAll().where('tenant_id', '=', tenantId).where('kind', '=', kind).where(inChunk).execute();
      for (const r of rows) {
        const have = latest.get(r.scope_id);
        if (!have || have.version < Number(r.version)) latest.set(r.scope_id, toWrappedKey(r));
      }
    }
    return [...latest.values()];
  }

  async insertCollection(row: CollectionRow): Promise<void> {
    await this.mapUnique(
      () =>
        this.db
          .insertInto('collections')
          .values({
            id: row.id,
            tenant_id: row.tenantId,
            name: row.name,
            schema_json: row.schemaJson,
            schema_version: row.schemaVersion,
            created_at: row.createdAt,
            updated_at: row.updatedAt,
          })
          .execute(),
      () => new KurabanError('COLLECTION_EXISTS'),
    );
  }

  async getCollection(tenantId: string, name: string): Promise<CollectionRow | undefined> {
    const r = await this.read
      .selectFrom('collections')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .executeTakeFirst();
    return r && toCollection(r);
  }

  async listCollections(tenantId: string): Promise<CollectionRow[]> {
    const rows = await this.read.selectFrom('collections').selectAll().where('tenant_id', '=', tenantId).orderBy('name').execute();
    return rows.map(toCollection);
  }

  async updateCollectionSchema(id: string, schemaJson: string, fromVersion: number, updatedAt: string): Promise<boolean> {
    const res = await this.db
      .updateTable('collections')
      .set({ schema_json: schemaJson, schema_version: fromVersion + 1, updated_at: updatedAt })
      .where('id', '=', id)
      .where('schema_version', '=', fromVersion)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async insertRecords(records: readonly RecordRow[], index: readonly IndexRow[]): Promise<void> {
    if (records.length === 0) return;
    await this.mapUnique(
      () => this.backend.bulkInsertRecords(this.db, records, index),
      () => new KurabanError('UNIQUE_VIOLATION'),
    );
  }

  async getRecord(collectionId: string, id: string): Promise<RecordRow | undefined> {
    const r = await this.read
      .selectFrom('records')
      .selectAll()
      .where('collection_id', '=', collectionId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r && toRecord(r);
  }

  async getRecords(collectionId: string, ids: readonly string[]): Promise<RecordRow[]> {
    const out: RecordRow[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.read
        .selectFrom('records')
        .selectAll()
        .where('collection_id', '=', collectionId)
        .where('id', 'in', ids.slice(i, i + 500))
        .orderBy('id')
        .execute();
      for (const r of rows) out.push(toRecord(r));
    }
    return out;
  }

  async replaceRecord(row: RecordRow, expectedVersion: number, index: readonly IndexRow[]): Promise<boolean> {
    const old = await this.indexEntriesOf(row.collectionId, row.id);
    const res = await this.db
      .updateTable('records')
      .set({
        version: row.version,
        key_version: row.keyVersion,
        ciphertext: row.ciphertext,
        index_digests: row.indexDigests ?? encodeIndexDigests(index),
        subject_id: row.subjectId,
        updated_at: row.updatedAt,
      })
      .where('collection_id', '=', row.collectionId)
      .where('id', '=', row.id)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    await this.deleteIndexEntries(old);
    if (index.length > 0) {
      await this.mapUnique(
        () => this.db.insertInto('blind_index').values(index.map(toIndexValues)).execute(),
        () => new KurabanError('UNIQUE_VIOLATION'),
      );
    }
    return true;
  }

  async deleteRecord(collectionId: string, id: string, expectedVersion?: number): Promise<boolean> {
    const old = await this.indexEntriesOf(collectionId, id);
    let q = this.db.deleteFrom('records').where('collection_id', '=', collectionId).where('id', '=', id);
    if (expectedVersion !== undefined) q = q.where('version', '=', expectedVersion);
    const res = await q.executeTakeFirst();
    if (Number(res.numDeletedRows) !== 1) return false;
    await this.deleteIndexEntries(old);
    return true;
  }

  /** A record's own index entries, read from its row (empty if the record does not exist). */
  private async indexEntriesOf(collectionId: string, id: string): Promise<IndexRow[]> {
    const r = await this.read
      .selectFrom('records')
      .select('index_digests')
      .where('collection_id', '=', collectionId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? decodeIndexDigests(Buffer.from(r.index_digests), collectionId, id) : [];
  }

  /** Deletes index rows by their full primary key: no scan of the collection's index. */
  private async deleteIndexEntries(entries: readonly IndexRow[]): Promise<void> {
    for (const e of entries) {
      await this.db.deleteFrom('blind_index').where('digest', '=', e.digest).where('record_id', '=', e.recordId).execute();
    }
  }

  async searchRecordIds(collectionId: string, terms: readonly IndexTerm[], limit: number, afterId?: string): Promise<string[]> {
    const [first, ...rest] = terms;
    if (!first) return [];
    let q = this.read
      .selectFrom('blind_index as b0')
      .innerJoin('records as r', (j) => j.onRef('r.id', '=', 'b0.record_id').on('r.collection_id', '=', collectionId))
      .select('b0.record_id')
      .where('b0.digest', '=', first.digest);
    rest.forEach((t, i) => {
      // AND of equality terms: each further term must hold an index row for the same record.
      const alias = `b${i + 1}`;
      q = q.where((eb) =>
        eb.exists(
          eb
            .selectFrom(`blind_index as ${alias}` as 'blind_index')
            .select(sql.lit(1).as('one'))
            .where(sql.ref(`${alias}.digest`), '=', t.digest)
            .where(sql.ref(`${alias}.record_id`), '=', sql.ref('b0.record_id')),
        ),
      );
    });
    if (afterId !== undefined) q = q.where('b0.record_id', '>', afterId);
    const rows = await q.orderBy('b0.record_id').limit(limit).execute();
    return rows.map((r) => r.record_id);
  }

  async findUniqueDigests(collectionId: string, terms: readonly IndexTerm[]): Promise<Array<IndexTerm & { recordId: string }>> {
    const out: Array<IndexTerm & { recordId: string }> = [];
    for (let i = 0; i < terms.length; i += 500) {
      const chunk = terms.slice(i, i + 500);
      const rows = await this.read
        .selectFrom('blind_index as b')
        .innerJoin('records as r', (j) => j.onRef('r.id', '=', 'b.record_id').on('r.collection_id', '=', collectionId))
        .select(['b.digest', 'b.record_id'])
        .where('b.uniq', '=', 1)
        .where(
          'b.digest',
          'in',
          chunk.map((t) => t.digest),
        )
        .execute();
      for (const r of rows) {
        const digest = Buffer.from(r.digest);
        for (const t of chunk) if (t.digest.equals(digest)) out.push({ field: t.field, digest, recordId: r.record_id });
      }
    }
    return out;
  }

  async listRecords(collectionId: string, limit: number, afterId?: string): Promise<RecordRow[]> {
    let q = this.read.selectFrom('records').selectAll().where('collection_id', '=', collectionId);
    if (afterId !== undefined) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toRecord);
  }

  async listCollectionKeyedRecordsBelow(collectionId: string, below: number, limit: number, afterId?: string): Promise<RecordRow[]> {
    let q = this.read
      .selectFrom('records')
      .selectAll()
      .where('collection_id', '=', collectionId)
      .where('subject_id', 'is', null)
      .where('key_version', '<', below);
    if (afterId !== undefined) q = q.where('id', '>', afterId);
    return (await q.orderBy('id').limit(limit).execute()).map(toRecord);
  }

  async countRecordsByKeyVersion(collectionId: string): Promise<{ collection: Map<number, number>; subject: Map<number, number> }> {
    const rows = await this.read
      .selectFrom('records')
      .select((eb) => ['key_version', eb.case().when('subject_id', 'is', null).then(0).else(1).end().as('by_subject'), eb.fn.countAll().as('n')])
      .where('collection_id', '=', collectionId)
      .groupBy(['key_version', 'by_subject'])
      .execute();
    const out = { collection: new Map<number, number>(), subject: new Map<number, number>() };
    for (const r of rows) (Number(r.by_subject) === 0 ? out.collection : out.subject).set(Number(r.key_version), Number(r.n));
    return out;
  }

  async reencryptRecords(collectionId: string, rows: readonly ReencryptRow[]): Promise<string[]> {
    if (rows.length === 0) return [];
    return this.backend.bulkReencrypt(this.db as Kysely<Database>, collectionId, rows);
  }

  async listSubjectRecords(tenantId: string, subjectId: string): Promise<RecordRow[]> {
    const rows = await this.read.selectFrom('records').selectAll().where('tenant_id', '=', tenantId).where('subject_id', '=', subjectId).execute();
    return rows.map(toRecord);
  }

  async listSubjectScopes(tenantId: string, limit: number, afterId?: string): Promise<string[]> {
    let q = this.read.selectFrom('wrapped_keys').select('scope_id').distinct().where('tenant_id', '=', tenantId).where('kind', '=', 'subject');
    if (afterId !== undefined) q = q.where('scope_id', '>', afterId);
    return (await q.orderBy('scope_id').limit(limit).execute()).map((r) => r.scope_id);
  }

  async deleteSubjectRecords(tenantId: string, subjectId: string): Promise<Array<{ collectionId: string; id: string }>> {
    const rows = await this.db
      .selectFrom('records')
      .select(['collection_id', 'id', 'index_digests'])
      .where('tenant_id', '=', tenantId)
      .where('subject_id', '=', subjectId)
      .execute();
    for (const r of rows) {
      await this.deleteIndexEntries(decodeIndexDigests(Buffer.from(r.index_digests), r.collection_id, r.id));
    }
    await this.db.deleteFrom('records').where('tenant_id', '=', tenantId).where('subject_id', '=', subjectId).execute();
    return rows.map((r) => ({ collectionId: r.collection_id, id: r.id }));
  }

  async countRecords(collectionId: string): Promise<number> {
    const r = await this.read
      .selectFrom('records')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('collection_id', '=', collectionId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async insertTokens(rows: readonly TokenRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    return this.backend.bulkInsertTokens(this.db, rows);
  }

  async findTokens(scope: TokenRegistryScope, hashes: readonly Buffer[]): Promise<FoundTokenRow[]> {
    if (hashes.length === 0) return [];
    return this.backend.findTokens(this.read, this.isTransaction(), scope, hashes);
  }

  async deleteRecordTokens(collectionId: string, recordIds: readonly string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < recordIds.length; i += 1000) {
      const res = await this.db.deleteFrom('tokens').where('collection_id', '=', collectionId).where('ref', 'in', recordIds.slice(i, i + 1000)).executeTakeFirst();
      n += Number(res.numDeletedRows);
    }
    return n;
  }

  async deleteSubjectTokens(tenantId: string, subjectId: string): Promise<number> {
    const own = await this.db
      .selectFrom('tokens')
      .select(['collection_id', 'field', 'token_hash', 'kind'])
      .where('tenant_id', '=', tenantId)
      .where('subject_id', '=', subjectId)
      .execute();
    let n = Number((await this.db.deleteFrom('tokens').where('tenant_id', '=', tenantId).where('subject_id', '=', subjectId).executeTakeFirst()).numDeletedRows);
    for (const t of own) {
      if (t.kind === 'random') continue;
      const res = await this.db
        .deleteFrom('tokens')
        .where('token_hash', '=', Buffer.from(t.token_hash))
        .where('ref', '=', '')
        .where('subject_id', 'is', null)
        .where('collection_id', '=', t.collection_id)
        .where('field', '=', t.field)
        .executeTakeFirst();
      n += Number(res.numDeletedRows);
    }
    return n;
  }

  async countTokensByKeyVersion(collectionId: string): Promise<Map<number, number>> {
    const rows = await this.read
      .selectFrom('tokens')
      .select(['key_version', (eb) => eb.fn.countAll().as('n')])
      .where('collection_id', '=', collectionId)
      .groupBy('key_version')
      .execute();
    return new Map(rows.map((r) => [Number(r.key_version), Number(r.n)]));
  }

  async insertApiKey(row: ApiKeyRow): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({
        id: row.id,
        tenant_id: row.tenantId,
        name: row.name,
        role: row.role,
        roles: JSON.stringify(row.roles),
        duties: JSON.stringify(row.duties),
        secret_hash: row.secretHash,
        created_at: row.createdAt,
        expires_at: row.expiresAt,
        revoked_at: row.revokedAt,
      })
      .execute();
  }

  async getApiKey(id: string): Promise<ApiKeyRow | undefined> {
    const r = await this.read.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toApiKey(r);
  }

  async listApiKeys(tenantId?: string | null): Promise<ApiKeyRow[]> {
    let q = this.read.selectFrom('api_keys').selectAll();
    if (tenantId !== undefined) q = tenantId === null ? q.where('tenant_id', 'is', null) : q.where('tenant_id', '=', tenantId);
    const rows = await q.orderBy('created_at').execute();
    return rows.map(toApiKey);
  }

  async insertPolicy(row: PolicyRow): Promise<void> {
    await this.db
      .insertInto('policies')
      .values({
        tenant_id: row.tenantId,
        version: row.version,
        policy_text: row.text,
        purposes: JSON.stringify(row.purposes),
        created_at: row.createdAt,
        created_by: row.createdBy,
      })
      .execute();
  }

  async getActivePolicy(tenantId: string): Promise<PolicyRow | undefined> {
    const r = await this.db.selectFrom('policies').selectAll().where('tenant_id', '=', tenantId).orderBy('version', 'desc').limit(1).executeTakeFirst();
    return r && toPolicy(r);
  }

  async getPolicy(tenantId: string, version: number): Promise<PolicyRow | undefined> {
    const r = await this.db.selectFrom('policies').selectAll().where('tenant_id', '=', tenantId).where('version', '=', version).executeTakeFirst();
    return r && toPolicy(r);
  }

  async listPolicyVersions(tenantId: string): Promise<Array<Omit<PolicyRow, 'text'>>> {
    const rows = await this.db
      .selectFrom('policies')
      .select(['tenant_id', 'version', 'purposes', 'created_at', 'created_by'])
      .where('tenant_id', '=', tenantId)
      .orderBy('version')
      .execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, version: Number(r.version), purposes: parseNames(r.purposes), createdAt: r.created_at, createdBy: r.created_by }));
  }

  async revokeApiKey(id: string, at: string): Promise<boolean> {
    const res = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async getKeyJob(id: string): Promise<KeyJobRow | undefined> {
    const r = await this.read.selectFrom('key_jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toKeyJob(r);
  }

  async listKeyJobs(tenantId: string | null): Promise<KeyJobRow[]> {
    let q = this.read.selectFrom('key_jobs').selectAll();
    if (tenantId !== null) q = q.where('tenant_id', '=', tenantId);
    return (await q.orderBy('started_at').execute()).map(toKeyJob);
  }

  async saveKeyJob(row: KeyJobRow): Promise<void> {
    const values = {
      id: row.id,
      tenant_id: row.tenantId,
      kind: row.kind,
      scope_id: row.scopeId,
      target_version: row.targetVersion,
      state: row.state,
      done: row.done,
      total: row.total,
      cursor: row.cursor,
      started_at: row.startedAt,
      updated_at: row.updatedAt,
    };
    await this.db
      .insertInto('key_jobs')
      .values(values)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({ state: values.state, done: values.done, total: values.total, target_version: values.target_version, cursor: values.cursor, updated_at: values.updated_at }),
      )
      .execute();
  }

  async replaceMeta(key: string, expected: string, value: string): Promise<boolean> {
    const res = await this.db.updateTable('kuraban_meta').set({ value }).where('key', '=', key).where('value', '=', expected).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async getImportJob(id: string, lock = false): Promise<ImportJobRow | undefined> {
    let q = this.read.selectFrom('import_jobs').selectAll().where('id', '=', id);
    if (lock && this.backend.dialect === 'postgres') q = q.forUpdate();
    const r = await q.executeTakeFirst();
    return (
      r && {
        id: r.id,
        tenantId: r.tenant_id,
        collectionId: r.collection_id,
        linesDone: Number(r.lines_done),
        rowsImported: Number(r.rows_imported),
        rowsRejected: Number(r.rows_rejected),
        status: r.status === 'done' ? 'done' : 'running',
        updatedAt: r.updated_at,
      }
    );
  }

  async saveImportJob(row: ImportJobRow): Promise<void> {
    const values = {
      id: row.id,
      tenant_id: row.tenantId,
      collection_id: row.collectionId,
      lines_done: row.linesDone,
      rows_imported: row.rowsImported,
      rows_rejected: row.rowsRejected,
      status: row.status,
      updated_at: row.updatedAt,
    };
    await this.db
      .insertInto('import_jobs')
      .values(values)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          lines_done: values.lines_done,
          rows_imported: values.rows_imported,
          rows_rejected: values.rows_rejected,
          status: values.status,
          updated_at: values.updated_at,
        }),
      )
      .execute();
  }

  async insertLogState(row: LogStateRow): Promise<void> {
    await this.db
      .insertInto('log_state')
      .values({ tenant_id: row.tenantId, origin: row.origin, verifier_key: row.verifierKey, size: row.size, root: row.root })
      .execute();
  }

  async getLogState(tenantId: string): Promise<LogStateRow | undefined> {
    const r = await this.read.selectFrom('log_state').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    return r && { tenantId: r.tenant_id, origin: r.origin, verifierKey: r.verifier_key, size: Number(r.size), root: Buffer.from(r.root) };
  }

  async updateLogState(tenantId: string, fromSize: number, size: number, root: Buffer): Promise<boolean> {
    const res = await this.db
      .updateTable('log_state')
      .set({ size, root })
      .where('tenant_id', '=', tenantId)
      .where('size', '=', fromSize)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async lockLog(tenantId: string): Promise<void> {
    if (this.backend.dialect !== 'postgres') return; // BEGIN IMMEDIATE: this transaction already holds SQLite's write lock
    await sql`select pg_advisory_xact_lock(${logLockKey(tenantId)}::bigint)`.execute(this.db);
  }

  async appendLogPending(tenantId: string, entries: readonly LogPendingEntry[]): Promise<void> {
    // SQLite places entries at their index: only safe under the transaction's write lock (the backed store wraps a call outside one).
    if (!this.db.isTransaction) throw new KurabanError('INTERNAL', 'appendLogPending needs a transaction');
    return this.backend.logBulk.appendPending(this.db, tenantId, entries);
  }

  async listLogPending(tenantId: string, limit: number): Promise<LogPendingRow[]> {
    if (this.db.isTransaction) return this.backend.logBulk.listPending(this.db, tenantId, limit);
    const placed = await sql<{ idx: number | string; entry: Uint8Array; leaf_check: number | string | null }>`select idx, entry, leaf_check from log_entries
      where tenant_id = ${tenantId} and idx >= coalesce((select size from log_state where tenant_id = ${tenantId}), 0) order by idx limit ${limit}`.execute(this.read);
    const queued = await this.read
      .selectFrom('log_pending')
      .select(['id', 'entry', 'leaf_check'])
      .where('tenant_id', '=', tenantId)
      .orderBy('id')
      .limit(limit - placed.rows.length)
      .execute();
    return [
      ...placed.rows.map((r) => ({ index: Number(r.idx), id: null, entry: Buffer.from(r.entry), leafCheck: r.leaf_check === null ? null : Number(r.leaf_check) })),
      ...queued.map((r) => ({ index: null, id: Number(r.id), entry: Buffer.from(r.entry), leafCheck: r.leaf_check === null ? null : Number(r.leaf_check) })),
    ];
  }

  async listLogPendingTenants(): Promise<string[]> {
    const res = await sql<{ tenant_id: string }>`select tenant_id from log_pending
      union select s.tenant_id from log_state s where exists (select 1 from log_entries e where e.tenant_id = s.tenant_id and e.idx >= s.size)
      order by tenant_id`.execute(this.read);
    return res.rows.map((r) => r.tenant_id);
  }

  async deleteLogPending(tenantId: string, ids: readonly number[]): Promise<number> {
    if (this.db.isTransaction) return this.backend.logBulk.deletePending(this.db, tenantId, ids);
    let n = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const res = await this.db
        .deleteFrom('log_pending')
        .where('tenant_id', '=', tenantId)
        .where('id', 'in', ids.slice(i, i + 500))
        .executeTakeFirst();
      n += Number(res.numDeletedRows);
    }
    return n;
  }

  async insertLogEntries(tenantId: string, firstIndex: number, entries: readonly Buffer[]): Promise<void> {
    if (this.db.isTransaction) return this.backend.logBulk.insertEntries(this.db, tenantId, firstIndex, entries);
    for (let i = 0; i < entries.length; i += 500) {
      await this.db
        .insertInto('log_entries')
        .values(entries.slice(i, i + 500).map((entry, j) => ({ tenant_id: tenantId, idx: firstIndex + i + j, entry })))
        .execute();
    }
  }

  async getLogEntries(tenantId: string, fromIndex: number, limit: number): Promise<Buffer[]> {
    const rows = await this.read
      .selectFrom('log_entries')
      .select(['idx', 'entry'])
      .where('tenant_id', '=', tenantId)
      .where('idx', '>=', fromIndex)
      // Only integrated entries: on SQLite an entry takes its index when appended, ahead of the
      // checkpoint that covers it (store/sqlite/log-bulk.ts).
      .where('idx', '<', (eb) => eb.selectFrom('log_state').select('size').where('log_state.tenant_id', '=', tenantId))
      .orderBy('idx')
      .limit(limit)
      .execute();
    return rows.map((r) => Buffer.from(r.entry));
  }

  async getLogTiles(tenantId: string, tiles: ReadonlyArray<{ readonly level: number; readonly index: number }>): Promise<LogTileRow[]> {
    const out: LogTileRow[] = [];
    for (const t of tiles) {
      const r = await this.read
        .selectFrom('log_tiles')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('level', '=', t.level)
        .where('tile_index', '=', t.index)
        .executeTakeFirst();
      if (r) out.push({ level: Number(r.level), index: Number(r.tile_index), width: Number(r.width), hashes: Buffer.from(r.hashes) });
    }
    return out;
  }

  async putLogTiles(tenantId: string, tiles: readonly LogTileRow[]): Promise<void> {
    if (this.db.isTransaction) return this.backend.logBulk.putTiles(this.db, tenantId, tiles);
    for (const t of tiles) {
      await this.db
        .insertInto('log_tiles')
        .values({ tenant_id: tenantId, level: t.level, tile_index: t.index, width: t.width, hashes: t.hashes })
        .onConflict((oc) => oc.columns(['tenant_id', 'level', 'tile_index']).doUpdateSet({ width: t.width, hashes: t.hashes }))
        .execute();
    }
  }

  async insertLogCheckpoint(tenantId: string, size: number, note: Buffer): Promise<void> {
    await this.db.insertInto('log_checkpoints').values({ tenant_id: tenantId, size, note }).execute();
  }

  async getLogCheckpoint(tenantId: string, size?: number): Promise<{ size: number; note: Buffer } | undefined> {
    let q = this.read.selectFrom('log_checkpoints').select(['size', 'note']).where('tenant_id', '=', tenantId);
    q = size === undefined ? q.orderBy('size', 'desc').limit(1) : q.where('size', '=', size);
    const r = await q.executeTakeFirst();
    return r && { size: Number(r.size), note: Buffer.from(r.note) };
  }

  async listLogCheckpoints(tenantId: string): Promise<Array<{ size: number; note: Buffer }>> {
    const rows = await this.read.selectFrom('log_checkpoints').select(['size', 'note']).where('tenant_id', '=', tenantId).orderBy('size').execute();
    return rows.map((r) => ({ size: Number(r.size), note: Buffer.from(r.note) }));
  }

  async getLogEntryRange(tenantId: string, from: number, to: number): Promise<Array<{ index: number; entry: Buffer }>> {
    const rows = await this.read
      .selectFrom('log_entries')
      .select(['idx', 'entry'])
      .where('tenant_id', '=', tenantId)
      .where('idx', '>=', from)
      .where('idx', '<', to)
      .orderBy('idx')
      .execute();
    return rows.map((r) => ({ index: Number(r.idx), entry: Buffer.from(r.entry) }));
  }

  async getLogPublic(tenantId: string): Promise<boolean | undefined> {
    const r = await this.read.selectFrom('log_state').select('public_log').where('tenant_id', '=', tenantId).executeTakeFirst();
    return r && Number(r.public_log) === 1;
  }

  async setLogPublic(tenantId: string, isPublic: boolean): Promise<boolean> {
    const res = await this.db.updateTable('log_state').set({ public_log: isPublic ? 1 : 0 }).where('tenant_id', '=', tenantId).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async insertLogSubjects(tenantId: string, rows: ReadonlyArray<{ readonly subjectId: string; readonly index: number }>): Promise<void> {
    if (this.db.isTransaction) return this.backend.logBulk.insertSubjects(this.db, tenantId, rows);
    for (let i = 0; i < rows.length; i += 500) {
      await this.db
        .insertInto('log_subjects')
        .values(rows.slice(i, i + 500).map((r) => ({ tenant_id: tenantId, subject_id: r.subjectId, idx: r.index })))
        .execute();
    }
  }

  async listLogSubjectIndexes(tenantId: string, subjectId: string, options: { readonly below: number; readonly after?: number; readonly limit: number }): Promise<number[]> {
    let q = this.read
      .selectFrom('log_subjects')
      .select('idx')
      .where('tenant_id', '=', tenantId)
      .where('subject_id', '=', subjectId)
      .where('idx', '<', options.below);
    if (options.after !== undefined) q = q.where('idx', '>', options.after);
    const rows = await q.orderBy('idx').limit(options.limit).execute();
    return rows.map((r) => Number(r.idx));
  }

  // Residency (migration 0007).
  async listLocations(): Promise<LocationRow[]> {
    const rows = await this.read.selectFrom('locations').selectAll().orderBy('id').execute();
    return rows.map(toLocation);
  }

  async getLocation(id: string): Promise<LocationRow | undefined> {
    const r = await this.read.selectFrom('locations').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toLocation(r);
  }

  async insertLocation(row: LocationRow): Promise<void> {
    await this.mapUnique(
      () => this.db.insertInto('locations').values(fromLocation(row)).execute(),
      () => new KurabanError('LOCATION_EXISTS'),
    );
  }

  async updateLocation(row: LocationRow): Promise<boolean> {
    const { id, created_at: _created, ...set } = fromLocation(row);
    const res = await this.db.updateTable('locations').set(set).where('id', '=', id).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async deleteLocation(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('locations').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }

  async getResidency(collectionId: string): Promise<ResidencyRow | undefined> {
    const r = await this.read.selectFrom('collection_residency').selectAll().where('collection_id', '=', collectionId).executeTakeFirst();
    return r && { collectionId: r.collection_id, tenantId: r.tenant_id, rulesJson: r.rules_json, updatedAt: r.updated_at };
  }

  async putResidency(row: ResidencyRow): Promise<void> {
    await this.db
      .insertInto('collection_residency')
      .values({ collection_id: row.collectionId, tenant_id: row.tenantId, rules_json: row.rulesJson, updated_at: row.updatedAt })
      .onConflict((oc) => oc.column('collection_id').doUpdateSet({ rules_json: row.rulesJson, updated_at: row.updatedAt }))
      .execute();
  }

  async listResidency(tenantId: string | null): Promise<ResidencyRow[]> {
    let q = this.read.selectFrom('collection_residency').selectAll();
    if (tenantId !== null) q = q.where('tenant_id', '=', tenantId);
    const rows = await q.orderBy('collection_id').execute();
    return rows.map((r) => ({ collectionId: r.collection_id, tenantId: r.tenant_id, rulesJson: r.rules_json, updatedAt: r.updated_at }));
  }

  async insertTransfers(rows: readonly TransferRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db
      .insertInto('data_transfers')
      .values(
        rows.map((r) => ({
          id: r.id,
          tenant_id: r.tenantId,
          collection_id: r.collectionId,
          kind: r.kind,
          location_id: r.locationId,
          records: r.records,
          detail: r.detail,
          created_at: r.createdAt,
        })),
      )
      .execute();
  }

  async listTransfers(tenantId: string, limit: number): Promise<TransferRow[]> {
    const rows = await this.read.selectFrom('data_transfers').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      collectionId: r.collection_id,
      kind: r.kind as TransferRow['kind'],
      locationId: r.location_id,
      records: r.records === null ? null : Number(r.records),
      detail: r.detail,
      createdAt: r.created_at,
    }));
  }

  private async mapUnique<T>(fn: () => Promise<T>, toError: (constraint: string) => KurabanError): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const constraint = this.backend.uniqueViolation(e);
      if (constraint !== undefined) {
        const err = toError(constraint);
        throw new KurabanError(err.code, err.message, { cause: e });
      }
      throw e;
    }
  }
}

function toWrappedKey(r: Selectable<Database['wrapped_keys']>): WrappedKeyRow {
  return {
    tenantId: r.tenant_id,
    kind: r.kind as WrappedKeyKind,
    scopeId: r.scope_id,
    version: Number(r.version),
    wrapped: Buffer.from(r.wrapped),
    createdAt: r.created_at,
    wrappedBy: Number(r.wrapped_by),
  };
}

function toLocation(r: Selectable<Database['locations']>): LocationRow {
  return {
    id: r.id,
    country: r.country,
    region: r.region,
    provider: r.provider,
    operator: r.operator,
    jurisdiction: r.jurisdiction,
    holds: r.holds,
    description: r.description,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function fromLocation(row: LocationRow): Database['locations'] {
  return {
    id: row.id,
    country: row.country,
    region: row.region,
    provider: row.provider,
    operator: row.operator,
    jurisdiction: row.jurisdiction,
    holds: row.holds,
    description: row.description,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

function toCollection(r: Selectable<Database['collections']>): CollectionRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    schemaJson: r.schema_json,
    schemaVersion: Number(r.schema_version),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toKeyJob(r: Selectable<Database['key_jobs']>): KeyJobRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    kind: r.kind === 'rewrap' ? 'rewrap' : 'reencrypt',
    scopeId: r.scope_id,
    targetVersion: Number(r.target_version),
    state: r.state === 'done' ? 'done' : 'running',
    done: Number(r.done),
    total: Number(r.total),
    cursor: r.cursor,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
  };
}

function toRecord(r: Selectable<Database['records']>): RecordRow {
  return {
    collectionId: r.collection_id,
    id: r.id,
    tenantId: r.tenant_id,
    subjectId: r.subject_id,
    version: Number(r.version),
    keyVersion: Number(r.key_version),
    ciphertext: Buffer.from(r.ciphertext),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toApiKey(r: Selectable<Database['api_keys']>): ApiKeyRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    role: r.role,
    roles: parseNames(r.roles),
    duties: parseNames(r.duties),
    secretHash: Buffer.from(r.secret_hash),
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

function toPolicy(r: Selectable<Database['policies']>): PolicyRow {
  return {
    tenantId: r.tenant_id,
    version: Number(r.version),
    text: r.policy_text,
    purposes: parseNames(r.purposes),
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}

/** A stored JSON array of names (roles, duties, purposes); anything else reads as empty. */
function parseNames(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function toIndexValues(r: IndexRow): Database['blind_index'] {
  return { digest: r.digest, record_id: r.recordId, uniq: r.unique ? 1 : 0 };
}

/** The PostgreSQL advisory-lock key of a tenant's log: the first 8 bytes of SHA-256("kuraban/log-lock/v1\0" ‖ tenant), signed. */
export function logLockKey(tenantId: string): string {
  return createHash('sha256').update(`kuraban/log-lock/v1\0${tenantId}`).digest().readBigInt64BE(0).toString();
}

