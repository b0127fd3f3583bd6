import { KurabanError } from '../errors/index.js';
import { NAME_PATTERN } from '../schema/index.js';
import { PolicyEngine } from '../policy/index.js';
import type { PolicyRow, Store, StoreOps } from '../store/index.js';
import type { AccessLog } from './access-log.js';
import { auditEntries, type Audit } from './audit.js';

/**
 * The policy set every tenant starts with (version 1, written with the tenant): the tenant's own
 * administrators and the vault operator may do everything; nobody else anything (Cedar is default
 * deny). A tenant replaces it with `kuraban policy push`; a set without the `operator` line shuts
 * the operator out of the tenant's data. docs/policies.md has the municipal role templates.
 */
export const DEFAULT_POLICY_TEXT = `// Installed with the tenant. Replace it with \`kuraban policy push\` (docs/policies.md).
@id("administrators")
permit (principal in Kuraban::Role::"administrator", action, resource);

@id("operator")
permit (principal in Kuraban::Role::"operator", action, resource);
`;
export const DEFAULT_PURPOSES: readonly string[] = Object.freeze(['administration']);

export const MAX_PURPOSES = 100;
export const MAX_POLICY_BYTES = 256 * 1024;
/** How long a process trusts its cached idea of a tenant's active policy version before re-reading it. */
export const POLICY_RECHECK_MS = 1000;

export interface ActivePolicy {
  readonly row: PolicyRow;
  readonly engine: PolicyEngine;
  readonly purposes: ReadonlySet<string>;
}

export interface PoliciesDeps {
  readonly store: Store;
  readonly clock: () => Date;
  readonly accessLog: AccessLog;
}

/**
 * Each tenant's Cedar policy set and purposes, versioned. A push validates against Kuraban's Cedar
 * schema first (POLICY_INVALID leaves the active version as it was), then writes version n+1 and
 * its log entry in one transaction. Engines (with their decision caches) are kept per tenant and
 * replaced when the version changes: at once in this process, within POLICY_RECHECK_MS in others.
 */
export class Policies {
  private readonly cache = new Map<string, { active: ActivePolicy; checkedAt: number }>();

  constructor(private readonly deps: PoliciesDeps) {}

  /** Writes version 1 (the default) inside the tenant's creation transaction. */
  async installDefault(tx: StoreOps, tenantId: string, createdBy: string): Promise<void> {
    await tx.insertPolicy({ tenantId, version: 1, text: DEFAULT_POLICY_TEXT, purposes: DEFAULT_PURPOSES, createdAt: this.deps.clock().toISOString(), createdBy });
  }

  /** The active version with its engine. Tenants created before policies existed get the default. */
  async active(tenantId: string): Promise<ActivePolicy> {
    const now = this.deps.clock().getTime();
    const hit = this.cache.get(tenantId);
    if (hit && now - hit.checkedAt < POLICY_RECHECK_MS) return hit.active;
    const row = (await this.deps.store.getActivePolicy(tenantId)) ?? defaultRow(tenantId);
    const active = hit && hit.active.row.version === row.version ? hit.active : build(row);
    this.cache.set(tenantId, { active, checkedAt: now });
    return active;
  }

  async versions(tenantId: string): Promise<Array<Omit<PolicyRow, 'text'>>> {
    return this.deps.store.listPolicyVersions(tenantId);
  }

  async version(tenantId: string, version: number): Promise<PolicyRow> {
    const row = Number.isSafeInteger(version) && version > 0 ? await this.deps.store.getPolicy(tenantId, version) : undefined;
    if (!row) throw new KurabanError('REQUEST_INVALID', 'no such policy version', { details: [{ field: 'version', reason: 'unknown_version' }] });
    return row;
  }

  /** Validates and activates a new version; `purposes` undefined keeps the current list. */
  async push(tenantId: string, text: unknown, purposes: unknown, audit: Audit): Promise<PolicyRow> {
    const checked = checkPolicyInput(text, purposes);
    return this.deps.store.transaction(async (tx) => {
      const current = (await tx.getActivePolicy(tenantId)) ?? defaultRow(tenantId);
      const row: PolicyRow = {
        tenantId,
        version: current.version + 1,
        text: checked.text,
        purposes: checked.purposes ?? current.purposes,
        createdAt: this.deps.clock().toISOString(),
        createdBy: audit.principal.id,
      };
      // Building the engine is the validation (POLICY_INVALID, nothing written); the same engine then serves.
      const active = build(row);
      await tx.insertPolicy(row);
      await this.deps.accessLog.append(tx, ...auditEntries(audit, tenantId, 'policy.update', {}, 'ok', this.deps.clock()));
      tx.onCommit(() => this.cache.set(tenantId, { active, checkedAt: this.deps.clock().getTime() }));
      return row;
    });
  }
}

/** Shape checks of a candidate policy set and purposes; Cedar validation is building its PolicyEngine. */
export function checkPolicyInput(text: unknown, purposes: unknown): { text: string; purposes?: string[] } {
  if (typeof text !== 'string' || Buffer.byteLength(text) > MAX_POLICY_BYTES) {
    throw new KurabanError('POLICY_INVALID', `policies must be Cedar text of at most ${MAX_POLICY_BYTES} bytes`, { details: [{ reason: 'not_policy_text' }] });
  }
  let list: string[] | undefined;
  if (purposes !== undefined) {
    if (!Array.isArray(purposes) || purposes.length > MAX_PURPOSES || !purposes.every((p) => typeof p === 'string' && NAME_PATTERN.test(p)) || new Set(purposes).size !== purposes.length) {
      throw new KurabanError('POLICY_INVALID', `purposes must be up to ${MAX_PURPOSES} distinct names (a-z, 0-9, _)`, { details: [{ field: 'purposes', reason: 'invalid_purposes' }] });
    }
    list = [...(purposes as string[])];
  }
  return list === undefined ? { text } : { text, purposes: list };
}

function defaultRow(tenantId: string): PolicyRow {
  return { tenantId, version: 0, text: DEFAULT_POLICY_TEXT, purposes: DEFAULT_PURPOSES, createdAt: new Date(0).toISOString(), createdBy: 'kuraban' };
}

function build(row: PolicyRow): ActivePolicy {
  return { row, engine: new PolicyEngine({ tenantId: row.tenantId, version: row.version, text: row.text }), purposes: new Set(row.purposes) };
}
