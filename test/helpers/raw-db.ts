import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { VaultLocation } from '../../src/vault/index.js';

export type RawRow = Record<string, unknown>;

/**
 * A second, independent handle on a vault's database, for tests that inspect or tamper with rows
 * behind the store's back. SQL is written with `?` placeholders; they become `$n` on PostgreSQL.
 */
export interface RawDb {
  readonly dialect: 'sqlite' | 'postgres';
  all(sql: string, params?: readonly unknown[]): Promise<RawRow[]>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Every user table (migration bookkeeping included), sorted. */
  tables(): Promise<string[]>;
  /** Every row of every table, rows sorted, bytes as hex: for "nothing changed" comparisons. */
  snapshot(): Promise<Record<string, string[]>>;
  close(): Promise<void>;
}

export function sqlitePath(location: VaultLocation): string {
  return join(location.dataDir, 'kuraban.db');
}

export async function openRawDb(location: VaultLocation): Promise<RawDb> {
  let db: Omit<RawDb, 'snapshot'>;
  if (location.databaseUrl) {
    const client = new pg.Client({ connectionString: location.databaseUrl });
    await client.connect();
    const numbered = (sql: string) => {
      let n = 0;
      return sql.replace(/\?/g, () => `$${++n}`);
    };
    db = {
      dialect: 'postgres',
      async all(sql, params = []) {
        return (await client.query(numbered(sql), [...params])).rows as RawRow[];
      },
      async run(sql, params = []) {
        return (await client.query(numbered(sql), [...params])).rowCount ?? 0;
      },
      async tables() {
        const r = await client.query(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`);
        return r.rows.map((x: { table_name: string }) => x.table_name).sort();
      },
      async close() {
        await client.end();
      },
    };
  } else {
    const raw = new BetterSqlite3(sqlitePath(location));
    raw.pragma('busy_timeout = 10000');
    db = {
      dialect: 'sqlite',
      async all(sql, params = []) {
        return raw.prepare(sql).all(...params) as RawRow[];
      },
      async run(sql, params = []) {
        return raw.prepare(sql).run(...params).changes;
      },
      async tables() {
        const rows = raw.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`).all() as Array<{ name: string }>;
        return rows.map((r) => r.name).sort();
      },
      async close() {
        raw.close();
      },
    };
  }
  return {
    ...db,
    async snapshot() {
      const out: Record<string, string[]> = {};
      for (const t of await db.tables()) {
        const rows = await db.all(`select * from ${t}`);
        out[t] = rows.map((r) => JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, Buffer.isBuffer(v) ? `hex:${v.toString('hex')}` : v]))).sort();
      }
      return out;
    },
  };
}
