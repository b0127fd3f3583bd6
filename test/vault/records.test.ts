import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openKeyFileProvider } from '../../src/keys/index.js';
import { createVault, UUID_PATTERN, type Vault } from '../../src/vault/index.js';
import { BACKENDS, createTempVault, RESIDENT_SCHEMA, type TempVault } from '../helpers/temp-vault.js';
import { openRawDb, type RawDb } from '../helpers/raw-db.js';
import { reasons, rejectsWithCode, rejectsWithDecryptionFailure } from '../helpers/errors.js';
import { once } from '../helpers/once.js';

let seq = 0;
const tenantId = () => `t${++seq}-${randomBytes(4).toString('hex')}`;
const person = (family: string, given = '太郎', more: Record<string, unknown> = {}) => ({ family_name: family, given_name: given, ...more });

for (const backend of BACKENDS) {
  describe(`records (${backend})`, () => {
    let tv: TempVault | undefined;
    let vault: Vault;
    let raw: RawDb;

    beforeEach(once(async () => {
      tv = await createTempVault(backend);
      vault = tv.vault;
      raw = await openRawDb(tv.location);
    }));
    after(async () => {
      await raw?.close();
      await tv?.cleanup();
    });

    async function residents(): Promise<string> {
      const t = tenantId();
      await vault.tenants.create(t, 'Test City');
      await vault.collections.create(t, 'residents', RESIDENT_SCHEMA);
      return t;
    }

    /** A vault with nothing cached, on the same store and key file: reads go to the database. */
    async function freshVault(options: { keyCacheEntries?: number } = {}): Promise<Vault> {
      assert.ok(tv);
      return createVault({ store: tv.store, provider: await openKeyFileProvider(tv.location.keyFile), sealWorkers: 0, ...options });
    }

    test('create then get: the canonical fields, version 1, a UUIDv7 id', async () => {
      const t = await residents();
      const input = person('山田', '太郎', { income: '00120.500', household_size: 3, verified: true, kana: null, address: { postal_code: '100-0001' } });
      const made = await vault.records.create(t, 'residents', { fields: input });
      assert.match(made.id, UUID_PATTERN);
      assert.equal(made.id[14], '7');
      assert.equal(made.version, 1);
      assert.equal(made.subjectId, null);
      assert.equal(made.createdAt, made.updatedAt);
      const expected = { family_name: '山田', given_name: '太郎', income: '120.5', household_size: 3, verified: true, address: { postal_code: '100-0001' } };
      assert.deepEqual(made.fields, expected);
      const got = await vault.records.get(t, 'residents', made.id);
      assert.deepEqual(got, made);
      assert.deepEqual((await (await freshVault()).records.get(t, 'residents', made.id)).fields, expected);
      assert.equal(await vault.records.count(t, 'residents'), 1);
    });

    test('get: an unknown or malformed id is RECORD_NOT_FOUND; unknown collection and tenant are named', async () => {
      const t = await residents();
      await rejectsWithCode(() => vault.records.get(t, 'residents', '0190a6e0-0000-7000-8000-000000000000'), 'RECORD_NOT_FOUND');
      await rejectsWithCode(() => vault.records.get(t, 'residents', "' or 1=1 --"), 'RECORD_NOT_FOUND');
      await rejectsWithCode(() => vault.records.get(t, 'staff', '0190a6e0-0000-7000-8000-000000000000'), 'COLLECTION_NOT_FOUND');
      await rejectsWithCode(() => vault.records.get('no-such-tenant', 'residents', '0190a6e0-0000-7000-8000-000000000000'), 'TENANT_NOT_FOUND');
    });

    test('update: only from the current version (If-Match); replaces the fields; a stale version is VERSION_CONFLICT', async () => {
      const t = await residents();
      const made = await vault.records.create(t, 'residents', { fields: person('山田', '太郎', { kana: 'ヤマダ', household_size: 2 }) });
      const v2 = await vault.records.update(t, 'residents', made.id, 1, { fields: person('山田', '次郎', { household_size: 4 }) });
      assert.equal(v2.version, 2);
      assert.equal(v2.createdAt, made.createdAt);
      assert.deepEqual(v2.fields, person('山田', '次郎', { household_size: 4 }), 'a field left out is gone, not merged');
      assert.deepEqual(await vault.records.get(t, 'residents', made.id), v2);
      await rejectsWithCode(() => vault.records.update(t, 'residents', made.id, 1, { fields: person('古い', '値') }), 'VERSION_CONFLICT');
      await rejectsWithCode(() => vault.records.update(t, 'residents', made.id, 3, { fields: person('未来', '値') }), 'VERSION_CONFLICT');
      await rejectsWithCode(() => vault.records.update(t, 'residents', made.id, 2, { fields: { family_name: '山田' } }), 'RECORD_INVALID');
      assert.deepEqual((await vault.records.get(t, 'residents', made.id)).fields, v2.fields);
      assert.equal((await vault.records.search(t, 'residents', { kana: 'ヤマダ' }, { limit: 10 })).records.length, 0, 'the old index entry went with the old version');
      const v3 = await vault.records.update(t, 'residents', made.id, 2, { subjectId: 'P-0002', fields: person('山田', '三郎') });
      assert.equal(v3.subjectId, 'P-0002');
      assert.deepEqual((await (await freshVault()).records.get(t, 'residents', made.id)).fields, person('山田', '三郎'));
      await rejectsWithCode(() => vault.records.update(t, 'residents', '0190a6e0-0000-7000-8000-000000000000', 1, { fields: person('a', 'b') }), 'RECORD_NOT_FOUND');
    });

    test('update: two writers from the same version, one wins and one gets VERSION_CONFLICT', async () => {
      const t = await residents();
      const made = await vault.records.create(t, 'residents', { fields: person('山田') });
      const results = await Promise.allSettled([
        vault.records.update(t, 'residents', made.id, 1, { fields: person('山田', '一') }),
        vault.records.update(t, 'residents', made.id, 1, { fields: person('山田', '二') }),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(ok.length, 1);
      assert.equal(failed.length, 1);
      assert.equal((failed[0]?.reason as { code?: string }).code, 'VERSION_CONFLICT');
      const now = await vault.records.get(t, 'residents', made.id);
      assert.equal(now.version, 2);
      assert.deepEqual(now.fields, (ok[0] as PromiseFulfilledResult<{ fields: unknown }>).value.fields);
    });

    test('delete: with a stale version VERSION_CONFLICT; then gone for get, search and count', async () => {
      const t = await residents();
      const a = await vault.records.create(t, 'residents', { fields: person('削除', '対象', { resident_no: 'R-DEL' }) });
      const b = await vault.records.create(t, 'residents', { fields: person('削除', '残す') });
      await rejectsWithCode(() => vault.records.delete(t, 'residents', a.id, 2), 'VERSION_CONFLICT');
      assert.equal((await vault.records.get(t, 'residents', a.id)).version, 1);
      await vault.records.delete(t, 'residents', a.id, 1);
      await rejectsWithCode(() => vault.records.get(t, 'residents', a.id), 'RECORD_NOT_FOUND');
      await rejectsWithCode(() => vault.records.delete(t, 'residents', a.id), 'RECORD_NOT_FOUND');
      assert.deepEqual((await vault.records.search(t, 'residents', { family_name: '削除' }, { limit: 10 })).records.map((r) => r.id), [b.id]);
      assert.equal(await vault.records.count(t, 'residents'), 1);
      await vault.records.create(t, 'residents', { fields: person('再利用', '可', { resident_no: 'R-DEL' }) });
      await vault.records.delete(t, 'residents', b.id);
      assert.equal(await vault.records.count(t, 'residents'), 1);
    });

    test('search: AND of two fields; every term must match', async () => {
      const t = await residents();
      const a = await vault.records.create(t, 'residents', { fields: person('山田', '太郎', { birth_date: '1990-01-01' }) });
      const b = await vault.records.create(t, 'residents', { fields: person('山田', '花子', { birth_date: '1985-05-05' }) });
      const c = await vault.records.create(t, 'residents', { fields: person('佐藤', '一郎', { birth_date: '1990-01-01' }) });
      const ids = async (where: Record<string, unknown>) => (await vault.records.search(t, 'residents', where, { limit: 100 })).records.map((r) => r.id);
      assert.deepEqual(await ids({ family_name: '山田' }), [a.id, b.id]);
      assert.deepEqual(await ids({ birth_date: '1990-01-01' }), [a.id, c.id]);
      assert.deepEqual(await ids({ family_name: '山田', birth_date: '1990-01-01' }), [a.id]);
      assert.deepEqual(await ids({ family_name: '佐藤', birth_date: '1985-05-05' }), []);
      assert.deepEqual(await ids({ family_name: '山' }), [], 'equality, not prefix');
      const found = await vault.records.search(t, 'residents', { family_name: '山田', birth_date: '1990-01-01' }, { limit: 10 });
      assert.deepEqual(found.records[0], await vault.records.get(t, 'residents', a.id));
      assert.equal(found.next, undefined);
    });

    test('search: refuses what it cannot do, naming the field and why', async () => {
      const t = await residents();
      const refused = async (where: unknown, after?: string) => reasons((await rejectsWithCode(() => vault.records.search(t, 'residents', where, { limit: 10, after }), 'SEARCH_INVALID')).details);
      assert.deepEqual(await refused({}), ['||empty_where']);
      assert.deepEqual(await refused(null), ['||empty_where']);
      assert.deepEqual(await refused({ given_name: '太郎' }), ['|given_name|not_searchable']);
      assert.deepEqual(await refused({ nickname: 'x' }), ['|nickname|unknown_field']);
      assert.deepEqual(await refused({ 'Taro Yamada': 'x' }), ['||unknown_field']);
      assert.deepEqual(await refused({ birth_date: '2023-02-29' }), ['|birth_date|expected_date']);
      assert.deepEqual(await refused({ family_name: null }), ['|family_name|required']);
      assert.deepEqual(await refused({ family_name: 'x' }, 'not-a-cursor'), ['||invalid_cursor']);
    });

    test('search: normalisation folds width, U+3000 and runs of spaces; different values stay distinct', async () => {
      const t = await residents();
      const a = await vault.records.create(t, 'residents', { fields: person('ＹＡＭＡＤＡ', '太郎', { kana: 'ﾔﾏﾀﾞ\u3000ﾀﾛｳ' }) });
      const b = await vault.records.create(t, 'residents', { fields: person('YAMADA', '花子', { kana: 'ヤマダ  ハナコ' }) });
      const ids = async (where: Record<string, unknown>) => (await vault.records.search(t, 'residents', where, { limit: 100 })).records.map((r) => r.id);
      for (const q of ['YAMADA', 'ＹＡＭＡＤＡ', ' YAMADA ', 'ＹAMAＤA']) assert.deepEqual(await ids({ family_name: q }), [a.id, b.id], q);
      for (const q of ['ヤマダ タロウ', 'ヤマダ\u3000タロウ', 'ﾔﾏﾀﾞ ﾀﾛｳ', '  ヤマダ \u3000 タロウ ']) assert.deepEqual(await ids({ kana: q }), [a.id], q);
      assert.deepEqual(await ids({ kana: 'ﾔﾏﾀﾞ ﾊﾅｺ' }), [b.id]);
      for (const q of ['yamada', 'ヤマダタロウ', 'ヤマダ タロ', 'やまだ たろう', 'ヤマダ ハナコ タロウ']) assert.deepEqual(await ids({ kana: q, family_name: 'YAMADA' }).then((r) => r.filter((id) => id === a.id)), [], q);
      assert.deepEqual(await ids({ family_name: 'yamada' }), []);
      // what is stored and returned is the value as written, not its normalised form
      assert.equal((await vault.records.get(t, 'residents', a.id)).fields.kana, 'ﾔﾏﾀﾞ\u3000ﾀﾛｳ');
    });

    test('search: pages through matches with a cursor, in id order, without gaps or repeats', async () => {
      const t = await residents();
      const made = await vault.records.createMany(t, 'residents', Array.from({ length: 7 }, (_, i) => ({ fields: person('田中', `${i}`) })), { mode: 'atomic' });
      await vault.records.create(t, 'residents', { fields: person('中田') });
      const all = made.created.map((c) => c.id);
      const pages: string[][] = [];
      let after: string | undefined;
      for (let guard = 0; guard < 10; guard++) {
        const page = await vault.records.search(t, 'residents', { family_name: '田中' }, { limit: 3, after });
        pages.push(page.records.map((r) => r.id));
        if (page.next === undefined) break;
        assert.equal(page.next, page.records.at(-1)?.id);
        after = page.next;
      }
      assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
      assert.deepEqual(pages.flat(), all);
      const exact = await vault.records.search(t, 'residents', { family_name: '田中' }, { limit: 7 });
      assert.equal(exact.records.length, 7);
      assert.equal(exact.next, undefined, 'no cursor when nothing follows');
      assert.equal((await vault.records.search(t, 'residents', { family_name: '田中' }, { limit: 0 })).records.length, 1, 'limit is at least 1');
    });

    test('unique fields: a second record with the same (normalised) value is UNIQUE_VIOLATION; updating to its own value is fine', async () => {
      const t = await residents();
      const a = await vault.records.create(t, 'residents', { fields: person('一', '二', { resident_no: 'R-0001' }) });
      for (const dup of ['R-0001', 'Ｒ－０００１', ' R-0001\u3000']) {
        const e = await rejectsWithCode(() => vault.records.create(t, 'residents', { fields: person('三', '四', { resident_no: dup }) }), 'UNIQUE_VIOLATION');
        assert.deepEqual(reasons(e.details), ['|resident_no|unique_violation']);
      }
      assert.equal(await vault.records.count(t, 'residents'), 1);
      const b = await vault.records.create(t, 'residents', { fields: person('三', '四', { resident_no: 'R-0002' }) });
      await vault.records.update(t, 'residents', a.id, 1, { fields: person('一', '改', { resident_no: 'R-0001' }) });
      await rejectsWithCode(() => vault.records.update(t, 'residents', b.id, 1, { fields: person('三', '四', { resident_no: 'R-0001' }) }), 'UNIQUE_VIOLATION');
      assert.equal((await vault.records.get(t, 'residents', b.id)).fields.resident_no, 'R-0002');
      assert.deepEqual((await vault.records.search(t, 'residents', { resident_no: 'Ｒ－０００１' }, { limit: 5 })).records.map((r) => r.id), [a.id]);
    });

    test('batches, atomic: a duplicate inside the batch or an invalid record writes nothing', async () => {
      const t = await residents();
      await vault.records.create(t, 'residents', { fields: person('既存', '者', { resident_no: 'R-1' }) });
      const inBatch = await rejectsWithCode(
        () =>
          vault.records.createMany(t, 'residents', [
            { fields: person('a', 'b', { resident_no: 'R-2' }) },
            { subjectId: 'P-NEW', fields: person('c', 'd', { resident_no: 'R-3' }) },
            { fields: person('e', 'f', { resident_no: 'Ｒ-2' }) },
          ], { mode: 'atomic' }),
        'UNIQUE_VIOLATION',
      );
      assert.deepEqual(reasons(inBatch.details), ['2|resident_no|duplicate_in_batch']);
      const stored = await rejectsWithCode(
        () => vault.records.createMany(t, 'residents', [{ fields: person('a', 'b', { resident_no: 'R-5' }) }, { fields: person('c', 'd', { resident_no: 'R-1' }) }], { mode: 'atomic' }),
        'UNIQUE_VIOLATION',
      );
      assert.deepEqual(reasons(stored.details), ['1|resident_no|unique_violation']);
      const invalid = await rejectsWithCode(
        () => vault.records.createMany(t, 'residents', [{ fields: person('a', 'b') }, { fields: { family_name: 'x' } }, { fields: person('c', 'd', { status: 'gone' }) }], { mode: 'atomic' }),
        'RECORD_INVALID',
      );
      assert.deepEqual(reasons(invalid.details), ['1|given_name|required', '2|status|not_an_allowed_value']);
      assert.equal(await vault.records.count(t, 'residents'), 1);
      assert.equal((await raw.all(`select count(*) as n from wrapped_keys where tenant_id = ? and kind = 'subject'`, [t]))[0]?.n, backend === 'postgres' ? '0' : 0, 'no subject key was left behind');
      assert.deepEqual((await vault.records.search(t, 'residents', { resident_no: 'R-2' }, { limit: 5 })).records, []);
    });

    test('batches, skip-invalid: valid records are written; the others come back with their index and reasons', async () => {
      const t = await residents();
      await vault.records.create(t, 'residents', { fields: person('既存', '者', { resident_no: 'R-1' }) });
      const result = await vault.records.createMany(
        t,
        'residents',
        [
          { fields: person('a', 'b', { resident_no: 'R-10' }) },
          { fields: { family_name: 'x', household_size: 0 } },
          { fields: person('c', 'd', { resident_no: 'R-1' }) },
          { subjectId: 'P-1', fields: person('e', 'f') },
          { fields: person('g', 'h', { resident_no: 'R-10' }) },
          { subjectId: 'not a subject id!', fields: person('i', 'j') },
        ],
        { mode: 'skip-invalid' },
      );
      assert.deepEqual(result.created.map((c) => c.index), [0, 3]);
      assert.deepEqual(
        result.rejected.map((r) => ({ index: r.index, why: reasons(r.problems) })),
        [
          { index: 1, why: ['|given_name|required', '|household_size|out_of_range'] },
          { index: 2, why: ['|resident_no|unique_violation'] },
          { index: 4, why: ['|resident_no|duplicate_in_batch'] },
          { index: 5, why: ['|subjectId|invalid_subject_id'] },
        ],
      );
      assert.equal(await vault.records.count(t, 'residents'), 3);
      for (const c of result.created) assert.equal((await vault.records.get(t, 'residents', c.id)).version, 1);
      assert.equal((await vault.records.get(t, 'residents', result.created[1]?.id as string)).subjectId, 'P-1');
    });

    test('record validation through the vault: RECORD_INVALID with field and reason, never the value', async () => {
      const t = await residents();
      const e = await rejectsWithCode(
        () =>
          vault.records.create(t, 'residents', {
            subjectId: 'P 1',
            fields: {
              family_name: '\uD842',
              nickname: 'x',
              household_size: 2.5,
              birth_date: '2023-02-29',
              kana: 'カ'.repeat(1001),
              income: '1.12345678901',
              address: { postal_code: 12 },
            },
          }),
        'RECORD_INVALID',
      );
      assert.deepEqual(reasons(e.details), [
        '|address.postal_code|expected_string',
        '|birth_date|expected_date',
        '|family_name|not_well_formed_unicode',
        '|given_name|required',
        '|household_size|expected_integer',
        '|income|out_of_range',
        '|kana|too_long',
        '|nickname|unknown_field',
        '|subjectId|invalid_subject_id',
      ]);
      assert.ok(!JSON.stringify(e).includes('カカカ') && !e.message.includes('2023-02-29'));
      assert.deepEqual(reasons((await rejectsWithCode(() => vault.records.create(t, 'residents', { fields: person('a', 'b', { income: '1234567890123456789' }) }), 'RECORD_INVALID')).details), ['|income|out_of_range']);
      assert.deepEqual(reasons((await rejectsWithCode(() => vault.records.create(t, 'residents', { fields: person('a', 'b', { household_size: 51 }) }), 'RECORD_INVALID')).details), ['|household_size|out_of_range']);
      assert.equal(await vault.records.count(t, 'residents'), 0);
    });

    test('tenants are isolated: a record id of another tenant is RECORD_NOT_FOUND, even with the same collection name', async () => {
      const a = await residents();
      const b = await residents();
      const rec = await vault.records.create(a, 'residents', { subjectId: 'P-1', fields: person('隔離', '確認', { resident_no: 'R-1' }) });
      await rejectsWithCode(() => vault.records.get(b, 'residents', rec.id), 'RECORD_NOT_FOUND');
      await rejectsWithCode(() => vault.records.update(b, 'residents', rec.id, 1, { fields: person('x', 'y') }), 'RECORD_NOT_FOUND');
      await rejectsWithCode(() => vault.records.delete(b, 'residents', rec.id), 'RECORD_NOT_FOUND');
      assert.deepEqual((await vault.records.search(b, 'residents', { family_name: '隔離' }, { limit: 5 })).records, []);
      await vault.records.create(b, 'residents', { fields: person('隔離', '別', { resident_no: 'R-1' }) }); // unique per collection, so per tenant
      assert.deepEqual((await vault.records.get(a, 'residents', rec.id)).fields, rec.fields);
      assert.equal(await vault.records.count(a, 'residents'), 1);
    });

    test('a record with a subject id is encrypted under that subject\'s key; one without, under the collection key', async () => {
      const t = await residents();
      const subjectRows = async (s?: string) =>
        (await raw.all(`select scope_id, version from wrapped_keys where tenant_id = ? and kind = 'subject'` + (s ? ' and scope_id = ?' : ''), s ? [t, s] : [t])).length;
      const withSubject = await vault.records.create(t, 'residents', { subjectId: 'P-0001', fields: person('主体', '一') });
      const again = await vault.records.create(t, 'residents', { subjectId: 'P-0001', fields: person('主体', '二') });
      const without = await vault.records.create(t, 'residents', { fields: person('無主体', '三') });
      assert.equal(await subjectRows('P-0001'), 1, 'one key per subject');
      assert.equal(await subjectRows(), 1, 'no subject key for a record without a subject');
      const rows = await raw.all(`select id, subject_id, key_version from records where tenant_id = ? order by id`, [t]);
      assert.deepEqual(rows.map((r) => [r.id, r.subject_id]), [[withSubject.id, 'P-0001'], [again.id, 'P-0001'], [without.id, null]]);
      const other = await residents();
      await vault.records.create(other, 'residents', { subjectId: 'P-0001', fields: person('他', '市') });
      assert.equal(await subjectRows('P-0001'), 1, "another tenant's subject of the same id has its own key");
      assert.equal((await raw.all(`select 1 from wrapped_keys where tenant_id = ? and kind = 'subject' and scope_id = 'P-0001'`, [other])).length, 1);
      // Destroying the subject's key makes exactly that subject's records unreadable.
      await raw.run(`delete from wrapped_keys where tenant_id = ? and kind = 'subject' and scope_id = 'P-0001'`, [t]);
      const reader = await freshVault();
      try {
        await rejectsWithDecryptionFailure(() => reader.records.get(t, 'residents', withSubject.id));
        await rejectsWithDecryptionFailure(() => reader.records.get(t, 'residents', again.id));
        assert.deepEqual((await reader.records.get(t, 'residents', without.id)).fields, person('無主体', '三'));
        assert.equal((await reader.records.search(other, 'residents', { family_name: '他' }, { limit: 1 })).records.length, 1);
      } finally {
        await reader.close();
      }
    });

    test('keys stay correct under key-cache churn: everything written with a tiny cache reads back and is found', async () => {
      const t = await residents();
      const churn = await freshVault({ keyCacheEntries: 4 });
      const written: Array<{ id: string; fields: unknown; resident: string }> = [];
      try {
        for (let round = 0; round < 4; round++) {
          const inputs = Array.from({ length: 12 }, (_, i) => ({
            subjectId: i % 4 === 3 ? null : `P-${(i + round) % 7}`,
            fields: person(`氏${i % 3}`, `名${round}-${i}`, { resident_no: `R-${round}-${i}`, kana: `カナ${i % 2}`, birth_date: '2000-01-01' }),
          }));
          const res = await churn.records.createMany(t, 'residents', inputs, { mode: 'atomic' });
          res.created.forEach((c) => written.push({ id: c.id, fields: inputs[c.index]?.fields, resident: `R-${round}-${c.index}` }));
          const single = await churn.records.create(t, 'residents', { subjectId: `P-${round}`, fields: person('単', `${round}`, { resident_no: `S-${round}` }) });
          written.push({ id: single.id, fields: single.fields, resident: `S-${round}` });
        }
      } finally {
        await churn.close();
      }
      const reader = await freshVault();
      try {
        for (const w of written) {
          assert.deepEqual((await reader.records.get(t, 'residents', w.id)).fields, w.fields);
          assert.deepEqual((await reader.records.search(t, 'residents', { resident_no: w.resident }, { limit: 2 })).records.map((r) => r.id), [w.id]);
        }
      } finally {
        await reader.close();
      }
    });

    test('a large batch (sealed off the main thread) reads back exactly', async () => {
      const t = await residents();
      const inputs = Array.from({ length: 300 }, (_, i) => ({
        subjectId: i % 2 === 0 ? `P-${i % 40}` : null,
        fields: person(`大量${i % 5}`, `${i}`, { resident_no: `B-${i}`, household_size: (i % 50) + 1 }),
      }));
      const res = await vault.records.createMany(t, 'residents', inputs, { mode: 'atomic' });
      assert.equal(res.created.length, 300);
      assert.deepEqual(res.rejected, []);
      const reader = await freshVault();
      try {
        for (const c of res.created.filter((_c, i) => i % 17 === 0)) assert.deepEqual((await reader.records.get(t, 'residents', c.id)).fields, inputs[c.index]?.fields);
        assert.equal((await reader.records.search(t, 'residents', { family_name: '大量3' }, { limit: 1000 })).records.length, 60);
        let n = 0;
        for await (const r of reader.records.scan(t, 'residents', 64)) {
          assert.match(r.id, UUID_PATTERN);
          n++;
        }
        assert.equal(n, 300);
      } finally {
        await reader.close();
      }
    });
  });
}
