import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SCHEMA_TEMPLATES } from '../../src/schema/index.js';
import { atena, syntheticMyNumber, wrongLastDigit } from '../helpers/japanese-ids.js';
import type { Vault } from '../../src/vault/index.js';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { rejectsWithCode } from '../helpers/errors.js';

const resident = (over: Record<string, unknown> = {}) => ({
  atena_number: atena(100001),
  household_number: atena(500001),
  resident_type: '日本人',
  status: '住民',
  name: '髙橋　𠮷郎',
  name_kana: 'タカハシ　ヨシロウ',
  birth_date: '昭和６０年４月１２日',
  sex: '男',
  relationship: '世帯主',
  local_gov_code: '999997',
  address: '架空県架空市本町１－２－３',
  katagaki: 'コーポ葛󠄀飾101号室',
  ...over,
});

for (const backend of BACKENDS) {
  describe(`Japanese resident records (${backend})`, () => {
    let tv: TempVault | undefined;
    let vault: Vault;
    const T = `jp-${randomBytes(3).toString('hex')}`;

    before(async () => {
      tv = await createTempVault(backend);
      vault = tv.vault;
      await vault.tenants.create(T, '架空市');
      await vault.collections.create(T, 'juminhyo', SCHEMA_TEMPLATES.juminhyo.schema);
    });
    after(async () => {
      await tv?.cleanup();
    });

    test('MJ+ names and addresses come back byte for byte; 和暦 dates in canonical form', async () => {
      const my = syntheticMyNumber();
      const created = await vault.records.create(T, 'juminhyo', { subjectId: 'p-mj', fields: resident({ my_number: `${my.slice(0, 4)}-${my.slice(4, 8)}-${my.slice(8)}` }) });
      const got = await vault.records.get(T, 'juminhyo', created.id);
      assert.deepEqual(Buffer.from(got.fields.name as string), Buffer.from('髙橋　𠮷郎'));
      assert.deepEqual(Buffer.from(got.fields.katagaki as string), Buffer.from('コーポ葛󠄀飾101号室'));
      assert.equal(got.fields.birth_date, '昭和60年4月12日');
      assert.equal(got.fields.my_number, my, 'stored as 12 ASCII digits');
    });

    test('a name typed with other widths, spaces, kana or old/new kanji finds the record', async () => {
      const r = await vault.records.create(T, 'juminhyo', {
        subjectId: 'p-search',
        fields: resident({ atena_number: atena(100101), name: '山﨑　花子', name_kana: 'ﾔﾏｻﾞｷ ﾊﾅｺ', address: '架空県架空市栄町３ー４ー５' }),
      });
      const find = async (where: Record<string, unknown>) => (await vault.records.search(T, 'juminhyo', where, { limit: 10 })).records.map((x) => x.id);
      for (const name of ['山﨑　花子', '山崎花子', '山崎 花子', ' 山﨑\u3000 花子 ']) assert.deepEqual(await find({ name }), [r.id], 'name');
      for (const name_kana of ['やまざき　はなこ', 'ヤマザキハナコ', 'ﾔﾏｻﾞｷﾊﾅｺ']) assert.deepEqual(await find({ name_kana }), [r.id], 'reading');
      for (const address of ['架空県架空市栄町3-4-5', '架空県架空市栄町３－４－５', '架空県架空市栄町3‐4‐5']) assert.deepEqual(await find({ address }), [r.id], 'address');
      assert.deepEqual(await find({ name: '山崎花代' }), []);
      assert.deepEqual(await find({ name_kana: 'やまさき　はなこ' }), [], 'voiced and unvoiced kana stay distinct');
      assert.equal((await vault.records.get(T, 'juminhyo', r.id)).fields.name_kana, 'ヤマザキ ハナコ', 'half-width reading stored widened');
    });

    test('bad Japanese values are refused with the field and reason, never the value, and nothing is written', async () => {
      const my = syntheticMyNumber();
      const wrongCheck = wrongLastDigit(my);
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ my_number: `${my}0` }, 'my_number:wrong_length'],
        [{ my_number: wrongCheck }, 'my_number:check_digit_mismatch'],
        [{ atena_number: wrongLastDigit(atena(100201)) }, 'atena_number:check_digit_mismatch'],
        [{ birth_date: '昭和65年1月1日' }, 'birth_date:era_year_out_of_range'],
        [{ birth_date: 'きのう' }, 'birth_date:not_a_date'],
        [{ name: '\uD842田' }, 'name:not_well_formed_unicode'],
        [{ name_kana: '山田' }, 'name_kana:not_kana'],
        [{ local_gov_code: '999990' }, 'local_gov_code:check_digit_mismatch'],
      ];
      const before = (await vault.records.search(T, 'juminhyo', { household_number: atena(500001) }, { limit: 100 })).records.length;
      for (const [over, reason] of cases) {
        const err = await rejectsWithCode(() => vault.records.create(T, 'juminhyo', { fields: resident({ atena_number: atena(100201), ...over }) }), 'RECORD_INVALID');
        assert.deepEqual(err.details.map((d) => `${d.field}:${d.reason}`), [reason]);
        for (const v of Object.values(over)) assert.ok(!JSON.stringify(err).includes(String(v)), 'the value is not echoed');
      }
      assert.equal((await vault.records.search(T, 'juminhyo', { household_number: atena(500001) }, { limit: 100 })).records.length, before);
    });

    test('impossible and uncertain dates the standard requires are accepted as written', async () => {
      for (const [i, [input, stored]] of ([
        ['平成31年2月29日', '平成31年2月29日'],
        ['明治45年7月30日', '明治45年7月30日'],
        ['年月日不詳', '年月日不詳'],
        ['推定昭和40年3月', '推定昭和40年3月'],
        ['令和５年頃', '令和5年頃'],
      ] as const).entries()) {
        const r = await vault.records.create(T, 'juminhyo', { fields: resident({ atena_number: atena(100300 + i * 3), birth_date: input }) });
        assert.equal((await vault.records.get(T, 'juminhyo', r.id)).fields.birth_date, stored);
      }
    });
  });
}
