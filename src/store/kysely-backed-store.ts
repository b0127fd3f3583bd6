import { Migrator, type Kysely } from 'kysely';
import { KurabanError } from '../errors/index.js';
import type { Database } from './database.js';
import { KyselyStoreOps, type BackendSpecifics } from './kysely-store.js';
import { migrationProvider } from './migrations/index.js';
import type { IndexRow, RecordRow, WrappedKeyRow } from './rows.js';
import type { Dialect, Store, StoreTx } from './store.js';

class KyselyStoreTx extends KyselyStoreOps implements StoreTx {
  readonly commitHooks: Array<() => void> = [];
  onCommit(fn: () => void): void {
    this.commitHooks.push(fn);
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

  override async appendLogPending(tenantId: string, entries: readonly Buffer[]): Promise<void> {
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

  async close(): Promise<void> {
    if (this.reader !== this.kysely) await this.reader.destroy();
    await this.kysely.destroy();
    await this.onClose();
  }
}
