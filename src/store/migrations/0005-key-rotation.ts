import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../store.js';

/**
 * Key rotation (src/keys/NOTES.md). Each wrapped key row records which version of its parent key
 * wraps it (`wrapped_by`: the tenant key version for data, index, subject and log keys; 0 for tenant
 * keys, which the root key wraps), so a tenant key can rotate by re-wrapping its children a batch at
 * a time. `key_jobs` holds the progress of resumable key jobs (re-wrapping, re-encryption).
 */
export function keyRotationSchema(dialect: Dialect): Migration {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('wrapped_keys').addColumn('wrapped_by', 'integer', (c) => c.notNull().defaultTo(1)).execute();
      await db.schema
        .createTable('key_jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('scope_id', 'text', (c) => c.notNull())
        .addColumn('target_version', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('done', bigint, (c) => c.notNull())
        .addColumn('total', bigint, (c) => c.notNull())
        .addColumn('cursor', 'text')
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // Re-encryption finds the records still under an old key version without scanning.
      await db.schema.createIndex('records_key_version').on('records').columns(['collection_id', 'key_version']).execute();
    },
  };
}
