import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normaliseForIndex, normaliseText, parseCollectionSchema } from '../../src/schema/index.js';

const fields = parseCollectionSchema({
  fields: [
    { name: 's', type: 'string' },
    { name: 'i', type: 'integer' },
    { name: 'b', type: 'boolean' },
    { name: 'd', type: 'decimal' },
    { name: 't', type: 'date' },
    { name: 'e', type: 'enum', values: ['x'] },
    { name: 'o', type: 'object', fields: [{ name: 'z', type: 'string' }] },
  ],
}).fields;
const field = (name: string) => fields.find((f) => f.name === name) as (typeof fields)[number];

describe('normaliseText', () => {
  test('folds full width and half width (NFKC)', () => {
    assert.equal(normaliseText('ＹＡＭＡＤＡ　１２３'), 'YAMADA 123');
    assert.equal(normaliseText('ﾔﾏﾀﾞ ﾀﾛｳ'), 'ヤマダ タロウ');
    assert.equal(normaliseText('ﾔﾏﾀﾞ'), normaliseText('ヤマダ'));
    assert.equal(normaliseText('①'), '1');
  });

  test('turns every run of white space, U+3000 included, into one space and trims the ends', () => {
    assert.equal(normaliseText('山田\u3000太郎'), '山田 太郎');
    assert.equal(normaliseText('  山田 \u3000\t\n 太郎\u3000'), '山田 太郎');
    assert.equal(normaliseText('\u3000\u3000'), '');
  });

  test('keeps different values different', () => {
    const distinct = ['山田', '山本', '山田太郎', '山田 太郎', 'yamada', 'YAMADA', 'ヤマダ', 'やまだ'];
    assert.equal(new Set(distinct.map(normaliseText)).size, distinct.length);
  });

  test('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => {
        const once = normaliseText(s);
        assert.equal(normaliseText(once), once);
      }),
      { numRuns: 300 },
    );
  });
});

describe('normaliseForIndex', () => {
  test('strings are normalised; other types are already canonical', () => {
    assert.equal(normaliseForIndex(field('s'), 'Ａ\u3000 B'), 'A B');
    assert.equal(normaliseForIndex(field('i'), 42), '42');
    assert.equal(normaliseForIndex(field('b'), true), 'true');
    assert.equal(normaliseForIndex(field('d'), '12.5'), '12.5');
    assert.equal(normaliseForIndex(field('t'), '2024-02-29'), '2024-02-29');
    assert.equal(normaliseForIndex(field('e'), 'x'), 'x');
    assert.throws(() => normaliseForIndex(field('o'), { z: 'a' }), TypeError);
  });
});
