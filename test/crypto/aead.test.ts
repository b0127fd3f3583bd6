import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { CIPHERTEXT_FORMAT_V1, CIPHERTEXT_OVERHEAD, GCM_NONCE_BYTES, open, seal, sealInto } from '../../src/crypto/index.js';
import { KurabanError } from '../../src/errors/index.js';
import { DECRYPTION_FAILURE_SHAPE, decryptionFailureShape } from '../helpers/errors.js';
import { BLOB_REGIONS, flipByte } from '../helpers/tamper.js';

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a));
const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max }).map((a) => Buffer.from(a));

function assertDecryptionFailed(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KurabanError, `not a KurabanError: ${String(e)}`);
    assert.equal(decryptionFailureShape(e), DECRYPTION_FAILURE_SHAPE);
    return true;
  });
}

describe('AES-256-GCM envelope (seal/open)', () => {
  test('round trip: open(seal(p)) === p for any key, plaintext and AAD', () => {
    fc.assert(
      fc.property(key32, bytes(600), bytes(200), (key, plain, aad) => {
        const blob = seal(key, plain, aad);
        assert.equal(blob.length, plain.length + CIPHERTEXT_OVERHEAD);
        assert.equal(blob[0], CIPHERTEXT_FORMAT_V1);
        assert.deepEqual(open(key, blob, aad), plain);
      }),
      { numRuns: 200 },
    );
  });

  test('the ciphertext does not contain the plaintext and nonces are never repeated', () => {
    const key = randomBytes(32);
    const plain = Buffer.from('山田太郎 1990-04-01 resident 000123'.repeat(4), 'utf8');
    const nonces = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const blob = seal(key, plain, Buffer.alloc(0));
      assert.equal(blob.indexOf(plain.subarray(0, 8)), -1);
      nonces.add(blob.subarray(1, 1 + GCM_NONCE_BYTES).toString('hex'));
    }
    assert.equal(nonces.size, 2000);
  });

  test('opens a published vector (McGrew–Viega GCM test case 16, AES-256, 96-bit IV, with AAD)', () => {
    const key = Buffer.from('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308', 'hex');
    const iv = Buffer.from('cafebabefacedbaddecaf888', 'hex');
    const aad = Buffer.from('feedfacedeadbeeffeedfacedeadbeefabaddad2', 'hex');
    const c = Buffer.from(
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
      'hex',
    );
    const tag = Buffer.from('76fc6ece0f4e1768cddf8853bb2d551b', 'hex');
    const p = 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39';
    const blob = Buffer.concat([Buffer.from([CIPHERTEXT_FORMAT_V1]), iv, c, tag]);
    assert.equal(open(key, blob, aad).toString('hex'), p);
  });

  test('a KeyObject and a Buffer holding the same key are interchangeable', () => {
    const raw = randomBytes(32);
    const aad = Buffer.from('aad');
    const blob = seal(createSecretKey(raw), Buffer.from('x'), aad);
    assert.equal(open(raw, blob, aad).toString(), 'x');
  });

  test('opens a Uint8Array that is a view into a larger buffer', () => {
    const key = randomBytes(32);
    const blob = seal(key, Buffer.from('hello'), Buffer.alloc(0));
    const big = new Uint8Array(blob.length + 10);
    big.set(blob, 7);
    const view = new Uint8Array(big.buffer, 7, blob.length);
    assert.equal(open(key, view, new Uint8Array(0)).toString(), 'hello');
  });

  test('tamper: flipping any bit of any byte (format, nonce, body, tag) fails with the one indistinguishable error', () => {
    fc.assert(
      fc.property(key32, bytes(300), bytes(64), fc.constantFrom(...BLOB_REGIONS), fc.nat(), fc.integer({ min: 1, max: 255 }), (key, plain, aad, r, at, mask) => {
        const tampered = flipByte(seal(key, plain, aad), r, at, mask);
        fc.pre(tampered !== undefined); // an empty plaintext has no body
        assertDecryptionFailed(() => open(key, tampered as Buffer, aad));
      }),
      { numRuns: 300 },
    );
  });

  test('tamper: any change to the AAD (a flipped byte, one byte more or less) fails the same way', () => {
    fc.assert(
      fc.property(key32, bytes(100), bytes(64), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom('flip', 'append', 'truncate'), (key, plain, aad, at, mask, how) => {
        const blob = seal(key, plain, aad);
        let other: Buffer;
        if (how === 'append') other = Buffer.concat([aad, Buffer.from([mask])]);
        else if (how === 'truncate') {
          fc.pre(aad.length > 0);
          other = aad.subarray(0, at % aad.length);
        } else {
          fc.pre(aad.length > 0);
          other = Buffer.from(aad);
          const i = at % aad.length;
          other[i] = (other[i] as number) ^ mask;
        }
        assertDecryptionFailed(() => open(key, blob, other));
      }),
      { numRuns: 200 },
    );
  });

  test('tamper: truncating or extending the blob, or another key, fails the same way', () => {
    fc.assert(
      fc.property(key32, key32, bytes(100), fc.nat(), (key, otherKey, plain, cut) => {
        const aad = Buffer.from('a');
        const blob = seal(key, plain, aad);
        assertDecryptionFailed(() => open(key, blob.subarray(0, cut % blob.length), aad));
        assertDecryptionFailed(() => open(key, Buffer.concat([blob, Buffer.from([cut & 0xff])]), aad));
        if (!otherKey.equals(key)) assertDecryptionFailed(() => open(otherKey, blob, aad));
      }),
      { numRuns: 100 },
    );
  });

  test('a blob with an unknown format byte is refused even if the rest is authentic', () => {
    const key = randomBytes(32);
    const blob = seal(key, Buffer.from('x'), Buffer.alloc(0));
    for (const v of [0x00, 0x02, 0xff]) {
      const b = Buffer.from(blob);
      b[0] = v;
      assertDecryptionFailed(() => open(key, b, Buffer.alloc(0)));
    }
    assertDecryptionFailed(() => open(key, Buffer.alloc(0), Buffer.alloc(0)));
    assertDecryptionFailed(() => open(key, Buffer.alloc(CIPHERTEXT_OVERHEAD - 1, 1), Buffer.alloc(0)));
  });
});

describe('sealInto (batch sealing into one buffer)', () => {
  test('writes a v1 blob at the offset that open() opens, touching nothing else', () => {
    fc.assert(
      fc.property(key32, bytes(300), bytes(40), fc.nat({ max: 50 }), (key, plain, aad, at) => {
        const out = Buffer.alloc(at + CIPHERTEXT_OVERHEAD + plain.length + 7, 0xee);
        const n = sealInto(key, plain, aad, out, at);
        assert.equal(n, CIPHERTEXT_OVERHEAD + plain.length);
        assert.equal(out[at], CIPHERTEXT_FORMAT_V1);
        assert.ok(out.subarray(0, at).every((b) => b === 0xee) && out.subarray(at + n).every((b) => b === 0xee));
        assert.deepEqual(open(key, out.subarray(at, at + n), aad), plain);
      }),
    );
  });

  test('a fresh random nonce for every blob; refuses an output too small', () => {
    const key = randomBytes(32);
    const out = Buffer.alloc(1000 * (CIPHERTEXT_OVERHEAD + 4));
    const nonces = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const at = i * (CIPHERTEXT_OVERHEAD + 4);
      sealInto(key, Buffer.from('abcd'), Buffer.alloc(0), out, at);
      nonces.add(out.subarray(at + 1, at + 1 + GCM_NONCE_BYTES).toString('hex'));
    }
    assert.equal(nonces.size, 1000);
    assert.throws(() => sealInto(key, Buffer.alloc(10), Buffer.alloc(0), Buffer.alloc(CIPHERTEXT_OVERHEAD + 9), 0), RangeError);
    assert.throws(() => sealInto(key, Buffer.alloc(1), Buffer.alloc(0), Buffer.alloc(CIPHERTEXT_OVERHEAD + 1), 1), RangeError);
  });
});
