import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hkdfSha256, scryptKey, SCRYPT_DEFAULTS } from '../../src/crypto/index.js';

describe('key derivation', () => {
  test('HKDF-SHA-256 matches RFC 5869 test case 3 (empty salt and info)', () => {
    const okm = hkdfSha256(Buffer.alloc(22, 0x0b), Buffer.alloc(0), '', 42);
    assert.equal(okm.toString('hex'), '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
  });

  test('HKDF: 32 bytes by default; info separates purposes', () => {
    const ikm = Buffer.alloc(32, 7);
    const a = hkdfSha256(ikm, Buffer.alloc(0), 'kuraban/blind-index/v1\0c1\0family_name');
    const b = hkdfSha256(ikm, Buffer.alloc(0), 'kuraban/blind-index/v1\0c1\0given_name');
    assert.equal(a.length, 32);
    assert.ok(Buffer.isBuffer(a));
    assert.notDeepEqual(a, b);
    assert.deepEqual(a, hkdfSha256(ikm, Buffer.alloc(0), 'kuraban/blind-index/v1\0c1\0family_name'));
  });

  test('scrypt matches RFC 7914 §12 ("password"/"NaCl", N=1024, r=8, p=16), first 32 bytes', async () => {
    const key = await scryptKey('password', Buffer.from('NaCl'), { N: 1024, r: 8, p: 16 });
    assert.equal(key.toString('hex'), 'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162');
  });

  test('scrypt normalises the passphrase to NFC, so composed and decomposed input give one key', async () => {
    const salt = Buffer.alloc(16, 1);
    const params = { N: 1024, r: 8, p: 1 };
    const composed = await scryptKey('caf\u00e9 パスワード', salt, params);
    const decomposed = await scryptKey('cafe\u0301 ハ\u309aスワート\u3099', salt, params);
    assert.deepEqual(composed, decomposed);
    assert.notDeepEqual(composed, await scryptKey('cafe パスワード', salt, params));
  });

  test('scrypt defaults are RFC 7914 / OWASP strength and frozen', () => {
    assert.deepEqual({ ...SCRYPT_DEFAULTS }, { N: 2 ** 17, r: 8, p: 1 });
    assert.ok(Object.isFrozen(SCRYPT_DEFAULTS));
  });
});
