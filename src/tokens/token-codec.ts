import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { encodeAad, Ff1, ff1MinLength, open, seal } from '../crypto/index.js';
import type { FieldDef, FieldValue } from '../schema/index.js';
import { fpeLayout, wrongCheckDigit, type FpeLayout } from './fpe-layout.js';
import { deriveTokenKey, ff1Tweak } from './token-keys.js';

/**
 * Token formats (docs/tokens.md), pure functions over keys the vault hands in:
 *   random             tkr_<22 base64url chars>     128 random bits; the vault keeps what it stands for
 *   deterministic      tkd<v>_<base64url>          a synthetic-IV AES-256-GCM encryption of the value
 *   format-preserving  the value's own format        FF1 (NIST SP 800-38G) under the field's key
 */
export const RANDOM_TOKEN_PREFIX = 'tkr_';
export const RANDOM_TOKEN_BYTES = 16;
const RANDOM_TOKEN = /^tkr_[A-Za-z0-9_-]{22}$/;
const DETERMINISTIC_TOKEN = /^tkd([1-9][0-9]{0,8})_([A-Za-z0-9_-]{38,})$/;
/** Token look-up hashes: HMAC-SHA-256 truncated to 128 bits, like blind indexes. */
export const TOKEN_HASH_BYTES = 16;
const SIV_BYTES = 12; // the GCM nonce (NIST SP 800-38D §8.2: 96 bits)
const TAG_BYTES = 16;

/** Where a token lives: tenant, collection, field (the FF1 tweak and every AAD bind them). */
export interface TokenScope {
  readonly tenantId: string;
  readonly collectionId: string;
  readonly field: FieldDef;
}

/** One field's keys at one token-key version. */
export interface FieldTokenKeys {
  readonly version: number;
  readonly ff1?: Ff1;
  readonly detMac?: KeyObject;
  readonly detEnc?: KeyObject;
  /** The deterministic tokens' AAD for the scope the keys were made for, and that scope (computed once per call). */
  readonly detAad?: { readonly scope: TokenScope; readonly aad: Buffer };
  readonly value?: KeyObject;
}

export class TokenValueError extends Error {
  override readonly name = 'TokenValueError';
  constructor(readonly reason: 'token_value_outside_alphabet' | 'token_domain_too_small' | 'token_value_not_text') {
    super(reason);
  }
}

export function fieldTokenKeys(scope: TokenScope, tokenKey: { readonly version: number; readonly key: Uint8Array }): FieldTokenKeys {
  const { collectionId, field } = scope;
  switch (field.token) {
    case 'format-preserving': {
      const key = deriveTokenKey(tokenKey.key, 'ff1', collectionId, field.name);
      try {
        return { version: tokenKey.version, ff1: new Ff1(key, fpeLayout(field).radix) }; // the cipher holds its own copy
      } finally {
        key.fill(0);
      }
    }
    case 'deterministic':
      return {
        version: tokenKey.version,
        detMac: keyObject(deriveTokenKey(tokenKey.key, 'det-mac', collectionId, field.name)),
        detEnc: keyObject(deriveTokenKey(tokenKey.key, 'det-enc', collectionId, field.name)),
        detAad: { scope, aad: detAad(scope, tokenKey.version) },
      };
    default:
      return { version: tokenKey.version, value: keyObject(deriveTokenKey(tokenKey.key, 'value', collectionId, field.name)) };
  }
}

/**
 * A node:crypto KeyObject for a derived key (imported once per call instead of once per token); the
 * derived bytes are zeroed. Key objects live for one call, like the log's note signer.
 */
export function keyObject(bytes: Buffer): KeyObject {
  const k = createSecretKey(bytes);
  bytes.fill(0);
  return k;
}

/** The look-up hash of a token (the store never holds a token, only this). */
export function tokenHash(lookupKey: Uint8Array | KeyObject, token: string): Buffer {
  return createHmac('sha256', lookupKey).update(token, 'utf8').digest().subarray(0, TOKEN_HASH_BYTES);
}

export function randomToken(): string {
  return RANDOM_TOKEN_PREFIX + randomBytes(RANDOM_TOKEN_BYTES).toString('base64url');
}

/** What a token's text says about it, before any look-up: its kind and, for deterministic ones, its key version. */
export type ParsedToken = { readonly ok: true; readonly version?: number } | { readonly ok: false };

export function parseToken(field: FieldDef, token: string): ParsedToken {
  switch (field.token) {
    case 'random':
      return { ok: RANDOM_TOKEN.test(token) };
    case 'deterministic': {
      const m = DETERMINISTIC_TOKEN.exec(token);
      return m ? { ok: true, version: Number(m[1]) } : { ok: false };
    }
    case 'format-preserving':
      return { ok: fpeTokenShapeOk(field, token) };
    default:
      return { ok: false };
  }
}

// ── Deterministic: SIV = HMAC-SHA-256(mac key, AAD ‖ value)[:12]; AES-256-GCM(enc key, SIV, value, AAD).
// The nonce is a PRF of the value, so equal values give equal tokens and different values different
// nonces (a collision needs ~2^48 values per field and key version); decryption recomputes the SIV
// and compares, so a token is authenticated twice (GCM tag, SIV).

function sameScope(a: TokenScope | undefined, b: TokenScope): boolean {
  return a !== undefined && (a === b || (a.tenantId === b.tenantId && a.collectionId === b.collectionId && a.field.name === b.field.name));
}

function detAad(scope: TokenScope, version: number): Buffer {
  return encodeAad('kuraban/token/deterministic/v1', [scope.tenantId, scope.collectionId, scope.field.name, version]);
}

export function deterministicToken(scope: TokenScope, keys: FieldTokenKeys, value: FieldValue): string {
  if (!keys.detMac || !keys.detEnc) throw new Error('deterministicToken: keys for another kind');
  const aad = sameScope(keys.detAad?.scope, scope) ? (keys.detAad?.aad as Buffer) : detAad(scope, keys.version);
  const plain = Buffer.from(JSON.stringify(value), 'utf8');
  const siv = createHmac('sha256', keys.detMac).update(aad).update(plain).digest().subarray(0, SIV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.detEnc, siv);
  cipher.setAAD(aad);
  const body = Buffer.concat([siv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  plain.fill(0);
  return `tkd${keys.version}_${body.toString('base64url')}`;
}

/** The value of a deterministic token, or undefined when it does not open under these keys. */
export function openDeterministicToken(scope: TokenScope, keys: FieldTokenKeys, token: string): FieldValue | undefined {
  if (!keys.detMac || !keys.detEnc) return undefined;
  const m = DETERMINISTIC_TOKEN.exec(token);
  if (!m || Number(m[1]) !== keys.version) return undefined;
  const body = Buffer.from(m[2] as string, 'base64url');
  if (body.length < SIV_BYTES + TAG_BYTES || body.toString('base64url') !== m[2]) return undefined;
  const aad = detAad(scope, keys.version);
  const siv = body.subarray(0, SIV_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.detEnc, siv);
    decipher.setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(body.subarray(SIV_BYTES, body.length - TAG_BYTES)), decipher.final()]);
    const expected = createHmac('sha256', keys.detMac).update(aad).update(plain).digest().subarray(0, SIV_BYTES);
    if (!timingSafeEqual(expected, siv)) return undefined;
    return JSON.parse(plain.toString('utf8')) as FieldValue;
  } catch {
    return undefined;
  }
}

// ── Format-preserving (FF1).

function fpeTokenShapeOk(field: FieldDef, token: string): boolean {
  const layout = fpeLayout(field);
  if (token.length === 0 || token.length > 4096) return false;
  for (const ch of token) if (!layout.alphabet.includes(ch)) return false;
  if (!layout.check) return true;
  const payload = payloadOf(layout, token);
  const digit = layout.check.at === 'last' ? token.charCodeAt(token.length - 1) - 0x30 : token.charCodeAt(0) - 0x30;
  // A Kuraban token's check digit is always the wrong one: a token with a right one is a real number.
  return payload.length > 0 && digit === wrongCheckDigit(layout.check.digit(payload));
}

/** The part FF1 encrypts: all but the check digit (first or last), or the whole string. */
function payloadOf(layout: FpeLayout, text: string): string {
  if (!layout.check) return text;
  return layout.check.at === 'last' ? text.slice(0, -1) : text.slice(1);
}

/** The token or value of a payload: the check digit put back where the layout has it. */
function withCheck(layout: FpeLayout, payload: string, digit: number): string {
  return layout.check?.at === 'first' ? `${digit}${payload}` : `${payload}${digit}`;
}

function toNumerals(layout: FpeLayout, text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    const d = layout.alphabet.indexOf(ch);
    if (d < 0) throw new TokenValueError('token_value_outside_alphabet');
    out.push(d);
  }
  return out;
}

function fromNumerals(layout: FpeLayout, numerals: readonly number[]): string {
  let s = '';
  for (const d of numerals) s += layout.alphabet[d];
  return s;
}

/** Why a value cannot have a format-preserving token (outside the alphabet, or a domain below FF1's minimum), or undefined. */
export function fpeValueProblem(field: FieldDef, value: FieldValue): TokenValueError['reason'] | undefined {
  if (typeof value !== 'string') return 'token_value_not_text';
  const layout = fpeLayout(field);
  const payload = payloadOf(layout, value);
  for (const ch of payload) if (!layout.alphabet.includes(ch)) return 'token_value_outside_alphabet';
  if ([...payload].length < ff1MinLength(layout.radix)) return 'token_domain_too_small';
  return undefined;
}

export function fpeToken(scope: TokenScope, keys: FieldTokenKeys, value: FieldValue): string {
  if (!keys.ff1) throw new Error('fpeToken: keys for another kind');
  if (typeof value !== 'string') throw new TokenValueError('token_value_not_text');
  const layout = fpeLayout(scope.field);
  const tweak = ff1Tweak(scope.tenantId, scope.collectionId, scope.field.name);
  const numerals = toNumerals(layout, payloadOf(layout, value));
  if (numerals.length < ff1MinLength(layout.radix)) throw new TokenValueError('token_domain_too_small');
  const t = fromNumerals(layout, keys.ff1.encrypt(numerals, tweak));
  return layout.check ? withCheck(layout, t, wrongCheckDigit(layout.check.digit(t))) : t;
}

/** The value of a format-preserving token (its shape checked by parseToken first). */
export function openFpeToken(scope: TokenScope, keys: FieldTokenKeys, token: string): string {
  if (!keys.ff1) throw new Error('openFpeToken: keys for another kind');
  const layout = fpeLayout(scope.field);
  const tweak = ff1Tweak(scope.tenantId, scope.collectionId, scope.field.name);
  const p = fromNumerals(layout, keys.ff1.decrypt(toNumerals(layout, payloadOf(layout, token)), tweak));
  return layout.check ? withCheck(layout, p, layout.check.digit(p)) : p;
}

/**
 * Format-preserving tokens for many values of one field (the same as fpeToken on each, with FF1's
 * rounds batched: tokenising a legacy column costs one AES call per round, not one per value).
 */
export function fpeTokens(scope: TokenScope, keys: FieldTokenKeys, values: readonly FieldValue[]): string[] {
  if (!keys.ff1) throw new Error('fpeTokens: keys for another kind');
  const layout = fpeLayout(scope.field);
  const tweak = ff1Tweak(scope.tenantId, scope.collectionId, scope.field.name);
  const payloads = values.map((value) => {
    if (typeof value !== 'string') throw new TokenValueError('token_value_not_text');
    const numerals = toNumerals(layout, payloadOf(layout, value));
    if (numerals.length < ff1MinLength(layout.radix)) throw new TokenValueError('token_domain_too_small');
    return numerals;
  });
  return keys.ff1.encryptMany(payloads, tweak).map((numerals) => {
    const t = fromNumerals(layout, numerals);
    return layout.check ? withCheck(layout, t, wrongCheckDigit(layout.check.digit(t))) : t;
  });
}

/** The values of many format-preserving tokens of one field (shapes checked by parseToken first). */
export function openFpeTokens(scope: TokenScope, keys: FieldTokenKeys, tokens: readonly string[]): string[] {
  if (!keys.ff1) throw new Error('openFpeTokens: keys for another kind');
  const layout = fpeLayout(scope.field);
  const tweak = ff1Tweak(scope.tenantId, scope.collectionId, scope.field.name);
  const payloads = tokens.map((t) => toNumerals(layout, payloadOf(layout, t)));
  return keys.ff1.decryptMany(payloads, tweak).map((numerals) => {
    const p = fromNumerals(layout, numerals);
    return layout.check ? withCheck(layout, p, layout.check.digit(p)) : p;
  });
}

/** Tokens for many values of one field: batched FF1 for format-preserving fields, one by one otherwise. */
export function makeTokens(scope: TokenScope, keys: FieldTokenKeys, values: readonly FieldValue[]): string[] {
  return scope.field.token === 'format-preserving' ? fpeTokens(scope, keys, values) : values.map((v) => makeToken(scope, keys, v));
}

/** A token for a value under the field's kind (random tokens are fresh each time). */
export function makeToken(scope: TokenScope, keys: FieldTokenKeys, value: FieldValue): string {
  switch (scope.field.token) {
    case 'deterministic':
      return deterministicToken(scope, keys, value);
    case 'format-preserving':
      return fpeToken(scope, keys, value);
    default:
      return randomToken();
  }
}

// ── Vaulted values of random tokens made outside a record (AES-256-GCM, AAD binds where and which token).

function valueAad(scope: TokenScope, hash: Uint8Array, version: number): Buffer {
  return encodeAad('kuraban/token/value/v1', [scope.tenantId, scope.collectionId, scope.field.name, Buffer.from(hash).toString('hex'), version]);
}

export function sealTokenValue(scope: TokenScope, keys: FieldTokenKeys, hash: Uint8Array, value: FieldValue): Buffer {
  if (!keys.value) throw new Error('sealTokenValue: keys for another kind');
  return seal(keys.value, Buffer.from(JSON.stringify(value), 'utf8'), valueAad(scope, hash, keys.version));
}

export function openTokenValue(scope: TokenScope, keys: FieldTokenKeys, hash: Uint8Array, blob: Uint8Array): FieldValue {
  if (!keys.value) throw new Error('openTokenValue: keys for another kind');
  return JSON.parse(open(keys.value, blob, valueAad(scope, hash, keys.version)).toString('utf8')) as FieldValue;
}
