import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { aadEncoder, encodeAad } from '../../src/crypto/index.js';

describe('encodeAad', () => {
  test('encodes a label and components as uint16-length-prefixed UTF-8, integers as "#<decimal>"', () => {
    assert.equal(encodeAad('x', ['ab', 7]).toString('hex'), '0001' + '78' + '0002' + '6162' + '0002' + '2337');
    assert.equal(encodeAad('', []).toString('hex'), '0000');
    // the prefix counts UTF-8 bytes, not UTF-16 units: 𠮷 is 4 bytes
    assert.equal(encodeAad('l', ['𠮷']).toString('hex'), '0001' + '6c' + '0004' + 'f0a0aeb7');
  });

  test('is injective: component boundaries cannot be shifted', () => {
    assert.notDeepEqual(encodeAad('l', ['ab', 'c']), encodeAad('l', ['a', 'bc']));
    assert.notDeepEqual(encodeAad('l', ['a', '']), encodeAad('l', ['a']));
    assert.notDeepEqual(encodeAad('la', ['b']), encodeAad('l', ['ab']));
    assert.notDeepEqual(encodeAad('l', [12]), encodeAad('l', [1, 2]));
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 8 }),
        fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { maxLength: 5 }),
        fc.string({ unit: 'binary', maxLength: 8 }),
        fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { maxLength: 5 }),
        (l1, p1, l2, p2) => {
          const same = l1 === l2 && p1.length === p2.length && p1.every((s, i) => s === p2[i]);
          assert.equal(encodeAad(l1, p1).equals(encodeAad(l2, p2)), same);
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(fc.maxSafeInteger(), { maxLength: 4 }), fc.array(fc.maxSafeInteger(), { maxLength: 4 }), (a, b) => {
        const same = a.length === b.length && a.every((n, i) => n === b[i]);
        assert.equal(encodeAad('n', a).equals(encodeAad('n', b)), same);
      }),
      { numRuns: 200 },
    );
  });

  test('refuses integers it cannot encode exactly and components over 65535 bytes', () => {
    for (const n of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) assert.throws(() => encodeAad('l', [n]), RangeError);
    assert.equal(encodeAad('l', ['a'.repeat(0xffff)]).length, 2 + 1 + 2 + 0xffff);
    assert.throws(() => encodeAad('l', ['a'.repeat(0x10000)]), RangeError);
    assert.throws(() => encodeAad('l', ['あ'.repeat(21846)]), RangeError); // 65538 bytes
  });
});

describe('aadEncoder (batch AADs that share their leading components)', () => {
  const part = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.nat({ max: 2 ** 40 }));
  test('gives byte for byte encodeAad(label, [...fixed, ...rest]), call after call', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.array(part, { maxLength: 3 }), fc.array(fc.array(part, { maxLength: 4 }), { minLength: 1, maxLength: 6 }), (label, fixed, rests) => {
        const encode = aadEncoder(label, fixed);
        for (const rest of rests) assert.deepEqual(encode(...rest), encodeAad(label, [...fixed, ...rest]));
      }),
    );
  });

  test('grows for long components, and each view is overwritten by the next call', () => {
    const encode = aadEncoder('l', ['t']);
    const long = '𠮷'.repeat(1000);
    assert.deepEqual(encode(long, 3), encodeAad('l', ['t', long, 3]));
    const first = encode('a');
    const copy = Buffer.from(first);
    encode('b');
    assert.notDeepEqual(first, copy, 'the view is reused: callers must consume it at once');
  });
});
