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
  WrappedKeyKind,
  WrappedKeyRow,
} from './rows.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Everything the vault asks of storage. Both backends implement it with the same behaviour; the
 * storage test suite runs every case against both. Methods never see a clear personal value or key.
 * Conflicts surface as KurabanError codes (TENANT_EXISTS, COLLECTION_EXISTS, UNIQUE_VIOLATION).
 */
export interface StoreOps {
  getMeta(key: string): Promise<string | undefined>;
  /** Sets a value only if the key is absent; returns the value now stored. */
  setMetaIfAbsent(key: string, value: string): Promise<string>;

  insertTenant(row: TenantRow): Promise<void>;
  getTenant(id: string): Promise<TenantRow | undefined>;
  listTenants(): Promise<TenantRow[]>;

  /**
   * Inserts key rows; with `ignoreExisting`, rows whose (tenant, kind, scope, version) exists are
   * skipped. Returns how many rows were inserted.
   */
  insertWrappedKeys(rows: readonly WrappedKeyRow[], ignoreExisting: boolean): Promise<number>;
  /** The newest version for the scope, or the given version. */
  getWrappedKey(tenantId: string, kind: WrappedKeyKind, scopeId: string, version?: number): Promise<WrappedKeyRow | undefined>;
  /** The newest version of each scope that has one. */
  getLatestWrappedKeys(tenantId: string, kind: WrappedKeyKind, scopeIds: readonly string[]): Promise<WrappedKeyRow[]>;

  /** Every key row of a kind (all tenants when tenantId is null): tenant keys for root rotation, a scope's versions. */
  listWrappedKeys(filter: { readonly tenantId: string | null; readonly kind?: WrappedKeyKind; readonly scopeId?: string }): Promise<WrappedKeyRow[]>;
  /** A tenant's key rows (not its tenant keys) wrapped by a tenant key version below `below`, at most `limit`. */
  listWrappedKeysWrappedBelow(tenantId: string, below: number, limit: number): Promise<WrappedKeyRow[]>;
  /** How many subject keys a tenant holds (not counting erasure tombstones). */
  countSubjectKeys(tenantId: string): Promise<number>;
  /** How many of a tenant's key rows each tenant key version wraps. */
  countWrappedKeysByWrapper(tenantId: string): Promise<Map<number, number>>;
  /**
   * Replaces `wrapped` and `wrapped_by` of existing rows, each only if its wrapped_by is still
   * `fromWrappedBy` (compare-and-set); returns how many rows changed.
   */
  rewrapKeys(rows: ReadonlyArray<{ readonly row: WrappedKeyRow; readonly fromWrappedBy: number }>): Promise<number>;
  /** Deletes a scope's key rows (all versions, or the given ones); returns how many. */
  deleteWrappedKeys(tenantId: string, kind: WrappedKeyKind, scopeId: string, versions?: readonly number[]): Promise<number>;
  /**
   * Inside a transaction: how many of these key rows exist, holding them until commit so that a
   * concurrent erasure or retirement waits (PostgreSQL FOR SHARE; SQLite's write lock already does).
   * A writer checks the keys it encrypted under are still there before its rows land.
   */
  lockWrappedKeys(tenantId: string, refs: ReadonlyArray<{ readonly kind: WrappedKeyKind; readonly scopeId: string; readonly version: number }>): Promise<number>;

  insertCollection(row: CollectionRow): Promise<void>;
  getCollection(tenantId: string, name: string): Promise<CollectionRow | undefined>;
  listCollections(tenantId: string): Promise<CollectionRow[]>;
  /** Compare-and-set on schema_version; false when another change won. */
  updateCollectionSchema(id: string, schemaJson: string, fromVersion: number, updatedAt: string): Promise<boolean>;

  /** Inserts records and their index rows. UNIQUE_VIOLATION if a unique digest exists. */
  insertRecords(records: readonly RecordRow[], index: readonly IndexRow[]): Promise<void>;
  getRecord(collectionId: string, id: string): Promise<RecordRow | undefined>;
  getRecords(collectionId: string, ids: readonly string[]): Promise<RecordRow[]>;
  /** Replaces a record if its stored version is `expectedVersion`; replaces its index rows too. */
  replaceRecord(row: RecordRow, expectedVersion: number, index: readonly IndexRow[]): Promise<boolean>;
  deleteRecord(collectionId: string, id: string, expectedVersion?: number): Promise<boolean>;
  /** Ids matching every term (AND), ascending, after `afterId`, at most `limit`. */
  searchRecordIds(collectionId: string, terms: readonly IndexTerm[], limit: number, afterId?: string): Promise<string[]>;
  /** Which of these unique digests are already taken, and by which record. */
  findUniqueDigests(collectionId: string, terms: readonly IndexTerm[]): Promise<Array<IndexTerm & { recordId: string }>>;
  listRecords(collectionId: string, limit: number, afterId?: string): Promise<RecordRow[]>;
  countRecords(collectionId: string): Promise<number>;
  /** Records under the collection's key (no subject) with key_version below `below`, by id after `afterId`. */
  listCollectionKeyedRecordsBelow(collectionId: string, below: number, limit: number, afterId?: string): Promise<RecordRow[]>;
  /** Record counts by key version: collection-keyed records of one collection (subject: false), or subject-keyed ones. */
  countRecordsByKeyVersion(collectionId: string): Promise<{ collection: Map<number, number>; subject: Map<number, number> }>;
  /**
   * Inside a transaction: replaces records' ciphertext and key version where their version and key
   * version are unchanged (compare-and-set; one statement per chunk on PostgreSQL); returns the ids changed.
   */
  reencryptRecords(collectionId: string, rows: readonly ReencryptRow[]): Promise<string[]>;
  /** Every record of a subject in a tenant, across collections. */
  listSubjectRecords(tenantId: string, subjectId: string): Promise<RecordRow[]>;
  /** Subjects of a tenant with key rows, in id order after `afterId`, at most `limit`. */
  listSubjectScopes(tenantId: string, limit: number, afterId?: string): Promise<string[]>;
  /** Deletes every record of a subject in a tenant and their index rows; returns their (collection id, id). */
  deleteSubjectRecords(tenantId: string, subjectId: string): Promise<Array<{ collectionId: string; id: string }>>;

  /** Registers tokens; rows whose (hash, record) exists are skipped (hashes are keyed per collection and field). Returns how many were inserted. */
  insertTokens(rows: readonly TokenRow[]): Promise<number>;
  /** The registry rows of these look-up hashes in one collection field. */
  findTokens(collectionId: string, field: string, hashes: readonly Buffer[]): Promise<TokenRow[]>;
  /** Deletes the tokens of these records (all fields); returns how many. */
  deleteRecordTokens(collectionId: string, recordIds: readonly string[]): Promise<number>;
  /**
   * Erasure: deletes a subject's tokens in a tenant, and the rows of values tokenised on their own
   * without a subject that share a hash with one of them (a deterministic or format-preserving token
   * stands for the value: a legacy system's registration of the person's number is the person's
   * token). Other people's record tokens of the same value stay. Returns how many rows went.
   */
  deleteSubjectTokens(tenantId: string, subjectId: string): Promise<number>;
  /** Rows per token key version of a collection (retirement and status). */
  countTokensByKeyVersion(collectionId: string): Promise<Map<number, number>>;

  insertApiKey(row: ApiKeyRow): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRow | undefined>;
  listApiKeys(tenantId?: string | null): Promise<ApiKeyRow[]>;
  revokeApiKey(id: string, at: string): Promise<boolean>;

  /** Inserts version row.version; UNIQUE_VIOLATION-like failure when it exists (two pushes raced). */
  insertPolicy(row: PolicyRow): Promise<void>;
  /** The highest version, or undefined when the tenant has none. */
  getActivePolicy(tenantId: string): Promise<PolicyRow | undefined>;
  getPolicy(tenantId: string, version: number): Promise<PolicyRow | undefined>;
  listPolicyVersions(tenantId: string): Promise<Array<Omit<PolicyRow, 'text'>>>;

  /** With `lock`, inside a transaction: holds the row until commit (PostgreSQL FOR UPDATE; SQLite's BEGIN IMMEDIATE already does). */
  getImportJob(id: string, lock?: boolean): Promise<ImportJobRow | undefined>;
  saveImportJob(row: ImportJobRow): Promise<void>;

  getKeyJob(id: string): Promise<KeyJobRow | undefined>;
  saveKeyJob(row: KeyJobRow): Promise<void>;
  listKeyJobs(tenantId: string | null): Promise<KeyJobRow[]>;
  /** Compare-and-set on a meta value (root key id after root rotation); false when it changed. */
  replaceMeta(key: string, expected: string, value: string): Promise<boolean>;

  // The access log (vault/access-log.ts; sequencing rules in src/ledger/NOTES.md).
  insertLogState(row: LogStateRow): Promise<void>;
  getLogState(tenantId: string): Promise<LogStateRow | undefined>;
  /** Compare-and-set on size; false when the stored size is not `fromSize`. */
  updateLogState(tenantId: string, fromSize: number, size: number, root: Buffer): Promise<boolean>;
  /**
   * Inside a transaction only: waits for and holds, until commit or rollback, the tenant's log
   * integration lock (PostgreSQL pg_advisory_xact_lock on a hash of the tenant id; on SQLite the
   * transaction's BEGIN IMMEDIATE already holds the database's write lock).
   */
  lockLog(tenantId: string): Promise<void>;
  /**
   * Appends entries (in order) for integration; call it inside the transaction of the change it
   * records. PostgreSQL queues them in log_pending (any number of transactions append at once).
   * SQLite places them at once at the tenant's next indexes in log_entries, beyond the log's size, with
   * their log_subjects rows: its one writer holds the database lock for the whole transaction, so the
   * indexes are assigned without a race, and integration then has nothing to move — unless the tenant
   * still has queued entries (a restore from PostgreSQL, or rows from before migration 0008): then
   * these are queued behind them, so entries keep the order they were appended in.
   */
  appendLogPending(tenantId: string, entries: readonly LogPendingEntry[]): Promise<void>;
  /**
   * Entries waiting for integration, at most `limit`, in the order they are to be integrated: those
   * placed at an index at or beyond the log's size, by index, then queued ones, by id.
   */
  listLogPending(tenantId: string, limit: number): Promise<LogPendingRow[]>;
  /** Tenants with queued entries. */
  listLogPendingTenants(): Promise<string[]>;
  deleteLogPending(tenantId: string, ids: readonly number[]): Promise<number>;
  /** Inserts entries at consecutive indexes from `firstIndex`; a taken index is a primary-key violation. */
  insertLogEntries(tenantId: string, firstIndex: number, entries: readonly Buffer[]): Promise<void>;
  /** Integrated entries (index below the log's size) from `fromIndex`, in index order, at most `limit`. */
  getLogEntries(tenantId: string, fromIndex: number, limit: number): Promise<Buffer[]>;
  getLogTiles(tenantId: string, tiles: ReadonlyArray<{ readonly level: number; readonly index: number }>): Promise<LogTileRow[]>;
  /** Inserts or replaces tiles (a partial tile grows in place until it is full). */
  putLogTiles(tenantId: string, tiles: readonly LogTileRow[]): Promise<void>;
  insertLogCheckpoint(tenantId: string, size: number, note: Buffer): Promise<void>;
  /** The checkpoint at `size`, or the newest one. */
  getLogCheckpoint(tenantId: string, size?: number): Promise<{ size: number; note: Buffer } | undefined>;
  listLogCheckpoints(tenantId: string): Promise<Array<{ size: number; note: Buffer }>>;
  /** Entries with `from ≤ idx < to`, in index order, with their indexes (a missing row is simply absent). Callers bound `to` by the size they serve: on SQLite, entries beyond the log's size are placed but not yet integrated. */
  getLogEntryRange(tenantId: string, from: number, to: number): Promise<Array<{ index: number; entry: Buffer }>>;
  /** Whether anyone may read the tenant's log without a key; undefined when the tenant has no log. */
  getLogPublic(tenantId: string): Promise<boolean | undefined>;
  /** Sets the flag; false when the tenant has no log. */
  setLogPublic(tenantId: string, isPublic: boolean): Promise<boolean>;
  /** Indexes integrated entries by the subjects they name (inside the integration transaction). */
  insertLogSubjects(tenantId: string, rows: ReadonlyArray<{ readonly subjectId: string; readonly index: number }>): Promise<void>;
  /** Indexes of entries naming `subjectId`, ascending, with `after < idx < below`, at most `limit`. */
  listLogSubjectIndexes(tenantId: string, subjectId: string, options: { readonly below: number; readonly after?: number; readonly limit: number }): Promise<number[]>;

  // Residency (vault/residency.ts, docs/residency.md).
  listLocations(): Promise<LocationRow[]>;
  getLocation(id: string): Promise<LocationRow | undefined>;
  /** LOCATION_EXISTS when the id is taken. */
  insertLocation(row: LocationRow): Promise<void>;
  /** Replaces every declared attribute (not created_at); false when the id is unknown. */
  updateLocation(row: LocationRow): Promise<boolean>;
  deleteLocation(id: string): Promise<boolean>;
  getResidency(collectionId: string): Promise<ResidencyRow | undefined>;
  /** Inserts or replaces a collection's rules. */
  putResidency(row: ResidencyRow): Promise<void>;
  /** Every collection's rules (all tenants when tenantId is null). */
  listResidency(tenantId: string | null): Promise<ResidencyRow[]>;
  insertTransfers(rows: readonly TransferRow[]): Promise<void>;
  /** A tenant's backups and exports, newest first, at most `limit`. */
  listTransfers(tenantId: string, limit: number): Promise<TransferRow[]>;
}

export interface StoreTx extends StoreOps {
  /** Runs after the transaction commits (e.g. caching keys created inside it). Not run on rollback. */
  onCommit(fn: () => void): void;
}

/** The tables a backup carries, in restore order, with their primary keys (keyset paging). */
export const BACKUP_TABLES = {
  data: [
    ['tenants', ['id']],
    ['collections', ['id']],
    ['records', ['collection_id', 'id']],
    ['blind_index', ['digest', 'record_id']],
    ['tokens', ['token_hash', 'ref']],
    ['api_keys', ['id']],
    ['policies', ['tenant_id', 'version']],
    ['import_jobs', ['id']],
    ['key_jobs', ['id']],
    ['log_state', ['tenant_id']],
    ['log_entries', ['tenant_id', 'idx']],
    ['log_tiles', ['tenant_id', 'level', 'tile_index']],
    ['log_checkpoints', ['tenant_id', 'size']],
    ['log_subjects', ['tenant_id', 'subject_id', 'idx']],
    ['locations', ['id']],
    ['collection_residency', ['collection_id']],
    ['data_transfers', ['id']],
    // Restored without its id (an identity column on PostgreSQL): new ids, same order.
    ['log_pending', ['id']],
  ],
  keys: [['wrapped_keys', ['tenant_id', 'kind', 'scope_id', 'version']]],
} as const satisfies Record<string, ReadonlyArray<readonly [string, readonly string[]]>>;
export type BackupTable = (typeof BACKUP_TABLES)[keyof typeof BACKUP_TABLES][number][0];
/** A row as stored: column → text, number, null or bytes. */
export type RawRow = Record<string, string | number | null | Buffer>;

/** Reads inside one consistent snapshot (a backup sees one point in time while writers go on). */
export interface SnapshotReader {
  /** Rows of a table in primary-key order after the row `after` (the previous page's last), at most `limit`. */
  readPage(table: BackupTable, after: RawRow | undefined, limit: number): Promise<RawRow[]>;
  getMeta(key: string): Promise<string | undefined>;
}

export interface Store extends StoreOps {
  readonly dialect: Dialect;
  /** Runs `fn` over a read-only snapshot (SQLite: a read transaction on the reader; PostgreSQL: REPEATABLE READ). */
  snapshot<T>(fn: (reader: SnapshotReader) => Promise<T>): Promise<T>;
  /** Inside a transaction: inserts raw rows (restore). */
  loadRows(tx: StoreTx, table: BackupTable, rows: readonly RawRow[]): Promise<void>;
  /** Whether the store holds no tenant, key or log state (a restore target). */
  isEmpty(): Promise<boolean>;
  /** Runs `fn` in one transaction: all of its writes land, or none. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Applies pending migrations under the store's migration lock. */
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
