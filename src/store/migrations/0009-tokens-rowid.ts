import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../store.js';

/**
 * SQLite: the token registry becomes a rowid table with a unique index on (token_hash, ref), instead
 * of a WITHOUT ROWID table keyed by them (0006). Same columns, same constraint, same queries.
 *
 * Why: look-up hashes are uniformly random, so each tokenise call's rows land all over the key's
 * B-tree and its commit rewrites nearly every leaf page of it. Keyed by the hash, that B-tree held
 * whole rows (~120 bytes: collection id, field, tenant, kind, timestamp); now it holds ~25-byte
 * index entries, and the rows are appended in rowid order, a few new pages per call. Measured
 * (docs/benchmarks.md, Tokens): at 200,000–400,000 rows, ~9 µs → ~4.5 µs CPU per registered token.
 *
 * PostgreSQL: nothing to do (its tables are heaps beside their primary-key index already).
 */
export function tokensRowidSchema(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (dialect !== 'sqlite') return;
      const columns = sql.raw('collection_id, field, token_hash, ref, tenant_id, kind, key_version, subject_id, value_ct, created_at');
      await db.schema
        .createTable('tokens_rowid')
        .addColumn('collection_id', 'text', (c) => c.notNull())
        .addColumn('field', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'blob', (c) => c.notNull())
        .addColumn('ref', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key_version', 'integer', (c) => c.notNull())
        .addColumn('subject_id', 'text')
        .addColumn('value_ct', 'blob')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // In key order, so the new index is built by appending.
      await sql`insert into tokens_rowid (${columns}) select ${columns} from tokens order by token_hash, ref`.execute(db);
      await db.schema.dropTable('tokens').execute(); // its indexes go with it
      await sql`alter table tokens_rowid rename to tokens`.execute(db);
      await db.schema.createIndex('tokens_pk').unique().on('tokens').columns(['token_hash', 'ref']).execute();
      // As in 0006: partial, so values tokenised on their own (no record, often no subject) add no entry.
      await db.schema.createIndex('tokens_subject').on('tokens').columns(['tenant_id', 'subject_id']).where(sql.ref('subject_id'), 'is not', null).execute();
      await db.schema.createIndex('tokens_ref').on('tokens').columns(['collection_id', 'ref']).where(sql.ref('ref'), '<>', '').execute();
    },
  };
}
