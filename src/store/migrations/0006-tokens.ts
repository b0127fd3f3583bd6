import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../store.js';

/**
 * Tokens (docs/tokens.md, src/tokens/NOTES.md): the registry of issued tokens. A row holds the
 * token's look-up hash (HMAC-SHA-256 under a per-field key, truncated to 128 bits — never the token),
 * its kind and key version, and what it stands for: a record's field (`ref` = record id), or a value
 * tokenised on its own (`ref` = '', the value sealed in `value_ct` for random tokens). Erasing a
 * subject deletes the rows naming them; an unknown hash is an unknown token.
 */
export function tokensSchema(dialect: Dialect): Migration {
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tokens')
        .addColumn('collection_id', 'text', (c) => c.notNull())
        .addColumn('field', 'text', (c) => c.notNull())
        .addColumn('token_hash', bytes, (c) => c.notNull())
        .addColumn('ref', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key_version', 'integer', (c) => c.notNull())
        .addColumn('subject_id', 'text')
        .addColumn('value_ct', bytes)
        .addColumn('created_at', 'text', (c) => c.notNull())
        // The hash is keyed per collection and field, so (hash, ref) is unique without them: a short key.
        .addPrimaryKeyConstraint('tokens_pk', ['token_hash', 'ref'])
        // SQLite: the primary key is the table (one B-tree per insert, not a rowid table and an index).
        .$call((t) => (dialect === 'sqlite' ? t.modifyEnd(sql`without rowid`) : t))
        .execute();
      // Partial: values tokenised on their own (no record, often no subject) add no entry to these.
      await db.schema.createIndex('tokens_subject').on('tokens').columns(['tenant_id', 'subject_id']).where(sql.ref('subject_id'), 'is not', null).execute();
      await db.schema.createIndex('tokens_ref').on('tokens').columns(['collection_id', 'ref']).where(sql.ref('ref'), '<>', '').execute();
    },
  };
}
