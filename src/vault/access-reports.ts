import { KurabanError } from '../errors/index.js';
import { decodeLogEntry, type LogEntry } from '../ledger/index.js';
import { principalOfKey, roleSubjects, whoCan, type WhoCanSubject } from '../policy/index.js';
import { buildAccessReport, READ_ACTIONS, type AccessReport } from '../residency/index.js';
import type { Store } from '../store/index.js';
import type { Collections } from './collections.js';
import type { LogReader } from './log-reader.js';
import type { Policies } from './policies.js';
import { policyView } from './policy-view.js';
import type { Tenants } from './tenants.js';

export interface AccessReportsDeps {
  readonly store: Store;
  readonly tenants: Tenants;
  readonly collections: Collections;
  readonly policies: Policies;
  readonly logReader: LogReader;
  readonly clock: () => Date;
}

/** Entries read per store call while scanning the log. */
const PAGE = 1000;
/** Most subjects given per-subject proofs in one report (the counts always cover all). */
export const MAX_REPORT_SUBJECTS = 1000;

/**
 * Access reports: who can (the who-can rows of the active policy: each role it names, and the
 * tenant's live service accounts) beside who did (the collection's entries in the tenant's log, up
 * to the newest signed checkpoint, so every per-subject read comes with an inclusion proof an
 * auditor can check against that checkpoint without the vault).
 */
export class AccessReports {
  constructor(private readonly deps: AccessReportsDeps) {}

  async collectionReport(tenantId: string, collectionName: string, period: { from: Date; to: Date }): Promise<AccessReport> {
    if (!(period.from.getTime() < period.to.getTime())) throw new KurabanError('REQUEST_INVALID', 'the period must end after it starts', { details: [{ field: 'to', reason: 'not_after_from' }] });
    const tenant = await this.deps.tenants.require(tenantId);
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const active = await this.deps.policies.active(tenantId);
    const keys = await this.deps.store.listApiKeys(tenantId);
    const now = this.deps.clock().getTime();
    const subjects: WhoCanSubject[] = roleSubjects(active.row.text);
    for (const k of keys) {
      if (k.revokedAt !== null || (k.expiresAt !== null && Date.parse(k.expiresAt) <= now)) continue;
      const p = principalOfKey(k);
      subjects.push({ label: `key:${k.id}`, principal: { kind: p.role === 'admin' ? 'operator' : 'service', id: p.id, roles: p.roles, duties: p.duties, mfa: false } });
    }
    const rows = whoCan(active.engine, policyView(collection), subjects, [...active.row.purposes]);

    const head = await this.deps.logReader.head(tenantId);
    const fromIso = period.from.toISOString();
    const toIso = period.to.toISOString();
    const entries: Array<{ index: number; entry: LogEntry }> = [];
    for (let at = 0; at < head.size; at += PAGE) {
      const page = await this.deps.store.getLogEntryRange(tenantId, at, Math.min(head.size, at + PAGE));
      for (const row of page) {
        let entry: LogEntry;
        try {
          entry = decodeLogEntry(row.entry);
        } catch (cause) {
          throw new KurabanError('STORE_UNAVAILABLE', 'a stored access log entry is damaged', { cause });
        }
        if (entry.collection !== collection.name || entry.time < fromIso || entry.time >= toIso) continue;
        entries.push({ index: row.index, entry });
      }
    }
    const proofs = new Map<number, string[]>();
    const proved = new Set<string>();
    for (const { index, entry } of entries) {
      if (entry.outcome !== 'ok' || !READ_ACTIONS.includes(entry.action) || entry.subjects.length === 0) continue;
      if (!entry.subjects.some((s) => proved.has(s) || proved.size < MAX_REPORT_SUBJECTS)) continue;
      for (const s of entry.subjects) if (proved.size < MAX_REPORT_SUBJECTS) proved.add(s);
      proofs.set(index, (await this.deps.logReader.inclusionProof(tenantId, index, head.size, head)).map((h) => h.toString('hex')));
    }
    const roles = new Map(keys.map((k) => [k.id, principalOfKey(k).roles]));
    return buildAccessReport({
      tenant: { id: tenant.id, name: tenant.name },
      collection: { name: collection.name, fields: collection.schema.fields.map((f) => ({ name: f.name, classification: f.classification })) },
      period: { from: fromIso, to: toIso },
      generatedAt: this.deps.clock().toISOString(),
      policyVersion: active.row.version,
      whoCan: rows,
      entries,
      roles,
      log: { origin: head.origin, verifierKey: head.verifierKey, size: head.size, checkpoint: head.checkpoint?.toString('utf8') ?? '' },
      proofs,
    });
  }
}
