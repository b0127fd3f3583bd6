import { Migrator, sql, type Kysely, type Transaction } from 'kysely';
import { KurabanError } from '../errors/index.js';
import type { Database } from './database.js';
import { KyselyStoreOps, type BackendSpecifics } from './kysely-store.js';
import { migrationProvider } from './migrations/index.js';
import type { IndexRow, LogPendingEntry, RecordRow, WrappedKeyRow } from './rows.js';
import { BACKUP_TABLES, type BackupTable, type Dialect, type RawRow, type SnapshotReader, type Store, type StoreTx } from './store.js';

class KyselyStoreTx extends KyselyStoreOps implements StoreTx {
  readonly commitHooks: Array<() => void> = [];
  constructor(
    readonly kyselyTx: Transaction<Database>,
    backend: BackendSpecifics,
  ) {
    super(kyselyTx, backend);
  }
  onCommit(fn: () => void): void {
    this.commitHooks.push(fn);
  }
  protected override isTransaction(): boolean {
    return true;
  }
}

/** A Store over one Kysely instance; both backends are this class with their own BackendSpecifics. */
export class KyselyBackedStore extends KyselyStoreOps implements Store {
  readonly dialect: Dialect;

  constructor(
    private readonly kysely: Kysely<Database>,
    backend: BackendSpecifics,
    private readonly onClose: () => Promise<void> = async () => {},
    private readonly reader: Kysely<Database> = kysely,
  ) {
    super(kysely, backend, reader);
    this.dialect = backend.dialect;
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    let hooks: Array<() => void> = [];
    const result = await this.kysely.transaction().execute(async (trx) => {
      const tx = new KyselyStoreTx(trx, this.backend);
      hooks = tx.commitHooks;
      return fn(tx);
    });
    for (const h of hooks) h();
    return result;
  }

  /** Outside a transaction, a bulk insert still lands whole or not at all. */
  override async insertRecords(records: readonly RecordRow[], index: readonly IndexRow[]): Promise<void> {
    await this.transaction((tx) => tx.insertRecords(records, index));
  }

  override async insertWrappedKeys(rows: readonly WrappedKeyRow[], ignoreExisting: boolean): Promise<number> {
    return this.transaction((tx) => tx.insertWrappedKeys(rows, ignoreExisting));
  }

  override async replaceRecord(row: RecordRow, expectedVersion: number, index: readonly IndexRow[]): Promise<boolean> {
    return this.transaction((tx) => tx.replaceRecord(row, expectedVersion, index));
  }

  override async deleteRecord(collectionId: string, id: string, expectedVersion?: number): Promise<boolean> {
    return this.transaction((tx) => tx.deleteRecord(collectionId, id, expectedVersion));
  }

  /** A transaction-scoped lock taken outside a transaction would be released at once: refused. */
  override async lockLog(_tenantId: string): Promise<void> {
    throw new KurabanError('INTERNAL', 'lockLog needs a transaction');
  }

  override async appendLogPending(tenantId: string, entries: readonly LogPendingEntry[]): Promise<void> {
    await this.transaction((tx) => tx.appendLogPending(tenantId, entries));
  }

  async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.kysely, provider: migrationProvider(this.dialect) });
    const { error, results } = await this.backend.withMigrationLock(() => migrator.migrateToLatest());
    if (error !== undefined) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new KurabanError('STORE_UNAVAILABLE', `migration ${failed} failed`, { cause: error });
    }
  }

  async ping(): Promise<void> {
    try {
      await this.kysely.selectFrom('kuraban_meta').select('key').limit(1).execute();
    } catch (e) {
      throw new KurabanError('STORE_UNAVAILABLE', undefined, { cause: e });
    }
  }

  async snapshot<T>(fn: (reader: SnapshotReader) => Promise<T>): Promise<T> {
    const run = (trx: Transaction<Database>) =>
      fn({
        readPage: (table, after, limit) => readPage(trx, table, after, limit),
        getMeta: async (key) => (await trx.selectFrom('kuraban_meta').select('value').where('key', '=', key).executeTakeFirst())?.value,
      });
    if (this.dialect === 'postgres') return this.kysely.transaction().setIsolationLevel('repeatable read').execute(run);
    // SQLite in WAL mode: a read transaction on the read-only connection sees one snapshot.
    return this.reader.transaction().execute(run);
  }

  async loadRows(tx: StoreTx, table: BackupTable, rows: readonly RawRow[]): Promise<void> {
    const trx = (tx as KyselyStoreTx).kyselyTx;
    const values = table === 'log_pending' ? rows.map(({ id: _id, ...rest }) => rest) : rows;
    // A target opened before the restore registered its default location: the backup's registry replaces it.
    if (table === 'locations' && rows.length > 0) await trx.deleteFrom('locations').where('id', 'in', rows.map((r) => String(r.id))).execute();
    const width = Math.max(1, Object.keys(values[0] ?? {}).length);
    const per = Math.max(1, Math.floor(900 / width));
    for (let i = 0; i < values.length; i += per) {
      await trx.insertInto(table as any).values(values.slice(i, i + per) as any).execute();
    }
  }

  async isEmpty(): Promise<boolean> {
    for (const table of ['tenants', 'wrapped_keys', 'log_state', 'api_keys'] as const) {
      const row = await this.kysely.selectFrom(table).select(sql<number>`1`.as('one')).limit(1).executeTakeFirst();
      if (row) return false;
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.reader !== this.kysely) await this.reader.destroy();
    await this.kysely.destroy();
    await this.onClose();
  }
}

const PRIMARY_KEYS = new Map<string, readonly string[]>([...BACKUP_TABLES.data, ...BACKUP_TABLES.keys]);

/** One page of a table in primary-key order (row-value comparison: SQLite ≥ 3.15, PostgreSQL). */
async function readPage(db: Transaction<Database>, table: BackupTable, after: RawRow | undefined, limit: number): Promise<RawRow[]> {
  const pk = PRIMARY_KEYS.get(table) as readonly string[];
  const cols = sql.join(pk.map((c) => sql.ref(c)));
  const where = after === undefined ? sql`` : sql`where (${cols}) > (${sql.join(pk.map((c) => sql`${after[c]}`))})`;
  const res = await sql<Record<string, unknown>>`select * from ${sql.table(table)} ${where} order by ${cols} limit ${limit}`.execute(db);
  return res.rows.map((r) => {
    const out: RawRow = {};
    for (const [k, v] of Object.entries(r)) out[k] = v instanceof Uint8Array ? Buffer.from(v) : (v as string | number | null);
    return out;
  });
}
