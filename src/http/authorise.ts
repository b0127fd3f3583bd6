import type { FastifyRequest } from 'fastify';
import { KurabanError } from '../errors/index.js';
import type { FieldAccess, PolicyAction, PolicyPrincipal, Principal } from '../policy/index.js';
import { applyMask, NAME_PATTERN, type FieldValue, type RecordValues } from '../schema/index.js';
import { policyView, type ActivePolicy, type Collection, type Vault, type VaultRecord } from '../vault/index.js';

/** What the authorise step of a tenant route establishes: who, in which tenant, under which policy version, for which purpose. */
export interface TenantAccess {
  readonly vault: Vault;
  readonly principal: Principal;
  readonly tenantId: string;
  readonly policy: ActivePolicy;
  /** The declared purpose of use (Kuraban-Purpose), checked against the tenant's list; null when none. */
  readonly purpose: string | null;
  /** The principal as the policies see it. */
  readonly as: PolicyPrincipal;
}

export function policyPrincipal(p: Principal): PolicyPrincipal {
  return { kind: p.role === 'admin' ? 'operator' : p.role === 'tenant' ? 'service' : 'user', id: p.id, roles: p.roles, duties: p.duties, mfa: p.mfa };
}

/**
 * Tenant isolation first — never something a policy can open: a principal bound to a tenant acts only
 * in that tenant (FORBIDDEN elsewhere, whether or not the tenant exists); the operator's keys reach
 * every tenant but only as far as that tenant's policies allow the `operator` role. Then the purpose:
 * a declared purpose must be one of the tenant's (PURPOSE_UNKNOWN), and none at all means personal
 * fields are withheld.
 */
export async function authoriseTenant(vault: Vault, principal: Principal, request: FastifyRequest, tenantId: string): Promise<TenantAccess> {
  if (principal.role !== 'admin' && principal.tenantId !== tenantId) throw new KurabanError('FORBIDDEN', 'this principal is not for that tenant');
  const policy = await vault.policies.active(tenantId);
  const header = request.headers['kuraban-purpose'];
  let purpose: string | null = null;
  if (header !== undefined) {
    if (typeof header !== 'string' || !NAME_PATTERN.test(header) || !policy.purposes.has(header)) {
      throw new KurabanError('PURPOSE_UNKNOWN', "Kuraban-Purpose must be one of the tenant's purposes", { details: [{ field: 'Kuraban-Purpose', reason: 'unknown_purpose' }] });
    }
    purpose = header;
  }
  return { vault, principal, tenantId, policy, purpose, as: policyPrincipal(principal) };
}

/** POLICY_DENIED unless the tenant's policies allow the action. */
export function requireAllowed(a: TenantAccess, action: PolicyAction, resource: { collection: string } | { tenant: true } | { log: true }): void {
  if (!a.policy.engine.isAllowed(a.as, action, resource, a.purpose)) throw new KurabanError('POLICY_DENIED', `the tenant's policy does not allow ${action} here`);
}

/** Searching on a field needs `search` on it (clear) for the declared purpose. */
export function requireSearchable(a: TenantAccess, c: Collection, where: Record<string, unknown>): void {
  const access = a.policy.engine.fieldAccess(a.as, policyView(c), 'search', a.purpose);
  const denied = Object.keys(where).filter((f) => access.get(f) !== 'clear' && c.schema.fields.some((x) => x.name === f));
  if (denied.length > 0) {
    throw new KurabanError('POLICY_DENIED', a.purpose === null ? 'searching personal fields requires a declared purpose (Kuraban-Purpose)' : "the tenant's policy does not allow searching on this field for this purpose", {
      details: denied.map((field) => ({ field, reason: a.purpose === null ? 'purpose_required' : 'search_not_allowed' })),
    });
  }
}

/** The names of a record's top-level boolean fields that are true: what row conditions (`resource.flags`) see. */
export function recordFlags(c: Collection, values: RecordValues): string[] {
  return c.schema.fields.filter((f) => f.type === 'boolean' && values[f.name] === true).map((f) => f.name);
}

export interface PresentedFields {
  readonly fields: Record<string, FieldValue | null>;
  readonly masked: string[];
  readonly withheld: string[];
  /** Field names disclosed (clear or masked): what the log entry lists. */
  readonly disclosed: string[];
}

/** Field results: clear, masked (the field's mask), or withheld (left out, and named). */
export function presentFields(c: Collection, values: RecordValues, access: ReadonlyMap<string, FieldAccess>): PresentedFields {
  const out: PresentedFields = { fields: {}, masked: [], withheld: [], disclosed: [] };
  for (const f of c.schema.fields) {
    const v = values[f.name];
    if (v === undefined) continue;
    const how = access.get(f.name) ?? 'withheld';
    if (how === 'withheld') {
      out.withheld.push(f.name);
      continue;
    }
    out.fields[f.name] = how === 'clear' ? v : applyMask(f, v);
    if (how === 'masked') out.masked.push(f.name);
    out.disclosed.push(f.name);
  }
  return out;
}

/** `masked` and `withheld` are present when they name something. */
export function maskedAndWithheld(p: PresentedFields): { masked?: string[]; withheld?: string[] } {
  return { ...(p.masked.length > 0 ? { masked: p.masked } : {}), ...(p.withheld.length > 0 ? { withheld: p.withheld } : {}) };
}

/** Row condition, then field results: null when the record is refused to this principal. */
export function presentRecord(a: TenantAccess, c: Collection, r: VaultRecord, access: ReadonlyMap<string, FieldAccess>) {
  if (!a.policy.engine.recordAllowed(a.as, c.name, recordFlags(c, r.fields), a.purpose)) return null;
  const p = presentFields(c, r.fields, access);
  return {
    body: { id: r.id, subjectId: r.subjectId, version: r.version, createdAt: r.createdAt, updatedAt: r.updatedAt, fields: p.fields, ...maskedAndWithheld(p) },
    disclosed: p.disclosed,
  };
}
