import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyCache } from '../../src/keys/index.js';

const isZero = (b: Buffer) => b.every((x) => x === 0);
const key = (v: number) => Buffer.alloc(8, v);

describe('KeyCache', () => {
  test('returns what was set, while it is recent', () => {
    const c = new KeyCache(10);
    const a = key(1);
    c.set('a', a);
    assert.equal(c.get('a'), a);
    assert.equal(c.get('b'), undefined);
    assert.equal(c.size, 1);
  });

  test('is bounded and zeroes the keys it evicts', () => {
    const c = new KeyCache(4); // two generations of 2
    const keys = [1, 2, 3, 4, 5].map(key);
    keys.forEach((k, i) => c.set(`k${i}`, k));
    assert.ok(c.size <= 4);
    assert.equal(c.get('k0'), undefined);
    assert.equal(c.get('k1'), undefined);
    assert.ok(isZero(keys[0] as Buffer) && isZero(keys[1] as Buffer), 'evicted keys are overwritten with zeros');
    assert.equal(c.get('k4'), keys[4]);
    assert.ok(!isZero(keys[4] as Buffer));
  });

  test('a hit in the old generation is promoted and survives the next eviction', () => {
    const c = new KeyCache(4);
    const a = key(1);
    c.set('a', a);
    c.set('b', key(2));
    c.set('c', key(3)); // a, b move to the old generation
    assert.equal(c.get('a'), a); // promoted
    c.set('d', key(4)); // rotation: old generation {b} dropped
    c.set('e', key(5));
    assert.equal(c.get('a'), a);
    assert.ok(!isZero(a));
    assert.equal(c.get('b'), undefined);
  });

  test('replacing a key zeroes the replaced buffer, but not when the same buffer is set again', () => {
    const c = new KeyCache(10);
    const a1 = key(1);
    const a2 = key(2);
    c.set('a', a1);
    c.set('a', a1);
    assert.ok(!isZero(a1));
    c.set('a', a2);
    assert.ok(isZero(a1));
    assert.equal(c.get('a'), a2);
    assert.equal(c.size, 1);
  });

  test('clear() zeroes every key and empties the cache', () => {
    const c = new KeyCache(6);
    const keys = [1, 2, 3, 4, 5].map(key);
    keys.forEach((k, i) => c.set(`k${i}`, k));
    const held = keys.filter((k) => !isZero(k));
    assert.ok(held.length > 0);
    c.clear();
    assert.equal(c.size, 0);
    assert.ok(keys.every(isZero));
    assert.equal(c.get('k4'), undefined);
  });

  test('property: never above its bound; a key is either held intact or zeroed, never lost un-zeroed', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), id: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('get' as const), id: fc.integer({ min: 0, max: 12 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.array(op, { maxLength: 80 }), (max, ops) => {
        const c = new KeyCache(max);
        const all: Buffer[] = [];
        const latest = new Map<number, Buffer>();
        for (const o of ops) {
          if (o.kind === 'set') {
            const b = Buffer.alloc(4);
            b.writeUInt32BE(all.length + 1);
            all.push(b);
            latest.set(o.id, b);
            c.set(String(o.id), b);
          } else {
            const got = c.get(String(o.id));
            if (got !== undefined) {
              assert.equal(got, latest.get(o.id), 'a hit is the latest key set for that id');
              assert.ok(!isZero(got), 'a hit is never a zeroed key');
            }
          }
          assert.ok(c.size <= Math.max(2, max), `size ${c.size} above bound ${max}`);
        }
        const live = all.filter((b) => !isZero(b));
        assert.equal(live.length, c.size, 'every key that left the cache was zeroed');
      }),
      { numRuns: 300 },
    );
  });
});
