import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRecordIdGenerator, UUID_PATTERN } from '../../src/vault/index.js';

const bytesOf = (id: string) => Buffer.from(id.replaceAll('-', ''), 'hex');
const msOf = (id: string) => bytesOf(id).readUIntBE(0, 6);

function assertUuidV7(id: string): void {
  assert.match(id, UUID_PATTERN);
  const b = bytesOf(id);
  assert.equal((b[6] as number) >> 4, 7, `version nibble of ${id}`);
  assert.equal((b[8] as number) >> 6, 0b10, `variant bits of ${id}`);
}

describe('UUIDv7 record ids (RFC 9562)', () => {
  test('version 7, variant 10, 48-bit Unix milliseconds first', () => {
    const ms = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const next = createRecordIdGenerator(() => ms);
    for (let i = 0; i < 100; i++) {
      const id = next();
      assertUuidV7(id);
      assert.equal(msOf(id), ms);
    }
  });

  test('strictly increasing within one millisecond, through counter overflow into the next millisecond', () => {
    const ms = 1_700_000_000_000;
    const next = createRecordIdGenerator(() => ms);
    let prev = '';
    const seen = new Set<string>();
    for (let i = 0; i < 6000; i++) {
      const id = next();
      assertUuidV7(id);
      assert.ok(id > prev, `${id} after ${prev}`);
      prev = id;
      seen.add(id);
    }
    assert.equal(seen.size, 6000);
    assert.ok(msOf(prev) > ms, 'the counter overflowed into the next millisecond');
    assert.ok(msOf(prev) <= ms + 3);
  });

  test('strictly increasing when the clock goes backwards', () => {
    const times = [5000, 5000, 4000, 3000, 5001, 1, 6000];
    let i = 0;
    const next = createRecordIdGenerator(() => times[Math.min(i++, times.length - 1)] as number);
    let prev = '';
    for (let k = 0; k < times.length + 20; k++) {
      const id = next();
      assertUuidV7(id);
      assert.ok(id > prev);
      assert.ok(msOf(id) >= 5000);
      prev = id;
    }
  });

  test('with the real clock: unique and in creation order', () => {
    const next = createRecordIdGenerator();
    const ids = Array.from({ length: 20_000 }, () => next());
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
    ids.forEach(assertUuidV7);
  });

  test('two generators in one millisecond do not collide (random bits)', () => {
    const a = createRecordIdGenerator(() => 1);
    const b = createRecordIdGenerator(() => 1);
    const all = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      all.add(a());
      all.add(b());
    }
    assert.equal(all.size, 2000);
  });
});
