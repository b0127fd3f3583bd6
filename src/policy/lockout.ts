import { KurabanError, type ErrorDetail } from '../errors/index.js';

/**
 * Failed-authentication lockout. What is locked is a pair (principal, source): `maxFailures` failed
 * attempts from one source against one principal within `windowMs` lock that pair for `lockMs`.
 * Other sources can still sign in as that principal (so an attacker cannot lock a user out from
 * everywhere), and the source can still try other principals (each counted on its own).
 *
 * In memory, per process, no timers: time comes from the injected clock and expired state is
 * dropped when it is next looked at. Bounded: at most `maxEntries` pairs counting failures and at
 * most `maxEntries` locked pairs, each evicting its least recently touched pair. The two are kept
 * apart so that flooding the table with single failures (cheap) cannot evict a lock (which costs
 * `maxFailures` failures to make).
 */
export interface LockoutOptions {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly lockMs: number;
  /** Milliseconds, e.g. `Date.now`. */
  readonly clock: () => number;
  /** Default 10,000. */
  readonly maxEntries?: number;
}

export interface FailureOutcome {
  /** The pair is locked now (also when it already was). */
  readonly locked: boolean;
  /** This failure is the one that locked it: true once per lock. */
  readonly justLocked: boolean;
}

export class Lockout {
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #lockMs: number;
  readonly #clock: () => number;
  readonly #maxEntries: number;
  /** pair → times of its recent failures (oldest first, at most maxFailures); Map order = least recently touched first. */
  readonly #failures = new Map<string, number[]>();
  /** pair → time the lock ends. */
  readonly #locks = new Map<string, number>();

  constructor(options: LockoutOptions) {
    const maxEntries = options.maxEntries ?? 10_000;
    const details: ErrorDetail[] = [];
    if (!Number.isSafeInteger(options.maxFailures) || options.maxFailures < 1) details.push({ field: 'maxFailures', reason: 'out_of_range' });
    if (!(Number.isFinite(options.windowMs) && options.windowMs > 0)) details.push({ field: 'windowMs', reason: 'out_of_range' });
    if (!(Number.isFinite(options.lockMs) && options.lockMs > 0)) details.push({ field: 'lockMs', reason: 'out_of_range' });
    if (typeof options.clock !== 'function') details.push({ field: 'clock', reason: 'not_a_function' });
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) details.push({ field: 'maxEntries', reason: 'out_of_range' });
    if (details.length > 0) throw new KurabanError('CONFIG_INVALID', 'invalid lockout options', { details });
    this.#maxFailures = options.maxFailures;
    this.#windowMs = options.windowMs;
    this.#lockMs = options.lockMs;
    this.#clock = options.clock;
    this.#maxEntries = maxEntries;
  }

  /** Milliseconds until (principalKey, source) is unlocked; 0 when it is not locked. */
  lockedFor(principalKey: string, source: string): number {
    return this.#remaining(pairKey(principalKey, source), this.#clock());
  }

  /** Records a failed attempt. The failure that reaches maxFailures within windowMs locks the pair. */
  failure(principalKey: string, source: string): FailureOutcome {
    const key = pairKey(principalKey, source);
    const now = this.#clock();
    // While locked, failures neither count nor extend the lock: the caller should not even have tried.
    if (this.#remaining(key, now) > 0) return { locked: true, justLocked: false };
    const recent = (this.#failures.get(key) ?? []).filter((t) => now - t < this.#windowMs);
    recent.push(now);
    this.#failures.delete(key);
    if (recent.length >= this.#maxFailures) {
      this.#locks.delete(key);
      this.#locks.set(key, now + this.#lockMs);
      evict(this.#locks, this.#maxEntries);
      return { locked: true, justLocked: true };
    }
    this.#failures.set(key, recent.slice(-this.#maxFailures));
    evict(this.#failures, this.#maxEntries);
    return { locked: false, justLocked: false };
  }

  /** A successful attempt: forgets the pair's failures. A lock in force stays until it ends. */
  success(principalKey: string, source: string): void {
    this.#failures.delete(pairKey(principalKey, source));
  }

  /** How many pairs are tracked (counting failures or locked): never more than 2 × maxEntries. */
  get size(): number {
    return this.#failures.size + this.#locks.size;
  }

  #remaining(key: string, now: number): number {
    const until = this.#locks.get(key);
    if (until === undefined) return 0;
    if (until > now) return until - now;
    // The lock has ended: the pair starts afresh (its failures were cleared when it was locked).
    this.#locks.delete(key);
    return 0;
  }
}

/** An unambiguous key for the pair, whatever characters either part holds. */
function pairKey(principalKey: string, source: string): string {
  return `${principalKey.length}:${principalKey}|${source}`;
}

function evict<V>(map: Map<string, V>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}
