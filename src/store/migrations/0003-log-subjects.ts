import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../store.js';

/** Subject ids are pseudonymous handles of at most 128 ASCII characters (ledger/log-entry.ts). */
const SUBJECT = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * "Who read my data": log_subjects indexes integrated access-log entries by the subject ids they name
 * (filled in the integration transaction, so an entry is findable exactly when it is in the tree), and
 * log_state.public_log says whether the tenant's log may be read without a key (default: no).
 * Entries integrated before this migration are indexed here from their stored JSON.
 */
export function logSubjectsSchema(dialect: Dialect): Migration {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('log_state').addColumn('public_log', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      let subjects = db.schema
        .createTable('log_subjects')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('idx', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('log_subjects_pk', ['tenant_id', 'subject_id', 'idx']);
      if (dialect === 'sqlite') subjects = subjects.modifyEnd(sql`without rowid`);
      await subjects.execute();
      const rows = await sql<{ tenant_id: string; idx: number | string; entry: Uint8Array }>`select tenant_id, idx, entry from log_entries`.execute(db);
      for (const r of rows.rows) {
        for (const subject of subjectsOf(r.entry)) {
          await sql`insert into log_subjects (tenant_id, subject_id, idx) values (${r.tenant_id}, ${subject}, ${Number(r.idx)})`.execute(db);
        }
      }
    },
  };
}

function subjectsOf(entry: Uint8Array): string[] {
  try {
    const parsed = JSON.parse(Buffer.from(entry).toString('utf8')) as { subjects?: unknown };
    if (!Array.isArray(parsed.subjects)) return [];
    return [...new Set(parsed.subjects.filter((s): s is string => typeof s === 'string' && SUBJECT.test(s)))];
  } catch {
    return [];
  }
}
