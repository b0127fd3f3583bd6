/**
 * SivCtr (generic SIV: HMAC-SHA-256 synthetic IV, AES-256-CTR), batched. Checked against an
 * independent computation with createHmac and node's own aes-256-ctr, and for what an authenticated
 * deterministic scheme must do: equal inputs give equal outputs, and any change fails to open.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { SIV_BYTES, SivCtr } from '../../src/crypto/index.js';

/** The construction, one message at a time, from node:crypto's own HMAC and CTR. */
function reference(macKey: Buffer, encKey: Buffer, header: Uint8Array, m: Uint8Array): Buffer {
  const siv = createHmac('sha256', macKey).update(header).update(m).digest().subarray(0, SIV_BYTES);
  const ctr = createCipheriv('aes-256-ctr', encKey, siv);
  return Buffer.concat([siv, ctr.update(m), ctr.final()]);
}

describe('SivCtr', () => {
  test('equals HMAC-SHA-256 SIV ‖ node aes-256-ctr for every message of a batch (any lengths)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 80 }), fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 20 }), (header, messages) => {
        const macKey = randomBytes(32);
        const encKey = randomBytes(32);
        const s = new SivCtr(macKey, encKey);
        const sealed = s.sealMany(header, messages);
        assert.equal(sealed.length, messages.length);
        messages.forEach((m, i) => assert.deepEqual(sealed[i], reference(macKey, encKey, header, m), `message ${i}`));
        const opened = s.openMany(header, sealed);
        messages.forEach((m, i) => assert.deepEqual(opened[i], Buffer.from(m)));
      }),
      { numRuns: 200 },
    );
  });

  test('the counter carries across bytes (SIVs ending in 0xff…) as aes-256-ctr does', () => {
    const macKey = randomBytes(32);
    const encKey = randomBytes(32);
    const s = new SivCtr(macKey, encKey);
    // Search for messages whose SIV ends in 0xff so the second block's counter carries.
    const header = Buffer.from('h');
    let found = 0;
    for (let i = 0; found < 3 && i < 20_000; i++) {
      const m = Buffer.from(`value-${i}-${'x'.repeat(40)}`);
      const [sealed] = s.sealMany(header, [m]);
      if ((sealed as Buffer)[SIV_BYTES - 1] !== 0xff) continue;
      found++;
      assert.deepEqual(sealed, reference(macKey, encKey, header, m));
    }
    assert.ok(found > 0, 'no SIV ending in 0xff found');
  });

  test('deterministic: equal inputs, equal outputs; the header and the keys change them', () => {
    const macKey = randomBytes(32);
    const encKey = randomBytes(32);
    const s = new SivCtr(macKey, encKey);
    const m = Buffer.from('山田');
    const [a] = s.sealMany(Buffer.from('h1'), [m]);
    assert.deepEqual(s.sealMany(Buffer.from('h1'), [m, m]), [a, a]);
    assert.notDeepEqual(s.sealMany(Buffer.from('h2'), [m])[0], a);
    assert.notDeepEqual(new SivCtr(randomBytes(32), encKey).sealMany(Buffer.from('h1'), [m])[0], a);
    assert.notDeepEqual(new SivCtr(macKey, randomBytes(32)).sealMany(Buffer.from('h1'), [m])[0], a);
  });

  test('any flipped bit, a truncation, another header or another key fails to open; good ones in the batch still open', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (m, at, bit) => {
        const macKey = randomBytes(32);
        const encKey = randomBytes(32);
        const s = new SivCtr(macKey, encKey);
        const header = Buffer.from('kuraban/test');
        const [sealed] = s.sealMany(header, [m]) as [Buffer];
        const bad = Buffer.from(sealed);
        const i = at % bad.length;
        bad[i] = (bad[i] as number) ^ (1 << bit);
        const good = Buffer.from(sealed);
        const opened = s.openMany(header, [bad, good, sealed.subarray(0, sealed.length - 1), sealed.subarray(0, SIV_BYTES - 1)]);
        assert.equal(opened[0], undefined, 'a flipped bit opened');
        assert.deepEqual(opened[1], Buffer.from(m));
        if (m.length > 0) assert.equal(opened[2], undefined, 'a truncated ciphertext opened');
        assert.equal(opened[3], undefined);
        assert.equal(s.openMany(Buffer.from('kuraban/other'), [sealed])[0], undefined);
        assert.equal(new SivCtr(randomBytes(32), encKey).openMany(header, [sealed])[0], undefined);
        // Another encryption key: the SIV (under the MAC key) catches the wrong plaintext, except when
        // the wrong keystream happens to give the same bytes (2^-8 per byte: an empty message always,
        // a 1-byte one 1 time in 256). It never opens to anything but m; from 8 bytes it does not open.
        const otherEnc = new SivCtr(macKey, randomBytes(32)).openMany(header, [sealed])[0];
        if (m.length === 0) assert.deepEqual(otherEnc, Buffer.alloc(0));
        else if (m.length >= 8) assert.equal(otherEnc, undefined);
        else assert.ok(otherEnc === undefined || otherEnc.equals(Buffer.from(m)), 'another encryption key opened to a different value');
      }),
      { numRuns: 300 },
    );
  });

  test('a per-message T is authenticated with the header (HMAC over header ‖ T ‖ M); another T does not open', () => {
    const macKey = randomBytes(32);
    const encKey = randomBytes(32);
    const s = new SivCtr(macKey, encKey);
    const header = Buffer.from('kuraban/test');
    const messages = [Buffer.from('a'), Buffer.from('b'.repeat(40)), Buffer.from('a')];
    const tweaks = messages.map(() => randomBytes(16));
    const sealed = s.sealMany(header, messages, tweaks);
    sealed.forEach((c, i) => assert.deepEqual(c, reference(macKey, encKey, Buffer.concat([header, tweaks[i] as Buffer]), messages[i] as Buffer)));
    assert.notDeepEqual(sealed[0], sealed[2], 'same message, another T');
    assert.deepEqual(s.openMany(header, sealed, tweaks), messages);
    assert.deepEqual(s.openMany(header, sealed, [tweaks[1], tweaks[0], tweaks[2]] as Buffer[]), [undefined, undefined, messages[2]]);
    assert.throws(() => s.sealMany(header, messages, tweaks.slice(1)), RangeError);
    assert.throws(() => s.sealMany(header, messages, [randomBytes(16), randomBytes(15), randomBytes(16)]), RangeError);
  });

  test('refuses a key that is not AES-256', () => {
    assert.throws(() => new SivCtr(randomBytes(32), randomBytes(16)), RangeError);
  });
});
