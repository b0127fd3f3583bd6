import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../store.js';

export function initialSchema(dialect: Dialect): Migration {
  const bytes = dialect === 'postgres' ? sql`bytea` : sql`blob`;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('kuraban_meta')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tenants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('collections')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('schema_json', 'text', (c) => c.notNull())
        .addColumn('schema_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('collections_tenant_name', ['tenant_id', 'name'])
        .execute();
      let keys = db.schema
        .createTable('wrapped_keys')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('scope_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('wrapped', bytes, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('wrapped_keys_pk', ['tenant_id', 'kind', 'scope_id', 'version']);
      if (dialect === 'sqlite') keys = keys.modifyEnd(sql`without rowid`);
      await keys.execute();
      await db.schema
        .createTable('records')
        .addColumn('collection_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('key_version', 'integer', (c) => c.notNull())
        .addColumn('ciphertext', bytes, (c) => c.notNull())
        .addColumn('index_digests', bytes, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('records_pk', ['collection_id', 'id'])
        .execute();
      // Finding a person's records (erasure, "who read my data") without scanning.
      await db.schema.createIndex('records_subject').on('records').columns(['tenant_id', 'subject_id']).execute();
      // Blind index: one row per (digest, record). The digest is an HMAC under a key private to one
      // (collection, field), so it names its collection and field by itself (a cross-field collision
      // is a 2^-128 event, and every hit is re-checked after decryption). Keeping the key to 16 bytes
      // plus the record id keeps this, the largest B-tree, small.
      // SQLite: small fixed-shape rows live best in WITHOUT ROWID tables keyed by their primary key.
      let index = db.schema
        .createTable('blind_index')
        .addColumn('digest', bytes, (c) => c.notNull())
        .addColumn('record_id', 'text', (c) => c.notNull())
        .addColumn('uniq', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('blind_index_pk', ['digest', 'record_id']);
      if (dialect === 'sqlite') index = index.modifyEnd(sql`without rowid`);
      await index.execute();
      // Unique fields: at most one record per digest among rows flagged uniq.
      await db.schema
        .createIndex('blind_index_unique')
        .on('blind_index')
        .column('digest')
        .unique()
        .where(sql.ref('uniq'), '=', 1)
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text')
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('secret_hash', bytes, (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('import_jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('collection_id', 'text', (c) => c.notNull())
        .addColumn('lines_done', 'integer', (c) => c.notNull())
        .addColumn('rows_imported', 'integer', (c) => c.notNull())
        .addColumn('rows_rejected', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
