import { createCipheriv, createDecipheriv, createHmac, createSecretKey, timingSafeEqual, type Cipher, type KeyObject } from 'node:crypto';
import { encodeAad, Ff1, ff1MinLength, hkdfSha256, HmacSha256, open, randomBytesPooled, SIV_BYTES, SivCtr } from '../crypto/index.js';
import type { FieldDef, FieldValue } from '../schema/index.js';
import { fpeLayout, wrongCheckDigit, type FpeLayout } from './fpe-layout.js';
import { deriveTokenKey, ff1Tweak } from './token-keys.js';

/**
 * Token formats (docs/tokens.md), pure functions over keys the vault hands in:
 *   random             tku_<22 base64url chars>     128 random bits; the vault keeps what it stands for
 *                      tkr_<22 base64url chars>     issued before tku (HMAC registry hash): still resolved, no longer made
 *   deterministic      tks<v>_<base64url>          SIV ‖ C: HMAC-SHA-256 synthetic IV, AES-256-CTR (crypto/siv.ts)
 *                      tkd<v>_<base64url>          issued before tks (SIV AES-256-GCM): still opened, no longer made
 *   format-preserving  the value's own format        FF1 (NIST SP 800-38G) under the field's key
 */
export const RANDOM_TOKEN_PREFIX = 'tku_';
export const RANDOM_TOKEN_BYTES = 16;
/** 22 characters carry 132 bits: the last one's 4 low bits are unused, so it is one of A, Q, g, w (one spelling per token). */
const RANDOM_TOKEN = /^tku_[A-Za-z0-9_-]{21}[AQgw]$/;
/** Random tokens of the first format (their registry hash is an HMAC of the text, so any spelling is its own token). */
const LEGACY_RANDOM_TOKEN = /^tkr_[A-Za-z0-9_-]{22}$/;
/** Deterministic tokens made now: SIV (16 bytes) ‖ C (at least 1 byte: the JSON of a value) — at least 23 base64url characters. */
export const DETERMINISTIC_TOKEN_PREFIX = 'tks';
const DETERMINISTIC_TOKEN = /^tks([1-9][0-9]{0,8})_([A-Za-z0-9_-]{23,})$/;
/** Deterministic tokens of the first format (12-byte SIV ‖ GCM ciphertext ‖ 16-byte tag). */
const LEGACY_DETERMINISTIC_TOKEN = /^tkd([1-9][0-9]{0,8})_([A-Za-z0-9_-]{38,})$/;
/** Token look-up hashes: 128 bits, like blind indexes. */
export const TOKEN_HASH_BYTES = 16;
const LEGACY_SIV_BYTES = 12; // the GCM nonce (NIST SP 800-38D §8.2: 96 bits)
const TAG_BYTES = 16;
/** base64url characters that carry 128 bits: a tks token's SIV, a tku token's random bytes (⌈128 / 6⌉). */
const BLOCK_CHARS = 22;
/** The look-up key's child that maps a tks token's SIV or a tku token's random bytes to a registry hash (HKDF info; src/tokens/NOTES.md). */
const LOOKUP_PRP_INFO = 'kuraban/token-lookup/v1\0prp';

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
  /** Deterministic tokens (tks): the SIV-CTR cipher, and the header (AAD) of the scope the keys were made for. */
  readonly det?: { readonly scope: TokenScope; readonly header: Buffer; readonly siv: SivCtr };
  /** Deterministic tokens of the first format (tkd), opened only. */
  readonly detMac?: KeyObject;
  readonly detEnc?: KeyObject;
  /** The tkd tokens' AAD for the scope the keys were made for, and that scope (computed once per call). */
  readonly detAad?: { readonly scope: TokenScope; readonly aad: Buffer };
  /** Values of random tokens made outside a record, sealed now (format 2): SIV-CTR and its header. */
  readonly values?: { readonly scope: TokenScope; readonly header: Buffer; readonly siv: SivCtr };
  /** Values sealed in the first format (AES-256-GCM), opened only. */
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
    case 'deterministic': {
      const macKey = deriveTokenKey(tokenKey.key, 'det-siv', collectionId, field.name);
      const encKey = deriveTokenKey(tokenKey.key, 'det-ctr', collectionId, field.name);
      try {
        return {
          version: tokenKey.version,
          det: { scope, header: sivHeader(scope, tokenKey.version), siv: new SivCtr(macKey, encKey) }, // the cipher holds its own copies
          detMac: keyObject(deriveTokenKey(tokenKey.key, 'det-mac', collectionId, field.name)),
          detEnc: keyObject(deriveTokenKey(tokenKey.key, 'det-enc', collectionId, field.name)),
          detAad: { scope, aad: detAad(scope, tokenKey.version) },
        };
      } finally {
        macKey.fill(0);
        encKey.fill(0);
      }
    }
    default: {
      const macKey = deriveTokenKey(tokenKey.key, 'value-siv', collectionId, field.name);
      const encKey = deriveTokenKey(tokenKey.key, 'value-ctr', collectionId, field.name);
      try {
        return {
          version: tokenKey.version,
          values: { scope, header: valueHeader(scope, tokenKey.version), siv: new SivCtr(macKey, encKey) },
          value: keyObject(deriveTokenKey(tokenKey.key, 'value', collectionId, field.name)),
        };
      } finally {
        macKey.fill(0);
        encKey.fill(0);
      }
    }
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

/**
 * A field's look-up keys, from its look-up key (made per call; the bytes are zeroed): HMAC-SHA-256
 * for format-preserving, tkd and tkr tokens, and AES-256 (one ECB call per batch) for the 128 bits
 * that fix a tks or tku token.
 */
export interface TokenLookupKeys {
  readonly hmac: HmacSha256;
  readonly prp: Cipher;
}

export function tokenLookupKeys(lookupKey: Buffer): TokenLookupKeys {
  const prpKey = hkdfSha256(lookupKey, Buffer.alloc(0), LOOKUP_PRP_INFO);
  try {
    const prp = createCipheriv('aes-256-ecb', prpKey, null);
    prp.setAutoPadding(false);
    return { hmac: new HmacSha256(lookupKey), prp };
  } finally {
    prpKey.fill(0);
    lookupKey.fill(0);
  }
}

/**
 * The registry look-up hashes of tokens of one field (the store never holds a token, only these),
 * TOKEN_HASH_BYTES each, views of one buffer:
 *
 * - tks tokens: AES-256(lookup PRP key, SIV). The SIV is a 128-bit PRF output that determines the
 *   token (same scope and version: same value, same ciphertext), so a keyed permutation of it is
 *   as good a keyed hash as an HMAC of the whole token, for one AES call per batch instead of one
 *   HMAC per token. A forged token that copies a real SIV finds that row, then fails to open.
 * - tku tokens: AES-256(lookup PRP key, the token's 16 random bytes), which are the whole token
 *   (its pattern allows one spelling).
 * - every other token: HMAC-SHA-256(lookup key, token) truncated to 128 bits. Format-preserving
 *   tokens are low-entropy (a 12-digit number), so only a keyed hash of the whole token will do.
 *
 * Tokens must have passed parseToken for the field (or have been made for it).
 */
export function tokenHashes(field: FieldDef, keys: TokenLookupKeys, tokens: readonly string[]): Buffer[] {
  const out = Buffer.alloc(tokens.length * TOKEN_HASH_BYTES);
  const views = new Array<Buffer>(tokens.length);
  const prpAt: number[] = [];
  const prpPrefix = field.token === 'deterministic' ? DETERMINISTIC_TOKEN_PREFIX : field.token === 'random' ? RANDOM_TOKEN_PREFIX : undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    views[i] = out.subarray(i * TOKEN_HASH_BYTES, (i + 1) * TOKEN_HASH_BYTES);
    if (prpPrefix !== undefined && t.startsWith(prpPrefix)) prpAt.push(i);
    else keys.hmac.macInto(t, out, i * TOKEN_HASH_BYTES, TOKEN_HASH_BYTES);
  }
  if (prpAt.length > 0) {
    const blocks = Buffer.alloc(prpAt.length * SIV_BYTES);
    prpAt.forEach((i, j) => {
      const t = tokens[i] as string;
      const body = t.indexOf('_') + 1;
      // 22 characters carry 132 bits: the 16 bytes written are the SIV, or the random bytes.
      if (blocks.write(t.slice(body, body + BLOCK_CHARS), j * SIV_BYTES, SIV_BYTES, 'base64url') !== SIV_BYTES) throw new Error('tokenHashes: malformed token');
    });
    const hashed = keys.prp.update(blocks);
    prpAt.forEach((i, j) => hashed.copy(out, i * TOKEN_HASH_BYTES, j * SIV_BYTES, (j + 1) * SIV_BYTES));
  }
  return views;
}

export function randomToken(): string {
  return RANDOM_TOKEN_PREFIX + randomBytesPooled(RANDOM_TOKEN_BYTES).toString('base64url');
}

/** What a token's text says about it, before any look-up: its kind and, for deterministic ones, its key version. */
export type ParsedToken = { readonly ok: true; readonly version?: number } | { readonly ok: false };

export function parseToken(field: FieldDef, token: string): ParsedToken {
  switch (field.token) {
    case 'random':
      return { ok: RANDOM_TOKEN.test(token) || LEGACY_RANDOM_TOKEN.test(token) };
    case 'deterministic': {
      const m = DETERMINISTIC_TOKEN.exec(token) ?? LEGACY_DETERMINISTIC_TOKEN.exec(token);
      return m ? { ok: true, version: Number(m[1]) } : { ok: false };
    }
    case 'format-preserving':
      return { ok: fpeTokenShapeOk(field, token) };
    default:
      return { ok: false };
  }
}

// ── Deterministic (tks): SivCtr (crypto/siv.ts) over the value's JSON, with a header binding tenant,
// collection, field and key version. Equal values give equal tokens; opening recomputes the SIV.
// A batch costs one HMAC per value and one AES-ECB call (src/tokens/NOTES.md §5).

function sameScope(a: TokenScope | undefined, b: TokenScope): boolean {
  return a !== undefined && (a === b || (a.tenantId === b.tenantId && a.collectionId === b.collectionId && a.field.name === b.field.name));
}

function sivHeader(scope: TokenScope, version: number): Buffer {
  return encodeAad('kuraban/token/deterministic/v2', [scope.tenantId, scope.collectionId, scope.field.name, version]);
}

function detAad(scope: TokenScope, version: number): Buffer {
  return encodeAad('kuraban/token/deterministic/v1', [scope.tenantId, scope.collectionId, scope.field.name, version]);
}

/** Deterministic tokens for many values of one field (tks, the current format). */
export function deterministicTokens(scope: TokenScope, keys: FieldTokenKeys, values: readonly FieldValue[]): string[] {
  const det = keys.det;
  if (!det) throw new Error('deterministicTokens: keys for another kind');
  const header = sameScope(det.scope, scope) ? det.header : sivHeader(scope, keys.version);
  const plains = jsonBytes(values);
  try {
    const prefix = `${DETERMINISTIC_TOKEN_PREFIX}${keys.version}_`;
    return det.siv.sealMany(header, plains.views).map((sealed) => prefix + sealed.toString('base64url'));
  } finally {
    plains.buffer.fill(0);
  }
}

/** The UTF-8 JSON of each value, as views of one buffer (zero it after use). */
function jsonBytes(values: readonly FieldValue[]): { buffer: Buffer; views: Buffer[] } {
  const texts = values.map((v) => JSON.stringify(v));
  let most = 0;
  for (const t of texts) most += t.length * 3; // a UTF-16 unit is at most 3 UTF-8 bytes
  const buffer = Buffer.alloc(most);
  const views = new Array<Buffer>(texts.length);
  let at = 0;
  texts.forEach((t, i) => {
    const n = buffer.write(t, at, 'utf8');
    views[i] = buffer.subarray(at, at + n);
    at += n;
  });
  return { buffer, views };
}

/**
 * Decodes base64url texts side by side into one buffer (views), or undefined for a text that is not
 * the one canonical spelling of its bytes (a length of 4k+1, or unused low bits set in the last
 * character): a token has exactly one spelling. The alphabet is checked by the caller's pattern.
 */
function base64urlBodies(texts: readonly string[]): Array<Buffer | undefined> {
  let most = 0;
  for (const t of texts) most += Math.floor((t.length * 3) / 4);
  const buffer = Buffer.alloc(most);
  const out = new Array<Buffer | undefined>(texts.length);
  let at = 0;
  texts.forEach((t, i) => {
    const rest = t.length % 4;
    if (rest === 1) return;
    if (rest !== 0) {
      const last = BASE64URL.indexOf(t.charAt(t.length - 1));
      if (last < 0 || (last & (rest === 2 ? 0x0f : 0x03)) !== 0) return;
    }
    const n = buffer.write(t, at, 'base64url');
    out[i] = buffer.subarray(at, at + n);
    at += n;
  });
  return out;
}
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function deterministicToken(scope: TokenScope, keys: FieldTokenKeys, value: FieldValue): string {
  return deterministicTokens(scope, keys, [value])[0] as string;
}

/**
 * The values of deterministic tokens of one field and key version (either format), undefined for
 * each that does not open under these keys (another version, field, tenant or key; any change).
 */
export function openDeterministicTokens(scope: TokenScope, keys: FieldTokenKeys, tokens: readonly string[]): Array<FieldValue | undefined> {
  const out = new Array<FieldValue | undefined>(tokens.length).fill(undefined);
  const det = keys.det;
  if (!det) return out;
  const at: number[] = [];
  const texts: string[] = [];
  const prefix = `${DETERMINISTIC_TOKEN_PREFIX}${keys.version}_`;
  tokens.forEach((token, i) => {
    if (!token.startsWith(DETERMINISTIC_TOKEN_PREFIX)) {
      out[i] = openLegacyDeterministicToken(scope, keys, token);
      return;
    }
    if (!token.startsWith(prefix) || !DETERMINISTIC_TOKEN.test(token)) return; // another version, or not a token
    at.push(i);
    texts.push(token.slice(prefix.length));
  });
  if (texts.length === 0) return out;
  const bodies = base64urlBodies(texts);
  const sealed: Buffer[] = [];
  const sealedAt: number[] = [];
  bodies.forEach((body, j) => {
    if (body === undefined || body.length < SIV_BYTES) return;
    sealed.push(body);
    sealedAt.push(at[j] as number);
  });
  const header = sameScope(det.scope, scope) ? det.header : sivHeader(scope, keys.version);
  putOpened(det.siv.openMany(header, sealed), sealedAt, out);
  return out;
}

/**
 * Opened plaintexts (canonical JSON) into `out` at their positions, each zeroed after parsing. A
 * plaintext that does not parse cannot come from an authentic token or value (both are made from
 * JSON); it is refused all the same (left undefined).
 */
function putOpened(plains: ReadonlyArray<Buffer | undefined>, positions: readonly number[], out: Array<FieldValue | undefined>): void {
  plains.forEach((plain, j) => {
    if (plain === undefined) return;
    try {
      out[positions[j] as number] = JSON.parse(plain.toString('utf8')) as FieldValue;
    } catch {
      // refused: see above
    } finally {
      plain.fill(0);
    }
  });
}

export function openDeterministicToken(scope: TokenScope, keys: FieldTokenKeys, token: string): FieldValue | undefined {
  return openDeterministicTokens(scope, keys, [token])[0];
}

/**
 * A tkd token (the first format: SIV = HMAC-SHA-256(mac key, AAD ‖ value)[:12], AES-256-GCM with
 * that nonce), authenticated twice: the GCM tag, and the SIV recomputed and compared.
 */
function openLegacyDeterministicToken(scope: TokenScope, keys: FieldTokenKeys, token: string): FieldValue | undefined {
  if (!keys.detMac || !keys.detEnc) return undefined;
  const m = LEGACY_DETERMINISTIC_TOKEN.exec(token);
  if (!m || Number(m[1]) !== keys.version) return undefined;
  const body = Buffer.from(m[2] as string, 'base64url');
  if (body.length < LEGACY_SIV_BYTES + TAG_BYTES || body.toString('base64url') !== m[2]) return undefined;
  const aad = sameScope(keys.detAad?.scope, scope) ? (keys.detAad?.aad as Buffer) : detAad(scope, keys.version);
  const siv = body.subarray(0, LEGACY_SIV_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.detEnc, siv);
    decipher.setAAD(aad);
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(body.subarray(LEGACY_SIV_BYTES, body.length - TAG_BYTES)), decipher.final()]);
    const expected = createHmac('sha256', keys.detMac).update(aad).update(plain).digest().subarray(0, LEGACY_SIV_BYTES);
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

/** Tokens for many values of one field: batched for format-preserving and deterministic fields. */
export function makeTokens(scope: TokenScope, keys: FieldTokenKeys, values: readonly FieldValue[]): string[] {
  switch (scope.field.token) {
    case 'format-preserving':
      return fpeTokens(scope, keys, values);
    case 'deterministic':
      return deterministicTokens(scope, keys, values);
    default:
      return values.map(() => randomToken());
  }
}

// ── Vaulted values of random tokens made outside a record. Format 2 (now): 0x02 ‖ SIV ‖ C, SivCtr
// under the field's value keys with a header binding where (tenant, collection, field, version) and
// the token's look-up hash as T — batched like deterministic tokens. Format 1 (before): the AES-256-GCM
// envelope of crypto/aead.ts (0x01 ‖ nonce ‖ C ‖ tag) with an AAD binding the same; still opened.

/** The first byte of a format-2 sealed token value. */
export const TOKEN_VALUE_FORMAT_SIV = 0x02;

function valueHeader(scope: TokenScope, version: number): Buffer {
  return encodeAad('kuraban/token/value/v2', [scope.tenantId, scope.collectionId, scope.field.name, version]);
}

function legacyValueAad(scope: TokenScope, hash: Uint8Array, version: number): Buffer {
  return encodeAad('kuraban/token/value/v1', [scope.tenantId, scope.collectionId, scope.field.name, Buffer.from(hash).toString('hex'), version]);
}

/** The sealed values of random tokens (one per look-up hash), format 2. */
export function sealTokenValues(scope: TokenScope, keys: FieldTokenKeys, hashes: readonly Uint8Array[], values: readonly FieldValue[]): Buffer[] {
  const v = keys.values;
  if (!v) throw new Error('sealTokenValues: keys for another kind');
  if (hashes.length !== values.length) throw new RangeError('sealTokenValues: one hash per value');
  const header = sameScope(v.scope, scope) ? v.header : valueHeader(scope, keys.version);
  const plains = jsonBytes(values);
  try {
    return v.siv.sealMany(header, plains.views, hashes).map((sealed) => {
      const blob = Buffer.allocUnsafe(1 + sealed.length);
      blob[0] = TOKEN_VALUE_FORMAT_SIV;
      sealed.copy(blob, 1);
      return blob;
    });
  } finally {
    plains.buffer.fill(0);
  }
}

export function sealTokenValue(scope: TokenScope, keys: FieldTokenKeys, hash: Uint8Array, value: FieldValue): Buffer {
  return sealTokenValues(scope, keys, [hash], [value])[0] as Buffer;
}

/** The values of sealed token values (either format), undefined for each that does not open under these keys. */
export function openTokenValues(scope: TokenScope, keys: FieldTokenKeys, hashes: readonly Uint8Array[], blobs: readonly Uint8Array[]): Array<FieldValue | undefined> {
  const v = keys.values;
  if (!v || !keys.value) throw new Error('openTokenValues: keys for another kind');
  if (hashes.length !== blobs.length) throw new RangeError('openTokenValues: one hash per value');
  const out = new Array<FieldValue | undefined>(blobs.length).fill(undefined);
  const at: number[] = [];
  const sealed: Uint8Array[] = [];
  const tweaks: Uint8Array[] = [];
  blobs.forEach((blob, i) => {
    const hash = hashes[i] as Uint8Array;
    if (blob[0] === TOKEN_VALUE_FORMAT_SIV) {
      if (hash.length !== TOKEN_HASH_BYTES) return;
      at.push(i);
      sealed.push(blob.subarray(1));
      tweaks.push(hash);
      return;
    }
    try {
      out[i] = JSON.parse(open(keys.value as KeyObject, blob, legacyValueAad(scope, hash, keys.version)).toString('utf8')) as FieldValue;
    } catch {
      // does not open: undefined
    }
  });
  if (sealed.length === 0) return out;
  const header = sameScope(v.scope, scope) ? v.header : valueHeader(scope, keys.version);
  putOpened(v.siv.openMany(header, sealed, tweaks), at, out);
  return out;
}

export function openTokenValue(scope: TokenScope, keys: FieldTokenKeys, hash: Uint8Array, blob: Uint8Array): FieldValue | undefined {
  return openTokenValues(scope, keys, [hash], [blob])[0];
}
