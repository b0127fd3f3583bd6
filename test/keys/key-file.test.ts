import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyFile, keyFileProblemOf, openKeyFileProvider, rootKeyId, KEY_FILE_FORMAT } from '../../src/keys/index.js';
import { encodeAad } from '../../src/crypto/index.js';
import { rejectsWithCode, rejectsWithDecryptionFailure } from '../helpers/errors.js';

const FAST = { N: 1024, r: 8, p: 1 } as const;
const PASSPHRASE = 'correct horse battery staple';

const dir = mkdtempSync(join(tmpdir(), 'kuraban-keyfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `k${++n}.key`);

/** Writes a key file variant with mode 0600, the way createKeyFile would. */
function writeVariant(body: string): string {
  const p = fresh();
  writeFileSync(p, body, { mode: 0o600 });
  return p;
}

async function problemOf(path: string, passphrase?: string): Promise<string | undefined> {
  const e = await rejectsWithCode(() => openKeyFileProvider(path, passphrase), 'KEY_FILE_INVALID');
  return keyFileProblemOf(e);
}

describe('key file', () => {
  test('is created with mode 0600 and holds a 256-bit key whose id is derived from it', async () => {
    const p = fresh();
    const keyId = await createKeyFile(p);
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.match(keyId, /^[0-9a-f]{16}$/);
    const body = JSON.parse(readFileSync(p, 'utf8'));
    assert.equal(body.kuraban, KEY_FILE_FORMAT);
    assert.equal(body.protection, 'none');
    assert.equal(body.keyId, keyId);
    const key = Buffer.from(body.key, 'base64');
    assert.equal(key.length, 32);
    assert.equal(rootKeyId(key), keyId);
    assert.notEqual(await createKeyFile(fresh()), keyId, 'each file gets a new key');
  });

  test('never overwrites an existing file (KEY_FILE_EXISTS), which stays byte-identical', async () => {
    const p = fresh();
    await createKeyFile(p);
    const before = readFileSync(p);
    await rejectsWithCode(() => createKeyFile(p), 'KEY_FILE_EXISTS');
    await rejectsWithCode(() => createKeyFile(p, { passphrase: PASSPHRASE, scrypt: FAST }), 'KEY_FILE_EXISTS');
    assert.deepEqual(readFileSync(p), before);
    const other = writeVariant('not a key file');
    await rejectsWithCode(() => createKeyFile(other), 'KEY_FILE_EXISTS');
    assert.equal(readFileSync(other, 'utf8'), 'not a key file');
  });

  test('a passphrase shorter than 12 characters is refused and no file is written', async () => {
    const p = fresh();
    await rejectsWithCode(() => createKeyFile(p, { passphrase: 'short', scrypt: FAST }), 'KEY_FILE_INVALID');
    assert.equal(existsSync(p), false);
  });

  test('passphrase protection: the key is stored only wrapped under an scrypt-derived key', async () => {
    const p = fresh();
    const keyId = await createKeyFile(p, { passphrase: PASSPHRASE, scrypt: FAST });
    const body = JSON.parse(readFileSync(p, 'utf8'));
    assert.equal(body.protection, 'scrypt');
    assert.equal(body.key, undefined);
    assert.deepEqual({ N: body.scrypt.N, r: body.scrypt.r, p: body.scrypt.p }, FAST);
    assert.equal(Buffer.from(body.scrypt.salt, 'base64').length, 16);
    assert.equal(Buffer.from(body.wrappedKey, 'base64').length, 32 + 29);
    const provider = await openKeyFileProvider(p, PASSPHRASE);
    assert.equal(provider.keyId, keyId);
    assert.equal(provider.kind, 'file');
    // NFC: the same passphrase typed in decomposed form opens it too
    const q = fresh();
    await createKeyFile(q, { passphrase: 'パスワードは秘密ですよ本当に', scrypt: FAST });
    await openKeyFileProvider(q, 'ハ\u309aスワート\u3099は秘密て\u3099すよ本当に');
    assert.equal(await problemOf(p), 'passphrase-required');
    assert.equal(await problemOf(p, PASSPHRASE + '!'), 'passphrase-wrong');
    assert.equal(await problemOf(p, ''), 'passphrase-wrong');
  });

  test('passphrase protection with the default scrypt parameters (N=2^17, r=8, p=1)', async () => {
    const p = fresh();
    const keyId = await createKeyFile(p, { passphrase: PASSPHRASE });
    const body = JSON.parse(readFileSync(p, 'utf8'));
    assert.deepEqual({ N: body.scrypt.N, r: body.scrypt.r, p: body.scrypt.p }, { N: 131072, r: 8, p: 1 });
    assert.equal((await openKeyFileProvider(p, PASSPHRASE)).keyId, keyId);
  });

  test('the provider wraps and unwraps with its key; the same file always gives the same key; closing forgets it', async () => {
    const p = fresh();
    await createKeyFile(p);
    const a = await openKeyFileProvider(p);
    const b = await openKeyFileProvider(p);
    const aad = encodeAad('test', ['t1']);
    const secret = Buffer.alloc(32, 9);
    const wrapped = await a.wrap(secret, aad);
    assert.equal(wrapped.indexOf(secret), -1);
    assert.deepEqual(await b.unwrap(wrapped, aad), secret);
    await rejectsWithDecryptionFailure(() => b.unwrap(wrapped, encodeAad('test', ['t2'])));
    const other = await openKeyFileProvider(await (async () => {
      const q = fresh();
      await createKeyFile(q);
      return q;
    })());
    await rejectsWithDecryptionFailure(() => other.unwrap(wrapped, aad));
    a.close();
    await rejectsWithCode(() => a.wrap(secret, aad), 'VAULT_SEALED');
    await rejectsWithCode(() => a.unwrap(wrapped, aad), 'VAULT_SEALED');
    assert.deepEqual(await b.unwrap(wrapped, aad), secret, 'closing one provider does not affect another');
  });

  describe('a file that cannot be used is refused with a problem that says why', () => {
    test('missing', async () => {
      assert.equal(await problemOf(join(dir, 'nope.key')), 'missing');
    });

    test('readable by group or others', async () => {
      for (const mode of [0o640, 0o604, 0o660, 0o644]) {
        const p = fresh();
        await createKeyFile(p);
        chmodSync(p, mode);
        assert.equal(await problemOf(p), 'permissions', `mode ${mode.toString(8)}`);
      }
    });

    test('not a file', async () => {
      const d = join(dir, 'a-directory');
      mkdirSync(d, { mode: 0o700 });
      assert.equal(await problemOf(d), 'unreadable');
    });

    test('truncated JSON, wrong format, bad base64, absurd scrypt parameters', async () => {
      const p = fresh();
      await createKeyFile(p);
      const text = readFileSync(p, 'utf8');
      const body = JSON.parse(text);
      const q = fresh();
      await createKeyFile(q, { passphrase: PASSPHRASE, scrypt: FAST });
      const wrapped = JSON.parse(readFileSync(q, 'utf8'));
      const variants: Record<string, string> = {
        truncated: text.slice(0, Math.floor(text.length / 2)),
        empty: '',
        array: '[]',
        wrongFormat: JSON.stringify({ ...body, kuraban: 'root-key/v2' }),
        badKeyId: JSON.stringify({ ...body, keyId: 'XYZ' }),
        badBase64: JSON.stringify({ ...body, key: body.key.replace(/^..../, '!!!!') }),
        unpaddedBase64: JSON.stringify({ ...body, key: body.key.slice(0, -1) }),
        unknownProtection: JSON.stringify({ ...body, protection: 'rot13' }),
        wrappedBadBase64: JSON.stringify({ ...wrapped, wrappedKey: '***' }),
        scryptNotPowerOfTwo: JSON.stringify({ ...wrapped, scrypt: { ...wrapped.scrypt, N: 1000 } }),
        scryptHuge: JSON.stringify({ ...wrapped, scrypt: { ...wrapped.scrypt, N: 2 ** 23 } }),
        scryptMissing: JSON.stringify({ ...wrapped, scrypt: undefined }),
      };
      for (const [name, v] of Object.entries(variants)) assert.equal(await problemOf(writeVariant(v), PASSPHRASE), 'damaged', name);
    });

    test('a flipped key byte no longer matches the key id', async () => {
      const p = fresh();
      await createKeyFile(p);
      const body = JSON.parse(readFileSync(p, 'utf8'));
      for (const at of [0, 17, 31]) {
        const key = Buffer.from(body.key, 'base64');
        key[at] = (key[at] as number) ^ 0x01;
        const e = await rejectsWithCode(() => openKeyFileProvider(writeVariant(JSON.stringify({ ...body, key: key.toString('base64') }))), 'KEY_FILE_INVALID');
        assert.equal(keyFileProblemOf(e), 'damaged');
        assert.match(e.message, /does not match its id/);
      }
      const short = Buffer.from(body.key, 'base64').subarray(0, 31).toString('base64');
      assert.equal(await problemOf(writeVariant(JSON.stringify({ ...body, key: short }))), 'damaged');
    });

    test('a flipped byte of the wrapped key reads as a wrong passphrase or damage, never opens', async () => {
      const q = fresh();
      await createKeyFile(q, { passphrase: PASSPHRASE, scrypt: FAST });
      const body = JSON.parse(readFileSync(q, 'utf8'));
      const w = Buffer.from(body.wrappedKey, 'base64');
      w[20] = (w[20] as number) ^ 0x80;
      const e = await rejectsWithCode(() => openKeyFileProvider(writeVariant(JSON.stringify({ ...body, wrappedKey: w.toString('base64') })), PASSPHRASE), 'KEY_FILE_INVALID');
      assert.equal(keyFileProblemOf(e), 'passphrase-wrong');
      assert.match(e.message, /damaged/);
      // the key id is bound to the wrapped key as AAD
      const e2 = await rejectsWithCode(() => openKeyFileProvider(writeVariant(JSON.stringify({ ...body, keyId: '0123456789abcdef' })), PASSPHRASE), 'KEY_FILE_INVALID');
      assert.equal(keyFileProblemOf(e2), 'passphrase-wrong');
    });

    test('no problem message carries key material', async () => {
      const p = fresh();
      await createKeyFile(p);
      const body = JSON.parse(readFileSync(p, 'utf8'));
      const key = Buffer.from(body.key, 'base64');
      key[0] = (key[0] as number) ^ 1;
      for (const v of [JSON.stringify({ ...body, key: key.toString('base64') }), JSON.stringify(body).slice(0, 60)]) {
        const e = await rejectsWithCode(() => openKeyFileProvider(writeVariant(v)), 'KEY_FILE_INVALID');
        assert.equal(e.message.includes(body.key.slice(0, 8)), false);
        assert.equal(e.message.includes(key.toString('base64').slice(0, 8)), false);
      }
    });
  });
});
