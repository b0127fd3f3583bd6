import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 16 * 1024;
let pool = Buffer.allocUnsafe(POOL_BYTES);
let poolAt = POOL_BYTES;

/** n bytes of the pool, refilled from the CSPRNG when it runs short; the caller copies them out and the pool zeroes them. */
function takeFromPool(n: number): number {
  if (poolAt + n > POOL_BYTES) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += n;
  return at;
}

/**
 * Cryptographically random bytes from node:crypto's CSPRNG, drawn from a refilled pool so that
 * per-record nonces do not pay a native call each. Each returned buffer is a fresh copy; pool
 * bytes are never handed out twice.
 */
export function randomBytesPooled(n: number): Buffer {
  if (n > POOL_BYTES / 4) return randomFillSync(Buffer.allocUnsafe(n));
  const at = takeFromPool(n);
  const out = Buffer.from(pool.subarray(at, at + n));
  pool.fill(0, at, at + n);
  return out;
}

/** As randomBytesPooled, but writes the n bytes into `target` at `offset` (no allocation). */
export function randomFillPooled(target: Uint8Array, offset: number, n: number): void {
  if (offset < 0 || offset + n > target.length) throw new RangeError('randomFillPooled: out of range');
  if (n > POOL_BYTES / 4) {
    randomFillSync(target, offset, n);
    return;
  }
  const at = takeFromPool(n);
  pool.copy(target, offset, at, at + n);
  pool.fill(0, at, at + n);
}
