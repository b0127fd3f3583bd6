import { hkdfSha256 } from '../crypto/index.js';

/**
 * Per-field keys, derived (RFC 5869 HKDF-SHA-256) from a collection's token key of one version, each
 * for one job, so no key serves two algorithms: FF1's AES key, the deterministic token's synthetic-IV
 * MAC key and its AES-CTR key (det-siv, det-ctr; tks tokens), the first deterministic format's MAC
 * and AES-GCM keys (det-mac, det-enc; tkd tokens, opened only), and the keys that seal the values of
 * vaulted random tokens (value-siv, value-ctr; value: the first format's AES-GCM key, opened only).
 */
export type TokenKeyUse = 'ff1' | 'det-siv' | 'det-ctr' | 'det-mac' | 'det-enc' | 'value-siv' | 'value-ctr' | 'value';
const TOKEN_KEY_INFO = 'kuraban/token/v1';

export function deriveTokenKey(tokenKey: Uint8Array, use: TokenKeyUse, collectionId: string, field: string): Buffer {
  return hkdfSha256(tokenKey, Buffer.alloc(0), `${TOKEN_KEY_INFO}\0${use}\0${collectionId}\0${field}`);
}

/** The FF1 tweak: per tenant, collection and field (SP 800-38G §5.1 allows any tweak up to maxTlen). */
export function ff1Tweak(tenantId: string, collectionId: string, field: string): Buffer {
  return Buffer.from(`kuraban/fpe/v1\0${tenantId}\0${collectionId}\0${field}`, 'utf8');
}
