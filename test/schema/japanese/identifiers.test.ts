import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  JP_IDENTIFIER_TYPES, checkIdentifier, identifierIndexText, type IdentifierProblem, type JpIdentifierType,
} from '../../../src/schema/japanese/identifiers.js';

/** 個人番号 check digit, written out here (weights 6,5,4,3,2,7,6,5,4,3,2 left to right; r ≤ 1 → 0). */
function myNumberCheck(body11: string): number {
  const w = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
  const r = Array.from(body11).reduce((s, c, i) => s + Number(c) * (w[i] as number), 0) % 11;
  return r <= 1 ? 0 : 11 - r;
}
/** A synthetic My Number: a made-up 11-digit body and its check digit. Never a real person's number. */
const synth = (body11: string): string => `${body11}${myNumberCheck(body11)}`;
// Sequential body: 1·6 + 2·5 + 3·4 + 4·3 + 5·2 + 6·7 + 7·6 + 8·5 + 9·4 + 0·3 + 1·2 = 212, 212 mod 11 = 3 → 8.
const MY = synth('12345678901');
const OTHER = synth('98765432109');
const PROBLEMS: readonly IdentifierProblem[] = ['expected_digits', 'wrong_length', 'check_digit_mismatch', 'invalid_phone'];

const value = (type: JpIdentifierType, input: string): string => {
  const r = checkIdentifier(type, input);
  assert.ok('value' in r, `${type}: ${JSON.stringify(input)} → ${JSON.stringify(r)}`);
  return r.value;
};
const problem = (type: JpIdentifierType, input: string): IdentifierProblem | undefined => {
  const r = checkIdentifier(type, input);
  return 'problem' in r ? r.problem : undefined;
};

describe('checkIdentifier: canonical forms', () => {
  test('the synthetic example is what the comment says', () => {
    assert.equal(MY, '123456789018');
  });

  test('numbers: full-width digits, hyphens of every kind, spaces and ー between digits all give the ASCII digits', () => {
    const forms = [
      '123456789018',
      '1234 5678 9018',
      '1234-5678-9018',
      '１２３４５６７８９０１８',
      '１２３４－５６７８－９０１８', // U+FF0D
      '1234\u22125678\u22129018', // U+2212 minus sign
      '1234\u20105678\u20139018', // hyphen, en dash
      '1234ー5678ー9018', // U+30FC long-vowel mark typed for a hyphen
      '1234ｰ5678ｰ9018', // U+FF70 half-width
      '1234\u30005678\u30009018', // ideographic space
      '  123456789018\t',
    ];
    for (const f of forms) assert.equal(value('my-number', f), MY, JSON.stringify(f));
  });

  test('each identifier type canonicalises to its digits', () => {
    assert.equal(value('local-gov-code', '13101-6'), '131016');
    assert.equal(value('local-gov-code', '１３１０１６'), '131016');
    assert.equal(value('corporate-number', '7-0000-1205-0002'), '7000012050002');
    assert.equal(value('insurer-number', '３３１２００１５'), '33120015');
    assert.equal(value('insurer-number', '138016'), '138016');
    assert.equal(value('atena-number', '1234567-4'), '12345674');
    assert.equal(value('household-number', '１２３４５６７４'), '12345674');
  });

  test('postal codes become NNN-NNNN', () => {
    for (const f of ['100-0001', '1000001', '１００－０００１', '100 0001', '100ー0001', '１００\u2212０００１']) {
      assert.equal(value('postal-code', f), '100-0001', f);
    }
    assert.equal(problem('postal-code', '100-001'), 'wrong_length');
    assert.equal(problem('postal-code', '100-00011'), 'wrong_length');
    assert.equal(value('postal-code', '〒100-0001'), '100-0001', 'the postal mark may lead');
    assert.equal(problem('postal-code', '100〒0001'), 'expected_digits');
    assert.equal(problem('postal-code', 'ABC-DEFG'), 'expected_digits');
  });

  test('phone numbers keep their grouping, width and dashes folded', () => {
    const cases: readonly (readonly [string, string])[] = [
      ['03-1234-5678', '03-1234-5678'],
      ['０３－１２３４－５６７８', '03-1234-5678'],
      ['03\u22121234\u22125678', '03-1234-5678'],
      ['03ー1234ー5678', '03-1234-5678'],
      ['0312345678', '0312345678'],
      ['(03) 1234-5678', '(03) 1234-5678'],
      ['03  1234\u30005678', '03 1234 5678'],
      ['+81 3-1234-5678', '+81 3-1234-5678'],
      ['+81-90-1234-5678', '+81-90-1234-5678'],
      ['0120-123-456', '0120-123-456'],
      ['090-1234-5678', '090-1234-5678'],
      ['050-1234-5678', '050-1234-5678'],
      [' 03-1234-5678 ', '03-1234-5678'],
    ];
    for (const [input, out] of cases) assert.equal(value('phone', input), out, input);
  });

  test('phone numbers that are not Japanese numbers are invalid_phone', () => {
    for (const bad of [
      '12345', '', 'abc', '03-1234-567', '090-1234-56789', '3-1234-5678', '+1 212 555 1234', '03-1234-5678 ext 1',
      '03-1234-5678#', '+81', '++81 3 1234 5678', '03+1234+5678', '00-1234-5678',
    ]) {
      assert.equal(problem('phone', bad), 'invalid_phone', JSON.stringify(bad));
    }
  });
});

describe('checkIdentifier: problems', () => {
  test('expected_digits, wrong_length, check_digit_mismatch', () => {
    assert.equal(problem('my-number', ''), 'expected_digits');
    assert.equal(problem('my-number', '1234-5678-901X'), 'expected_digits');
    assert.equal(problem('my-number', '1234.5678.9018'), 'expected_digits');
    assert.equal(problem('my-number', '12345678901'), 'wrong_length');
    assert.equal(problem('my-number', `${MY}0`), 'wrong_length', 'a 13-digit My Number');
    assert.equal(problem('my-number', `1${MY}`), 'wrong_length');
    assert.equal(problem('my-number', '123456789017'), 'check_digit_mismatch');
    assert.equal(problem('juminhyo-code', '1234567890'), 'wrong_length');
    assert.equal(problem('local-gov-code', '13101'), 'wrong_length');
    assert.equal(problem('local-gov-code', '131017'), 'check_digit_mismatch');
    assert.equal(problem('corporate-number', '000012050002'), 'wrong_length');
    assert.equal(problem('insurer-number', '3312001'), 'wrong_length', '7 digits: neither 6 nor 8');
    assert.equal(problem('atena-number', '1'), 'wrong_length', 'a lone check digit');
    assert.equal(problem('atena-number', '1'.repeat(17)), 'wrong_length');
  });

  test('any input: a canonical value or exactly one known problem, and a problem never carries the input', () => {
    const input = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.stringMatching(/^[0-9０-９ \-ー−]{0,20}$/),
      fc.stringMatching(/^\+?[0-9() -]{0,16}$/),
    );
    fc.assert(
      fc.property(fc.constantFrom(...JP_IDENTIFIER_TYPES), input, (type, s) => {
        const r = checkIdentifier(type, s);
        if ('problem' in r) {
          assert.deepEqual(Object.keys(r), ['problem']);
          assert.ok(PROBLEMS.includes(r.problem), r.problem);
          if (type === 'phone') assert.equal(r.problem, 'invalid_phone');
          else assert.notEqual(r.problem, 'invalid_phone');
        } else {
          assert.deepEqual(Object.keys(r), ['value']);
          // The canonical form is a fixed point and indexes like the input.
          assert.deepEqual(checkIdentifier(type, r.value), r);
          assert.equal(identifierIndexText(type, r.value), identifierIndexText(type, s));
          if (type !== 'phone' && type !== 'postal-code') assert.match(r.value, /^[0-9]+$/);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('synthetic My Numbers in any spelling are accepted; the same with a 13th digit is not', () => {
    const body = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 11, maxLength: 11 }).map((d) => d.join(''));
    fc.assert(
      fc.property(body, fc.integer({ min: 0, max: 9 }), (b, extra) => {
        const n = synth(b);
        const wide = Array.from(n, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('');
        assert.deepEqual(checkIdentifier('my-number', wide), { value: n });
        assert.deepEqual(checkIdentifier('my-number', `${n.slice(0, 4)}-${n.slice(4, 8)}-${n.slice(8)}`), { value: n });
        assert.deepEqual(checkIdentifier('my-number', `${n}${extra}`), { problem: 'wrong_length' });
      }),
      { numRuns: 1000 },
    );
  });
});

describe('identifierIndexText', () => {
  test('differently typed forms of the same number index equally', () => {
    const forms = ['123456789018', '1234-5678-9018', '１２３４ ５６７８ ９０１８', '1234−5678−9018', '1234ー5678ー9018'];
    assert.deepEqual(new Set(forms.map((f) => identifierIndexText('my-number', f))), new Set([MY]));
    const postal = ['100-0001', '1000001', '１００－０００１'];
    assert.deepEqual(new Set(postal.map((f) => identifierIndexText('postal-code', f))), new Set(['1000001']));
  });

  test('different numbers index differently', () => {
    assert.notEqual(identifierIndexText('my-number', MY), identifierIndexText('my-number', OTHER));
    assert.notEqual(identifierIndexText('postal-code', '100-0001'), identifierIndexText('postal-code', '100-0002'));
    assert.notEqual(identifierIndexText('phone', '03-1234-5678'), identifierIndexText('phone', '03-1234-5679'));
    assert.notEqual(identifierIndexText('phone', '03-1234-5678'), identifierIndexText('phone', '+1 3-1234-5678'));
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{12}$/), fc.stringMatching(/^[0-9]{12}$/), (a, b) => {
        fc.pre(a !== b);
        assert.notEqual(identifierIndexText('my-number', a), identifierIndexText('my-number', b));
      }),
    );
  });

  test('phone: international and national forms of one number index equally', () => {
    const same = [
      '03-1234-5678', '0312345678', '(03) 1234-5678', '０３－１２３４－５６７８', '+81 3-1234-5678', '+81-3-1234-5678',
      '+81312345678', '+81 (0)3-1234-5678', '+81 03 1234 5678',
    ];
    for (const s of same) {
      const r = checkIdentifier('phone', s);
      assert.ok('value' in r, s);
      assert.equal(identifierIndexText('phone', r.value), '0312345678', s);
      assert.equal(identifierIndexText('phone', s), '0312345678', s);
    }
    assert.equal(identifierIndexText('phone', '+81 90-1234-5678'), '09012345678');
    assert.equal(identifierIndexText('phone', '090-1234-5678'), '09012345678');
  });
});
