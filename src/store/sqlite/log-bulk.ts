import type BetterSqlite3 from 'better-sqlite3';
import type { LogBulk } from '../kysely-store.js';
import type { LogPendingRow } from '../rows.js';

/** Rows per multi-row statement: chunks of 512, 256, … 1, so at most 10 prepared statements per table. */
const MAX_ROWS_PER_STATEMENT = 512; // ≤ 3 × 512 = 1,536 parameters, under SQLITE_MAX_VARIABLE_NUMBER (32766 since 3.32)

/**
 * The access log's hot path on SQLite: prepared multi-row statements on the raw handle, instead of a
 * query built and compiled per call. Used only inside a store transaction (Kysely's SQLite driver holds
 * its one connection, and BEGIN IMMEDIATE, for the whole transaction, so statements on the same handle
 * join it) — KyselyStoreOps calls these only when its `db` is a transaction.
 */
export function sqliteLogBulk(raw: BetterSqlite3.Database): LogBulk {
  // Prepared on first use: the tables exist only after migration.
  const cache = new Map<string, BetterSqlite3.Statement>();
  const statement = (key: string, sql: () => string): BetterSqlite3.Statement => {
    let st = cache.get(key);
    if (st === undefined) cache.set(key, (st = raw.prepare(sql())));
    return st;
  };
  const inTransaction = (): void => {
    if (!raw.inTransaction) throw new Error('access log bulk statements must run inside a store transaction');
  };
  /** Runs `rows` (after the `prefix` parameters) through multi-row statements of descending power-of-two sizes; returns the changes. */
  const chunked = <T>(
    rows: readonly T[],
    key: string,
    sql: (n: number) => string,
    columns: number,
    fill: (row: T, index: number, out: unknown[], at: number) => void,
    prefix: readonly unknown[] = [],
  ): number => {
    let changes = 0;
    let i = 0;
    for (let n = MAX_ROWS_PER_STATEMENT; n >= 1; n >>>= 1) {
      if (rows.length - i < n) continue;
      const st = statement(`${key}:${n}`, () => sql(n));
      const params = new Array<unknown>(prefix.length + n * columns);
      for (let k = 0; k < prefix.length; k++) params[k] = prefix[k];
      for (; rows.length - i >= n; i += n) {
        for (let j = 0; j < n; j++) fill(rows[i + j] as T, i + j, params, prefix.length + j * columns);
        changes += st.run(params).changes;
      }
    }
    return changes;
  };

  const insertSubjects = (tenantId: string, rows: ReadonlyArray<{ readonly subjectId: string; readonly index: number }>): void => {
    chunked(rows, 'subjects', (n) => `insert into log_subjects (tenant_id, subject_id, idx) values ${placeholders(n, 3)}`, 3, (r, _i, out, at) => {
      out[at] = tenantId;
      out[at + 1] = r.subjectId;
      out[at + 2] = r.index;
    });
  };

  return {
    async appendPending(_db, tenantId, entries) {
      inTransaction();
      // Entries still queued (restored from PostgreSQL, or queued before migration 0008) are older than
      // these: queue behind them, so the log keeps the order entries were appended in.
      if (statement('any-queued', () => 'select 1 from log_pending where tenant_id = ? limit 1').get(tenantId) !== undefined) {
        chunked(entries, 'pending', (n) => `insert into log_pending (tenant_id, entry, leaf_check) values ${placeholders(n, 3)}`, 3, (e, _i, out, at) => {
          out[at] = tenantId;
          out[at + 1] = e.entry;
          out[at + 2] = e.leafCheck;
        });
        return;
      }
      // Placed at the next indexes: after every stored entry and at least at the log's size. This
      // transaction holds the write lock (BEGIN IMMEDIATE), so no other writer can take them.
      const next = Number(
        statement('next', () =>
          'select max(coalesce((select max(idx) + 1 from log_entries where tenant_id = ?), 0), coalesce((select size from log_state where tenant_id = ?), 0))',
        )
          .pluck()
          .get(tenantId, tenantId),
      );
      chunked(entries, 'placed', (n) => `insert into log_entries (tenant_id, idx, entry, leaf_check) values ${placeholders(n, 4)}`, 4, (e, i, out, at) => {
        out[at] = tenantId;
        out[at + 1] = next + i;
        out[at + 2] = e.entry;
        out[at + 3] = e.leafCheck;
      });
      const subjects: Array<{ subjectId: string; index: number }> = [];
      entries.forEach((e, i) => {
        for (const subjectId of e.subjects) subjects.push({ subjectId, index: next + i });
      });
      insertSubjects(tenantId, subjects);
    },
    async listPending(_db, tenantId, limit) {
      inTransaction();
      const placed = statement('list-placed', () => 'select idx, entry, leaf_check from log_entries where tenant_id = ? and idx >= coalesce((select size from log_state where tenant_id = ?), 0) order by idx limit ?')
        .raw(true)
        .all(tenantId, tenantId, limit) as Array<[number | bigint, Buffer, number | bigint | null]>;
      const queued = statement('list', () => 'select id, entry, leaf_check from log_pending where tenant_id = ? order by id limit ?')
        .raw(true)
        .all(tenantId, limit - placed.length) as Array<[number | bigint, Buffer, number | bigint | null]>;
      const out: LogPendingRow[] = [];
      for (const [idx, entry, check] of placed) out.push({ index: Number(idx), id: null, entry, leafCheck: check === null ? null : Number(check) });
      for (const [id, entry, check] of queued) out.push({ index: null, id: Number(id), entry, leafCheck: check === null ? null : Number(check) });
      return out;
    },
    async insertEntries(_db, tenantId, firstIndex, entries) {
      inTransaction();
      chunked(entries, 'entries', (n) => `insert into log_entries (tenant_id, idx, entry) values ${placeholders(n, 3)}`, 3, (entry, i, out, at) => {
        out[at] = tenantId;
        out[at + 1] = firstIndex + i;
        out[at + 2] = entry;
      });
    },
    async insertSubjects(_db, tenantId, rows) {
      inTransaction();
      insertSubjects(tenantId, rows);
    },
    async deletePending(_db, tenantId, ids) {
      inTransaction();
      // Pending ids come in runs of consecutive integers (one integration takes the oldest rows in id
      // order): each run is one range delete, exact because every id of the range is in the list.
      const sorted = [...ids].sort((a, b) => a - b);
      const range = statement('delete-range', () => 'delete from log_pending where tenant_id = ? and id >= ? and id <= ?');
      let changes = 0;
      for (let i = 0; i < sorted.length; ) {
        let j = i;
        while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
        changes += range.run(tenantId, sorted[i], sorted[j]).changes;
        i = j + 1;
      }
      return changes;
    },
    async putTiles(_db, tenantId, tiles) {
      inTransaction();
      const st = statement(
        'tile',
        () => 'insert into log_tiles (tenant_id, level, tile_index, width, hashes) values (?, ?, ?, ?, ?) on conflict (tenant_id, level, tile_index) do update set width = excluded.width, hashes = excluded.hashes',
      );
      for (const t of tiles) st.run(tenantId, t.level, t.index, t.width, t.hashes);
    },
  };
}

function placeholders(rows: number, columns: number): string {
  const row = `(${new Array(columns).fill('?').join(',')})`;
  return new Array(rows).fill(row).join(',');
}
