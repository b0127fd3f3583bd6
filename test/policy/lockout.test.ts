/** Failed-authentication lockout: per (principal, source) pair, sliding window, timed unlock, bounded, no timers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Lockout, type LockoutOptions } from '../../src/policy/lockout.js';
import { rejectsWithCode } from '../helpers/errors.js';

const WINDOW = 60_000;
const LOCK = 300_000;

/** A lockout with a hand-driven clock. */
function setup(options: Partial<Omit<LockoutOptions, 'clock'>> = {}) {
  let now = 1_000_000;
  const lockout = new Lockout({ maxFailures: 3, windowMs: WINDOW, lockMs: LOCK, clock: () => now, ...options });
  return {
    lockout,
    advance(ms: number): void {
      now += ms;
    },
  };
}

describe('Lockout', () => {
  test('locks the pair on the failure that reaches maxFailures within the window', () => {
    const { lockout, advance } = setup();
    assert.deepEqual(lockout.failure('alice', '10.0.0.1'), { locked: false, justLocked: false });
    advance(10_000);
    assert.deepEqual(lockout.failure('alice', '10.0.0.1'), { locked: false, justLocked: false });
    assert.equal(lockout.lockedFor('alice', '10.0.0.1'), 0);
    advance(10_000);
    assert.deepEqual(lockout.failure('alice', '10.0.0.1'), { locked: true, justLocked: true });
    assert.equal(lockout.lockedFor('alice', '10.0.0.1'), LOCK);
    advance(1000);
    assert.equal(lockout.lockedFor('alice', '10.0.0.1'), LOCK - 1000);
  });

  test('does not lock when the failures are spread beyond the window', () => {
    const { lockout, advance } = setup();
    for (let i = 0; i < 10; i++) {
      assert.deepEqual(lockout.failure('alice', 'src'), { locked: false, justLocked: false }, `failure ${i}`);
      advance(WINDOW / 2 + 1); // never three within one window
    }
    assert.equal(lockout.lockedFor('alice', 'src'), 0);
    // Exactly windowMs apart: the first has left the window when the third comes.
    const b = setup();
    b.lockout.failure('bob', 'src');
    b.advance(WINDOW / 2);
    b.lockout.failure('bob', 'src');
    b.advance(WINDOW / 2);
    assert.equal(b.lockout.failure('bob', 'src').locked, false);
    assert.equal(b.lockout.failure('bob', 'src').locked, true, 'but the second and third and fourth are within it');
  });

  test('unlocks after lockMs and starts counting afresh', () => {
    const { lockout, advance } = setup();
    for (let i = 0; i < 3; i++) lockout.failure('alice', 'src');
    advance(LOCK - 1);
    assert.equal(lockout.lockedFor('alice', 'src'), 1);
    advance(1);
    assert.equal(lockout.lockedFor('alice', 'src'), 0);
    assert.deepEqual(lockout.failure('alice', 'src'), { locked: false, justLocked: false }, 'one failure after the lock does not lock again');
    lockout.failure('alice', 'src');
    assert.deepEqual(lockout.failure('alice', 'src'), { locked: true, justLocked: true });
  });

  test('unlocks after lockMs even if nobody asked in between', () => {
    const { lockout, advance } = setup();
    for (let i = 0; i < 3; i++) lockout.failure('alice', 'src');
    advance(LOCK + 5);
    assert.deepEqual(lockout.failure('alice', 'src'), { locked: false, justLocked: false });
  });

  test('justLocked is true exactly once per lock; failures while locked neither count nor extend it', () => {
    const { lockout, advance } = setup();
    const outcomes = [];
    for (let i = 0; i < 6; i++) outcomes.push(lockout.failure('alice', 'src'));
    assert.deepEqual(
      outcomes.map((o) => o.justLocked),
      [false, false, true, false, false, false],
    );
    assert.ok(outcomes.slice(2).every((o) => o.locked));
    advance(LOCK - 10);
    lockout.failure('alice', 'src');
    assert.equal(lockout.lockedFor('alice', 'src'), 10, 'not extended');
    advance(10);
    for (let i = 0; i < 2; i++) assert.equal(lockout.failure('alice', 'src').justLocked, false);
    assert.equal(lockout.failure('alice', 'src').justLocked, true, 'a new lock, once more');
  });

  test('success clears the failures', () => {
    const { lockout } = setup();
    lockout.failure('alice', 'src');
    lockout.failure('alice', 'src');
    lockout.success('alice', 'src');
    assert.equal(lockout.failure('alice', 'src').locked, false);
    assert.equal(lockout.failure('alice', 'src').locked, false);
    assert.equal(lockout.failure('alice', 'src').locked, true);
  });

  test('success does not lift a lock in force', () => {
    const { lockout } = setup();
    for (let i = 0; i < 3; i++) lockout.failure('alice', 'src');
    lockout.success('alice', 'src');
    assert.equal(lockout.lockedFor('alice', 'src'), LOCK);
  });

  test('pairs are independent: same principal from another source, another principal from the same source', () => {
    const { lockout } = setup();
    lockout.failure('alice', 'a');
    lockout.failure('alice', 'b');
    lockout.failure('bob', 'a');
    lockout.failure('alice', 'a');
    assert.equal(lockout.lockedFor('alice', 'a'), 0);
    assert.equal(lockout.failure('alice', 'a').justLocked, true);
    assert.equal(lockout.lockedFor('alice', 'a'), LOCK);
    assert.equal(lockout.lockedFor('alice', 'b'), 0);
    assert.equal(lockout.lockedFor('bob', 'a'), 0);
    assert.equal(lockout.failure('alice', 'b').locked, false);
    // Keys cannot run into each other, whatever they hold.
    for (let i = 0; i < 3; i++) lockout.failure('x|y', 'z');
    assert.equal(lockout.lockedFor('x', 'y|z'), 0);
    assert.equal(lockout.lockedFor('x|y', 'z'), LOCK);
  });

  test('bounded: the least recently touched pairs are evicted, and flooding with failures cannot evict a lock', () => {
    const { lockout, advance } = setup({ maxEntries: 100 });
    for (let i = 0; i < 3; i++) lockout.failure('victim-lock', 'attacker');
    for (let i = 0; i < 10_000; i++) {
      lockout.failure(`p${i}`, 'src');
      advance(1);
    }
    assert.ok(lockout.size <= 200, `size ${lockout.size}`);
    assert.ok(lockout.lockedFor('victim-lock', 'attacker') > 0, 'the lock survived the flood');
    // The newest counting pairs are kept, the oldest are forgotten.
    lockout.failure('p9999', 'src');
    assert.equal(lockout.failure('p9999', 'src').justLocked, true);
    lockout.failure('p0', 'src');
    assert.equal(lockout.failure('p0', 'src').locked, false, 'p0 was evicted, so it starts from zero');
    // Locks are bounded as well.
    for (let i = 0; i < 500; i++) for (let j = 0; j < 3; j++) lockout.failure(`l${i}`, 'src');
    assert.ok(lockout.size <= 200, `size ${lockout.size}`);
    assert.ok(lockout.lockedFor('l499', 'src') > 0);
    assert.equal(lockout.lockedFor('l0', 'src'), 0);
  });

  test('refuses bad options', async () => {
    const clock = (): number => 0;
    await rejectsWithCode(() => new Lockout({ maxFailures: 0, windowMs: 1, lockMs: 1, clock }), 'CONFIG_INVALID');
    await rejectsWithCode(() => new Lockout({ maxFailures: 1.5, windowMs: 1, lockMs: 1, clock }), 'CONFIG_INVALID');
    await rejectsWithCode(() => new Lockout({ maxFailures: 1, windowMs: 0, lockMs: 1, clock }), 'CONFIG_INVALID');
    await rejectsWithCode(() => new Lockout({ maxFailures: 1, windowMs: 1, lockMs: Number.NaN, clock }), 'CONFIG_INVALID');
    await rejectsWithCode(() => new Lockout({ maxFailures: 1, windowMs: 1, lockMs: 1, clock, maxEntries: 0 }), 'CONFIG_INVALID');
  });

  test('time comes only from the injected clock', () => {
    const { lockout } = setup();
    for (let i = 0; i < 3; i++) lockout.failure('alice', 'src');
    // The clock never moves, so the lock never ends however long real time passes.
    assert.equal(lockout.lockedFor('alice', 'src'), LOCK);
  });
});
