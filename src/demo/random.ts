/**
 * Seeded, platform-independent randomness for the demo data: xoshiro128** (Blackman and Vigna) seeded
 * from SHA-256 of the seed string, and a keyed Feistel permutation for identifiers that must be unique
 * without retries. Only 32-bit integer arithmetic (Math.imul, shifts) and exactly representable doubles
 * are used, so a seed gives the same numbers on every machine. No Math.random, no clock.
 */

import { createHash } from 'node:crypto';

const TWO_32 = 4294967296;
const TWO_21 = 2097152;

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `stream` separates independent sequences drawn from one seed (e.g. 'residents', 'keys'). */
  constructor(seed: string, stream: string) {
    const h = createHash('sha256').update(`kuraban-demo\u0000${stream}\u0000${seed}`, 'utf8').digest();
    this.s0 = h.readUInt32LE(0);
    this.s1 = h.readUInt32LE(4);
    this.s2 = h.readUInt32LE(8);
    this.s3 = h.readUInt32LE(12);
    // xoshiro's one forbidden state (all zero); 2^-128 likely, handled anyway.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next 32-bit unsigned integer. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A double in [0, 1) with 53 random bits. */
  float(): number {
    return ((this.next() >>> 5) * 67108864 + (this.next() >>> 6)) / 9007199254740992;
  }

  /** An integer in [0, n), n a positive safe integer; one draw when n ≤ 2^21 (the product stays exact). */
  int(n: number): number {
    if (!(n >= 1) || !Number.isSafeInteger(n)) throw new RangeError('int(n) needs a positive safe integer');
    return n <= TWO_21 ? Math.floor((this.next() * n) / TWO_32) : Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi], both inclusive. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p * TWO_32;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    const v = items[this.int(items.length)];
    if (v === undefined) throw new RangeError('pick() needs a non-empty array');
    return v;
  }
}

/** murmur3's 32-bit finaliser: a bijective avalanche mix. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A keyed bijection of [0, m1·m2) (m1, m2 ≤ 2^32): an alternating-radix Feistel network (as in NIST
 * FF1) with an even number of rounds, x = L·m2 + R, each round (L, R) → (R, (L + F(R)) mod m1) and the
 * radices swapped. Distinct inputs give distinct outputs, which is how the demo issues random-looking
 * yet unique numbers (個人番号, 住民票コード, subject ids) at any scale without a set of used values.
 */
export class FeistelPermutation {
  private readonly keys: readonly number[];

  constructor(
    private readonly m1: number,
    private readonly m2: number,
    random: SeededRandom,
    rounds = 6,
  ) {
    if (rounds % 2 !== 0) throw new RangeError('rounds must be even');
    this.keys = Array.from({ length: rounds }, () => random.next());
  }

  /** The image of (hi, lo), hi in [0, m1), lo in [0, m2), as the same kind of pair. */
  pair(hi: number, lo: number): [number, number] {
    let l = hi;
    let r = lo;
    let ml = this.m1;
    let mr = this.m2;
    for (const k of this.keys) {
      const next = (l + (fmix32((r ^ k) >>> 0) % ml)) % ml;
      l = r;
      r = next;
      const m = ml;
      ml = mr;
      mr = m;
    }
    return [l, r];
  }

  /** The image of x in [0, m1·m2) when m1·m2 ≤ 2^53. */
  apply(x: number): number {
    const [hi, lo] = this.pair(Math.floor(x / this.m2), x % this.m2);
    return hi * this.m2 + lo;
  }
}
