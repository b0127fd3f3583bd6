import { createHmac, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open as openFile, readFile, stat } from 'node:fs/promises';
import { AES_256_KEY_BYTES, encodeAad, open, scryptKey, SCRYPT_DEFAULTS, seal, type ScryptParams } from '../crypto/index.js';
import { KurabanError } from '../errors/index.js';
import type { RootKeyProvider } from './root-key-provider.js';

/**
 * The local key file: a 256-bit root key, either in the file (development) or wrapped under a key
 * derived from a passphrase with scrypt (RFC 7914). Written with mode 0600 and never overwritten.
 *
 * { "kuraban": "root-key/v1", "keyId": "<16 hex>", "protection": "none", "key": "<base64>" }
 * { "kuraban": "root-key/v1", "keyId": "<16 hex>", "protection": "scrypt",
 *   "scrypt": { "N": 131072, "r": 8, "p": 1, "salt": "<base64>" }, "wrappedKey": "<base64>" }
 */
export const KEY_FILE_FORMAT = 'root-key/v1';
const KEY_ID_LABEL = 'kuraban root key id v1';
const WRAP_LABEL = 'kuraban/root-key-file/v1';

interface KeyFileNone {
  kuraban: typeof KEY_FILE_FORMAT;
  keyId: string;
  protection: 'none';
  key: string;
}
interface KeyFileScrypt {
  kuraban: typeof KEY_FILE_FORMAT;
  keyId: string;
  protection: 'scrypt';
  scrypt: ScryptParams & { salt: string };
  wrappedKey: string;
}
type KeyFile = KeyFileNone | KeyFileScrypt;

/** A key's public name: the first 64 bits of HMAC-SHA-256(key, label). Reveals nothing usable about the key. */
export function rootKeyId(key: Buffer): string {
  return createHmac('sha256', key).update(KEY_ID_LABEL).digest('hex').slice(0, 16);
}

export interface CreateKeyFileOptions {
  readonly passphrase?: string | undefined;
  readonly scrypt?: ScryptParams;
}

/** Creates a new key file; refuses to overwrite one (KEY_FILE_EXISTS). Returns the key id. */
export async function createKeyFile(path: string, options: CreateKeyFileOptions = {}): Promise<string> {
  const key = randomBytes(AES_256_KEY_BYTES);
  const keyId = rootKeyId(key);
  let body: KeyFile;
  if (options.passphrase !== undefined) {
    if (options.passphrase.length < 12) throw new KurabanError('KEY_FILE_INVALID', 'passphrase must be at least 12 characters');
    const params = options.scrypt ?? SCRYPT_DEFAULTS;
    const salt = randomBytes(16);
    const kek = await scryptKey(options.passphrase, salt, params);
    const wrapped = seal(kek, key, encodeAad(WRAP_LABEL, [keyId]));
    kek.fill(0);
    body = {
      kuraban: KEY_FILE_FORMAT,
      keyId,
      protection: 'scrypt',
      scrypt: { N: params.N, r: params.r, p: params.p, salt: salt.toString('base64') },
      wrappedKey: wrapped.toString('base64'),
    };
  } else {
    body = { kuraban: KEY_FILE_FORMAT, keyId, protection: 'none', key: key.toString('base64') };
  }
  key.fill(0);
  let handle;
  try {
    // O_EXCL: never replace an existing key file, which would orphan every record it protects.
    handle = await openFile(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new KurabanError('KEY_FILE_EXISTS', 'a key file already exists at that path');
    throw e;
  }
  try {
    await handle.writeFile(JSON.stringify(body, null, 2) + '\n', 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return keyId;
}

/** Why a key file could not be opened; the vault reports it while sealed. Never contains key bytes. */
export type KeyFileProblem = 'missing' | 'unreadable' | 'damaged' | 'passphrase-required' | 'passphrase-wrong' | 'permissions';

function invalid(problem: KeyFileProblem, message: string, cause?: unknown): KurabanError {
  const err = new KurabanError('KEY_FILE_INVALID', message, cause === undefined ? {} : { cause });
  return Object.assign(err, { problem });
}

export function keyFileProblemOf(e: unknown): KeyFileProblem | undefined {
  return (e as { problem?: KeyFileProblem } | null)?.problem;
}

export async function openKeyFileProvider(path: string, passphrase?: string): Promise<RootKeyProvider> {
  let text: string;
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) throw invalid('permissions', 'key file is readable by group or others; chmod 600 it');
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (keyFileProblemOf(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw invalid('missing', 'key file not found; run `kuraban init`', e);
    throw invalid('unreadable', 'key file cannot be read', e);
  }
  const file = parseKeyFile(text);
  let key: Buffer;
  if (file.protection === 'none') {
    key = Buffer.from(file.key, 'base64');
  } else {
    if (passphrase === undefined) throw invalid('passphrase-required', 'key file is protected by a passphrase; set KURABAN_PASSPHRASE');
    const kek = await scryptKey(passphrase, Buffer.from(file.scrypt.salt, 'base64'), file.scrypt);
    try {
      key = open(kek, Buffer.from(file.wrappedKey, 'base64'), encodeAad(WRAP_LABEL, [file.keyId]));
    } catch (e) {
      throw invalid('passphrase-wrong', 'passphrase does not open the key file (or the file is damaged)', e);
    } finally {
      kek.fill(0);
    }
  }
  if (key.length !== AES_256_KEY_BYTES || rootKeyId(key) !== file.keyId) {
    key.fill(0);
    throw invalid('damaged', 'key file is damaged: key does not match its id');
  }
  return fileProvider(key, file.keyId, file.protection === 'scrypt');
}

function parseKeyFile(text: string): KeyFile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalid('damaged', 'key file is damaged: not JSON', e);
  }
  const o = v as Record<string, unknown> | null;
  const b64 = (s: unknown) => typeof s === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0;
  if (!o || typeof o !== 'object' || o.kuraban !== KEY_FILE_FORMAT || typeof o.keyId !== 'string' || !/^[0-9a-f]{16}$/.test(o.keyId)) {
    throw invalid('damaged', 'key file is damaged: unknown format');
  }
  if (o.protection === 'none' && b64(o.key)) return o as unknown as KeyFileNone;
  if (o.protection === 'scrypt' && b64(o.wrappedKey)) {
    const s = o.scrypt as Record<string, unknown> | null;
    const int = (n: unknown, max: number) => Number.isSafeInteger(n) && (n as number) >= 1 && (n as number) <= max;
    if (s && int(s.N, 2 ** 22) && ((s.N as number) & ((s.N as number) - 1)) === 0 && int(s.r, 32) && int(s.p, 16) && b64(s.salt)) {
      return o as unknown as KeyFileScrypt;
    }
  }
  throw invalid('damaged', 'key file is damaged: missing or malformed fields');
}

function fileProvider(key: Buffer, keyId: string, isProtected: boolean): RootKeyProvider {
  let live: Buffer | undefined = key;
  const current = () => {
    if (!live) throw new KurabanError('VAULT_SEALED', 'root key provider is closed');
    return live;
  };
  return {
    kind: 'file',
    keyId,
    protected: isProtected,
    async wrap(plain, aad) {
      return seal(current(), plain, aad);
    },
    async unwrap(wrapped, aad) {
      return open(current(), wrapped, aad);
    },
    close() {
      live?.fill(0);
      live = undefined;
    },
  };
}
