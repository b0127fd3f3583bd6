import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../store.js';

/**
 * The access log (see src/ledger/NOTES.md, "Sequencing"): entries wait in log_pending (appended in
 * the caller's transaction) until the integrator moves them, in one transaction, to log_entries with
 * their index, updates log_tiles and log_state and stores a signed checkpoint. The log key itself is
 * a wrapped_keys row of kind 'log'; log_state holds its public verifier key.
 */
export function accessLogSchema(dialect: Dialect): Migration {
  const bytes = dialect === 'postgres' ? sql`bytea` : sql`blob`;
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      let pending = db.schema.createTable('log_pending');
      pending =
        dialect === 'postgres'
          ? pending.addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
          : pending.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
      await pending
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('entry', bytes, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('log_pending_tenant').on('log_pending').columns(['tenant_id', 'id']).execute();
      let entries = db.schema
        .createTable('log_entries')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('idx', bigint, (c) => c.notNull())
        .addColumn('entry', bytes, (c) => c.notNull())
        .addPrimaryKeyConstraint('log_entries_pk', ['tenant_id', 'idx']);
      if (dialect === 'sqlite') entries = entries.modifyEnd(sql`without rowid`);
      await entries.execute();
      let tiles = db.schema
        .createTable('log_tiles')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('tile_index', bigint, (c) => c.notNull())
        .addColumn('width', 'integer', (c) => c.notNull())
        .addColumn('hashes', bytes, (c) => c.notNull())
        .addPrimaryKeyConstraint('log_tiles_pk', ['tenant_id', 'level', 'tile_index']);
      if (dialect === 'sqlite') tiles = tiles.modifyEnd(sql`without rowid`);
      await tiles.execute();
      let checkpoints = db.schema
        .createTable('log_checkpoints')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('size', bigint, (c) => c.notNull())
        .addColumn('note', bytes, (c) => c.notNull())
        .addPrimaryKeyConstraint('log_checkpoints_pk', ['tenant_id', 'size']);
      if (dialect === 'sqlite') checkpoints = checkpoints.modifyEnd(sql`without rowid`);
      await checkpoints.execute();
      await db.schema
        .createTable('log_state')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('verifier_key', 'text', (c) => c.notNull())
        .addColumn('size', bigint, (c) => c.notNull())
        .addColumn('root', bytes, (c) => c.notNull())
        .execute();
    },
  };
}
