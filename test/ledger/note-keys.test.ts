import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  NoteError,
  formatKeyId,
  formatSignerKey,
  formatVerifierKey,
  generateNoteKeyPair,
  isValidKeyName,
  noteKeyId,
  parseSignerKey,
  parseVerifierKey,
  verifierForSigner,
} from '../../src/ledger/index.js';
import type { NoteErrorReason } from '../../src/ledger/index.js';

// Published test keys of golang.org/x/mod/sumdb/note (note_test.go) and the real sum.golang.org key.
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const SUMDB_VKEY = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';

function throwsReason(fn: () => unknown, reason: NoteErrorReason, message?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof NoteError && e.reason === reason, message);
}

describe('verifier keys', () => {
  test('parses a published key; the key ID is SHA-256(name ‖ 0x0A ‖ 0x01 ‖ pubkey)[:4]', () => {
    const v = parseVerifierKey(PETER_VKEY);
    assert.equal(v.name, 'PeterNeumann');
    assert.equal(v.keyId, 0xc74f20a3);
    assert.equal(v.publicKey.length, 32);
    const digest = createHash('sha256').update('PeterNeumann\n\x01', 'latin1').update(v.publicKey).digest();
    assert.equal(v.keyId, digest.readUInt32BE(0));
    assert.equal(noteKeyId('PeterNeumann', 0x01, v.publicKey), 0xc74f20a3);
    assert.equal(formatVerifierKey(v.name, v.publicKey), PETER_VKEY);
  });

  test('splits on the first two + only: base64 containing + parses', () => {
    const v = parseVerifierKey(SUMDB_VKEY);
    assert.equal(v.name, 'sum.golang.org');
    assert.equal(v.keyId, 0x033de0ae);
    assert.equal(formatVerifierKey(v.name, v.publicKey), SUMDB_VKEY);
  });

  test('every proper substring and every byte+1 mangling is rejected with NoteError', () => {
    for (const key of [PETER_VKEY, SUMDB_VKEY]) {
      for (let i = 0; i <= key.length; i++) {
        for (let j = i + 1; j <= key.length; j++) {
          if (i === 0 && j === key.length) continue;
          assert.throws(() => parseVerifierKey(key.slice(i, j)), NoteError, key.slice(i, j));
        }
      }
      for (let i = 0; i < key.length; i++) {
        const mangled = key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1);
        assert.throws(() => parseVerifierKey(mangled), NoteError, mangled);
      }
    }
  });

  test('wrong key length, unknown type, upper-case or short ID, bad names, non-canonical base64', () => {
    // From Go's tests: the key ID is adjusted so only the length (resp. the type byte) is wrong.
    throwsReason(() => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='), 'malformed_key');
    throwsReason(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), 'unsupported_key_type');
    throwsReason(() => parseVerifierKey('PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), 'malformed_key');
    throwsReason(() => parseVerifierKey('PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), 'malformed_key');
    throwsReason(() => parseVerifierKey('PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), 'key_id_mismatch');
    throwsReason(() => parseVerifierKey('Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), 'invalid_key_name');
    throwsReason(() => parseVerifierKey('+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), 'invalid_key_name');
    // 33 bytes are 44 base64 characters with no padding bits: a changed last character is another key.
    throwsReason(() => parseVerifierKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX'), 'key_id_mismatch');
    throwsReason(() => parseVerifierKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW='), 'malformed_key');
    throwsReason(() => parseVerifierKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T'), 'malformed_key');
    throwsReason(() => parseVerifierKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW'), 'malformed_key');
    throwsReason(() => parseVerifierKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n'), 'malformed_key');
    throwsReason(() => parseVerifierKey(''), 'malformed_key');
  });

  test('key names: non-empty, no Unicode spaces, no +, no control characters', () => {
    for (const good of ['example.com/log', 'PeterNeumann', '蔵番.example/log', 'a']) assert.ok(isValidKeyName(good), good);
    for (const bad of ['', 'a+b', 'a b', 'a\tb', 'a\u00a0b', 'a\u3000b', 'a\u2028b', 'a\u0085b', 'a\u0001b', 'a\u007fb', 'a\ud800b']) {
      assert.ok(!isValidKeyName(bad), JSON.stringify(bad));
      throwsReason(() => formatVerifierKey(bad, Buffer.alloc(32)), 'invalid_key_name');
    }
    assert.equal(formatKeyId(0x33d7b4), '0033d7b4');
  });
});

describe('signer keys (Go format)', () => {
  test('parses the published signer key; it matches its verifier key and signs deterministically', () => {
    const s = parseSignerKey(PETER_SKEY);
    const v = parseVerifierKey(PETER_VKEY);
    assert.equal(s.name, 'PeterNeumann');
    assert.equal(s.keyId, 0xc74f20a3);
    assert.deepEqual(s.publicKey, v.publicKey);
    const sig = s.sign(Buffer.from('hi'));
    assert.equal(sig.length, 64);
    assert.deepEqual(s.sign(Buffer.from('hi')), sig);
    assert.ok(v.verify(Buffer.from('hi'), sig));
    assert.ok(!v.verify(Buffer.from('hj'), sig));
    assert.ok(!v.verify(Buffer.from('hi'), sig.subarray(1)));
    assert.ok(!v.verify(Buffer.from('hi'), Buffer.concat([sig, Buffer.of(0)])));
    const flipped = Buffer.from(sig);
    flipped[0] = (flipped[0] as number) ^ 1;
    assert.ok(!v.verify(Buffer.from('hi'), flipped));
    assert.equal(formatVerifierKey(verifierForSigner(s).name, verifierForSigner(s).publicKey), PETER_VKEY);
    // The base64 part follows the fourth '+' (it contains '+' itself).
    const seed = Buffer.from(PETER_SKEY.split('+').slice(4).join('+'), 'base64').subarray(1);
    assert.equal(formatSignerKey('PeterNeumann', seed), PETER_SKEY);
  });

  test('every proper substring and every byte+1 mangling is rejected with NoteError', () => {
    for (let i = 0; i <= PETER_SKEY.length; i++) {
      for (let j = i + 1; j <= PETER_SKEY.length; j++) {
        if (i === 0 && j === PETER_SKEY.length) continue;
        assert.throws(() => parseSignerKey(PETER_SKEY.slice(i, j)), NoteError);
      }
    }
    for (let i = 0; i < PETER_SKEY.length; i++) {
      const mangled = PETER_SKEY.slice(0, i) + String.fromCharCode(PETER_SKEY.charCodeAt(i) + 1) + PETER_SKEY.slice(i + 1);
      assert.throws(() => parseSignerKey(mangled), NoteError);
    }
    // A verifier key is not a signer key, and a key ID must match the public key derived from the seed.
    throwsReason(() => parseSignerKey(PETER_VKEY), 'malformed_key');
    throwsReason(() => parseSignerKey('PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'), 'key_id_mismatch');
    throwsReason(() => formatSignerKey('PeterNeumann', Buffer.alloc(31)), 'malformed_key');
  });
});

describe('generateNoteKeyPair', () => {
  test('gives a fresh, self-consistent pair in both text formats', () => {
    const a = generateNoteKeyPair('vault.example/log');
    const b = generateNoteKeyPair('vault.example/log');
    assert.notEqual(a.signerKey, b.signerKey);
    assert.match(a.signerKey, /^PRIVATE\+KEY\+vault\.example\/log\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    assert.match(a.verifierKey, /^vault\.example\/log\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    const s = parseSignerKey(a.signerKey);
    const v = parseVerifierKey(a.verifierKey);
    assert.equal(s.keyId, v.keyId);
    assert.ok(v.verify(Buffer.from('text\n'), s.sign(Buffer.from('text\n'))));
    assert.ok(!parseVerifierKey(b.verifierKey).verify(Buffer.from('text\n'), s.sign(Buffer.from('text\n'))));
    throwsReason(() => generateNoteKeyPair('bad name'), 'invalid_key_name');
  });
});
