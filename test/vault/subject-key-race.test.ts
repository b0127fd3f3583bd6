import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openVault, type Vault } from '../../src/vault/index.js';
import { BACKENDS, createTempVault, RESIDENT_SCHEMA } from '../helpers/temp-vault.js';

/**
 * Two writers (two vault instances over one store, as two processes would be) seal batches for the
 * same new subject before either commits. Both batches must land, under ONE subject key, and every
 * record must stay readable — the loser notices through the insert count and seals again.
 */
for (const backend of BACKENDS) {
  describe(`concurrent creation of a subject key (${backend})`, () => {
    test('the second writer re-seals with the stored key; one key, every record readable', async () => {
      const first = await createTempVault(backend);
      const state = await openVault(first.location);
      assert.equal(state.sealed, false);
      const second = (state as { vault: Vault }).vault;
      try {
        await first.vault.tenants.create('race-town', 'Race Town');
        await first.vault.collections.create('race-town', 'residents', RESIDENT_SCHEMA);
        const rec = (n: number) => ({ subjectId: 'person-42', fields: { family_name: '山田', given_name: `太郎${n}` } });
        // Enough records that a worker seals them, plus subjects only one side has.
        const a = await first.vault.records.prepareMany('race-town', 'residents', [rec(1), ...Array.from({ length: 300 }, (_v, i) => ({ subjectId: `a-${i}`, fields: { family_name: 'A', given_name: 'a' } }))], { mode: 'atomic' });
        const b = await second.records.prepareMany('race-town', 'residents', [rec(2), { subjectId: 'b-only', fields: { family_name: 'B', given_name: 'b' } }], { mode: 'atomic' });
        const ra = await first.vault.records.commitPrepared(a);
        const rb = await second.records.commitPrepared(b);
        assert.equal(ra.created.length, 301);
        assert.equal(rb.created.length, 2);
        const keys = await first.store.getLatestWrappedKeys('race-town', 'subject', ['person-42']);
        assert.equal(keys.length, 1);
        assert.equal(keys[0]?.version, 1);
        // A fresh reader (no caches) decrypts both records of person-42 and the others.
        const reader = await openVault(first.location);
        assert.equal(reader.sealed, false);
        const fresh = (reader as { vault: Vault }).vault;
        try {
          const r1 = await fresh.records.get('race-town', 'residents', ra.created[0]?.id as string);
          const r2 = await fresh.records.get('race-town', 'residents', rb.created[0]?.id as string);
          assert.equal(r1.fields.given_name, '太郎1');
          assert.equal(r2.fields.given_name, '太郎2');
          assert.equal((await fresh.records.get('race-town', 'residents', rb.created[1]?.id as string)).subjectId, 'b-only');
        } finally {
          await fresh.close();
          await reader.store.close();
        }
      } finally {
        await second.close();
        await state.store.close();
        await first.cleanup();
      }
    });
  });
}
