export { seal, sealInto, open, AES_256_KEY_BYTES, GCM_NONCE_BYTES, GCM_TAG_BYTES, CIPHERTEXT_FORMAT_V1, CIPHERTEXT_OVERHEAD } from './aead.js';
export type { AeadKey } from './aead.js';
export { encodeAad, aadEncoder } from './aad.js';
export { hkdfSha256, scryptKey, SCRYPT_DEFAULTS } from './kdf.js';
export type { ScryptParams } from './kdf.js';
export { blindIndex, blindIndexInto, constantTimeEqual, BLIND_INDEX_BYTES } from './blind-index.js';
export { HmacSha256, HMAC_SHA256_BYTES } from './hmac.js';
export { randomBytesPooled, randomFillPooled } from './random.js';
export { Ff1, Ff1DomainError, ff1MinLength, FF1_MIN_DOMAIN, FF1_MAX_LENGTH } from './ff1.js';
