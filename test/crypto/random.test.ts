import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytesPooled, randomFillPooled } from '../../src/crypto/index.js';

describe('randomBytesPooled', () => {
  test('returns the requested number of bytes, from the pool and past its size', () => {
    for (const n of [0, 1, 12, 16, 4096, 4097, 20_000]) assert.equal(randomBytesPooled(n).length, n);
  });

  test('never hands out the same bytes twice, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) seen.add(randomBytesPooled(12).toString('hex')); // ~4 refills of the 16 KiB pool
    assert.equal(seen.size, 5000);
  });

  test('each result is an independent copy: changing one leaves later ones random', () => {
    const a = randomBytesPooled(16);
    assert.notDeepEqual(a, Buffer.alloc(16));
    a.fill(0);
    const b = randomBytesPooled(16);
    assert.notDeepEqual(b, Buffer.alloc(16));
    const big = randomBytesPooled(8192);
    assert.ok(big.some((x) => x !== 0));
  });
});

describe('randomFillPooled', () => {
  test('fills exactly the range asked for, with bytes never handed out twice', () => {
    const seen = new Set<string>();
    const out = Buffer.alloc(40, 0xaa);
    for (let i = 0; i < 5000; i++) {
      out.fill(0xaa);
      randomFillPooled(out, 10, 12);
      assert.ok(out.subarray(0, 10).every((b) => b === 0xaa) && out.subarray(22).every((b) => b === 0xaa));
      seen.add(out.subarray(10, 22).toString('hex'));
    }
    assert.equal(seen.size, 5000);
    const big = Buffer.alloc(20_000);
    randomFillPooled(big, 0, 20_000);
    assert.ok(big.some((b) => b !== 0));
    assert.throws(() => randomFillPooled(Buffer.alloc(8), 0, 12), RangeError);
    assert.throws(() => randomFillPooled(Buffer.alloc(20), 10, 12), RangeError);
  });
});
