import { sql, type Kysely } from 'kysely';
import type { Database } from '../database.js';
import { indexDigestsOf } from '../index-digests.js';
import type { IndexRow, ReencryptRow, RecordRow, WrappedKeyRow } from '../rows.js';

const ROWS_PER_STATEMENT = 5000;

/**
 * The ingest hot path: one INSERT ... SELECT FROM unnest(arrays) per chunk, so a 5,000-row chunk
 * is 9 parameters, not 45,000, and PostgreSQL plans it once.
 */
export async function postgresBulkInsert(db: Kysely<Database>, records: readonly RecordRow[], index: readonly IndexRow[]): Promise<void> {
  const digests = indexDigestsOf(records, index);
  for (let i = 0; i < records.length; i += ROWS_PER_STATEMENT) {
    const c = records.slice(i, i + ROWS_PER_STATEMENT);
    await sql`insert into records (collection_id, id, tenant_id, subject_id, version, key_version, ciphertext, index_digests, created_at, updated_at)
      select * from unnest(
        ${c.map((r) => r.collectionId)}::text[], ${c.map((r) => r.id)}::text[], ${c.map((r) => r.tenantId)}::text[],
        ${c.map((r) => r.subjectId)}::text[], ${c.map((r) => r.version)}::int[], ${c.map((r) => r.keyVersion)}::int[],
        ${c.map((r) => r.ciphertext)}::bytea[], ${digests.slice(i, i + ROWS_PER_STATEMENT)}::bytea[],
        ${c.map((r) => r.createdAt)}::text[], ${c.map((r) => r.updatedAt)}::text[])`.execute(db);
  }
  for (let i = 0; i < index.length; i += ROWS_PER_STATEMENT) {
    const c = index.slice(i, i + ROWS_PER_STATEMENT);
    // In digest order: one left-to-right walk of the index B-tree instead of random page visits.
    await sql`insert into blind_index (digest, record_id, uniq)
      select * from unnest(${c.map((r) => r.digest)}::bytea[], ${c.map((r) => r.recordId)}::text[], ${c.map((r) => (r.unique ? 1 : 0))}::int[]) order by 1`.execute(db);
  }
}

export async function postgresBulkInsertKeys(db: Kysely<Database>, rows: readonly WrappedKeyRow[], ignoreExisting: boolean): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const c = rows.slice(i, i + ROWS_PER_STATEMENT);
    const res = await sql`insert into wrapped_keys (tenant_id, kind, scope_id, version, wrapped, created_at, wrapped_by)
      select * from unnest(
        ${c.map((r) => r.tenantId)}::text[], ${c.map((r) => r.kind)}::text[], ${c.map((r) => r.scopeId)}::text[],
        ${c.map((r) => r.version)}::int[], ${c.map((r) => r.wrapped)}::bytea[], ${c.map((r) => r.createdAt)}::text[], ${c.map((r) => r.wrappedBy)}::int[])
      ${ignoreExisting ? sql`on conflict (tenant_id, kind, scope_id, version) do nothing` : sql``}`.execute(db);
    inserted += Number(res.numAffectedRows ?? 0);
  }
  return inserted;
}

/** Re-encryption: one UPDATE … FROM unnest per chunk, compare-and-set on (version, key version); returns the ids changed. */
export async function postgresBulkReencrypt(db: Kysely<Database>, collectionId: string, rows: readonly ReencryptRow[]): Promise<string[]> {
  const changed: string[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const c = rows.slice(i, i + ROWS_PER_STATEMENT);
    const res = await sql<{ id: string }>`update records r set ciphertext = u.ciphertext, key_version = u.to_kv
      from unnest(${c.map((x) => x.id)}::text[], ${c.map((x) => x.version)}::int[], ${c.map((x) => x.fromKeyVersion)}::int[],
                  ${c.map((x) => x.toKeyVersion)}::int[], ${c.map((x) => x.ciphertext)}::bytea[]) as u(id, version, from_kv, to_kv, ciphertext)
      where r.collection_id = ${collectionId} and r.id = u.id and r.version = u.version and r.key_version = u.from_kv
      returning r.id`.execute(db);
    for (const row of res.rows) changed.push(row.id);
  }
  return changed;
}
