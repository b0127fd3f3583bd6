import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { NoteError } from './note-error.js';
import { decodeCanonicalBase64, encodeBase64 } from './strict-base64.js';

/** Signature type byte of Ed25519 note signatures (c2sp.org/signed-note §Signature types, `0x01`). */
export const ED25519_SIGNATURE_TYPE = 0x01;
/** RFC 8032 §5.1.5: an Ed25519 public key and a private key seed are 32 bytes each. */
export const ED25519_KEY_BYTES = 32;
/** RFC 8032 §5.1.6: an Ed25519 signature is 64 bytes. */
export const ED25519_SIGNATURE_BYTES = 64;
/** The key ID is the first four bytes of a SHA-256 hash, read big-endian (signed-note §Signatures). */
export const KEY_ID_BYTES = 4;
/** Prefix of Go's signer key text (golang.org/x/mod/sumdb/note, `PRIVATE+KEY+<name>+<hex id>+<base64>`). */
export const SIGNER_KEY_PREFIX = 'PRIVATE+KEY+';
/** RFC 8410 §7: PKCS#8 DER of an Ed25519 private key is this 16-byte header followed by the 32-byte seed. */
const ED25519_PKCS8_HEADER = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A public key that checks note signatures: the parsed form of `name+hexid+base64(0x01 ‖ pubkey)`. */
export interface NoteVerifier {
  readonly name: string;
  /** uint32 key ID, SHA-256(name ‖ 0x0A ‖ 0x01 ‖ pubkey)[:4] big-endian. */
  readonly keyId: number;
  readonly publicKey: Buffer;
  /** True only for a 64-byte Ed25519 signature of `message` by this key; never throws. */
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** A private key that signs notes. The seed stays inside; only the public half is exposed. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Buffer;
  /** Ed25519 signature (RFC 8032, deterministic) of `message`: 64 bytes, without the key ID. */
  sign(message: Uint8Array): Buffer;
}

/** Unicode White_Space (what Go's unicode.IsSpace and JS `\s` cover between them, U+0085 and U+FEFF included). */
const UNICODE_SPACE = /[\s\u0085]/u;
const CONTROL = /[\u0000-\u001f\u007f]/u;

/**
 * signed-note §Format: key names are non-empty and contain no Unicode spaces and no `+` (U+002B). We also
 * refuse control characters, which a note may not contain anyway.
 */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !name.includes('+') && !UNICODE_SPACE.test(name) && !CONTROL.test(name) && isWellFormed(name);
}

/** signed-note §Signatures: key ID = SHA-256(key name ‖ 0x0A ‖ signature type ‖ public key)[:4], big-endian. */
export function noteKeyId(name: string, signatureType: number, publicKey: Uint8Array): number {
  const digest = createHash('sha256')
    .update(Buffer.from(name, 'utf8'))
    .update(Buffer.of(0x0a, signatureType))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

/** The 8 lowercase hex digits of a key ID, as in vkeys. */
export function formatKeyId(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/** `name+hexid+base64(0x01 ‖ pubkey)` for an Ed25519 public key. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw new NoteError('invalid_key_name');
  if (publicKey.length !== ED25519_KEY_BYTES) throw new NoteError('malformed_key');
  const id = noteKeyId(name, ED25519_SIGNATURE_TYPE, publicKey);
  return `${name}+${formatKeyId(id)}+${encodeBase64(Buffer.concat([Buffer.of(ED25519_SIGNATURE_TYPE), publicKey]))}`;
}

/** Go's signer key text `PRIVATE+KEY+name+hexid+base64(0x01 ‖ seed)`; the key ID is that of the public key. */
export function formatSignerKey(name: string, seed: Uint8Array): string {
  if (!isValidKeyName(name)) throw new NoteError('invalid_key_name');
  if (seed.length !== ED25519_KEY_BYTES) throw new NoteError('malformed_key');
  const publicKey = publicKeyBytes(createPublicKey(privateKeyFromSeed(seed)));
  const id = noteKeyId(name, ED25519_SIGNATURE_TYPE, publicKey);
  return `${SIGNER_KEY_PREFIX}${name}+${formatKeyId(id)}+${encodeBase64(Buffer.concat([Buffer.of(ED25519_SIGNATURE_TYPE), seed]))}`;
}

/** Parses a verifier key. Splits on the first two `+` only: the base64 part may itself contain `+`. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const { name, keyId, key } = splitKeyText(vkey);
  const verifier = makeVerifier(name, key, () => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') }, format: 'jwk' }));
  if (verifier.keyId !== keyId) throw new NoteError('key_id_mismatch');
  return verifier;
}

/** Parses a Go-style signer key `PRIVATE+KEY+name+hexid+base64(0x01 ‖ seed)`. */
export function parseSignerKey(skey: string): NoteSigner {
  if (!skey.startsWith(SIGNER_KEY_PREFIX)) throw new NoteError('malformed_key');
  const { name, keyId, key: seed } = splitKeyText(skey.slice(SIGNER_KEY_PREFIX.length));
  const privateKey = privateKeyFromSeed(seed);
  const publicKey = publicKeyBytes(createPublicKey(privateKey));
  const id = noteKeyId(name, ED25519_SIGNATURE_TYPE, publicKey);
  if (id !== keyId) throw new NoteError('key_id_mismatch');
  return Object.freeze({
    name,
    keyId: id,
    publicKey,
    sign: (message: Uint8Array): Buffer => sign(null, message, privateKey),
  });
}

/**
 * A signer from a 32-byte Ed25519 seed (RFC 8032 §5.1.5) held by the caller, e.g. unwrapped from a key
 * store: no key text is built, and the DER copy of the seed made here is zeroed once node:crypto has it.
 */
export function noteSignerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  if (!isValidKeyName(name)) throw new NoteError('invalid_key_name');
  if (seed.length !== ED25519_KEY_BYTES) throw new NoteError('malformed_key');
  const der = Buffer.concat([ED25519_PKCS8_HEADER, seed]);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new NoteError('malformed_key', { cause });
  } finally {
    der.fill(0);
  }
  const publicKey = publicKeyBytes(createPublicKey(privateKey));
  return Object.freeze({
    name,
    keyId: noteKeyId(name, ED25519_SIGNATURE_TYPE, publicKey),
    publicKey,
    sign: (message: Uint8Array): Buffer => sign(null, message, privateKey),
  });
}

/** The verifier matching a signer (same name, key ID and public key). */
export function verifierForSigner(signer: NoteSigner): NoteVerifier {
  return parseVerifierKey(formatVerifierKey(signer.name, signer.publicKey));
}

/** A new Ed25519 key pair from node:crypto's CSPRNG, as Go-format signer key and verifier key texts. */
export function generateNoteKeyPair(name: string): { readonly signerKey: string; readonly verifierKey: string } {
  if (!isValidKeyName(name)) throw new NoteError('invalid_key_name');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const d = privateKey.export({ format: 'jwk' }).d;
  if (typeof d !== 'string') throw new NoteError('malformed_key');
  const seed = Buffer.from(d, 'base64url');
  const out = Object.freeze({ signerKey: formatSignerKey(name, seed), verifierKey: formatVerifierKey(name, publicKeyBytes(publicKey)) });
  seed.fill(0);
  return out;
}

const HEX_KEY_ID = /^[0-9a-f]{8}$/;

/** `name+hexid+base64(0x01 ‖ 32 bytes)` → its parts, with everything but the key ID check done. */
function splitKeyText(text: string): { name: string; keyId: number; key: Buffer } {
  const first = text.indexOf('+');
  if (first < 0) throw new NoteError('malformed_key');
  const second = text.indexOf('+', first + 1);
  if (second < 0) throw new NoteError('malformed_key');
  const name = text.slice(0, first);
  const hex = text.slice(first + 1, second);
  if (!isValidKeyName(name)) throw new NoteError('invalid_key_name');
  // We accept only the canonical lowercase form that formatKeyId (and Go's %08x) writes.
  if (!HEX_KEY_ID.test(hex)) throw new NoteError('malformed_key');
  const raw = decodeCanonicalBase64(text.slice(second + 1));
  if (raw === undefined || raw.length === 0) throw new NoteError('malformed_key');
  if (raw[0] !== ED25519_SIGNATURE_TYPE) throw new NoteError('unsupported_key_type');
  if (raw.length !== 1 + ED25519_KEY_BYTES) throw new NoteError('malformed_key');
  return { name, keyId: Number.parseInt(hex, 16), key: raw.subarray(1) };
}

function makeVerifier(name: string, publicKey: Buffer, build: () => KeyObject): NoteVerifier {
  let keyObject: KeyObject;
  try {
    keyObject = build();
  } catch (cause) {
    throw new NoteError('malformed_key', { cause });
  }
  const copy = Buffer.from(publicKey);
  return Object.freeze({
    name,
    keyId: noteKeyId(name, ED25519_SIGNATURE_TYPE, copy),
    publicKey: copy,
    verify(message: Uint8Array, signature: Uint8Array): boolean {
      if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
      try {
        return verify(null, message, keyObject, signature);
      } catch {
        return false;
      }
    },
  });
}

function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== ED25519_KEY_BYTES) throw new NoteError('malformed_key');
  try {
    return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_HEADER, seed]), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new NoteError('malformed_key', { cause });
  }
}

function publicKeyBytes(publicKey: KeyObject): Buffer {
  const x = publicKey.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new NoteError('malformed_key');
  const bytes = Buffer.from(x, 'base64url');
  if (bytes.length !== ED25519_KEY_BYTES) throw new NoteError('malformed_key');
  return bytes;
}

/** True when `s` has no lone UTF-16 surrogate, i.e. it has a UTF-8 encoding (with `u`, a pair is one code point). */
export function isWellFormed(s: string): boolean {
  return !/[\ud800-\udfff]/u.test(s);
}
