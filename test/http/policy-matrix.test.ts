/**
 * The access-control matrix over the HTTP API, under the municipal role templates
 * (policies/municipal.cedar with policies/municipal.purposes, docs/policies.md).
 *
 * Every route that asks a tenant's policy (and the isolation-only tenant routes beside them) × every
 * principal (a service-account key per template role, the operator's admin key, OIDC clerks with and
 * without MFA from a real provider, a clerk key of the other tenant) × own / other tenant × purpose
 * (none, each of the tenant's five, one it has not listed). The expected outcome of every cell comes
 * from the tables below, written from docs/policies.md — never from the policy engine. Then:
 * no request ever reads across tenants, the who-can report agrees with what was observed, every
 * refusal is an access-log entry (and no entry holds a value), and 支援措置 records stay hidden from
 * everyone but the DV officer.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeLogEntry, type LogAction, type LogEntry } from '../../src/ledger/index.js';
import { corporateNumberCheckDigit, insurerNumberCheckDigit, juminhyoCodeCheckDigit, localGovCodeCheckDigit, SCHEMA_TEMPLATES } from '../../src/schema/index.js';
import { localAudit } from '../../src/vault/index.js';
import { atena, syntheticMyNumber } from '../helpers/japanese-ids.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { projectRoot } from '../helpers/project-root.js';
import { issueKey, openHarness, recordsUrl, type Call, type Harness, type ProblemBody } from './harness.js';

// ---------------------------------------------------------------------------------------------
// The world: two tenants under the municipal templates

type Tag = 'A' | 'B';
const TAGS: readonly Tag[] = ['A', 'B'];
const TENANT: Readonly<Record<Tag, string>> = { A: 'matrix-a', B: 'matrix-b' };
const OTHER: Readonly<Record<Tag, Tag>> = { A: 'B', B: 'A' };

const COLLECTIONS = ['juminhyo', 'kojin_juminzei', 'kokuho'] as const;
type Coll = (typeof COLLECTIONS)[number];
const TEMPLATE: Readonly<Record<Coll, keyof typeof SCHEMA_TEMPLATES>> = { juminhyo: 'juminhyo', kojin_juminzei: 'kojin-juminzei', kokuho: 'kokuho' };

const PURPOSES = ['administration', 'counter', 'tax', 'nhi', 'audit'] as const;
type Purpose = (typeof PURPOSES)[number];
/** Shaped like a purpose, but not one of the tenant's: PURPOSE_UNKNOWN. */
const UNLISTED = 'marketing';
type PurposeCase = Purpose | null | typeof UNLISTED;
const PURPOSE_CASES: readonly PurposeCase[] = [null, ...PURPOSES, UNLISTED];

const AUDIENCE = 'https://kuraban.test/matrix';
const MUNICIPAL = readFileSync(join(projectRoot(), 'policies', 'municipal.cedar'), 'utf8');
const MUNICIPAL_PURPOSES = readFileSync(join(projectRoot(), 'policies', 'municipal.purposes'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

// ---------------------------------------------------------------------------------------------
// The expected access, from docs/policies.md ("The municipal templates")

type Role = 'administrator' | 'operator' | 'clerk' | 'dv-officer' | 'tax-officer' | 'nhi-officer' | 'auditor' | 'contractor';
const ROLE_NAMES: readonly Role[] = ['administrator', 'auditor', 'clerk', 'contractor', 'dv-officer', 'nhi-officer', 'operator', 'tax-officer'];
type Access = 'clear' | 'masked' | 'withheld';
/** One access, or [without MFA, with MFA] ("MFA: clear" in the docs). */
type Cell = Access | readonly [Access, Access];
const C = 'clear';
const M = 'masked';
const W = 'withheld';
const MFA_CLEAR: Cell = [M, C];

/** The docs' field groups, per collection; every template field is in exactly one (checked below). */
const GROUPS: Readonly<Record<Coll, Readonly<Record<string, readonly string[]>>>> = {
  juminhyo: {
    public: ['resident_type', 'member_order', 'local_gov_code'],
    basics: ['atena_number', 'household_number', 'status', 'name', 'name_kana', 'alias', 'alias_kana', 'birth_date', 'sex', 'householder_name', 'relationship', 'postal_code', 'address', 'katagaki'],
    other: [
      'name_kana_confirmed', 'former_surname', 'former_surname_kana', 'latin_name', 'address_since', 'resident_since', 'notified_on', 'previous_address',
      'nationality', 'residence_card_number', 'residence_expiry', 'electoral_roll', 'nhi_insured', 'elderly_medical_insured', 'ltc_insured',
      'pension_category', 'basic_pension_number',
    ],
    my_number: ['my_number'],
    juminhyo_code: ['juminhyo_code'],
    honseki: ['honseki', 'hittosha'],
    residence_status: ['residence_status'],
    dv: ['dv_support', 'dv_support_until'],
    remarks: ['remarks'],
  },
  kojin_juminzei: {
    public: ['tax_year', 'employer_corporate_number'],
    my_number: ['my_number'],
    assessment: ['atena_number', 'name', 'name_kana', 'total_income', 'taxable_income', 'income_levy', 'per_capita_levy', 'collection_method', 'dependents', 'disability_deduction', 'status'],
  },
  kokuho: {
    public: ['insurer_number'],
    my_number: ['my_number'],
    insurance: [
      'atena_number', 'household_number', 'insured_symbol', 'insured_number', 'branch_number', 'name', 'name_kana', 'birth_date', 'householder',
      'acquired_on', 'acquisition_reason', 'lost_on', 'loss_reason', 'copayment', 'retired_special',
    ],
  },
};

/** `read` per group for a role's own purpose (docs tables). A role not listed for a collection gets nothing there. */
const READ: Readonly<Record<Coll, Partial<Record<Role, Readonly<Record<string, Cell>>>>>> = {
  juminhyo: {
    //              public     basics     other      my_number          juminhyo_code          本籍・筆頭者  在留資格              支援措置  備考
    administrator: { public: C, basics: C, other: C, my_number: MFA_CLEAR, juminhyo_code: MFA_CLEAR, honseki: C, residence_status: C, dv: C, remarks: C },
    clerk: { public: C, basics: C, other: C, my_number: MFA_CLEAR, juminhyo_code: MFA_CLEAR, honseki: M, residence_status: W, dv: W, remarks: W },
    'dv-officer': { public: C, basics: C, other: C, my_number: MFA_CLEAR, juminhyo_code: MFA_CLEAR, honseki: M, residence_status: W, dv: C, remarks: C },
    'tax-officer': { public: C, basics: C, other: W, my_number: MFA_CLEAR, juminhyo_code: W, honseki: W, residence_status: W, dv: W, remarks: W },
    'nhi-officer': { public: C, basics: C, other: W, my_number: MFA_CLEAR, juminhyo_code: W, honseki: W, residence_status: W, dv: W, remarks: W },
    contractor: { public: C, basics: M, other: W, my_number: W, juminhyo_code: W, honseki: W, residence_status: W, dv: W, remarks: W },
  },
  kojin_juminzei: {
    administrator: { public: C, my_number: MFA_CLEAR, assessment: C },
    'tax-officer': { public: C, my_number: MFA_CLEAR, assessment: C },
  },
  kokuho: {
    administrator: { public: C, my_number: MFA_CLEAR, insurance: C },
    'nhi-officer': { public: C, my_number: MFA_CLEAR, insurance: C },
  },
};

/** `search` per role and collection: the fields it may search by ('all' = every field), and those it may only with MFA. */
interface SearchRule {
  readonly fields: readonly string[] | 'all';
  readonly mfaOnly: readonly string[];
}
const LOOKUP = ['name', 'alias', 'name_kana', 'address', 'atena_number', 'birth_date'];
const SEARCH: Readonly<Record<Coll, Partial<Record<Role, SearchRule>>>> = {
  juminhyo: {
    administrator: { fields: 'all', mfaOnly: ['my_number', 'juminhyo_code'] },
    clerk: { fields: LOOKUP, mfaOnly: [] },
    'dv-officer': { fields: LOOKUP, mfaOnly: [] },
    'tax-officer': { fields: LOOKUP, mfaOnly: [] },
    'nhi-officer': { fields: LOOKUP, mfaOnly: [] },
  },
  kojin_juminzei: {
    administrator: { fields: 'all', mfaOnly: ['my_number'] },
    'tax-officer': { fields: ['atena_number', 'name', 'name_kana'], mfaOnly: [] },
  },
  kokuho: {
    administrator: { fields: 'all', mfaOnly: ['my_number'] },
    'nhi-officer': { fields: ['atena_number', 'household_number', 'insured_number', 'name', 'name_kana'], mfaOnly: [] },
  },
};

/** Per role: for which purposes its grants hold, which records it sees, what it may do. */
interface RoleRow {
  /** 'any': whatever is declared, or nothing (field reads still need a purpose: the engine's own rule). */
  readonly purposes: 'any' | readonly Purpose[];
  /** read-record on records without a dv_support flag. */
  readonly rows: readonly Coll[];
  /** read-record on records flagged dv_support. */
  readonly dvRows: boolean;
  readonly create: readonly Coll[];
  readonly update: readonly Coll[];
  readonly delete: readonly Coll[];
  /** Export needs MFA, which API keys never have (no export route yet: who-can only). */
  readonly exportWithMfa: boolean;
  readonly manageSchema: boolean;
  readonly managePolicy: boolean;
  readonly readLog: boolean;
}
const ALL: readonly Coll[] = COLLECTIONS;
const NONE: readonly Coll[] = [];
const ROLES: Readonly<Record<Role, RoleRow>> = {
  administrator: { purposes: 'any', rows: ALL, dvRows: false, create: ALL, update: ALL, delete: ALL, exportWithMfa: true, manageSchema: true, managePolicy: true, readLog: true },
  operator: { purposes: 'any', rows: NONE, dvRows: false, create: NONE, update: NONE, delete: NONE, exportWithMfa: false, manageSchema: true, managePolicy: false, readLog: false },
  clerk: { purposes: ['counter'], rows: ['juminhyo'], dvRows: false, create: ['juminhyo'], update: ['juminhyo'], delete: NONE, exportWithMfa: false, manageSchema: false, managePolicy: false, readLog: false },
  'dv-officer': { purposes: ['counter'], rows: ['juminhyo'], dvRows: true, create: ['juminhyo'], update: ['juminhyo'], delete: NONE, exportWithMfa: false, manageSchema: false, managePolicy: false, readLog: false },
  'tax-officer': { purposes: ['tax'], rows: ['juminhyo', 'kojin_juminzei'], dvRows: false, create: ['kojin_juminzei'], update: ['kojin_juminzei'], delete: NONE, exportWithMfa: false, manageSchema: false, managePolicy: false, readLog: false },
  'nhi-officer': { purposes: ['nhi'], rows: ['juminhyo', 'kokuho'], dvRows: false, create: ['kokuho'], update: ['kokuho'], delete: NONE, exportWithMfa: false, manageSchema: false, managePolicy: false, readLog: false },
  auditor: { purposes: 'any', rows: NONE, dvRows: false, create: NONE, update: NONE, delete: NONE, exportWithMfa: false, manageSchema: false, managePolicy: false, readLog: true },
  contractor: { purposes: ['administration'], rows: ['juminhyo'], dvRows: false, create: NONE, update: NONE, delete: NONE, exportWithMfa: false, manageSchema: false, managePolicy: false, readLog: false },
};

// ---------------------------------------------------------------------------------------------
// Principals

interface Who {
  readonly label: string;
  readonly role: Role;
  /** The tenant it belongs to; null for the operator (every tenant, as far as the policy lets it). */
  readonly home: Tag | null;
  readonly mfa: boolean;
  readonly kind: 'key' | 'oidc' | 'operator';
  credential: string;
  /** API key id: the access log's principal and the who-can row `key:<id>`. */
  keyId: string | null;
}
const keyWho = (role: Role, home: Tag = 'A'): Who => ({ label: `${role} key${home === 'A' ? '' : ` (tenant ${home})`}`, role, home, mfa: false, kind: 'key', credential: '', keyId: null });
const WHO: readonly Who[] = [
  keyWho('administrator'),
  keyWho('clerk'),
  keyWho('dv-officer'),
  keyWho('tax-officer'),
  keyWho('nhi-officer'),
  keyWho('auditor'),
  keyWho('contractor'),
  { label: 'operator', role: 'operator', home: null, mfa: false, kind: 'operator', credential: '', keyId: null },
  { label: 'OIDC clerk with MFA', role: 'clerk', home: 'A', mfa: true, kind: 'oidc', credential: '', keyId: null },
  { label: 'OIDC clerk without MFA', role: 'clerk', home: 'A', mfa: false, kind: 'oidc', credential: '', keyId: null },
  keyWho('clerk', 'B'),
];
const whoByLabel = (label: string): Who => WHO.find((w) => w.label === label) as Who;

// ---------------------------------------------------------------------------------------------
// Expectations derived from the tables

function applies(role: Role, purpose: string | null): boolean {
  const p = ROLES[role].purposes;
  return p === 'any' || (purpose !== null && (p as readonly string[]).includes(purpose));
}
function groupOf(c: Coll, field: string): string {
  for (const [g, fields] of Object.entries(GROUPS[c])) if (fields.includes(field)) return g;
  throw new Error(`${c}.${field} is in no group`);
}
const isPublic = (c: Coll, field: string): boolean => (GROUPS[c]['public'] ?? []).includes(field);
const pick = (cell: Cell, mfa: boolean): Access => (typeof cell === 'string' ? cell : cell[mfa ? 1 : 0]);

function expectedRead(role: Role, mfa: boolean, c: Coll, field: string, purpose: string | null): Access {
  if (purpose === null && !isPublic(c, field)) return W; // no purpose: nothing but public fields, whatever the policy says
  if (!applies(role, purpose)) return W;
  const row = READ[c][role];
  return row === undefined ? W : pick(row[groupOf(c, field)] ?? W, mfa);
}
function expectedSearch(role: Role, mfa: boolean, c: Coll, field: string, purpose: string | null): Access {
  if (purpose === null && !isPublic(c, field)) return W;
  if (!applies(role, purpose)) return W;
  const rule = SEARCH[c][role];
  if (rule === undefined || (rule.fields !== 'all' && !rule.fields.includes(field))) return W;
  return rule.mfaOnly.includes(field) && !mfa ? W : C;
}
function expectedRow(role: Role, c: Coll, dv: boolean, purpose: string | null): boolean {
  return applies(role, purpose) && ROLES[role].rows.includes(c) && (!dv || ROLES[role].dvRows);
}
function expectedAction(role: Role, action: 'create' | 'update' | 'delete', c: Coll, purpose: string | null): boolean {
  return applies(role, purpose) && ROLES[role][action].includes(c);
}
function expectedTenantAction(role: Role, action: 'manageSchema' | 'managePolicy' | 'readLog', purpose: string | null): boolean {
  return applies(role, purpose) && ROLES[role][action];
}
function expectedFieldMap(who: Who, c: Coll, fields: readonly string[], purpose: string | null): Record<string, Access> {
  return Object.fromEntries(fields.map((f) => [f, expectedRead(who.role, who.mfa, c, f, purpose)]));
}

// ---------------------------------------------------------------------------------------------
// Records: what is planted, and values made for writes

const jcode = (body10: string): string => `${body10}${juminhyoCodeCheckDigit(body10)}`;
const lgc = (body5: string): string => `${body5}${localGovCodeCheckDigit(body5)}`;
const insurer = (body5: string): string => `${body5}${insurerNumberCheckDigit(body5)}`;
const corporate = (body12: string): string => `${corporateNumberCheckDigit(body12)}${body12}`;
const LGC: Readonly<Record<Tag, string>> = { A: lgc('99990'), B: lgc('99980') };
const INSURER: Readonly<Record<Tag, string>> = { A: insurer('13800'), B: insurer('13900') };

type Fields = Record<string, unknown>;
const RESIDENTS: Readonly<Record<Tag, { normal: Fields; dv: Fields }>> = {
  A: {
    normal: {
      atena_number: atena(110001), household_number: atena(110501), resident_type: '日本人', status: '住民',
      name: '架空　太郎', name_kana: 'カクウ　タロウ', name_kana_confirmed: true, former_surname: '旧姓甲山', former_surname_kana: 'キュウセイコウヤマ',
      alias: '通称甲太郎', alias_kana: 'ツウショウコウタロウ', latin_name: 'KAKUU TARO', birth_date: '昭和60年4月1日', sex: '男',
      householder_name: '架空　太郎', relationship: '世帯主', member_order: 1, honseki: '架空県架空市本町一丁目二番地', hittosha: '架空　一郎',
      local_gov_code: LGC.A, postal_code: '100-0001', address: '架空市本町1丁目2番3号', katagaki: '架空ハイツ101',
      address_since: '平成20年4月1日', resident_since: '平成20年4月1日', notified_on: '平成20年4月10日', previous_address: '架空県旧町7番8号',
      my_number: syntheticMyNumber(1101), juminhyo_code: jcode('1100000001'), nationality: '架空国', residence_status: '永住者',
      residence_card_number: 'AB12345678CD', residence_expiry: '令和10年3月31日', electoral_roll: true, nhi_insured: true,
      elderly_medical_insured: false, ltc_insured: false, pension_category: '第1号', basic_pension_number: '1234-567890',
      dv_support: false, dv_support_until: '平成30年3月31日', remarks: '備考：甲の記録メモ',
    },
    dv: {
      atena_number: atena(110002), household_number: atena(110502), resident_type: '日本人', status: '住民',
      name: '支援　花子', name_kana: 'シエン　ハナコ', name_kana_confirmed: false, former_surname: '旧姓甲川', former_surname_kana: 'キュウセイコウカワ',
      alias: '通称甲花子', alias_kana: 'ツウショウコウハナコ', latin_name: 'SHIEN HANAKO', birth_date: '平成2年6月3日', sex: '女',
      householder_name: '支援　花子', relationship: '世帯主', member_order: 1, honseki: '架空県架空市西町三丁目四番地', hittosha: '支援　二郎',
      local_gov_code: LGC.A, postal_code: '100-0001', address: '架空市本町1丁目2番3号', katagaki: '架空ハイツ202',
      address_since: '令和5年1月5日', resident_since: '令和5年1月5日', notified_on: '令和5年1月10日', previous_address: '架空県遠町5番6号',
      my_number: syntheticMyNumber(1102), juminhyo_code: jcode('1100000002'), nationality: '架空国', residence_status: '永住者',
      residence_card_number: 'AB22345678CD', residence_expiry: '令和11年3月31日', electoral_roll: false, nhi_insured: false,
      elderly_medical_insured: false, ltc_insured: false, pension_category: '第3号', basic_pension_number: '2234-567890',
      dv_support: true, dv_support_until: '令和9年3月31日', remarks: '支援措置：甲の申出',
    },
  },
  B: {
    normal: {
      atena_number: atena(220001), household_number: atena(220501), resident_type: '日本人', status: '住民',
      name: '仮名　一郎', name_kana: 'カメイ　イチロウ', name_kana_confirmed: true, former_surname: '旧姓乙山', former_surname_kana: 'キュウセイオツヤマ',
      alias: '通称乙一郎', alias_kana: 'ツウショウオツイチロウ', latin_name: 'KAMEI ICHIRO', birth_date: '昭和61年5月2日', sex: '男',
      householder_name: '仮名　一郎', relationship: '世帯主', member_order: 1, honseki: '仮名県仮名市中町五丁目六番地', hittosha: '仮名　三郎',
      local_gov_code: LGC.B, postal_code: '200-0002', address: '仮名市中町4丁目5番6号', katagaki: '仮名コーポ303',
      address_since: '平成21年5月1日', resident_since: '平成21年5月1日', notified_on: '平成21年5月11日', previous_address: '仮名県旧村9番10号',
      my_number: syntheticMyNumber(2201), juminhyo_code: jcode('2200000001'), nationality: '仮名国', residence_status: '定住者',
      residence_card_number: 'EF87654321GH', residence_expiry: '令和12年3月31日', electoral_roll: true, nhi_insured: true,
      elderly_medical_insured: false, ltc_insured: false, pension_category: '第2号', basic_pension_number: '9876-543210',
      dv_support: false, dv_support_until: '平成31年3月31日', remarks: '備考：乙の記録メモ',
    },
    dv: {
      atena_number: atena(220002), household_number: atena(220502), resident_type: '日本人', status: '住民',
      name: '保護　桃子', name_kana: 'ホゴ　モモコ', name_kana_confirmed: false, former_surname: '旧姓乙川', former_surname_kana: 'キュウセイオツカワ',
      alias: '通称乙桃子', alias_kana: 'ツウショウオツモモコ', latin_name: 'HOGO MOMOKO', birth_date: '平成3年7月4日', sex: '女',
      householder_name: '保護　桃子', relationship: '世帯主', member_order: 1, honseki: '仮名県仮名市東町七丁目八番地', hittosha: '保護　四郎',
      local_gov_code: LGC.B, postal_code: '200-0002', address: '仮名市中町4丁目5番6号', katagaki: '仮名コーポ404',
      address_since: '令和5年2月6日', resident_since: '令和5年2月6日', notified_on: '令和5年2月16日', previous_address: '仮名県遠村11番12号',
      my_number: syntheticMyNumber(2202), juminhyo_code: jcode('2200000002'), nationality: '仮名国', residence_status: '定住者',
      residence_card_number: 'EF97654321GH', residence_expiry: '令和13年3月31日', electoral_roll: false, nhi_insured: false,
      elderly_medical_insured: false, ltc_insured: false, pension_category: '第3号', basic_pension_number: '8876-543210',
      dv_support: true, dv_support_until: '令和9年6月30日', remarks: '支援措置：乙の申出',
    },
  },
};
const TAX: Readonly<Record<Tag, Fields>> = {
  A: {
    atena_number: RESIDENTS.A.normal['atena_number'], tax_year: 2025, name: '架空　太郎', name_kana: 'カクウ　タロウ', my_number: RESIDENTS.A.normal['my_number'],
    total_income: '48123457', taxable_income: '39123457', income_levy: '3912346', per_capita_levy: '5000', collection_method: '特別徴収',
    employer_corporate_number: corporate('700000000001'), dependents: 1, disability_deduction: true, status: '課税',
  },
  B: {
    atena_number: RESIDENTS.B.normal['atena_number'], tax_year: 2025, name: '仮名　一郎', name_kana: 'カメイ　イチロウ', my_number: RESIDENTS.B.normal['my_number'],
    total_income: '52987654', taxable_income: '43987654', income_levy: '4398765', per_capita_levy: '5000', collection_method: '普通徴収',
    employer_corporate_number: corporate('800000000002'), dependents: 2, disability_deduction: true, status: '課税',
  },
};
const NHI: Readonly<Record<Tag, Fields>> = {
  A: {
    atena_number: RESIDENTS.A.normal['atena_number'], household_number: RESIDENTS.A.normal['household_number'], insurer_number: INSURER.A,
    insured_symbol: '架空甲12', insured_number: '41120001', branch_number: '01', name: '架空　太郎', name_kana: 'カクウ　タロウ',
    birth_date: '昭和60年4月1日', my_number: RESIDENTS.A.normal['my_number'], householder: true, acquired_on: '令和2年4月1日',
    acquisition_reason: '転入', lost_on: '令和7年3月31日', loss_reason: '社保加入', copayment: '3割', retired_special: false,
  },
  B: {
    atena_number: RESIDENTS.B.normal['atena_number'], household_number: RESIDENTS.B.normal['household_number'], insurer_number: INSURER.B,
    insured_symbol: '仮名乙34', insured_number: '42120002', branch_number: '02', name: '仮名　一郎', name_kana: 'カメイ　イチロウ',
    birth_date: '昭和61年5月2日', my_number: RESIDENTS.B.normal['my_number'], householder: true, acquired_on: '令和3年5月1日',
    acquisition_reason: '社保離脱', lost_on: '令和7年6月30日', loss_reason: '転出', copayment: '2割', retired_special: false,
  },
};

interface Planted {
  readonly id: string;
  readonly subjectId: string | null;
  /** The values as the vault stores them (canonical forms), read back at creation. */
  readonly fields: Readonly<Record<string, unknown>>;
  version: number;
}
type RecordKey = 'normal' | 'dv';

/** Field values that identify someone: the strings looked for in other tenants' answers and in the log. */
const VALUES: Record<Tag, Set<string>> = { A: new Set(), B: new Set() };
const ENUM_TYPES = new Set(['enum', 'boolean', 'integer']);
const distinctive = (s: string): boolean => s.length >= 8 || /[^\x00-\x7f]/.test(s);
function remember(tag: Tag, c: Coll, fields: Readonly<Record<string, unknown>>): void {
  const types = new Map<string, string>(SCHEMA_TEMPLATES[TEMPLATE[c]].schema.fields.map((f): [string, string] => [f.name, f.type]));
  for (const [k, v] of Object.entries(fields)) if (typeof v === 'string' && !ENUM_TYPES.has(types.get(k) ?? '') && distinctive(v)) VALUES[tag].add(v);
}

let serial = 0;
/** A new record's fields (unique identifiers; never matching the searches below). */
function newFields(c: Coll, tag: Tag): Fields {
  const n = ++serial;
  const mark = tag === 'A' ? '甲' : '乙';
  const base = tag === 'A' ? 500_000 : 600_000;
  const name = `新規登録${mark}${String(n).padStart(4, '0')}`;
  const birth = tag === 'A' ? '平成12年1月1日' : '平成13年2月2日';
  let fields: Fields;
  if (c === 'juminhyo') {
    fields = {
      atena_number: atena(base + n), household_number: atena(base + 90_000 + n), resident_type: '日本人', status: '住民', name, birth_date: birth,
      sex: '女', relationship: '世帯主', local_gov_code: LGC[tag], address: `${mark}市新町${String(n).padStart(4, '0')}番地`,
    };
  } else if (c === 'kojin_juminzei') {
    fields = { atena_number: atena(base + n), tax_year: 2025, name, status: '未申告' };
  } else {
    fields = {
      atena_number: atena(base + n), household_number: atena(base + 90_000 + n), insurer_number: INSURER[tag],
      insured_number: `${tag === 'A' ? '71' : '81'}${String(n).padStart(6, '0')}`, name, birth_date: birth, acquired_on: tag === 'A' ? '令和6年4月1日' : '令和6年5月1日',
    };
  }
  remember(tag, c, fields);
  return fields;
}

// ---------------------------------------------------------------------------------------------
// Routes

type Family = 'records: create' | 'records: search' | 'records: read' | 'records: update' | 'records: delete' | 'collections' | 'policy, purposes, who-can' | 'access log' | 'tenants and API keys';
const FAMILIES: readonly Family[] = ['records: create', 'records: search', 'records: read', 'records: update', 'records: delete', 'collections', 'policy, purposes, who-can', 'access log', 'tenants and API keys'];

interface Ctx {
  readonly who: Who;
  readonly tag: Tag;
  readonly purpose: PurposeCase;
}
interface SearchResult {
  readonly records: readonly RecordKey[];
  readonly refused: number;
  readonly fields: Readonly<Record<string, Readonly<Record<string, Access>>>>;
}
interface Outcome {
  /** "200", "403 POLICY_DENIED/row", "400 PURPOSE_UNKNOWN", … */
  readonly outcome: string;
  /** Field results of the one record in the answer (read, create, update). */
  readonly fields?: Readonly<Record<string, Access>>;
  readonly search?: SearchResult;
  /** GET /v1/tenants: the tenant ids listed. */
  readonly tenants?: readonly string[];
}
interface Route {
  readonly family: Family;
  readonly name: string;
  /** The access-log action of the route (refusals are entries with the error code); null: no tenant, no entry (API keys, tenant list). */
  readonly log: LogAction | null;
  /** Successful requests write no entry (reading the access log itself). */
  readonly okUnlogged?: true;
  /** FORBIDDEN for a principal of another tenant, before anything else. */
  readonly isolation: boolean;
  /** Goes through authoriseTenant, so an unlisted purpose is PURPOSE_UNKNOWN. */
  readonly purposeChecked: boolean;
  /** The record a record route answers about (field values compared to it). */
  readonly record?: (tag: Tag) => Planted;
  request(x: Ctx): Call;
  /** The table's answer for this cell (after isolation and the purpose check), given the request sent. */
  expect(x: Ctx, call: Call): Outcome;
  /** Bookkeeping after the request (record versions, deleted records replaced). */
  settle?(res: LightMyRequestResponse, x: Ctx): Promise<void>;
}

interface Observation extends Outcome {
  readonly route: Route;
  readonly who: Who;
  readonly tag: Tag;
  readonly purpose: PurposeCase;
  readonly status: number;
  readonly code: string | null;
  readonly requestId: string;
}

let h: Harness;
let op: TestOidcProvider;
const planted: Record<Tag, { normal: Record<Coll, Planted>; dv: Planted; victim: Record<Coll, Planted> }> = {} as never;
const logTree: Record<Tag, { size: number; subject: string }> = {} as never;

const cellKey = (who: Who, route: Route, tag: Tag, purpose: PurposeCase): string => `${who.label} | ${route.name} | tenant ${tag} | purpose ${purpose ?? '(none)'}`;
const observations = new Map<string, Observation>();
const observed = (who: Who, routeName: string, tag: Tag, purpose: PurposeCase): Observation | undefined =>
  observations.get(cellKey(who, ROUTES.find((r) => r.name === routeName) as Route, tag, purpose));

const DENIED_ACTION = '403 POLICY_DENIED/action';
const DENIED_ROW = '403 POLICY_DENIED/row';

function recordRoutes(): Route[] {
  const routes: Route[] = [];
  const base = (t: Tag, c: Coll) => recordsUrl(TENANT[t], c);
  for (const c of COLLECTIONS) {
    routes.push({
      family: 'records: create', name: `create ${c}`, log: 'record.create', isolation: true, purposeChecked: true,
      request: (x) => ({ method: 'POST', url: base(x.tag, c), body: { subjectId: null, fields: newFields(c, x.tag) } }),
      // A new record's answer shows the fields sent, as the principal may read them.
      expect: (x, call) =>
        expectedAction(x.who.role, 'create', c, x.purpose)
          ? { outcome: '201', fields: expectedFieldMap(x.who, c, Object.keys((call.body as { fields: Fields }).fields), x.purpose) }
          : { outcome: DENIED_ACTION },
    });
    routes.push({
      family: 'records: create', name: `batch ${c}`, log: 'record.create', isolation: true, purposeChecked: true,
      request: (x) => ({ method: 'POST', url: `${base(x.tag, c)}/batch`, body: { records: [{ subjectId: null, fields: newFields(c, x.tag) }] } }),
      expect: (x) => ({ outcome: expectedAction(x.who.role, 'create', c, x.purpose) ? '201' : DENIED_ACTION }),
    });
  }
  // Searches: where-field → the planted records it matches. `address` matches the DV resident too.
  const searches: Array<[Coll, string, (t: Tag) => unknown, readonly RecordKey[]]> = [
    ['juminhyo', 'name', (t) => RESIDENTS[t].normal['name'], ['normal']],
    ['juminhyo', 'address', (t) => RESIDENTS[t].normal['address'], ['normal', 'dv']],
    ['juminhyo', 'household_number', (t) => RESIDENTS[t].normal['household_number'], ['normal']],
    ['juminhyo', 'my_number', (t) => RESIDENTS[t].normal['my_number'], ['normal']],
    ['kojin_juminzei', 'name', (t) => TAX[t]['name'], ['normal']],
    ['kojin_juminzei', 'atena_number', (t) => TAX[t]['atena_number'], ['normal']],
    ['kokuho', 'name', (t) => NHI[t]['name'], ['normal']],
    ['kokuho', 'insured_number', (t) => NHI[t]['insured_number'], ['normal']],
  ];
  for (const [c, field, value, matches] of searches) {
    routes.push({
      family: 'records: search', name: `search ${c} by ${field}`, log: 'record.search', isolation: true, purposeChecked: true,
      request: (x) => ({ method: 'POST', url: `${base(x.tag, c)}/search`, body: { where: { [field]: value(x.tag) } } }),
      expect: (x) => {
        if (expectedSearch(x.who.role, x.who.mfa, c, field, x.purpose) !== C) return { outcome: `403 POLICY_DENIED/${x.purpose === null ? 'purpose_required' : 'search_not_allowed'}` };
        const shown = matches.filter((k) => expectedRow(x.who.role, c, k === 'dv', x.purpose));
        const rec = (k: RecordKey) => (k === 'dv' ? planted[x.tag].dv : planted[x.tag].normal[c]);
        return {
          outcome: '200',
          search: { records: shown, refused: matches.length - shown.length, fields: Object.fromEntries(shown.map((k) => [k, expectedFieldMap(x.who, c, Object.keys(rec(k).fields), x.purpose)])) },
        };
      },
    });
  }
  const targets: Array<[Coll, RecordKey]> = [['juminhyo', 'normal'], ['juminhyo', 'dv'], ['kojin_juminzei', 'normal'], ['kokuho', 'normal']];
  for (const [c, k] of targets) {
    const dv = k === 'dv';
    const suffix = `${c}${dv ? ' (支援措置 record)' : ''}`;
    const rec = (t: Tag) => (dv ? planted[t].dv : planted[t].normal[c]);
    routes.push({
      family: 'records: read', name: `read ${suffix}`, log: 'record.read', isolation: true, purposeChecked: true, record: rec,
      request: (x) => ({ method: 'GET', url: `${base(x.tag, c)}/${rec(x.tag).id}` }),
      expect: (x) => expectedRow(x.who.role, c, dv, x.purpose) ? { outcome: '200', fields: expectedFieldMap(x.who, c, Object.keys(rec(x.tag).fields), x.purpose) } : { outcome: DENIED_ROW },
    });
    routes.push({
      family: 'records: update', name: `update ${suffix}`, log: 'record.update', isolation: true, purposeChecked: true, record: rec,
      request: (x) => {
        const r = rec(x.tag);
        // What a client sends back: the fields it reads in clear. Fields it cannot see keep their stored values.
        const access = expectedFieldMap(x.who, c, Object.keys(r.fields), x.purpose);
        const fields = Object.fromEntries(Object.entries(r.fields).filter(([f]) => access[f] === C));
        return { method: 'PUT', url: `${base(x.tag, c)}/${r.id}`, headers: { 'if-match': `"${r.version}"` }, body: { subjectId: r.subjectId, fields } };
      },
      expect: (x) => {
        if (!expectedAction(x.who.role, 'update', c, x.purpose)) return { outcome: DENIED_ACTION };
        if (!expectedRow(x.who.role, c, dv, x.purpose)) return { outcome: DENIED_ROW };
        return { outcome: '200', fields: expectedFieldMap(x.who, c, Object.keys(rec(x.tag).fields), x.purpose) };
      },
      settle: async (res, x) => {
        if (res.statusCode === 200) rec(x.tag).version = (res.json() as { version: number }).version;
      },
    });
    // Deleting the planted normal records would change every later cell: a stand-in of the same kind (no flags) is deleted instead.
    const target = (t: Tag) => (dv ? planted[t].dv : planted[t].victim[c]);
    routes.push({
      family: 'records: delete', name: `delete ${suffix}`, log: 'record.delete', isolation: true, purposeChecked: true,
      request: (x) => ({ method: 'DELETE', url: `${base(x.tag, c)}/${target(x.tag).id}` }),
      expect: (x) => {
        if (!expectedAction(x.who.role, 'delete', c, x.purpose)) return { outcome: DENIED_ACTION };
        if (!expectedRow(x.who.role, c, dv, x.purpose)) return { outcome: DENIED_ROW };
        return { outcome: '204' };
      },
      settle: async (res, x) => {
        if (res.statusCode === 204 && !dv) planted[x.tag].victim[c] = await plantDirect(x.tag, c);
      },
    });
  }
  return routes;
}

let extra = 0;
function otherRoutes(): Route[] {
  const t = (x: Ctx) => TENANT[x.tag];
  const policyReader = (x: Ctx) => expectedTenantAction(x.who.role, 'managePolicy', x.purpose) || expectedTenantAction(x.who.role, 'readLog', x.purpose);
  const ok = (allowed: boolean, status = '200'): Outcome => ({ outcome: allowed ? status : DENIED_ACTION });
  const logRoute = (name: string, url: (x: Ctx) => string): Route => ({
    family: 'access log', name, log: 'log.read', okUnlogged: true, isolation: true, purposeChecked: true,
    request: (x) => ({ method: 'GET', url: url(x) }),
    expect: (x) => ok(expectedTenantAction(x.who.role, 'readLog', x.purpose)),
  });
  return [
    {
      family: 'collections', name: 'create collection', log: 'collection.create', isolation: true, purposeChecked: true,
      request: (x) => ({ method: 'POST', url: `/v1/tenants/${t(x)}/collections`, body: { name: `extra_${++extra}`, fields: [{ name: 'note', type: 'string' }] } }),
      expect: (x) => ok(expectedTenantAction(x.who.role, 'manageSchema', x.purpose), '201'),
    },
    {
      family: 'collections', name: 'add a field', log: 'collection.update', isolation: true, purposeChecked: true,
      request: (x) => ({ method: 'PATCH', url: `/v1/tenants/${t(x)}/collections/scratch`, body: { addFields: [{ name: `f_${++extra}`, type: 'string' }] } }),
      expect: (x) => ok(expectedTenantAction(x.who.role, 'manageSchema', x.purpose)),
    },
    {
      family: 'policy, purposes, who-can', name: 'read policy', log: 'policy.read', isolation: true, purposeChecked: true,
      request: (x) => ({ method: 'GET', url: `/v1/tenants/${t(x)}/policy` }),
      expect: (x) => ok(policyReader(x)),
    },
    {
      // Purposes are not secret inside the tenant: isolation and the purpose check only.
      family: 'policy, purposes, who-can', name: 'read purposes', log: 'policy.read', isolation: true, purposeChecked: true,
      request: (x) => ({ method: 'GET', url: `/v1/tenants/${t(x)}/purposes` }),
      expect: () => ({ outcome: '200' }),
    },
    ...COLLECTIONS.map(
      (c): Route => ({
        family: 'policy, purposes, who-can', name: `who-can ${c}`, log: 'access.read', isolation: true, purposeChecked: true,
        request: (x) => ({ method: 'GET', url: `/v1/tenants/${t(x)}/collections/${c}/access` }),
        expect: (x) => ok(policyReader(x)),
      }),
    ),
    {
      // The same text and purposes: a new version that decides exactly as the last.
      family: 'policy, purposes, who-can', name: 'push policy', log: 'policy.update', isolation: true, purposeChecked: true,
      request: (x) => ({ method: 'PUT', url: `/v1/tenants/${t(x)}/policy`, body: { policies: MUNICIPAL, purposes: MUNICIPAL_PURPOSES } }),
      expect: (x) => ok(expectedTenantAction(x.who.role, 'managePolicy', x.purpose)),
    },
    logRoute('log checkpoint', (x) => `/log/${t(x)}/checkpoint`),
    logRoute('log tile', (x) => `/log/${t(x)}/tile/entries/000.p/${logTree[x.tag].size}`),
    logRoute('log head', (x) => `/v1/tenants/${t(x)}/log`),
    logRoute('log inclusion proof', (x) => `/v1/tenants/${t(x)}/log/proof/inclusion?index=0&size=${logTree[x.tag].size}`),
    logRoute('log consistency proof', (x) => `/v1/tenants/${t(x)}/log/proof/consistency?from=1&to=${logTree[x.tag].size}`),
    logRoute('log entries of a subject', (x) => `/v1/tenants/${t(x)}/log/subjects/${logTree[x.tag].subject}`),
    // Tenant metadata needs no policy decision: tenant isolation and the purpose check only (docs/policies.md; http/authorise.ts).
    {
      family: 'tenants and API keys', name: 'get tenant', log: 'tenant.read', isolation: true, purposeChecked: true,
      request: (x) => ({ method: 'GET', url: `/v1/tenants/${t(x)}` }),
      expect: () => ({ outcome: '200' }),
    },
    {
      family: 'tenants and API keys', name: 'list collections', log: 'collection.list', isolation: true, purposeChecked: true,
      request: (x) => ({ method: 'GET', url: `/v1/tenants/${t(x)}/collections` }),
      expect: () => ({ outcome: '200' }),
    },
    {
      family: 'tenants and API keys', name: 'get collection', log: 'collection.read', isolation: true, purposeChecked: true,
      request: (x) => ({ method: 'GET', url: `/v1/tenants/${t(x)}/collections/juminhyo` }),
      expect: () => ({ outcome: '200' }),
    },
    {
      family: 'tenants and API keys', name: 'list tenants', log: null, isolation: false, purposeChecked: false,
      request: () => ({ method: 'GET', url: '/v1/tenants' }),
      expect: (x) => ({ outcome: '200', tenants: x.who.home === null ? ['base-tenant', TENANT.A, TENANT.B] : [TENANT[x.who.home]] }),
    },
    {
      family: 'tenants and API keys', name: 'list API keys', log: null, isolation: false, purposeChecked: false,
      request: () => ({ method: 'GET', url: '/v1/api-keys' }),
      expect: (x) => ({ outcome: x.who.kind === 'operator' ? '200' : '403 FORBIDDEN' }),
    },
    {
      family: 'tenants and API keys', name: 'revoke an API key', log: null, isolation: false, purposeChecked: false,
      request: () => ({ method: 'DELETE', url: '/v1/api-keys/00000000000000ff' }),
      expect: (x) => ({ outcome: x.who.kind === 'operator' ? '404 API_KEY_NOT_FOUND' : '403 FORBIDDEN' }),
    },
  ];
}

const ROUTES: readonly Route[] = [...recordRoutes(), ...otherRoutes()];

function expectedOutcome(route: Route, x: Ctx, call: Call): Outcome {
  if (route.isolation && x.who.home !== null && x.who.home !== x.tag) return { outcome: '403 FORBIDDEN' };
  if (route.purposeChecked && x.purpose === UNLISTED) return { outcome: '400 PURPOSE_UNKNOWN' };
  return route.expect(x, call);
}

// ---------------------------------------------------------------------------------------------
// Observing

interface RecordBody {
  id: string;
  version: number;
  fields: Record<string, unknown>;
  masked?: string[];
  withheld?: string[];
}

function fieldResults(body: RecordBody): Record<string, Access> {
  const out: Record<string, Access> = {};
  for (const f of Object.keys(body.fields)) out[f] = body.masked?.includes(f) ? M : C;
  for (const f of body.withheld ?? []) out[f] = W;
  return out;
}

/** Clear values are the stored ones, masked ones are not; hidden values appear nowhere in the answer. */
function checkValues(body: RecordBody, stored: Readonly<Record<string, unknown>>, payload: string, problems: string[], where: string): void {
  const shown: string[] = [];
  const hidden: string[] = [];
  for (const [f, v] of Object.entries(stored)) {
    const result = body.withheld?.includes(f) ? W : body.masked?.includes(f) ? M : C;
    if (result === C) {
      if (JSON.stringify(body.fields[f]) !== JSON.stringify(v)) problems.push(`${where}: ${f} in clear is not the stored value`);
      if (typeof v === 'string') shown.push(v);
    } else {
      if (result === M && v !== null && JSON.stringify(body.fields[f]) === JSON.stringify(v)) problems.push(`${where}: ${f} is "masked" but shows the stored value`);
      if (result === W && f in body.fields) problems.push(`${where}: ${f} is withheld but present`);
      if (typeof v === 'string' && distinctive(v)) hidden.push(v);
    }
  }
  for (const v of hidden) if (!shown.some((s) => s.includes(v)) && payload.includes(v)) problems.push(`${where}: a masked or withheld value appears in the answer`);
}

async function run(x: Ctx, route: Route, problems: string[]): Promise<void> {
  const call = route.request(x);
  const res = await h.call({ ...call, key: x.who.credential, purpose: x.purpose });
  const name = cellKey(x.who, route, x.tag, x.purpose);
  let outcome = String(res.statusCode);
  let code: string | null = null;
  let extraOutcome: Omit<Outcome, 'outcome'> = {};
  if (res.statusCode >= 400) {
    if (!/^application\/problem\+json/.test(String(res.headers['content-type']))) problems.push(`${name}: a refusal that is not problem+json`);
    const p = res.json() as ProblemBody;
    code = p.code;
    outcome = `${res.statusCode} ${p.code}`;
    if (p.code === 'POLICY_DENIED') outcome += /row condition/.test(p.detail) ? '/row' : `/${p.errors?.[0]?.reason ?? 'action'}`;
  } else if (/^application\/json/.test(String(res.headers['content-type']))) {
    const body = res.json() as Record<string, unknown>;
    const stored = route.record?.(x.tag).fields;
    if (route.family === 'records: search') {
      const recs = body['records'] as RecordBody[];
      const keyOf = (id: string): RecordKey | undefined => (id === planted[x.tag].dv.id ? 'dv' : Object.values(planted[x.tag].normal).some((p) => p.id === id) ? 'normal' : undefined);
      const keys = recs.map((r) => keyOf(r.id) ?? (`unexpected record ${r.id}` as RecordKey));
      extraOutcome = { search: { records: keys, refused: (body['refused'] as number | undefined) ?? 0, fields: Object.fromEntries(recs.map((r, i) => [keys[i], fieldResults(r)])) } };
      const c = route.name.split(' ')[1] as Coll;
      for (const [i, r] of recs.entries()) {
        const p = keys[i] === 'dv' ? planted[x.tag].dv : planted[x.tag].normal[c];
        checkValues(r, p.fields, res.payload, problems, name);
      }
    } else if (route.family.startsWith('records: ') && 'fields' in body) {
      extraOutcome = { fields: fieldResults(body as unknown as RecordBody) };
      if (stored) checkValues(body as unknown as RecordBody, stored, res.payload, problems, name);
    } else if (route.name === 'list tenants') {
      extraOutcome = { tenants: (body['tenants'] as Array<{ id: string }>).map((t) => t.id).sort() };
    }
  }
  compare(name, expectedOutcome(route, x, call), { outcome, ...extraOutcome }, problems);
  const obs: Observation = { ...extraOutcome, outcome, route, who: x.who, tag: x.tag, purpose: x.purpose, status: res.statusCode, code, requestId: String(res.headers['kuraban-request-id']) };
  observations.set(name, obs);
  leaks(x, res.payload, problems, name);
  await route.settle?.(res, x);
}

/** Answers that held a value they must not (also reported by the cell's own test). */
const LEAKS: string[] = [];

/** Values of the other tenant never; for the operator and cross-tenant requests, no value at all. */
function leaks(x: Ctx, payload: string, problems: string[], name: string): void {
  const cross = x.who.home !== null && x.who.home !== x.tag;
  const forbidden = x.who.kind === 'operator' || cross ? [...VALUES.A, ...VALUES.B] : [...VALUES[OTHER[x.tag]]];
  if (!forbidden.some((v) => payload.includes(v))) return;
  const leak = `${name}: the answer holds a value it must not (${cross ? 'cross-tenant' : x.who.kind === 'operator' ? 'operator' : 'other tenant'})`;
  problems.push(leak);
  LEAKS.push(leak);
}

function compare(name: string, exp: Outcome, got: Outcome, problems: string[]): void {
  if (exp.outcome !== got.outcome) {
    problems.push(`${name}: expected ${exp.outcome}, got ${got.outcome}`);
    return;
  }
  if (exp.fields) diffFields(`${name}`, exp.fields, got.fields ?? {}, problems);
  if (exp.search) {
    const g = got.search;
    if (!g) return void problems.push(`${name}: no search result`);
    if (JSON.stringify([...g.records].sort()) !== JSON.stringify([...exp.search.records].sort())) problems.push(`${name}: records ${JSON.stringify(g.records)}, expected ${JSON.stringify(exp.search.records)}`);
    if (g.refused !== exp.search.refused) problems.push(`${name}: refused ${g.refused}, expected ${exp.search.refused}`);
    for (const [k, f] of Object.entries(exp.search.fields)) diffFields(`${name} [${k}]`, f, g.fields[k] ?? {}, problems);
  }
  if (exp.tenants && JSON.stringify(exp.tenants) !== JSON.stringify(got.tenants)) problems.push(`${name}: tenants ${JSON.stringify(got.tenants)}, expected ${JSON.stringify(exp.tenants)}`);
}

function diffFields(name: string, exp: Readonly<Record<string, Access>>, got: Readonly<Record<string, Access>>, problems: string[]): void {
  for (const f of new Set([...Object.keys(exp), ...Object.keys(got)])) {
    if (exp[f] !== got[f]) problems.push(`${name}: ${f} expected ${exp[f] ?? 'absent'}, got ${got[f] ?? 'absent'}`);
  }
}

function report(problems: string[]): void {
  if (problems.length > 0) assert.fail(`${problems.length} cell(s) disagree with the table:\n${problems.slice(0, 60).join('\n')}${problems.length > 60 ? '\n…' : ''}`);
}

// ---------------------------------------------------------------------------------------------
// Setup

function vault() {
  const s = h.state.current;
  assert.equal(s.sealed, false);
  return s.vault;
}

/** A stand-in record for deletes, written by the vault directly (no policy: setup, logged as local-operator). */
async function plantDirect(tag: Tag, c: Coll): Promise<Planted> {
  const r = await vault().records.create(TENANT[tag], c, { subjectId: null, fields: newFields(c, tag) }, localAudit());
  return { id: r.id, subjectId: r.subjectId, fields: r.fields, version: r.version };
}

async function ok(c: Call, status: number): Promise<LightMyRequestResponse> {
  const res = await h.call(c);
  assert.equal(res.statusCode, status, `${c.method} ${c.url}: ${res.payload.slice(0, 400)}`);
  return res;
}

async function setup(): Promise<void> {
  op = await startOidcProvider({
    audiences: [AUDIENCE],
    personas: {
      'clerk-mfa': { tenant: TENANT.A, roles: ['clerk'], amr: ['pwd', 'otp'] },
      'clerk-pwd': { tenant: TENANT.A, roles: ['clerk'], amr: ['pwd'] },
    },
  });
  h = await openHarness({ config: { oidcIssuers: [{ issuer: op.issuer, audience: AUDIENCE }] } });
  for (const tag of TAGS) {
    const t = TENANT[tag];
    await ok({ method: 'POST', url: '/v1/tenants', body: { id: t, name: `Matrix ${tag}` } }, 201);
    for (const c of COLLECTIONS) await ok({ method: 'POST', url: `/v1/tenants/${t}/collections`, body: { name: c, template: TEMPLATE[c] } }, 201);
    await ok({ method: 'POST', url: `/v1/tenants/${t}/collections`, body: { name: 'scratch', fields: [{ name: 'note', type: 'string' }] } }, 201);
    // Records go in under the default policy (the operator may do everything there), then the template replaces it.
    const put = async (c: Coll, subjectId: string | null, fields: Fields): Promise<Planted> => {
      const res = await ok({ method: 'POST', url: recordsUrl(t, c), body: { subjectId, fields }, purpose: 'administration' }, 201);
      const body = res.json() as RecordBody & { subjectId: string | null };
      assert.deepEqual(Object.keys(body.fields).sort(), Object.keys(fields).sort(), 'the default policy shows the operator every field');
      assert.equal(body.masked, undefined);
      remember(tag, c, fields);
      remember(tag, c, body.fields);
      return { id: body.id, subjectId: body.subjectId, fields: body.fields, version: body.version };
    };
    const subject = `${t}-resident-1`;
    const normal: Record<Coll, Planted> = {
      juminhyo: await put('juminhyo', subject, RESIDENTS[tag].normal),
      kojin_juminzei: await put('kojin_juminzei', subject, TAX[tag]),
      kokuho: await put('kokuho', subject, NHI[tag]),
    };
    const dv = await put('juminhyo', `${t}-resident-2`, RESIDENTS[tag].dv);
    const victim = { juminhyo: await plantDirect(tag, 'juminhyo'), kojin_juminzei: await plantDirect(tag, 'kojin_juminzei'), kokuho: await plantDirect(tag, 'kokuho') };
    planted[tag] = { normal, dv, victim };
    const pushed = await ok({ method: 'PUT', url: `/v1/tenants/${t}/policy`, body: { policies: MUNICIPAL, purposes: MUNICIPAL_PURPOSES } }, 200);
    assert.deepEqual(pushed.json(), { version: 2, purposes: [...PURPOSES] });
  }
  for (const who of WHO) {
    if (who.kind === 'key') {
      const issued = await issueKey(h, { name: who.label, role: 'tenant', tenantId: TENANT[who.home as Tag], roles: [who.role] });
      who.credential = issued.key;
      who.keyId = issued.id;
    } else if (who.kind === 'operator') {
      who.credential = h.adminKey;
      who.keyId = (/^kbn_([0-9a-f]{16})_/.exec(h.adminKey) as RegExpExecArray)[1] as string;
    } else {
      who.credential = await op.token({ persona: who.mfa ? 'clerk-mfa' : 'clerk-pwd' });
    }
  }
  // A signed tree for the log routes to serve; everything after stays pending, where the checks below read it.
  for (const tag of TAGS) {
    const integrated = await vault().accessLog.integrate(TENANT[tag]);
    assert.ok(integrated.size > 1 && integrated.size < 256, 'one partial tile');
    logTree[tag] = { size: integrated.size, subject: `${TENANT[tag]}-resident-1` };
  }
  // The value sets are what "no value leaks" looks for: they must tell the tenants apart.
  for (const tag of TAGS) assert.ok(VALUES[tag].size > 50, `${VALUES[tag].size} values to look for`);
  for (const tag of TAGS) for (const v of VALUES[tag]) assert.ok(![...VALUES[OTHER[tag]]].some((o) => o.includes(v) || v.includes(o)), `${v} is in both tenants`);
}

// ---------------------------------------------------------------------------------------------
// The matrix

describe('access-control matrix over HTTP (municipal templates)', () => {
  before(setup);
  after(async () => {
    await h?.close();
    await op?.close();
  });

  test('the tables cover the templates: every field in one group; public group = public classification', async () => {
    for (const c of COLLECTIONS) {
      const res = await ok({ method: 'GET', url: `/v1/tenants/${TENANT.A}/collections/${c}`, key: h.adminKey, purpose: null }, 200);
      const fields = (res.json() as { fields: Array<{ name: string; classification: string }> }).fields;
      const grouped = Object.values(GROUPS[c]).flat();
      assert.deepEqual([...grouped].sort(), fields.map((f) => f.name).sort(), `${c}: groups = template fields`);
      assert.equal(new Set(grouped).size, grouped.length, `${c}: no field in two groups`);
      assert.deepEqual(fields.filter((f) => f.classification === 'public').map((f) => f.name).sort(), [...(GROUPS[c]['public'] ?? [])].sort(), `${c}: public fields`);
      // Every planted record fills every field, so a read observes each field's result.
      const normal = planted.A.normal[c];
      assert.deepEqual(Object.keys(normal.fields).sort(), fields.map((f) => f.name).sort(), `${c}: the planted record fills every field`);
    }
    assert.deepEqual(Object.keys(planted.A.dv.fields).sort(), Object.keys(planted.A.normal.juminhyo.fields).sort());
    assert.deepEqual(MUNICIPAL_PURPOSES, [...PURPOSES]);
  });

  for (const family of FAMILIES) {
    describe(family, () => {
      for (const who of WHO) {
        test(who.label, async () => {
          const problems: string[] = [];
          // Route by route, so that the pushes (each a new policy version, with a cold decision cache) come after the reads of the family.
          for (const route of ROUTES.filter((r) => r.family === family)) {
            for (const tag of TAGS) for (const purpose of PURPOSE_CASES) await run({ who, tag, purpose }, route, problems);
          }
          report(problems);
        });
      }
    });
  }

  describe('properties over the observed matrix', () => {
    test('every cell was observed', () => {
      assert.equal(observations.size, ROUTES.length * WHO.length * TAGS.length * PURPOSE_CASES.length);
    });

    test('zero cross-tenant reads; the operator never sees record data (municipal: no operator permit on data)', () => {
      const problems: string[] = [];
      for (const [name, o] of observations) {
        const cross = o.route.isolation && o.who.home !== null && o.who.home !== o.tag;
        if (cross && (o.status < 400 || o.code !== 'FORBIDDEN')) problems.push(`${name}: cross-tenant ${o.outcome}`);
        if (o.who.kind === 'operator' && o.route.family.startsWith('records: ') && o.status < 300) problems.push(`${name}: the operator got ${o.outcome}`);
      }
      report([...problems, ...LEAKS]);
    });

    test('支援措置: the DV record is POLICY_DENIED on read, update and delete and left out of searches, for everyone but the DV officer', () => {
      const problems: string[] = [];
      for (const [name, o] of observations) {
        if ((o.who.home !== null && o.who.home !== o.tag) || o.purpose === UNLISTED) continue;
        const dvOfficer = o.who.role === 'dv-officer' && o.purpose === 'counter';
        if (/^(read|update) juminhyo \(支援措置/.test(o.route.name)) {
          if (dvOfficer ? o.status !== 200 : o.code !== 'POLICY_DENIED') problems.push(`${name}: ${o.outcome}`);
        }
        if (/^delete juminhyo \(支援措置/.test(o.route.name) && o.code !== 'POLICY_DENIED') problems.push(`${name}: ${o.outcome} (no role deletes it: the DV officer has no delete)`);
        if (o.search && o.route.name === 'search juminhyo by address') {
          const hasDv = o.search.records.includes('dv');
          if (dvOfficer ? !hasDv || o.search.refused !== 0 : hasDv || o.search.refused < 1) problems.push(`${name}: records ${JSON.stringify(o.search.records)}, refused ${o.search.refused}`);
        }
      }
      report(problems);
      // And the searches that could see it did run: refused was counted somewhere.
      assert.ok([...observations.values()].some((o) => (o.search?.refused ?? 0) >= 1));
    });

    test('the who-can report agrees with what the matrix observed (API keys) and with the tables (roles)', async () => {
      const problems: string[] = [];
      let compared = 0;
      const admin = whoByLabel('administrator key');
      const auditor = whoByLabel('auditor key');
      for (const c of COLLECTIONS) {
        const read = async (who: Who, purpose: string) =>
          (await ok({ method: 'GET', url: `/v1/tenants/${TENANT.A}/collections/${c}/access`, key: who.credential, purpose }, 200)).json() as { policyVersion: number; rows: WhoCanRow[] };
        const byAdmin = await read(admin, 'administration');
        const byAuditor = await read(auditor, 'audit');
        assert.deepEqual(byAuditor, byAdmin, 'administrator and auditor read the same report');
        const keys = WHO.filter((w) => w.kind === 'key' && w.home === 'A');
        const labels = [...ROLE_NAMES.flatMap((r) => [`role:${r}`, `role:${r}+mfa`]), ...keys.map((w) => `key:${w.keyId}`)];
        assert.deepEqual([...new Set(byAdmin.rows.map((r) => r.label))].sort(), labels.sort(), `${c}: one row set per named role and live key`);
        for (const row of byAdmin.rows) {
          const purpose = row.purpose as Purpose | null;
          assert.ok(purpose === null || PURPOSES.includes(purpose), `${c}: purpose ${purpose}`);
          if (row.label.startsWith('role:')) {
            const mfa = row.label.endsWith('+mfa');
            const role = row.label.slice(5).replace(/\+mfa$/, '') as Role;
            compared += tableAgrees(row, role, mfa, c, purpose, problems);
            // Principals that hold just this role, with the same MFA state, observed in their own tenant (A).
            for (const w of WHO.filter((x) => x.role === role && x.mfa === mfa && x.home !== 'B')) compared += observedAgrees(row, w, c, purpose, problems);
          } else {
            const who = keys.find((w) => `key:${w.keyId}` === row.label) as Who;
            compared += observedAgrees(row, who, c, purpose, problems);
            const roleRow = byAdmin.rows.find((r) => r.label === `role:${who.role}` && r.purpose === row.purpose);
            if (JSON.stringify({ ...roleRow, label: '' }) !== JSON.stringify({ ...row, label: '' })) problems.push(`${row.label} (${who.label}) differs from role:${who.role} for purpose ${purpose}`);
          }
        }
      }
      report(problems);
      assert.ok(compared > 1000, `compared ${compared}`);
    });

    test('refusals are in the tenant access log with the route action and the error code; no entry holds a value', async () => {
      const problems: string[] = [];
      const entries: Record<Tag, Map<string, LogEntry[]>> = { A: new Map(), B: new Map() };
      const all: LogEntry[] = [];
      for (const tag of TAGS) {
        for (const row of await h.tv.store.listLogPending(TENANT[tag], 1_000_000)) {
          const e = decodeLogEntry(row.entry);
          all.push(e);
          entries[tag].set(e.requestId, [...(entries[tag].get(e.requestId) ?? []), e]);
        }
        for (const bytes of await h.tv.store.getLogEntries(TENANT[tag], 0, logTree[tag].size)) all.push(decodeLogEntry(bytes));
      }
      let refusals = 0;
      for (const [name, o] of observations) {
        if (o.route.log === null) continue;
        const found = entries[o.tag].get(o.requestId) ?? [];
        if (o.status < 400 && o.route.okUnlogged) {
          if (found.length > 0) problems.push(`${name}: a read of the log wrote an entry`);
          continue;
        }
        const want = o.status >= 400 ? o.code : 'ok';
        if (o.status >= 400) refusals++;
        const hit = found.find((e) => e.action === o.route.log && e.outcome === want);
        if (!hit) {
          problems.push(`${name}: no ${o.route.log} entry with outcome ${want} in tenant ${o.tag}'s log (found ${JSON.stringify(found.map((e) => [e.action, e.outcome]))})`);
          continue;
        }
        if (o.who.keyId !== null && hit.principal.id !== o.who.keyId) problems.push(`${name}: the entry names ${hit.principal.id}`);
        if (hit.principal.auth !== (o.who.kind === 'oidc' ? 'oidc' : 'api-key')) problems.push(`${name}: auth ${hit.principal.auth}`);
        if ((hit.purpose ?? null) !== o.purpose) problems.push(`${name}: the entry's purpose is ${hit.purpose}`);
        if (o.route.family.startsWith('records: ')) {
          const c = o.route.name.split(' ')[1];
          if (hit.collection !== c) problems.push(`${name}: the entry's collection is ${hit.collection}`);
        }
      }
      // A refused request of tenant A's principals against tenant B is in B's log, not A's.
      const crossInB = [...observations.values()].filter((o) => o.route.log !== null && o.who.home === 'A' && o.tag === 'B');
      assert.ok(crossInB.length > 0 && crossInB.every((o) => !entries.A.has(o.requestId)));
      const values = [...VALUES.A, ...VALUES.B];
      for (const e of all) {
        const text = JSON.stringify(e);
        for (const v of values) if (text.includes(v)) problems.push(`log entry ${e.requestId} (${e.action}) holds a field value`);
      }
      report(problems);
      assert.ok(refusals > 1000, `${refusals} refusals checked`);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Who-can rows against the tables and the observations

interface WhoCanRow {
  label: string;
  purpose: string | null;
  fields: Record<string, Access>;
  search: Record<string, Access>;
  actions: Record<'create' | 'update' | 'delete' | 'export', boolean>;
  rowConditions: Record<string, boolean>;
}

/** A role's row against the tables (synthetic principal: no MFA). Returns the number of comparisons. */
function tableAgrees(row: WhoCanRow, role: Role, mfa: boolean, c: Coll, purpose: string | null, problems: string[]): number {
  let n = 0;
  const where = `who-can ${c} ${row.label} purpose ${purpose ?? '(none)'}`;
  for (const f of Object.values(GROUPS[c]).flat()) {
    const r = expectedRead(role, mfa, c, f, purpose);
    const s = expectedSearch(role, mfa, c, f, purpose);
    if (row.fields[f] !== r) problems.push(`${where}: read ${f} is ${row.fields[f]}, the table says ${r}`);
    if (row.search[f] !== s) problems.push(`${where}: search ${f} is ${row.search[f]}, the table says ${s}`);
    n += 2;
  }
  for (const a of ['create', 'update', 'delete'] as const) {
    if (row.actions[a] !== expectedAction(role, a, c, purpose)) problems.push(`${where}: ${a} is ${row.actions[a]}, the table says ${!row.actions[a]}`);
    n++;
  }
  // Exports need MFA (docs/policies.md); with MFA the table does not cover them.
  if (!mfa && row.actions.export !== false) problems.push(`${where}: export without MFA`);
  for (const [flag, allowed] of Object.entries(row.rowConditions)) {
    const exp = expectedRow(role, c, flag === 'dv_support', purpose);
    if (allowed !== exp) problems.push(`${where}: a record with ${flag} is ${allowed ? 'readable' : 'refused'}, the table says otherwise`);
    n++;
  }
  return n;
}

/** A row against what principal `who` was observed to get in tenant A. Returns the number of comparisons. */
function observedAgrees(row: WhoCanRow, who: Who, c: Coll, purpose: string | null, problems: string[]): number {
  let n = 0;
  const where = `who-can ${c} ${row.label} vs ${who.label}, purpose ${purpose ?? '(none)'}`;
  const get = (route: string) => observed(who, route, 'A', purpose as PurposeCase);
  // Field results: from a read of the full record, else from an update's answer (it presents every field too).
  const full = [get(`read ${c}`), get(`update ${c}`), ...(c === 'juminhyo' ? [get('read juminhyo (支援措置 record)')] : [])].filter((o) => o?.fields !== undefined);
  for (const o of full) {
    for (const [f, r] of Object.entries(o?.fields ?? {})) {
      if (row.fields[f] !== r) problems.push(`${where}: read ${f} is ${row.fields[f]}, observed ${r} (${o?.route.name})`);
      n++;
    }
  }
  for (const route of ROUTES.filter((r) => r.family === 'records: search' && r.name.startsWith(`search ${c} by `))) {
    const f = route.name.split(' by ')[1] as string;
    const o = get(route.name);
    if ((row.search[f] === C) !== (o?.status === 200)) problems.push(`${where}: search ${f} is ${row.search[f]}, observed ${o?.outcome}`);
    n++;
  }
  const passed = (o: Observation | undefined) => o !== undefined && o.outcome !== DENIED_ACTION;
  const checks: Array<[string, boolean, Observation | undefined]> = [
    ['create', row.actions.create, get(`create ${c}`)],
    ['create (batch)', row.actions.create, get(`batch ${c}`)],
    ['update', row.actions.update, get(`update ${c}`)],
    ['delete', row.actions.delete, get(`delete ${c}`)],
  ];
  for (const [a, allowed, o] of checks) {
    if (allowed !== passed(o)) problems.push(`${where}: ${a} is ${allowed}, observed ${o?.outcome}`);
    n++;
  }
  const readNormal = get(`read ${c}`);
  const normalFlags = Object.entries(planted.A.normal[c].fields).filter(([, v]) => v === true).map(([k]) => k);
  for (const flag of normalFlags) {
    if (row.rowConditions[flag] !== (readNormal?.status === 200)) problems.push(`${where}: rowConditions.${flag} ${row.rowConditions[flag]}, observed read ${readNormal?.outcome}`);
    n++;
  }
  if (c === 'juminhyo') {
    const readDv = get('read juminhyo (支援措置 record)');
    if (row.rowConditions['dv_support'] !== (readDv?.status === 200)) problems.push(`${where}: rowConditions.dv_support ${row.rowConditions['dv_support']}, observed ${readDv?.outcome}`);
    n++;
  }
  return n;
}
