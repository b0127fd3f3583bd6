import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database } from '../database.js';
import type { FoundTokenRow, TokenRegistryScope, TokenRow } from '../rows.js';
import { inKeyOrder, placeholders, preparedBySize, runChunked, runShared, SHARED_MIN_ROWS } from './bulk-insert.js';

const TOKEN_COLUMNS = 10;
const TOKENS_PER_STATEMENT = 90; // 900 parameters, under SQLITE_MAX_VARIABLE_NUMBER
const SHARED_TOKEN_COLUMNS = 4;
const SHARED_TOKENS_PER_STATEMENT = 225; // 900 positional parameters and 6 named ones
const COLUMNS = 'collection_id, field, token_hash, ref, tenant_id, kind, key_version, subject_id, value_ct, created_at';

/**
 * Token registry rows (a tokenise call of 10,000 values is 10,000 rows): multi-row prepared
 * statements on the store's own handle, inside its transaction, skipping rows that exist. Rows of
 * one field, kind, key version and time (a tokenise call; a field of a record batch) bind those
 * once per statement, by name: 4 values per row instead of 10.
 */
export function sqliteBulkInsertTokens(raw: BetterSqlite3.Database) {
  const tokenSql = (n: number) => `insert or ignore into tokens (${COLUMNS}) values ${placeholders(n, TOKEN_COLUMNS)}`;
  const shared = preparedBySize(raw, (n) =>
    `insert or ignore into tokens (${COLUMNS}) values ${new Array(n).fill('(:collection, :field, ?, ?, :tenant, :kind, :version, ?, ?, :created)').join(',')}`,
  );
  let statements: { many: BetterSqlite3.Statement; one: BetterSqlite3.Statement } | undefined;
  return async (_db: Kysely<Database>, rows: readonly TokenRow[]): Promise<number> => {
    if (!raw.inTransaction) throw new Error('token insert must run inside a store transaction');
    statements ??= {
      many: raw.prepare(tokenSql(TOKENS_PER_STATEMENT)),
      one: raw.prepare(tokenSql(1)),
    };
    const { many, one } = statements;
    let changes = 0;
    for (const group of sharedGroups(rows)) {
      // In key order: one left-to-right walk of the B-tree instead of a random page per row.
      const sorted = inKeyOrder(group, (r) => r.tokenHash);
      const first = group[0] as TokenRow;
      if (group.length < SHARED_MIN_ROWS) {
        changes += runChunked(sorted, TOKENS_PER_STATEMENT, many, one, TOKEN_COLUMNS, (r, out, at) => {
          out[at] = r.collectionId;
          out[at + 1] = r.field;
          out[at + 2] = r.tokenHash;
          out[at + 3] = r.recordId ?? '';
          out[at + 4] = r.tenantId;
          out[at + 5] = r.kind;
          out[at + 6] = r.keyVersion;
          out[at + 7] = r.subjectId;
          out[at + 8] = r.valueCt;
          out[at + 9] = r.createdAt;
        });
        continue;
      }
      const named = { collection: first.collectionId, field: first.field, tenant: first.tenantId, kind: first.kind, version: first.keyVersion, created: first.createdAt };
      changes += runShared(sorted, SHARED_TOKENS_PER_STATEMENT, shared, SHARED_TOKEN_COLUMNS, named, (r, out, at) => {
        out[at] = r.tokenHash;
        out[at + 1] = r.recordId ?? '';
        out[at + 2] = r.subjectId;
        out[at + 3] = r.valueCt;
      });
    }
    return changes;
  };
}

/** Rows grouped by the columns a group binds once (usually one group: a call's or a field's rows). */
function sharedGroups(rows: readonly TokenRow[]): TokenRow[][] {
  const groups: TokenRow[][] = [];
  let last: TokenRow[] | undefined;
  for (const r of rows) {
    if (last === undefined || !sameShared(last[0] as TokenRow, r)) last = groups.find((g) => sameShared(g[0] as TokenRow, r));
    if (last) last.push(r);
    else groups.push((last = [r]));
  }
  return groups;
}

function sameShared(a: TokenRow, b: TokenRow): boolean {
  return a.collectionId === b.collectionId && a.field === b.field && a.tenantId === b.tenantId && a.kind === b.kind && a.keyVersion === b.keyVersion && a.createdAt === b.createdAt;
}

/**
 * StoreOps.findTokens: one prepared statement per connection, the hashes as one JSON array of hex
 * strings (json_each walks it; each hash is one primary-key search, CROSS JOIN keeps that order),
 * only the columns the caller needs, each row with its hash's position. Inside a transaction it
 * runs on the transaction's handle; outside, on the read connection (`reader`), or, with none (an
 * in-memory database), on the one connection while Kysely holds it for this query.
 */
export function sqliteFindTokens(raw: BetterSqlite3.Database, reader: (() => Promise<BetterSqlite3.Database>) | undefined) {
  const findSql = `select j.key, t.ref, t.key_version, t.subject_id, t.value_ct
    from json_each(?) j cross join tokens t on t.token_hash = unhex(j.value)
    where t.collection_id = ? and t.field = ? and t.tenant_id = ? and t.kind = ?`;
  const prepared = new WeakMap<BetterSqlite3.Database, BetterSqlite3.Statement>();
  const statement = (handle: BetterSqlite3.Database) => {
    let st = prepared.get(handle);
    if (!st) prepared.set(handle, (st = handle.prepare(findSql).raw(true)));
    return st;
  };
  const run = (handle: BetterSqlite3.Database, scope: TokenRegistryScope, hashes: readonly Buffer[]): FoundTokenRow[] => {
    let json = '[';
    for (let i = 0; i < hashes.length; i++) json += `${i === 0 ? '"' : ',"'}${(hashes[i] as Buffer).toString('hex')}"`;
    json += ']';
    const rows = statement(handle).all(json, scope.collectionId, scope.field, scope.tenantId, scope.kind) as Array<[number, string, number, string | null, Buffer | null]>;
    return rows.map(([at, ref, keyVersion, subjectId, valueCt]) => ({ at, recordId: ref === '' ? null : ref, keyVersion, subjectId, valueCt }));
  };
  return async (db: Kysely<Database>, inTransaction: boolean, scope: TokenRegistryScope, hashes: readonly Buffer[]): Promise<FoundTokenRow[]> => {
    if (inTransaction) return run(raw, scope, hashes);
    if (reader) return run(await reader(), scope, hashes);
    return db.connection().execute(async () => run(raw, scope, hashes));
  };
}
