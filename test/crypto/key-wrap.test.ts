import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { kwUnwrapMany, kwWrapMany } from '../../src/crypto/key-wrap.js';
import { openWrappedKey, openWrappedKeys, seal, wrapKeysInto, KEY_WRAP_FORMAT_KW, WRAPPED_KEY_KW_BYTES } from '../../src/crypto/index.js';

const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const nativeWrap = (kek: Buffer, plain: Buffer) => {
  const c = createCipheriv('id-aes256-wrap', kek, KW_IV);
  return Buffer.concat([c.update(plain), c.final()]);
};
const decryptionFailed = { code: 'DECRYPTION_FAILED' };
/** One key in format 2: a batch of one. */
const wrapKey = (kek: Buffer, key: Uint8Array, aad: Uint8Array) => {
  const out = Buffer.alloc(WRAPPED_KEY_KW_BYTES);
  wrapKeysInto(kek, key, 1, () => aad, out, 0);
  return out;
};

describe('AES key wrap, batched (RFC 3394 / SP 800-38F KW)', () => {
  test('reproduces RFC 3394 §4.6 (256 bits of key data under a 256-bit KEK)', () => {
    const kek = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
    const data = Buffer.from('00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f', 'hex');
    assert.equal(kwWrapMany(kek, data, 4, 1).toString('hex'), '28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21');
  });

  test('each output of a batch equals node:crypto\'s own id-aes256-wrap of that input', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 40 }), (n, count) => {
        const kek = randomBytes(32);
        const plain = randomBytes(count * n * 8);
        const out = kwWrapMany(kek, plain, n, count);
        assert.equal(out.length, count * (n + 1) * 8);
        for (let k = 0; k < count; k++) {
          assert.deepEqual(out.subarray(k * (n + 1) * 8, (k + 1) * (n + 1) * 8), nativeWrap(kek, plain.subarray(k * n * 8, (k + 1) * n * 8)));
        }
      }),
      { numRuns: 60 },
    );
    assert.throws(() => kwWrapMany(randomBytes(32), Buffer.alloc(8), 1, 1), RangeError);
    assert.throws(() => kwWrapMany(randomBytes(32), Buffer.alloc(40), 4, 1), RangeError);
  });
});

describe('wrapped-key format 2 (KW of key ‖ SHA-256(AAD)[0..16])', () => {
  const aad = (i: number) => Buffer.from(`tenant\0subject\0person-${i}\0${1}`);

  test('a batch wraps every key under its own AAD; each opens to its key, only under that AAD and KEK', () => {
    const kek = randomBytes(32);
    const count = 25;
    const keys = randomBytes(count * 32);
    const out = Buffer.alloc(3 + count * WRAPPED_KEY_KW_BYTES + 3, 0xee);
    wrapKeysInto(kek, keys, count, aad, out, 3);
    assert.ok(out.subarray(0, 3).every((b) => b === 0xee) && out.subarray(out.length - 3).every((b) => b === 0xee));
    for (let k = 0; k < count; k++) {
      const blob = out.subarray(3 + k * WRAPPED_KEY_KW_BYTES, 3 + (k + 1) * WRAPPED_KEY_KW_BYTES);
      assert.equal(blob[0], KEY_WRAP_FORMAT_KW);
      assert.deepEqual(openWrappedKey(kek, blob, aad(k)), keys.subarray(k * 32, (k + 1) * 32));
      assert.deepEqual(blob, wrapKey(kek, keys.subarray(k * 32, (k + 1) * 32), aad(k)), 'batch and single wrap agree');
      assert.throws(() => openWrappedKey(kek, blob, aad(k + 1)), decryptionFailed);
      assert.throws(() => openWrappedKey(randomBytes(32), blob, aad(k)), decryptionFailed);
    }
  });

  test('any changed byte, a truncation or an extension is the same DECRYPTION_FAILED, never a key', () => {
    const kek = randomBytes(32);
    const key = randomBytes(32);
    const blob = wrapKey(kek, key, aad(1));
    fc.assert(
      fc.property(fc.nat({ max: WRAPPED_KEY_KW_BYTES - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bad = Buffer.from(blob);
        bad[at] = (bad[at] as number) ^ x;
        assert.throws(() => openWrappedKey(kek, bad, aad(1)), decryptionFailed);
      }),
      { numRuns: 200 },
    );
    assert.throws(() => openWrappedKey(kek, blob.subarray(0, WRAPPED_KEY_KW_BYTES - 8), aad(1)), decryptionFailed);
    assert.throws(() => openWrappedKey(kek, Buffer.concat([blob, Buffer.alloc(8)]), aad(1)), decryptionFailed);
    assert.throws(() => openWrappedKey(kek, Buffer.alloc(0), aad(1)), decryptionFailed);
  });

  test('format 1 (AES-256-GCM) wrapped keys still open, under their AAD only', () => {
    const kek = randomBytes(32);
    const key = randomBytes(32);
    const v1 = seal(kek, key, aad(2));
    assert.deepEqual(openWrappedKey(kek, v1, aad(2)), key);
    assert.throws(() => openWrappedKey(kek, v1, aad(3)), decryptionFailed);
  });
});

describe('opening many wrapped keys at once (openWrappedKeys, batched KW unwrap)', () => {
  const aad = (i: number) => Buffer.from(`tenant\0subject\0person-${i}\0${1}`);
  const wrapAll = (kek: Buffer, keys: Buffer, count: number) => {
    const out = Buffer.alloc(count * WRAPPED_KEY_KW_BYTES);
    wrapKeysInto(kek, keys, count, aad, out, 0);
    return Array.from({ length: count }, (_v, k) => out.subarray(k * WRAPPED_KEY_KW_BYTES, (k + 1) * WRAPPED_KEY_KW_BYTES));
  };

  test('the batched unwrap reproduces RFC 3394 §4.6 backwards (256 bits of key data, 256-bit KEK)', () => {
    const kek = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
    const wrapped = Buffer.from('0028c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21', 'hex'); // a format byte, then C
    const { plain, ivOk } = kwUnwrapMany(kek, [wrapped, wrapped], 4);
    assert.equal(plain.subarray(0, 32).toString('hex'), '00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f');
    assert.deepEqual(plain.subarray(32), plain.subarray(0, 32));
    assert.deepEqual([...ivOk], [1, 1]);
    const bad = Buffer.from(wrapped);
    bad[20] = (bad[20] as number) ^ 1;
    assert.deepEqual([...kwUnwrapMany(kek, [wrapped, bad], 4).ivOk], [1, 0], 'a changed byte spoils its own integrity value only');
    assert.throws(() => kwUnwrapMany(kek, [wrapped, wrapped.subarray(0, 33)], 4), RangeError);
  });

  test('every key of a batch opens to what was wrapped, as openWrappedKey opens it, format-1 blobs among them too', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 3 }), (count, gcmAt) => {
        const kek = randomBytes(32);
        const keys = randomBytes(count * 32);
        const blobs: Uint8Array[] = wrapAll(kek, keys, count);
        if (gcmAt < count) blobs[gcmAt] = seal(kek, keys.subarray(gcmAt * 32, (gcmAt + 1) * 32), aad(gcmAt));
        const opened = openWrappedKeys(kek, blobs, aad);
        assert.equal(opened.length, count);
        for (let k = 0; k < count; k++) {
          assert.deepEqual(opened[k], keys.subarray(k * 32, (k + 1) * 32));
          assert.deepEqual(opened[k], openWrappedKey(kek, blobs[k] as Uint8Array, aad(k)));
          if (k > 0) assert.notEqual((opened[k] as Buffer).buffer, (opened[k - 1] as Buffer).buffer, 'each key has memory of its own (zeroed alone when evicted)');
        }
      }),
      { numRuns: 60 },
    );
  });

  test('one bad blob anywhere (a changed byte, another row\'s context, a truncation) fails the whole batch with DECRYPTION_FAILED', () => {
    const kek = randomBytes(32);
    const count = 40;
    const blobs = wrapAll(kek, randomBytes(count * 32), count);
    fc.assert(
      fc.property(fc.nat({ max: count - 1 }), fc.nat({ max: WRAPPED_KEY_KW_BYTES - 1 }), fc.integer({ min: 1, max: 255 }), (which, at, x) => {
        const copy = blobs.map((b) => Buffer.from(b));
        (copy[which] as Buffer)[at] = ((copy[which] as Buffer)[at] as number) ^ x;
        assert.throws(() => openWrappedKeys(kek, copy, aad), decryptionFailed);
      }),
      { numRuns: 150 },
    );
    assert.throws(() => openWrappedKeys(kek, blobs, (i) => aad(i === 17 ? 18 : i)), decryptionFailed);
    assert.throws(() => openWrappedKeys(randomBytes(32), blobs, aad), decryptionFailed);
    assert.throws(() => openWrappedKeys(kek, [...blobs.slice(0, 5), (blobs[5] as Buffer).subarray(0, 40)], aad), decryptionFailed);
    assert.deepEqual(openWrappedKeys(kek, [], aad), []);
  });
});
