import { createCipheriv, type Cipher } from 'node:crypto';

/**
 * FF1 format-preserving encryption: NIST SP 800-38G Rev. 1 (February 2019), §5.1, Algorithms 7
 * (FF1.Encrypt) and 8 (FF1.Decrypt), with AES (FIPS 197) from node:crypto as CIPH. Inputs are
 * numeral strings — arrays of integers in [0, radix) — so any alphabet maps onto them (tokens/).
 *
 * The PRF of §4.2 (Algorithm 6) is CBC-MAC over AES; it is computed block by block with one ECB
 * cipher per key (AES-ECB of one block is CIPH_K), so no per-call cipher set-up is paid.
 */

/** §5.1: radix ∈ [2, 2^16]. */
export const FF1_MAX_RADIX = 65_536;
/** §5.1 (Rev. 1): radix^minlen ≥ 1,000,000 — the minimum domain size. */
export const FF1_MIN_DOMAIN = 1_000_000;
/** §5.1: maxlen ≤ 2^32; Kuraban's own bound, far below it (tokens are field values). */
export const FF1_MAX_LENGTH = 4096;
/** Kuraban's bound on the tweak length (maxTlen of §5.1 is the implementation's choice). */
export const FF1_MAX_TWEAK_BYTES = 256;
/** Algorithm 7, step 6: ten Feistel rounds. */
const ROUNDS = 10;
const BLOCK = 16;

export class Ff1DomainError extends Error {
  override readonly name = 'Ff1DomainError';
  constructor(readonly reason: 'radix' | 'length' | 'numeral' | 'tweak' | 'key') {
    super(`FF1 input outside its domain: ${reason}`);
  }
}

/** The smallest length whose domain radix^len reaches FF1_MIN_DOMAIN (§5.1). */
export function ff1MinLength(radix: number): number {
  let len = 1;
  for (let size = radix; size < FF1_MIN_DOMAIN; size *= radix) len++;
  return len;
}

export class Ff1 {
  private readonly ecb: Cipher;
  private readonly bigRadix: bigint;
  private readonly minLength: number;
  private readonly shapes = new Map<string, Shape>();
  private readonly scratch = Buffer.alloc(BLOCK);

  /** `key`: 16, 24 or 32 bytes (AES-128, -192, -256). The key is copied into the cipher. */
  constructor(key: Uint8Array, readonly radix: number) {
    if (!Number.isInteger(radix) || radix < 2 || radix > FF1_MAX_RADIX) throw new Ff1DomainError('radix');
    if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new Ff1DomainError('key');
    this.ecb = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
    this.ecb.setAutoPadding(false);
    this.bigRadix = BigInt(radix);
    this.minLength = ff1MinLength(radix);
  }

  encrypt(x: readonly number[], tweak: Uint8Array = EMPTY): number[] {
    return this.run(x, tweak, true);
  }

  decrypt(y: readonly number[], tweak: Uint8Array = EMPTY): number[] {
    return this.run(y, tweak, false);
  }

  /**
   * Many numeral strings under one tweak, the same as mapping encrypt/decrypt over them. Strings of
   * one length share every step but the last CBC-MAC block of each round, and CIPH is AES-ECB: the
   * round's blocks of all strings go through one cipher call instead of one call each.
   */
  encryptMany(xs: readonly (readonly number[])[], tweak: Uint8Array = EMPTY): number[][] {
    return this.runMany(xs, tweak, true);
  }

  decryptMany(ys: readonly (readonly number[])[], tweak: Uint8Array = EMPTY): number[][] {
    return this.runMany(ys, tweak, false);
  }

  private runMany(xs: readonly (readonly number[])[], tweak: Uint8Array, encrypt: boolean): number[][] {
    const out = new Array<number[]>(xs.length);
    const byLength = new Map<number, number[]>();
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i] as readonly number[];
      if (x.length < this.minLength || x.length > FF1_MAX_LENGTH) throw new Ff1DomainError('length');
      for (const d of x) if (!Number.isInteger(d) || d < 0 || d >= this.radix) throw new Ff1DomainError('numeral');
      const list = byLength.get(x.length);
      if (list) list.push(i);
      else byLength.set(x.length, [i]);
    }
    if (tweak.length > FF1_MAX_TWEAK_BYTES) throw new Ff1DomainError('tweak');
    for (const [n, indexes] of byLength) {
      const shape = this.shape(n, tweak);
      if (!shape.small || shape.tail.length !== BLOCK || shape.d !== 8) {
        for (const i of indexes) out[i] = this.runBig(xs[i] as readonly number[], shape, encrypt);
        continue;
      }
      this.runSmallMany(xs, indexes, shape, encrypt, out);
    }
    return out;
  }

  /** runSmall for many strings at once: per round, one AES-ECB call over every string's last Q block. */
  private runSmallMany(xs: readonly (readonly number[])[], indexes: readonly number[], s: Shape, encrypt: boolean, out: number[][]): void {
    const { u, v, bBytes, roundAt, radixUNum, radixVNum } = s;
    const count = indexes.length;
    const a = new Float64Array(count);
    const b = new Float64Array(count);
    for (let k = 0; k < count; k++) {
      const x = xs[indexes[k] as number] as readonly number[];
      a[k] = this.numSmall(x, 0, u);
      b[k] = this.numSmall(x, u, u + v);
    }
    const blocks = Buffer.alloc(count * BLOCK);
    const state = s.state;
    const tail = s.tail;
    for (let round = 0; round < ROUNDS; round++) {
      const i = encrypt ? round : ROUNDS - 1 - round;
      tail[roundAt] = i;
      for (let k = 0; k < count; k++) {
        const at = k * BLOCK;
        let rest = encrypt ? (b[k] as number) : (a[k] as number);
        for (let j = roundAt + bBytes; j > roundAt; j--) {
          tail[j] = rest % 256;
          rest = Math.floor(rest / 256);
        }
        for (let j = 0; j < BLOCK; j++) blocks[at + j] = (state[j] as number) ^ (tail[j] as number);
      }
      const r = this.ecb.update(blocks); // R of every string (step 6.ii), d = 8: S = R[0..8)
      const m = i % 2 === 0 ? radixUNum : radixVNum;
      for (let k = 0; k < count; k++) {
        const at = k * BLOCK;
        const y = ((r.readUInt32BE(at) % m) * 0x1_0000_0000 + r.readUInt32BE(at + 4)) % m;
        if (encrypt) {
          const c = ((a[k] as number) + y) % m;
          a[k] = b[k] as number;
          b[k] = c;
        } else {
          const c = ((((b[k] as number) - y) % m) + m) % m;
          b[k] = a[k] as number;
          a[k] = c;
        }
      }
    }
    for (let k = 0; k < count; k++) {
      const res = new Array<number>(u + v);
      this.strSmall(a[k] as number, u, res, 0);
      this.strSmall(b[k] as number, v, res, u);
      out[indexes[k] as number] = res;
    }
  }

  private run(x: readonly number[], tweak: Uint8Array, encrypt: boolean): number[] {
    const n = x.length;
    if (n < this.minLength || n > FF1_MAX_LENGTH) throw new Ff1DomainError('length');
    if (tweak.length > FF1_MAX_TWEAK_BYTES) throw new Ff1DomainError('tweak');
    for (const d of x) if (!Number.isInteger(d) || d < 0 || d >= this.radix) throw new Ff1DomainError('numeral');
    const shape = this.shape(n, tweak);
    return shape.small ? this.runSmall(x, shape, encrypt) : this.runBig(x, shape, encrypt);
  }

  /**
   * Steps 1–5 and the constant part of step 6.i, once per (n, tweak): u, v, b, d, and the CBC-MAC
   * state after P and after every block of Q that holds only T and padding — those blocks are the
   * same in all ten rounds; only the last 1 + b bytes ([i]^1 ‖ [NUM_radix(B)]^b) change.
   */
  private shape(n: number, tweak: Uint8Array): Shape {
    const id = `${n}:${Buffer.from(tweak).toString('base64')}`;
    const cached = this.shapes.get(id);
    if (cached) return cached;
    const t = tweak.length;
    // Steps 1–2: u = ⌊n/2⌋, v = n − u.
    const u = n >> 1;
    const v = n - u;
    // Step 3: b = ⌈⌈v·LOG(radix)⌉/8⌉ — the bytes of radix^v − 1, computed exactly.
    const radixV = this.bigRadix ** BigInt(v);
    const bBytes = Math.ceil(bitLength(radixV - 1n) / 8);
    // Step 4: d = 4⌈b/4⌉ + 4.
    const d = 4 * Math.ceil(bBytes / 4) + 4;
    // Step 5: P = [1]^1 ‖ [2]^1 ‖ [1]^1 ‖ [radix]^3 ‖ [10]^1 ‖ [u mod 256]^1 ‖ [n]^4 ‖ [t]^4.
    const p = Buffer.alloc(BLOCK);
    p[0] = 1;
    p[1] = 2;
    p[2] = 1;
    p.writeUIntBE(this.radix, 3, 3);
    p[6] = 10;
    p[7] = u & 0xff;
    p.writeUInt32BE(n, 8);
    p.writeUInt32BE(t, 12);
    // Step 6.i: Q = T ‖ [0]^((−t−b−1) mod 16) ‖ [i]^1 ‖ [NUM_radix(B)]^b.
    const pad = mod(-t - bBytes - 1, BLOCK);
    const fixed = t + pad; // bytes of Q that never change
    const constBlocks = Math.floor(fixed / BLOCK);
    const head = Buffer.alloc(constBlocks * BLOCK);
    head.set(tweak.subarray(0, Math.min(t, head.length)), 0);
    const tail = Buffer.alloc(t + pad + 1 + bBytes - head.length);
    if (t > head.length) tail.set(tweak.subarray(head.length), 0);
    // CBC-MAC (Algorithm 6) over P and the constant blocks of Q.
    const state = this.cbcMac(Buffer.alloc(BLOCK), Buffer.concat([p, head]));
    const radixVNum = this.radix ** v;
    const shape: Shape = {
      u, v, bBytes, d, state, tail, roundAt: tail.length - 1 - bBytes,
      radixU: this.bigRadix ** BigInt(u), radixV,
      small: radixVNum <= SMALL_MODULUS, radixUNum: this.radix ** u, radixVNum,
    };
    if (this.shapes.size >= 64) this.shapes.clear();
    this.shapes.set(id, shape);
    return shape;
  }

  /** Steps 6–7 with numbers in doubles: radix^v ≤ 2^21, so every intermediate stays below 2^53. */
  private runSmall(x: readonly number[], s: Shape, encrypt: boolean): number[] {
    const { u, v, bBytes, d, tail, roundAt, radixUNum, radixVNum } = s;
    let a = this.numSmall(x, 0, u);
    let b = this.numSmall(x, u, u + v);
    for (let k = 0; k < ROUNDS; k++) {
      const i = encrypt ? k : ROUNDS - 1 - k;
      tail[roundAt] = i;
      let rest = encrypt ? b : a;
      for (let j = roundAt + bBytes; j > roundAt; j--) {
        tail[j] = rest % 256;
        rest = Math.floor(rest / 256);
      }
      // Step 6.ii: R = PRF(P ‖ Q); d ≤ 8 here, so S = R (step 6.iii) and y = NUM(S[0..d)) (step 6.iv).
      const r = this.cbcMac(s.state, tail);
      const m = i % 2 === 0 ? radixUNum : radixVNum; // step 6.v
      // y mod m without BigInt: y = hi·2^32 + lo over d = 8 bytes.
      const hi = d === 8 ? r.readUInt32BE(0) : 0;
      const lo = r.readUInt32BE(d - 4);
      const y = ((hi % m) * 0x1_0000_0000 + lo) % m;
      if (encrypt) {
        const c = (a + y) % m; // steps 6.vi–ix
        a = b;
        b = c;
      } else {
        const c = (((b - y) % m) + m) % m; // Algorithm 8, steps 6.vi–ix
        b = a;
        a = c;
      }
    }
    const out = new Array<number>(u + v);
    this.strSmall(a, u, out, 0);
    this.strSmall(b, v, out, u);
    return out;
  }

  private runBig(x: readonly number[], s: Shape, encrypt: boolean): number[] {
    const { u, v, bBytes, d, tail, roundAt, radixU, radixV } = s;
    let a = this.num(x, 0, u);
    let b = this.num(x, u, u + v);
    const blocks = Math.ceil(d / BLOCK);
    const out = Buffer.alloc(blocks * BLOCK);
    for (let k = 0; k < ROUNDS; k++) {
      const i = encrypt ? k : ROUNDS - 1 - k;
      tail[roundAt] = i;
      writeBig(tail, roundAt + 1, bBytes, encrypt ? b : a);
      // Step 6.ii: R = PRF(P ‖ Q) (Algorithm 6: CBC-MAC).
      const r = this.cbcMac(s.state, tail);
      // Step 6.iii: S = first d bytes of R ‖ CIPH(R ⊕ [1]^16) ‖ … ‖ CIPH(R ⊕ [⌈d/16⌉−1]^16).
      r.copy(out, 0);
      for (let j = 1; j < blocks; j++) {
        const block = Buffer.from(r);
        xorCounter(block, j);
        this.ciph(block).copy(out, j * BLOCK);
      }
      // Step 6.iv: y = NUM(S) over d bytes.
      const y = readBig(out, d);
      // Step 6.v: m = u for even i, v for odd i.
      const modulus = i % 2 === 0 ? radixU : radixV;
      if (encrypt) {
        // Steps 6.vi–ix: c = (NUM_radix(A) + y) mod radix^m; A = B; B = C.
        const c = (a + y) % modulus;
        a = b;
        b = c;
      } else {
        // Algorithm 8, steps 6.vi–ix: c = (NUM_radix(B) − y) mod radix^m; B = A; A = C.
        const c = bigMod(b - y, modulus);
        b = a;
        a = c;
      }
    }
    // Step 7: A ‖ B, as numeral strings of lengths u and v (STR^m_radix).
    return [...this.str(a, u), ...this.str(b, v)];
  }

  private numSmall(x: readonly number[], from: number, to: number): number {
    let out = 0;
    for (let i = from; i < to; i++) out = out * this.radix + (x[i] as number);
    return out;
  }

  private strSmall(value: number, m: number, out: number[], at: number): void {
    let rest = value;
    for (let i = at + m - 1; i >= at; i--) {
      out[i] = rest % this.radix;
      rest = Math.floor(rest / this.radix);
    }
  }

  /** NUM_radix (§4.5, Algorithm 2): the numeral string x[from..to) as a number, most significant first. */
  private num(x: readonly number[], from: number, to: number): bigint {
    // Groups of numerals in a double (exact below 2^53) keep BigInt operations few.
    let out = 0n;
    let acc = 0;
    let scale = 1;
    for (let i = from; i < to; i++) {
      acc = acc * this.radix + (x[i] as number);
      scale *= this.radix;
      if (scale * this.radix > Number.MAX_SAFE_INTEGER || i === to - 1) {
        out = out * BigInt(scale) + BigInt(acc);
        acc = 0;
        scale = 1;
      }
    }
    return out;
  }

  /** STR^m_radix (§4.5, Algorithm 3): m numerals, most significant first. */
  private str(value: bigint, m: number): number[] {
    const out = new Array<number>(m);
    let rest = value;
    for (let i = m - 1; i >= 0; i--) {
      if (rest === 0n) {
        out[i] = 0;
        continue;
      }
      out[i] = Number(rest % this.bigRadix);
      rest /= this.bigRadix;
    }
    return out;
  }

  private ciph(block: Buffer): Buffer {
    return this.ecb.update(block);
  }

  /** Algorithm 6 (PRF), continuing from a chaining value: Yⱼ = CIPH(Yⱼ₋₁ ⊕ Xⱼ) over the blocks of `q`. */
  private cbcMac(y1: Buffer, q: Buffer): Buffer {
    let y = y1;
    const x = this.scratch;
    for (let off = 0; off < q.length; off += BLOCK) {
      for (let k = 0; k < BLOCK; k++) x[k] = (y[k] as number) ^ (q[off + k] as number);
      y = this.ciph(x);
    }
    return y;
  }
}

const EMPTY = new Uint8Array(0);
/** The double fast path: (m − 1)·2^32 + 2^32 − 1 < 2^53 for m ≤ 2^21. */
const SMALL_MODULUS = 2 ** 21;

interface Shape {
  readonly u: number;
  readonly v: number;
  readonly bBytes: number;
  readonly d: number;
  /** CBC-MAC chaining value after P and the constant blocks of Q. */
  readonly state: Buffer;
  /** The varying blocks of Q (the end of T and padding, then [i]^1 ‖ [NUM_radix(B)]^b); reused per round. */
  readonly tail: Buffer;
  /** Offset of [i]^1 in `tail`. */
  readonly roundAt: number;
  readonly radixU: bigint;
  readonly radixV: bigint;
  readonly small: boolean;
  readonly radixUNum: number;
  readonly radixVNum: number;
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

function bigMod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** [x]^s of §4.1: x as s bytes, big-endian. */
function writeBig(buf: Buffer, offset: number, length: number, value: bigint): void {
  let rest = value;
  for (let i = offset + length - 1; i >= offset; i--) {
    buf[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

function readBig(buf: Buffer, length: number): bigint {
  let out = 0n;
  for (let i = 0; i < length; i += 4) {
    const take = Math.min(4, length - i);
    out = (out << BigInt(take * 8)) | BigInt(buf.readUIntBE(i, take));
  }
  return out;
}

/** R ⊕ [j]^16: j as a 16-byte big-endian integer XORed into the block. */
function xorCounter(block: Buffer, j: number): void {
  let rest = j;
  for (let i = BLOCK - 1; i >= 0 && rest > 0; i--) {
    block[i] = (block[i] as number) ^ (rest & 0xff);
    rest = Math.floor(rest / 256);
  }
}
