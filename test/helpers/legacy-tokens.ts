import { createCipheriv, createHmac } from 'node:crypto';
import { encodeAad, seal } from '../../src/crypto/index.js';
import type { FieldValue } from '../../src/schema/index.js';
import { deriveTokenKey, type TokenScope } from '../../src/tokens/index.js';

/**
 * A deterministic token of the first format (tkd<v>_, made until the tks format replaced it), written
 * here from its definition rather than by src/ (which only opens them now): SIV =
 * HMAC-SHA-256(det-mac key, AAD ‖ JSON)[0..12), then AES-256-GCM(det-enc key, nonce SIV, AAD), token
 * body SIV ‖ ciphertext ‖ tag.
 */
export function legacyDeterministicToken(scope: TokenScope, tokenKey: { readonly version: number; readonly key: Uint8Array }, value: FieldValue): string {
  const mac = deriveTokenKey(tokenKey.key, 'det-mac', scope.collectionId, scope.field.name);
  const enc = deriveTokenKey(tokenKey.key, 'det-enc', scope.collectionId, scope.field.name);
  const aad = encodeAad('kuraban/token/deterministic/v1', [scope.tenantId, scope.collectionId, scope.field.name, tokenKey.version]);
  const plain = Buffer.from(JSON.stringify(value), 'utf8');
  const siv = createHmac('sha256', mac).update(aad).update(plain).digest().subarray(0, 12);
  const gcm = createCipheriv('aes-256-gcm', enc, siv);
  gcm.setAAD(aad);
  const body = Buffer.concat([siv, gcm.update(plain), gcm.final(), gcm.getAuthTag()]);
  return `tkd${tokenKey.version}_${body.toString('base64url')}`;
}

/** The registry hash of a token under the HMAC look-up (format-preserving, random and tkd tokens). */
export function hmacTokenHash(lookupKey: Uint8Array, token: string): Buffer {
  return createHmac('sha256', lookupKey).update(token, 'utf8').digest().subarray(0, 16);
}

/**
 * A random token's value sealed in the first format (the AES-256-GCM envelope of crypto/aead.ts under
 * the field's `value` key, with an AAD binding tenant, collection, field, the look-up hash in hex and
 * the key version), as registry rows held it before format 2.
 */
export function legacySealedTokenValue(scope: TokenScope, tokenKey: { readonly version: number; readonly key: Uint8Array }, hash: Uint8Array, value: FieldValue): Buffer {
  const key = deriveTokenKey(tokenKey.key, 'value', scope.collectionId, scope.field.name);
  const aad = encodeAad('kuraban/token/value/v1', [scope.tenantId, scope.collectionId, scope.field.name, Buffer.from(hash).toString('hex'), tokenKey.version]);
  return seal(key, Buffer.from(JSON.stringify(value), 'utf8'), aad);
}
