import { hkdfSync, scrypt as scryptCb } from 'node:crypto';

/** HKDF-SHA-256 (RFC 5869) to a 256-bit key. `info` separates every derived key's purpose. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'utf8'), length));
}

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** RFC 7914 §2: N = 2^17, r = 8, p = 1 uses 128 MiB and about half a second here; the OWASP floor is 2^17. */
export const SCRYPT_DEFAULTS: ScryptParams = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

export function scryptKey(passphrase: string, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(
      Buffer.from(passphrase.normalize('NFC'), 'utf8'),
      salt,
      32,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 64 * 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}
