import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MASKS, applyMask, parseCollectionSchema, validateRecord, type FieldDef, type FieldType } from '../../src/schema/index.js';

const fieldOf = (type: FieldType, extra: Record<string, unknown> = {}): FieldDef => {
  const f = parseCollectionSchema({ fields: [{ name: 'f', type, ...(type === 'enum' ? { values: ['x'] } : {}), ...extra }] }).fields[0];
  assert.ok(f);
  return f;
};
/** A synthetic My Number (made-up body, check digit computed here with weights 6,5,4,3,2,7,6,5,4,3,2). */
function synthMyNumber(body11: string): string {
  const w = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
  const r = Array.from(body11).reduce((s, c, i) => s + Number(c) * (w[i] as number), 0) % 11;
  return `${body11}${r <= 1 ? 0 : 11 - r}`;
}
const graphemes = (s: string): string[] => Array.from(new Intl.Segmenter('ja', { granularity: 'grapheme' }).segment(s), (g) => g.segment);
const countDigits = (s: string): number => (s.match(/[0-9]/g) ?? []).length;

describe('applyMask: last4', () => {
  const myNumber = fieldOf('my-number');

  test('a My Number shows only its last four digits (the default mask of the type)', () => {
    const n = synthMyNumber('12345678901');
    assert.equal(n, '123456789018');
    assert.equal(myNumber.mask, 'last4');
    assert.equal(applyMask(myNumber, n), '********9018');
  });

  test('any synthetic My Number: 12 characters, eight stars, the last four digits', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{11}$/), (b) => {
        const n = synthMyNumber(b);
        const m = applyMask(myNumber, n);
        assert.equal(m, `${'*'.repeat(8)}${n.slice(8)}`);
      }),
      { numRuns: 500 },
    );
  });

  test('phone numbers keep their separators and show at most four digits', () => {
    const phone = fieldOf('phone');
    assert.equal(phone.mask, 'last4');
    assert.equal(applyMask(phone, '03-1234-5678'), '**-****-5678');
    assert.equal(applyMask(phone, '090-1234-5678'), '***-****-5678');
    assert.equal(applyMask(phone, '0120-123-456'), '****-**3-456');
    assert.equal(applyMask(phone, '(03) 1234-5678'), '(**) ****-5678');
    assert.equal(applyMask(phone, '+81 3-1234-5678'), '+** *-****-5678');
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{2,5}-[0-9]{1,4}-[0-9]{4}$/), (p) => {
        const m = applyMask(phone, p) as string;
        assert.equal(m.length, p.length);
        assert.equal(countDigits(m), 4);
        assert.equal(m.replace(/[0-9*]/g, ''), p.replace(/[0-9]/g, ''), 'separators kept in place');
        assert.equal(m.slice(-4), p.slice(-4));
      }),
    );
  });

  test('other identifiers: never more than four digits', () => {
    assert.equal(applyMask(fieldOf('juminhyo-code'), '12345678901'), '*******8901');
    assert.equal(applyMask(fieldOf('atena-number'), '12345674'), '****5674');
    assert.equal(applyMask(fieldOf('postal-code', { mask: 'last4' }), '100-0001'), '***-0001');
    assert.equal(applyMask(fieldOf('atena-number'), '123'), '123', 'a value of four digits or fewer is shown whole');
  });

  test('text: the last four graphemes, astral characters and IVS kept whole', () => {
    const s = fieldOf('string', { mask: 'last4' });
    assert.equal(applyMask(s, 'AB12345678'), '******5678');
    assert.equal(applyMask(s, '東京都葛\u{E0100}飾区𠮷田'), '****飾区𠮷田');
    assert.equal(applyMask(s, '東京都葛\u{E0100}飾区'), '**都葛\u{E0100}飾区');
  });
});

describe('applyMask: year', () => {
  test('date: the year', () => {
    const d = fieldOf('date');
    assert.equal(d.mask, 'year');
    assert.equal(applyMask(d, '1985-04-12'), '1985');
    assert.equal(applyMask(d, '0800-01-01'), '0800');
  });

  test('jp-date: the era year, qualifiers kept, 年月日不詳 stays', () => {
    const j = fieldOf('jp-date');
    assert.equal(j.mask, 'year');
    const cases: readonly (readonly [string, string])[] = [
      ['昭和60年4月12日', '昭和60年'],
      ['平成31年2月29日', '平成31年'],
      ['昭和60年4月', '昭和60年'],
      ['昭和60年', '昭和60年'],
      ['推定昭和40年3月', '推定昭和40年'],
      ['昭和40年3月頃', '昭和40年頃'],
      ['1985-04-12', '1985'],
      ['年月日不詳', '年月日不詳'],
    ];
    for (const [stored, masked] of cases) {
      // Stored values are canonical: check that each case is one.
      assert.equal(validateRecord({ fields: [j] }, { f: stored }).values.f, stored, stored);
      assert.equal(applyMask(j, stored), masked, stored);
    }
  });

  test('year on a value it cannot read: null, never the value', () => {
    assert.equal(applyMask(fieldOf('jp-date'), 'not a date'), null);
    assert.equal(applyMask(fieldOf('string'), '1985-04-12', 'year'), null);
  });
});

describe('applyMask: initial', () => {
  const name = fieldOf('string', { mask: 'initial' });

  test('the first character and one star', () => {
    assert.equal(applyMask(name, '山田太郎'), '山*');
    assert.equal(applyMask(name, '髙橋'), '髙*');
    assert.equal(applyMask(name, 'Yamada'), 'Y*');
  });

  test('never splits a surrogate pair, an IVS or a combining mark', () => {
    assert.equal(applyMask(name, '𠮷田'), '𠮷*');
    assert.equal(applyMask(name, '葛\u{E0100}飾'), '葛\u{E0100}*');
    assert.equal(applyMask(name, '渡\uFE00邊'), '渡\uFE00*');
    const kana = fieldOf('kana');
    assert.equal(kana.mask, 'initial');
    assert.equal(applyMask(kana, 'カ\u3099ク'), 'カ\u3099*');
    assert.equal(applyMask(kana, 'タカハシ イチロウ'), 'タ*');
  });

  test('does not reveal the length', () => {
    const masked = ['𠮷', '𠮷田', '𠮷田花子', '𠮷田　花子', `𠮷${'田'.repeat(99)}`].map((v) => applyMask(name, v));
    assert.deepEqual(new Set(masked), new Set(['𠮷*']));
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 20 }), (a, b) => {
        const first = graphemes(a.trim())[0];
        fc.pre(first !== undefined && graphemes(a.trim() + b)[0] === first);
        const m = applyMask(name, a.trim() + b);
        assert.equal(m, `${first}*`);
        // A well-formed result: no lone surrogate at the cut.
        assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(m as string));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('applyMask: redact', () => {
  test('null for every type and value', () => {
    for (const [type, v] of [
      ['string', '山田'], ['my-number', '123456789018'], ['jp-date', '昭和60年'], ['integer', 3], ['boolean', true], ['enum', 'x'], ['kana', 'ヤマダ'],
    ] as const) {
      assert.equal(applyMask(fieldOf(type), v, 'redact'), null, type);
    }
    assert.equal(applyMask(fieldOf('local-gov-code'), '131016'), null, 'the default of local-gov-code');
  });

  test('every mask: a My Number never comes back whole', () => {
    const n = synthMyNumber('98765432109');
    for (const mask of MASKS) {
      const m = applyMask(fieldOf('my-number'), n, mask);
      assert.ok(m === null || countDigits(m) <= 4, `${mask}: ${String(m)}`);
    }
  });
});
