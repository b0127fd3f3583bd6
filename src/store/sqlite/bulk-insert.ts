import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database } from '../database.js';
import { indexDigestsOf } from '../index-digests.js';
import type { IndexRow, RecordRow, WrappedKeyRow, ReencryptRow } from '../rows.js';

const RECORD_COLUMNS = 10;
const INDEX_COLUMNS = 3;
const SHARED_RECORD_COLUMNS = 5;
const SHARED_RECORDS_PER_STATEMENT = 180; // 900 positional parameters and 5 named ones
const RECORDS_PER_STATEMENT = 100; // 1000 parameters, under SQLITE_MAX_VARIABLE_NUMBER (32766 since 3.32)
const INDEX_ROWS_PER_STATEMENT = 300; // 900 parameters
const KEY_COLUMNS = 7;
const KEYS_PER_STATEMENT = 150; // 900 parameters
const SHARED_KEYS_PER_STATEMENT = 300; // 900 positional parameters and 4 named ones
/** Below this many rows, the shared-column statements are not worth preparing. */
export const SHARED_MIN_ROWS = 16;

/**
 * The ingest hot path. Runs only inside a store transaction: Kysely's SQLite driver holds its single
 * connection (and BEGIN IMMEDIATE) for the whole transaction, so these prepared statements on the
 * same handle join it. Multi-row statements cut the JS-to-native crossings per row.
 */
export function sqliteBulkInsert(raw: BetterSqlite3.Database) {
  const recordSql = (n: number) =>
    `insert into records (collection_id, id, tenant_id, subject_id, version, key_version, ciphertext, index_digests, created_at, updated_at) values ${placeholders(n, RECORD_COLUMNS)}`;
  const indexSql = (n: number) =>
    `insert into blind_index (digest, record_id, uniq) values ${placeholders(n, INDEX_COLUMNS)}`;
  // Prepared on first use: the tables exist only after migration.
  let statements: { manyRecords: BetterSqlite3.Statement; oneRecord: BetterSqlite3.Statement; manyIndex: BetterSqlite3.Statement; oneIndex: BetterSqlite3.Statement } | undefined;

  // A batch's record rows share collection, tenant, version and timestamps: bound once per statement
  // as named parameters, so each row binds 5 values instead of 10 (binding costs as much as SQLite's
  // own B-tree work on this path).
  const sharedRecords = preparedBySize(raw, (n) =>
    `insert into records (collection_id, id, tenant_id, subject_id, version, key_version, ciphertext, index_digests, created_at, updated_at) values ${new Array(n).fill('(:collection, ?, :tenant, ?, :version, ?, ?, ?, :created, :updated)').join(',')}`,
  );

  return async (_db: Kysely<Database>, records: readonly RecordRow[], index: readonly IndexRow[]): Promise<void> => {
    if (!raw.inTransaction) throw new Error('bulk insert must run inside a store transaction');
    statements ??= {
      manyRecords: raw.prepare(recordSql(RECORDS_PER_STATEMENT)),
      oneRecord: raw.prepare(recordSql(1)),
      manyIndex: raw.prepare(indexSql(INDEX_ROWS_PER_STATEMENT)),
      oneIndex: raw.prepare(indexSql(1)),
    };
    const { manyRecords, oneRecord, manyIndex, oneIndex } = statements;
    const digests = indexDigestsOf(records, index);
    const first = records[0];
    if (
      first !== undefined &&
      records.length >= SHARED_MIN_ROWS &&
      records.every((r) => r.collectionId === first.collectionId && r.tenantId === first.tenantId && r.version === first.version && r.createdAt === first.createdAt && r.updatedAt === first.updatedAt)
    ) {
      const named = { collection: first.collectionId, tenant: first.tenantId, version: first.version, created: first.createdAt, updated: first.updatedAt };
      runShared(records, SHARED_RECORDS_PER_STATEMENT, sharedRecords, SHARED_RECORD_COLUMNS, named, (r, out, at, i) => {
        out[at] = r.id;
        out[at + 1] = r.subjectId;
        out[at + 2] = r.keyVersion;
        out[at + 3] = r.ciphertext;
        out[at + 4] = digests[i];
      });
    } else {
      let n = 0;
      runChunked(records, RECORDS_PER_STATEMENT, manyRecords, oneRecord, RECORD_COLUMNS, (r, out, at) => {
        out[at] = r.collectionId;
        out[at + 1] = r.id;
        out[at + 2] = r.tenantId;
        out[at + 3] = r.subjectId;
        out[at + 4] = r.version;
        out[at + 5] = r.keyVersion;
        out[at + 6] = r.ciphertext;
        out[at + 7] = digests[n++];
        out[at + 8] = r.createdAt;
        out[at + 9] = r.updatedAt;
      });
    }
    runChunked(byDigest(index), INDEX_ROWS_PER_STATEMENT, manyIndex, oneIndex, INDEX_COLUMNS, (r, out, at) => {
      out[at] = r.digest;
      out[at + 1] = r.recordId;
      out[at + 2] = r.unique ? 1 : 0;
    });
  };
}

/**
 * Index rows in digest order. Digests are uniformly random, so a batch's rows land all over the
 * blind-index B-tree; inserted in key order, SQLite walks the tree once from left to right and
 * each page it loads is used for every row that lands on it while it is still in cache.
 */
function byDigest(index: readonly IndexRow[]): readonly IndexRow[] {
  return inKeyOrder(index, (r) => r.digest);
}

/**
 * Rows in the order of a random binary key (digests, token look-up hashes), sorted on its first 32
 * bits: a native numeric sort (Buffer.compare in a comparator costs more than the inserts it
 * orders); ties keep batch order, which is harmless.
 */
export function inKeyOrder<T>(rows: readonly T[], keyOf: (row: T) => Buffer): readonly T[] {
  if (rows.length < 2 || rows.length >= 2 ** 21) return rows;
  const keys = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const d = keyOf(rows[i] as T);
    const prefix = d.length >= 4 ? d.readUInt32BE(0) : 0;
    keys[i] = prefix * 2 ** 21 + i; // < 2^53: exact
  }
  keys.sort();
  const out = new Array<T>(rows.length);
  for (let i = 0; i < keys.length; i++) out[i] = rows[(keys[i] as number) % 2 ** 21] as T;
  return out;
}

/** Runs `many` over full chunks of `perStatement` rows and `one` over the rest; returns the rows changed. */
export function runChunked<T>(
  rows: readonly T[],
  perStatement: number,
  many: BetterSqlite3.Statement,
  one: BetterSqlite3.Statement,
  columns: number,
  fill: (row: T, out: unknown[], at: number) => void,
): number {
  let changes = 0;
  let i = 0;
  if (rows.length >= perStatement) {
    const params = new Array<unknown>(perStatement * columns);
    for (; i + perStatement <= rows.length; i += perStatement) {
      for (let j = 0; j < perStatement; j++) fill(rows[i + j] as T, params, j * columns);
      changes += many.run(params).changes;
    }
  }
  const single = new Array<unknown>(columns);
  for (; i < rows.length; i++) {
    fill(rows[i] as T, single, 0);
    changes += one.run(single).changes;
  }
  return changes;
}

/**
 * Rows that share some columns (bound once per statement as named parameters): full statements of
 * `perStatement` rows, then one statement sized to the remainder — never a row at a time.
 */
export function runShared<T>(
  rows: readonly T[],
  perStatement: number,
  statementFor: (n: number) => BetterSqlite3.Statement,
  columns: number,
  named: Record<string, unknown>,
  fill: (row: T, out: unknown[], at: number, index: number) => void,
): number {
  let changes = 0;
  for (let from = 0; from < rows.length; from += perStatement) {
    const n = Math.min(perStatement, rows.length - from);
    const params = new Array<unknown>(n * columns);
    for (let j = 0; j < n; j++) fill(rows[from + j] as T, params, j * columns, from + j);
    changes += statementFor(n).run(params, named).changes;
  }
  return changes;
}

/** Statements prepared on first use for each row count (at most one per count up to a statement's maximum). */
export function preparedBySize(raw: BetterSqlite3.Database, sqlFor: (n: number) => string): (n: number) => BetterSqlite3.Statement {
  const prepared = new Map<number, BetterSqlite3.Statement>();
  return (n) => {
    let st = prepared.get(n);
    if (!st) prepared.set(n, (st = raw.prepare(sqlFor(n))));
    return st;
  };
}

export function placeholders(rows: number, columns: number): string {
  const row = `(${new Array(columns).fill('?').join(',')})`;
  return new Array(rows).fill(row).join(',');
}

/** Wrapped key rows, on the same terms as sqliteBulkInsert (inside a store transaction). */
export function sqliteBulkInsertKeys(raw: BetterSqlite3.Database) {
  const keySql = (n: number, ignore: boolean) =>
    `insert ${ignore ? 'or ignore ' : ''}into wrapped_keys (tenant_id, kind, scope_id, version, wrapped, created_at, wrapped_by) values ${placeholders(n, KEY_COLUMNS)}`;
  const prepared = new Map<string, BetterSqlite3.Statement>();
  const statement = (n: number, ignore: boolean) => {
    const id = `${n}:${ignore}`;
    let st = prepared.get(id);
    if (!st) prepared.set(id, (st = raw.prepare(keySql(n, ignore))));
    return st;
  };
  // A batch's new subject keys share tenant, kind, creation time and wrapping version: bound once
  // per statement as named parameters, so each row binds 3 values instead of 7.
  const sharedKeys = [false, true].map((ignore) =>
    preparedBySize(raw, (n) => `insert ${ignore ? 'or ignore ' : ''}into wrapped_keys (tenant_id, kind, scope_id, version, wrapped, created_at, wrapped_by) values ${new Array(n).fill('(:tenant, :kind, ?, ?, ?, :created, :wrappedBy)').join(',')}`),
  );
  return async (_db: Kysely<Database>, rows: readonly WrappedKeyRow[], ignoreExisting: boolean): Promise<number> => {
    if (!raw.inTransaction) throw new Error('bulk insert must run inside a store transaction');
    const first = rows[0];
    if (
      first !== undefined &&
      rows.length >= SHARED_MIN_ROWS &&
      rows.every((r) => r.tenantId === first.tenantId && r.kind === first.kind && r.createdAt === first.createdAt && r.wrappedBy === first.wrappedBy)
    ) {
      const named = { tenant: first.tenantId, kind: first.kind, created: first.createdAt, wrappedBy: first.wrappedBy };
      return runShared(rows, SHARED_KEYS_PER_STATEMENT, sharedKeys[ignoreExisting ? 1 : 0] as (n: number) => BetterSqlite3.Statement, 3, named, (r, out, at) => {
        out[at] = r.scopeId;
        out[at + 1] = r.version;
        out[at + 2] = r.wrapped;
      });
    }
    return runChunked(rows, KEYS_PER_STATEMENT, statement(KEYS_PER_STATEMENT, ignoreExisting), statement(1, ignoreExisting), KEY_COLUMNS, (r, out, at) => {
      out[at] = r.tenantId;
      out[at + 1] = r.kind;
      out[at + 2] = r.scopeId;
      out[at + 3] = r.version;
      out[at + 4] = r.wrapped;
      out[at + 5] = r.createdAt;
      out[at + 6] = r.wrappedBy;
    });
  };
}

/** Re-encryption: one prepared UPDATE per row inside the store transaction, compare-and-set on (version, key version). */
export function sqliteBulkReencrypt(raw: BetterSqlite3.Database) {
  let st: BetterSqlite3.Statement | undefined;
  return async (_db: Kysely<Database>, collectionId: string, rows: readonly ReencryptRow[]): Promise<string[]> => {
    if (!raw.inTransaction) throw new Error('bulk re-encryption must run inside a store transaction');
    st ??= raw.prepare('update records set ciphertext = ?, key_version = ? where collection_id = ? and id = ? and version = ? and key_version = ?');
    const changed: string[] = [];
    for (const r of rows) if (st.run(r.ciphertext, r.toKeyVersion, collectionId, r.id, r.version, r.fromKeyVersion).changes === 1) changed.push(r.id);
    return changed;
  };
}
