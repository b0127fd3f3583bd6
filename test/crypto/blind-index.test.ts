import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { blindIndex, blindIndexInto, BLIND_INDEX_BYTES, constantTimeEqual, HmacSha256 } from '../../src/crypto/index.js';

describe('blind index', () => {
  test('is HMAC-SHA-256 truncated to 128 bits (RFC 4231 test case 2)', () => {
    const d = blindIndex(Buffer.from('Jefe'), 'what do ya want for nothing?');
    assert.equal(BLIND_INDEX_BYTES, 16);
    assert.equal(d.toString('hex'), '5bdcc146bf60754e6a042426089575c7');
  });

  test('hashes the UTF-8 of the value; same key and value give the same digest, another key another', () => {
    const k1 = Buffer.alloc(32, 1);
    const k2 = Buffer.alloc(32, 2);
    assert.deepEqual(blindIndex(k1, '山田'), blindIndex(k1, '山田'));
    assert.notDeepEqual(blindIndex(k1, '山田'), blindIndex(k2, '山田'));
    assert.notDeepEqual(blindIndex(k1, '山田'), blindIndex(k1, '山本'));
  });

  test('constantTimeEqual: true exactly when the bytes are equal, whatever the lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        assert.equal(constantTimeEqual(a, b), Buffer.from(a).equals(Buffer.from(b)));
        assert.equal(constantTimeEqual(a, Uint8Array.from(a)), true);
      }),
      { numRuns: 300 },
    );
    assert.equal(constantTimeEqual(Buffer.alloc(0), Buffer.alloc(0)), true);
    assert.equal(constantTimeEqual(Buffer.from([1, 2]), Buffer.from([1, 2, 0])), false);
  });
});

describe('blindIndexInto', () => {
  test('writes blindIndex(key, value) at the offset, and nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.nat({ max: 40 }), (k, v, at) => {
        const key = Buffer.from(k);
        const out = Buffer.alloc(at + BLIND_INDEX_BYTES + 3, 0xee);
        blindIndexInto(new HmacSha256(key), v, out, at);
        assert.deepEqual(out.subarray(at, at + BLIND_INDEX_BYTES), blindIndex(key, v));
        assert.ok(out.subarray(0, at).every((b) => b === 0xee) && out.subarray(at + BLIND_INDEX_BYTES).every((b) => b === 0xee));
      }),
    );
    assert.throws(() => blindIndexInto(new HmacSha256(Buffer.alloc(32)), 'x', Buffer.alloc(BLIND_INDEX_BYTES), 1), RangeError);
  });
});
