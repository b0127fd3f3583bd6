import { sql, type Kysely } from 'kysely';
import type { Database } from '../database.js';
import type { FoundTokenRow, TokenRegistryScope, TokenRow } from '../rows.js';

const ROWS_PER_STATEMENT = 5000;

/** Token registry rows: one INSERT … SELECT FROM unnest(arrays) per chunk, skipping rows that exist. */
export async function postgresBulkInsertTokens(db: Kysely<Database>, rows: readonly TokenRow[]): Promise<number> {
  let inserted = 0;
  // In key order: the primary-key B-tree is walked once per chunk rather than hit at random.
  const sorted = [...rows].sort((a, b) => Buffer.compare(a.tokenHash, b.tokenHash));
  for (let i = 0; i < sorted.length; i += ROWS_PER_STATEMENT) {
    const c = sorted.slice(i, i + ROWS_PER_STATEMENT);
    const res = await sql`insert into tokens (collection_id, field, token_hash, ref, tenant_id, kind, key_version, subject_id, value_ct, created_at)
      select * from unnest(
        ${c.map((r) => r.collectionId)}::text[], ${c.map((r) => r.field)}::text[], ${c.map((r) => r.tokenHash)}::bytea[],
        ${c.map((r) => r.recordId ?? '')}::text[], ${c.map((r) => r.tenantId)}::text[], ${c.map((r) => r.kind)}::text[],
        ${c.map((r) => r.keyVersion)}::int[], ${c.map((r) => r.subjectId)}::text[], ${c.map((r) => r.valueCt)}::bytea[],
        ${c.map((r) => r.createdAt)}::text[])
      on conflict (token_hash, ref) do nothing`.execute(db);
    inserted += Number(res.numAffectedRows ?? 0);
  }
  return inserted;
}

/**
 * StoreOps.findTokens in one query: the hashes as one bytea[] parameter, unnest()ed WITH ORDINALITY
 * so each row comes back with its hash's position (a primary-key probe per hash).
 */
export async function postgresFindTokens(db: Kysely<Database>, _inTransaction: boolean, scope: TokenRegistryScope, hashes: readonly Buffer[]): Promise<FoundTokenRow[]> {
  const res = await sql<{ at: string; ref: string; key_version: number; subject_id: string | null; value_ct: Buffer | null }>`
    select h.i - 1 as at, t.ref, t.key_version, t.subject_id, t.value_ct
    from unnest(${hashes}::bytea[]) with ordinality as h(hash, i)
    join tokens t on t.token_hash = h.hash
    where t.collection_id = ${scope.collectionId} and t.field = ${scope.field} and t.tenant_id = ${scope.tenantId} and t.kind = ${scope.kind}`.execute(db);
  return res.rows.map((r) => ({ at: Number(r.at), recordId: r.ref === '' ? null : r.ref, keyVersion: Number(r.key_version), subjectId: r.subject_id, valueCt: r.value_ct }));
}
