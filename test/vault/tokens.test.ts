/**
 * Tokens through the vault, on both backends: records answer with tokens, tokens resolve back, values
 * tokenised on their own, rotation, updates and deletes, erasure, foreign and unknown tokens, and
 * what the database holds (never a token, never a value).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeLogEntry, type LogEntry } from '../../src/ledger/index.js';
import { myNumberCheckDigit, type FieldDef } from '../../src/schema/index.js';
import type { TokenRow } from '../../src/store/index.js';
import { localAudit, type Vault } from '../../src/vault/index.js';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { openRawDb } from '../helpers/raw-db.js';
import { rejectsWithCode, reasons } from '../helpers/errors.js';
import { once } from '../helpers/once.js';
import { syntheticMyNumber, wrongLastDigit } from '../helpers/japanese-ids.js';
import { openOther } from '../helpers/key-rotation.js';
import { hmacTokenHash, legacyDeterministicToken, legacySealedTokenValue } from '../helpers/legacy-tokens.js';

const T = 'token-town';
const OTHER = 'other-town';
const C = 'residents';
const SCHEMA = {
  fields: [
    { name: 'family_name', type: 'string', required: true, searchable: true, token: 'deterministic' },
    { name: 'my_number', type: 'my-number', token: 'format-preserving' },
    { name: 'note', type: 'string', token: 'random' },
    { name: 'card_no', type: 'string', token: 'format-preserving', tokenFormat: 'alphanumeric-upper' },
    { name: 'city', type: 'string' },
    { name: 'dv_support', type: 'boolean', classification: 'sensitive' },
  ],
} as const;

async function logEntries(tv: TempVault, tenant: string): Promise<LogEntry[]> {
  const raw = await openRawDb(tv.location);
  try {
    const pending = await raw.all('SELECT entry FROM log_pending WHERE tenant_id = ? ORDER BY id', [tenant]);
    const done = await raw.all('SELECT entry FROM log_entries WHERE tenant_id = ? ORDER BY idx', [tenant]);
    return [...done, ...pending].map((r) => decodeLogEntry(r.entry as Buffer));
  } finally {
    await raw.close();
  }
}

for (const backend of BACKENDS) {
  describe(`tokens through the vault (${backend})`, () => {
    let tv: TempVault | undefined;
    const setup = once(async () => {
      tv = await createTempVault(backend);
      for (const t of [T, OTHER]) {
        await tv.vault.tenants.create(t, t);
        await tv.vault.collections.create(t, C, SCHEMA);
      }
      return tv;
    });
    after(async () => tv?.cleanup());
    const v = async (): Promise<Vault> => (await setup()).vault;

    test('a written record answers with a token per tokenised field; each resolves to the stored value', async () => {
      const vault = await v();
      const mn = syntheticMyNumber(1);
      const r = await vault.records.create(T, C, { subjectId: 'p-1', fields: { family_name: '山田', my_number: mn, note: '秘密のメモ', card_no: 'AB12CD34', city: '倉敷' } });
      assert.ok(r.tokens);
      assert.deepEqual(Object.keys(r.tokens).sort(), ['card_no', 'family_name', 'my_number', 'note']);
      assert.match(r.tokens.my_number as string, /^\d{12}$/);
      assert.notEqual(r.tokens.my_number, mn);
      assert.notEqual(Number(r.tokens.my_number?.[11]), myNumberCheckDigit((r.tokens.my_number as string).slice(0, 11)));
      assert.match(r.tokens.card_no as string, /^[0-9A-Z]{8}$/);
      assert.match(r.tokens.note as string, /^tku_/);
      assert.match(r.tokens.family_name as string, /^tks1_/);
      const back = async (field: string, token: string) => (await vault.tokens.detokenize(T, C, field, [token])).values[0];
      assert.equal(await back('my_number', r.tokens.my_number as string), mn);
      assert.equal(await back('card_no', r.tokens.card_no as string), 'AB12CD34');
      assert.equal(await back('note', r.tokens.note as string), '秘密のメモ');
      assert.equal(await back('family_name', r.tokens.family_name as string), '山田');
      const d = await vault.tokens.detokenize(T, C, 'my_number', [r.tokens.my_number as string]);
      assert.deepEqual(d.records, [r.id]);
      assert.deepEqual(d.subjects, ['p-1']);
    });

    test('batches: tokens per record, in order; deterministic tokens join equal values', async () => {
      const vault = await v();
      const res = await vault.records.createMany(T, C, [
        { subjectId: 'p-2', fields: { family_name: '佐藤', my_number: syntheticMyNumber(2) } },
        { subjectId: 'p-3', fields: { family_name: '佐藤', my_number: syntheticMyNumber(3) } },
        { fields: { family_name: '鈴木' } },
      ], { mode: 'atomic' });
      assert.equal(res.created.length, 3);
      const [a, b, c] = res.created;
      assert.equal(a?.tokens?.family_name, b?.tokens?.family_name, 'same value, same deterministic token');
      assert.notEqual(a?.tokens?.family_name, c?.tokens?.family_name);
      assert.notEqual(a?.tokens?.my_number, b?.tokens?.my_number);
      assert.equal(c?.tokens?.my_number, undefined, 'no value, no token');
      const standalone = await vault.tokens.tokenize(T, C, 'family_name', ['佐藤']);
      assert.equal(standalone[0], a?.tokens?.family_name, 'a value tokenised on its own gets the same deterministic token');
      const values = await vault.tokens.detokenize(T, C, 'my_number', [b?.tokens?.my_number, a?.tokens?.my_number]);
      assert.deepEqual(values.values, [syntheticMyNumber(3), syntheticMyNumber(2)]);
    });

    test('a value many records share is tied to none of them: the call names no record and no subject', async () => {
      const vault = await v();
      const many = await vault.records.createMany(T, C, Array.from({ length: 11 }, (_v, i) => ({ subjectId: `common-${i}`, fields: { family_name: '共通姓' } })), { mode: 'atomic' });
      const token = many.created[0]?.tokens?.family_name as string;
      assert.ok(many.created.every((c) => c.tokens?.family_name === token));
      assert.deepEqual(await vault.tokens.detokenize(T, C, 'family_name', [token]), { values: ['共通姓'], records: [], subjects: [] });
      const few = await vault.records.create(T, C, { subjectId: 'rare-1', fields: { family_name: '稀少姓' } });
      assert.deepEqual(await vault.tokens.detokenize(T, C, 'family_name', [few.tokens?.family_name]), { values: ['稀少姓'], records: [few.id], subjects: ['rare-1'] });
    });

    test('a batch large enough for the sealing worker thread answers with its tokens too', async () => {
      const vault = await v();
      const inputs = Array.from({ length: 600 }, (_v, i) => ({ subjectId: `w-${i}`, fields: { family_name: `姓${i}`, my_number: syntheticMyNumber(5000 + i) } }));
      const res = await vault.records.createMany(T, C, inputs, { mode: 'atomic' });
      assert.equal(res.created.length, 600);
      const tokens = res.created.map((c) => c.tokens?.my_number as string);
      assert.ok(tokens.every((t) => /^\d{12}$/.test(t)));
      assert.deepEqual((await vault.tokens.detokenize(T, C, 'my_number', tokens)).values, inputs.map((i) => i.fields.my_number));
    });

    test('property: detokenise(tokenise(x)) = x for My Numbers, card numbers and free text', async () => {
      const vault = await v();
      const digits = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((a) => a.join(''));
      await fc.assert(
        fc.asyncProperty(
          fc.array(digits(11).map((b) => `${b}${myNumberCheckDigit(b)}`), { minLength: 1, maxLength: 20 }),
          fc.array(fc.array(fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'), { minLength: 4, maxLength: 16 }).map((a) => a.join('')), { minLength: 1, maxLength: 20 }),
          fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => s.trim() === s && s.length > 0 && !/[\u0000-\u001f\u007f]/.test(s)), { minLength: 1, maxLength: 20 }),
          async (numbers, cards, texts) => {
            for (const [field, values] of [['my_number', numbers], ['card_no', cards], ['note', texts], ['family_name', texts]] as const) {
              let tokens: string[];
              try {
                tokens = await vault.tokens.tokenize(T, C, field, values);
              } catch (e) {
                // Text the field's validation refuses is refused here too: never tokenised wrongly.
                if (field === 'note' || field === 'family_name') continue;
                throw e;
              }
              assert.equal(tokens.length, values.length);
              assert.deepEqual((await vault.tokens.detokenize(T, C, field, tokens)).values, values);
            }
          },
        ),
        { numRuns: backend === 'sqlite' ? 25 : 10 },
      );
    });

    test('unknown, malformed and foreign tokens are refused by index, never answered with a wrong value', async () => {
      const vault = await v();
      const r = await vault.records.create(T, C, { subjectId: 'p-4', fields: { family_name: '高橋', my_number: syntheticMyNumber(4), note: 'メモ' } });
      const own = r.tokens?.my_number as string;
      // A token-shaped number this vault never issued: FF1 would "decrypt" it, the registry refuses it.
      let forged = own;
      while (forged === own) forged = `${String(Math.floor(Math.random() * 1e11)).padStart(11, '0')}`;
      forged = forged.length === 11 ? `${forged}${(myNumberCheckDigit(forged) + 1) % 10}` : forged;
      const unknown = await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'my_number', [own, forged]), 'TOKEN_NOT_FOUND');
      assert.deepEqual(reasons(unknown.details), ['1||unknown_token']);
      // A real My Number (right check digit) is not a token at all.
      const real = await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'my_number', [syntheticMyNumber(4)]), 'TOKEN_INVALID');
      assert.deepEqual(reasons(real.details), ['0||malformed_token']);
      assert.ok(!JSON.stringify(real).includes(syntheticMyNumber(4)));
      // Wrong shapes and types.
      for (const bad of ['12345', 'abcdefghijkl', 42, null, '', 'tkr_short']) {
        await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'my_number', [bad]), 'TOKEN_INVALID');
      }
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'note', ['tkr_AAAAAAAAAAAAAAAAAAAAAA']), 'TOKEN_NOT_FOUND');
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'note', ['tku_AAAAAAAAAAAAAAAAAAAAAA']), 'TOKEN_NOT_FOUND');
      // A changed last character: another spelling of the same bytes (malformed) or another token (unknown).
      const note = r.tokens?.note as string;
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'note', [`${note.slice(0, -1)}${note.endsWith('A') ? 'B' : 'A'}`]), note.endsWith('A') ? 'TOKEN_INVALID' : 'TOKEN_NOT_FOUND');
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'family_name', [`tkd1_${'A'.repeat(60)}`]), 'TOKEN_NOT_FOUND');
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'family_name', [`tks1_${'A'.repeat(60)}`]), 'TOKEN_NOT_FOUND');
      // A deterministic token whose SIV is a real one but whose ciphertext is not: its SIV finds the
      // registry row (the look-up hash is a function of the SIV), the SIV check refuses it.
      const det = r.tokens?.family_name as string;
      const body = Buffer.from(det.slice(5), 'base64url');
      body[body.length - 1] = (body[body.length - 1] as number) ^ 1;
      const spliced = `tks1_${body.toString('base64url')}`;
      assert.deepEqual(reasons((await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'family_name', [det, spliced]), 'TOKEN_NOT_FOUND')).details), ['1||unknown_token']);
      // A token of the same field name and collection name in another tenant.
      for (const field of ['my_number', 'note', 'family_name'] as const) {
        await rejectsWithCode(() => vault.tokens.detokenize(OTHER, C, field, [r.tokens?.[field]]), 'TOKEN_NOT_FOUND');
      }
      // A token of another field of the same record.
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'card_no', [r.tokens?.note]), 'TOKEN_INVALID');
      // Fields that are not tokenised, unknown fields, empty and oversized calls.
      assert.deepEqual(reasons((await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'city', ['x']), 'TOKEN_INVALID')).details), ['|city|field_not_tokenised']);
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'nope', ['x']), 'TOKEN_INVALID');
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'note', []), 'BATCH_TOO_LARGE');
      await rejectsWithCode(() => vault.tokens.tokenize(T, C, 'note', Array.from({ length: 10_001 }, () => 'x')), 'BATCH_TOO_LARGE');
      // Values outside the domain: by index and reason, nothing written.
      const bad = await rejectsWithCode(() => vault.tokens.tokenize(T, C, 'my_number', [syntheticMyNumber(5), wrongLastDigit(syntheticMyNumber(5)), 'x']), 'TOKEN_INVALID');
      assert.deepEqual(reasons(bad.details).map((s) => s.split('|')[0]), ['1', '2']);
      const card = await rejectsWithCode(() => vault.tokens.tokenize(T, C, 'card_no', ['ab12', 'AB1']), 'TOKEN_INVALID');
      assert.deepEqual(reasons(card.details), ['0|card_no|token_value_outside_alphabet', '1|card_no|token_domain_too_small']);
    });

    test('a record whose format-preserving value is outside the domain is refused whole (or rejected in an import batch)', async () => {
      const vault = await v();
      const e = await rejectsWithCode(() => vault.records.create(T, C, { fields: { family_name: '伊藤', card_no: 'ab-1' } }), 'RECORD_INVALID');
      assert.deepEqual(reasons(e.details), ['|card_no|token_value_outside_alphabet']);
      const res = await vault.records.createMany(T, C, [{ fields: { family_name: '伊藤', card_no: 'AB1' } }, { fields: { family_name: '伊藤', card_no: 'ABCD' } }], { mode: 'skip-invalid' });
      assert.equal(res.created.length, 1);
      assert.deepEqual(res.rejected.map((r) => [r.index, r.problems.map((p) => p.reason)]), [[0, ['token_domain_too_small']]]);
    });

    test('updates re-issue a record\'s tokens; deletes revoke them', async () => {
      const vault = await v();
      const r = await vault.records.create(T, C, { subjectId: 'p-6', fields: { family_name: '中村', my_number: syntheticMyNumber(6), note: '古いメモ' } });
      const u = await vault.records.update(T, C, r.id, 1, { fields: { family_name: '中村', my_number: syntheticMyNumber(7), note: '新しいメモ' } });
      assert.equal(u.tokens?.family_name, r.tokens?.family_name, 'unchanged value, unchanged deterministic token');
      assert.notEqual(u.tokens?.my_number, r.tokens?.my_number);
      assert.notEqual(u.tokens?.note, r.tokens?.note);
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'note', [r.tokens?.note]), 'TOKEN_NOT_FOUND');
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'my_number', [r.tokens?.my_number]), 'TOKEN_NOT_FOUND');
      assert.deepEqual((await vault.tokens.detokenize(T, C, 'note', [u.tokens?.note])).values, ['新しいメモ']);
      await vault.records.delete(T, C, r.id);
      for (const f of ['note', 'my_number'] as const) await rejectsWithCode(() => vault.tokens.detokenize(T, C, f, [u.tokens?.[f]]), 'TOKEN_NOT_FOUND');
    });

    test('rotation: issued tokens keep resolving; new tokens are made under the new version', async () => {
      const vault = await v();
      const mn = syntheticMyNumber(8);
      const before = await vault.records.create(T, C, { subjectId: 'p-8', fields: { family_name: '小林', my_number: mn, note: 'n' } });
      const [plainBefore] = await vault.tokens.tokenize(T, C, 'note', ['回転前']);
      const version = await vault.keys.rotateTokens(T, C, localAudit());
      assert.ok(version >= 2);
      const afterRotation = await vault.records.create(T, C, { subjectId: 'p-9', fields: { family_name: '小林', my_number: mn } });
      assert.match(afterRotation.tokens?.family_name as string, new RegExp(`^tks${version}_`));
      assert.notEqual(afterRotation.tokens?.family_name, before.tokens?.family_name);
      assert.notEqual(afterRotation.tokens?.my_number, before.tokens?.my_number);
      for (const f of ['family_name', 'my_number'] as const) {
        const values = await vault.tokens.detokenize(T, C, f, [before.tokens?.[f], afterRotation.tokens?.[f]]);
        assert.deepEqual(values.values, f === 'my_number' ? [mn, mn] : ['小林', '小林']);
      }
      assert.deepEqual((await vault.tokens.detokenize(T, C, 'note', [plainBefore, before.tokens?.note])).values, ['回転前', 'n']);
      const log = await logEntries(await setup(), T);
      assert.ok(log.some((e) => e.action === 'key.rotate_token' && e.collection === C));
      const status = (await vault.keys.status(T)).collections.find((c) => c.name === C);
      assert.deepEqual(status?.tokenKeys?.map((k) => k.version), Array.from({ length: version }, (_v, i) => i + 1));
      assert.ok((status?.tokenKeys?.[0]?.tokens ?? 0) > 0 && (status?.tokenKeys?.at(-1)?.tokens ?? 0) > 0, 'tokens counted per version');
    });

    test('erasing a person makes their tokens unresolvable, and leaves others\' alone', async () => {
      const tv0 = await setup();
      const vault = tv0.vault;
      const gone = await vault.records.create(T, C, { subjectId: 'erase-me', fields: { family_name: '消去', my_number: syntheticMyNumber(10), note: '消える' } });
      const [alone] = await vault.tokens.tokenize(T, C, 'note', ['本人の値'], { subjectId: 'erase-me' });
      const [sameValueElsewhere] = await vault.tokens.tokenize(T, C, 'my_number', [syntheticMyNumber(10)]);
      // A deterministic token registered on its own for a name only the erased person has (tks: the
      // look-up hash comes from the SIV, the same for both registrations).
      await vault.records.create(T, C, { subjectId: 'erase-me', fields: { family_name: '消去だけ' } });
      const [nameAlone] = await vault.tokens.tokenize(T, C, 'family_name', ['消去だけ']);
      assert.equal(sameValueElsewhere, gone.tokens?.my_number);
      const stays = await vault.records.create(T, C, { subjectId: 'stay', fields: { family_name: '残る', my_number: syntheticMyNumber(11), note: '残る' } });
      // Another person with the same family name: the same deterministic token, which stands for their record too.
      const namesake = await vault.records.create(T, C, { subjectId: 'namesake', fields: { family_name: '消去' } });
      assert.equal(namesake.tokens?.family_name, gone.tokens?.family_name);
      const receipt = await vault.erasure.erase(T, 'erase-me', localAudit());
      assert.ok(receipt.tokensRevoked >= 4, `tokensRevoked ${receipt.tokensRevoked}`);
      for (const f of ['my_number', 'note'] as const) await rejectsWithCode(() => vault.tokens.detokenize(T, C, f, [gone.tokens?.[f]]), 'TOKEN_NOT_FOUND');
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'note', [alone]), 'TOKEN_NOT_FOUND');
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'family_name', [nameAlone]), 'TOKEN_NOT_FOUND');
      const shared = await vault.tokens.detokenize(T, C, 'family_name', [gone.tokens?.family_name]);
      assert.deepEqual(shared, { values: ['消去'], records: [namesake.id], subjects: ['namesake'] }, "the namesake's record, never the erased one");
      await vault.erasure.erase(T, 'namesake', localAudit());
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'family_name', [gone.tokens?.family_name]), 'TOKEN_NOT_FOUND');
      // The same number registered without a subject stands for the erased person's value: revoked too.
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'my_number', [sameValueElsewhere]), 'TOKEN_NOT_FOUND');
      for (const f of ['family_name', 'my_number', 'note'] as const) {
        assert.equal((await vault.tokens.detokenize(T, C, f, [stays.tokens?.[f]])).values.length, 1);
      }
      const raw = await openRawDb(tv0.location);
      try {
        assert.deepEqual(await raw.all("SELECT * FROM tokens WHERE subject_id = 'erase-me'"), []);
      } finally {
        await raw.close();
      }
    });

    test('two vault instances tokenising a new collection at once make one token key: the same tokens, each resolvable by the other', async () => {
      const tv0 = await setup();
      await tv0.vault.collections.create(T, 'race', { fields: [{ name: 'code', type: 'string', token: 'deterministic' }, { name: 'mn', type: 'my-number', token: 'format-preserving' }] });
      const other = await openOther(tv0.location);
      try {
        const values = Array.from({ length: 50 }, (_v, i) => syntheticMyNumber(1000 + i));
        const [a, b] = await Promise.all([tv0.vault.tokens.tokenize(T, 'race', 'mn', values), other.vault.tokens.tokenize(T, 'race', 'mn', values)]);
        assert.deepEqual(a, b, 'one token key, so the same format-preserving tokens');
        assert.deepEqual((await other.vault.tokens.detokenize(T, 'race', 'mn', a)).values, values);
        assert.deepEqual((await tv0.vault.tokens.detokenize(T, 'race', 'mn', b)).values, values);
        const collection = await tv0.vault.collections.get(T, 'race');
        assert.equal((await tv0.store.listWrappedKeys({ tenantId: T, kind: 'token', scopeId: collection.id })).length, 1);
      } finally {
        await other.close();
      }
    });

    test('tokens of the first formats (tkd; tkr with its value sealed with GCM), registered before: keep resolving, across rotation, until erasure', async () => {
      const tv0 = await setup();
      const vault = tv0.vault;
      const collection = await vault.collections.get(T, C);
      const field = collection.schema.fields.find((f) => f.name === 'family_name') as FieldDef;
      const scope = { tenantId: T, collectionId: collection.id, field };
      const r = await vault.records.create(T, C, { subjectId: 'legacy-1', fields: { family_name: '旧姓' } });
      // What the earlier release registered for this record: a tkd token under the current key
      // version, its look-up hash the HMAC of the token.
      const tokenKey = await vault.keyring.tokenKey(tv0.store, T, collection.id);
      const legacy = legacyDeterministicToken(scope, tokenKey, '旧姓');
      const lookupKey = await vault.keyring.tokenLookupKey(tv0.store, T, collection.id, 'family_name');
      const [standalone] = await vault.tokens.tokenize(T, C, 'family_name', ['旧形式の値']);
      const legacyStandalone = legacyDeterministicToken(scope, tokenKey, '旧形式の値');
      const row = (token: string, recordId: string | null, subjectId: string | null): TokenRow => ({
        collectionId: collection.id, field: 'family_name', tokenHash: hmacTokenHash(lookupKey, token), recordId, tenantId: T, kind: 'deterministic',
        keyVersion: tokenKey.version, subjectId, valueCt: null, createdAt: new Date().toISOString(),
      });
      // And a random token made outside a record, its value sealed in the first format (GCM).
      const noteField = collection.schema.fields.find((f) => f.name === 'note') as FieldDef;
      const oldNote = 'tkr_AAAAAAAAAAAAAAAAAAAAAQ';
      const noteLookup = await vault.keyring.tokenLookupKey(tv0.store, T, collection.id, 'note');
      const noteHash = hmacTokenHash(noteLookup, oldNote);
      const noteRow: TokenRow = {
        ...row(oldNote, null, 'legacy-1'), field: 'note', kind: 'random', tokenHash: noteHash,
        valueCt: legacySealedTokenValue({ tenantId: T, collectionId: collection.id, field: noteField }, tokenKey, noteHash, '旧メモ'),
      };
      await tv0.store.transaction((tx) => tx.insertTokens([row(legacy, r.id, 'legacy-1'), row(legacyStandalone, null, null), noteRow]));
      const [newNote] = await vault.tokens.tokenize(T, C, 'note', ['新メモ']);
      assert.deepEqual((await vault.tokens.detokenize(T, C, 'note', [oldNote, newNote])).values, ['旧メモ', '新メモ']);
      assert.match(r.tokens?.family_name as string, /^tks/);
      assert.match(standalone as string, /^tks/);
      const both = await vault.tokens.detokenize(T, C, 'family_name', [legacy, r.tokens?.family_name, legacyStandalone, standalone]);
      assert.deepEqual(both.values, ['旧姓', '旧姓', '旧形式の値', '旧形式の値']);
      assert.deepEqual(both.records, [r.id]);
      // A tampered tkd token, or one of another field, is refused.
      const body = Buffer.from(legacy.slice(5), 'base64url');
      body[0] = (body[0] as number) ^ 1;
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'family_name', [`tkd${tokenKey.version}_${body.toString('base64url')}`]), 'TOKEN_NOT_FOUND');
      await vault.keys.rotateTokens(T, C, localAudit());
      assert.deepEqual((await vault.tokens.detokenize(T, C, 'family_name', [legacy])).values, ['旧姓'], 'after rotation');
      await vault.erasure.erase(T, 'legacy-1', localAudit());
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'family_name', [legacy]), 'TOKEN_NOT_FOUND');
      await rejectsWithCode(() => vault.tokens.detokenize(T, C, 'note', [oldNote]), 'TOKEN_NOT_FOUND');
      tokenKey.key.fill(0);
    });

    test('the database holds look-up hashes only: no token, no value; calls are logged with their count', async () => {
      const tv0 = await setup();
      const vault = tv0.vault;
      const mn = syntheticMyNumber(12);
      const r = await vault.records.create(T, C, { subjectId: 'p-12', fields: { family_name: '渡辺', my_number: mn, note: 'ひみつ' } });
      const tokens = await vault.tokens.tokenize(T, C, 'note', ['単独の値', '単独の値2'], { audit: localAudit() });
      await vault.tokens.detokenize(T, C, 'note', tokens);
      const raw = await openRawDb(tv0.location);
      try {
        const snap = JSON.stringify(await raw.snapshot());
        for (const secret of [mn, 'ひみつ', '単独の値', ...Object.values(r.tokens ?? {}), ...tokens]) {
          assert.ok(!snap.includes(secret) && !snap.includes(Buffer.from(secret).toString('hex')), 'a token or value is stored in clear');
        }
        const rows = await raw.all('SELECT token_hash, ref, value_ct FROM tokens WHERE ref = ?', [r.id]);
        assert.equal(rows.length, 3);
        for (const row of rows) {
          assert.equal(Buffer.from(row.token_hash as Buffer).length, 16);
          assert.equal(row.value_ct, null, 'record tokens resolve through the record, not a copy of the value');
        }
      } finally {
        await raw.close();
      }
      const entry = (await logEntries(tv0, T)).filter((e) => e.action === 'token.tokenize').at(-1);
      assert.ok(entry);
      assert.equal(entry.count, 2);
      assert.deepEqual(entry.fields, ['note']);
      assert.ok(!JSON.stringify(entry).includes('単独'));
    });
  });
}
