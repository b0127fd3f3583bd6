import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database } from '../database.js';
import type { TokenRow } from '../rows.js';
import { placeholders, runChunked } from './bulk-insert.js';

const TOKEN_COLUMNS = 10;
const TOKENS_PER_STATEMENT = 90; // 900 parameters, under SQLITE_MAX_VARIABLE_NUMBER

/**
 * Token registry rows (a tokenise call of 10,000 values is 10,000 rows): multi-row prepared
 * statements on the store's own handle, inside its transaction, skipping rows that exist.
 */
export function sqliteBulkInsertTokens(raw: BetterSqlite3.Database) {
  const tokenSql = (n: number) =>
    `insert or ignore into tokens (collection_id, field, token_hash, ref, tenant_id, kind, key_version, subject_id, value_ct, created_at) values ${placeholders(n, TOKEN_COLUMNS)}`;
  let statements: { many: BetterSqlite3.Statement; one: BetterSqlite3.Statement } | undefined;
  return async (_db: Kysely<Database>, rows: readonly TokenRow[]): Promise<number> => {
    if (!raw.inTransaction) throw new Error('token insert must run inside a store transaction');
    statements ??= { many: raw.prepare(tokenSql(TOKENS_PER_STATEMENT)), one: raw.prepare(tokenSql(1)) };
    // In key order: one left-to-right walk of the primary-key B-tree instead of a random page per row.
    const sorted = [...rows].sort((a, b) => Buffer.compare(a.tokenHash, b.tokenHash));
    return runChunked(sorted, TOKENS_PER_STATEMENT, statements.many, statements.one, TOKEN_COLUMNS, (r, out, at) => {
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
  };
}
