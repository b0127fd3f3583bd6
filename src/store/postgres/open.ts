import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../database.js';
import { KyselyBackedStore } from '../kysely-backed-store.js';
import type { Store } from '../store.js';
import { postgresBulkInsertTokens, postgresFindTokens } from './bulk-tokens.js';
import { postgresBulkInsert, postgresBulkInsertKeys, postgresBulkReencrypt } from './bulk-insert.js';
import { postgresLogBulk } from './log-bulk.js';

export interface PostgresOptions {
  /** postgres://user@host:port/database */
  readonly url: string;
  readonly poolSize?: number;
}

export function openPostgresStore(options: PostgresOptions): Store {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
  // An idle client's network error must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new KyselyBackedStore(kysely, {
    dialect: 'postgres',
    bulkInsertRecords: postgresBulkInsert,
    bulkInsertWrappedKeys: postgresBulkInsertKeys,
    bulkReencrypt: postgresBulkReencrypt,
    bulkInsertTokens: postgresBulkInsertTokens,
    findTokens: postgresFindTokens,
    logBulk: postgresLogBulk,
    withMigrationLock: (fn) => fn(), // Kysely's migrator holds pg_advisory_lock while it migrates
    uniqueViolation(e) {
      const err = e as { code?: unknown; constraint?: unknown } | null;
      // PostgreSQL SQLSTATE 23505 unique_violation (Appendix A, class 23)
      if (err?.code !== '23505') return undefined;
      return String(err.constraint ?? '');
    },
  });
}
