import { KurabanError } from '../errors/index.js';
import type { PolicyAction } from './cedar-schema.js';
import type { CollectionInfo, PolicyEngine, PolicyPrincipal } from './policy-engine.js';
import { ROLE_NAME_PATTERN } from './api-keys.js';

/**
 * `kuraban policy test`: expectations about a candidate policy set, checked before it is pushed.
 * A case names a principal (roles, duties, mfa), an action, where (collection, field or row flags)
 * and a purpose, and what should happen: clear / masked / withheld for field reads and searches,
 * allow / deny otherwise.
 */
export interface PolicyCase {
  readonly name?: string;
  readonly principal: { readonly roles: readonly string[]; readonly duties?: readonly string[]; readonly mfa?: boolean };
  readonly action: PolicyAction;
  readonly collection?: string;
  readonly field?: string;
  readonly flags?: readonly string[];
  readonly purpose?: string | null;
  readonly expect: 'clear' | 'masked' | 'withheld' | 'allow' | 'deny';
}

export interface PolicyCaseResult {
  readonly index: number;
  readonly name: string;
  readonly expected: string;
  readonly actual: string;
  readonly pass: boolean;
}

const FIELD_ACTIONS = new Set(['read', 'search']);
const COLLECTION_ACTIONS = new Set(['create', 'update', 'delete', 'export']);
const NAME = /^[a-z][a-z0-9_]{0,62}$/;

export function parsePolicyCases(input: unknown): PolicyCase[] {
  if (!Array.isArray(input) || input.length === 0 || input.length > 10_000) {
    throw new KurabanError('REQUEST_INVALID', 'cases must be a JSON array of 1 to 10,000 cases', { details: [{ reason: 'invalid_cases' }] });
  }
  return input.map((c, index) => {
    const bad = (reason: string): never => {
      throw new KurabanError('REQUEST_INVALID', `case ${index + 1} is not valid (${reason})`, { details: [{ index, reason }] });
    };
    if (typeof c !== 'object' || c === null) return bad('not_object');
    const o = c as Record<string, unknown>;
    const p = o.principal as Record<string, unknown> | undefined;
    const names = (v: unknown) => Array.isArray(v) && v.every((r) => typeof r === 'string' && ROLE_NAME_PATTERN.test(r));
    if (typeof p !== 'object' || p === null || !names(p.roles) || (p.duties !== undefined && !names(p.duties)) || (p.mfa !== undefined && typeof p.mfa !== 'boolean')) return bad('invalid_principal');
    const action = o.action as string;
    const isField = FIELD_ACTIONS.has(action);
    const expects = isField ? ['clear', 'masked', 'withheld'] : ['allow', 'deny'];
    if (!['read', 'search', 'read-record', 'create', 'update', 'delete', 'export', 'manage-policy', 'manage-schema', 'manage-keys', 'read-log'].includes(action)) return bad('invalid_action');
    if (!expects.includes(o.expect as string)) return bad('invalid_expect');
    if ((isField || COLLECTION_ACTIONS.has(action) || action === 'read-record') && (typeof o.collection !== 'string' || !NAME.test(o.collection))) return bad('invalid_collection');
    if (isField && (typeof o.field !== 'string' || !NAME.test(o.field))) return bad('invalid_field');
    if (o.flags !== undefined && !(Array.isArray(o.flags) && o.flags.every((f) => typeof f === 'string' && NAME.test(f)))) return bad('invalid_flags');
    if (o.purpose !== undefined && o.purpose !== null && (typeof o.purpose !== 'string' || !NAME.test(o.purpose))) return bad('invalid_purpose');
    if (o.name !== undefined && typeof o.name !== 'string') return bad('invalid_name');
    return o as unknown as PolicyCase;
  });
}

export function runPolicyCases(engine: PolicyEngine, collections: ReadonlyMap<string, CollectionInfo>, cases: readonly PolicyCase[]): PolicyCaseResult[] {
  return cases.map((c, index) => {
    const principal: PolicyPrincipal = { kind: 'service', id: `case-${index}`, roles: c.principal.roles, duties: c.principal.duties ?? [], mfa: c.principal.mfa ?? false };
    const purpose = c.purpose ?? null;
    let actual: string;
    if (c.action === 'read' || c.action === 'search') {
      const info = collections.get(c.collection as string);
      if (!info) throw new KurabanError('COLLECTION_NOT_FOUND', `case ${index + 1}: no collection ${c.collection}`);
      if (!info.fields.some((f) => f.name === c.field)) throw new KurabanError('REQUEST_INVALID', `case ${index + 1}: the collection has no such field`, { details: [{ index, field: c.field as string, reason: 'unknown_field' }] });
      actual = engine.fieldAccess(principal, info, c.action, purpose).get(c.field as string) ?? 'withheld';
    } else if (c.action === 'read-record') {
      actual = engine.recordAllowed(principal, c.collection as string, c.flags ?? [], purpose) ? 'allow' : 'deny';
    } else {
      const resource = COLLECTION_ACTIONS.has(c.action) ? { collection: c.collection as string } : c.action === 'read-log' ? ({ log: true } as const) : ({ tenant: true } as const);
      actual = engine.isAllowed(principal, c.action, resource, purpose) ? 'allow' : 'deny';
    }
    // Default name: everything that tells two cases apart (roles, MFA, action, where, flags, purpose).
    const who = `${c.principal.roles.join('+') || '(no role)'}${c.principal.duties?.length ? ` duties ${c.principal.duties.join('+')}` : ''}${c.principal.mfa ? ' with MFA' : ''}`;
    const where = c.collection === undefined ? '' : ` ${c.collection}${c.field ? `.${c.field}` : ''}${c.flags?.length ? ` [${c.flags.join(',')}]` : ''}`;
    const name = c.name ?? `${who} ${c.action}${where}${purpose ? ` for ${purpose}` : ''}`;
    return { index, name, expected: c.expect, actual, pass: actual === c.expect };
  });
}
