/**
 * Erasing a person (crypto-shredding, src/vault/erasure.ts) on both backends: what the receipt
 * counts, what is gone afterwards (records, blind-index entries, unique values, key rows), that the
 * receipt verifies with the ledger's pure functions alone, that ciphertext kept in a data backup can
 * no longer be opened, and that a second vault instance holding the subject's key in its cache
 * cannot write records under the destroyed key.
 */
import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProofError, VerifyError, decodeLogEntry } from '../../src/ledger/index.js';
import type { KeyStoreOps } from '../../src/keys/index.js';
import type { RecordRow } from '../../src/store/index.js';
import { localAudit, openVault, type ErasureReceipt, type Vault, type VaultState } from '../../src/vault/index.js';
import { BACKENDS, createTempVault, RESIDENT_SCHEMA, type TempVault } from '../helpers/temp-vault.js';
import { openRawDb } from '../helpers/raw-db.js';
import { rejectsWithCode, rejectsWithDecryptionFailure } from '../helpers/errors.js';
import { once } from '../helpers/once.js';
import { verifyErasureReceipt } from '../helpers/erasure-receipt.js';
import { isTombstone } from '../../src/keys/index.js';

const T = 'erase-town';
const BENEFITS_SCHEMA = {
  fields: [
    { name: 'program', type: 'string', required: true, searchable: true },
    { name: 'note', type: 'string' },
  ],
} as const;

/** Values the erased person's records hold: none may appear in the log entry or survive anywhere readable. */
const VALUES = { family: '消去山', given: '花子', residentNo: 'R-ERASE-0001', program: '児童手当', note: '秘密のメモ' };

/** A key store that fails on any access: what a keyring answers with it came from its cache alone. */
const NO_STORE = new Proxy({} as KeyStoreOps, {
  get(_t, prop) {
    if (prop === 'onCommit' || prop === 'then') return undefined;
    return () => {
      throw new Error(`the key store was asked (${String(prop)}): the key is not cached`);
    };
  },
});

async function openSecond(tv: TempVault): Promise<{ vault: Vault; close(): Promise<void> }> {
  const state: VaultState = await openVault(tv.location, { sealWorkers: 0 });
  assert.equal(state.sealed, false, state.sealed ? state.reason : '');
  const vault = (state as { vault: Vault }).vault;
  return {
    vault,
    async close() {
      await vault.close();
      await state.store.close();
    },
  };
}

for (const backend of BACKENDS) {
  describe(`subject erasure (${backend})`, () => {
    let tv: TempVault | undefined;
    const setup = once(async () => {
      tv = await createTempVault(backend);
      await tv.vault.tenants.create(T, 'Erase Town');
      await tv.vault.collections.create(T, 'residents', RESIDENT_SCHEMA);
      await tv.vault.collections.create(T, 'benefits', BENEFITS_SCHEMA);
      await tv.vault.tenants.create('erase-other', 'Other Town');
      await tv.vault.collections.create('erase-other', 'residents', RESIDENT_SCHEMA);
      return tv;
    });
    beforeEach(async () => {
      await setup();
    });
    after(async () => {
      await tv?.cleanup();
    });

    /** The person's three records in two collections, one with a unique + searchable value; plus a neighbour and a subject-less record. */
    async function seedPerson(subject: string, residentNo: string) {
      const v = (tv as TempVault).vault;
      const resident = await v.records.create(T, 'residents', { subjectId: subject, fields: { family_name: VALUES.family, given_name: VALUES.given, resident_no: residentNo, income: '1234.5' } });
      const b1 = await v.records.create(T, 'benefits', { subjectId: subject, fields: { program: VALUES.program, note: VALUES.note } });
      const b2 = await v.records.create(T, 'benefits', { subjectId: subject, fields: { program: '障害者手当' } });
      return { resident, b1, b2, ids: [resident.id, b1.id, b2.id].sort() };
    }

    test('erasure destroys the key, removes records and index entries, frees the unique value, and leaves everyone else readable', async () => {
      const { vault, store, location } = tv as TempVault;
      const person = await seedPerson('P-100', VALUES.residentNo);
      const neighbour = await vault.records.create(T, 'residents', { subjectId: 'P-101', fields: { family_name: VALUES.family, given_name: '次郎', resident_no: 'R-ERASE-0002' } });
      const anonymous = await vault.records.create(T, 'benefits', { fields: { program: VALUES.program } });
      const elsewhere = await vault.records.create('erase-other', 'residents', { subjectId: 'P-100', fields: { family_name: VALUES.family, given_name: VALUES.given } });
      assert.equal((await store.listWrappedKeys({ tenantId: T, kind: 'subject', scopeId: 'P-100' })).length, 1);
      const raw = await openRawDb(location);
      try {
        const indexRows = async (ids: readonly string[]) =>
          Number((await raw.all(`select count(*) as n from blind_index where record_id in (${ids.map(() => '?').join(',')})`, ids))[0]?.n);
        assert.ok((await indexRows(person.ids)) >= 4, 'the person had blind-index entries');

        const receipt = await vault.erasure.erase(T, 'P-100', localAudit());
        assert.equal(receipt.tenant, T);
        assert.equal(receipt.subject, 'P-100');
        assert.equal(receipt.keysDestroyed, 1);
        assert.equal(receipt.recordsRemoved, 3);
        assert.ok(!Number.isNaN(Date.parse(receipt.erasedAt)));

        for (const [c, id] of [['residents', person.resident.id], ['benefits', person.b1.id], ['benefits', person.b2.id]] as const) {
          await rejectsWithCode(() => vault.records.get(T, c, id), 'RECORD_NOT_FOUND');
        }
        assert.equal(await indexRows(person.ids), 0, 'no blind-index entry of an erased record is left');
        const left = await store.listWrappedKeys({ tenantId: T, kind: 'subject', scopeId: 'P-100' });
        assert.deepEqual(left.filter((k) => !isTombstone(k)), [], 'every key version of the subject is gone');
        assert.deepEqual(left.map((k) => [k.version, k.wrapped.length]), [[2, 0]], 'only the erasure tombstone, above the destroyed version, is left');
        assert.deepEqual(await store.listSubjectRecords(T, 'P-100'), []);

        assert.deepEqual((await vault.records.search(T, 'residents', { resident_no: VALUES.residentNo }, { limit: 10 })).records, []);
        const byName = await vault.records.search(T, 'residents', { family_name: VALUES.family }, { limit: 10 });
        assert.deepEqual(byName.records.map((r) => r.id), [neighbour.id], 'a search on a shared value finds only the neighbour');
        assert.deepEqual((await vault.records.search(T, 'benefits', { program: VALUES.program }, { limit: 10 })).records.map((r) => r.id), [anonymous.id]);

        // The unique value is free again: another person may have it.
        const reuse = await vault.records.create(T, 'residents', { subjectId: 'P-102', fields: { family_name: '別人', given_name: '一郎', resident_no: VALUES.residentNo } });
        assert.deepEqual((await vault.records.search(T, 'residents', { resident_no: VALUES.residentNo }, { limit: 10 })).records.map((r) => r.id), [reuse.id]);

        // Everyone else still reads — in this vault and in one with empty caches.
        const fresh = await openSecond(tv as TempVault);
        try {
          for (const v of [vault, fresh.vault]) {
            assert.equal((await v.records.get(T, 'residents', neighbour.id)).fields.given_name, '次郎');
            assert.equal((await v.records.get(T, 'benefits', anonymous.id)).fields.program, VALUES.program);
            assert.equal((await v.records.get('erase-other', 'residents', elsewhere.id)).fields.given_name, VALUES.given, 'the same subject id in another tenant is another person');
          }
        } finally {
          await fresh.close();
        }
        assert.equal((await store.listWrappedKeys({ tenantId: 'erase-other', kind: 'subject', scopeId: 'P-100' })).length, 1);
      } finally {
        await raw.close();
      }
    });

    test('the receipt verifies on its own: signed checkpoint, inclusion proof, and an entry that names the subject and records but no value', async () => {
      const { vault } = tv as TempVault;
      const person = await seedPerson('P-200', 'R-ERASE-0200');
      const audit = localAudit();
      const receipt: ErasureReceipt = await vault.erasure.erase(T, 'P-200', audit);
      const { entry, checkpoint, entryText } = verifyErasureReceipt(receipt);

      // The receipt's key is the tenant's published log key, not just any key that signed it.
      assert.deepEqual(await vault.logReader.verifierKey(T), { origin: receipt.log.origin, verifierKey: receipt.log.verifierKey });
      assert.equal(checkpoint.origin, receipt.log.origin);
      assert.equal(entry.action, 'subject.erase');
      assert.equal(entry.tenant, T);
      assert.equal(entry.outcome, 'ok');
      assert.equal(entry.requestId, audit.requestId);
      assert.deepEqual(entry.subjects, ['P-200']);
      assert.deepEqual([...entry.records].sort(), person.ids);
      assert.deepEqual(entry.fields, []);
      for (const value of [VALUES.family, VALUES.given, 'R-ERASE-0200', VALUES.program, VALUES.note, '1234.5', '障害者手当']) {
        assert.ok(!entryText.includes(value) && !receipt.log.entry.includes(Buffer.from(value).toString('base64')), `the log entry carries a value: ${entryText}`);
      }
      // The stored entry at that index is the receipt's entry.
      const [row] = await vault.store.getLogEntryRange(T, receipt.log.index, receipt.log.index + 1);
      assert.equal(row?.entry.toString('base64'), receipt.log.entry);

      // And the checks are real: any changed part of the receipt fails them.
      const other = decodeLogEntry(Buffer.from(receipt.log.entry, 'base64'));
      const forged = Buffer.from(JSON.stringify({ ...other, subjects: ['P-999'] })).toString('base64');
      assert.throws(() => verifyErasureReceipt({ ...receipt, log: { ...receipt.log, entry: forged } }), ProofError);
      assert.throws(() => verifyErasureReceipt({ ...receipt, log: { ...receipt.log, index: receipt.log.index === 0 ? 1 : receipt.log.index - 1 } }), ProofError);
      const otherKey = (await vault.logReader.verifierKey('erase-other')).verifierKey;
      assert.throws(() => verifyErasureReceipt({ ...receipt, log: { ...receipt.log, verifierKey: otherKey } }), VerifyError);
      const tamperedCheckpoint = receipt.log.checkpoint.replace(`\n${receipt.log.treeSize}\n`, `\n${receipt.log.treeSize + 1}\n`);
      assert.notEqual(tamperedCheckpoint, receipt.log.checkpoint);
      assert.throws(() => verifyErasureReceipt({ ...receipt, log: { ...receipt.log, checkpoint: tamperedCheckpoint } }), VerifyError);
    });

    test('crypto-shredding holds for backups: ciphertext rows copied before the erasure and restored after it never decrypt', async () => {
      const { vault, store } = tv as TempVault;
      const person = await seedPerson('P-300', 'R-ERASE-0300');
      // The "data backup": the stored rows (ciphertext, key version, subject) — never key rows.
      const backup: RecordRow[] = await store.listSubjectRecords(T, 'P-300');
      assert.equal(backup.length, 3);
      assert.deepEqual(backup.map((r) => r.keyVersion), [1, 1, 1]);
      // Reading them caches the subject's key in this vault; the erasure must drop it.
      assert.equal((await vault.records.get(T, 'residents', person.resident.id)).fields.resident_no, 'R-ERASE-0300');

      await vault.erasure.erase(T, 'P-300', localAudit());
      // Restore the backup behind the vault's back (no index rows: the restored rows only need to be read).
      await store.insertRecords(backup, []);
      const restored = [['residents', person.resident.id], ['benefits', person.b1.id], ['benefits', person.b2.id]] as const;
      const fresh = await openSecond(tv as TempVault);
      try {
        for (const v of [vault, fresh.vault]) {
          for (const [c, id] of restored) await rejectsWithDecryptionFailure(() => v.records.get(T, c, id));
        }
        // The person comes back later: a new key is made for the same subject id; it opens none of the old rows.
        const back = await vault.records.create(T, 'benefits', { subjectId: 'P-300', fields: { program: '再登録' } });
        const keys = (await store.listWrappedKeys({ tenantId: T, kind: 'subject', scopeId: 'P-300' })).filter((k) => !isTombstone(k));
        assert.equal(keys.length, 1, 'one new key');
        assert.ok((keys[0]?.version ?? 0) > 1, 'the new key never reuses a destroyed version number');
        const fresh2 = await openSecond(tv as TempVault);
        try {
          assert.equal((await fresh2.vault.records.get(T, 'benefits', back.id)).fields.program, '再登録');
          for (const [c, id] of restored) await rejectsWithDecryptionFailure(() => fresh2.vault.records.get(T, c, id));
        } finally {
          await fresh2.close();
        }
        for (const [c, id] of restored) await rejectsWithDecryptionFailure(() => vault.records.get(T, c, id));
      } finally {
        await fresh.close();
      }
      // Clean up the restored rows so other tests' searches are not affected.
      await vault.erasure.erase(T, 'P-300', localAudit());
    });

    test('a second vault instance with the key cached: its write after another instance erased the subject lands under a NEW key', async () => {
      const { vault: a } = tv as TempVault;
      const person = await seedPerson('P-400', 'R-ERASE-0400');
      const b = await openSecond(tv as TempVault);
      try {
        // B reads the record and writes one for the person: it now holds the subject's key (and knows it as the newest).
        assert.equal((await b.vault.records.get(T, 'benefits', person.b1.id)).fields.note, VALUES.note);
        await b.vault.records.create(T, 'benefits', { subjectId: 'P-400', fields: { program: 'B の前' } });
        const cached = await b.vault.keyring.existingSubjectKeys(NO_STORE, T, ['P-400']);
        assert.equal(cached.get('P-400')?.version, 1, 'precondition: B has the key in its cache');

        const receipt = await a.erasure.erase(T, 'P-400', localAudit());
        assert.equal(receipt.recordsRemoved, 4);

        const written = await b.vault.records.create(T, 'benefits', { subjectId: 'P-400', fields: { program: 'B の後', note: '新しい' } });
        assert.equal((await b.vault.records.get(T, 'benefits', written.id)).fields.note, '新しい');
        const keys = (await a.store.listWrappedKeys({ tenantId: T, kind: 'subject', scopeId: 'P-400' })).filter((k) => !isTombstone(k));
        assert.equal(keys.length, 1, 'a new subject key exists');
        const fresh = await openSecond(tv as TempVault);
        try {
          const got = await fresh.vault.records.get(T, 'benefits', written.id);
          assert.deepEqual(got.fields, { program: 'B の後', note: '新しい' });
          assert.equal(got.subjectId, 'P-400');
        } finally {
          await fresh.close();
        }
        assert.equal((await a.records.get(T, 'benefits', written.id)).fields.program, 'B の後');
      } finally {
        await b.close();
      }
    });

    // The next two cases: after an erasure a subject's new key gets version 1 again, so "key (S, 1)"
    // names a different key than before; an instance that cached the old one must not use it.
    test('after an erasure and a NEW key for the same subject (made by another instance), a stale instance still writes readable records', async () => {
      const { vault: a } = tv as TempVault;
      await seedPerson('P-500', 'R-ERASE-0500');
      const b = await openSecond(tv as TempVault);
      try {
        await b.vault.records.create(T, 'benefits', { subjectId: 'P-500', fields: { program: 'B の前' } });
        assert.equal((await b.vault.keyring.existingSubjectKeys(NO_STORE, T, ['P-500'])).get('P-500')?.version, 1, 'precondition: B has the key in its cache');
        await a.erasure.erase(T, 'P-500', localAudit());
        // The person registers again through A: a new key for the same subject id.
        const again = await a.records.create(T, 'benefits', { subjectId: 'P-500', fields: { program: 'A で再登録' } });
        // B, whose cache still holds the destroyed key, writes for the person.
        const written = await b.vault.records.create(T, 'benefits', { subjectId: 'P-500', fields: { program: 'B の後' } });
        const fresh = await openSecond(tv as TempVault);
        try {
          assert.equal((await fresh.vault.records.get(T, 'benefits', again.id)).fields.program, 'A で再登録');
          assert.equal((await fresh.vault.records.get(T, 'benefits', written.id)).fields.program, 'B の後', "B's record must not be sealed under the destroyed key");
        } finally {
          await fresh.close();
        }
      } finally {
        await b.close();
      }
    });

    test('after an erasure and a NEW key for the same subject, an instance that had read the old records reads the new one', async () => {
      const { vault: a } = tv as TempVault;
      const person = await seedPerson('P-600', 'R-ERASE-0600');
      const b = await openSecond(tv as TempVault);
      try {
        assert.equal((await b.vault.records.get(T, 'benefits', person.b1.id)).fields.program, VALUES.program);
        await a.erasure.erase(T, 'P-600', localAudit());
        const again = await a.records.create(T, 'benefits', { subjectId: 'P-600', fields: { program: 'A で再登録' } });
        assert.equal((await b.vault.records.get(T, 'benefits', again.id)).fields.program, 'A で再登録');
      } finally {
        await b.close();
      }
    });

    test('refusals: unknown subject SUBJECT_NOT_FOUND (also a second erasure), invalid subject id REQUEST_INVALID, unknown tenant TENANT_NOT_FOUND; none writes a log entry', async () => {
      const { vault, store } = tv as TempVault;
      await vault.records.create(T, 'benefits', { subjectId: 'P-700', fields: { program: 'x' } });
      await vault.erasure.erase(T, 'P-700', localAudit());
      const pending = async () => (await store.listLogPending(T, 100_000)).length;
      const size = async () => (await store.getLogState(T))?.size;
      const before = { pending: await pending(), size: await size() };
      await rejectsWithCode(() => vault.erasure.erase(T, 'P-700', localAudit()), 'SUBJECT_NOT_FOUND');
      await rejectsWithCode(() => vault.erasure.erase(T, 'nobody-ever', localAudit()), 'SUBJECT_NOT_FOUND');
      for (const bad of ['', ' P-1', 'a b', '-leading', 'x'.repeat(129), '山田', 'P-1\n']) {
        await rejectsWithCode(() => vault.erasure.erase(T, bad, localAudit()), 'REQUEST_INVALID');
      }
      await rejectsWithCode(() => vault.erasure.erase('no-such-town', 'P-1', localAudit()), 'TENANT_NOT_FOUND');
      assert.deepEqual({ pending: await pending(), size: await size() }, before, 'a refused erasure logs nothing');
    });

    test('a subject whose records were all deleted still has a key: erasing it destroys the key (recordsRemoved 0)', async () => {
      const { vault, store } = tv as TempVault;
      const r = await vault.records.create(T, 'benefits', { subjectId: 'P-800', fields: { program: 'x' } });
      await vault.records.delete(T, 'benefits', r.id);
      const receipt = await vault.erasure.erase(T, 'P-800', localAudit());
      assert.equal(receipt.keysDestroyed, 1);
      assert.equal(receipt.recordsRemoved, 0);
      assert.deepEqual((await store.listWrappedKeys({ tenantId: T, kind: 'subject', scopeId: 'P-800' })).filter((k) => !isTombstone(k)), []);
      assert.deepEqual(verifyErasureReceipt(receipt).entry.records, []);
    });
  });
}
