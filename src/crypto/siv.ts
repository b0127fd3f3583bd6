import { createCipheriv, type Cipher } from 'node:crypto';
import { constantTimeEqual } from './blind-index.js';
import { HmacSha256 } from './hmac.js';

/**
 * Deterministic authenticated encryption by the generic SIV composition (Rogaway and Shrimpton,
 * "A Provable-Security Treatment of the Key-Wrap Problem", EUROCRYPT 2006, §4; the construction
 * RFC 5297 instantiates with CMAC), batched:
 *
 *   SIV = HMAC-SHA-256(K1, header ‖ T ‖ M)[0..16)      the synthetic IV: a PRF of everything
 *   C   = M ⊕ AES-256-CTR keystream(K2, SIV)             counter blocks SIV, SIV+1, … (128-bit, big-endian)
 *   out = SIV ‖ C
 *
 * Opening recomputes the SIV from the decrypted M and compares it in constant time; that is the
 * authentication (a changed bit anywhere changes M or the SIV, and the PRF check fails). The header
 * (one per batch) and T (optional, one per message, all of one length: a record's or token's own
 * context) are authenticated, not encrypted; callers pass an injective encoding of the header
 * (encodeAad), so header ‖ T ‖ M splits one way. K1 and K2 are independent keys.
 *
 * The counter increment is the standard one of NIST SP 800-38A Appendix B.1 over the whole block
 * (m = 128), which is what OpenSSL's aes-256-ctr does: the tests check the ciphertext against it.
 *
 * Why batched: node:crypto costs a few µs per cipher object or call whatever the size. CTR's
 * keystream is AES-ECB of the counter blocks, so the blocks of every message of a batch go through
 * one ECB call; the per-message cost is one HMAC (HmacSha256: pads computed once).
 */
export const SIV_BYTES = 16; // the AES block: the SIV is the first counter block
const BLOCK = 16;
const AES_256_KEY_BYTES = 32;

export class SivCtr {
  readonly #mac: HmacSha256;
  readonly #ecb: Cipher;

  /** `macKey`: the HMAC key (K1); `encKey`: the AES-256 key (K2). Both are copied. */
  constructor(macKey: Uint8Array, encKey: Uint8Array) {
    if (encKey.length !== AES_256_KEY_BYTES) throw new RangeError('SivCtr: AES-256 key expected');
    this.#mac = new HmacSha256(macKey);
    this.#ecb = createCipheriv('aes-256-ecb', encKey, null);
    this.#ecb.setAutoPadding(false);
  }

  /** SIV ‖ C for each message, in order (views of one buffer); `tweaks[i]` is message i's T. */
  sealMany(header: Uint8Array, messages: readonly Uint8Array[], tweaks?: readonly Uint8Array[]): Buffer[] {
    checkTweaks(messages.length, tweaks);
    let blocks = 0;
    let bytes = 0;
    for (const m of messages) {
      blocks += Math.ceil(m.length / BLOCK);
      bytes += SIV_BYTES + m.length;
    }
    const out = Buffer.alloc(bytes);
    const counters = Buffer.allocUnsafe(blocks * BLOCK);
    const views = new Array<Buffer>(messages.length);
    const parts: Uint8Array[] = tweaks ? [header, EMPTY, EMPTY] : [header, EMPTY];
    let at = 0;
    let block = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as Uint8Array;
      if (tweaks) parts[1] = tweaks[i] as Uint8Array;
      parts[parts.length - 1] = m;
      this.#mac.macPartsInto(parts, out, at, SIV_BYTES);
      block = fillCounters(out, at, m.length, counters, block);
      views[i] = out.subarray(at, at + SIV_BYTES + m.length);
      at += SIV_BYTES + m.length;
    }
    const keystream = this.#ecb.update(counters);
    at = 0;
    let k = 0;
    for (const m of messages) {
      const c = at + SIV_BYTES;
      for (let j = 0; j < m.length; j++) out[c + j] = (m[j] as number) ^ (keystream[k + j] as number);
      k += Math.ceil(m.length / BLOCK) * BLOCK;
      at = c + m.length;
    }
    keystream.fill(0);
    return views;
  }

  /**
   * M for each SIV ‖ C, or undefined where it does not open (too short, or the SIV does not match:
   * any change, another key, header or T). Plaintexts are views of one buffer.
   */
  openMany(header: Uint8Array, sealed: readonly Uint8Array[], tweaks?: readonly Uint8Array[]): Array<Buffer | undefined> {
    checkTweaks(sealed.length, tweaks);
    let blocks = 0;
    let bytes = 0;
    for (const s of sealed) {
      if (s.length < SIV_BYTES) continue;
      blocks += Math.ceil((s.length - SIV_BYTES) / BLOCK);
      bytes += s.length - SIV_BYTES;
    }
    const plain = Buffer.alloc(bytes);
    const counters = Buffer.allocUnsafe(blocks * BLOCK);
    const expected = Buffer.alloc(SIV_BYTES);
    const out = new Array<Buffer | undefined>(sealed.length).fill(undefined);
    const parts: Uint8Array[] = tweaks ? [header, EMPTY, EMPTY] : [header, EMPTY];
    let block = 0;
    for (const s of sealed) if (s.length >= SIV_BYTES) block = fillCounters(s, 0, s.length - SIV_BYTES, counters, block);
    const keystream = this.#ecb.update(counters);
    try {
      let at = 0;
      let k = 0;
      for (let i = 0; i < sealed.length; i++) {
        const s = sealed[i] as Uint8Array;
        if (s.length < SIV_BYTES) continue;
        const n = s.length - SIV_BYTES;
        const m = plain.subarray(at, at + n);
        for (let j = 0; j < n; j++) m[j] = (s[SIV_BYTES + j] as number) ^ (keystream[k + j] as number);
        if (tweaks) parts[1] = tweaks[i] as Uint8Array;
        parts[parts.length - 1] = m;
        this.#mac.macPartsInto(parts, expected, 0, SIV_BYTES);
        if (constantTimeEqual(expected, s.subarray(0, SIV_BYTES))) out[i] = m;
        else m.fill(0);
        k += Math.ceil(n / BLOCK) * BLOCK;
        at += n;
      }
      return out;
    } finally {
      keystream.fill(0);
    }
  }

  /** Zeroes the MAC key pads; the instance must not be used afterwards. */
  destroy(): void {
    this.#mac.destroy();
  }
}

const EMPTY = new Uint8Array(0);

/** One T per message, all of one length (so header ‖ T ‖ M splits one way), or none. */
function checkTweaks(count: number, tweaks: readonly Uint8Array[] | undefined): void {
  if (!tweaks) return;
  if (tweaks.length !== count) throw new RangeError('SivCtr: one tweak per message');
  const n = tweaks[0]?.length;
  for (const t of tweaks) if (t.length !== n) throw new RangeError('SivCtr: tweaks of one length');
}

/**
 * The counter blocks of one message: the SIV at `src[at..at+16)` and its successors (SP 800-38A
 * B.1, the whole block as a 128-bit big-endian integer), ⌈length/16⌉ of them, written from block
 * `block` of `counters`. Returns the next free block.
 */
function fillCounters(src: Uint8Array, at: number, length: number, counters: Buffer, block: number): number {
  const n = Math.ceil(length / BLOCK);
  for (let b = 0; b < n; b++) {
    const o = (block + b) * BLOCK;
    if (b === 0) counters.set(src.subarray(at, at + SIV_BYTES), o);
    else {
      counters.copy(counters, o, o - BLOCK, o);
      for (let j = BLOCK - 1; j >= 0; j--) {
        const v = ((counters[o + j] as number) + 1) & 0xff;
        counters[o + j] = v;
        if (v !== 0) break;
      }
    }
  }
  return block + n;
}
