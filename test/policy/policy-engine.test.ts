/**
 * The Cedar policy engine, with real Cedar evaluation: the schema, validation (syntax, unknown
 * action / attribute / entity type, impossible policies, ids), default deny, roles and duties,
 * forbid over permit, purposes, masking, the purpose-required rule, MFA step-up, row conditions,
 * evaluation errors, collection/tenant/log actions and the decision cache.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { KurabanError } from '../../src/errors/index.js';
import { ACTION_RESOURCE_TYPE, CEDAR_SCHEMA, POLICY_ACTIONS } from '../../src/policy/cedar-schema.js';
import {
  PolicyEngine, validatePolicySet,
  type CollectionInfo, type FieldAccess, type FieldInfo, type PolicyPrincipal, type PolicyProblem,
} from '../../src/policy/policy-engine.js';

const RESIDENTS: CollectionInfo = {
  name: 'residents',
  fields: [
    { name: 'town', classification: 'public', type: 'string' },
    { name: 'name', classification: 'personal', type: 'string' },
    { name: 'birth_date', classification: 'personal', type: 'date' },
    { name: 'disability', classification: 'sensitive', type: 'string' },
    { name: 'my_number', classification: 'my-number', type: 'my-number' },
    { name: 'dv_support', classification: 'sensitive', type: 'boolean' },
    { name: 'electoral_roll', classification: 'personal', type: 'boolean' },
  ],
};

const user = (id: string, roles: string[] = [], duties: string[] = [], mfa = false): PolicyPrincipal => ({ kind: 'user', id, roles, duties, mfa });
const CLERK = user('u-clerk', ['clerk']);
const NOBODY = user('u-nobody');

let version = 0;
/** A fresh engine that also has Cedar check every request against the schema (throws if one does not conform). */
const engineOf = (text: string, cacheSize?: number): PolicyEngine =>
  new PolicyEngine({ tenantId: 'tenant-a', version: ++version, text, checkRequests: true, ...(cacheSize === undefined ? {} : { cacheSize }) });

const access = (e: PolicyEngine, p: PolicyPrincipal, purpose: string | null, action: 'read' | 'search' = 'read', c: CollectionInfo = RESIDENTS): Record<string, FieldAccess> =>
  Object.fromEntries(e.fieldAccess(p, c, action, purpose));

const problemsOf = (text: string): PolicyProblem[] => {
  const v = validatePolicySet(text);
  assert.equal(v.ok, false, `expected problems for: ${text}`);
  return v.ok ? [] : v.problems;
};

describe('CEDAR_SCHEMA', () => {
  test('parses, declares namespace Kuraban with exactly POLICY_ACTIONS, and each action takes the resource ACTION_RESOURCE_TYPE says', () => {
    assert.deepEqual(cedar.checkParseSchema(CEDAR_SCHEMA), { type: 'success' });
    const json = cedar.schemaToJson(CEDAR_SCHEMA);
    assert.equal(json.type, 'success');
    if (json.type !== 'success') return;
    assert.deepEqual(Object.keys(json.json), ['Kuraban']);
    const ns = json.json['Kuraban'];
    assert.ok(ns);
    assert.deepEqual(Object.keys(ns.actions).sort(), [...POLICY_ACTIONS].sort());
    assert.deepEqual(Object.keys(ns.entityTypes).sort(), ['Collection', 'Duty', 'Field', 'Log', 'Operator', 'Record', 'Role', 'ServiceAccount', 'Tenant', 'User']);
    for (const action of POLICY_ACTIONS) {
      const applies: cedar.ApplySpec<string> | undefined = ns.actions[action]?.appliesTo;
      assert.deepEqual(applies?.resourceTypes, [ACTION_RESOURCE_TYPE[action]], action);
      assert.deepEqual([...(applies?.principalTypes ?? [])].sort(), ['Operator', 'ServiceAccount', 'User'], action);
    }
  });
});

describe('validatePolicySet', () => {
  test('accepts a realistic policy set and counts its policies', () => {
    const text = `// 窓口: clerks read residents for the counter purpose
@id("clerk-counter")
permit (principal in Kuraban::Role::"clerk", action in [Kuraban::Action::"read", Kuraban::Action::"search"], resource in Kuraban::Collection::"residents")
  when { context.purpose == "counter" && resource.classification != "my-number" };
@id("clerk-masked")
permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read-masked", resource);
@id("dv")
forbid (principal, action == Kuraban::Action::"read-record", resource) when { resource.flags.contains("dv_support") } unless { principal in Kuraban::Role::"dv-officer" };
permit (principal in Kuraban::Duty::"tax-assessment", action == Kuraban::Action::"export", resource == Kuraban::Collection::"tax");
permit (principal is Kuraban::Operator, action in [Kuraban::Action::"manage-policy", Kuraban::Action::"manage-keys", Kuraban::Action::"read-log"], resource) when { principal.mfa && context.mfa };
`;
    assert.deepEqual(validatePolicySet(text), { ok: true, policies: 5 });
  });

  test('an empty text, or only comments, is a valid set of 0 policies', () => {
    assert.deepEqual(validatePolicySet(''), { ok: true, policies: 0 });
    assert.deepEqual(validatePolicySet('// nothing yet\n\n'), { ok: true, policies: 0 });
  });

  test('a syntax error is rejected with the line it is on', () => {
    const problems = problemsOf('permit (principal, action, resource);\n\n// 窓口\npermit (principal, action, resource) when { && };\n');
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.reason, 'syntax');
    assert.equal(problems[0]?.line, 4);
    assert.match(problems[0]?.message ?? '', /unexpected token/);
    assert.equal(problemsOf('permit (principal, action, resource)')[0]?.reason, 'syntax');
    assert.equal(problemsOf('allow (principal, action, resource);')[0]?.reason, 'syntax');
  });

  test('an unknown action is rejected, naming the policy by its @id', () => {
    const problems = problemsOf('permit (principal, action, resource);\n@id("typo")\npermit (principal, action == Kuraban::Action::"raed", resource);');
    const own = problems.filter((p) => p.reason === 'validation');
    assert.equal(own.length, 1);
    assert.equal(own[0]?.policy, 'typo');
    assert.equal(own[0]?.line, 3);
    assert.match(own[0]?.message ?? '', /unrecognized action/);
    assert.ok(problems.every((p) => p.policy === 'typo'));
  });

  test('an unknown attribute is rejected, naming the policy by its position when it has no @id (as Cedar numbers them)', () => {
    const good = 'permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read", resource);\n';
    const bad = 'permit (principal, action == Kuraban::Action::"read", resource) when { resource.flags.contains("dv_support") };\n';
    // Twelve policies, the bad one 11th: Cedar's own id for it is policy10, which sorts before policy2.
    const text = good.repeat(10) + bad + good;
    const problems = problemsOf(text);
    assert.deepEqual(problems.map((p) => [p.policy, p.reason, p.line]), [['policy10', 'validation', 11]]);
    assert.match(problems[0]?.message ?? '', /attribute `flags` on entity type `Kuraban::Field` not found/);
    // Cedar, given the whole text, blames the same id.
    const raw = cedar.validate({ schema: CEDAR_SCHEMA, policies: { staticPolicies: text }, validationSettings: { mode: 'strict' } });
    assert.equal(raw.type, 'success');
    if (raw.type === 'success') assert.deepEqual(raw.validationErrors.map((e) => e.policyId), ['policy10']);
    // An attribute on the wrong side: context has no `role`.
    assert.equal(problemsOf('@id("ctx") permit (principal, action == Kuraban::Action::"create", resource) when { context.role == "clerk" };')[0]?.policy, 'ctx');
  });

  test('a wrong or unknown entity type is rejected, naming the policy', () => {
    const unknownType = problemsOf('@id("t1") permit (principal in Kuraban::Rol::"clerk", action == Kuraban::Action::"read", resource);');
    assert.ok(unknownType.some((p) => p.policy === 't1' && p.reason === 'validation' && /unrecognized entity type `Kuraban::Rol`/.test(p.message)));
    // Well-formed but can never apply: a role is not a collection; read takes fields, not tenants.
    const roleAsCollection = problemsOf('@id("t2") permit (principal in Kuraban::Collection::"clerk", action == Kuraban::Action::"read", resource);');
    assert.ok(roleAsCollection.length > 0 && roleAsCollection.every((p) => p.policy === 't2' && p.reason === 'impossible'));
    const wrongResource = problemsOf('@id("t3") forbid (principal, action == Kuraban::Action::"read", resource is Kuraban::Tenant);');
    assert.ok(wrongResource.length > 0 && wrongResource.every((p) => p.policy === 't3' && p.reason === 'impossible'));
    // Comparing an attribute of the wrong type is a type error.
    assert.equal(problemsOf('@id("t4") permit (principal, action == Kuraban::Action::"read", resource) when { resource.classification == 3 };')[0]?.reason, 'validation');
    // An attribute every resource type lacks, on an unconstrained action (strict mode).
    assert.equal(problemsOf('@id("t5") permit (principal, action, resource) when { resource.classification == "public" };')[0]?.policy, 't5');
  });

  test('templates, duplicate ids and BIDI control characters are rejected', () => {
    assert.equal(problemsOf('permit (principal == ?principal, action, resource);')[0]?.reason, 'template');
    const dup = problemsOf('@id("same") permit (principal, action, resource);\n@id("same") forbid (principal, action, resource);');
    assert.deepEqual(dup.map((p) => [p.policy, p.reason, p.line]), [['same', 'duplicate-id', 2]]);
    // An @id may not take another policy's positional id either.
    assert.equal(problemsOf('permit (principal, action, resource);\n@id("policy0") forbid (principal, action, resource);')[0]?.reason, 'duplicate-id');
    const bidi = problemsOf('@id("b") permit (principal, action, resource) when { context.purpose == "counter\u202e" };');
    assert.deepEqual(bidi.map((p) => [p.policy, p.reason]), [['b', 'suspicious']]);
    // Japanese strings are fine, also mixed with Latin letters; Latin mixed with Cyrillic is not.
    for (const s of ['窓口業務', 'DV支援', '窓口A', 'Ａ窓口', 'ｶﾅ', 'tax-2025年度']) {
      assert.deepEqual(validatePolicySet(`permit (principal, action, resource) when { context.purpose == "${s}" };`), { ok: true, policies: 1 }, s);
    }
    const cyrillic = problemsOf('@id("c") permit (principal, action, resource) when { context.purpose == "\u0430pple" };');
    assert.deepEqual(cyrillic.map((p) => [p.policy, p.reason]), [['c', 'suspicious']]);
    assert.match(cyrillic[0]?.message ?? '', /mixed scripts/);
  });

  test('problems come in text order, whatever order Cedar reports them in', () => {
    const text = '@id("a") permit (principal, action, resource) when { context.nope };\n@id("b") permit (principal, action == Kuraban::Action::"x", resource);';
    const problems = problemsOf(text);
    const ids = problems.map((p) => p.policy);
    assert.deepEqual([...new Set(ids)], ['a', 'b']);
    assert.deepEqual(problemsOf(text), problems);
  });

  test('something that is not a string is a problem, not a crash', () => {
    assert.equal(validatePolicySet(42 as unknown as string).ok, false);
  });

  test('PolicyEngine refuses a policy set that does not validate (POLICY_INVALID, details name the policy)', () => {
    assert.throws(
      () => new PolicyEngine({ tenantId: 't', version: 1, text: '@id("typo") permit (principal, action == Kuraban::Action::"raed", resource);' }),
      (e: unknown) => e instanceof KurabanError && e.code === 'POLICY_INVALID' && e.details.some((d) => d.field === 'typo' && d.reason === 'validation'),
    );
    assert.throws(() => new PolicyEngine({ tenantId: 't', version: 1, text: '', cacheSize: -1 }), RangeError);
  });
});

describe('PolicyEngine decisions', () => {
  test('default deny: no policy means every field withheld (public too) and every action denied', () => {
    for (const text of ['', '// none', 'forbid (principal, action, resource);']) {
      const e = engineOf(text);
      const op: PolicyPrincipal = { kind: 'operator', id: 'admin', roles: ['operator'], duties: [], mfa: true };
      for (const p of [CLERK, op]) {
        assert.ok(Object.values(access(e, p, 'counter')).every((a) => a === 'withheld'));
        assert.ok(Object.values(access(e, p, 'counter', 'search')).every((a) => a === 'withheld'));
        for (const a of ['create', 'update', 'delete', 'export'] as const) assert.equal(e.isAllowed(p, a, { collection: 'residents' }, 'counter'), false);
        assert.equal(e.isAllowed(p, 'manage-policy', { tenant: true }, 'counter'), false);
        assert.equal(e.isAllowed(p, 'read-log', { log: true }, 'counter'), false);
        assert.equal(e.recordAllowed(p, 'residents', [], 'counter'), false);
      }
    }
  });

  test('permit by role: clerks read, others do not', () => {
    const e = engineOf('permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read", resource in Kuraban::Collection::"residents");');
    assert.ok(Object.values(access(e, CLERK, 'counter')).every((a) => a === 'clear'));
    assert.ok(Object.values(access(e, NOBODY, 'counter')).every((a) => a === 'withheld'));
    assert.ok(Object.values(access(e, user('u-x', ['archivist']), 'counter')).every((a) => a === 'withheld'));
    // read does not imply search, and the collection scope holds.
    assert.ok(Object.values(access(e, CLERK, 'counter', 'search')).every((a) => a === 'withheld'));
    const other: CollectionInfo = { name: 'tax', fields: [{ name: 'income', classification: 'personal', type: 'integer' }] };
    assert.deepEqual(access(e, CLERK, 'counter', 'read', other), { income: 'withheld' });
    // Principals of every kind are members of their roles.
    for (const kind of ['user', 'service', 'operator'] as const) {
      assert.equal(access(e, { kind, id: 'k', roles: ['viewer', 'clerk'], duties: [], mfa: false }, 'counter')['name'], 'clear', kind);
    }
  });

  test('permit by duty', () => {
    const e = engineOf('permit (principal in Kuraban::Duty::"tax-assessment", action in [Kuraban::Action::"read", Kuraban::Action::"search"], resource) when { context.purpose == "tax" };');
    const assessor = user('u-tax', [], ['tax-assessment']);
    assert.equal(access(e, assessor, 'tax')['name'], 'clear');
    assert.equal(access(e, assessor, 'tax', 'search')['name'], 'clear');
    assert.equal(access(e, CLERK, 'tax')['name'], 'withheld');
    // A role with the duty's name is not the duty.
    assert.equal(access(e, user('u-y', ['tax-assessment']), 'tax')['name'], 'withheld');
  });

  test('forbid overrides permit', () => {
    const e = engineOf(`permit (principal, action, resource);
forbid (principal, action in [Kuraban::Action::"read", Kuraban::Action::"read-masked"], resource) when { resource.classification == "sensitive" };
forbid (principal, action == Kuraban::Action::"read", resource) when { resource.classification == "my-number" };
forbid (principal in Kuraban::Role::"intern", action == Kuraban::Action::"export", resource);`);
    const a = access(e, CLERK, 'counter');
    assert.equal(a['disability'], 'withheld');
    assert.equal(a['dv_support'], 'withheld');
    assert.equal(a['my_number'], 'masked');
    assert.equal(a['name'], 'clear');
    assert.equal(e.isAllowed(CLERK, 'export', { collection: 'residents' }, null), true);
    assert.equal(e.isAllowed(user('u-i', ['clerk', 'intern']), 'export', { collection: 'residents' }, null), false);
  });

  test('purpose conditions: a field is clear for one purpose and withheld for another', () => {
    const e = engineOf('permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read", resource) when { context.purpose == "counter" };');
    assert.equal(access(e, CLERK, 'counter')['name'], 'clear');
    assert.equal(access(e, CLERK, 'tax')['name'], 'withheld');
    assert.equal(access(e, CLERK, 'counter')['town'], 'clear');
    assert.equal(access(e, CLERK, 'tax')['town'], 'withheld');
  });

  test('masked via read-masked, for read only (search has no masked form)', () => {
    const e = engineOf(`permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read", resource) when { resource.classification == "personal" || resource.classification == "public" };
permit (principal in Kuraban::Role::"clerk", action in [Kuraban::Action::"read-masked", Kuraban::Action::"search"], resource);`);
    assert.deepEqual(access(e, CLERK, 'counter'), {
      town: 'clear', name: 'clear', birth_date: 'clear', disability: 'masked', my_number: 'masked', dv_support: 'masked', electoral_roll: 'clear',
    });
    assert.ok(Object.values(access(e, CLERK, 'counter', 'search')).every((a) => a === 'clear'));
    const maskedOnly = engineOf('permit (principal, action == Kuraban::Action::"read-masked", resource);');
    assert.ok(Object.values(access(maskedOnly, CLERK, 'counter')).every((a) => a === 'masked'));
    assert.ok(Object.values(access(maskedOnly, CLERK, 'counter', 'search')).every((a) => a === 'withheld'));
  });

  test('no purpose: every non-public field is withheld even under permit-all; public fields stay clear; "" is no purpose', () => {
    const e = engineOf('permit (principal, action, resource);');
    for (const purpose of [null, '']) {
      for (const action of ['read', 'search'] as const) {
        assert.deepEqual(access(e, CLERK, purpose, action), {
          town: 'clear', name: 'withheld', birth_date: 'withheld', disability: 'withheld', my_number: 'withheld', dv_support: 'withheld', electoral_roll: 'withheld',
        });
      }
    }
    assert.ok(Object.values(access(e, CLERK, 'counter')).every((a) => a === 'clear'));
    const town = RESIDENTS.fields[0] as FieldInfo;
    const name = RESIDENTS.fields[1] as FieldInfo;
    assert.equal(e.fieldAllowed(CLERK, 'detokenize', 'residents', name, null), false);
    assert.equal(e.fieldAllowed(CLERK, 'detokenize', 'residents', name, 'counter'), true);
    assert.equal(e.fieldAllowed(CLERK, 'tokenize', 'residents', town, null), true);
    // Policies see hasPurpose too.
    const needs = engineOf('permit (principal, action == Kuraban::Action::"create", resource) when { context.hasPurpose };');
    assert.equal(needs.isAllowed(CLERK, 'create', { collection: 'residents' }, null), false);
    assert.equal(needs.isAllowed(CLERK, 'create', { collection: 'residents' }, ''), false);
    assert.equal(needs.isAllowed(CLERK, 'create', { collection: 'residents' }, 'moving-in'), true);
  });

  test('step-up: my-number fields need MFA (context.mfa), otherwise they fall back to masked', () => {
    const e = engineOf(`permit (principal in Kuraban::Role::"clerk", action in [Kuraban::Action::"read", Kuraban::Action::"read-masked"], resource);
forbid (principal, action == Kuraban::Action::"read", resource) when { resource.classification == "my-number" } unless { context.mfa };`);
    assert.equal(access(e, CLERK, 'counter')['my_number'], 'masked');
    assert.equal(access(e, CLERK, 'counter')['name'], 'clear');
    assert.equal(access(e, user('u-clerk', ['clerk'], [], true), 'counter')['my_number'], 'clear');
    // The principal's mfa attribute says the same.
    const byAttr = engineOf('permit (principal, action == Kuraban::Action::"read", resource) when { resource.classification != "my-number" || principal.mfa };');
    assert.equal(access(byAttr, CLERK, 'counter')['my_number'], 'withheld');
    assert.equal(access(byAttr, user('u', [], [], true), 'counter')['my_number'], 'clear');
  });

  test('row condition: records flagged dv_support are readable only by dv-officers', () => {
    const e = engineOf(`permit (principal, action == Kuraban::Action::"read-record", resource in Kuraban::Collection::"residents");
forbid (principal, action == Kuraban::Action::"read-record", resource) when { resource.flags.contains("dv_support") } unless { principal in Kuraban::Role::"dv-officer" };`);
    const officer = user('u-dv', ['clerk', 'dv-officer']);
    assert.equal(e.recordAllowed(CLERK, 'residents', [], 'counter'), true);
    assert.equal(e.recordAllowed(CLERK, 'residents', ['electoral_roll'], 'counter'), true);
    assert.equal(e.recordAllowed(CLERK, 'residents', ['electoral_roll', 'dv_support'], 'counter'), false);
    assert.equal(e.recordAllowed(officer, 'residents', ['dv_support'], 'counter'), true);
    assert.equal(e.recordAllowed(officer, 'residents', ['dv_support', 'dv_support'], null), true);
    assert.equal(e.recordAllowed(CLERK, 'tax', [], 'counter'), false);
  });

  test('isAllowed: create, export, manage-policy, read-log; an action with the wrong resource is denied without asking Cedar', () => {
    const e = engineOf(`permit (principal in Kuraban::Role::"clerk", action in [Kuraban::Action::"create", Kuraban::Action::"update"], resource == Kuraban::Collection::"residents");
permit (principal in Kuraban::Duty::"statistics", action == Kuraban::Action::"export", resource) when { context.purpose == "statistics" };
permit (principal is Kuraban::Operator, action == Kuraban::Action::"manage-policy", resource == Kuraban::Tenant::"tenant-a") when { context.mfa };
permit (principal in Kuraban::Role::"auditor", action == Kuraban::Action::"read-log", resource);
permit (principal in Kuraban::Role::"everything", action, resource);`);
    assert.equal(e.isAllowed(CLERK, 'create', { collection: 'residents' }, null), true);
    assert.equal(e.isAllowed(CLERK, 'update', { collection: 'residents' }, 'counter'), true);
    assert.equal(e.isAllowed(CLERK, 'delete', { collection: 'residents' }, 'counter'), false);
    assert.equal(e.isAllowed(CLERK, 'create', { collection: 'tax' }, null), false);
    const statistician = user('u-s', [], ['statistics']);
    assert.equal(e.isAllowed(statistician, 'export', { collection: 'residents' }, 'statistics'), true);
    assert.equal(e.isAllowed(statistician, 'export', { collection: 'residents' }, null), false);
    const op = (mfa: boolean): PolicyPrincipal => ({ kind: 'operator', id: 'admin-key', roles: [], duties: [], mfa });
    assert.equal(e.isAllowed(op(true), 'manage-policy', { tenant: true }, null), true);
    assert.equal(e.isAllowed(op(false), 'manage-policy', { tenant: true }, null), false);
    assert.equal(e.isAllowed(user('u-op', [], [], true), 'manage-policy', { tenant: true }, null), false);
    assert.equal(e.isAllowed(op(true), 'manage-keys', { tenant: true }, null), false);
    assert.equal(e.isAllowed(user('u-a', ['auditor']), 'read-log', { log: true }, null), true);
    assert.equal(e.isAllowed(CLERK, 'read-log', { log: true }, null), false);
    // Another tenant's policy set names another tenant entity.
    const other = new PolicyEngine({ tenantId: 'tenant-b', version: 1, text: 'permit (principal, action == Kuraban::Action::"manage-policy", resource == Kuraban::Tenant::"tenant-a");' });
    assert.equal(other.isAllowed(op(true), 'manage-policy', { tenant: true }, null), false);

    const all = user('u-all', ['everything']);
    const before = e.stats.evaluations;
    assert.equal(e.isAllowed(all, 'read', { collection: 'residents' }, 'counter'), false);
    assert.equal(e.isAllowed(all, 'create', { tenant: true }, null), false);
    assert.equal(e.isAllowed(all, 'read-log', { collection: 'residents' }, null), false);
    assert.equal(e.isAllowed(all, 'manage-keys', { log: true }, null), false);
    assert.equal(e.isAllowed(all, 'nonsense' as 'create', { collection: 'residents' }, null), false);
    assert.equal(e.stats.evaluations, before);
    assert.equal(e.isAllowed(all, 'manage-keys', { tenant: true }, null), true);
  });

  test('evaluation errors deny and never throw: an erroring permit grants nothing, an erroring forbid denies', () => {
    // Validates (types are right) but overflows at run time when context.mfa is true.
    const overflow = '9223372036854775807 + (if context.mfa then 1 else 0) == 0';
    const e = engineOf(`permit (principal, action == Kuraban::Action::"create", resource) when { ${overflow} || true };
permit (principal, action == Kuraban::Action::"export", resource);
forbid (principal, action == Kuraban::Action::"export", resource) when { ${overflow} };`);
    const mfa = user('u-m', [], [], true);
    assert.equal(e.isAllowed(mfa, 'create', { collection: 'residents' }, null), false);
    assert.equal(e.isAllowed(CLERK, 'create', { collection: 'residents' }, null), true);
    assert.equal(e.isAllowed(mfa, 'export', { collection: 'residents' }, null), false);
    assert.equal(e.isAllowed(CLERK, 'export', { collection: 'residents' }, null), true);
  });

  test('odd inputs never throw: empty ids and names, quotes, Japanese, duplicate roles', () => {
    const e = engineOf('permit (principal in Kuraban::Role::"係\\"員", action, resource) when { context.purpose == "窓口" };');
    const p = user('', ['係"員', '係"員'], ['']);
    const c: CollectionInfo = { name: '住民"', fields: [{ name: '氏名', classification: 'personal', type: 'string' }, { name: '', classification: 'public', type: '' }] };
    assert.deepEqual(access(e, p, '窓口', 'read', c), { 氏名: 'clear', '': 'clear' });
    assert.equal(e.recordAllowed(p, '住民"', ['', '"'], '窓口'), true);
    assert.equal(e.isAllowed(p, 'delete', { collection: '' }, '窓口'), true);
  });
});

describe('PolicyEngine decision cache', () => {
  const text = 'permit (principal in Kuraban::Role::"clerk", action in [Kuraban::Action::"read", Kuraban::Action::"search", Kuraban::Action::"read-record", Kuraban::Action::"create"], resource) when { context.purpose == "counter" };';

  test('a second identical call is a hit; another purpose, principal, action or shape is a miss', () => {
    const e = engineOf(text);
    assert.deepEqual(e.stats, { hits: 0, misses: 0, evaluations: 0 });
    const first = access(e, CLERK, 'counter');
    assert.deepEqual(e.stats, { hits: 0, misses: 1, evaluations: RESIDENTS.fields.length });
    assert.deepEqual(access(e, CLERK, 'counter'), first);
    assert.deepEqual(e.stats, { hits: 1, misses: 1, evaluations: RESIDENTS.fields.length });
    // Same principal, roles in another order: same key.
    access(e, user('u-clerk', ['clerk']), 'counter');
    assert.equal(e.stats.hits, 2);
    access(e, CLERK, 'tax');
    assert.equal(e.stats.misses, 2);
    access(e, user('u-clerk', ['clerk'], [], true), 'counter');
    access(e, user('u-other', ['clerk']), 'counter');
    access(e, CLERK, 'counter', 'search');
    assert.deepEqual([e.stats.hits, e.stats.misses], [2, 5]);
    // A collection whose shape changed is not served from the cache: a field turned public.
    const reshaped: CollectionInfo = { name: 'residents', fields: RESIDENTS.fields.map((f) => (f.name === 'name' ? { ...f, classification: 'public' as const } : f)) };
    assert.equal(access(e, CLERK, null)['name'], 'withheld');
    assert.equal(access(e, CLERK, null, 'read', reshaped)['name'], 'withheld');
    const misses = e.stats.misses;
    assert.equal(access(e, CLERK, 'counter', 'read', { ...RESIDENTS, fields: [...RESIDENTS.fields, { name: 'phone', classification: 'personal', type: 'string' }] })['phone'], 'clear');
    assert.equal(e.stats.misses, misses + 1);
    // The other methods cache too.
    e.recordAllowed(CLERK, 'residents', ['b', 'a'], 'counter');
    e.recordAllowed(CLERK, 'residents', ['a', 'b', 'a'], 'counter');
    e.isAllowed(CLERK, 'create', { collection: 'residents' }, 'counter');
    e.isAllowed(CLERK, 'create', { collection: 'residents' }, 'counter');
    assert.deepEqual([e.stats.hits, e.stats.misses], [4, misses + 3]);
  });

  test('a returned map is a copy: changing it does not change the cache', () => {
    const e = engineOf(text);
    const m = e.fieldAccess(CLERK, RESIDENTS, 'read', 'counter') as Map<string, FieldAccess>;
    m.set('name', 'withheld');
    assert.equal(e.fieldAccess(CLERK, RESIDENTS, 'read', 'counter').get('name'), 'clear');
  });

  test('a new engine (new policy version) starts empty', () => {
    const v1 = new PolicyEngine({ tenantId: 'tenant-a', version: 1, text });
    access(v1, CLERK, 'counter');
    access(v1, CLERK, 'counter');
    assert.equal(v1.stats.hits, 1);
    const v2 = new PolicyEngine({ tenantId: 'tenant-a', version: 2, text: 'permit (principal, action == Kuraban::Action::"read-masked", resource);' });
    assert.equal(v2.version, 2);
    assert.deepEqual(v2.stats, { hits: 0, misses: 0, evaluations: 0 });
    assert.equal(access(v2, CLERK, 'counter')['name'], 'masked');
    assert.equal(access(v1, CLERK, 'counter')['name'], 'clear');
  });

  test('bounded: the least recently used entry is evicted; cacheSize 0 caches nothing', () => {
    const e = engineOf(text, 2);
    const ask = (purpose: string): boolean => e.isAllowed(CLERK, 'create', { collection: 'residents' }, purpose);
    ask('a');
    ask('b');
    ask('a'); // hit, now most recent
    ask('c'); // evicts b
    assert.deepEqual([e.stats.hits, e.stats.misses], [1, 3]);
    ask('a');
    assert.equal(e.stats.hits, 2);
    ask('b');
    assert.deepEqual([e.stats.hits, e.stats.misses], [2, 4]);
    const none = engineOf(text, 0);
    none.isAllowed(CLERK, 'create', { collection: 'residents' }, 'counter');
    none.isAllowed(CLERK, 'create', { collection: 'residents' }, 'counter');
    assert.deepEqual(none.stats, { hits: 0, misses: 2, evaluations: 2 });
  });

  test('property: cached answers equal uncached ones, and every request conforms to the schema', () => {
    const policy = `permit (principal in Kuraban::Role::"clerk", action in [Kuraban::Action::"read", Kuraban::Action::"search"], resource) when { context.purpose == "counter" };
permit (principal in Kuraban::Duty::"tax", action, resource) when { context.purpose == "tax" };
permit (principal, action == Kuraban::Action::"read-masked", resource) when { context.hasPurpose };
forbid (principal, action == Kuraban::Action::"read", resource) when { resource.classification == "my-number" } unless { context.mfa };
forbid (principal, action == Kuraban::Action::"read-record", resource) when { resource.flags.contains("dv_support") } unless { principal in Kuraban::Role::"dv-officer" };`;
    const cached = engineOf(policy, 8);
    const fresh = new PolicyEngine({ tenantId: 'tenant-a', version: 1, text: policy, cacheSize: 0 });
    const principal = fc.record({
      kind: fc.constantFrom('user' as const, 'service' as const, 'operator' as const),
      id: fc.constantFrom('a', 'b'),
      roles: fc.subarray(['clerk', 'dv-officer', 'x']),
      duties: fc.subarray(['tax']),
      mfa: fc.boolean(),
    });
    const purpose = fc.constantFrom(null, '', 'counter', 'tax', 'other');
    const classification = fc.constantFrom('public' as const, 'personal' as const, 'sensitive' as const, 'my-number' as const);
    const collection = fc.record({
      name: fc.constantFrom('residents', 'tax'),
      fields: fc.uniqueArray(fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd'), classification, type: fc.constantFrom('string', 'boolean') }), { selector: (f) => f.name, maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(principal, purpose, collection, fc.constantFrom('read' as const, 'search' as const), fc.subarray(['dv_support', 'x'])), { maxLength: 12 }), (calls) => {
        for (const [p, purp, c, action, flags] of calls) {
          const got = cached.fieldAccess(p, c, action, purp);
          assert.deepEqual(cached.fieldAccess(p, c, action, purp), got);
          assert.deepEqual(got, fresh.fieldAccess(p, c, action, purp));
          for (const f of c.fields) if ((purp === null || purp === '') && f.classification !== 'public') assert.equal(got.get(f.name), 'withheld');
          assert.equal(cached.recordAllowed(p, c.name, flags, purp), fresh.recordAllowed(p, c.name, flags, purp));
          assert.equal(cached.isAllowed(p, 'export', { collection: c.name }, purp), fresh.isAllowed(p, 'export', { collection: c.name }, purp));
        }
      }),
      { numRuns: 60 },
    );
    assert.ok(cached.stats.hits > 0);
  });
});

describe('PolicyEngine under V8', () => {
  /**
   * A sequence that made Node 20 abort ("Fatal error … unreachable code", a V8 JS→Wasm inlining
   * bug) before policy-engine.ts turned that inlining off: many uncached decisions, then cached
   * ones, then a miss on another engine. Run in a child so that a crash fails the test, not the run.
   */
  test('survives the V8 JS→Wasm inlining crash', () => {
    const engineUrl = new URL('../../src/policy/policy-engine.js', import.meta.url).href;
    const script = `
      const { PolicyEngine } = await import(${JSON.stringify(engineUrl)});
      const text = 'permit (principal in Kuraban::Role::"clerk", action, resource) when { context.purpose == "counter" };';
      const p = { kind: 'user', id: 'u1', roles: ['clerk'], duties: [], mfa: false };
      const nocache = new PolicyEngine({ tenantId: 't', version: 1, text, cacheSize: 0 });
      const cached = new PolicyEngine({ tenantId: 't', version: 1, text });
      for (let i = 0; i < 5000; i++) nocache.recordAllowed(p, 'residents', ['dv_support'], 'counter');
      for (let i = 0; i < 200000; i++) cached.isAllowed(p, 'create', { collection: 'residents' }, 'counter');
      for (let i = 0; i < 200000; i++) cached.recordAllowed(p, 'residents', ['dv_support'], 'counter');
      process.stdout.write('survived');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.signal, null, r.stderr.slice(0, 500));
    assert.equal(r.status, 0, r.stderr.slice(0, 500));
    assert.equal(r.stdout, 'survived');
  });
});
