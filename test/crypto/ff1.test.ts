import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Ff1, Ff1DomainError, ff1MinLength } from '../../src/crypto/index.js';
import { projectRoot } from '../helpers/project-root.js';

interface Sample { sample: number; aes: number; key: string; radix: number; tweak: string; plaintext: string; ciphertext: string }
const { samples } = JSON.parse(readFileSync(join(projectRoot(), 'test', 'crypto', 'fixtures', 'nist-ff1-samples.json'), 'utf8')) as { samples: Sample[] };
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const toNumerals = (s: string) => [...s].map((c) => ALPHABET.indexOf(c));
const fromNumerals = (n: number[]) => n.map((d) => ALPHABET[d]).join('');

describe('FF1 (NIST SP 800-38G)', () => {
  test('the fixture holds all nine NIST samples: AES-128/192/256, radix 10 and 36, with and without tweak', () => {
    assert.deepEqual(samples.map((s) => s.sample), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual([...new Set(samples.map((s) => s.aes))], [128, 192, 256]);
    assert.deepEqual([...new Set(samples.map((s) => s.radix))].sort(), [10, 36]);
    assert.ok(samples.some((s) => s.tweak === '') && samples.some((s) => s.tweak !== ''));
  });

  for (const s of samples) {
    test(`sample ${s.sample}: AES-${s.aes}, radix ${s.radix}, ${s.tweak === '' ? 'no tweak' : 'tweak'} — encrypt and decrypt`, () => {
      const key = Buffer.from(s.key, 'hex');
      assert.equal(key.length * 8, s.aes);
      const ff1 = new Ff1(key, s.radix);
      const tweak = Buffer.from(s.tweak, 'hex');
      assert.equal(fromNumerals(ff1.encrypt(toNumerals(s.plaintext), tweak)), s.ciphertext);
      assert.equal(fromNumerals(ff1.decrypt(toNumerals(s.ciphertext), tweak)), s.plaintext);
    });
  }

  test('property: decrypt(encrypt(x)) = x, output stays in the radix and the length, for radix 10, 36 and 62', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(10, 36, 62),
        fc.integer({ min: 0, max: 40 }),
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
        (radix, extra, tweak, seeds) => {
          const len = ff1MinLength(radix) + extra;
          const x = seeds.slice(0, len).concat(Array.from({ length: Math.max(0, len - 64) }, (_v, i) => i)).map((v) => v % radix);
          const ff1 = new Ff1(randomBytes(32), radix);
          const y = ff1.encrypt(x, tweak);
          assert.equal(y.length, x.length);
          assert.ok(y.every((d) => Number.isInteger(d) && d >= 0 && d < radix));
          assert.deepEqual(ff1.decrypt(y, tweak), x);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('property: encryptMany/decryptMany equal encrypt/decrypt one by one (mixed lengths, both arithmetic paths)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(10, 36, 62),
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 30 }),
        fc.uint8Array({ minLength: 0, maxLength: 90 }),
        fc.nat(),
        (radix, extras, tweak, seed) => {
          const ff1 = new Ff1(randomBytes(32), radix);
          let x = seed;
          const next = () => (x = (x * 1103515245 + 12345) % 2147483648) % radix;
          const xs = extras.map((e) => Array.from({ length: ff1MinLength(radix) + e }, next));
          const many = ff1.encryptMany(xs, tweak);
          assert.deepEqual(many, xs.map((v) => ff1.encrypt(v, tweak)));
          assert.deepEqual(ff1.decryptMany(many, tweak), xs);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a different tweak or key gives a different ciphertext', () => {
    const key = randomBytes(32);
    const x = toNumerals('123456789012');
    const a = new Ff1(key, 10).encrypt(x, Buffer.from('a'));
    assert.notDeepEqual(new Ff1(key, 10).encrypt(x, Buffer.from('b')), a);
    assert.notDeepEqual(new Ff1(randomBytes(32), 10).encrypt(x, Buffer.from('a')), a);
  });

  test('minimum domain size (SP 800-38G Rev. 1 §5.1: radix^minlen ≥ 1,000,000)', () => {
    assert.equal(ff1MinLength(10), 6);
    assert.equal(ff1MinLength(36), 4);
    assert.equal(ff1MinLength(62), 4);
    assert.equal(ff1MinLength(2), 20);
    const ff1 = new Ff1(randomBytes(32), 10);
    assert.throws(() => ff1.encrypt([1, 2, 3, 4, 5]), (e: unknown) => e instanceof Ff1DomainError && e.reason === 'length');
    assert.equal(ff1.encrypt([1, 2, 3, 4, 5, 6]).length, 6);
  });

  test('bad input is refused: numerals outside the radix, bad radix, bad key length, long tweak', () => {
    const ff1 = new Ff1(randomBytes(32), 10);
    assert.throws(() => ff1.encrypt([1, 2, 3, 4, 5, 10]), (e: unknown) => e instanceof Ff1DomainError && e.reason === 'numeral');
    assert.throws(() => ff1.encrypt([1, 2, 3, 4, 5, -1]), (e: unknown) => e instanceof Ff1DomainError && e.reason === 'numeral');
    assert.throws(() => ff1.encrypt([1, 2, 3, 4, 5, 1.5]), (e: unknown) => e instanceof Ff1DomainError && e.reason === 'numeral');
    assert.throws(() => ff1.encrypt([1, 2, 3, 4, 5, 6], Buffer.alloc(257)), (e: unknown) => e instanceof Ff1DomainError && e.reason === 'tweak');
    assert.throws(() => new Ff1(randomBytes(32), 1), (e: unknown) => e instanceof Ff1DomainError && e.reason === 'radix');
    assert.throws(() => new Ff1(randomBytes(32), 65_537), (e: unknown) => e instanceof Ff1DomainError && e.reason === 'radix');
    assert.throws(() => new Ff1(randomBytes(31), 10), (e: unknown) => e instanceof Ff1DomainError && e.reason === 'key');
  });
});
