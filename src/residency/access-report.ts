import type { LogEntry } from '../ledger/index.js';
import type { WhoCanRow } from '../policy/index.js';
import { closedDay, isNight, jstText } from './office-hours.js';

/** Actions that disclose records: what "who did" counts as reads. */
/** Actions that disclose values: reads, searches, exports, and detokenisations (a token turned back into its value). */
export const READ_ACTIONS: readonly string[] = ['record.read', 'record.list', 'record.search', 'record.export', 'token.detokenize'];

export interface AccessReportInput {
  readonly tenant: { readonly id: string; readonly name: string };
  readonly collection: { readonly name: string; readonly fields: ReadonlyArray<{ readonly name: string; readonly classification: string }> };
  /** [from, to): ISO-8601 instants. */
  readonly period: { readonly from: string; readonly to: string };
  readonly generatedAt: string;
  readonly policyVersion: number;
  readonly whoCan: readonly WhoCanRow[];
  /** The collection's integrated log entries in the period, with their leaf indexes. */
  readonly entries: ReadonlyArray<{ readonly index: number; readonly entry: LogEntry }>;
  /** Roles of principals that are API keys (others show none). */
  readonly roles: ReadonlyMap<string, readonly string[]>;
  /** The checkpoint every proof is against. */
  readonly log: { readonly origin: string; readonly verifierKey: string; readonly size: number; readonly checkpoint: string };
  /** Inclusion proofs (hex hashes) of the entries that read a subject, by leaf index. */
  readonly proofs: ReadonlyMap<number, readonly string[]>;
}

export interface Counts {
  /** Read entries (requests) with outcome ok. */
  readonly accesses: number;
  /** Distinct records read. */
  readonly records: number;
  /** Distinct subjects whose records were read. */
  readonly subjects: number;
  /** Read entries that disclosed a My Number (特定個人情報) field, and the records they read. */
  readonly myNumber: { readonly accesses: number; readonly records: number };
  /** Read entries at night (22:00–06:00 JST) and on closed days (holidays, weekends, 29 Dec–3 Jan). */
  readonly night: number;
  readonly holiday: number;
  /** Entries refused (any outcome other than ok). */
  readonly refused: number;
}

export interface PrincipalActivity extends Counts {
  readonly principal: string;
  readonly auth: string;
  readonly roles: readonly string[];
  readonly purposes: Readonly<Record<string, number>>;
  readonly actions: Readonly<Record<string, number>>;
  readonly fields: readonly string[];
}

export interface FlaggedAccess {
  readonly index: number;
  readonly time: string;
  readonly timeJst: string;
  readonly principal: string;
  readonly action: string;
  readonly purpose: string | null;
  readonly records: number;
  readonly night: boolean;
  readonly closedDay: string | null;
  readonly myNumber: boolean;
}

export interface SubjectReads {
  readonly subject: string;
  readonly reads: ReadonlyArray<{
    readonly index: number;
    readonly time: string;
    readonly principal: string;
    readonly action: string;
    readonly purpose: string | null;
    readonly fields: readonly string[];
    /** RFC 6962 inclusion proof (hex) of the entry in the tree of `log.size` entries. */
    readonly proof: readonly string[];
  }>;
}

export interface AccessReport {
  readonly format: 'kuraban-access-report/1';
  readonly tenant: { readonly id: string; readonly name: string };
  readonly collection: string;
  readonly period: { readonly from: string; readonly to: string };
  readonly generatedAt: string;
  readonly fields: ReadonlyArray<{ readonly name: string; readonly classification: string }>;
  readonly whoCan: { readonly policyVersion: number; readonly rows: readonly WhoCanRow[] };
  readonly whoDid: readonly PrincipalActivity[];
  readonly totals: Counts;
  /** Night and closed-day reads, in time order. */
  readonly flagged: readonly FlaggedAccess[];
  readonly subjects: readonly SubjectReads[];
  readonly log: AccessReportInput['log'];
}

interface Tally {
  accesses: number;
  records: Set<string>;
  subjects: Set<string>;
  myNumberAccesses: number;
  myNumberRecords: number;
  night: number;
  holiday: number;
  refused: number;
  purposes: Map<string, number>;
  actions: Map<string, number>;
  fields: Set<string>;
  auth: string;
}

const newTally = (auth: string): Tally => ({
  accesses: 0,
  records: new Set(),
  subjects: new Set(),
  myNumberAccesses: 0,
  myNumberRecords: 0,
  night: 0,
  holiday: 0,
  refused: 0,
  purposes: new Map(),
  actions: new Map(),
  fields: new Set(),
  auth,
});

function counts(t: Tally): Counts {
  return {
    accesses: t.accesses,
    records: t.records.size,
    subjects: t.subjects.size,
    myNumber: { accesses: t.myNumberAccesses, records: t.myNumberRecords },
    night: t.night,
    holiday: t.holiday,
    refused: t.refused,
  };
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Who can (from the policy) beside who did (from the log), for one collection and period. */
export function buildAccessReport(input: AccessReportInput): AccessReport {
  const myNumberFields = new Set(input.collection.fields.filter((f) => f.classification === 'my-number').map((f) => f.name));
  const total = newTally('');
  const byPrincipal = new Map<string, Tally>();
  const flagged: FlaggedAccess[] = [];
  const subjects = new Map<string, SubjectReads['reads'][number][]>();
  for (const { index, entry } of input.entries) {
    const who = byPrincipal.get(entry.principal.id) ?? newTally(entry.principal.auth);
    byPrincipal.set(entry.principal.id, who);
    bump(who.actions, entry.action);
    if (entry.outcome !== 'ok') {
      who.refused++;
      total.refused++;
      continue;
    }
    if (!READ_ACTIONS.includes(entry.action)) continue;
    const at = new Date(entry.time);
    const night = isNight(at);
    const closed = closedDay(at);
    const myNumber = entry.fields.some((f) => myNumberFields.has(f));
    for (const t of [who, total]) {
      t.accesses++;
      for (const r of entry.records) t.records.add(r);
      for (const s of entry.subjects) t.subjects.add(s);
      for (const f of entry.fields) t.fields.add(f);
      if (myNumber) {
        t.myNumberAccesses++;
        t.myNumberRecords += entry.records.length;
      }
      if (night) t.night++;
      if (closed !== null) t.holiday++;
    }
    bump(who.purposes, entry.purpose ?? '(none)');
    if (night || closed !== null) {
      flagged.push({
        index,
        time: entry.time,
        timeJst: jstText(at),
        principal: entry.principal.id,
        action: entry.action,
        purpose: entry.purpose ?? null,
        records: entry.records.length,
        night,
        closedDay: closed,
        myNumber,
      });
    }
    for (const s of entry.subjects) {
      const list = subjects.get(s) ?? [];
      list.push({ index, time: entry.time, principal: entry.principal.id, action: entry.action, purpose: entry.purpose ?? null, fields: entry.fields, proof: input.proofs.get(index) ?? [] });
      subjects.set(s, list);
    }
  }
  const whoDid: PrincipalActivity[] = [...byPrincipal]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([principal, t]) => ({
      principal,
      auth: t.auth,
      roles: input.roles.get(principal) ?? [],
      purposes: sorted(t.purposes),
      actions: sorted(t.actions),
      fields: [...t.fields].sort(),
      ...counts(t),
    }));
  return {
    format: 'kuraban-access-report/1',
    tenant: input.tenant,
    collection: input.collection.name,
    period: input.period,
    generatedAt: input.generatedAt,
    fields: input.collection.fields.map((f) => ({ name: f.name, classification: f.classification })),
    whoCan: { policyVersion: input.policyVersion, rows: input.whoCan },
    whoDid,
    totals: counts(total),
    flagged: flagged.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.index - b.index)),
    subjects: [...subjects].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([subject, reads]) => ({ subject, reads })),
    log: input.log,
  };
}
