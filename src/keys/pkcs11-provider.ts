import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { endianness } from 'node:os';
import pkcs11js from 'pkcs11js';
import type { AesGCM, Mechanism, PKCS11, Template } from 'pkcs11js';
import { AES_256_KEY_BYTES, CIPHERTEXT_FORMAT_V1, CIPHERTEXT_OVERHEAD, GCM_NONCE_BYTES, GCM_TAG_BYTES } from '../crypto/index.js';
import { decryptionFailed, KurabanError } from '../errors/index.js';
import type { RootKeyProvider } from './root-key-provider.js';

/**
 * A root key held in a PKCS#11 token (an HSM, a smart card, SoftHSM2). The key is generated inside
 * the token, marked sensitive and not extractable, and every wrap/unwrap is AES-256-GCM computed by
 * the token: the root key never enters this process.
 *
 * Wrapped format (the same layout as crypto/aead.ts, so a wrap can be checked with any AES-GCM):
 *   0x01 ‖ iv (12 random bytes) ‖ ciphertext ‖ tag (16 bytes)
 * `C_Encrypt` with CKM_AES_GCM returns ciphertext ‖ tag ("the tag is appended to the cipher text",
 * PKCS#11 Current Mechanisms, "AES-GCM Authenticated Encryption / Decryption"), so the token's
 * output is appended to the header unchanged.
 *
 * Key id: the token computes AES-ECB(key, 0^128) — the classic key check value, the block whose
 * first three bytes PKCS#11 defines as CKA_CHECK_VALUE for secret keys — and the id is the first
 * 64 bits of SHA-256("kuraban pkcs11 key id v1" ‖ that block). ECB over one zero block is the one
 * deterministic operation every AES key allowed to encrypt can do (it needs no IV, unlike GCM, where
 * a fixed IV would be a nonce reuse); the 16-byte block is hashed, never stored or shown. Tokens that
 * refuse CKM_AES_ECB for the key report it as `key-unsuitable`.
 *
 * Spec sections are cited by title: their numbers differ between PKCS#11 v2.40 and v3.0.
 */

export interface Pkcs11Options {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  readonly library: string;
  /** CK_TOKEN_INFO.label of the token, without its blank padding. */
  readonly tokenLabel: string;
  /** The normal user's PIN. Never logged, never put in an error. */
  readonly pin: string;
  /** CKA_LABEL of the AES-256 secret key. */
  readonly keyLabel: string;
}

/** Why a PKCS#11 token could not be used; the vault reports it while sealed. Never contains the PIN. */
export type Pkcs11Problem = 'library-missing' | 'token-missing' | 'pin-wrong' | 'pin-locked' | 'key-missing' | 'key-unsuitable' | 'device-error';

const PROBLEMS: ReadonlySet<string> = new Set<Pkcs11Problem>([
  'library-missing',
  'token-missing',
  'pin-wrong',
  'pin-locked',
  'key-missing',
  'key-unsuitable',
  'device-error',
]);

function unavailable(problem: Pkcs11Problem, message: string, cause?: unknown): KurabanError {
  const err = new KurabanError('KEY_PROVIDER_UNAVAILABLE', message, cause === undefined ? {} : { cause });
  return Object.assign(err, { problem });
}

/** The problem of a KEY_PROVIDER_UNAVAILABLE error from this module, else undefined. */
export function pkcs11ProblemOf(e: unknown): Pkcs11Problem | undefined {
  if (!(e instanceof KurabanError) || e.code !== 'KEY_PROVIDER_UNAVAILABLE') return undefined;
  const problem = (e as { problem?: unknown }).problem;
  return typeof problem === 'string' && PROBLEMS.has(problem) ? (problem as Pkcs11Problem) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Constants. pkcs11js exposes the header values; the names below say which spec text they follow.

/** CKM_AES_KEY_GEN — Current Mechanisms, "AES key generation": CKA_VALUE_LEN gives the key size in bytes. */
const CKM_AES_KEY_GEN = pkcs11js.CKM_AES_KEY_GEN;
/** CKM_AES_ECB — Current Mechanisms, "AES-ECB": no parameter, input a multiple of the block size. Used only for the key check value. */
const CKM_AES_ECB = pkcs11js.CKM_AES_ECB;
/** CKM_AES_GCM with CK_GCM_PARAMS — Current Mechanisms, "AES-GCM Authenticated Encryption / Decryption". */
const CKM_AES_GCM = pkcs11js.CKM_AES_GCM;
/** ulIvBits of CK_GCM_PARAMS (the v2.40 header field; v3.0 defines it as ulIvLen × 8). */
const GCM_IV_BITS = GCM_NONCE_BYTES * 8;
/** ulTagBits: the full 128-bit tag (NIST SP 800-38D §5.2.1.2). */
const GCM_TAG_BITS = GCM_TAG_BYTES * 8;
/** AES block size (FIPS 197 §3.1): the key check value encrypts one zero block. */
const AES_BLOCK_BYTES = 16;
const KEY_ID_LABEL = 'kuraban pkcs11 key id v1';
/** CKA_ID of a key Kuraban generates: 16 random bytes (Base spec, "Common key attributes"). */
const KEY_CKA_ID_BYTES = 16;

/**
 * Return values (Base spec, "Function return values") meaning the token, its session or its key is
 * gone — not that the input was wrong. A wrap or unwrap failing with one of them is
 * KEY_PROVIDER_UNAVAILABLE/'device-error' (the vault seals itself), never DECRYPTION_FAILED.
 * CKR_OBJECT_HANDLE_INVALID/CKR_KEY_HANDLE_INVALID are included because SoftHSM2 answers with them
 * once the token has been deleted under an open session.
 */
const DEVICE_GONE: ReadonlySet<number> = new Set([
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_TOKEN_NOT_RECOGNIZED,
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_DEVICE_ERROR,
  pkcs11js.CKR_DEVICE_MEMORY,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
  pkcs11js.CKR_OBJECT_HANDLE_INVALID,
  pkcs11js.CKR_KEY_HANDLE_INVALID,
]);
const PIN_WRONG: ReadonlySet<number> = new Set([pkcs11js.CKR_PIN_INCORRECT, pkcs11js.CKR_PIN_INVALID, pkcs11js.CKR_PIN_LEN_RANGE]);
/** The token refuses this use of the key (checked for the key check value). */
const KEY_REFUSED: ReadonlySet<number> = new Set([
  pkcs11js.CKR_KEY_FUNCTION_NOT_PERMITTED,
  pkcs11js.CKR_KEY_TYPE_INCONSISTENT,
  pkcs11js.CKR_KEY_SIZE_RANGE,
  pkcs11js.CKR_MECHANISM_INVALID,
]);

/** The CKR_* value of a pkcs11js error, or undefined for any other error. */
function ckr(e: unknown): number | undefined {
  return e instanceof pkcs11js.Pkcs11Error ? e.code : undefined;
}

/** "CKR_PIN_INCORRECT" or a generic word; pkcs11js's message is the return value's name, never an argument. */
function ckrName(e: unknown): string {
  const m = e instanceof pkcs11js.Pkcs11Error ? /^CKR_[A-Z0-9_]+$/.exec(e.message) : null;
  return m ? m[0] : 'native error';
}

const quote = (s: string) => JSON.stringify(s);

// ---------------------------------------------------------------------------------------------
// Process-wide module state. PKCS#11 itself is per process: C_Initialize may be called once per
// process and library (Base spec, "General-purpose functions": a second call answers
// CKR_CRYPTOKI_ALREADY_INITIALIZED), and all sessions one application has with a token share one
// login state (Base spec, "Session management": C_Login on one session logs in all of them,
// C_Logout on one logs out all of them). So the loaded modules and the logins are counted here,
// keyed by the library's real path and the slot: this is the one module-level registry in
// src/keys, and it exists because the standard makes that state process-global.

interface Login {
  refs: number;
  /** HMAC of the PIN that logged in, under a per-load random key: a second open must present the same PIN. */
  readonly pinTag: Buffer;
  /** False if somebody else in this process had logged in first; then we never log out. */
  readonly ours: boolean;
}

interface Library {
  readonly path: string;
  readonly p11: PKCS11;
  /** False if the module was already initialised by someone else in this process; then we never finalise it. */
  readonly ownsInit: boolean;
  readonly pinKey: Buffer;
  readonly logins: Map<string, Login>;
  refs: number;
}

const libraries = new Map<string, Library>();

function acquireLibrary(path: string): Library {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (e) {
    throw unavailable('library-missing', `PKCS#11 library ${quote(path)} does not exist`, e);
  }
  const known = libraries.get(real);
  if (known) {
    known.refs++;
    return known;
  }
  const p11 = new pkcs11js.PKCS11();
  try {
    p11.load(real);
  } catch (e) {
    throw unavailable('library-missing', `PKCS#11 library ${quote(path)} cannot be loaded`, e);
  }
  let ownsInit = true;
  try {
    // CKF_OS_LOCKING_OK: the *Async calls run on libuv's worker threads, so the module must lock.
    p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (ckr(e) === pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      ownsInit = false;
    } else {
      closeQuietly(p11);
      throw unavailable('device-error', `PKCS#11 library ${quote(path)} failed to initialise (${ckrName(e)})`, e);
    }
  }
  const lib: Library = { path: real, p11, ownsInit, pinKey: randomBytes(32), logins: new Map(), refs: 1 };
  libraries.set(real, lib);
  return lib;
}

function releaseLibrary(lib: Library): void {
  lib.refs--;
  if (lib.refs > 0) return;
  libraries.delete(lib.path);
  if (lib.ownsInit) {
    try {
      lib.p11.C_Finalize();
    } catch {
      // already finalised, or the device is gone: nothing left to release
    }
  }
  closeQuietly(lib.p11);
}

function closeQuietly(p11: PKCS11): void {
  try {
    p11.close();
  } catch {
    // dlclose failed: the module stays mapped, which is harmless
  }
}

interface TokenSession {
  readonly lib: Library;
  readonly slotKey: string;
  readonly handle: Buffer;
  loggedIn: boolean;
}

function findSlot(lib: Library, tokenLabel: string): Buffer {
  if (tokenLabel === '') throw unavailable('token-missing', 'PKCS#11 token label is empty');
  let slots: Buffer[];
  try {
    slots = lib.p11.C_GetSlotList(true);
  } catch (e) {
    throw unavailable('device-error', `PKCS#11 slot list cannot be read (${ckrName(e)})`, e);
  }
  const matches: { slot: Buffer; flags: number }[] = [];
  for (const slot of slots) {
    let info;
    try {
      info = lib.p11.C_GetTokenInfo(slot);
    } catch {
      continue; // a token that went away (SoftHSM2 answers CKR_GENERAL_ERROR after --delete-token)
    }
    if ((info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0) continue;
    // CK_TOKEN_INFO.label is 32 bytes padded with blanks (Base spec, "CK_TOKEN_INFO").
    if (info.label.replace(/ +$/, '') === tokenLabel) matches.push({ slot, flags: info.flags });
  }
  const [match, ...others] = matches;
  if (match === undefined) throw unavailable('token-missing', `no PKCS#11 token labelled ${quote(tokenLabel)} is present`);
  if (others.length > 0) throw unavailable('token-missing', `more than one PKCS#11 token is labelled ${quote(tokenLabel)}`);
  if ((match.flags & pkcs11js.CKF_USER_PIN_LOCKED) !== 0) {
    throw unavailable('pin-locked', `the user PIN of PKCS#11 token ${quote(tokenLabel)} is locked`);
  }
  return match.slot;
}

function login(s: TokenSession, tokenLabel: string, pin: string): void {
  if (pin === '') throw unavailable('pin-wrong', `no PIN given for PKCS#11 token ${quote(tokenLabel)}`);
  const pinTag = createHmac('sha256', s.lib.pinKey).update(pin, 'utf8').digest();
  const known = s.lib.logins.get(s.slotKey);
  if (known) {
    // Already logged in by another provider of ours: C_Login would answer CKR_USER_ALREADY_LOGGED_IN
    // whatever the PIN, so compare it with the PIN that did log in.
    if (!timingSafeEqual(known.pinTag, pinTag)) throw unavailable('pin-wrong', `wrong PIN for PKCS#11 token ${quote(tokenLabel)}`);
    known.refs++;
    s.loggedIn = true;
    return;
  }
  let ours = true;
  try {
    s.lib.p11.C_Login(s.handle, pkcs11js.CKU_USER, pin);
  } catch (e) {
    const rv = ckr(e);
    if (rv === pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
      ours = false; // logged in by other code in this process that shares the module; not ours to log out
    } else if (rv !== undefined && PIN_WRONG.has(rv)) {
      throw unavailable('pin-wrong', `wrong PIN for PKCS#11 token ${quote(tokenLabel)}`, e);
    } else if (rv === pkcs11js.CKR_PIN_LOCKED) {
      throw unavailable('pin-locked', `the user PIN of PKCS#11 token ${quote(tokenLabel)} is locked`, e);
    } else {
      throw unavailable('device-error', `login to PKCS#11 token ${quote(tokenLabel)} failed (${ckrName(e)})`, e);
    }
  }
  s.lib.logins.set(s.slotKey, { refs: 1, pinTag, ours });
  s.loggedIn = true;
}

async function openTokenSession(o: Pkcs11Options, readWrite: boolean): Promise<TokenSession> {
  const lib = acquireLibrary(o.library);
  let s: TokenSession | undefined;
  try {
    const slot = findSlot(lib, o.tokenLabel);
    // CKF_SERIAL_SESSION must always be set (Base spec, "C_OpenSession").
    const flags = pkcs11js.CKF_SERIAL_SESSION | (readWrite ? pkcs11js.CKF_RW_SESSION : 0);
    let handle: Buffer;
    try {
      handle = lib.p11.C_OpenSession(slot, flags);
    } catch (e) {
      const rv = ckr(e);
      const problem = rv === pkcs11js.CKR_TOKEN_NOT_PRESENT || rv === pkcs11js.CKR_SLOT_ID_INVALID ? 'token-missing' : 'device-error';
      throw unavailable(problem, `cannot open a session with PKCS#11 token ${quote(o.tokenLabel)} (${ckrName(e)})`, e);
    }
    s = { lib, slotKey: slot.toString('hex'), handle, loggedIn: false };
    login(s, o.tokenLabel, o.pin);
    return s;
  } catch (e) {
    if (s) endTokenSession(s);
    else releaseLibrary(lib);
    throw e;
  }
}

/** Logs out (if this was the last of our logins on the token), closes the session, releases the module. Never throws. */
function endTokenSession(s: TokenSession): void {
  const { p11 } = s.lib;
  if (s.loggedIn) {
    s.loggedIn = false;
    const state = s.lib.logins.get(s.slotKey);
    if (state && --state.refs === 0) {
      s.lib.logins.delete(s.slotKey);
      if (state.ours) {
        try {
          p11.C_Logout(s.handle);
        } catch {
          // the token or session is already gone
        }
      }
    }
  }
  try {
    p11.C_CloseSession(s.handle);
  } catch {
    // the token or session is already gone
  }
  releaseLibrary(s.lib);
}

// ---------------------------------------------------------------------------------------------
// Keys

function findSecretKeys(s: TokenSession, keyLabel: string): Buffer[] {
  const { p11 } = s.lib;
  try {
    p11.C_FindObjectsInit(s.handle, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_LABEL, value: keyLabel },
    ]);
  } catch (e) {
    throw unavailable('device-error', `cannot search the PKCS#11 token for keys (${ckrName(e)})`, e);
  }
  try {
    return p11.C_FindObjects(s.handle, 2); // two are enough to tell "one" from "more than one"
  } catch (e) {
    throw unavailable('device-error', `cannot search the PKCS#11 token for keys (${ckrName(e)})`, e);
  } finally {
    try {
      p11.C_FindObjectsFinal(s.handle);
    } catch {
      // the search ends with the session anyway
    }
  }
}

function findOneKey(s: TokenSession, keyLabel: string): Buffer {
  if (keyLabel === '') throw unavailable('key-missing', 'PKCS#11 key label is empty');
  const [key, ...more] = findSecretKeys(s, keyLabel);
  if (key === undefined) throw unavailable('key-missing', `the PKCS#11 token holds no secret key labelled ${quote(keyLabel)}`);
  if (more.length > 0) throw unavailable('key-missing', `the PKCS#11 token holds more than one secret key labelled ${quote(keyLabel)}`);
  return key;
}

const NATIVE_LE = endianness() === 'LE';

/** A CK_ULONG attribute value: native byte order, 4 or 8 bytes. */
function readUlong(b: Buffer): number | undefined {
  if (b.length === 4) return NATIVE_LE ? b.readUInt32LE(0) : b.readUInt32BE(0);
  if (b.length === 8) return Number(NATIVE_LE ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0));
  return undefined;
}

/** A CK_BBOOL attribute value: one byte, CK_TRUE = 1. */
const readBool = (b: Buffer): boolean | undefined => (b.length === 1 ? b[0] !== 0 : undefined);

function attributes(s: TokenSession, key: Buffer, types: readonly number[]): Map<number, Buffer> {
  const got = s.lib.p11.C_GetAttributeValue(
    s.handle,
    key,
    types.map((type) => ({ type })),
  );
  return new Map(got.map((a) => [a.type, a.value]));
}

/**
 * Refuses a key that is not an AES-256 key allowed to encrypt and decrypt, or that could leave the
 * token: CKA_SENSITIVE true and CKA_EXTRACTABLE false (Base spec, "Secret key objects").
 */
function checkSuitable(s: TokenSession, key: Buffer, keyLabel: string): void {
  const fail = (why: string, cause?: unknown) => unavailable('key-unsuitable', `PKCS#11 key ${quote(keyLabel)} is unsuitable: ${why}`, cause);
  let type: number | undefined;
  try {
    const a = attributes(s, key, [pkcs11js.CKA_KEY_TYPE]);
    type = readUlong(a.get(pkcs11js.CKA_KEY_TYPE) ?? Buffer.alloc(0));
  } catch (e) {
    throw runtimeUnavailable(e, 'read the key attributes') ?? fail(`its key type cannot be read (${ckrName(e)})`, e);
  }
  if (type !== pkcs11js.CKK_AES) throw fail('not an AES key');
  const names = [pkcs11js.CKA_VALUE_LEN, pkcs11js.CKA_ENCRYPT, pkcs11js.CKA_DECRYPT, pkcs11js.CKA_SENSITIVE, pkcs11js.CKA_EXTRACTABLE];
  let a: Map<number, Buffer>;
  try {
    a = attributes(s, key, names);
  } catch (e) {
    throw runtimeUnavailable(e, 'read the key attributes') ?? fail(`its attributes cannot be read (${ckrName(e)})`, e);
  }
  const get = (t: number) => a.get(t) ?? Buffer.alloc(0);
  const reasons: string[] = [];
  if (readUlong(get(pkcs11js.CKA_VALUE_LEN)) !== AES_256_KEY_BYTES) reasons.push('not 256 bits long');
  if (readBool(get(pkcs11js.CKA_ENCRYPT)) !== true) reasons.push('not allowed to encrypt');
  if (readBool(get(pkcs11js.CKA_DECRYPT)) !== true) reasons.push('not allowed to decrypt');
  if (readBool(get(pkcs11js.CKA_SENSITIVE)) !== true) reasons.push('not sensitive');
  if (readBool(get(pkcs11js.CKA_EXTRACTABLE)) !== false) reasons.push('extractable');
  if (reasons.length > 0) throw fail(reasons.join(', '));
}

/** keyId: see the file comment. The check block is computed by the token and only its hash leaves this function. */
function tokenKeyId(s: TokenSession, key: Buffer, keyLabel: string): string {
  const { p11 } = s.lib;
  let kcv: Buffer;
  try {
    p11.C_EncryptInit(s.handle, { mechanism: CKM_AES_ECB }, key);
    kcv = p11.C_Encrypt(s.handle, Buffer.alloc(AES_BLOCK_BYTES), Buffer.alloc(AES_BLOCK_BYTES));
  } catch (e) {
    const rv = ckr(e);
    if (rv !== undefined && KEY_REFUSED.has(rv)) {
      throw unavailable('key-unsuitable', `PKCS#11 key ${quote(keyLabel)} is unsuitable: the token refuses AES-ECB for its key check value (${ckrName(e)})`, e);
    }
    throw runtimeUnavailable(e, 'compute the key id') ?? unavailable('device-error', `the PKCS#11 token cannot compute the key id (${ckrName(e)})`, e);
  }
  if (kcv.length !== AES_BLOCK_BYTES) throw unavailable('device-error', 'the PKCS#11 token returned a key check value of the wrong length');
  return createHash('sha256').update(KEY_ID_LABEL, 'utf8').update(kcv).digest('hex').slice(0, 16);
}

/** A device/session/key-gone failure as KEY_PROVIDER_UNAVAILABLE, or undefined for any other error. */
function runtimeUnavailable(e: unknown, doing: string): KurabanError | undefined {
  const rv = ckr(e);
  if (rv === undefined || !DEVICE_GONE.has(rv)) return undefined;
  return unavailable('device-error', `the PKCS#11 token is unavailable: cannot ${doing} (${ckrName(e)})`, e);
}

function gcm(iv: Buffer, aad: Buffer): Mechanism {
  const parameter: AesGCM = { type: pkcs11js.CK_PARAMS_GCM, iv, aad, ivBits: GCM_IV_BITS, tagBits: GCM_TAG_BITS };
  return { mechanism: CKM_AES_GCM, parameter };
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Opens the token, logs in, finds the AES-256 secret key by CKA_LABEL; the returned provider has kind 'pkcs11'. */
export async function openPkcs11Provider(o: Pkcs11Options): Promise<RootKeyProvider> {
  const s = await openTokenSession(o, false);
  try {
    const key = findOneKey(s, o.keyLabel);
    checkSuitable(s, key, o.keyLabel);
    const keyId = tokenKeyId(s, key, o.keyLabel);
    return tokenProvider(s, key, keyId);
  } catch (e) {
    endTokenSession(s);
    throw e;
  }
}

/**
 * Generates the root key INSIDE the token and returns its key id. Refuses (KEY_EXISTS) if the token
 * already holds a secret key with that label: Kuraban never replaces a root key.
 */
export async function createPkcs11RootKey(o: Pkcs11Options): Promise<string> {
  if (o.keyLabel === '') throw unavailable('key-missing', 'PKCS#11 key label is empty');
  const s = await openTokenSession(o, true);
  const { p11 } = s.lib;
  try {
    const exists = () => new KurabanError('KEY_EXISTS', `the PKCS#11 token already holds a secret key labelled ${quote(o.keyLabel)}`);
    if (findSecretKeys(s, o.keyLabel).length > 0) throw exists();
    // Secret key attributes: Base spec, "Common key attributes" / "Secret key objects"; AES: Current
    // Mechanisms, "AES secret key objects" and "AES key generation".
    const template: Template = [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
      { type: pkcs11js.CKA_VALUE_LEN, value: AES_256_KEY_BYTES },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_ENCRYPT, value: true },
      { type: pkcs11js.CKA_DECRYPT, value: true },
      { type: pkcs11js.CKA_WRAP, value: false },
      { type: pkcs11js.CKA_UNWRAP, value: false },
      { type: pkcs11js.CKA_SIGN, value: false },
      { type: pkcs11js.CKA_VERIFY, value: false },
      { type: pkcs11js.CKA_DERIVE, value: false },
      { type: pkcs11js.CKA_LABEL, value: o.keyLabel },
      { type: pkcs11js.CKA_ID, value: randomBytes(KEY_CKA_ID_BYTES) },
    ];
    let key: Buffer;
    try {
      key = await p11.C_GenerateKeyAsync(s.handle, { mechanism: CKM_AES_KEY_GEN }, template);
    } catch (e) {
      throw runtimeUnavailable(e, 'generate the key') ?? unavailable('device-error', `the PKCS#11 token cannot generate an AES-256 key (${ckrName(e)})`, e);
    }
    try {
      // PKCS#11 has no unique labels: if another writer created the same label meanwhile, back off
      // (remove ours) rather than leave two keys that no open could tell apart.
      if (findSecretKeys(s, o.keyLabel).length > 1) throw exists();
      checkSuitable(s, key, o.keyLabel);
      return tokenKeyId(s, key, o.keyLabel);
    } catch (e) {
      try {
        p11.C_DestroyObject(s.handle, key); // a key nobody can use yet; leaving it would block a retry with KEY_EXISTS
      } catch {
        // the token is gone; nothing to undo
      }
      throw e;
    }
  } finally {
    endTokenSession(s);
  }
}

function tokenProvider(s: TokenSession, key: Buffer, keyId: string): RootKeyProvider {
  const { p11 } = s.lib;
  let closed = false;
  let inFlight = 0;
  // One operation at a time per session (Base spec, "Sessions": a session runs one cryptographic
  // operation at a time; a second *Init answers CKR_OPERATION_ACTIVE). Never rejects.
  let tail: Promise<void> = Promise.resolve();

  const sealed = () => new KurabanError('VAULT_SEALED', 'root key provider is closed');
  function serial<T>(op: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(sealed());
    inFlight++;
    const result = tail.then(op);
    tail = result.then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      inFlight--;
    });
    return result;
  }
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    endTokenSession(s);
  };

  return {
    kind: 'pkcs11',
    keyId,
    protected: true, // the key is in the token, never in clear on disk or in memory here
    wrap(plain, aad) {
      if (closed) return Promise.reject(sealed());
      // The token refuses an empty C_Encrypt input (CKR_ARGUMENTS_BAD); a root key never wraps nothing.
      if (plain.length === 0) return Promise.reject(new KurabanError('INTERNAL', 'root key provider cannot wrap an empty value'));
      // Snapshots taken now, as the key-file provider's synchronous seal does: the caller may zero
      // its key as soon as this returns, while the operation may still wait for the session.
      const input = Buffer.from(plain);
      const ad = Buffer.from(aad);
      return serial(async () => {
        const iv = randomBytes(GCM_NONCE_BYTES);
        let out: Buffer;
        try {
          p11.C_EncryptInit(s.handle, gcm(iv, ad), key);
          out = await p11.C_EncryptAsync(s.handle, input, Buffer.alloc(input.length + GCM_TAG_BYTES));
        } catch (e) {
          throw runtimeUnavailable(e, 'wrap a key') ?? unavailable('device-error', `the PKCS#11 token failed to wrap a key (${ckrName(e)})`, e);
        } finally {
          input.fill(0);
        }
        if (out.length !== input.length + GCM_TAG_BYTES) throw unavailable('device-error', 'the PKCS#11 token returned AES-GCM output of an unexpected length');
        return Buffer.concat([Buffer.of(CIPHERTEXT_FORMAT_V1), iv, out]);
      });
    },
    unwrap(wrapped, aad) {
      if (closed) return Promise.reject(sealed());
      // Checked before the token is asked; the same error as every other failure.
      if (wrapped.length < CIPHERTEXT_OVERHEAD || wrapped[0] !== CIPHERTEXT_FORMAT_V1) return Promise.reject(decryptionFailed());
      const iv = Buffer.from(wrapped.subarray(1, 1 + GCM_NONCE_BYTES));
      const body = Buffer.from(wrapped.subarray(1 + GCM_NONCE_BYTES)); // ciphertext ‖ tag, as C_Decrypt wants it
      const ad = Buffer.from(aad);
      return serial(async () => {
        try {
          p11.C_DecryptInit(s.handle, gcm(iv, ad), key);
        } catch (e) {
          throw runtimeUnavailable(e, 'unwrap a key') ?? unavailable('device-error', `the PKCS#11 token failed to start an unwrap (${ckrName(e)})`, e);
        }
        let out: Buffer;
        try {
          // SoftHSM2 wants room for the whole input (ciphertext ‖ tag) and otherwise answers
          // CKR_BUFFER_TOO_SMALL, which would leave the operation active.
          out = await p11.C_DecryptAsync(s.handle, body, Buffer.alloc(body.length));
        } catch (e) {
          // A wrong tag is CKR_ENCRYPTED_DATA_INVALID in the spec and CKR_GENERAL_ERROR in SoftHSM2:
          // everything but a vanished device is the one indistinguishable failure (no cause kept).
          throw runtimeUnavailable(e, 'unwrap a key') ?? decryptionFailed();
        }
        if (out.length !== body.length - GCM_TAG_BYTES) throw decryptionFailed();
        return out;
      });
    },
    close() {
      if (closed) return;
      closed = true;
      // Operations accepted before close finish first; with none pending the session ends now, so
      // the next open in this process re-initialises the module and sees new tokens.
      if (inFlight === 0) end();
      else tail = tail.then(end);
    },
  };
}
