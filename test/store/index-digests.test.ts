/** The per-record encoding of blind-index entries kept beside each record's ciphertext. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeIndexDigests, encodeIndexDigests, indexDigestsOf } from '../../src/store/index-digests.js';
import type { IndexRow, RecordRow } from '../../src/store/index.js';

const COLLECTION = 'col-1';

const row = (recordId: string, field: string, unique = false, digest: Buffer = randomBytes(16)): IndexRow => ({ collectionId: COLLECTION, field, digest, recordId, unique });

function record(id: string, indexDigests?: Buffer): RecordRow {
  return {
    collectionId: COLLECTION,
    id,
    tenantId: 't1',
    subjectId: null,
    version: 1,
    keyVersion: 1,
    ciphertext: Buffer.from([1]),
    ...(indexDigests ? { indexDigests } : {}),
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
  };
}

describe('encodeIndexDigests / decodeIndexDigests', () => {
  test('no entries: an empty buffer, decoding to nothing', () => {
    const b = encodeIndexDigests([]);
    assert.equal(b.length, 0);
    assert.deepEqual(decodeIndexDigests(b, COLLECTION, 'r1'), []);
  });

  test('one entry: the documented layout, and back', () => {
    const digest = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const e = row('r1', 'family_name', true, digest);
    const b = encodeIndexDigests([e]);
    assert.equal(b.toString('hex'), `0b${Buffer.from('family_name').toString('hex')}10${digest.toString('hex')}01`);
    assert.deepEqual(decodeIndexDigests(b, COLLECTION, 'r1'), [e]);
  });

  test('many entries: order, names up to 63 characters and unique flags kept; ids come from the caller', () => {
    const longest = `a${'b_9'.repeat(20)}z_`; // 63 characters, the longest field name
    assert.equal(longest.length, 63);
    const entries = [row('r9', 'x', false), row('r9', longest, true), row('r9', 'birth_date', false), row('r9', 'resident_no', true)];
    const b = encodeIndexDigests(entries);
    assert.equal(b.length, entries.reduce((n, e) => n + 3 + e.field.length + 16, 0));
    assert.deepEqual(decodeIndexDigests(b, COLLECTION, 'r9'), entries);
    const elsewhere = decodeIndexDigests(b, 'col-2', 'r10');
    assert.deepEqual(
      elsewhere.map((e) => [e.collectionId, e.recordId]),
      entries.map(() => ['col-2', 'r10']),
    );
  });

  test('decoded digests are copies: changing the encoded buffer afterwards does not change them', () => {
    const e = row('r1', 'kana');
    const b = encodeIndexDigests([e]);
    const [decoded] = decodeIndexDigests(b, COLLECTION, 'r1');
    b.fill(0);
    assert.ok(decoded?.digest.equals(e.digest));
  });

  test('property: any list of entries round-trips', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,62}$/);
    const entry = fc.record({ field: name, digest: fc.uint8Array({ minLength: 16, maxLength: 16 }), unique: fc.boolean() });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 12 }), (list) => {
        const entries = list.map((x) => row('r', x.field, x.unique, Buffer.from(x.digest)));
        assert.deepEqual(decodeIndexDigests(encodeIndexDigests(entries), COLLECTION, 'r'), entries);
      }),
      { numRuns: 200 },
    );
  });
});

describe('indexDigestsOf', () => {
  test("prefers each record's own indexDigests, even when index rows say otherwise", () => {
    const own1 = encodeIndexDigests([row('r1', 'kana')]);
    const own2 = encodeIndexDigests([]);
    const index = [row('r1', 'family_name'), row('r2', 'family_name')];
    const out = indexDigestsOf([record('r1', own1), record('r2', own2)], index);
    assert.equal(out.length, 2);
    assert.ok(out[0]?.equals(own1));
    assert.ok(out[1]?.equals(own2));
  });

  test('otherwise encodes from the index rows, grouped by record, in their order, whatever the interleaving', () => {
    const a1 = row('a', 'family_name', false);
    const b1 = row('b', 'family_name', false);
    const a2 = row('a', 'resident_no', true);
    const b2 = row('b', 'birth_date', false);
    const out = indexDigestsOf([record('a'), record('b'), record('c')], [a1, b1, a2, b2]);
    assert.equal(out.length, 3);
    assert.deepEqual(decodeIndexDigests(out[0] as Buffer, COLLECTION, 'a'), [a1, a2]);
    assert.deepEqual(decodeIndexDigests(out[1] as Buffer, COLLECTION, 'b'), [b1, b2]);
    assert.equal(out[2]?.length, 0, 'a record without index rows gets an empty encoding');
  });

  test('a mix: records with their own encoding keep it, the others are encoded from the rows', () => {
    const own = encodeIndexDigests([row('a', 'kana')]);
    const b1 = row('b', 'family_name');
    const out = indexDigestsOf([record('a', own), record('b')], [row('a', 'family_name'), b1]);
    assert.ok(out[0]?.equals(own));
    assert.deepEqual(decodeIndexDigests(out[1] as Buffer, COLLECTION, 'b'), [b1]);
  });

  test('no records: nothing', () => {
    assert.deepEqual(indexDigestsOf([], [row('x', 'kana')]), []);
  });
});
