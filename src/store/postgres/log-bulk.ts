import { sql } from 'kysely';
import type { LogBulk } from '../kysely-store.js';

/** Rows per statement: each is a handful of array parameters, however many rows. */
const ROWS_PER_STATEMENT = 5000;

/**
 * The access log's hot path on PostgreSQL: one statement per chunk over unnest()ed arrays, so a
 * 4,096-entry integration is a few statements, not one per 500 rows with 3 parameters each. Row order
 * follows the arrays (WITH ORDINALITY), so pending ids are assigned in the order entries were given.
 */
export const postgresLogBulk: LogBulk = {
  async appendPending(db, tenantId, entries) {
    for (let i = 0; i < entries.length; i += ROWS_PER_STATEMENT) {
      const c = entries.slice(i, i + ROWS_PER_STATEMENT);
      await sql`insert into log_pending (tenant_id, entry, leaf_check)
        select ${tenantId}, u.entry, u.leaf_check from unnest(${c.map((e) => e.entry)}::bytea[], ${c.map((e) => e.leafCheck)}::bigint[]) with ordinality as u(entry, leaf_check, n) order by u.n`.execute(db);
    }
  },
  async listPending(db, tenantId, limit) {
    // Entries placed beyond the log's size come only from a SQLite backup restored here; they go first.
    const placed = await sql<{ idx: string | number; entry: Buffer; leaf_check: string | number | null }>`select idx, entry, leaf_check from log_entries
      where tenant_id = ${tenantId} and idx >= coalesce((select size from log_state where tenant_id = ${tenantId}), 0) order by idx limit ${limit}`.execute(db);
    const queued = await sql<{ id: string | number; entry: Buffer; leaf_check: string | number | null }>`select id, entry, leaf_check from log_pending
      where tenant_id = ${tenantId} order by id limit ${limit - placed.rows.length}`.execute(db);
    return [
      ...placed.rows.map((r) => ({ index: Number(r.idx), id: null, entry: r.entry, leafCheck: r.leaf_check === null ? null : Number(r.leaf_check) })),
      ...queued.rows.map((r) => ({ index: null, id: Number(r.id), entry: r.entry, leafCheck: r.leaf_check === null ? null : Number(r.leaf_check) })),
    ];
  },
  async insertEntries(db, tenantId, firstIndex, entries) {
    for (let i = 0; i < entries.length; i += ROWS_PER_STATEMENT) {
      const c = entries.slice(i, i + ROWS_PER_STATEMENT);
      await sql`insert into log_entries (tenant_id, idx, entry)
        select ${tenantId}, ${firstIndex + i}::bigint + u.n - 1, u.entry from unnest(${c}::bytea[]) with ordinality as u(entry, n)`.execute(db);
    }
  },
  async insertSubjects(db, tenantId, rows) {
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const c = rows.slice(i, i + ROWS_PER_STATEMENT);
      await sql`insert into log_subjects (tenant_id, subject_id, idx)
        select ${tenantId}, u.subject_id, u.idx from unnest(${c.map((r) => r.subjectId)}::text[], ${c.map((r) => r.index)}::bigint[]) as u(subject_id, idx)`.execute(db);
    }
  },
  async deletePending(db, tenantId, ids) {
    let n = 0;
    for (let i = 0; i < ids.length; i += ROWS_PER_STATEMENT) {
      const res = await sql`delete from log_pending where tenant_id = ${tenantId} and id = any(${ids.slice(i, i + ROWS_PER_STATEMENT)}::bigint[])`.execute(db);
      n += Number(res.numAffectedRows ?? 0);
    }
    return n;
  },
  async putTiles(db, tenantId, tiles) {
    if (tiles.length === 0) return;
    await sql`insert into log_tiles (tenant_id, level, tile_index, width, hashes)
      select ${tenantId}, u.level, u.tile_index, u.width, u.hashes
      from unnest(${tiles.map((t) => t.level)}::int[], ${tiles.map((t) => t.index)}::bigint[], ${tiles.map((t) => t.width)}::int[], ${tiles.map((t) => t.hashes)}::bytea[])
        as u(level, tile_index, width, hashes)
      on conflict (tenant_id, level, tile_index) do update set width = excluded.width, hashes = excluded.hashes`.execute(db);
  },
};
