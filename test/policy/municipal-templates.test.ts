/**
 * The municipal role templates (policies/municipal.cedar, docs/policies.md): the file validates,
 * every case of policies/municipal.cases.json passes against the three collection templates, and the
 * properties the templates promise hold whatever roles, purpose and MFA a caller brings: the DV row
 * condition beats the administrator, a contractor never gets an identifier or a sensitive field,
 * the auditor gets no record data, nobody sees 個人番号 in clear without MFA, nobody exports without
 * it. The who-can rows for the clerk match the template's description.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  PolicyEngine, parsePolicyCases, rolePrincipal, runPolicyCases, validatePolicySet, whoCan,
  type CollectionInfo, type FieldAccess, type PolicyPrincipal,
} from '../../src/policy/index.js';
import { NAME_PATTERN, parseCollectionSchema, SCHEMA_TEMPLATES, SCHEMA_TEMPLATE_NAMES } from '../../src/schema/index.js';
import { projectRoot } from '../helpers/project-root.js';

const read = (name: string): string => readFileSync(join(projectRoot(), 'policies', name), 'utf8');
const POLICY = read('municipal.cedar');
const PURPOSES = read('municipal.purposes').split('\n').filter((l) => l !== '');
const CASES = JSON.parse(read('municipal.cases.json')) as unknown;

/** The templates as `collection create --template` names them (kojin-juminzei → kojin_juminzei). */
const COLLECTIONS: ReadonlyMap<string, CollectionInfo> = new Map(
  SCHEMA_TEMPLATE_NAMES.map((t) => {
    const name = t.replaceAll('-', '_');
    const schema = parseCollectionSchema(SCHEMA_TEMPLATES[t].schema);
    return [name, { name, fields: schema.fields.map((f) => ({ name: f.name, classification: f.classification, type: f.type })) }] as const;
  }),
);
const JUMINHYO = COLLECTIONS.get('juminhyo') as CollectionInfo;

const ROLES = ['administrator', 'operator', 'clerk', 'tax-officer', 'nhi-officer', 'auditor', 'contractor', 'dv-officer'] as const;
const ALL_PURPOSES: readonly (string | null)[] = [null, ...PURPOSES];

/** Cedar checks every request against the schema too (throws if one does not conform). */
const engine = new PolicyEngine({ tenantId: '999997', version: 2, text: POLICY, checkRequests: true });

const principal = (roles: readonly string[], mfa = false): PolicyPrincipal => ({ kind: 'user', id: `u:${roles.join('+')}:${mfa}`, roles, duties: [], mfa });
const fieldsOf = (c: CollectionInfo, pred: (f: CollectionInfo['fields'][number]) => boolean): string[] => c.fields.filter(pred).map((f) => f.name);

/** Arbitrary callers: any set of the template's roles (and an unknown one), MFA or not, any purpose. */
const callers = fc.record({
  roles: fc.subarray([...ROLES, 'someone-else'], { minLength: 0 }),
  mfa: fc.boolean(),
  purpose: fc.constantFrom(...ALL_PURPOSES),
});

describe('policies/municipal.cedar', () => {
  test('validates against the Kuraban Cedar schema; every policy has an @id; the purposes are names', () => {
    const v = validatePolicySet(POLICY);
    assert.ok(v.ok, JSON.stringify(v));
    const effects = POLICY.match(/^(permit|forbid) \(/gm) ?? [];
    const ids = [...POLICY.matchAll(/^@id\("([a-z0-9-]+)"\)$/gm)].map((m) => m[1]);
    assert.equal(v.policies, effects.length);
    assert.equal(ids.length, v.policies, 'one @id per policy');
    assert.equal(new Set(ids).size, ids.length, 'ids are distinct');
    assert.deepEqual(PURPOSES, ['administration', 'counter', 'tax', 'nhi', 'audit']);
    for (const p of PURPOSES) assert.match(p, NAME_PATTERN);
    // The roles the template names are exactly the documented ones (what who-can reports on).
    const named = new Set([...POLICY.matchAll(/Kuraban::Role::"([a-z0-9_-]+)"/g)].map((m) => m[1]));
    assert.deepEqual([...named].sort(), [...ROLES].sort());
  });

  test('every case of municipal.cases.json passes', () => {
    const cases = parsePolicyCases(CASES);
    assert.ok(cases.length >= 60, `${cases.length} cases`);
    const results = runPolicyCases(engine, COLLECTIONS, cases);
    const failed = results.filter((r) => !r.pass);
    assert.deepEqual(failed, [], failed.map((r) => `${r.index + 1} ${r.name}: expected ${r.expected}, got ${r.actual}`).join('\n'));
    // Every role, every purpose (and none), MFA both ways and the DV flag are exercised.
    for (const role of ROLES) assert.ok(cases.some((c) => c.principal.roles.includes(role)), `a case for ${role}`);
    for (const p of ALL_PURPOSES) assert.ok(cases.some((c) => (c.purpose ?? null) === p), `a case for purpose ${p}`);
    assert.ok(cases.some((c) => c.principal.mfa === true) && cases.some((c) => c.principal.mfa !== true));
    assert.ok(cases.some((c) => c.flags?.includes('dv_support') && c.expect === 'deny'));
    assert.ok(cases.some((c) => c.flags?.includes('dv_support') && c.expect === 'allow'));
  });

  test('the dv_support row condition holds for every role but dv-officer — the administrator included, MFA or not', () => {
    for (const role of ROLES) {
      for (const purpose of ALL_PURPOSES) {
        for (const mfa of [false, true]) {
          assert.equal(engine.recordAllowed(principal([role], mfa), 'juminhyo', ['dv_support'], purpose), role === 'dv-officer' && purpose === 'counter', `${role} ${purpose} ${mfa}`);
        }
      }
    }
    // The same record without the flag is readable by the administrator: the forbid, not a missing permit, refuses it.
    assert.equal(engine.recordAllowed(principal(['administrator'], true), 'juminhyo', ['electoral_roll'], 'administration'), true);
    assert.equal(engine.recordAllowed(principal(['administrator'], true), 'juminhyo', ['electoral_roll', 'dv_support'], 'administration'), false);
    fc.assert(
      fc.property(callers, ({ roles, mfa, purpose }) => {
        if (roles.includes('dv-officer')) return;
        for (const c of COLLECTIONS.keys()) assert.equal(engine.recordAllowed(principal(roles, mfa), c, ['dv_support'], purpose), false);
      }),
      { numRuns: 200 },
    );
  });

  test('a contractor never gets a my-number or sensitive field, in clear or masked, whatever else it holds, declares or proves', () => {
    const banned = (c: CollectionInfo) => fieldsOf(c, (f) => f.classification === 'my-number' || f.classification === 'sensitive');
    assert.ok(banned(JUMINHYO).includes('my_number') && banned(JUMINHYO).includes('juminhyo_code') && banned(JUMINHYO).includes('honseki'));
    fc.assert(
      fc.property(callers, ({ roles, mfa, purpose }) => {
        const p = principal([...new Set([...roles, 'contractor'])], mfa);
        for (const c of COLLECTIONS.values()) {
          const readAccess = engine.fieldAccess(p, c, 'read', purpose);
          const searchAccess = engine.fieldAccess(p, c, 'search', purpose);
          for (const f of banned(c)) {
            assert.equal(readAccess.get(f), 'withheld', `${roles} ${purpose} ${mfa} ${c.name}.${f}`);
            assert.equal(searchAccess.get(f), 'withheld');
          }
          assert.equal(engine.isAllowed(p, 'export', { collection: c.name }, purpose), false);
        }
      }),
      { numRuns: 150 },
    );
    // Alone, with its own purpose: the resident basics masked at most, nothing in clear but public fields.
    const alone = engine.fieldAccess(principal(['contractor'], true), JUMINHYO, 'read', 'administration');
    for (const f of JUMINHYO.fields) {
      if (f.classification === 'public') assert.equal(alone.get(f.name), 'clear', f.name);
      else assert.notEqual(alone.get(f.name), 'clear', f.name);
    }
    assert.equal(alone.get('name'), 'masked');
  });

  test('the auditor gets nothing from any collection: no field, no record, no collection action — only the log', () => {
    for (const purpose of ALL_PURPOSES) {
      for (const mfa of [false, true]) {
        const p = principal(['auditor'], mfa);
        for (const c of COLLECTIONS.values()) {
          for (const action of ['read', 'search'] as const) {
            for (const [f, a] of engine.fieldAccess(p, c, action, purpose)) assert.equal(a, 'withheld', `${purpose} ${c.name}.${f} ${action}`);
          }
          assert.equal(engine.recordAllowed(p, c.name, [], purpose), false);
          for (const a of ['create', 'update', 'delete', 'export'] as const) assert.equal(engine.isAllowed(p, a, { collection: c.name }, purpose), false);
        }
        assert.equal(engine.isAllowed(p, 'read-log', { log: true }, purpose), true);
        for (const a of ['manage-policy', 'manage-schema', 'manage-keys'] as const) assert.equal(engine.isAllowed(p, a, { tenant: true }, purpose), false);
      }
    }
  });

  test('the operator gets no data: only manage-schema', () => {
    for (const purpose of ALL_PURPOSES) {
      const p: PolicyPrincipal = { kind: 'operator', id: 'admin-key', roles: ['operator'], duties: [], mfa: false };
      for (const c of COLLECTIONS.values()) {
        for (const [f, a] of engine.fieldAccess(p, c, 'read', purpose)) assert.equal(a, 'withheld', `${c.name}.${f}`);
        assert.equal(engine.recordAllowed(p, c.name, [], purpose), false);
        for (const a of ['create', 'update', 'delete', 'export'] as const) assert.equal(engine.isAllowed(p, a, { collection: c.name }, purpose), false);
      }
      assert.equal(engine.isAllowed(p, 'manage-schema', { tenant: true }, purpose), true);
      assert.equal(engine.isAllowed(p, 'manage-policy', { tenant: true }, purpose), false);
      assert.equal(engine.isAllowed(p, 'manage-keys', { tenant: true }, purpose), false);
      assert.equal(engine.isAllowed(p, 'read-log', { log: true }, purpose), false);
    }
  });

  test('without MFA nobody sees 個人番号 or 住民票コード in clear, and nobody exports', () => {
    const identifiers = (c: CollectionInfo) => fieldsOf(c, (f) => f.classification === 'my-number' || f.type === 'juminhyo-code');
    assert.deepEqual(identifiers(JUMINHYO), ['my_number', 'juminhyo_code']);
    fc.assert(
      fc.property(callers, ({ roles, purpose }) => {
        const p = principal(roles, false);
        for (const c of COLLECTIONS.values()) {
          const readAccess = engine.fieldAccess(p, c, 'read', purpose);
          const searchAccess = engine.fieldAccess(p, c, 'search', purpose);
          for (const f of identifiers(c)) {
            assert.notEqual(readAccess.get(f), 'clear', `${roles} ${purpose} ${c.name}.${f}`);
            assert.notEqual(searchAccess.get(f), 'clear');
            assert.equal(engine.fieldAllowed(p, 'detokenize', c.name, c.fields.find((x) => x.name === f) as CollectionInfo['fields'][number], purpose), false);
          }
          assert.equal(engine.isAllowed(p, 'export', { collection: c.name }, purpose), false);
        }
      }),
      { numRuns: 200 },
    );
    // …and the roles that may read them get the masked view instead, and clear once they step up.
    for (const [role, collection, purpose] of [['administrator', 'juminhyo', 'administration'], ['clerk', 'juminhyo', 'counter'], ['tax-officer', 'kojin_juminzei', 'tax'], ['nhi-officer', 'kokuho', 'nhi']] as const) {
      const c = COLLECTIONS.get(collection) as CollectionInfo;
      assert.equal(engine.fieldAccess(principal([role], false), c, 'read', purpose).get('my_number'), 'masked', role);
      assert.equal(engine.fieldAccess(principal([role], true), c, 'read', purpose).get('my_number'), 'clear', role);
    }
  });

  test('purpose decides: each officer sees its own collection only for its own purpose', () => {
    const own = [['clerk', 'juminhyo', 'counter', 'name'], ['tax-officer', 'kojin_juminzei', 'tax', 'total_income'], ['nhi-officer', 'kokuho', 'nhi', 'insured_number']] as const;
    for (const [role, collection, ownPurpose, field] of own) {
      const c = COLLECTIONS.get(collection) as CollectionInfo;
      for (const purpose of ALL_PURPOSES) {
        for (const mfa of [false, true]) {
          const access = engine.fieldAccess(principal([role], mfa), c, 'read', purpose);
          const seen = [...access].filter(([, a]) => a !== 'withheld').map(([f]) => f);
          if (purpose === ownPurpose) assert.equal(access.get(field), 'clear', `${role} ${purpose}`);
          else assert.deepEqual(seen, [], `${role} with purpose ${purpose} sees nothing of ${collection}`);
        }
      }
      // Nothing of the other officers' collections, whatever the purpose.
      for (const other of COLLECTIONS.values()) {
        if (other.name === collection || other.name === 'juminhyo') continue;
        for (const purpose of ALL_PURPOSES) {
          for (const [f, a] of engine.fieldAccess(principal([role], true), other, 'read', purpose)) assert.equal(a, 'withheld', `${role} ${purpose} ${other.name}.${f}`);
        }
      }
    }
  });

  test('who-can rows for role:clerk on juminhyo agree with the template', () => {
    const rows = whoCan(engine, JUMINHYO, [{ label: 'role:clerk', principal: rolePrincipal('clerk') }], PURPOSES);
    assert.deepEqual(rows.map((r) => r.purpose), ALL_PURPOSES);
    const masked = ['my_number', 'juminhyo_code', 'honseki', 'hittosha'];
    const withheld = ['residence_status', 'remarks', 'dv_support', 'dv_support_until'];
    const expectedFields: Record<string, FieldAccess> = {};
    for (const f of JUMINHYO.fields) {
      expectedFields[f.name] = masked.includes(f.name) ? 'masked' : withheld.includes(f.name) ? 'withheld' : 'clear';
      if (expectedFields[f.name] === 'clear') assert.ok(f.classification === 'public' || f.classification === 'personal', f.name);
    }
    const searchable = ['name', 'alias', 'name_kana', 'address', 'atena_number', 'birth_date'];
    const flags = fieldsOf(JUMINHYO, (f) => f.type === 'boolean');
    for (const row of rows) {
      assert.equal(row.label, 'role:clerk');
      if (row.purpose === 'counter') {
        assert.deepEqual(row.fields, expectedFields);
        assert.deepEqual(Object.entries(row.search).filter(([, a]) => a === 'clear').map(([f]) => f).sort(), [...searchable].sort());
        assert.deepEqual(row.actions, { create: true, update: true, delete: false, export: false });
        assert.deepEqual(row.rowConditions, Object.fromEntries(flags.map((f) => [f, f !== 'dv_support'])));
        for (const f of ['name', 'name_kana', 'address', 'katagaki', 'birth_date', 'sex', 'relationship', 'household_number']) assert.equal(row.fields[f], 'clear', f);
      } else {
        assert.deepEqual(Object.values(row.fields).filter((a) => a !== 'withheld'), [], `purpose ${row.purpose}`);
        assert.deepEqual(Object.values(row.search).filter((a) => a !== 'withheld'), []);
        assert.deepEqual(row.actions, { create: false, update: false, delete: false, export: false });
        assert.deepEqual(Object.values(row.rowConditions).filter(Boolean), []);
      }
    }
    // With MFA the identifiers step up to clear; 本籍・筆頭者 stay masked.
    const [stepped] = whoCan(engine, JUMINHYO, [{ label: 'role:clerk', principal: rolePrincipal('clerk', true) }], ['counter']).filter((r) => r.purpose === 'counter');
    assert.deepEqual([stepped?.fields['my_number'], stepped?.fields['juminhyo_code'], stepped?.fields['honseki'], stepped?.fields['hittosha']], ['clear', 'clear', 'masked', 'masked']);
  });
});
