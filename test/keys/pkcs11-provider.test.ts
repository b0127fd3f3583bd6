import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import type { PKCS11 } from 'pkcs11js';
import { seal } from '../../src/crypto/index.js';
import { KurabanError } from '../../src/errors/index.js';
import { createPkcs11RootKey, openPkcs11Provider, pkcs11ProblemOf, type Pkcs11Options, type Pkcs11Problem, type RootKeyProvider } from '../../src/keys/index.js';
import { kurabanErrorOf, rejectsWithCode, rejectsWithDecryptionFailure } from '../helpers/errors.js';
import { softHsm, type TestToken } from '../helpers/softhsm.js';

// Before anything initialises the module in this process: SoftHSM2 reads SOFTHSM2_CONF at C_Initialize.
const hsm = softHsm();

const options = (t: TestToken, keyLabel = 'kuraban-root'): Pkcs11Options => ({ library: hsm.library, tokenLabel: t.tokenLabel, pin: t.pin, keyLabel });

/** Every provider a test opens is closed at its end, so the module is finalised between tests and sees new tokens. */
async function withProviders<T>(fn: (open: (o: Pkcs11Options) => Promise<RootKeyProvider>) => Promise<T>): Promise<T> {
  const opened: RootKeyProvider[] = [];
  try {
    return await fn(async (o) => {
      const p = await openPkcs11Provider(o);
      opened.push(p);
      return p;
    });
  } finally {
    for (const p of opened) p.close();
  }
}

/** PINs seen by the tests; no provider error may contain one. */
const pins = new Set<string>();
async function newToken(label?: string): Promise<TestToken> {
  const t = await hsm.newToken(label);
  pins.add(t.pin);
  pins.add(t.soPin);
  return t;
}

function assertNoPin(e: unknown, ...extra: string[]): void {
  const texts: string[] = [];
  for (let x: unknown = e; x !== undefined && x !== null; x = (x as { cause?: unknown }).cause) {
    texts.push(String(x), String((x as { stack?: unknown }).stack), JSON.stringify(x));
  }
  for (const pin of [...pins, ...extra]) {
    for (const text of texts) assert.ok(!text.includes(pin), `an error text contains a PIN: ${text}`);
  }
}

async function problemOf(fn: () => Promise<unknown>, ...extraSecrets: string[]): Promise<{ problem: Pkcs11Problem | undefined; message: string }> {
  const e = await rejectsWithCode(fn, 'KEY_PROVIDER_UNAVAILABLE');
  assertNoPin(e, ...extraSecrets);
  return { problem: pkcs11ProblemOf(e), message: e.message };
}

/**
 * Looks at a token directly through pkcs11js, as an auditor would. Runs only while no provider is
 * open (the module and the login are shared per process), and finalises what it initialised.
 */
async function inspect<T>(t: TestToken, fn: (p11: PKCS11, session: Buffer) => T | Promise<T>): Promise<T> {
  const p11 = new pkcs11js.PKCS11();
  p11.load(hsm.library);
  p11.C_Initialize();
  try {
    const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trimEnd() === t.tokenLabel);
    assert.ok(slot, `token ${t.tokenLabel} not found`);
    const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p11.C_Login(session, pkcs11js.CKU_USER, t.pin);
    try {
      return await fn(p11, session);
    } finally {
      p11.C_Logout(session);
      p11.C_CloseSession(session);
    }
  } finally {
    p11.C_Finalize();
    p11.close();
  }
}

function findKeys(p11: PKCS11, session: Buffer, keyLabel: string): Buffer[] {
  p11.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_LABEL, value: keyLabel },
  ]);
  try {
    return p11.C_FindObjects(session, 10);
  } finally {
    p11.C_FindObjectsFinal(session);
  }
}

/** The key id Kuraban must compute for known key bytes: SHA-256("kuraban pkcs11 key id v1" ‖ AES-ECB(key, 0^128)), 64 bits. */
function expectedKeyId(key: Buffer): string {
  const ecb = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  const kcv = Buffer.concat([ecb.update(Buffer.alloc(16)), ecb.final()]);
  return createHash('sha256').update('kuraban pkcs11 key id v1').update(kcv).digest('hex').slice(0, 16);
}

const CKR = (e: unknown) => (e as { message?: string }).message;

describe('PKCS#11 root key provider (SoftHSM2)', () => {
  test('creates the key inside the token, opens it by label, and its id is stable per key and differs between keys', async () => {
    const t = await newToken();
    const id = await createPkcs11RootKey(options(t));
    assert.match(id, /^[0-9a-f]{16}$/);
    const other = await createPkcs11RootKey(options(t, 'kuraban-root-2'));
    assert.notEqual(other, id, 'a second key has another id');
    await withProviders(async (open) => {
      const p = await open(options(t));
      assert.equal(p.kind, 'pkcs11');
      assert.equal(p.protected, true);
      assert.equal(p.keyId, id);
      assert.equal((await open(options(t))).keyId, id, 'the same key opened twice has the same id');
      assert.equal((await open(options(t, 'kuraban-root-2'))).keyId, other);
    });
    await withProviders(async (open) => {
      assert.equal((await open(options(t))).keyId, id, 'stable after the module was finalised and loaded again');
    });
  });

  test('wrap → unwrap round trip in the format 0x01 ‖ iv(12) ‖ ciphertext ‖ tag(16), with a fresh IV each time', async () => {
    const t = await newToken();
    await createPkcs11RootKey(options(t));
    await withProviders(async (open) => {
      const p = await open(options(t));
      const key = randomBytes(32);
      const aad = Buffer.from('kuraban/wrapped-key/v1\0t1\0tenant');
      const a = await p.wrap(key, aad);
      const b = await p.wrap(key, aad);
      assert.equal(a.length, 1 + 12 + 32 + 16);
      assert.equal(a[0], 0x01);
      assert.notDeepEqual(a.subarray(1, 13), b.subarray(1, 13), 'a fresh IV per wrap');
      assert.notDeepEqual(a.subarray(13), b.subarray(13));
      assert.deepEqual(await p.unwrap(a, aad), key);
      assert.deepEqual(await p.unwrap(b, aad), key);
      const one = Buffer.from([7]);
      assert.deepEqual(await p.unwrap(await p.wrap(one, Buffer.alloc(0)), Buffer.alloc(0)), one, 'empty AAD, one-byte value');
      const big = randomBytes(4096);
      assert.deepEqual(await p.unwrap(await p.wrap(big, aad), aad), big);
      // The caller may zero its key as soon as wrap() returns, even while the wrap waits for the session.
      const busy = Array.from({ length: 5 }, () => p.wrap(randomBytes(32), aad));
      const mine = Buffer.from(key);
      const pending = p.wrap(mine, aad);
      mine.fill(0);
      await Promise.all(busy);
      assert.deepEqual(await p.unwrap(await pending, aad), key);
      await rejectsWithCode(() => p.wrap(Buffer.alloc(0), aad), 'INTERNAL');
    });
  });

  test('a changed byte, other AAD, a truncated blob, another version byte or another key → the one DECRYPTION_FAILED', async () => {
    const t = await newToken();
    const u = await newToken();
    await createPkcs11RootKey(options(t));
    await createPkcs11RootKey(options(t, 'second'));
    await createPkcs11RootKey(options(u)); // same key label in another token
    await withProviders(async (open) => {
      const p = await open(options(t));
      const sameToken = await open(options(t, 'second'));
      const otherToken = await open(options(u));
      const key = randomBytes(32);
      const aad = Buffer.from('aad for the test');
      const w = await p.wrap(key, aad);
      for (let i = 0; i < w.length; i++) {
        for (const bit of [0x01, 0x80]) {
          const bad = Buffer.from(w);
          bad[i] = (bad[i] ?? 0) ^ bit;
          await rejectsWithDecryptionFailure(() => p.unwrap(bad, aad));
        }
      }
      await rejectsWithDecryptionFailure(() => p.unwrap(w, Buffer.from('aad for the tesT')));
      await rejectsWithDecryptionFailure(() => p.unwrap(w, Buffer.alloc(0)));
      await rejectsWithDecryptionFailure(() => p.unwrap(Buffer.concat([w, Buffer.of(0)]), aad));
      for (const len of [0, 1, 13, 28, 29, w.length - 1]) await rejectsWithDecryptionFailure(() => p.unwrap(w.subarray(0, len), aad));
      await rejectsWithDecryptionFailure(() => p.unwrap(Buffer.concat([Buffer.of(0x02), w.subarray(1)]), aad));
      await rejectsWithDecryptionFailure(() => sameToken.unwrap(w, aad));
      await rejectsWithDecryptionFailure(() => otherToken.unwrap(w, aad));
      assert.notEqual(otherToken.keyId, p.keyId);
      assert.deepEqual(await p.unwrap(w, aad), key, 'the provider still works after all those failures');
    });
  });

  test('the root key never leaves the token: sensitive, not extractable, private, no wrap/unwrap use, CKA_VALUE unreadable', async () => {
    const t = await newToken();
    await createPkcs11RootKey(options(t));
    await inspect(t, (p11, session) => {
      const [key, ...more] = findKeys(p11, session, 'kuraban-root');
      assert.ok(key);
      assert.equal(more.length, 0);
      const attrs = new Map(
        p11
          .C_GetAttributeValue(session, key, [
            { type: pkcs11js.CKA_KEY_TYPE },
            { type: pkcs11js.CKA_VALUE_LEN },
            { type: pkcs11js.CKA_TOKEN },
            { type: pkcs11js.CKA_PRIVATE },
            { type: pkcs11js.CKA_SENSITIVE },
            { type: pkcs11js.CKA_EXTRACTABLE },
            { type: pkcs11js.CKA_ALWAYS_SENSITIVE },
            { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
            { type: pkcs11js.CKA_ENCRYPT },
            { type: pkcs11js.CKA_DECRYPT },
            { type: pkcs11js.CKA_WRAP },
            { type: pkcs11js.CKA_UNWRAP },
            { type: pkcs11js.CKA_ID },
          ])
          .map((a) => [a.type, a.value]),
      );
      const bool = (type: number) => attrs.get(type)?.[0] === 1;
      assert.equal(attrs.get(pkcs11js.CKA_KEY_TYPE)?.readUInt32LE(0), pkcs11js.CKK_AES);
      assert.equal(attrs.get(pkcs11js.CKA_VALUE_LEN)?.readUInt32LE(0), 32);
      assert.equal(bool(pkcs11js.CKA_TOKEN), true);
      assert.equal(bool(pkcs11js.CKA_PRIVATE), true);
      assert.equal(bool(pkcs11js.CKA_SENSITIVE), true);
      assert.equal(bool(pkcs11js.CKA_EXTRACTABLE), false);
      assert.equal(bool(pkcs11js.CKA_ALWAYS_SENSITIVE), true, 'generated sensitive, never had a readable value');
      assert.equal(bool(pkcs11js.CKA_NEVER_EXTRACTABLE), true);
      assert.equal(bool(pkcs11js.CKA_ENCRYPT), true);
      assert.equal(bool(pkcs11js.CKA_DECRYPT), true);
      assert.equal(bool(pkcs11js.CKA_WRAP), false);
      assert.equal(bool(pkcs11js.CKA_UNWRAP), false);
      assert.equal(attrs.get(pkcs11js.CKA_ID)?.length, 16);

      assert.throws(() => p11.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_VALUE }]), (e) => CKR(e) === 'CKR_ATTRIBUTE_SENSITIVE');
      // Nor can it be exported wrapped under a key the caller controls.
      const kek = p11.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_TOKEN, value: false },
        { type: pkcs11js.CKA_WRAP, value: true },
      ]);
      assert.throws(() => p11.C_WrapKey(session, { mechanism: pkcs11js.CKM_AES_KEY_WRAP }, kek, key, Buffer.alloc(64)), (e) => CKR(e) === 'CKR_KEY_UNEXTRACTABLE');
      assert.throws(() => p11.C_SetAttributeValue(session, key, [{ type: pkcs11js.CKA_EXTRACTABLE, value: true }]));
    });
  });

  test('a key imported beforehand with pkcs11-tool is found by label and the token really computes AES-256-GCM in the declared format', async () => {
    const t = await newToken();
    const keyBytes = randomBytes(32);
    await hsm.importAesKey(t.tokenLabel, t.pin, 'operator-key', keyBytes);
    await withProviders(async (open) => {
      const p = await open(options(t, 'operator-key'));
      assert.equal(p.keyId, expectedKeyId(keyBytes), 'key id = SHA-256(label ‖ AES-ECB(key, zero block)), computed in the token');
      const plain = randomBytes(32);
      const aad = Buffer.from('tenant t1, kind tenant, version 3');
      const w = await p.wrap(plain, aad);
      // Decrypt outside the token with node:crypto and the known key bytes.
      assert.equal(w[0], 0x01);
      const d = createDecipheriv('aes-256-gcm', keyBytes, w.subarray(1, 13), { authTagLength: 16 });
      d.setAAD(aad);
      d.setAuthTag(w.subarray(w.length - 16));
      assert.deepEqual(Buffer.concat([d.update(w.subarray(13, w.length - 16)), d.final()]), plain);
      // And the other way: a blob sealed by Kuraban's own AES-GCM code opens in the token.
      assert.deepEqual(await p.unwrap(seal(keyBytes, plain, aad), aad), plain);
      await rejectsWithDecryptionFailure(() => p.unwrap(seal(randomBytes(32), plain, aad), aad));
    });
  });

  test('createPkcs11RootKey never replaces a key: an existing label → KEY_EXISTS and the key is unchanged', async () => {
    const t = await newToken();
    const id = await createPkcs11RootKey(options(t));
    await rejectsWithCode(() => createPkcs11RootKey(options(t)), 'KEY_EXISTS');
    const imported = randomBytes(32);
    await hsm.importAesKey(t.tokenLabel, t.pin, 'imported', imported);
    await rejectsWithCode(() => createPkcs11RootKey(options(t, 'imported')), 'KEY_EXISTS');
    await withProviders(async (open) => {
      assert.equal((await open(options(t))).keyId, id, 'still exactly one key under the label, the first one');
      assert.equal((await open(options(t, 'imported'))).keyId, expectedKeyId(imported));
    });
    const e = await rejectsWithCode(() => createPkcs11RootKey({ ...options(t, 'other'), pin: 'not-the-pin' }), 'KEY_PROVIDER_UNAVAILABLE');
    assert.equal(pkcs11ProblemOf(e), 'pin-wrong');
    await inspect(t, (p11, session) => assert.equal(findKeys(p11, session, 'other').length, 0, 'nothing created with a wrong PIN'));
  });

  test('open failures say which problem, and no message, stack or cause contains the PIN', async () => {
    const t = await newToken();
    await createPkcs11RootKey(options(t));
    const wrongPin = `wrong-${randomBytes(6).toString('hex')}`;
    const notALibrary = hsm.conf; // exists, but is not a shared object

    assert.equal((await problemOf(() => openPkcs11Provider({ ...options(t), pin: wrongPin }), wrongPin)).problem, 'pin-wrong');
    assert.equal((await problemOf(() => openPkcs11Provider({ ...options(t), pin: '' }))).problem, 'pin-wrong');
    assert.equal((await problemOf(() => openPkcs11Provider({ ...options(t), tokenLabel: 'no-such-token' }))).problem, 'token-missing');
    assert.equal((await problemOf(() => openPkcs11Provider({ ...options(t), tokenLabel: '' }))).problem, 'token-missing');
    const missingKey = await problemOf(() => openPkcs11Provider(options(t, 'no-such-key')));
    assert.equal(missingKey.problem, 'key-missing');
    assert.match(missingKey.message, /no secret key labelled "no-such-key"/);
    assert.equal((await problemOf(() => openPkcs11Provider({ ...options(t), library: '/nonexistent/libpkcs11.so' }))).problem, 'library-missing');
    assert.equal((await problemOf(() => openPkcs11Provider({ ...options(t), library: notALibrary }))).problem, 'library-missing');
    assert.equal((await problemOf(() => createPkcs11RootKey({ ...options(t, 'x'), library: '/nonexistent/libpkcs11.so' }))).problem, 'library-missing');
    assert.equal((await problemOf(() => createPkcs11RootKey({ ...options(t, 'x'), tokenLabel: 'no-such-token' }))).problem, 'token-missing');

    // Two tokens under one label, or two secret keys under one label: ambiguous, never a guess.
    const dupLabel = `dup-${randomBytes(4).toString('hex')}`;
    await newToken(dupLabel);
    await newToken(dupLabel);
    const dup = await problemOf(() => openPkcs11Provider({ ...options(t), tokenLabel: dupLabel }));
    assert.equal(dup.problem, 'token-missing');
    assert.match(dup.message, /more than one PKCS#11 token is labelled/);
    await hsm.importAesKey(t.tokenLabel, t.pin, 'twice', randomBytes(32));
    await hsm.importAesKey(t.tokenLabel, t.pin, 'twice', randomBytes(32));
    const twice = await problemOf(() => openPkcs11Provider(options(t, 'twice')));
    assert.equal(twice.problem, 'key-missing');
    assert.match(twice.message, /more than one secret key labelled "twice"/);

    // Unsuitable keys: the wrong size, readable, exportable, or not allowed to decrypt.
    await hsm.importAesKey(t.tokenLabel, t.pin, 'aes-128', randomBytes(16));
    await hsm.importAesKey(t.tokenLabel, t.pin, 'not-sensitive', randomBytes(32), { sensitive: false });
    await hsm.importAesKey(t.tokenLabel, t.pin, 'extractable', randomBytes(32), { extractable: true });
    await inspect(t, (p11, session) => {
      p11.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: false },
        { type: pkcs11js.CKA_LABEL, value: 'no-decrypt' },
      ]);
      p11.C_GenerateKey(session, { mechanism: pkcs11js.CKM_GENERIC_SECRET_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_LABEL, value: 'generic-secret' },
      ]);
    });
    const unsuitable: [string, RegExp][] = [
      ['aes-128', /not 256 bits long/],
      ['not-sensitive', /not sensitive/],
      ['extractable', /extractable/],
      ['no-decrypt', /not allowed to decrypt/],
      ['generic-secret', /not an AES key/],
    ];
    for (const [label, why] of unsuitable) {
      const r = await problemOf(() => openPkcs11Provider(options(t, label)));
      assert.equal(r.problem, 'key-unsuitable', label);
      assert.match(r.message, why);
    }
    // The errors are KEY_PROVIDER_UNAVAILABLE with a problem; other errors have none.
    assert.equal(pkcs11ProblemOf(new KurabanError('KEY_FILE_INVALID', 'x')), undefined);
    assert.equal(pkcs11ProblemOf(new Error('x')), undefined);
    // Every failure above released what it opened: the module is finalised, so a token made now is seen.
    const later = await newToken();
    await createPkcs11RootKey(options(later));
    await withProviders(async (open) => assert.match((await open(options(later))).keyId, /^[0-9a-f]{16}$/));
  });

  test('a second provider on a logged-in token must still present the right PIN; closing one leaves the other working', async () => {
    const t = await newToken();
    await createPkcs11RootKey(options(t));
    await withProviders(async (open) => {
      const a = await open(options(t));
      // The token is already logged in for this process, so C_Login would answer CKR_USER_ALREADY_LOGGED_IN for any PIN.
      assert.equal((await problemOf(() => openPkcs11Provider({ ...options(t), pin: 'not-the-pin' }), 'not-the-pin')).problem, 'pin-wrong');
      const b = await openPkcs11Provider(options(t));
      const w = await a.wrap(Buffer.from('key bytes'), Buffer.from('aad'));
      b.close(); // must not log `a` out: login state is shared by all sessions with the token
      assert.deepEqual(await a.unwrap(w, Buffer.from('aad')), Buffer.from('key bytes'));
    });
  });

  test('a deleted token: an open provider fails with KEY_PROVIDER_UNAVAILABLE/device-error (not DECRYPTION_FAILED), the next open with token-missing', async () => {
    const t = await newToken();
    await createPkcs11RootKey(options(t));
    const p = await openPkcs11Provider(options(t));
    try {
      const aad = Buffer.from('aad');
      const w = await p.wrap(randomBytes(32), aad);
      await hsm.deleteToken(t.tokenLabel);
      for (const e of [await kurabanErrorOf(() => p.wrap(randomBytes(32), aad)), await kurabanErrorOf(() => p.unwrap(w, aad))]) {
        assert.equal(e.code, 'KEY_PROVIDER_UNAVAILABLE', e.message);
        assert.equal(pkcs11ProblemOf(e), 'device-error');
        assertNoPin(e);
      }
      // While the module is still initialised (p is open) …
      assert.equal((await problemOf(() => openPkcs11Provider(options(t)))).problem, 'token-missing');
    } finally {
      p.close();
    }
    // … and after it was finalised and initialised again.
    assert.equal((await problemOf(() => openPkcs11Provider(options(t)))).problem, 'token-missing');
  });

  test('concurrent wraps and unwraps on one session, and on two tokens at once, all succeed', async () => {
    const t = await newToken();
    const u = await newToken();
    await createPkcs11RootKey(options(t));
    await createPkcs11RootKey(options(u));
    await withProviders(async (open) => {
      const providers = [await open(options(t)), await open(options(u))];
      const items = Array.from({ length: 200 }, (_, i) => ({ p: providers[i % 2]!, key: randomBytes(32), aad: Buffer.from(`aad ${i}`) }));
      const wrapped = await Promise.all(items.map((x) => x.p.wrap(x.key, x.aad)));
      assert.equal(new Set(wrapped.map((w) => w.toString('hex'))).size, 200);
      // Unwraps interleaved with more wraps and with failing unwraps.
      const results = await Promise.all(
        items.flatMap((x, i) => [
          x.p.unwrap(wrapped[i]!, x.aad).then((k) => assert.deepEqual(k, x.key)),
          x.p.wrap(x.key, x.aad).then((w) => x.p.unwrap(w, x.aad)).then((k) => assert.deepEqual(k, x.key)),
          rejectsWithDecryptionFailure(() => x.p.unwrap(wrapped[i]!, Buffer.from('other'))),
        ]),
      );
      assert.equal(results.length, 600);
    });
  });

  test('close(): accepted operations finish, later ones fail with VAULT_SEALED, and the module is released', async () => {
    const t = await newToken();
    await createPkcs11RootKey(options(t));
    const p = await openPkcs11Provider(options(t));
    const aad = Buffer.from('aad');
    const w = await p.wrap(Buffer.from('k'), aad);
    const pending = Array.from({ length: 20 }, () => p.wrap(randomBytes(32), aad));
    p.close();
    assert.equal((await Promise.all(pending)).length, 20, 'operations accepted before close complete');
    await rejectsWithCode(() => p.wrap(Buffer.from('k'), aad), 'VAULT_SEALED');
    await rejectsWithCode(() => p.unwrap(w, aad), 'VAULT_SEALED');
    await rejectsWithCode(() => p.unwrap(Buffer.alloc(3), aad), 'VAULT_SEALED');
    p.close(); // idempotent
    // The last close logged out, closed the session and finalised the module: a token created
    // now (SoftHSM2 scans tokens only at C_Initialize) is visible to the next open.
    const later = await newToken();
    await createPkcs11RootKey(options(later));
    const q = await openPkcs11Provider(options(later));
    q.close();
    await inspect(t, (p11, session) => assert.equal(findKeys(p11, session, 'kuraban-root').length, 1));
  });
});
