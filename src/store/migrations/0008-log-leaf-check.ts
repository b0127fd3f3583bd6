import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../store.js';

/**
 * Each appended access-log entry keeps a check of its bytes as they were encoded: the first 48 bits of
 * its RFC 6962 leaf hash, as an integer (src/ledger/NOTES.md, "Sequencing"). Integration hashes the
 * stored bytes anyway; it refuses an entry whose hash does not start with the check, instead of
 * decoding every entry to catch damage. On log_pending (PostgreSQL's queue) and on log_entries (where
 * SQLite places entries at their index when they are appended). Rows written before this migration
 * have no check (null): queued ones are decoded as before; integrated ones are never read for it.
 */
export function logLeafCheckSchema(dialect: Dialect): Migration {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('log_pending').addColumn('leaf_check', bigint).execute();
      await db.schema.alterTable('log_entries').addColumn('leaf_check', bigint).execute();
    },
  };
}
