import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytesPooled } from '../../src/crypto/index.js';

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
