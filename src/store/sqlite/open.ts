import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect as KyselyDialect,
} from 'kysely';
import type { Database } from '../database.js';
import { KyselyBackedStore } from '../kysely-backed-store.js';
import type { Store } from '../store.js';
import { sqliteBulkInsertTokens, sqliteFindTokens } from './bulk-tokens.js';
import { sqliteBulkInsert, sqliteBulkInsertKeys, sqliteBulkReencrypt } from './bulk-insert.js';
import { BACKGROUND_CHECKPOINT_MIN_ROWS, startBackgroundCheckpointer, type BackgroundCheckpointer } from './checkpointer.js';
import { sqliteLogBulk } from './log-bulk.js';

/**
 * BEGIN IMMEDIATE takes SQLite's write lock when a transaction starts, so two processes on one file
 * (a server and an import) queue on busy_timeout instead of failing mid-transaction with
 * SQLITE_BUSY_SNAPSHOT. It is also what serialises migrations across processes.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

export interface SqliteOptions {
  /** A file path, or ':memory:' for tests. */
  readonly path: string;
  /** The writing connection's page cache in MiB; default DEFAULT_CACHE_MIB. */
  readonly cacheMiB?: number;
  /** Checkpoint on a background thread once a bulk load starts (checkpointer.ts); default true. */
  readonly backgroundCheckpoints?: boolean;
}

/**
 * 16 MiB page cache: ingest inserts index rows in key order (one sweep per batch), so 32 MiB bought no
 * speed. 8 MiB ingested 1,000,000 records 4–8 % slower in process (20,376 and 18,327 vs 21,280 and
 * 19,859 records/s, interleaved, 2026-12-03) and is what `kuraban import` takes to bound its peak RSS.
 */
export const DEFAULT_CACHE_MIB = 16;

export function openSqliteStore(options: SqliteOptions): Store {
  const cacheMiB = options.cacheMiB ?? DEFAULT_CACHE_MIB;
  if (!Number.isInteger(cacheMiB) || cacheMiB < 1) throw new RangeError('the SQLite page cache is a whole number of MiB');
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
  const raw = new BetterSqlite3(options.path);
  raw.pragma('journal_mode = WAL'); // concurrent readers with one writer; durable at checkpoint
  raw.pragma('synchronous = NORMAL'); // with WAL: durable across process crashes, not power loss mid-checkpoint
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 10000');
  raw.pragma(`cache_size = -${cacheMiB * 1024}`);
  raw.pragma('temp_store = MEMORY');
  raw.pragma('wal_autocheckpoint = 40000'); // ~160 MiB of WAL between checkpoints: index pages rewritten by many batches are copied once; a bulk load checkpoints in the background (checkpointer.ts) and this is the backstop
  const config = { database: raw };
  const dialect: KyselyDialect = {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new ImmediateSqliteDriver(config),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
  const kysely = new Kysely<Database>({ dialect });
  // Reads outside transactions use their own read-only connection: in WAL mode they see the last
  // committed state and need not wait for an open write transaction (a 10,000-record batch, an import).
  // Opened on first use; the token registry's look-up statement shares it.
  let readerDb: BetterSqlite3.Database | undefined;
  const readerHandle = async () => (readerDb ??= openReader(options.path));
  const reader = options.path === ':memory:' ? kysely : new Kysely<Database>({ dialect: new SqliteDialect({ database: readerHandle }) });
  // Checkpoints leave the writing thread once a bulk load starts (checkpointer.ts).
  const insertRecords = sqliteBulkInsert(raw);
  const background = options.path !== ':memory:' && options.backgroundCheckpoints !== false;
  let checkpointer: BackgroundCheckpointer | undefined;
  return new KyselyBackedStore(kysely, {
    dialect: 'sqlite',
    bulkInsertRecords: (db, records, index) => {
      if (checkpointer === undefined && background && records.length >= BACKGROUND_CHECKPOINT_MIN_ROWS) checkpointer = startBackgroundCheckpointer(options.path);
      return insertRecords(db, records, index);
    },
    bulkInsertWrappedKeys: sqliteBulkInsertKeys(raw),
    bulkReencrypt: sqliteBulkReencrypt(raw),
    bulkInsertTokens: sqliteBulkInsertTokens(raw),
    findTokens: sqliteFindTokens(raw, options.path === ':memory:' ? undefined : readerHandle),
    logBulk: sqliteLogBulk(raw),
    // Kysely takes no lock on SQLite (no transactional DDL there, it says); SQLite has it. BEGIN
    // IMMEDIATE holds the database's write lock across the whole migration, so a second process
    // waits (busy_timeout) and then finds the migrations applied. Runs at open, before any request.
    async withMigrationLock(fn) {
      raw.exec('begin immediate');
      try {
        const result = await fn();
        raw.exec('commit');
        return result;
      } catch (e) {
        if (raw.inTransaction) raw.exec('rollback');
        throw e;
      }
    },
    uniqueViolation(e) {
      const code = (e as { code?: unknown } | null)?.code;
      if (code !== 'SQLITE_CONSTRAINT_UNIQUE' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return undefined;
      return String((e as Error).message);
    },
  }, async () => {
    await checkpointer?.stop();
    readerDb?.close(); // Kysely closes it only if it opened it itself
  }, reader);
}

function openReader(path: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  db.pragma('cache_size = -4096'); // 4 MiB (an import's key look-ups would otherwise fill a larger one and raise its resident memory)
  return db;
}
