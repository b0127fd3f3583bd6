import { randomUUID } from 'node:crypto';
import { LOG_ENTRY_VERSION, type LogAction, type LogEntry, type LogOutcome, type LogPrincipal } from '../ledger/index.js';

/**
 * Who is acting, for which request: what every access-log entry says besides what was touched.
 * Routes build it from the authenticated principal; the CLI uses `localAudit()`. Vault operations
 * given an Audit write their log entry in the change's own transaction (writes) or before they
 * return (reads) — and fail if the entry cannot be stored.
 */
export interface Audit {
  readonly principal: LogPrincipal;
  readonly requestId: string;
  readonly client: string | null;
  readonly purpose?: string;
}

/** What an operation touched: identifiers and names only, never a value. */
export interface Touched {
  readonly collection?: string | null;
  readonly records?: readonly string[];
  readonly subjects?: readonly (string | null)[];
  readonly fields?: readonly string[];
  /** Items handled that are not records (tokens); written in the first entry only. */
  readonly count?: number;
  /** A location id (residency registry), for writes to a place and changes to the registry. */
  readonly location?: string;
}

/** Keeps each entry well under the 65,535-byte entry-bundle limit (C2SP tlog-tiles). */
export const MAX_IDS_PER_ENTRY = 1000;

/** The CLI's audit: an operator on the machine that holds the key, one request id per command. */
export function localAudit(): Audit {
  return { principal: { id: 'local-operator', auth: 'local' }, requestId: randomUUID(), client: null };
}

/** The entries for one operation; long id lists are split over several entries. */
export function auditEntries(audit: Audit, tenant: string, action: LogAction, touched: Touched, outcome: LogOutcome, now: Date): LogEntry[] {
  const records = distinct(touched.records ?? []);
  const subjects = distinct((touched.subjects ?? []).filter((s): s is string => s !== null));
  const fields = distinct(touched.fields ?? []).sort();
  const parts = Math.max(1, Math.ceil(records.length / MAX_IDS_PER_ENTRY), Math.ceil(subjects.length / MAX_IDS_PER_ENTRY));
  const time = now.toISOString();
  const out: LogEntry[] = [];
  for (let i = 0; i < parts; i++) {
    const entry: { -readonly [K in keyof LogEntry]: LogEntry[K] } = {
      v: LOG_ENTRY_VERSION,
      time,
      tenant,
      principal: audit.principal,
      action,
      collection: touched.collection ?? null,
      records: parts === 1 ? records : records.slice(i * MAX_IDS_PER_ENTRY, (i + 1) * MAX_IDS_PER_ENTRY),
      subjects: parts === 1 ? subjects : subjects.slice(i * MAX_IDS_PER_ENTRY, (i + 1) * MAX_IDS_PER_ENTRY),
      fields,
      outcome,
      requestId: audit.requestId,
      client: audit.client,
    };
    if (audit.purpose !== undefined) entry.purpose = audit.purpose;
    if (touched.count !== undefined && i === 0) entry.count = touched.count;
    if (touched.location !== undefined) entry.location = touched.location;
    out.push(entry);
  }
  return out;
}

/** A new array of the distinct values, in first-seen order (most lists logged hold one id). */
function distinct<T>(list: readonly T[]): T[] {
  return list.length < 2 ? list.slice() : [...new Set(list)];
}
