import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FOLDS, KANJI_VARIANTS, foldText, isFold, type Fold } from '../../../src/schema/japanese/folding.js';

const ALL: readonly Fold[] = FOLDS;
const SUBSETS: readonly (readonly Fold[])[] = Array.from({ length: 1 << FOLDS.length }, (_, m) =>
  FOLDS.filter((_f, i) => (m & (1 << i)) !== 0),
);
const hex = (s: string): string => Array.from(s, (c) => (c.codePointAt(0) ?? 0).toString(16)).join(' ');
const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s);

describe('foldText without folds (normaliseText)', () => {
  test('folds full and half width (NFKC)', () => {
    assert.equal(foldText('ＹＡＭＡＤＡ', []), 'YAMADA');
    assert.equal(foldText('ﾔﾏﾀﾞ ﾀﾛｳ', []), 'ヤマダ タロウ');
    assert.equal(foldText('１２３', []), '123');
  });

  test('turns every run of white space, U+3000 and tabs included, into one space and trims', () => {
    for (const s of ['山田 太郎', '山田\u3000太郎', '山田\t太郎', ' 山田 \u3000\t\n太郎\u3000']) {
      assert.equal(foldText(s, []), '山田 太郎');
    }
  });

  test('CJK compatibility ideographs are folded by NFKC already, with or without the kanji fold', () => {
    assert.equal(foldText('\uF9DC', []), '\u9686'); // 隆 → 隆
    assert.equal(foldText('\uFA10', []), '\u585A'); // 塚 → 塚
  });

  test('rejects an unknown fold', () => {
    assert.throws(() => foldText('x', ['nope' as Fold]), RangeError);
    assert.ok(isFold('kana') && !isFold('Kana') && !isFold(1));
  });
});

describe('kana fold', () => {
  test('katakana → hiragana, half width included', () => {
    assert.equal(foldText('ﾔﾏﾀﾞ ﾀﾛｳ', ['kana']), 'やまだ たろう');
    assert.equal(foldText('ﾔﾏﾀﾞ ﾀﾛｳ', ['kana', 'space']), 'やまだたろう');
    assert.equal(foldText('ヤマダ', ['kana']), foldText('やまだ', ['kana']));
    assert.equal(foldText('ァィゥェォッャュョヮ', ['kana']), 'ぁぃぅぇぉっゃゅょゎ');
    assert.equal(foldText('ヴヵヶ', ['kana']), 'ゔゕゖ');
    assert.equal(foldText('ウ\u3099', ['kana']), 'ゔ');
    assert.equal(foldText('ヽヾ', ['kana']), 'ゝゞ');
  });

  test('ヷヸヹヺ become base hiragana + U+3099, and NFC/NFKC leave that alone', () => {
    const out = foldText('ヷヸヹヺ', ['kana']);
    assert.equal(hex(out), '308f 3099 3090 3099 3091 3099 3092 3099');
    assert.equal(out.normalize('NFC'), out);
    assert.equal(out.normalize('NFKC'), out);
    assert.equal(foldText('ワ\u3099', ['kana']), out.slice(0, 2));
    assert.equal(foldText('ｦﾞ', ['kana']), 'を\u3099');
    // a combining mark of lower class after ヷ is put in canonical order, so a second pass agrees
    const odd = 'ヷ\u0334';
    assert.equal(foldText(foldText(odd, ['kana']), ['kana']), foldText(odd, ['kana']));
  });

  test('leaves the long-vowel mark, small kana and voicing alone', () => {
    assert.equal(foldText('サトー', ['kana']), 'さとー');
    assert.notEqual(foldText('ユ', ['kana']), foldText('ュ', ['kana']));
    assert.notEqual(foldText('サトウ', ['kana']), foldText('サドウ', ['kana']));
  });
});

describe('dash fold', () => {
  const DASHES = ['-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\uFF0D', '\uFE63', '\uFE58', '\u2043'];

  test('every dash of the family becomes -', () => {
    for (const d of DASHES) assert.equal(foldText(`1${d}2`, ['dash']), '1-2', hex(d));
    for (const d of DASHES) assert.equal(foldText(`A${d}B`, ['dash']), 'A-B', hex(d));
  });

  test('1ー2ー3 = 1-2-3 = 1－2－3 = 1―2―3 = 1ｰ2ｰ3', () => {
    for (const s of ['1ー2ー3', '1-2-3', '1－2－3', '1―2―3', '1ｰ2ｰ3', '１ー２ー３']) {
      assert.equal(foldText(s, ['dash']), '1-2-3', s);
    }
    assert.notEqual(foldText('1ー2ー3', []), foldText('1-2-3', []));
  });

  test('the long-vowel mark is a hyphen after a digit, or between a kanji and a digit', () => {
    assert.equal(foldText('12ー', ['dash']), '12-');
    assert.equal(foldText('ビル5ー1', ['dash']), 'ビル5-1');
    assert.equal(foldText('三丁目ー5', ['dash']), '三丁目-5');
    assert.equal(foldText('三丁目 ー 5', ['dash']), '三丁目 - 5');
    assert.equal(foldText('三丁目 ー 5', ['dash', 'space']), '三丁目-5');
    assert.equal(foldText('1 ー2', ['dash', 'space']), foldText('1ー2', ['dash']));
  });

  test('the long-vowel mark after kana, or between kanji numerals, stays', () => {
    for (const s of ['サトー', 'コーポ', 'ラーメン', 'さとー', '本町一ー二', 'ー1']) {
      assert.equal(foldText(s, ['dash']), s);
    }
  });

  test('wave dashes are ranges, not dashes', () => {
    assert.equal(foldText('1〜2', ['dash']), '1〜2');
    assert.equal(foldText('1～2', ['dash']), '1~2'); // NFKC: U+FF5E → ~
    assert.notEqual(foldText('1〜2', ALL), foldText('1-2', ALL));
  });
});

describe('kanji fold', () => {
  test('old and variant forms fold to the common form', () => {
    assert.equal(foldText('𠮷田', ['kanji']), foldText('吉田', ['kanji']));
    assert.notEqual(foldText('𠮷田', []), foldText('吉田', []));
    assert.equal(foldText('髙橋', ['kanji']), '高橋');
    assert.notEqual(foldText('髙橋', []), foldText('高橋', []));
    for (const s of ['齋藤', '齊藤', '斎藤']) assert.equal(foldText(s, ['kanji']), '斉藤');
    for (const s of ['渡邊', '渡邉']) assert.equal(foldText(s, ['kanji']), '渡辺');
    for (const s of ['山﨑', '山嵜', '山碕']) assert.equal(foldText(s, ['kanji']), '山崎');
  });

  test('variation selectors are removed, then the table applies', () => {
    assert.equal(foldText('葛\u{E0100}飾', ['kanji']), '葛飾');
    assert.notEqual(foldText('葛\u{E0100}飾', []), '葛飾');
    assert.equal(foldText('葛\uFE00飾', ['kanji']), '葛飾');
    assert.equal(foldText('髙\u{E0101}橋', ['kanji']), '高橋');
    assert.equal(foldText('1 \uFE0F 2', ['kanji']), '1 2');
  });
});

describe('space fold', () => {
  test('removes every space', () => {
    for (const s of ['山田 太郎', '山田太郎', '山田\u3000太郎', ' 山田\t 太郎 ']) {
      assert.equal(foldText(s, ['space']), '山田太郎');
    }
  });
});

describe('values that must stay distinct stay distinct under all folds', () => {
  const groups: readonly (readonly string[])[] = [
    ['さとう', 'さどう', 'さと', 'さとお', 'さとー'],
    ['ゆ', 'ゅ'],
    ['や', 'ゃ'],
    ['つ', 'っ'],
    ['は', 'ば', 'ぱ'],
    ['わ', 'ゎ', 'わ\u3099'],
    ['1-2', '12', '1〜2', '1.2'],
    ['山田', '山本', '山口'],
    ['斉藤', '佐藤'],
    ['吉田', '古田'],
    ['高橋', '髙崎'],
    ['サトー', 'サト-', 'サト'],
  ];
  for (const group of groups) {
    test(group.join(' / '), () => {
      const out = group.map((s) => foldText(s, ALL));
      assert.equal(new Set(out).size, group.length, out.join(' / '));
    });
  }

  test('高 and 髙 are distinct without the kanji fold only', () => {
    for (const f of SUBSETS) {
      const same = foldText('高', f) === foldText('髙', f);
      assert.equal(same, f.includes('kanji'), f.join(','));
    }
  });
});

describe('properties', () => {
  const PIECES = [
    'ア', 'カ', 'ガ', 'ウ', 'ワ', 'ヷ', 'ヺ', 'ヽ', 'ヾ', 'ヵ', 'ヶ', 'ｶ', 'ﾞ', 'ﾟ', 'ｰ', 'さ', 'ゃ', 'う', 'ゝ',
    '\u3099', '\u309A', '゛', '゜', 'ー', '-', '\u2010', '\u2011', '\u2013', '\u2014', '\u2015', '\u2212',
    '\uFF0D', '\uFE63', '\uFE58', '\u2043', '〜', '～', '1', '2', '０', '①', '一', '三', '目', '髙', '高',
    '𠮷', '吉', '﨑', '齋', '斎', '\uF9DC', '葛', '\uFE00', '\uFE0F', '\u{E0100}', '\u{E01EF}', ' ', '\u3000',
    '\t', '\n', '\u0301', '\u0334', 'a', 'e', 'ᄀ', 'ᅡ',
  ];
  const mixed = fc.array(fc.constantFrom(...PIECES), { maxLength: 24 }).map((a) => a.join(''));
  const binary = fc.string({ unit: 'binary' });

  for (const [name, arb] of [['binary', binary], ['mixed', mixed]] as const) {
    test(`idempotent for every subset of FOLDS (${name})`, () => {
      fc.assert(
        fc.property(arb, (s) => {
          for (const f of SUBSETS) {
            const once = foldText(s, f);
            assert.equal(foldText(once, f), once, `${f.join(',')}: ${hex(s)}`);
          }
        }),
        { numRuns: 300 },
      );
    });

    test(`the order the folds are given in does not matter (${name})`, () => {
      fc.assert(
        fc.property(arb, fc.shuffledSubarray([...FOLDS, ...FOLDS]), (s, f) => {
          const canonical = FOLDS.filter((x) => f.includes(x));
          assert.equal(foldText(s, f), foldText(s, canonical));
        }),
      );
    });
  }

  test('never produces a lone surrogate from well-formed input', () => {
    fc.assert(
      fc.property(fc.oneof(binary.filter(wellFormed), mixed), fc.subarray([...FOLDS]), (s, f) => {
        assert.ok(wellFormed(foldText(s, f)), hex(s));
      }),
      { numRuns: 500 },
    );
  });
});

describe('KANJI_VARIANTS', () => {
  const entries = [...KANJI_VARIANTS];

  test('every key and value is one well-formed code point, and a Han character', () => {
    for (const [k, v] of entries) {
      for (const c of [k, v]) {
        assert.equal(Array.from(c).length, 1, hex(c));
        assert.ok(wellFormed(c) && /^\p{Script=Han}$/u.test(c), hex(c));
      }
    }
  });

  test('keys differ from values and no value is itself a key (one pass is enough)', () => {
    for (const [k, v] of entries) {
      assert.notEqual(k, v);
      assert.ok(!KANJI_VARIANTS.has(v), `${v} is a key`);
    }
  });

  test('keys and values are stable under NFKC (an entry NFKC changes would never match)', () => {
    for (const [k, v] of entries) {
      assert.equal(k.normalize('NFKC'), k, hex(k));
      assert.equal(v.normalize('NFKC'), v, hex(v));
    }
  });

  test('the kanji fold applies each entry, and only the kanji fold', () => {
    for (const [k, v] of entries) {
      assert.equal(foldText(k, ['kanji']), v);
      assert.equal(foldText(k, ['kana', 'dash', 'space']), k);
    }
  });

  test('is read-only', () => {
    assert.ok(Object.isFrozen(KANJI_VARIANTS));
    assert.ok(KANJI_VARIANTS.size >= 30);
  });
});
