import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { localAudit, openVault, type Vault } from '../../src/vault/index.js';
import type { Sealer } from '../../src/vault/sealer.js';
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

    test('sealing ahead of the subject look-up: keys the store holds (rotated, erased) are used, never a fresh version 1', async () => {
      // W seals a load of new people ahead of its key look-up (the look-up of its last batch found none).
      // Meanwhile another writer gave some of W's next subjects keys W has never seen: one rotated to
      // version 2 (version 1 deleted), one rotated and erased (a tombstone at 3). A version-1 key for either would
      // insert without conflict, so only the look-up can catch them: W must seal that batch again.
      const other = await createTempVault(backend);
      const state = await openVault(other.location, { sealWorkers: 1 });
      assert.equal(state.sealed, false);
      const w = (state as { vault: Vault }).vault;
      const sealer = (w.records as unknown as { deps: { sealer: Sealer } }).deps.sealer;
      const seal = sealer.seal.bind(sealer);
      let sealCalls = 0;
      sealer.seal = (job) => {
        sealCalls++;
        return seal(job);
      };
      const audit = localAudit();
      const people = (prefix: string, n: number) => Array.from({ length: n }, (_v, i) => ({ subjectId: `${prefix}-${i}`, fields: { family_name: '新', given_name: `${prefix}${i}` } }));
      try {
        await other.vault.tenants.create('ahead-town', 'Ahead Town');
        await other.vault.collections.create('ahead-town', 'residents', RESIDENT_SCHEMA);
        // W's first batch: all new people (looked up first: W knows nothing yet).
        assert.equal((await w.records.createMany('ahead-town', 'residents', people('first', 300), { mode: 'atomic' })).created.length, 300);
        assert.equal(sealCalls, 1);
        // The other writer: 'rotated' gets key version 2, 'erased' version 2 and then a tombstone at 3.
        await other.vault.records.create('ahead-town', 'residents', { subjectId: 'rotated', fields: { family_name: '回', given_name: '転' } });
        await other.vault.records.create('ahead-town', 'residents', { subjectId: 'erased', fields: { family_name: '消', given_name: '去' } });
        await other.vault.keys.rotateSubjects('ahead-town', audit);
        await other.vault.erasure.erase('ahead-town', 'erased', audit);
        const versions = async (s: string) => (await other.store.listWrappedKeys({ tenantId: 'ahead-town', kind: 'subject', scopeId: s })).map((k) => k.version);
        assert.deepEqual(await versions('rotated'), [2]);
        assert.deepEqual(await versions('erased'), [3], 'rotated to 2, then erased: a tombstone at 3');
        // W's second batch: new people, and those two. Sealed ahead, then again with the stored keys.
        sealCalls = 0;
        const batch = [...people('second', 298), { subjectId: 'rotated', fields: { family_name: '回', given_name: '二' } }, { subjectId: 'erased', fields: { family_name: '消', given_name: '後' } }];
        const res = await w.records.createMany('ahead-town', 'residents', batch, { mode: 'atomic' });
        assert.equal(res.created.length, 300);
        assert.equal(sealCalls, 2, 'sealed ahead, then again once the look-up found stored keys');
        assert.deepEqual(await versions('rotated'), [2], 'no fresh version 1 beside the rotated key');
        assert.deepEqual(await versions('erased'), [3, 4], 'the erased subject\'s new key above its tombstone');
        const fresh = await openVault(other.location);
        assert.equal(fresh.sealed, false);
        const reader = (fresh as { vault: Vault }).vault;
        try {
          const rotated = await reader.records.get('ahead-town', 'residents', res.created[298]?.id as string);
          assert.deepEqual([rotated.subjectId, rotated.fields.given_name], ['rotated', '二']);
          const erased = await reader.records.get('ahead-town', 'residents', res.created[299]?.id as string);
          assert.deepEqual([erased.subjectId, erased.fields.given_name], ['erased', '後']);
          assert.equal((await reader.records.get('ahead-town', 'residents', res.created[0]?.id as string)).fields.given_name, 'second0');
        } finally {
          await reader.close();
          await fresh.store.close();
        }
        // That look-up found keys: the next batch is looked up first (one seal), and, finding none, the one after is sealed ahead (still one).
        sealCalls = 0;
        await w.records.createMany('ahead-town', 'residents', people('third', 300), { mode: 'atomic' });
        await w.records.createMany('ahead-town', 'residents', people('fourth', 300), { mode: 'atomic' });
        assert.equal(sealCalls, 2);
        assert.equal(await other.vault.records.count('ahead-town', 'residents'), 1201); // 'erased''s first record went with the erasure
      } finally {
        await w.close();
        await state.store.close();
        await other.cleanup();
      }
    });
  });
}
