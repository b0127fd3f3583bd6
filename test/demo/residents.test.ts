import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEMO_NHI_INSURER_NUMBER, DEMO_TENANT, generateResidents, type DemoOptions, type DemoPerson,
} from '../../src/demo/index.js';
import { TOWN_CITY_NAME, TOWN_PREF_NAME, TOWN_ROWS } from '../../src/demo/data/towns.js';
import { SCHEMA_TEMPLATES, gregorianYear, parseCollectionSchema, parseJpDate, validateRecord } from '../../src/schema/index.js';

const run = (o: DemoOptions): DemoPerson[] => [...generateResidents(o)];
const PEOPLE = run({ seed: 'test-seed', residents: 20_000 });
const str = (v: unknown): string => {
  assert.equal(typeof v, 'string');
  return v as string;
};

// ---------------------------------------------------------------------------------------------
// Check digits written again from the published rules, with explicit weight tables (left to right),
// independently of src/schema/japanese/check-digits.ts.

const digits = (s: string): number[] => [...s].map(Number);
const dot = (ds: readonly number[], ws: readonly number[]): number => ds.reduce((sum, d, i) => sum + d * (ws[i] ?? Number.NaN), 0);

/** 宛名番号/世帯番号, 9-digit body: weights 2,3,4,5,6,7,2,3,4 from the right. */
const ATENA_WEIGHTS = [4, 3, 2, 7, 6, 5, 4, 3, 2];
function atenaValid(n: string): boolean {
  const rem = dot(digits(n.slice(0, 9)), ATENA_WEIGHTS) % 11;
  return n.length === 10 && rem !== 1 && Number(n[9]) === (rem === 0 ? 0 : 11 - rem);
}
/** 個人番号: Qn = n+1 (n ≤ 6), n−5 (n ≥ 7), n from the right; written left to right for P11…P1. */
const MY_NUMBER_WEIGHTS = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
/** 住民票コード: the same rule over a 10-digit body (P10…P1). */
const JUMINHYO_WEIGHTS = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
function mod11Valid(n: string, weights: readonly number[]): boolean {
  const rem = dot(digits(n.slice(0, weights.length)), weights) % 11;
  return n.length === weights.length + 1 && /^\d+$/.test(n) && Number(n[weights.length]) === (rem <= 1 ? 0 : 11 - rem);
}
/** 全国地方公共団体コード: weights 6,5,4,3,2 from the left; last digit of 11 − (sum mod 11). */
const localGovValid = (c: string): boolean => Number(c[5]) === (11 - (dot(digits(c.slice(0, 5)), [6, 5, 4, 3, 2]) % 11)) % 10;
/** 法人番号: check digit first; 9 − (Σ mod 9), weights 1 (odd n) and 2 (even n) from the right. */
const corporateValid = (c: string): boolean =>
  c.length === 13 && Number(c[0]) === 9 - (dot(digits(c.slice(1)), [2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]) % 9);
/** 保険者番号: products with 2,1,2,… from the right, their digits summed; (10 − sum mod 10) mod 10. */
function insurerValid(c: string): boolean {
  const body = digits(c.slice(0, -1));
  const ws = body.map((_, i) => ((body.length - 1 - i) % 2 === 0 ? 2 : 1));
  const sum = body.reduce((s, d, i) => s + [...String(d * (ws[i] ?? 0))].reduce((a, x) => a + Number(x), 0), 0);
  return Number(c[c.length - 1]) === (10 - (sum % 10)) % 10;
}

describe('independent check-digit formulas (known answers)', () => {
  test('agree with published examples', () => {
    assert.ok(localGovValid('131016')); // 千代田区
    assert.ok(!localGovValid('131017'));
    assert.ok(mod11Valid('123456789018', MY_NUMBER_WEIGHTS)); // the example used across the My Number docs
    assert.ok(!mod11Valid('123456789017', MY_NUMBER_WEIGHTS));
    assert.ok(insurerValid('33120015')); // 厚生労働省's example: 3312001 → 5
    assert.ok(!insurerValid('33120016'));
    assert.ok(corporateValid('7000012050002')); // 国税庁 法人番号公表サイト's sample number
  });
});

// ---------------------------------------------------------------------------------------------

describe('generateResidents: determinism and counts', () => {
  test('the same seed gives the same persons, byte for byte; another seed gives others', () => {
    const a = JSON.stringify(run({ seed: 'alpha', residents: 3000 }));
    const b = JSON.stringify(run({ seed: 'alpha', residents: 3000 }));
    const c = run({ seed: 'beta', residents: 3000 });
    assert.equal(a, b);
    assert.notEqual(a, JSON.stringify(c));
    const ids = new Set(run({ seed: 'alpha', residents: 3000 }).map((p) => p.subjectId));
    assert.ok(c.every((p) => !ids.has(p.subjectId)));
    // A prefix of a longer run is the shorter run: nothing depends on N but the stop.
    assert.equal(JSON.stringify(run({ seed: 'alpha', residents: 1000 })), JSON.stringify(JSON.parse(a).slice(0, 1000)));
  });

  test('yields exactly N persons, stopping mid-household if need be', () => {
    for (const n of [1, 2, 7, 100, 1001]) assert.equal(run({ seed: 'count', residents: n }).length, n);
    const one = run({ seed: 'count', residents: 1 });
    assert.equal(one[0]?.juminhyo.relationship, '世帯主');
    assert.equal(PEOPLE.length, 20_000);
  });

  test('refuses a bad count or seed', () => {
    for (const residents of [0, -1, 1.5, 10_000_001, Number.NaN]) {
      assert.throws(() => run({ seed: 's', residents }), RangeError);
    }
    assert.throws(() => run({ seed: '', residents: 5 }), RangeError);
  });
});

describe('generateResidents: records', () => {
  const schemas = {
    juminhyo: parseCollectionSchema(SCHEMA_TEMPLATES.juminhyo.schema),
    tax: parseCollectionSchema(SCHEMA_TEMPLATES['kojin-juminzei'].schema),
    nhi: parseCollectionSchema(SCHEMA_TEMPLATES.kokuho.schema),
  };
  const kanaFields = new Set(['name_kana', 'former_surname_kana', 'alias_kana']);

  test('every record validates against its template, already in canonical form', () => {
    let tax = 0;
    let nhi = 0;
    for (const p of PEOPLE) {
      for (const [schema, rec] of [[schemas.juminhyo, p.juminhyo], [schemas.tax, p.tax], [schemas.nhi, p.nhi]] as const) {
        if (rec === undefined) continue;
        const { values, problems } = validateRecord(schema, rec);
        assert.deepEqual(problems, [], JSON.stringify(rec));
        assert.deepEqual(Object.keys(values).sort(), Object.keys(rec).sort());
        for (const [k, v] of Object.entries(rec)) {
          // kana is stored NFKC-normalised (the U+3000 between family and given name becomes a space).
          const expected = kanaFields.has(k) ? str(v).normalize('NFKC') : v;
          assert.equal(values[k], expected, `${k}: ${String(v)}`);
        }
      }
      if (p.tax) tax++;
      if (p.nhi) nhi++;
    }
    assert.ok(tax > 5000 && nhi > 2000, `tax ${tax}, nhi ${nhi}`);
  });

  test('check digits, recomputed independently, hold for every identifier', () => {
    assert.ok(localGovValid(DEMO_TENANT.id));
    assert.equal(DEMO_TENANT.id, '999997');
    assert.ok(insurerValid(DEMO_NHI_INSURER_NUMBER) && DEMO_NHI_INSURER_NUMBER.length === 6);
    let myNumbers = 0;
    for (const p of PEOPLE) {
      const j = p.juminhyo;
      assert.ok(atenaValid(str(j.atena_number)), String(j.atena_number));
      assert.ok(atenaValid(str(j.household_number)), String(j.household_number));
      assert.equal(j.local_gov_code, DEMO_TENANT.id);
      if (j.my_number !== undefined) {
        myNumbers++;
        assert.ok(mod11Valid(str(j.my_number), MY_NUMBER_WEIGHTS), String(j.my_number));
      }
      if (j.resident_type === '日本人') assert.ok(mod11Valid(str(j.juminhyo_code), JUMINHYO_WEIGHTS), String(j.juminhyo_code));
      else assert.equal(j.juminhyo_code, undefined);
      if (p.nhi) assert.equal(p.nhi.insurer_number, DEMO_NHI_INSURER_NUMBER);
      if (p.tax?.employer_corporate_number !== undefined) assert.ok(corporateValid(str(p.tax.employer_corporate_number)));
    }
    // about 97% have a 個人番号
    assert.ok(myNumbers > 0.95 * PEOPLE.length && myNumbers < 0.99 * PEOPLE.length, String(myNumbers));
  });

  test('宛名番号, 個人番号, 住民票コード and subject ids are unique', () => {
    for (const key of ['atena_number', 'my_number', 'juminhyo_code'] as const) {
      const values = PEOPLE.map((p) => p.juminhyo[key]).filter((v) => v !== undefined);
      assert.equal(new Set(values).size, values.length, key);
    }
    assert.equal(new Set(PEOPLE.map((p) => p.subjectId)).size, PEOPLE.length);
  });

  test('subject ids are pseudonymous: the right shape, never equal to a personal value', () => {
    for (const p of PEOPLE) {
      assert.match(p.subjectId, /^p[0-9a-f]{16}$/);
      assert.match(p.subjectId, /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/);
      for (const rec of [p.juminhyo, p.tax, p.nhi]) {
        for (const v of Object.values(rec ?? {})) {
          assert.notEqual(String(v), p.subjectId);
          assert.ok(!String(v).includes(p.subjectId.slice(1)));
        }
      }
    }
  });

  test('tax and NHI records belong to their resident', () => {
    for (const p of PEOPLE) {
      const j = p.juminhyo;
      for (const rec of [p.tax, p.nhi]) {
        if (rec === undefined) continue;
        assert.equal(rec.atena_number, j.atena_number);
        assert.equal(rec.name, j.name);
        assert.equal(rec.name_kana, j.name_kana);
        assert.equal(rec.my_number, j.my_number);
      }
      if (p.tax) {
        assert.equal(p.tax.tax_year, 2026);
        assert.ok(str(j.birth_date) !== '' && j.status !== '死亡');
      }
      if (p.nhi) {
        assert.equal(p.nhi.household_number, j.household_number);
        assert.equal(p.nhi.birth_date, j.birth_date);
        assert.equal(p.nhi.householder, j.relationship === '世帯主');
      }
      assert.equal(j.nhi_insured, p.nhi !== undefined && p.nhi.lost_on === undefined);
    }
  });
});

describe('generateResidents: households', () => {
  interface Group {
    readonly members: Record<string, unknown>[];
  }
  const households = new Map<string, Group>();
  const finished = new Set<string>();
  let current: string | undefined;
  for (const p of PEOPLE) {
    const hn = str(p.juminhyo.household_number);
    if (hn !== current) {
      assert.ok(!households.has(hn), `household ${hn} is not contiguous`);
      if (current !== undefined) finished.add(current);
      current = hn;
      households.set(hn, { members: [] });
    }
    households.get(hn)?.members.push(p.juminhyo);
  }

  test('one 世帯主, first, members numbered 1..n, sharing number, address and 世帯主氏名', () => {
    assert.ok(households.size > 5000);
    const sizes = new Map<number, number>();
    for (const [hn, { members }] of households) {
      const head = members[0];
      assert.ok(head !== undefined);
      assert.equal(head.relationship, '世帯主');
      assert.equal(members.filter((m) => m.relationship === '世帯主').length, 1, hn);
      assert.deepEqual(members.map((m) => m.member_order), members.map((_, i) => i + 1));
      for (const m of members) {
        assert.equal(m.household_number, hn);
        assert.equal(m.address, head.address);
        assert.equal(m.postal_code, head.postal_code);
        assert.equal(m.katagaki, head.katagaki);
        assert.equal(m.householder_name, head.name);
      }
      sizes.set(members.length, (sizes.get(members.length) ?? 0) + 1);
    }
    // many singles and couples, some large households
    assert.ok((sizes.get(1) ?? 0) > 0.3 * households.size);
    assert.ok((sizes.get(2) ?? 0) > 0.2 * households.size);
    assert.ok([...sizes.keys()].every((s) => s >= 1 && s <= 6) && (sizes.get(6) ?? 0) > 0);
  });

  test('Japanese family members share the 世帯主\'s surname; 同居人 and 未届 partners need not', () => {
    let others = 0;
    for (const { members } of households.values()) {
      const head = members[0];
      if (head?.resident_type !== '日本人') continue;
      const surname = str(head.name).split('\u3000')[0];
      for (const m of members) {
        const rel = str(m.relationship);
        if (rel === '同居人' || rel.endsWith('（未届）')) {
          others++;
          continue;
        }
        assert.equal(str(m.name).split('\u3000')[0], surname, `${rel} ${String(m.name)}`);
        assert.equal(str(m.name_kana).split('\u3000')[0], str(head.name_kana).split('\u3000')[0]);
      }
    }
    assert.ok(others > 0);
  });

  test('children are 17–46 calendar years younger than their parent the 世帯主 (18–45 in age)', () => {
    let checked = 0;
    for (const { members } of households.values()) {
      const head = members[0];
      const hd = head === undefined ? undefined : parseJpDate(str(head.birth_date));
      if (hd === undefined || 'problem' in hd || !hd.real) continue;
      for (const m of members) {
        if (m.relationship !== '子') continue;
        const cd = parseJpDate(str(m.birth_date));
        if ('problem' in cd || !cd.real) continue;
        const gap = (gregorianYear(cd) ?? 0) - (gregorianYear(hd) ?? 0);
        assert.ok(gap >= 17 && gap <= 46, `gap ${gap}`);
        checked++;
      }
    }
    assert.ok(checked > 1000);
  });
});

describe('generateResidents: the hard cases the demo must show', () => {
  test('at least one 支援措置 person in any run of 100, about 0.1% in general', () => {
    for (const seed of ['a', 'b', 'c', 'd', 'e']) {
      assert.ok(run({ seed, residents: 100 }).some((p) => p.juminhyo.dv_support === true), seed);
    }
    const dv = PEOPLE.filter((p) => p.juminhyo.dv_support === true);
    assert.ok(dv.length >= 5 && dv.length <= 60, String(dv.length));
    for (const p of dv) assert.match(str(p.juminhyo.dv_support_until), /^令和\d+年\d+月\d+日$/);
    assert.ok(PEOPLE.filter((p) => p.juminhyo.dv_support === false).length + dv.length === PEOPLE.length);
  });

  test('MJ+ and IVS name characters occur, as well-formed UTF-16 that round-trips', () => {
    const variant = /\u{20BB7}|髙|﨑|邊|邉|齋|葛\u{E0100}/u;
    const names = PEOPLE.map((p) => str(p.juminhyo.name)).filter((n) => variant.test(n));
    assert.ok(names.length > 0.01 * PEOPLE.length && names.length < 0.04 * PEOPLE.length, String(names.length));
    assert.ok(names.some((n) => n.includes('\u{20BB7}')), 'no 𠮷');
    for (const n of names) {
      for (let i = 0; i < n.length; i++) {
        const c = n.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff) {
          const low = n.charCodeAt(i + 1);
          assert.ok(low >= 0xdc00 && low <= 0xdfff, 'high surrogate without low');
          i++;
        } else {
          assert.ok(c < 0xdc00 || c > 0xdfff, 'lone low surrogate');
        }
      }
      assert.equal(Buffer.from(n, 'utf8').toString('utf8'), n);
    }
    const ts = names.find((n) => n.includes('\u{20BB7}')) ?? '';
    assert.equal([...ts].filter((c) => c === '\u{20BB7}').length, 1);
    assert.equal(ts.codePointAt(ts.indexOf('\uD842')), 0x20bb7);
  });

  test('birth dates: exact 和暦 mostly, some uncertain, foreign residents in 西暦', () => {
    let uncertain = 0;
    let exact = 0;
    for (const p of PEOPLE) {
      const b = str(p.juminhyo.birth_date);
      const d = parseJpDate(b);
      assert.ok(!('problem' in d), b);
      if (p.juminhyo.resident_type === '外国人') {
        assert.match(b, /^\d{4}-\d{2}-\d{2}$/);
        continue;
      }
      if (d.qualifier !== 'exact' || d.day === undefined) uncertain++;
      else exact++;
    }
    assert.ok(uncertain > 20 && uncertain < 300, String(uncertain));
    assert.ok(exact > 0.95 * PEOPLE.length);
  });

  test('foreign residents carry their items; Japanese residents theirs', () => {
    const foreign = PEOPLE.filter((p) => p.juminhyo.resident_type === '外国人');
    assert.ok(foreign.length > 0.01 * PEOPLE.length && foreign.length < 0.04 * PEOPLE.length, String(foreign.length));
    for (const { juminhyo: j } of foreign) {
      assert.ok(str(j.latin_name).length > 0 && str(j.nationality).length > 0 && str(j.residence_status).length > 0);
      assert.match(str(j.residence_card_number), /^[A-Z]{2}\d{8}[A-Z]{2}$/);
      assert.equal(j.honseki, undefined);
      assert.equal(j.electoral_roll, false);
    }
    for (const { juminhyo: j } of PEOPLE.filter((p) => p.juminhyo.resident_type === '日本人')) {
      assert.ok(str(j.honseki).length > 0 && str(j.hittosha).length > 0);
      assert.equal(j.nationality, undefined);
    }
  });

  test('addresses are in the one real city; some written with full-width digits or dashes', () => {
    const postal = new Set(TOWN_ROWS.map((r) => `${r[0].slice(0, 3)}-${r[0].slice(3)}`));
    let wide = 0;
    let dashed = 0;
    for (const { juminhyo: j } of PEOPLE) {
      assert.ok(str(j.address).startsWith(`${TOWN_PREF_NAME}${TOWN_CITY_NAME}`));
      assert.ok(postal.has(str(j.postal_code)));
      if (/[０-９]/.test(str(j.address))) wide++;
      if (/\d-\d|[０-９]－[０-９]/.test(str(j.address))) dashed++;
    }
    assert.ok(wide > 100 && dashed > 100, `${wide} ${dashed}`);
  });

  test('insurance and electoral flags follow age and nationality (exact birth dates)', () => {
    const age = (y: number, m: number, d: number): number => 2026 - y - (m > 4 || (m === 4 && d > 1) ? 1 : 0);
    let checked = 0;
    for (const { juminhyo: j } of PEOPLE) {
      const d = parseJpDate(str(j.birth_date));
      if ('problem' in d || !d.real || d.month === undefined || d.day === undefined) continue;
      const a = age(gregorianYear(d) ?? 0, d.month, d.day);
      assert.ok(a >= 0 && a <= 100, String(a));
      assert.equal(j.elderly_medical_insured, a >= 75);
      assert.equal(j.ltc_insured, a >= 40);
      assert.equal(j.electoral_roll, j.resident_type === '日本人' && a >= 18);
      assert.equal(j.pension_category !== undefined, a >= 20 && a <= 59);
      if (j.nhi_insured === true) assert.ok(a < 75);
      checked++;
    }
    assert.ok(checked > 0.95 * PEOPLE.length);
  });
});
