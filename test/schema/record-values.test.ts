import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalDecimal, isIsoDate, parseCollectionSchema, validateRecord } from '../../src/schema/index.js';
import { RESIDENT_SCHEMA } from '../helpers/temp-vault.js';

const resident = parseCollectionSchema(RESIDENT_SCHEMA);
const valid = { family_name: '山田', given_name: '太郎' };
/** The problems for one record, as "field:reason", sorted. */
const problemsOf = (schema: typeof resident, input: unknown) => validateRecord(schema, input).problems.map((p) => `${p.field ?? ''}:${p.reason}`).sort();
const only = (field: Record<string, unknown>) => parseCollectionSchema({ fields: [{ name: 'v', ...field }] });

describe('validateRecord', () => {
  test('returns canonical values: absent and null optionals omitted, decimals canonical, nested objects checked', () => {
    const { values, problems } = validateRecord(resident, {
      ...valid,
      kana: null,
      income: '0012.50',
      household_size: 3,
      status: 'active',
      verified: false,
      birth_date: '1990-04-01',
      address: { postal_code: '100-0001', line1: undefined },
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(values, { ...valid, income: '12.5', household_size: 3, status: 'active', verified: false, birth_date: '1990-04-01', address: { postal_code: '100-0001' } });
  });

  test('the record must be an object', () => {
    for (const input of [null, [], 'x', 3, undefined]) assert.deepEqual(problemsOf(resident, input), [':record_not_object']);
  });

  test('unknown fields; a key that is not a field name is not echoed', () => {
    assert.deepEqual(problemsOf(resident, { ...valid, nickname: 'x' }), ['nickname:unknown_field']);
    assert.deepEqual(problemsOf(resident, { ...valid, 'Taro Yamada 090-1234': 'x' }), [':unknown_field']);
    assert.deepEqual(problemsOf(resident, { ...valid, address: { zip: '1' } }), ['address.zip:unknown_field']);
  });

  test('required fields', () => {
    assert.deepEqual(problemsOf(resident, {}), ['family_name:required', 'given_name:required']);
    assert.deepEqual(problemsOf(resident, { family_name: null, given_name: '' }), ['family_name:required']);
  });

  test('integers: safe integers within the bounds', () => {
    for (const v of [1.5, '3', 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, true]) assert.deepEqual(problemsOf(resident, { ...valid, household_size: v }), ['household_size:expected_integer'], String(v));
    for (const v of [0, 51, -1]) assert.deepEqual(problemsOf(resident, { ...valid, household_size: v }), ['household_size:out_of_range']);
    for (const v of [1, 50]) assert.deepEqual(problemsOf(resident, { ...valid, household_size: v }), []);
  });

  test('strings: length in code points, well-formed Unicode, no NUL', () => {
    const s = only({ type: 'string', maxLength: 3 });
    assert.deepEqual(problemsOf(s, { v: '𠮷𠮷𠮷' }), [], 'three astral characters are three code points');
    assert.deepEqual(problemsOf(s, { v: '𠮷𠮷𠮷𠮷' }), ['v:too_long']);
    assert.deepEqual(problemsOf(s, { v: '葛󠄀葛' }), [], 'a variation selector is one more code point');
    assert.deepEqual(problemsOf(s, { v: '葛󠄀葛󠄀' }), ['v:too_long']);
    for (const v of ['\uD842', 'a\uDFB7b', '\uDFB7\uD842']) assert.deepEqual(problemsOf(s, { v }), ['v:not_well_formed_unicode'], JSON.stringify(v));
    assert.deepEqual(problemsOf(s, { v: 'a\u0000' }), ['v:contains_nul']);
    assert.deepEqual(problemsOf(s, { v: 3 }), ['v:expected_string']);
    assert.deepEqual(problemsOf(resident, { ...valid, given_name: 'x'.repeat(1001) }), ['given_name:too_long']);
  });

  test('dates: real ISO 8601 calendar dates only', () => {
    for (const v of ['2023-02-29', '1900-02-29', '2023-13-01', '2023-04-31', '2023-1-01', '0000-01-01', '2023-01-01T00:00:00Z', '20230101', 20230101]) {
      assert.deepEqual(problemsOf(resident, { ...valid, birth_date: v }), ['birth_date:expected_date'], String(v));
    }
    for (const v of ['2024-02-29', '2000-02-29', '0001-01-01', '9999-12-31']) assert.deepEqual(problemsOf(resident, { ...valid, birth_date: v }), [], v);
  });

  test('decimals: precision and scale, canonical text', () => {
    const d = only({ type: 'decimal', precision: 5, scale: 2 });
    const value = (v: unknown) => validateRecord(d, { v }).values.v;
    assert.equal(value('123.45'), '123.45');
    assert.equal(value('-0.00'), '0');
    assert.equal(value('+007.50'), '7.5');
    assert.equal(value(1.5), '1.5');
    assert.equal(value('999.990'), '999.99');
    for (const v of ['123.456', '1234.5', '100000', '0.001']) assert.deepEqual(problemsOf(d, { v }), ['v:out_of_range'], v);
    for (const v of ['1e5', '.5', '5.', '1,5', '', ' 1', '0x10', true, 1e21]) assert.deepEqual(problemsOf(d, { v }), ['v:expected_decimal'], String(v));
  });

  test('booleans, enums, objects', () => {
    assert.deepEqual(problemsOf(resident, { ...valid, verified: 'true' }), ['verified:expected_boolean']);
    assert.deepEqual(problemsOf(resident, { ...valid, status: 'Active' }), ['status:not_an_allowed_value']);
    assert.deepEqual(problemsOf(resident, { ...valid, address: ['x'] }), ['address:expected_object']);
    assert.deepEqual(problemsOf(resident, { ...valid, address: { postal_code: 7 } }), ['address.postal_code:expected_string']);
  });

  test('every problem is reported, none carries the value', () => {
    const r = validateRecord(resident, { family_name: 7, household_size: 99, birth_date: '2023-02-29', status: 'gone', extra: '山田花子' });
    assert.deepEqual(r.problems.map((p) => `${p.field}:${p.reason}`).sort(), [
      'birth_date:expected_date',
      'extra:unknown_field',
      'family_name:expected_string',
      'given_name:required',
      'household_size:out_of_range',
      'status:not_an_allowed_value',
    ]);
    assert.ok(!JSON.stringify(r.problems).includes('山田'));
  });
});

describe('canonicalDecimal', () => {
  test('is numerically exact and idempotent for any decimal within precision and scale', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }), fc.bigInt({ min: 0n, max: 10n ** 10n - 1n }), fc.nat(3), fc.nat(3), (neg, int, frac, lead, trail) => {
        const fracText = frac.toString().padStart(10, '0');
        const text = `${neg ? '-' : ''}${'0'.repeat(lead)}${int}.${fracText}${'0'.repeat(trail)}`;
        const c = canonicalDecimal(text, 28, 10);
        assert.ok(c !== 'syntax' && c !== 'range', text);
        const scaled = (s: string) => {
          const [i, f = ''] = s.replace('-', '').split('.');
          return (s.startsWith('-') ? -1n : 1n) * BigInt(`${i}${f.padEnd(10, '0')}`);
        };
        assert.equal(scaled(c), (neg ? -1n : 1n) * (int * 10n ** 10n + frac));
        assert.equal(canonicalDecimal(c, 28, 10), c);
        assert.doesNotMatch(c, /^-?0\d|\.\d*0$|^-0$|\.$/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('isIsoDate', () => {
  test('agrees with the proleptic Gregorian calendar for every year, month and day number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (y, m, d) => {
        const date = new Date(0);
        date.setUTCFullYear(y, m - 1, d);
        const real = date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
        const text = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
        assert.equal(isIsoDate(text), real, text);
      }),
      { numRuns: 500 },
    );
  });
});
