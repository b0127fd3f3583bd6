/** `kuraban collection create --template` and `kuraban import` of Shift_JIS CSV with 和暦 dates, half-width kana and Japanese headers. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { atena, syntheticMyNumber, wrongLastDigit } from '../helpers/japanese-ids.js';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { encodeShiftJis } from '../helpers/shift-jis.js';
import { kuraban, ndjson, summaryOf, TENANT } from './harness.js';

const myNumber = (n: number) => syntheticMyNumber(n);

const HEADER = '宛名番号,世帯番号,住民種別,住民状態,氏名,氏名フリガナ,生年月日,性別,続柄,市区町村コード,住所,個人番号';
const row = (i: number, over: Partial<Record<'atena' | 'name' | 'kana' | 'birth' | 'my', string>> = {}) =>
  [over.atena ?? atena(200000 + i), atena(700000 + i), '日本人', '住民', over.name ?? `架空　太郎${'一二三四五六七八九'[i % 9]}`, over.kana ?? 'ｶｸｳ ﾀﾛｳ', over.birth ?? 'S60.4.12', '男', '世帯主', '999997', `架空市本町${i}－１`, over.my ?? myNumber(i)].join(',');

for (const backend of BACKENDS) {
  describe(`Japanese CSV import (${backend})`, () => {
    let tv: TempVault;
    let dir: string;
    before(async () => {
      tv = await createTempVault(backend);
      await tv.vault.tenants.create(TENANT, '架空市');
      dir = mkdtempSync(join(tmpdir(), 'kuraban-import-ja-'));
    });
    after(async () => {
      await tv.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    test('collection create --template makes the 住民基本台帳 collection; a bad template name is refused', async () => {
      const r = await kuraban(tv, ['collection', 'create', '--tenant', TENANT, '--template', 'juminhyo']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(summaryOf(r).name, 'juminhyo');
      const c = await tv.vault.collections.get(TENANT, 'juminhyo');
      assert.equal(c.schema.fields.find((f) => f.name === 'my_number')?.classification, 'my-number');
      const bad = await kuraban(tv, ['collection', 'create', '--tenant', TENANT, '--template', 'koseki']);
      assert.notEqual(bad.code, 0);
      const neither = await kuraban(tv, ['collection', 'create', '--tenant', TENANT, '--name', 'x']);
      assert.equal(neither.code, 1);
      assert.match(neither.stderr, /REQUEST_INVALID/);
    });

    test('a Shift_JIS CSV with 和暦 dates, half-width kana and label headers imports; bad rows are rejected by field and reason', async () => {
      await tv.vault.collections.create(TENANT, 'sjis', (await tv.vault.collections.get(TENANT, 'juminhyo')).schema);
      const secretName = '秘密　花子';
      const lines = [
        HEADER,
        row(1),
        row(2, { birth: '昭和６０年４月１２日', name: '髙橋　一郎', kana: 'ﾀｶﾊｼ ｲﾁﾛｳ' }),
        row(3, { birth: 'H31.2.29' }),
        row(4, { atena: wrongLastDigit(atena(200004)), name: secretName }),
        row(5, { my: `${myNumber(5)}1`, name: secretName }),
        row(6, { birth: '昭和99年1月1日', name: secretName }),
        row(7, { kana: '山田', name: secretName }),
      ];
      const bytes = Buffer.concat([...lines.map((l) => Buffer.concat([encodeShiftJis(l), Buffer.from('\r\n')])), Buffer.from([0x81, 0x20, 0x2c, 0x0d, 0x0a])]);
      const file = join(dir, 'extract.csv');
      writeFileSync(file, bytes);
      const r = await kuraban(tv, ['import', '--tenant', TENANT, '--collection', 'sjis', '--encoding', 'shift_jis', file]);
      assert.equal(r.code, 0, r.stderr);
      const s = summaryOf(r);
      assert.equal(s.imported, 3);
      assert.equal(s.rejected, 5);
      const rejects = ndjson(readFileSync(`${file}.rejects.ndjson`, 'utf8'));
      assert.deepEqual(rejects, [
        { line: 5, errors: [{ field: 'atena_number', reason: 'check_digit_mismatch' }] },
        { line: 6, errors: [{ field: 'my_number', reason: 'wrong_length' }] },
        { line: 7, errors: [{ field: 'birth_date', reason: 'era_year_out_of_range' }] },
        { line: 8, errors: [{ field: 'name_kana', reason: 'not_kana' }] },
        { line: 9, errors: [{ reason: 'invalid_shift_jis' }] },
      ]);
      for (const text of [r.stdout, r.stderr, readFileSync(`${file}.rejects.ndjson`, 'utf8')]) assert.ok(!text.includes(secretName) && !text.includes('秘密'));
      const found = await tv.vault.records.search(TENANT, 'sjis', { name_kana: 'たかはし　いちろう' }, { limit: 5 });
      assert.equal(found.records.length, 1);
      assert.equal(found.records[0]?.fields.name, '髙橋　一郎', 'the name is stored as written');
      assert.equal(found.records[0]?.fields.birth_date, '昭和60年4月12日');
      assert.equal(found.records[0]?.fields.name_kana, 'タカハシ イチロウ', 'half-width kana widened');
      const byName = await tv.vault.records.search(TENANT, 'sjis', { name: '高橋一郎' }, { limit: 5 });
      assert.equal(byName.records.length, 1, 'old/new kanji and spaces fold for search');
      const impossible = await tv.vault.records.search(TENANT, 'sjis', { atena_number: atena(200003) }, { limit: 5 });
      assert.equal(impossible.records[0]?.fields.birth_date, '平成31年2月29日');
    });

    test('the same file read as UTF-8 fails before writing anything: the header is not UTF-8', async () => {
      await tv.vault.collections.create(TENANT, 'wrong_enc', (await tv.vault.collections.get(TENANT, 'juminhyo')).schema);
      const file = join(dir, 'wrong.csv');
      writeFileSync(file, Buffer.concat([encodeShiftJis(`${HEADER}\r\n${row(1)}\r\n`)]));
      const r = await kuraban(tv, ['import', '--tenant', TENANT, '--collection', 'wrong_enc', file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /IMPORT_INVALID/);
      assert.match(r.stderr, /invalid_utf8/);
      assert.equal((await tv.vault.records.search(TENANT, 'wrong_enc', { atena_number: atena(200001) }, { limit: 5 })).records.length, 0);
    });

    test('--map reads a vendor header into a field; a mapping to an unknown field fails the import', async () => {
      await tv.vault.collections.create(TENANT, 'mapped', (await tv.vault.collections.get(TENANT, 'juminhyo')).schema);
      const file = join(dir, 'vendor.csv');
      writeFileSync(file, `${HEADER.replace('氏名,', '氏名（漢字）,')}\n${row(11)}\n`);
      const r = await kuraban(tv, ['import', '--tenant', TENANT, '--collection', 'mapped', '--map', '氏名（漢字）=name', file]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(summaryOf(r).imported, 1);
      const without = await kuraban(tv, ['import', '--tenant', TENANT, '--collection', 'mapped', '--rejects', join(dir, 'x.ndjson'), '--map', '氏名（漢字）=no_such_field', file]);
      assert.equal(without.code, 1);
      assert.match(without.stderr, /unknown_mapped_field/);
    });
  });
}
