import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  atenaCheckDigit, atenaRemainderIsOne, corporateNumberCheckDigit, insurerNumberCheckDigit,
  juminhyoCodeCheckDigit, localGovCodeCheckDigit, myNumberCheckDigit,
} from '../../../src/schema/japanese/check-digits.js';
import { checkIdentifier } from '../../../src/schema/japanese/identifiers.js';

/*
 * Every algorithm is written again here, independently of the module and in a different style:
 * explicit weight arrays read left to right (the module walks the digits from the right with a
 * weight function), so a slip in either one shows up as a disagreement.
 */

const digits = (s: string): number[] => Array.from(s, (c) => Number(c));
const dot = (ds: readonly number[], ws: readonly number[]): number => {
  assert.equal(ds.length, ws.length, 'one weight per digit');
  return ds.reduce((sum, d, i) => sum + d * (ws[i] as number), 0);
};

/** 個人番号: weights 6,5,4,3,2,7,6,5,4,3,2 over the 11-digit body, left to right; 11 − r, r ≤ 1 → 0. */
const MY_NUMBER_WEIGHTS = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2] as const;
function refMyNumber(body11: string): number {
  const r = dot(digits(body11), MY_NUMBER_WEIGHTS) % 11;
  return r === 0 || r === 1 ? 0 : 11 - r;
}

/** 住民票コード: the same rule over a 10-digit body, so the last ten of the weights above. */
const JUMINHYO_WEIGHTS = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2] as const;
function refJuminhyo(body10: string): number {
  const r = dot(digits(body10), JUMINHYO_WEIGHTS) % 11;
  return r === 0 || r === 1 ? 0 : 11 - r;
}

/** 宛名番号: the cycle 2,3,4,5,6,7 laid out from the right end, then read left to right. */
function atenaWeights(length: number): number[] {
  const fromRight = Array.from({ length }, (_, i) => [2, 3, 4, 5, 6, 7][i % 6] as number);
  return fromRight.reverse();
}
function refAtena(body: string): number {
  const r = dot(digits(body), atenaWeights(body.length)) % 11;
  return r === 0 || r === 1 ? 0 : 11 - r;
}

/** 全国地方公共団体コード: weights 6,5,4,3,2 left to right; the last digit of 11 − r (r = 0 → 1, r = 1 → 0). */
function refLocalGov(body5: string): number {
  const r = dot(digits(body5), [6, 5, 4, 3, 2]) % 11;
  const s = String(11 - r);
  return Number(s[s.length - 1]);
}

/** 法人番号: weights 2,1,2,1,… left to right over the 12-digit base; check = 9 − (sum mod 9), placed first. */
const CORPORATE_WEIGHTS = [2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1] as const;
function refCorporate(base12: string): number {
  return 9 - (dot(digits(base12), CORPORATE_WEIGHTS) % 9);
}

/** 保険者番号: weights 2,1,… from the right; add the digit sums of the products (p ≥ 10 → p − 9); 10 − last digit. */
function refInsurer(body: string): number {
  const ws = Array.from({ length: body.length }, (_, i) => ((body.length - 1 - i) % 2 === 0 ? 2 : 1));
  const sum = digits(body).reduce((acc, d, i) => {
    const p = d * (ws[i] as number);
    return acc + (p >= 10 ? p - 9 : p);
  }, 0);
  const lastDigit = sum % 10;
  return lastDigit === 0 ? 0 : 10 - lastDigit;
}

const body = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((ds) => ds.join(''));
const RUNS = { numRuns: 3000 };

describe('check digits agree with an independent implementation (random bodies)', () => {
  test('個人番号 (My Number)', () => {
    fc.assert(fc.property(body(11), (b) => myNumberCheckDigit(b) === refMyNumber(b)), RUNS);
  });

  test('住民票コード', () => {
    fc.assert(fc.property(body(10), (b) => juminhyoCodeCheckDigit(b) === refJuminhyo(b)), RUNS);
  });

  test('宛名番号 / 世帯番号, bodies of 1 to 15 digits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 15 }).chain(body), (b) => {
        assert.equal(atenaCheckDigit(b), refAtena(b), b);
        assert.equal(atenaRemainderIsOne(b), dot(digits(b), atenaWeights(b.length)) % 11 === 1, b);
      }),
      RUNS,
    );
  });

  test('全国地方公共団体コード', () => {
    fc.assert(fc.property(body(5), (b) => localGovCodeCheckDigit(b) === refLocalGov(b)), RUNS);
    // All 100 000 bodies: small enough to check exhaustively.
    for (let n = 0; n < 100_000; n++) {
      const b = String(n).padStart(5, '0');
      if (localGovCodeCheckDigit(b) !== refLocalGov(b)) assert.fail(`local-gov body ${b}`);
    }
  });

  test('法人番号 (corporate number)', () => {
    fc.assert(fc.property(body(12), (b) => corporateNumberCheckDigit(b) === refCorporate(b)), RUNS);
  });

  test('保険者番号 (insurer number), 5- and 7-digit bodies', () => {
    fc.assert(fc.property(fc.constantFrom(5, 7).chain(body), (b) => insurerNumberCheckDigit(b) === refInsurer(b)), RUNS);
  });

  test('every result is one decimal digit (法人番号: 1–9, as 9 − (sum mod 9) can never be 0)', () => {
    fc.assert(
      fc.property(body(12), (b) => {
        const all = [
          myNumberCheckDigit(b.slice(1)), juminhyoCodeCheckDigit(b.slice(2)), atenaCheckDigit(b),
          localGovCodeCheckDigit(b.slice(7)), insurerNumberCheckDigit(b.slice(5)),
        ];
        for (const d of all) assert.ok(Number.isInteger(d) && d >= 0 && d <= 9, String(d));
        const c = corporateNumberCheckDigit(b);
        assert.ok(Number.isInteger(c) && c >= 1 && c <= 9, String(c));
      }),
      RUNS,
    );
  });
});

describe('check digits of published public (non-personal) identifiers', () => {
  // 総務省 全国地方公共団体コード.
  const LOCAL_GOV: readonly (readonly [string, string])[] = [
    ['131016', '千代田区'],
    ['131041', '新宿区'],
    ['011002', '札幌市'],
    ['271004', '大阪市'],
    ['282022', '尼崎市'],
    ['401307', '福岡市'],
  ];

  test('全国地方公共団体コード', () => {
    for (const [code, name] of LOCAL_GOV) {
      const check = Number(code[5]);
      assert.equal(refLocalGov(code.slice(0, 5)), check, `reference, ${name}`);
      assert.equal(localGovCodeCheckDigit(code.slice(0, 5)), check, name);
      assert.deepEqual(checkIdentifier('local-gov-code', code), { value: code }, name);
    }
    // 131041 (新宿区) has remainder 0, so 11 − 0 = 11 and its last digit 1 is the check digit:
    // 1·6 + 3·5 + 1·4 + 0·3 + 4·2 = 33 = 3·11.
    assert.equal(dot(digits('13104'), [6, 5, 4, 3, 2]) % 11, 0);
    // 千代田区: 1·6 + 3·5 + 1·4 + 0·3 + 1·2 = 27, 27 mod 11 = 5, 11 − 5 = 6 → 131016.
    assert.equal(dot(digits('13101'), [6, 5, 4, 3, 2]), 27);
  });

  test('法人番号 of 国税庁: 7000012050002 (check digit first)', () => {
    // Base 000012050002, weights 2,1,2,1,… from the left: 1·2 + 2·1 + 5·1 + 2·1 = 11
    // (the 1 sits in an even position from the right, the 2, 5, 2 in odd ones); 9 − 11 mod 9 = 7.
    assert.equal(refCorporate('000012050002'), 7);
    assert.equal(corporateNumberCheckDigit('000012050002'), 7);
    assert.deepEqual(checkIdentifier('corporate-number', '7000012050002'), { value: '7000012050002' });
    assert.deepEqual(checkIdentifier('corporate-number', '1000012050002'), { problem: 'check_digit_mismatch' });
  });

  test('保険者番号: 33120015 (documented example) and 138016 (千代田区 国民健康保険)', () => {
    // 3312001 from the right ×2,×1,…: 1·2, 0, 0·2, 2, 1·2, 3, 3·2 → 2+0+0+2+2+3+6 = 15 → 10 − 5 = 5.
    assert.equal(refInsurer('3312001'), 5);
    assert.equal(insurerNumberCheckDigit('3312001'), 5);
    // 13801 from the right ×2,×1,…: 1·2, 0, 8·2 = 16 → 1+6, 3, 1·2 → 2+0+7+3+2 = 14 → 10 − 4 = 6.
    assert.equal(refInsurer('13801'), 6);
    assert.equal(insurerNumberCheckDigit('13801'), 6);
    assert.deepEqual(checkIdentifier('insurer-number', '33120015'), { value: '33120015' });
    assert.deepEqual(checkIdentifier('insurer-number', '138016'), { value: '138016' });
    assert.deepEqual(checkIdentifier('insurer-number', '33120016'), { problem: 'check_digit_mismatch' });
  });
});

describe('宛名番号 / 世帯番号 (住民記録システム標準仕様書 §1.1.13, M11 weights 2–7)', () => {
  /*
   * Worked by hand: body 1234567. Weights from the right are 2,3,4,5,6,7 and then 2 again:
   *   digit  1 2 3 4 5 6 7
   *   weight 2 7 6 5 4 3 2
   *   1·2 + 2·7 + 3·6 + 4·5 + 5·4 + 6·3 + 7·2 = 2 + 14 + 18 + 20 + 20 + 18 + 14 = 106
   *   106 mod 11 = 7 (99 = 9·11), 11 − 7 = 4  →  宛名番号 12345674.
   */
  const TABLE: readonly (readonly [body: string, sum: number, remainder: number, check: number])[] = [
    ['1234567', 106, 7, 4],
    // 123456: 1·7 + 2·6 + 3·5 + 4·4 + 5·3 + 6·2 = 77 = 7·11 → remainder 0 → 0 (the standard's rule).
    ['123456', 77, 0, 0],
    // 1: 1·2 = 2 → 11 − 2 = 9.
    ['1', 2, 2, 9],
    // 5: 5·2 = 10 → 11 − 10 = 1.
    ['5', 10, 10, 1],
    // 6: 6·2 = 12 → remainder 1 → 11 − 1 = 10 is not a digit; Kuraban's choice: 0.
    ['6', 12, 1, 0],
    // 1000000: the 1 is 7th from the right, weight 2 again (the cycle restarts) → 2 → 9.
    ['1000000', 2, 2, 9],
    // 10000000: 8th from the right, weight 3 → 3 → 8.
    ['10000000', 3, 3, 8],
    // 000000000000001: leading zeros do not count → 2 → 9.
    ['000000000000001', 2, 2, 9],
    // 9999999: 9·(2+3+4+5+6+7+2) = 261, 261 mod 11 = 8 (253 = 23·11) → 3.
    ['9999999', 261, 8, 3],
  ];

  test('the table', () => {
    for (const [b, sum, remainder, check] of TABLE) {
      assert.equal(dot(digits(b), atenaWeights(b.length)), sum, `sum of ${b}`);
      assert.equal(sum % 11, remainder, `remainder of ${b}`);
      assert.equal(refAtena(b), check, `reference ${b}`);
      assert.equal(atenaCheckDigit(b), check, b);
      assert.equal(atenaRemainderIsOne(b), remainder === 1, b);
      const number = `${b}${check}`;
      assert.deepEqual(checkIdentifier('atena-number', number), { value: number }, number);
      assert.deepEqual(checkIdentifier('household-number', number), { value: number }, number);
      const wrong = `${b}${(check + 1) % 10}`;
      assert.deepEqual(checkIdentifier('atena-number', wrong), { problem: 'check_digit_mismatch' }, wrong);
    }
  });

  test('the weights cycle 2–7 from the right, whatever the length', () => {
    assert.deepEqual(atenaWeights(8), [3, 2, 7, 6, 5, 4, 3, 2]);
    // A lone 1 at each position k from the right (k = 1…15) has sum = weight; compare the module.
    for (let k = 1; k <= 15; k++) {
      const b = `1${'0'.repeat(k - 1)}`;
      const w = ((k - 1) % 6) + 2;
      assert.equal(atenaCheckDigit(b), w <= 1 ? 0 : 11 - w, b);
    }
  });
});

describe('error detection', () => {
  const synthMyNumber = (b: string) => `${b}${refMyNumber(b)}`;

  test('synthetic My Numbers: every single-digit substitution is rejected, except the one blind spot of the rule', () => {
    /*
     * The statutory rule maps remainders 0 AND 1 to the check digit 0, so when the body's remainder
     * moves between 0 and 1 the check digit does not change: those substitutions cannot be detected
     * by any implementation. Every other substitution must be (all weights 2–7 are prime to 11,
     * so a changed digit always changes the remainder). A number whose check digit is not 0 has
     * remainder ≥ 2, so for it every single substitution is rejected.
     */
    let blind = 0;
    let detected = 0;
    fc.assert(
      fc.property(body(11), (b) => {
        const n = synthMyNumber(b);
        assert.deepEqual(checkIdentifier('my-number', n), { value: n });
        const r0 = dot(digits(b), MY_NUMBER_WEIGHTS) % 11;
        for (let pos = 0; pos < 12; pos++) {
          for (let d = 0; d <= 9; d++) {
            if (String(d) === n[pos]) continue;
            const m = `${n.slice(0, pos)}${d}${n.slice(pos + 1)}`;
            const r1 = pos < 11 ? dot(digits(m.slice(0, 11)), MY_NUMBER_WEIGHTS) % 11 : r0;
            const undetectable = pos < 11 && r0 <= 1 && r1 <= 1;
            if (undetectable) {
              blind++;
              assert.deepEqual(checkIdentifier('my-number', m), { value: m });
            } else {
              detected++;
              assert.deepEqual(checkIdentifier('my-number', m), { problem: 'check_digit_mismatch' }, `position ${pos}, digit ${d}`);
            }
            if (n[11] !== '0') assert.ok(!undetectable);
          }
        }
      }),
      { numRuns: 500 },
    );
    assert.ok(detected > 0);
    assert.ok(blind > 0, 'the sample met the blind spot');
    // The blind spot is in the rule, not a slip in the module: body 00000000000 (remainder 0) and
    // body 00000000006 (6·2 = 12, remainder 1) differ in one digit and both have check digit 0.
    assert.deepEqual(checkIdentifier('my-number', '000000000000'), { value: '000000000000' });
    assert.deepEqual(checkIdentifier('my-number', '000000000060'), { value: '000000000060' });
  });

  test('synthetic My Numbers with a check digit other than 0: every substitution is rejected', () => {
    fc.assert(
      fc.property(body(11).filter((b) => refMyNumber(b) !== 0), (b) => {
        const n = synthMyNumber(b);
        for (let pos = 0; pos < 12; pos++) {
          for (let d = 0; d <= 9; d++) {
            if (String(d) === n[pos]) continue;
            const m = `${n.slice(0, pos)}${d}${n.slice(pos + 1)}`;
            assert.deepEqual(checkIdentifier('my-number', m), { problem: 'check_digit_mismatch' }, `position ${pos}, digit ${d}`);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  test('synthetic My Numbers: swapping two different adjacent digits is rejected unless the remainders fall in the blind spot', () => {
    fc.assert(
      fc.property(body(11), fc.integer({ min: 0, max: 9 }), (b, pos) => {
        const n = synthMyNumber(b);
        const x = n[pos] as string;
        const y = n[pos + 1] as string;
        fc.pre(x !== y);
        const m = `${n.slice(0, pos)}${y}${x}${n.slice(pos + 2)}`;
        const r0 = dot(digits(b), MY_NUMBER_WEIGHTS) % 11;
        const r1 = dot(digits(m.slice(0, 11)), MY_NUMBER_WEIGHTS) % 11;
        if (r0 <= 1 && r1 <= 1) return;
        assert.deepEqual(checkIdentifier('my-number', m), { problem: 'check_digit_mismatch' });
      }),
      { numRuns: 2000 },
    );
  });

  test('other identifiers: a changed check digit is always rejected', () => {
    fc.assert(
      fc.property(body(12), fc.integer({ min: 1, max: 9 }), (b, delta) => {
        const bump = (c: number) => (c + delta) % 10;
        const cases: readonly (readonly [Parameters<typeof checkIdentifier>[0], string, string])[] = [
          ['juminhyo-code', `${b.slice(2)}${refJuminhyo(b.slice(2))}`, `${b.slice(2)}${bump(refJuminhyo(b.slice(2)))}`],
          ['local-gov-code', `${b.slice(7)}${refLocalGov(b.slice(7))}`, `${b.slice(7)}${bump(refLocalGov(b.slice(7)))}`],
          ['corporate-number', `${refCorporate(b)}${b}`, `${bump(refCorporate(b))}${b}`],
          ['insurer-number', `${b.slice(5)}${refInsurer(b.slice(5))}`, `${b.slice(5)}${bump(refInsurer(b.slice(5)))}`],
          ['atena-number', `${b}${refAtena(b)}`, `${b}${bump(refAtena(b))}`],
        ];
        for (const [type, good, bad] of cases) {
          assert.deepEqual(checkIdentifier(type, good), { value: good }, `${type} ${good}`);
          assert.deepEqual(checkIdentifier(type, bad), { problem: 'check_digit_mismatch' }, `${type} ${bad}`);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
