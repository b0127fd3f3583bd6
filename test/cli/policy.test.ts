/**
 * `kuraban policy test|push|show` and `kuraban access who-can` with the municipal templates
 * (policies/municipal.cedar and its cases) on the three template collections, on both backends.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WhoCanRow } from '../../src/policy/index.js';
import { DEFAULT_POLICY_TEXT } from '../../src/vault/index.js';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { projectRoot } from '../helpers/project-root.js';
import { kuraban, ndjson, summaryOf, TENANT } from './harness.js';

const POLICY_FILE = join(projectRoot(), 'policies', 'municipal.cedar');
const CASES_FILE = join(projectRoot(), 'policies', 'municipal.cases.json');
const PURPOSES = readFileSync(join(projectRoot(), 'policies', 'municipal.purposes'), 'utf8').split('\n').filter((l) => l !== '');
const ROLES = ['administrator', 'auditor', 'clerk', 'contractor', 'dv-officer', 'nhi-officer', 'operator', 'tax-officer'];

/** The first line `policy show` prints: the version's metadata; the policy text follows. */
function shown(stdout: string): { meta: { tenant: string; version: number; purposes: string[] }; text: string } {
  const nl = stdout.indexOf('\n');
  return { meta: JSON.parse(stdout.slice(0, nl)) as { tenant: string; version: number; purposes: string[] }, text: stdout.slice(nl + 1) };
}

for (const backend of BACKENDS) {
  describe(`kuraban policy and access who-can (${backend})`, () => {
    let tv: TempVault;
    let dir: string;
    const cases = JSON.parse(readFileSync(CASES_FILE, 'utf8')) as Array<Record<string, unknown>>;

    before(async () => {
      tv = await createTempVault(backend);
      dir = mkdtempSync(join(tmpdir(), 'kuraban-policy-'));
      assert.equal((await kuraban(tv, ['tenant', 'create', '--id', TENANT, '--name', 'Test City'])).code, 0);
      for (const template of ['juminhyo', 'kojin-juminzei', 'kokuho']) {
        const r = await kuraban(tv, ['collection', 'create', '--tenant', TENANT, '--template', template]);
        assert.equal(r.code, 0, r.stderr);
      }
    });
    after(async () => {
      await tv.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    test('policy test: the municipal template passes all its cases (exit 0)', async () => {
      const r = await kuraban(tv, ['policy', 'test', POLICY_FILE, '--tenant', TENANT, '--cases', CASES_FILE]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, cases.length + 1);
      assert.deepEqual(JSON.parse(lines.at(-1) as string), { cases: cases.length, passed: cases.length, failed: 0 });
      assert.ok(lines.slice(0, -1).every((l) => l.startsWith('ok  ')), 'no FAIL line');
      assert.ok(r.stdout.includes('ok   1 administrator read juminhyo.name for administration: expected clear, got clear'));
      assert.equal(r.stderr, '');
    });

    test('policy test: a wrong expectation fails (exit 1, POLICY_INVALID) and the failing case is printed', async () => {
      const wrong = [
        ...cases,
        { name: 'clerk without MFA sees 個人番号 in clear (wrong)', principal: { roles: ['clerk'] }, action: 'read', collection: 'juminhyo', field: 'my_number', purpose: 'counter', expect: 'clear' },
        { principal: { roles: ['administrator'], mfa: true }, action: 'read-record', collection: 'juminhyo', flags: ['dv_support'], purpose: 'administration', expect: 'allow' },
      ];
      const file = join(dir, 'wrong-cases.json');
      writeFileSync(file, JSON.stringify(wrong));
      const r = await kuraban(tv, ['policy', 'test', POLICY_FILE, '--tenant', TENANT, '--cases', file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^kuraban: POLICY_INVALID: 2 of \d+ policy cases failed/);
      const fails = r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
      assert.deepEqual(fails, [
        `FAIL ${cases.length + 1} clerk without MFA sees 個人番号 in clear (wrong): expected clear, got masked`,
        `FAIL ${cases.length + 2} administrator with MFA read-record juminhyo [dv_support] for administration: expected allow, got deny`,
      ]);
      assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').at(-1) as string), { cases: wrong.length, passed: cases.length, failed: 2 });
    });

    test('policy test: a file that does not validate is POLICY_INVALID before any case runs', async () => {
      const file = join(dir, 'invalid.cedar');
      writeFileSync(file, '@id("bad")\npermit (principal, action == Kuraban::Action::"read", resource) when { resource.secret == "x" };\n');
      const r = await kuraban(tv, ['policy', 'test', file, '--tenant', TENANT, '--cases', CASES_FILE]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^kuraban: POLICY_INVALID: /);
      assert.equal(r.stdout, '');
    });

    test('policy push: a file that does not validate fails and the active version stays', async () => {
      const before = await kuraban(tv, ['policy', 'show', '--tenant', TENANT]);
      assert.equal(before.code, 0, before.stderr);
      assert.equal(shown(before.stdout).meta.version, 1);
      assert.equal(shown(before.stdout).text, DEFAULT_POLICY_TEXT);

      const file = join(dir, 'unknown-action.cedar');
      writeFileSync(file, `${readFileSync(POLICY_FILE, 'utf8')}\n@id("typo")\npermit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"raed", resource);\n`);
      const r = await kuraban(tv, ['policy', 'push', file, '--tenant', TENANT, '--purposes', PURPOSES.join(',')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^kuraban: POLICY_INVALID: /);
      assert.equal(r.stdout, '');

      const after = await kuraban(tv, ['policy', 'show', '--tenant', TENANT]);
      assert.equal(after.stdout, before.stdout, 'policy show still prints the old version');
    });

    test('policy push: a valid file becomes version n+1 with the purposes from --purposes', async () => {
      const r = await kuraban(tv, ['policy', 'push', POLICY_FILE, '--tenant', TENANT, '--purposes', PURPOSES.join(',')]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(summaryOf(r), { tenant: TENANT, version: 2, purposes: ['administration', 'counter', 'tax', 'nhi', 'audit'] });
      const s = await kuraban(tv, ['policy', 'show', '--tenant', TENANT]);
      assert.equal(s.code, 0, s.stderr);
      const { meta, text } = shown(s.stdout);
      assert.equal(meta.version, 2);
      assert.deepEqual(meta.purposes, PURPOSES);
      assert.equal(text, readFileSync(POLICY_FILE, 'utf8'));

      // A bad purpose list is refused too, and changes nothing.
      const bad = await kuraban(tv, ['policy', 'push', POLICY_FILE, '--tenant', TENANT, '--purposes', 'counter,Tax']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /POLICY_INVALID/);
      assert.equal((await kuraban(tv, ['policy', 'show', '--tenant', TENANT])).stdout, s.stdout);
    });

    test('access who-can: one JSON row per role (without and with MFA) × purpose; the clerk gets my_number masked for counter, clear after MFA', async () => {
      const r = await kuraban(tv, ['access', 'who-can', '--tenant', TENANT, '--collection', 'juminhyo']);
      assert.equal(r.code, 0, r.stderr);
      const [head, ...rows] = ndjson(r.stdout) as [Record<string, unknown>, ...WhoCanRow[]];
      assert.deepEqual(head, { tenant: TENANT, collection: 'juminhyo', policyVersion: 2 });
      assert.deepEqual(
        rows.map((x) => [x.label, x.purpose]),
        ROLES.flatMap((role) => [`role:${role}`, `role:${role}+mfa`].flatMap((label) => [null, ...PURPOSES].map((p) => [label, p]))),
      );
      const stepUp = rows.find((x) => x.label === 'role:clerk+mfa' && x.purpose === 'counter') as WhoCanRow;
      assert.equal(stepUp.fields['my_number'], 'clear', 'step-up: clear after multi-factor sign-in');
      assert.equal(stepUp.fields['honseki'], 'masked', 'MFA does not open what the role does not have');
      const row = (role: string, purpose: string | null) => rows.find((x) => x.label === `role:${role}` && x.purpose === purpose) as WhoCanRow;
      const clerk = row('clerk', 'counter');
      assert.equal(clerk.fields['my_number'], 'masked');
      assert.equal(clerk.fields['juminhyo_code'], 'masked');
      assert.equal(clerk.fields['name'], 'clear');
      assert.equal(clerk.fields['honseki'], 'masked');
      assert.equal(clerk.fields['residence_status'], 'withheld');
      assert.equal(clerk.search['name'], 'clear');
      assert.deepEqual(clerk.actions, { create: true, update: true, delete: false, export: false });
      assert.equal(clerk.rowConditions['dv_support'], false);
      assert.equal(row('dv-officer', 'counter').rowConditions['dv_support'], true);
      assert.ok(Object.values(row('clerk', 'tax').fields).every((a) => a === 'withheld'), 'purpose mismatch: nothing');
      for (const purpose of [null, ...PURPOSES]) {
        assert.ok(Object.values(row('auditor', purpose).fields).every((a) => a === 'withheld'));
        assert.ok(Object.values(row('operator', purpose).fields).every((a) => a === 'withheld'));
        assert.equal(row('contractor', purpose).fields['my_number'], 'withheld');
        assert.equal(row('administrator', purpose).actions.export, false, 'no MFA: no export');
      }
      assert.equal(row('contractor', 'administration').fields['name'], 'masked');
      assert.equal(row('administrator', 'administration').fields['my_number'], 'masked');

      const tax = await kuraban(tv, ['access', 'who-can', '--tenant', TENANT, '--collection', 'kojin_juminzei']);
      assert.equal(tax.code, 0, tax.stderr);
      const taxRows = (ndjson(tax.stdout) as WhoCanRow[]).slice(1);
      const officer = taxRows.find((x) => x.label === 'role:tax-officer' && x.purpose === 'tax') as WhoCanRow;
      assert.equal(officer.fields['total_income'], 'clear');
      assert.equal(officer.fields['my_number'], 'masked');
      assert.ok(Object.values((taxRows.find((x) => x.label === 'role:clerk' && x.purpose === 'counter') as WhoCanRow).fields).every((a) => a === 'withheld'));
    });
  });
}
