/**
 * The who-can report: one row per subject × (no purpose + each purpose), every cell equal to what
 * the engine decides when asked directly, plus hand-written expectations for a small policy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PolicyEngine, type CollectionInfo, type PolicyPrincipal } from '../../src/policy/policy-engine.js';
import { dutyPrincipal, rolePrincipal, whoCan, type WhoCanSubject } from '../../src/policy/who-can.js';

const RESIDENTS: CollectionInfo = {
  name: 'residents',
  fields: [
    { name: 'town', classification: 'public', type: 'string' },
    { name: 'name', classification: 'personal', type: 'string' },
    { name: 'my_number', classification: 'my-number', type: 'my-number' },
    { name: 'dv_support', classification: 'sensitive', type: 'boolean' },
    { name: 'electoral_roll', classification: 'personal', type: 'boolean' },
  ],
};

const POLICY = `@id("clerk-counter")
permit (principal in Kuraban::Role::"clerk", action in [Kuraban::Action::"read", Kuraban::Action::"search"], resource)
  when { context.purpose == "counter" && resource.classification != "my-number" };
@id("clerk-masked")
permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read-masked", resource) when { context.hasPurpose };
@id("clerk-create")
permit (principal in Kuraban::Role::"clerk", action in [Kuraban::Action::"create", Kuraban::Action::"update"], resource == Kuraban::Collection::"residents");
@id("records")
permit (principal, action == Kuraban::Action::"read-record", resource);
@id("dv")
forbid (principal, action == Kuraban::Action::"read-record", resource) when { resource.flags.contains("dv_support") } unless { principal in Kuraban::Role::"dv-officer" };
@id("statistics")
permit (principal in Kuraban::Duty::"statistics", action == Kuraban::Action::"export", resource) when { context.purpose == "statistics" };
`;

const SUBJECTS: WhoCanSubject[] = [
  { label: 'role:clerk', principal: rolePrincipal('clerk') },
  { label: 'role:dv-officer', principal: rolePrincipal('dv-officer') },
  { label: 'duty:statistics', principal: dutyPrincipal('statistics') },
  { label: 'key:0123456789abcdef', principal: { kind: 'user', id: 'u1', roles: ['clerk', 'dv-officer'], duties: [], mfa: true } },
];
const PURPOSES = ['counter', 'statistics'];

describe('whoCan', () => {
  test('one row per subject × (null + each purpose), in order; duplicate and empty purposes collapse', () => {
    const engine = new PolicyEngine({ tenantId: 't', version: 1, text: POLICY });
    const rows = whoCan(engine, RESIDENTS, SUBJECTS, [...PURPOSES, 'counter', '']);
    assert.deepEqual(rows.map((r) => [r.label, r.purpose]), SUBJECTS.flatMap((s) => [[s.label, null], [s.label, 'counter'], [s.label, 'statistics']]));
    assert.deepEqual(whoCan(engine, RESIDENTS, [], PURPOSES), []);
  });

  test('every cell equals what a separate engine decides when asked directly', () => {
    const rows = whoCan(new PolicyEngine({ tenantId: 't', version: 1, text: POLICY }), RESIDENTS, SUBJECTS, PURPOSES);
    const direct = new PolicyEngine({ tenantId: 't', version: 1, text: POLICY, cacheSize: 0 });
    const principalOf = new Map(SUBJECTS.map((s) => [s.label, s.principal]));
    for (const row of rows) {
      const p = principalOf.get(row.label) as PolicyPrincipal;
      const read = direct.fieldAccess(p, RESIDENTS, 'read', row.purpose);
      const search = direct.fieldAccess(p, RESIDENTS, 'search', row.purpose);
      assert.deepEqual(Object.keys(row.fields), RESIDENTS.fields.map((f) => f.name));
      assert.deepEqual(Object.keys(row.search), RESIDENTS.fields.map((f) => f.name));
      for (const f of RESIDENTS.fields) {
        assert.equal(row.fields[f.name], read.get(f.name), `${row.label} ${row.purpose} read ${f.name}`);
        assert.equal(row.search[f.name], search.get(f.name), `${row.label} ${row.purpose} search ${f.name}`);
      }
      for (const a of ['create', 'update', 'delete', 'export'] as const) {
        assert.equal(row.actions[a], direct.isAllowed(p, a, { collection: 'residents' }, row.purpose), `${row.label} ${row.purpose} ${a}`);
      }
      assert.deepEqual(Object.keys(row.rowConditions), ['dv_support', 'electoral_roll']);
      for (const flag of ['dv_support', 'electoral_roll']) {
        assert.equal(row.rowConditions[flag], direct.recordAllowed(p, 'residents', [flag], row.purpose), `${row.label} ${row.purpose} ${flag}`);
      }
    }
  });

  test('hand-written expectations for the small policy', () => {
    const rows = whoCan(new PolicyEngine({ tenantId: 't', version: 1, text: POLICY }), RESIDENTS, SUBJECTS, PURPOSES);
    const row = (label: string, purpose: string | null) => {
      const r = rows.find((x) => x.label === label && x.purpose === purpose);
      assert.ok(r, `${label} ${purpose}`);
      return r;
    };
    // Clerk, no purpose: only the public field could be clear, and no policy permits it without the counter purpose.
    assert.deepEqual(row('role:clerk', null).fields, { town: 'withheld', name: 'withheld', my_number: 'withheld', dv_support: 'withheld', electoral_roll: 'withheld' });
    assert.deepEqual(row('role:clerk', null).actions, { create: true, update: true, delete: false, export: false });
    // Clerk at the counter: clear except my_number, which is masked.
    assert.deepEqual(row('role:clerk', 'counter').fields, { town: 'clear', name: 'clear', my_number: 'masked', dv_support: 'clear', electoral_roll: 'clear' });
    assert.deepEqual(row('role:clerk', 'counter').search, { town: 'clear', name: 'clear', my_number: 'withheld', dv_support: 'clear', electoral_roll: 'clear' });
    // Clerk for statistics: masked only (town is public, but masked is all the policy gives).
    assert.deepEqual(row('role:clerk', 'statistics').fields, { town: 'masked', name: 'masked', my_number: 'masked', dv_support: 'masked', electoral_roll: 'masked' });
    assert.deepEqual(row('role:clerk', 'counter').rowConditions, { dv_support: false, electoral_roll: true });
    assert.deepEqual(row('role:dv-officer', 'counter').rowConditions, { dv_support: true, electoral_roll: true });
    assert.deepEqual(row('role:dv-officer', 'counter').fields, { town: 'withheld', name: 'withheld', my_number: 'withheld', dv_support: 'withheld', electoral_roll: 'withheld' });
    assert.deepEqual(row('duty:statistics', 'statistics').actions, { create: false, update: false, delete: false, export: true });
    assert.deepEqual(row('duty:statistics', 'counter').actions, { create: false, update: false, delete: false, export: false });
    assert.deepEqual(row('key:0123456789abcdef', 'counter').rowConditions, { dv_support: true, electoral_roll: true });
    assert.equal(row('key:0123456789abcdef', 'counter').fields['name'], 'clear');
  });

  test('rolePrincipal and dutyPrincipal are synthetic service principals holding just that role or duty', () => {
    assert.deepEqual(rolePrincipal('clerk'), { kind: 'service', id: 'role:clerk', roles: ['clerk'], duties: [], mfa: false });
    assert.deepEqual(rolePrincipal('clerk', true), { kind: 'service', id: 'role:clerk', roles: ['clerk'], duties: [], mfa: true });
    assert.deepEqual(dutyPrincipal('tax'), { kind: 'service', id: 'duty:tax', roles: [], duties: ['tax'], mfa: false });
  });
});
