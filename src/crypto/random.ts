import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 16 * 1024;
let pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * Cryptographically random bytes from node:crypto's CSPRNG, drawn from a refilled pool so that
 * per-record nonces do not pay a native call each. Each returned buffer is a fresh copy; pool
 * bytes are never handed out twice.
 */
export function randomBytesPooled(n: number): Buffer {
  if (n > POOL_BYTES / 4) return randomFillSync(Buffer.allocUnsafe(n));
  if (offset + n > POOL_BYTES) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
