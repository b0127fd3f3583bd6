import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../store.js';

/**
 * Residency (docs/residency.md): the registry of locations (where a store, backup, export or key
 * provider is, as the operator declares it), each collection's residency rules (a table of its own,
 * beside `collections`, so the collection schema is untouched), and the backups and plaintext exports
 * written (the data map shows where they went). No column holds a personal value.
 */
export function residencySchema(dialect: Dialect): Migration {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('locations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('country', 'text', (c) => c.notNull())
        .addColumn('region', 'text')
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('operator', 'text', (c) => c.notNull())
        .addColumn('jurisdiction', 'text', (c) => c.notNull())
        .addColumn('holds', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('collection_residency')
        .addColumn('collection_id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('rules_json', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('data_transfers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('collection_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('location_id', 'text', (c) => c.notNull())
        .addColumn('records', bigint)
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('data_transfers_tenant').on('data_transfers').columns(['tenant_id', 'created_at']).execute();
    },
  };
}
