/**
 * Token formats without storage: format-preserving tokens (FF1) keep the value's shape and never pass
 * a check digit; deterministic tokens are stable, authenticated and bound to their field; random
 * tokens are fresh and unguessable. Property tests cover every value of each domain fast-check draws.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  corporateNumberCheckDigit, insurerNumberCheckDigit, juminhyoCodeCheckDigit, myNumberCheckDigit, parseCollectionSchema, type FieldDef,
} from '../../src/schema/index.js';
import {
  deterministicToken, deterministicTokens, fieldTokenKeys, fpeToken, fpeValueProblem, openDeterministicToken, openDeterministicTokens, openFpeToken, openTokenValues, parseToken,
  randomToken, sealTokenValues, tokenHashes, tokenLookupKeys, TOKEN_VALUE_FORMAT_SIV, type TokenScope,
} from '../../src/tokens/index.js';
import { hmacTokenHash, legacyDeterministicToken, legacySealedTokenValue } from '../helpers/legacy-tokens.js';

const field = (def: Record<string, unknown>): FieldDef => parseCollectionSchema({ fields: [def] }).fields[0] as FieldDef;
const MY_NUMBER = field({ name: 'my_number', type: 'my-number', token: 'format-preserving' });
const scopeOf = (f: FieldDef, tenantId = 'token-town', collectionId = '0190abcd-ef00-7000-8000-000000000001'): TokenScope => ({ tenantId, collectionId, field: f });
const key = (version = 1) => ({ version, key: randomBytes(32) });
const digits = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((a) => a.join(''));
const myNumber = digits(11).map((body) => `${body}${myNumberCheckDigit(body)}`);

describe('format-preserving tokens (FF1)', () => {
  const scope = scopeOf(MY_NUMBER);
  const keys = fieldTokenKeys(scope, key());

  test('a My Number token is 12 digits whose check digit is wrong, and detokenises to the number', () => {
    fc.assert(
      fc.property(myNumber, (n) => {
        const t = fpeToken(scope, keys, n);
        assert.match(t, /^\d{12}$/);
        assert.notEqual(Number(t[11]), myNumberCheckDigit(t.slice(0, 11)), 'a token never passes the My Number check digit');
        assert.equal(parseToken(MY_NUMBER, t).ok, true);
        assert.equal(openFpeToken(scope, keys, t), n);
        // Deterministic under one key and tweak.
        assert.equal(fpeToken(scope, keys, n), t);
      }),
      { numRuns: 500 },
    );
  });

  test('a real My Number (right check digit) is not taken for a token', () => {
    fc.assert(fc.property(myNumber, (n) => assert.equal(parseToken(MY_NUMBER, n).ok, false)), { numRuns: 200 });
  });

  test('identifier types keep their layout and break their own check digit (住民票コード, 法人番号, 8-digit 保険者番号)', () => {
    const cases: Array<[string, fc.Arbitrary<string>, (t: string) => boolean]> = [
      ['juminhyo-code', digits(10).map((b) => `${b}${juminhyoCodeCheckDigit(b)}`), (t) => Number(t[10]) !== juminhyoCodeCheckDigit(t.slice(0, 10))],
      ['corporate-number', digits(12).map((b) => `${corporateNumberCheckDigit(b)}${b}`), (t) => Number(t[0]) !== corporateNumberCheckDigit(t.slice(1))],
      ['insurer-number', digits(7).map((b) => `${b}${insurerNumberCheckDigit(b)}`), (t) => Number(t[7]) !== insurerNumberCheckDigit(t.slice(0, 7))],
    ];
    for (const [type, values, checkFails] of cases) {
      const f = field({ name: 'id_no', type, token: 'format-preserving' });
      const s = scopeOf(f);
      const k = fieldTokenKeys(s, key());
      fc.assert(
        fc.property(values, (v) => {
          const t = fpeToken(s, k, v);
          assert.equal(t.length, v.length);
          assert.match(t, /^\d+$/);
          assert.ok(checkFails(t), `${type}: token passes the check digit`);
          assert.equal(openFpeToken(s, k, t), v);
        }),
        { numRuns: 200 },
      );
    }
  });

  test('string fields: tokens stay in the declared alphabet and length', () => {
    const alphabets = { digits: '0123456789', 'alphanumeric-upper': '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', alphanumeric: '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz' };
    for (const [format, alphabet] of Object.entries(alphabets)) {
      const f = field({ name: 'code', type: 'string', token: 'format-preserving', tokenFormat: format });
      const s = scopeOf(f);
      const k = fieldTokenKeys(s, key());
      const min = format === 'digits' ? 6 : 4;
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: 40 }).map((a) => a.join('')), (v) => {
          assert.equal(fpeValueProblem(f, v), undefined);
          const t = fpeToken(s, k, v);
          assert.equal(t.length, v.length);
          assert.ok([...t].every((c) => alphabet.includes(c)), `${format}: token leaves the alphabet`);
          assert.equal(openFpeToken(s, k, t), v);
        }),
        { numRuns: 150 },
      );
    }
  });

  test('values outside the alphabet or below the FF1 minimum domain are refused, never tokenised', () => {
    const f = field({ name: 'code', type: 'string', token: 'format-preserving', tokenFormat: 'digits' });
    assert.equal(fpeValueProblem(f, '12345'), 'token_domain_too_small');
    assert.equal(fpeValueProblem(f, '12345a'), 'token_value_outside_alphabet');
    assert.equal(fpeValueProblem(f, '１２３４５６'), 'token_value_outside_alphabet');
    assert.equal(fpeValueProblem(f, '123456'), undefined);
    const upper = field({ name: 'code', type: 'string', token: 'format-preserving', tokenFormat: 'alphanumeric-upper' });
    assert.equal(fpeValueProblem(upper, 'AB1c'), 'token_value_outside_alphabet');
    assert.equal(fpeValueProblem(upper, 'AB1'), 'token_domain_too_small');
    // A 6-digit 国保 insurer number has a 5-digit payload: 10^5 < 1,000,000.
    const insurer = field({ name: 'insurer', type: 'insurer-number', token: 'format-preserving' });
    assert.equal(fpeValueProblem(insurer, '138016'), 'token_domain_too_small');
  });

  test('the key, the tenant and the field all change the token (tweak per tenant and field)', () => {
    const n = '123456789018';
    const k = key();
    const base = fpeToken(scope, fieldTokenKeys(scope, k), n);
    const other = field({ name: 'my_number_2', type: 'my-number', token: 'format-preserving' });
    assert.notEqual(fpeToken(scopeOf(MY_NUMBER, 'other-town'), fieldTokenKeys(scopeOf(MY_NUMBER, 'other-town'), k), n), base);
    assert.notEqual(fpeToken(scopeOf(other), fieldTokenKeys(scopeOf(other), k), n), base);
    assert.notEqual(fpeToken(scope, fieldTokenKeys(scope, key()), n), base);
  });
});

describe('deterministic tokens', () => {
  const f = field({ name: 'family_name', type: 'string', token: 'deterministic' });
  const scope = scopeOf(f);
  const keys = fieldTokenKeys(scope, key(3));

  test('same value, same token; the token opens to the value; other values give other tokens', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), fc.string({ minLength: 1, maxLength: 60 }), (a, b) => {
        const t = deterministicToken(scope, keys, a);
        assert.match(t, /^tks3_[A-Za-z0-9_-]+$/);
        assert.equal(parseToken(f, t).ok, true);
        assert.equal(deterministicToken(scope, keys, a), t);
        assert.equal(openDeterministicToken(scope, keys, t), a);
        if (a !== b) assert.notEqual(deterministicToken(scope, keys, b), t);
      }),
      { numRuns: 300 },
    );
  });

  test('a batch gives each value the token it gets on its own, and opens per token (good ones open, bad ones do not)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.integer()), { minLength: 1, maxLength: 30 }), (values) => {
        const tokens = deterministicTokens(scope, keys, values);
        assert.deepEqual(tokens, values.map((v) => deterministicToken(scope, keys, v)));
        const forged = tokens.map((t, i) => (i % 3 === 1 ? `${t.slice(0, -2)}${t.at(-2) === 'A' ? 'B' : 'A'}${t.at(-1)}` : t));
        const opened = openDeterministicTokens(scope, keys, forged);
        values.forEach((v, i) => assert.deepEqual(opened[i], i % 3 === 1 ? undefined : v, `token ${i}`));
      }),
      { numRuns: 100 },
    );
  });

  test('MJ+ characters (surrogate pairs, variation selectors) come back byte for byte', () => {
    for (const v of ['𠮷野家', '葛󠄀城', '髙﨑']) assert.equal(openDeterministicToken(scope, keys, deterministicToken(scope, keys, v)), v);
  });

  test('a changed character, another field, tenant, key or version does not open', () => {
    const t = deterministicToken(scope, keys, '山田');
    const body = t.slice(5);
    for (let i = 0; i < body.length; i++) {
      const c = body[i] === 'A' ? 'B' : 'A';
      assert.equal(openDeterministicToken(scope, keys, `tks3_${body.slice(0, i)}${c}${body.slice(i + 1)}`), undefined, `changed character ${i} still opens`);
    }
    const other = scopeOf(field({ name: 'given_name', type: 'string', token: 'deterministic' }));
    assert.equal(openDeterministicToken(other, fieldTokenKeys(other, { version: 3, key: Buffer.alloc(32) }), t), undefined);
    assert.equal(openDeterministicToken(scopeOf(f, 'other-town'), keys, t), undefined);
    assert.equal(openDeterministicToken(scope, fieldTokenKeys(scope, key(3)), t), undefined);
    assert.equal(openDeterministicToken(scope, keys, t.replace('tks3_', 'tks4_')), undefined);
    assert.equal(openDeterministicToken(scope, keys, t.replace('tks3_', 'tkd3_')), undefined, 'the body of one format is not a token of the other');
    assert.equal(openDeterministicToken(scope, keys, 'tks3_'), undefined);
    assert.equal(parseToken(f, 'tks3_' + 'A'.repeat(22)).ok, false, 'shorter than a SIV and a JSON value');
    assert.equal(openDeterministicToken(scope, keys, deterministicToken(scope, keys, 7)), 7, 'the shortest value (one byte of JSON)');
  });

  test('tokens of the first format (tkd) keep opening, with their own authentication', () => {
    const k = key(3);
    const ks = fieldTokenKeys(scope, k);
    const legacy = legacyDeterministicToken(scope, k, '佐藤');
    assert.match(legacy, /^tkd3_/);
    assert.equal(parseToken(f, legacy).ok, true);
    assert.deepEqual(parseToken(f, legacy), { ok: true, version: 3 });
    assert.equal(openDeterministicToken(scope, ks, legacy), '佐藤');
    const fresh = deterministicToken(scope, ks, '佐藤');
    assert.deepEqual(openDeterministicTokens(scope, ks, [legacy, fresh, legacy.replace('tkd3_', 'tkd4_')]), ['佐藤', '佐藤', undefined]);
    const body = legacy.slice(5);
    for (let i = 0; i < body.length; i++) {
      const c = body[i] === 'A' ? 'B' : 'A';
      assert.equal(openDeterministicToken(scope, ks, `tkd3_${body.slice(0, i)}${c}${body.slice(i + 1)}`), undefined, `changed character ${i} still opens`);
    }
    assert.equal(openDeterministicToken(scopeOf(f, 'other-town'), ks, legacy), undefined);
  });

  test('a tkd token issued by the earlier release (a fixed vector) opens, and keeps its registry hash', () => {
    // Made by commit 34fdc85's deterministicToken: tenant token-town, collection …0001, family_name,
    // token key version 2 = bytes 0..31; registry hash under a look-up key of 32 × 0x42.
    const vector = { token: 'tkd2_5-QOv4CLP8V8K72zxwvezH860lPONuvNtDMTzu7OUTAEoXkS', hash: 'bd489124877a425ed4e322f158f79a00' };
    const k = { version: 2, key: Buffer.from(Array.from({ length: 32 }, (_v, i) => i)) };
    assert.equal(legacyDeterministicToken(scope, k, '山田'), vector.token, 'the test helper is the first format');
    assert.equal(openDeterministicToken(scope, fieldTokenKeys(scope, k), vector.token), '山田');
    assert.equal(tokenHashes(f, tokenLookupKeys(Buffer.alloc(32, 0x42)), [vector.token])[0]?.toString('hex'), vector.hash);
  });
});

describe('random tokens and look-up hashes', () => {
  test('random tokens are 128-bit, fresh and well-formed (one spelling each); tkr tokens of earlier releases still parse', () => {
    const f = field({ name: 'note', type: 'string', token: 'random' });
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const t = randomToken();
      assert.match(t, /^tku_[A-Za-z0-9_-]{22}$/);
      assert.equal(parseToken(f, t).ok, true);
      assert.ok(!seen.has(t));
      seen.add(t);
    }
    for (const bad of ['tku_', 'tku_' + 'A'.repeat(21), 'tku_' + 'A'.repeat(23), 'tkx_' + 'A'.repeat(22), 'tku_' + '!'.repeat(22), 'tku_' + 'A'.repeat(21) + 'B', 'tkr_', 'tkr_' + 'a'.repeat(21), 'tkr_' + 'a'.repeat(23), 'tkr_' + '!'.repeat(22)]) {
      assert.equal(parseToken(f, bad).ok, false, bad);
    }
    assert.equal(parseToken(f, 'tkr_' + 'a'.repeat(22)).ok, true, 'a tkr token (any last character: its hash is of the text)');
  });

  test('format-preserving and tkr tokens: HMAC-SHA-256 of the token under the look-up key, 128 bits', () => {
    const lookupKey = randomBytes(32);
    const note = field({ name: 'note', type: 'string', token: 'random' });
    const tokens = ['tkr_aaaaaaaaaaaaaaaaaaaaaa', 'tkr_aaaaaaaaaaaaaaaaaaaaab'];
    const hashes = tokenHashes(note, tokenLookupKeys(Buffer.from(lookupKey)), tokens);
    tokens.forEach((t, i) => assert.deepEqual(hashes[i], hmacTokenHash(lookupKey, t)));
    assert.notDeepEqual(hashes[0], hashes[1]);
    const mnScope = scopeOf(MY_NUMBER);
    const mn = fpeToken(mnScope, fieldTokenKeys(mnScope, key()), '123456789018');
    assert.deepEqual(tokenHashes(MY_NUMBER, tokenLookupKeys(Buffer.from(lookupKey)), [mn])[0], hmacTokenHash(lookupKey, mn));
    assert.notDeepEqual(tokenHashes(note, tokenLookupKeys(randomBytes(32)), tokens)[0], hashes[0], 'keyed');
  });

  test('tku tokens: AES-256 of their 16 random bytes under the key derived from the look-up key', () => {
    const lookupKey = randomBytes(32);
    const note = field({ name: 'note', type: 'string', token: 'random' });
    const tokens = [randomToken(), randomToken(), 'tkr_aaaaaaaaaaaaaaaaaaaaaa'];
    const hashes = tokenHashes(note, tokenLookupKeys(Buffer.from(lookupKey)), tokens);
    const prpKey = Buffer.from(hkdfSync('sha256', lookupKey, Buffer.alloc(0), Buffer.from('kuraban/token-lookup/v1\0prp'), 32));
    tokens.slice(0, 2).forEach((t, i) => {
      const ecb = createCipheriv('aes-256-ecb', prpKey, null).setAutoPadding(false);
      assert.deepEqual(hashes[i], ecb.update(Buffer.from(t.slice(4), 'base64url')), `token ${i}`);
    });
    assert.deepEqual(hashes[2], hmacTokenHash(lookupKey, tokens[2] as string), 'tkr keeps its HMAC hash in the same batch');
    assert.notDeepEqual(tokenHashes(note, tokenLookupKeys(randomBytes(32)), tokens)[0], hashes[0], 'keyed');
  });

  test('tks tokens: AES-256 of the SIV under a key derived from the look-up key; the same for the same token, keyed, one per value', () => {
    const f = field({ name: 'family_name', type: 'string', token: 'deterministic' });
    const scope = scopeOf(f);
    const keys = fieldTokenKeys(scope, key(1));
    const lookupKey = randomBytes(32);
    const tokens = deterministicTokens(scope, keys, ['山田', '佐藤', '山田']);
    const hashes = tokenHashes(f, tokenLookupKeys(Buffer.from(lookupKey)), tokens);
    // Independently: HKDF-SHA-256(look-up key, info "kuraban/token-lookup/v1\0prp"), AES-256-ECB of the token's first 16 bytes.
    const prpKey = Buffer.from(hkdfSync('sha256', lookupKey, Buffer.alloc(0), Buffer.from('kuraban/token-lookup/v1\0prp'), 32));
    tokens.forEach((t, i) => {
      const siv = Buffer.from(t.slice(5), 'base64url').subarray(0, 16);
      const ecb = createCipheriv('aes-256-ecb', prpKey, null).setAutoPadding(false);
      assert.deepEqual(hashes[i], ecb.update(siv), `token ${i}`);
      assert.equal(hashes[i]?.length, 16);
    });
    assert.deepEqual(hashes[0], hashes[2]);
    assert.notDeepEqual(hashes[0], hashes[1]);
    assert.notDeepEqual(tokenHashes(f, tokenLookupKeys(randomBytes(32)), tokens)[0], hashes[0], 'keyed');
    // A tkd token in a deterministic field keeps its HMAC hash (its registry rows were written so).
    const legacy = legacyDeterministicToken(scope, key(1), '山田');
    assert.deepEqual(tokenHashes(f, tokenLookupKeys(Buffer.from(lookupKey)), [legacy])[0], hmacTokenHash(lookupKey, legacy));
  });

  test('values of random tokens made outside a record: sealed per token hash (format 2), batched; format 1 still opens', () => {
    const f = field({ name: 'note', type: 'string', token: 'random' });
    const scope = scopeOf(f);
    const k = key(2);
    const keys = fieldTokenKeys(scope, k);
    const hashes = Array.from({ length: 5 }, () => randomBytes(16));
    const values = ['メモ', 'メモ', '𠮷', 'x'.repeat(100), 'z'];
    const sealed = sealTokenValues(scope, keys, hashes, values);
    assert.ok(sealed.every((b) => b[0] === TOKEN_VALUE_FORMAT_SIV));
    assert.notDeepEqual(sealed[0], sealed[1], 'the same value under two tokens: unrelated ciphertexts');
    assert.deepEqual(openTokenValues(scope, keys, hashes, sealed), values);
    // Bound to its token's hash, its field, tenant and key version; any change fails.
    const swapped = [hashes[1], hashes[0]] as Buffer[];
    assert.deepEqual(openTokenValues(scope, keys, swapped, sealed.slice(0, 2)), [undefined, undefined]);
    assert.deepEqual(openTokenValues(scopeOf(f, 'other-town'), keys, hashes.slice(0, 1), sealed.slice(0, 1)), [undefined]);
    assert.deepEqual(openTokenValues(scope, fieldTokenKeys(scope, { version: 3, key: k.key }), hashes.slice(0, 1), sealed.slice(0, 1)), [undefined]);
    const bad = Buffer.from(sealed[2] as Buffer);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0x40;
    assert.deepEqual(openTokenValues(scope, keys, [hashes[2] as Buffer, hashes[3] as Buffer], [bad, sealed[3] as Buffer]), [undefined, values[3]]);
    // Format 1 (AES-256-GCM, as stored before), side by side with format 2.
    const legacy = legacySealedTokenValue(scope, k, hashes[4] as Buffer, '旧形式');
    assert.equal(legacy[0], 0x01);
    assert.deepEqual(openTokenValues(scope, keys, [hashes[4] as Buffer, hashes[0] as Buffer], [legacy, sealed[0] as Buffer]), ['旧形式', 'メモ']);
    assert.deepEqual(openTokenValues(scope, keys, [hashes[3] as Buffer], [legacy]), [undefined], 'format 1 is bound to its hash too');
  });

  test('tokenLookupKeys zeroes the bytes it is given', () => {
    const k = randomBytes(32);
    tokenLookupKeys(k);
    assert.ok(k.every((b) => b === 0));
  });
});

describe('token options in the schema', () => {
  const bad = (def: Record<string, unknown>) => {
    try {
      parseCollectionSchema({ fields: [def] });
    } catch (e) {
      return (e as { details: Array<{ reason: string }> }).details.map((d) => d.reason);
    }
    return [];
  };
  test('kinds and formats are checked against the type', () => {
    assert.deepEqual(bad({ name: 'a', type: 'string', token: 'format-preserving' }), ['invalid_token_format']);
    assert.deepEqual(bad({ name: 'a', type: 'date', token: 'format-preserving' }), ['format_preserving_not_for_type']);
    assert.deepEqual(bad({ name: 'a', type: 'boolean', token: 'random' }), ['token_not_for_type']);
    assert.deepEqual(bad({ name: 'a', type: 'object', token: 'random', fields: [{ name: 'b', type: 'string' }] }), ['token_not_for_type']);
    assert.deepEqual(bad({ name: 'a', type: 'string', token: 'secret' }), ['invalid_token']);
    assert.deepEqual(bad({ name: 'a', type: 'string', tokenFormat: 'digits' }), ['token_format_without_token']);
    assert.deepEqual(bad({ name: 'a', type: 'string', token: 'random', tokenFormat: 'digits' }), ['option_not_for_token:tokenFormat']);
    assert.deepEqual(bad({ name: 'a', type: 'my-number', token: 'format-preserving', tokenFormat: 'digits' }), ['option_not_for_type:tokenFormat']);
    assert.deepEqual(bad({ name: 'a', type: 'object', fields: [{ name: 'b', type: 'string', token: 'random' }] }), ['token_not_for_type']);
    assert.deepEqual(bad({ name: 'a', type: 'my-number', token: 'format-preserving' }), []);
  });
});
