/** `kuraban demo`: the fictional municipality 架空市 loaded through the vault, on both backends. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEMO_TENANT, generateResidents, type DemoPerson } from '../../src/demo/index.js';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { kuraban, summaryOf } from './harness.js';

const SEED = 'test-seed';
const N = 150;

for (const backend of BACKENDS) {
  describe(`kuraban demo (${backend})`, () => {
    let tv: TempVault;
    let people: DemoPerson[];
    before(async () => {
      tv = await createTempVault(backend);
      people = [...generateResidents({ seed: SEED, residents: N })];
    });
    after(async () => {
      await tv.cleanup();
    });

    test('loads N residents and their tax and NHI records, each collection from its template', async () => {
      const r = await kuraban(tv, ['demo', '--residents', String(N), '--seed', SEED]);
      assert.equal(r.code, 0, r.stderr);
      const s = summaryOf(r);
      assert.equal(s.tenantId, DEMO_TENANT.id);
      assert.equal(s.residents, N);
      assert.equal(s.taxRecords, people.filter((p) => p.tax).length);
      assert.equal(s.nhiRecords, people.filter((p) => p.nhi).length);
      assert.ok((s.taxRecords as number) > 0 && (s.nhiRecords as number) > 0);
      const count = async (c: string) => {
        let n = 0;
        for await (const _ of tv.vault.records.scan(DEMO_TENANT.id, c)) n++;
        return n;
      };
      assert.equal(await count('juminhyo'), N);
      assert.equal(await count('kojin_juminzei'), s.taxRecords);
      assert.equal(await count('kokuho'), s.nhiRecords);
      assert.equal((await tv.vault.tenants.get(DEMO_TENANT.id)).name, '架空市');
    });

    test('a resident is found by a name typed another way, and their records share the subject id', async () => {
      const p = people.find((x) => x.tax && x.juminhyo.resident_type === '日本人') as DemoPerson;
      const kana = String(p.juminhyo.name_kana);
      // The reading typed in half-width katakana without the space, and in hiragana.
      const halfWidth = kana.replace(/[\u3000 ]/g, '').normalize('NFKC');
      const hiragana = kana.replace(/[\u30A1-\u30F6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60));
      for (const name_kana of [halfWidth, hiragana]) {
        const found = await tv.vault.records.search(DEMO_TENANT.id, 'juminhyo', { name_kana }, { limit: 50 });
        assert.ok(found.records.some((r) => r.subjectId === p.subjectId), name_kana === halfWidth ? 'half-width' : 'hiragana');
      }
      const tax = await tv.vault.records.search(DEMO_TENANT.id, 'kojin_juminzei', { atena_number: p.juminhyo.atena_number }, { limit: 5 });
      assert.deepEqual(tax.records.map((r) => r.subjectId), [p.subjectId]);
    });

    test('the demo carries DV-protected records and MJ+ names exactly as generated', async () => {
      const dv = people.filter((p) => p.juminhyo.dv_support === true);
      assert.ok(dv.length >= 1);
      const stored = await tv.vault.records.search(DEMO_TENANT.id, 'juminhyo', { atena_number: dv[0]?.juminhyo.atena_number }, { limit: 2 });
      assert.equal(stored.records[0]?.fields.dv_support, true);
      for (const p of people.slice(0, 40)) {
        const r = await tv.vault.records.search(DEMO_TENANT.id, 'juminhyo', { atena_number: p.juminhyo.atena_number }, { limit: 2 });
        assert.deepEqual(Buffer.from(String(r.records[0]?.fields.name)), Buffer.from(String(p.juminhyo.name)));
      }
    });

    test('loading it twice, or with too few residents, is refused', async () => {
      const again = await kuraban(tv, ['demo', '--residents', '100']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /TENANT_EXISTS/);
      const few = await kuraban(tv, ['demo', '--residents', '99']);
      assert.equal(few.code, 1);
      assert.match(few.stderr, /REQUEST_INVALID/);
    });
  });
}
