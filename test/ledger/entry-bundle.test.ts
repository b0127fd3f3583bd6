import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ENTRY_BUNDLE_WIDTH, MAX_ENTRY_BYTES, TileError, decodeEntryBundle, encodeEntryBundle } from '../../src/ledger/index.js';
import type { TileErrorReason } from '../../src/ledger/index.js';

function throwsReason(fn: () => unknown, reason: TileErrorReason, message?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof TileError && e.reason === reason, message);
}

describe('entry bundles (c2sp.org/tlog-tiles §Log entries)', () => {
  test('uint16 big-endian length prefixes', () => {
    assert.equal(encodeEntryBundle([Buffer.from('one'), Buffer.from('two')]).toString('hex'), '0003' + '6f6e65' + '0003' + '74776f');
    assert.equal(encodeEntryBundle([Buffer.alloc(0)]).toString('hex'), '0000');
    const big = encodeEntryBundle([Buffer.alloc(MAX_ENTRY_BYTES, 1)]);
    assert.equal(big.readUInt16BE(0), 0xffff);
    assert.equal(big.length, 2 + 0xffff);
    assert.deepEqual(decodeEntryBundle(big), [Buffer.alloc(MAX_ENTRY_BYTES, 1)]);
    assert.deepEqual(decodeEntryBundle(Buffer.from('0000000161', 'hex')), [Buffer.alloc(0), Buffer.from('a')]);
  });

  test('bounds: 1…256 entries of at most 65,535 bytes', () => {
    const entries = Array.from({ length: ENTRY_BUNDLE_WIDTH }, (_, i) => Buffer.from(String(i)));
    assert.deepEqual(decodeEntryBundle(encodeEntryBundle(entries), 256), entries);
    throwsReason(() => encodeEntryBundle([...entries, Buffer.from('x')]), 'bundle_too_many_entries');
    throwsReason(() => encodeEntryBundle([]), 'bundle_empty');
    throwsReason(() => encodeEntryBundle([Buffer.alloc(MAX_ENTRY_BYTES + 1)]), 'entry_too_large');
    throwsReason(() => decodeEntryBundle(Buffer.concat([encodeEntryBundle(entries), Buffer.from('0000', 'hex')])), 'bundle_too_many_entries');
    throwsReason(() => decodeEntryBundle(Buffer.alloc(257 * 2)), 'bundle_too_many_entries');
    throwsReason(() => decodeEntryBundle(Buffer.alloc(0)), 'bundle_empty');
  });

  test('truncation and trailing bytes are errors', () => {
    throwsReason(() => decodeEntryBundle(Buffer.from('00', 'hex')), 'bundle_truncated');
    throwsReason(() => decodeEntryBundle(Buffer.from('000361', 'hex')), 'bundle_truncated');
    throwsReason(() => decodeEntryBundle(Buffer.from('0001610001', 'hex')), 'bundle_truncated');
    throwsReason(() => decodeEntryBundle(Buffer.from('ffff', 'hex')), 'bundle_truncated');
    throwsReason(() => decodeEntryBundle(Buffer.from('000161', 'hex'), 2), 'tile_width_mismatch');
  });

  test('round trip; every proper prefix fails against the expected width; random bytes never crash (property)', () => {
    const entry = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 20 }), (entries) => {
        const bundle = encodeEntryBundle(entries);
        assert.deepEqual(decodeEntryBundle(bundle, entries.length), entries);
        for (let cut = 0; cut < bundle.length; cut++) {
          assert.throws(() => decodeEntryBundle(bundle.subarray(0, cut), entries.length), TileError);
        }
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          const out = decodeEntryBundle(bytes);
          assert.deepEqual(encodeEntryBundle(out), Buffer.from(bytes));
        } catch (e) {
          assert.ok(e instanceof TileError, String(e));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
