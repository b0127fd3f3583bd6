import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { HmacSha256, HMAC_SHA256_BYTES } from '../../src/crypto/index.js';

/** RFC 4231 §4, the HMAC-SHA-256 outputs of test cases 1–7 (case 5 truncated to 128 bits, §4.6). */
const RFC4231 = [
  { key: Buffer.alloc(20, 0x0b), data: Buffer.from('Hi There'), mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' },
  { key: Buffer.from('Jefe'), data: Buffer.from('what do ya want for nothing?'), mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' },
  { key: Buffer.alloc(20, 0xaa), data: Buffer.alloc(50, 0xdd), mac: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe' },
  { key: Buffer.from(Array.from({ length: 25 }, (_, i) => i + 1)), data: Buffer.alloc(50, 0xcd), mac: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b' },
  { key: Buffer.alloc(20, 0x0c), data: Buffer.from('Test With Truncation'), mac: 'a3b6167473100ee06e0c796c2955552b' },
  { key: Buffer.alloc(131, 0xaa), data: Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'), mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54' },
  {
    key: Buffer.alloc(131, 0xaa),
    data: Buffer.from('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
    mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  },
];

describe('HmacSha256 (RFC 2104 with precomputed pads)', () => {
  test('reproduces RFC 4231 test cases 1–7, as bytes and (ASCII data) as a string', () => {
    for (const [i, c] of RFC4231.entries()) {
      const h = new HmacSha256(c.key);
      const length = c.mac.length / 2;
      assert.equal(h.mac(c.data, length).toString('hex'), c.mac, `case ${i + 1}`);
      if (c.data.every((b) => b < 0x80)) assert.equal(h.mac(c.data.toString('ascii'), length).toString('hex'), c.mac, `case ${i + 1} (string)`);
    }
  });

  test('equals createHmac for any key, message and truncation, and writes only its own bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 150 }),
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.uint8Array({ maxLength: 600 })),
        fc.integer({ min: 1, max: HMAC_SHA256_BYTES }),
        fc.nat({ max: 20 }),
        (key, message, length, at) => {
          const h = new HmacSha256(key);
          const expected = createHmac('sha256', key).update(message).digest().subarray(0, length);
          const out = Buffer.alloc(at + length + 2, 0xee);
          h.macInto(message, out, at, length);
          assert.deepEqual(out.subarray(at, at + length), expected);
          assert.ok(out.subarray(0, at).every((b) => b === 0xee) && out.subarray(at + length).every((b) => b === 0xee));
          // Reused: a long message must not leave bytes that change the next, shorter one's MAC.
          assert.deepEqual(h.mac('x'), createHmac('sha256', key).update('x').digest());
        },
      ),
      { numRuns: 300 },
    );
  });

  test('macPartsInto equals createHmac over the parts joined, and leaves no bytes behind for the next MAC', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 }), fc.integer({ min: 1, max: HMAC_SHA256_BYTES }), (key, parts, length) => {
        const h = new HmacSha256(key);
        const out = Buffer.alloc(length);
        h.macPartsInto(parts, out, 0, length);
        assert.deepEqual(out, createHmac('sha256', key).update(Buffer.concat(parts)).digest().subarray(0, length));
        assert.deepEqual(h.mac('x'), createHmac('sha256', key).update('x').digest());
      }),
      { numRuns: 200 },
    );
    assert.throws(() => new HmacSha256(Buffer.alloc(32)).macPartsInto([Buffer.from('x')], Buffer.alloc(16), 1, 16), RangeError);
  });

  test('refuses out-of-range output positions and lengths', () => {
    const h = new HmacSha256(Buffer.alloc(32, 1));
    assert.throws(() => h.macInto('x', Buffer.alloc(16), 1, 16), RangeError);
    assert.throws(() => h.macInto('x', Buffer.alloc(40), 0, 33), RangeError);
    assert.throws(() => h.macInto('x', Buffer.alloc(40), 0, 0), RangeError);
    assert.throws(() => h.macInto('x', Buffer.alloc(40), -1, 8), RangeError);
  });

  test('destroy() zeroes the key: the same message then gives another MAC', () => {
    const h = new HmacSha256(Buffer.alloc(32, 7));
    const before = h.mac('山田');
    h.destroy();
    assert.notDeepEqual(h.mac('山田'), before);
  });
});
