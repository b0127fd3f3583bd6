/**
 * Key rotation below the root and of the root itself (src/vault/key-admin.ts, src/keys/keyring.ts
 * "Rotation"): every step keeps every record readable — in this vault and in a fresh one with an
 * empty key cache — old versions are destroyed only once nothing uses them, a record is never
 * readable under the wrong key, jobs resume, and a process whose key cache predates another
 * process's rotation never writes what no key can open.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKeyFile, openKeyFileProvider } from '../../src/keys/index.js';
import { decodeLogEntry, type LogEntry } from '../../src/ledger/index.js';
import type { KeyJobRow, Store } from '../../src/store/index.js';
import { decryptRecord, localAudit, openVault, type Vault } from '../../src/vault/index.js';
import { rejectsWithCode, rejectsWithDecryptionFailure } from '../helpers/errors.js';
import { assertAllReadable, assertFreshVaultReads, fieldsOf, openOther, ROTATION_SCHEMA, writeRecords, type Expected } from '../helpers/key-rotation.js';
import { openRawDb } from '../helpers/raw-db.js';
import { BACKENDS, createTempVault, type Backend, type TempVault } from '../helpers/temp-vault.js';

const T = 'rot-town';
const C = 'residents';
const audit = localAudit();

async function withVault(backend: Backend, fn: (tv: TempVault) => Promise<void>): Promise<void> {
  const tv = await createTempVault(backend);
  try {
    await tv.vault.tenants.create(T, 'Rotation Town');
    await tv.vault.collections.create(T, C, ROTATION_SCHEMA);
    await fn(tv);
  } finally {
    await tv.cleanup();
  }
}

async function collectionId(vault: Vault, name = C): Promise<string> {
  return (await vault.collections.get(T, name)).id;
}

/** Versions (ascending) of a scope's key rows, with the tenant key version wrapping each. */
async function keyVersions(store: Store, kind: 'tenant' | 'collection' | 'subject', scopeId: string): Promise<Array<[number, number]>> {
  return (await store.listWrappedKeys({ tenantId: T, kind, scopeId })).map((r) => [r.version, r.wrappedBy]);
}

async function recordKeyVersions(store: Store, cid: string): Promise<Record<string, number>> {
  return Object.fromEntries((await store.countRecordsByKeyVersion(cid)).collection);
}

async function logEntries(vault: Vault, tenant = T): Promise<LogEntry[]> {
  const integration = await vault.accessLog.integrate(tenant);
  const entries = (await vault.store.getLogEntries(tenant, 0, 1_000_000)).map((b) => decodeLogEntry(b));
  assert.equal(entries.length, integration.size, 'every integrated entry is stored');
  return entries;
}

for (const backend of BACKENDS) {
  describe(`key rotation (${backend})`, () => {
    test('tenant key: new keys wrapped by v2 at once; rewrap moves every row; v1 retired only after it; a fresh vault reads everything', async () => {
      await withVault(backend, async ({ vault, store, location }) => {
        const expected: Expected = new Map();
        // 20 collection-keyed records and 20 under 15 subjects.
        await writeRecords(vault, T, C, 'old', 40, (i) => (i % 2 === 0 ? null : `old-${i % 15}`), expected);
        const before = await vault.keys.status(T);
        assert.equal(before.tenantKey.current, 1);
        // collection + index + log key + 15 subject keys
        assert.deepEqual(before.tenantKey.versions, [{ version: 1, wraps: 18 }]);
        const oldSubjectRow = (await store.listWrappedKeys({ tenantId: T, kind: 'subject', scopeId: 'old-1' }))[0];
        assert.ok(oldSubjectRow);

        assert.equal(await vault.keys.rotateTenant(T, audit), 2);
        assert.deepEqual(await keyVersions(store, 'tenant', T), [
          [1, 0],
          [2, 0],
        ]);
        // New subjects written after the rotation get keys wrapped by v2 straight away.
        await writeRecords(vault, T, C, 'new', 10, (i) => (i % 2 === 0 ? `new-${i}` : null), expected);
        for (let i = 0; i < 10; i += 2) assert.deepEqual(await keyVersions(store, 'subject', `new-${i}`), [[1, 2]], `new-${i} wrapped by v2`);
        // Existing rows are untouched until rewrap.
        assert.deepEqual(await keyVersions(store, 'subject', 'old-1'), [[1, 1]]);
        assert.deepEqual((await vault.keys.status(T)).tenantKey.versions, [
          { version: 1, wraps: 18 },
          { version: 2, wraps: 5 },
        ]);
        await assertAllReadable(vault, T, C, expected, 'mixed wrappers:');
        await assertFreshVaultReads(location, T, C, expected, 'mixed wrappers, fresh vault:');

        // v1 still wraps 18 rows: retiring it is refused and deletes nothing.
        await rejectsWithCode(() => vault.keys.retire(T, { version: 1 }, audit), 'KEY_ROTATION_INVALID');
        assert.deepEqual(await keyVersions(store, 'tenant', T), [
          [1, 0],
          [2, 0],
        ]);
        assert.deepEqual((await vault.keys.status(T)).tenantKey.versions, [
          { version: 1, wraps: 18 },
          { version: 2, wraps: 5 },
        ]);
        // The newest version can never be retired.
        await rejectsWithCode(() => vault.keys.retire(T, { version: 2 }, audit), 'KEY_ROTATION_INVALID');

        const progress: KeyJobRow[] = [];
        const job = await vault.keys.rewrap(T, audit, { batch: 7, onProgress: (j) => progress.push(j) });
        assert.equal(job.state, 'done');
        assert.equal(job.done, 18);
        assert.equal(job.total, 18);
        assert.deepEqual(
          progress.map((p) => p.done),
          [7, 14, 18, 18],
        );
        assert.deepEqual((await vault.keys.status(T)).tenantKey.versions, [
          { version: 1, wraps: 0 },
          { version: 2, wraps: 23 },
        ]);
        const rows = await store.listWrappedKeys({ tenantId: T });
        assert.ok(rows.filter((r) => r.kind !== 'tenant').every((r) => r.wrappedBy === 2), 'every key row is wrapped by v2');
        const rewrapped = (await store.listWrappedKeys({ tenantId: T, kind: 'subject', scopeId: 'old-1' }))[0];
        assert.equal(rewrapped?.version, 1, 'rewrapping keeps the data key version');
        assert.ok(!rewrapped.wrapped.equals(oldSubjectRow.wrapped), 'the wrapped bytes changed');

        await vault.keys.retire(T, { version: 1 }, audit);
        assert.deepEqual(await keyVersions(store, 'tenant', T), [[2, 0]]);
        await rejectsWithCode(() => vault.keys.retire(T, { version: 1 }, audit), 'KEY_ROTATION_INVALID');
        await assertAllReadable(vault, T, C, expected, 'after retire:');

        // A new process (empty cache) reads, searches, writes and integrates the log (log key rewrapped too).
        const fresh = await openOther(location);
        try {
          await assertAllReadable(fresh.vault, T, C, expected, 'fresh vault after retire:');
          const hits = await fresh.vault.records.search(T, C, { family_name: 'F-old-3' }, { limit: 100 });
          assert.equal(hits.records.length, [...expected.values()].filter((e) => e.fields.family_name === 'F-old-3').length);
          assert.ok(hits.records.length > 0);
          const later = await fresh.vault.records.create(T, C, { subjectId: 'later', fields: fieldsOf('later', 1) });
          expected.set(later.id, { subjectId: 'later', fields: fieldsOf('later', 1) });
          assert.deepEqual(await keyVersions(store, 'subject', 'later'), [[1, 2]]);
          assert.ok((await fresh.vault.accessLog.integrate(T)).size > 0);
        } finally {
          await fresh.close();
        }
        await assertFreshVaultReads(location, T, C, expected);
      });
    });

    test('collection data key: new records under v2; retire refused until reencrypt; reencrypt moves every record with progress, keeps versions; re-run is a no-op', async () => {
      await withVault(backend, async ({ vault, store, location }) => {
        const expected: Expected = new Map();
        const plain = await writeRecords(vault, T, C, 'plain', 30, () => null, expected);
        const subjectKeyed = await writeRecords(vault, T, C, 'subj', 6, (i) => `p-${i}`, expected);
        const cid = await collectionId(vault);

        assert.equal(await vault.keys.rotateCollection(T, C, audit), 2);
        const afterRotation = await vault.records.create(T, C, { fields: fieldsOf('after', 0) });
        expected.set(afterRotation.id, { subjectId: null, fields: fieldsOf('after', 0) });
        assert.equal((await store.getRecord(cid, afterRotation.id))?.keyVersion, 2, 'a record written after rotation uses v2');
        assert.deepEqual((await vault.keys.status(T)).collections, [
          {
            name: C,
            current: 2,
            versions: [
              { version: 1, records: 30 },
              { version: 2, records: 1 },
            ],
          },
        ]);

        // v1 still encrypts 30 records: refused, nothing deleted, everything readable.
        await rejectsWithCode(() => vault.keys.retire(T, { collection: C, version: 1 }, audit), 'KEY_ROTATION_INVALID');
        assert.deepEqual(
          (await keyVersions(store, 'collection', cid)).map(([v]) => v),
          [1, 2],
        );
        await assertAllReadable(vault, T, C, expected, 'before reencrypt:');
        await assertFreshVaultReads(location, T, C, expected, 'before reencrypt, fresh vault:');

        const beforeRows = new Map((await store.listRecords(cid, 1000)).map((r) => [r.id, r]));
        const progress: KeyJobRow[] = [];
        const job = await vault.keys.reencrypt(T, C, audit, { batch: 7, onProgress: (j) => progress.push(j) });
        assert.equal(job.state, 'done');
        assert.equal(job.done, 30);
        assert.equal(job.total, 30);
        assert.ok(progress.length >= 5, `one progress report a batch: ${progress.length}`);
        for (let i = 1; i < progress.length; i++) {
          assert.ok((progress[i] as KeyJobRow).done >= (progress[i - 1] as KeyJobRow).done, 'progress never goes back');
        }
        assert.ok(progress.every((p) => p.total === 30 && p.done <= 30));
        assert.ok(progress.slice(0, -1).every((p) => p.state === 'running'));
        assert.equal(progress.at(-1)?.state, 'done');
        assert.equal(progress.at(-1)?.done, 30);
        assert.deepEqual(await store.getKeyJob(job.id), job, 'the job row says what was returned');

        const afterRows = new Map((await store.listRecords(cid, 1000)).map((r) => [r.id, r]));
        for (const id of plain) {
          const b = beforeRows.get(id);
          const a = afterRows.get(id);
          assert.ok(a && b);
          assert.equal(b.keyVersion, 1);
          assert.equal(a.keyVersion, 2, 'moved to v2');
          assert.equal(a.version, b.version, 're-encryption does not change the record version');
          assert.equal(a.updatedAt, b.updatedAt);
          assert.ok(!a.ciphertext.equals(b.ciphertext), 'new ciphertext');
        }
        for (const id of [...subjectKeyed, afterRotation.id]) {
          assert.ok(afterRows.get(id)?.ciphertext.equals(beforeRows.get(id)?.ciphertext as Buffer), 'subject-keyed and already-v2 records are not touched');
          assert.equal(afterRows.get(id)?.keyVersion, beforeRows.get(id)?.keyVersion);
        }
        assert.deepEqual(await recordKeyVersions(store, cid), { 2: 31 });
        await assertAllReadable(vault, T, C, expected, 'after reencrypt:');

        await vault.keys.retire(T, { collection: C, version: 1 }, audit);
        assert.deepEqual(
          (await keyVersions(store, 'collection', cid)).map(([v]) => v),
          [2],
        );

        // Re-running finds nothing to do and changes nothing.
        const again = await vault.keys.reencrypt(T, C, audit, { batch: 7 });
        assert.equal(again.id, job.id);
        assert.equal(again.state, 'done');
        assert.equal(again.done, 30);
        assert.equal(again.total, 30);
        const rerunRows = await store.listRecords(cid, 1000);
        assert.equal(rerunRows.length, afterRows.size);
        for (const r of rerunRows) assert.ok(r.ciphertext.equals(afterRows.get(r.id)?.ciphertext as Buffer) && r.keyVersion === afterRows.get(r.id)?.keyVersion);

        const fresh = await openOther(location);
        try {
          await assertAllReadable(fresh.vault, T, C, expected, 'fresh vault after retire:');
          // The retired version is gone for good.
          await rejectsWithDecryptionFailure(() => fresh.vault.keyring.collectionKey(fresh.store, T, cid, 1));
        } finally {
          await fresh.close();
        }
      });
    });

    test('re-encryption really changes the ciphertext: the new one does not open under the old key, nor the old one under the new key', async () => {
      await withVault(backend, async ({ vault, store, location }) => {
        const expected: Expected = new Map();
        const [id] = await writeRecords(vault, T, C, 'ct', 5, () => null, expected);
        assert.ok(id);
        const cid = await collectionId(vault);
        const oldKey = await vault.keyring.collectionKey(store, T, cid, 1);
        assert.equal(await vault.keys.rotateCollection(T, C, audit), 2);
        const newKey = await vault.keyring.collectionKey(store, T, cid, 2);
        assert.ok(!newKey.key.equals(oldKey.key), 'a new data key');
        const before = await store.getRecord(cid, id);
        assert.ok(before);
        await vault.keys.reencrypt(T, C, audit);
        const after = await store.getRecord(cid, id);
        assert.ok(after);
        assert.ok(!after.ciphertext.equals(before.ciphertext));
        assert.equal(after.keyVersion, 2);

        const binding = { tenantId: T, collectionId: cid, recordId: id, version: after.version, subjectId: null };
        assert.deepEqual({ ...decryptRecord(newKey.key, after.ciphertext, { ...binding, keyVersion: 2 }) }, expected.get(id)?.fields);
        assert.deepEqual({ ...decryptRecord(oldKey.key, before.ciphertext, { ...binding, keyVersion: 1 }) }, expected.get(id)?.fields, 'sanity: old under old');
        await rejectsWithDecryptionFailure(() => decryptRecord(oldKey.key, after.ciphertext, { ...binding, keyVersion: 2 }));
        await rejectsWithDecryptionFailure(() => decryptRecord(oldKey.key, after.ciphertext, { ...binding, keyVersion: 1 }));
        await rejectsWithDecryptionFailure(() => decryptRecord(newKey.key, before.ciphertext, { ...binding, keyVersion: 1 }));
        await rejectsWithDecryptionFailure(() => decryptRecord(newKey.key, before.ciphertext, { ...binding, keyVersion: 2 }));

        // A row that claims the old key version (v1 still exists: not retired) does not read through the vault.
        const raw = await openRawDb(location);
        try {
          assert.equal(await raw.run('update records set key_version = 1 where id = ?', [id]), 1);
          await rejectsWithDecryptionFailure(() => vault.records.get(T, C, id));
          const other = await openOther(location);
          try {
            await rejectsWithDecryptionFailure(() => other.vault.records.get(T, C, id));
          } finally {
            await other.close();
          }
          assert.equal(await raw.run('update records set key_version = 2 where id = ?', [id]), 1);
        } finally {
          await raw.close();
        }
        await assertAllReadable(vault, T, C, expected);
      });
    });

    test('jobs resume in-process: aborted after one batch, the job row says running with done < total; the next run finishes', async () => {
      await withVault(backend, async ({ vault, store, location }) => {
        const expected: Expected = new Map();
        await writeRecords(vault, T, C, 'res', 40, () => null, expected);
        await writeRecords(vault, T, C, 'res-s', 6, (i) => `rs-${i}`, expected);
        const cid = await collectionId(vault);
        await vault.keys.rotateCollection(T, C, audit);

        const controller = new AbortController();
        let calls = 0;
        const first = await vault.keys.reencrypt(T, C, audit, {
          batch: 5,
          signal: controller.signal,
          onProgress: () => {
            calls++;
            controller.abort();
          },
        });
        assert.equal(calls, 1);
        assert.equal(first.state, 'running');
        assert.equal(first.done, 5);
        assert.equal(first.total, 40);
        const stored = await store.getKeyJob(first.id);
        assert.equal(stored?.state, 'running');
        assert.equal(stored.done, 5);
        assert.equal(stored.total, 40);
        assert.deepEqual((await vault.keys.status(T)).jobs.map((j) => [j.id, j.state]), [[first.id, 'running']]);
        assert.deepEqual(await recordKeyVersions(store, cid), { 1: 35, 2: 5 });
        await assertFreshVaultReads(location, T, C, expected, 'half re-encrypted:');
        await rejectsWithCode(() => vault.keys.retire(T, { collection: C, version: 1 }, audit), 'KEY_ROTATION_INVALID');

        const second = await vault.keys.reencrypt(T, C, audit, { batch: 5 });
        assert.equal(second.id, first.id, 'the same job continues');
        assert.equal(second.state, 'done');
        assert.equal(second.done, 40);
        assert.equal(second.total, 40);
        assert.deepEqual(await recordKeyVersions(store, cid), { 2: 40 });
        await vault.keys.retire(T, { collection: C, version: 1 }, audit);

        // The same for rewrap: 3 collection/index/log keys + 6 subject keys.
        await vault.keys.rotateTenant(T, audit);
        const stop = new AbortController();
        const partial = await vault.keys.rewrap(T, audit, { batch: 2, signal: stop.signal, onProgress: () => stop.abort() });
        assert.equal(partial.state, 'running');
        assert.equal(partial.done, 2);
        assert.equal(partial.total, 9);
        assert.equal((await store.getKeyJob(partial.id))?.state, 'running');
        assert.deepEqual((await vault.keys.status(T)).tenantKey.versions, [
          { version: 1, wraps: 7 },
          { version: 2, wraps: 2 },
        ]);
        await assertFreshVaultReads(location, T, C, expected, 'half rewrapped:');
        const rest = await vault.keys.rewrap(T, audit, { batch: 2 });
        assert.equal(rest.id, partial.id);
        assert.equal(rest.state, 'done');
        assert.equal(rest.done, 9);
        assert.equal(rest.total, 9);
        await vault.keys.retire(T, { version: 1 }, audit);
        await assertFreshVaultReads(location, T, C, expected, 'after both jobs:');
      });
    });

    test('subject keys: rotateSubjects leaves every subject exactly one, newer key version; records re-encrypted, readable; old versions gone', async () => {
      await withVault(backend, async ({ vault, store, location }) => {
        await vault.collections.create(T, 'benefits', ROTATION_SCHEMA);
        const expected: Expected = new Map();
        const benefits: Expected = new Map();
        const subjectIds = await writeRecords(vault, T, C, 'sk', 16, (i) => `s-${i % 8}`, expected);
        const plainIds = await writeRecords(vault, T, C, 'sk-plain', 5, () => null, expected);
        await writeRecords(vault, T, 'benefits', 'ben', 4, (i) => `s-${i % 4}`, benefits);
        const cid = await collectionId(vault);
        const bid = await collectionId(vault, 'benefits');
        const before = new Map((await store.listRecords(cid, 1000)).map((r) => [r.id, r]));
        const oldKey = await vault.keyring.subjectKey(store, T, 's-0', 1);
        // Let the clock move past the keys' creation time (keys created in the job's own millisecond: see the clock-skew test).
        await sleep(5);

        const progress: KeyJobRow[] = [];
        const job = await vault.keys.rotateSubjects(T, audit, { batch: 30, onProgress: (j) => progress.push(j) });
        assert.equal(job.state, 'done');
        assert.equal(job.done, 8);
        assert.equal(job.total, 8);
        assert.ok(progress.length >= 3, 'three subjects a transaction');
        for (let s = 0; s < 8; s++) assert.deepEqual((await keyVersions(store, 'subject', `s-${s}`)).map(([v]) => v), [2], `s-${s}: one key version, v2`);
        const after = new Map((await store.listRecords(cid, 1000)).map((r) => [r.id, r]));
        for (const id of subjectIds) {
          assert.equal(after.get(id)?.keyVersion, 2);
          assert.equal(after.get(id)?.version, before.get(id)?.version);
          assert.ok(!after.get(id)?.ciphertext.equals(before.get(id)?.ciphertext as Buffer));
        }
        for (const id of plainIds) assert.ok(after.get(id)?.ciphertext.equals(before.get(id)?.ciphertext as Buffer), 'collection-keyed records untouched');
        assert.ok((await store.listRecords(bid, 1000)).every((r) => r.keyVersion === 2), 'records of the subjects in other collections too');
        await assertAllReadable(vault, T, C, expected);
        await assertAllReadable(vault, T, 'benefits', benefits);

        const fresh = await openOther(location);
        try {
          await assertAllReadable(fresh.vault, T, C, expected, 'fresh:');
          await assertAllReadable(fresh.vault, T, 'benefits', benefits, 'fresh:');
          await rejectsWithDecryptionFailure(() => fresh.vault.keyring.subjectKey(fresh.store, T, 's-0', 1));
          // The old key does not open the new ciphertext.
          const row = after.get(subjectIds[0] as string);
          assert.ok(row);
          await rejectsWithDecryptionFailure(() =>
            decryptRecord(oldKey.key, row.ciphertext, { tenantId: T, collectionId: cid, recordId: row.id, version: row.version, subjectId: row.subjectId, keyVersion: 2 }),
          );
        } finally {
          await fresh.close();
        }

        // A second rotation: still exactly one version per subject.
        await sleep(5);
        const second = await vault.keys.rotateSubjects(T, audit);
        assert.notEqual(second.id, job.id);
        assert.equal(second.done, 8);
        for (let s = 0; s < 8; s++) assert.deepEqual((await keyVersions(store, 'subject', `s-${s}`)).map(([v]) => v), [3]);
        await assertFreshVaultReads(location, T, C, expected);
        await assertFreshVaultReads(location, T, 'benefits', benefits);
      });
    });

    test('subject keys: a key created before the job by a host whose clock runs ahead is rotated too', async () => {
      await withVault(backend, async ({ vault, store, location }) => {
        // Another process (another host, on PostgreSQL) whose clock is a minute ahead writes first.
        const state = await openVault(location, { sealWorkers: 0, clock: () => new Date(Date.now() + 60_000) });
        assert.equal(state.sealed, false);
        const ahead = (state as { vault: Vault }).vault;
        const expected: Expected = new Map();
        try {
          await writeRecords(ahead, T, C, 'skew', 5, (i) => `sk-${i}`, expected);
        } finally {
          await ahead.close();
          await state.store.close();
        }
        // Then, later in real time, the rotation job starts.
        const job = await vault.keys.rotateSubjects(T, audit);
        assert.equal(job.state, 'done');
        for (let i = 0; i < 5; i++) {
          assert.deepEqual(
            (await keyVersions(store, 'subject', `sk-${i}`)).map(([v]) => v),
            [2],
            `sk-${i} was keyed before the job started, so the job must rotate it (job: done ${job.done} of ${job.total})`,
          );
        }
        await assertFreshVaultReads(location, T, C, expected);
      });
    });

    test('root key: rotateRoot re-wraps every tenant key; the old key file then leaves the vault sealed, the new one opens everything', async () => {
      await withVault(backend, async ({ vault, store, location, dir }) => {
        const T2 = 'other-town';
        await vault.tenants.create(T2, 'Other Town');
        await vault.collections.create(T2, C, ROTATION_SCHEMA);
        const expected: Expected = new Map();
        const expected2: Expected = new Map();
        await writeRecords(vault, T, C, 'root', 10, (i) => (i % 2 ? `r-${i}` : null), expected);
        await writeRecords(vault, T2, C, 'root2', 6, (i) => (i % 2 ? `r-${i}` : null), expected2);
        // T has two tenant key versions: both must be re-wrapped.
        await vault.keys.rotateTenant(T, audit);
        const oldTenantRows = await store.listWrappedKeys({ tenantId: null, kind: 'tenant' });
        assert.equal(oldTenantRows.length, 3);
        const oldId = vault.keyring.rootKeyId;
        const oldCheck = await store.getMeta('root_check');

        // Rotating to the key in use is refused.
        const same = await openKeyFileProvider(location.keyFile);
        try {
          assert.equal(same.keyId, oldId);
          await rejectsWithCode(() => vault.keys.rotateRoot(same, oldId, audit), 'KEY_ROTATION_INVALID');
        } finally {
          same.close();
        }

        const nextPath = join(dir, 'next-root.key');
        const nextId = await createKeyFile(nextPath);
        const next = await openKeyFileProvider(nextPath);
        try {
          assert.equal(next.keyId, nextId);
          assert.notEqual(nextId, oldId);
          // Naming the wrong current key fails as a whole: nothing re-wrapped, meta unchanged.
          await rejectsWithCode(() => vault.keys.rotateRoot(next, 'ffffffffffffffff', audit), 'KEY_ROTATION_INVALID');
          assert.equal(await store.getMeta('root_key_id'), oldId);
          assert.equal(await store.getMeta('root_check'), oldCheck);
          assert.deepEqual(
            (await store.listWrappedKeys({ tenantId: null, kind: 'tenant' })).map((r) => r.wrapped.toString('hex')),
            oldTenantRows.map((r) => r.wrapped.toString('hex')),
          );

          const result = await vault.keys.rotateRoot(next, oldId, audit);
          assert.deepEqual(result, { tenants: 3, rootKeyId: nextId });
        } finally {
          next.close();
        }
        assert.equal(await store.getMeta('root_key_id'), nextId);
        assert.notEqual(await store.getMeta('root_check'), oldCheck);
        const newTenantRows = await store.listWrappedKeys({ tenantId: null, kind: 'tenant' });
        assert.deepEqual(
          newTenantRows.map((r) => [r.tenantId, r.version, r.wrappedBy]),
          oldTenantRows.map((r) => [r.tenantId, r.version, r.wrappedBy]),
        );
        for (let i = 0; i < newTenantRows.length; i++) assert.ok(!newTenantRows[i]?.wrapped.equals(oldTenantRows[i]?.wrapped as Buffer), 're-wrapped');

        // The old key file no longer opens the vault.
        const old = await openVault(location);
        try {
          assert.equal(old.sealed, true);
          assert.match((old as { reason: string }).reason, new RegExp(nextId));
        } finally {
          if (!old.sealed) await old.vault.close();
          await old.store.close();
        }
        // The new one opens it and reads, writes, rotates and signs the log for both tenants.
        const moved = { ...location, keyFile: nextPath };
        const fresh = await openOther(moved);
        try {
          assert.equal(fresh.vault.keyring.rootKeyId, nextId);
          await assertAllReadable(fresh.vault, T, C, expected, 'new root, T:');
          await assertAllReadable(fresh.vault, T2, C, expected2, 'new root, T2:');
          const r = await fresh.vault.records.create(T2, C, { subjectId: 'after-root', fields: fieldsOf('after-root', 1) });
          expected2.set(r.id, { subjectId: 'after-root', fields: fieldsOf('after-root', 1) });
          assert.equal(await fresh.vault.keys.rotateTenant(T2, audit), 2);
          await fresh.vault.keys.rewrap(T2, audit);
          await fresh.vault.keys.retire(T2, { version: 1 }, audit);
          for (const t of [T, T2]) {
            const entries = await logEntries(fresh.vault, t);
            assert.equal(entries.filter((e) => e.action === 'key.rotate_root').length, 1, `${t}: one key.rotate_root entry`);
          }
          // Rotating again to the key now in use is refused.
          const current = await openKeyFileProvider(nextPath);
          try {
            await rejectsWithCode(() => fresh.vault.keys.rotateRoot(current, nextId, audit), 'KEY_ROTATION_INVALID');
          } finally {
            current.close();
          }
        } finally {
          await fresh.close();
        }
        await assertFreshVaultReads(moved, T2, C, expected2, 'new root after T2 rotation:');
        await assertFreshVaultReads(moved, T, C, expected, 'new root, T again:');
      });
    });

    test('stale collection key cache: a writer that cached v1 before another process reencrypted and retired it re-seals under v2', async () => {
      await withVault(backend, async ({ vault: a, store, location }) => {
        const cid = await collectionId(a);
        const expected: Expected = new Map();
        const first = await a.records.create(T, C, { fields: fieldsOf('stale', 1) });
        expected.set(first.id, { subjectId: null, fields: fieldsOf('stale', 1) });
        assert.equal((await store.getRecord(cid, first.id))?.keyVersion, 1);

        const b = await openOther(location);
        try {
          assert.equal(await b.vault.keys.rotateCollection(T, C, audit), 2);
          assert.equal((await b.vault.keys.reencrypt(T, C, audit)).done, 1);
          await b.vault.keys.retire(T, { collection: C, version: 1 }, audit);
        } finally {
          await b.close();
        }

        // A still holds v1 as the newest collection key; its writes must land under v2.
        const second = await a.records.create(T, C, { fields: fieldsOf('stale', 2) });
        expected.set(second.id, { subjectId: null, fields: fieldsOf('stale', 2) });
        assert.equal((await store.getRecord(cid, second.id))?.keyVersion, 2);
        const many = await a.records.createMany(T, C, [{ fields: fieldsOf('stale', 3) }, { fields: fieldsOf('stale', 4) }], { mode: 'atomic' });
        for (const c of many.created) expected.set(c.id, { subjectId: null, fields: fieldsOf('stale', 3 + c.index) });
        const updated = await a.records.update(T, C, first.id, 1, { fields: fieldsOf('stale', 5) });
        assert.equal(updated.version, 2);
        expected.set(first.id, { subjectId: null, fields: fieldsOf('stale', 5) });
        assert.deepEqual(await recordKeyVersions(store, cid), { 2: 4 });
        await assertAllReadable(a, T, C, expected, 'writer A:');
        await assertFreshVaultReads(location, T, C, expected);
      });
    });

    test('stale tenant key cache: a writer that cached tenant v1 before another process retired it wraps new subject keys under v2', async () => {
      await withVault(backend, async ({ vault: a, store, location }) => {
        const expected: Expected = new Map();
        await writeRecords(a, T, C, 'ten', 2, (i) => `t-${i}`, expected);

        const b = await openOther(location);
        try {
          await b.vault.keys.rotateTenant(T, audit);
          await b.vault.keys.rewrap(T, audit);
          await b.vault.keys.retire(T, { version: 1 }, audit);
        } finally {
          await b.close();
        }

        // A's cached tenant v1 would wrap the new subject key; the key check makes it re-seal under v2.
        const r = await a.records.create(T, C, { subjectId: 't-new', fields: fieldsOf('ten', 10) });
        expected.set(r.id, { subjectId: 't-new', fields: fieldsOf('ten', 10) });
        assert.deepEqual(await keyVersions(store, 'subject', 't-new'), [[1, 2]]);
        await writeRecords(a, T, C, 'ten-b', 20, (i) => (i % 2 ? `tb-${i}` : `t-${i % 2}`), expected);
        const rows = await store.listWrappedKeys({ tenantId: T, kind: 'subject' });
        assert.ok(rows.every((k) => k.wrappedBy === 2), 'every subject key is wrapped by the live tenant key');
        await assertAllReadable(a, T, C, expected, 'writer A:');
        await assertFreshVaultReads(location, T, C, expected);
      });
    });

    test('stale tenant key cache: data keys created by a process that has not seen the tenant key retirement stay readable', async () => {
      await withVault(backend, async ({ vault: a, store, location }) => {
        const expected: Expected = new Map();
        await writeRecords(a, T, C, 'dk', 2, (i) => `d-${i}`, expected); // A caches tenant v1 as the newest

        // Another process (the CLI: `keys rotate --tenant`, `keys rewrap`, `keys retire --version 1`).
        const b = await openOther(location);
        try {
          await b.vault.keys.rotateTenant(T, audit);
          await b.vault.keys.rewrap(T, audit);
          await b.vault.keys.retire(T, { version: 1 }, audit);
        } finally {
          await b.close();
        }

        // A (a long-running server) then rotates a collection key, creates a collection…
        assert.equal(await a.keys.rotateCollection(T, C, audit), 2);
        const r = await a.records.create(T, C, { fields: fieldsOf('dk', 10) });
        expected.set(r.id, { subjectId: null, fields: fieldsOf('dk', 10) });
        await a.collections.create(T, 'later', ROTATION_SCHEMA);
        const laterExpected: Expected = new Map();
        await writeRecords(a, T, 'later', 'later', 3, () => null, laterExpected);
        // …and rotates every subject key (which destroys the subjects' old, live key versions).
        await sleep(5);
        assert.equal((await a.keys.rotateSubjects(T, audit)).done, 2);

        const live = new Set((await store.listWrappedKeys({ tenantId: T, kind: 'tenant' })).map((k) => k.version));
        const orphans = (await store.listWrappedKeys({ tenantId: T }))
          .filter((k) => k.kind !== 'tenant' && !live.has(k.wrappedBy))
          .map((k) => `${k.kind}/${k.scopeId === T ? 'tenant' : k.scopeId}/v${k.version} wrapped by retired tenant v${k.wrappedBy}`);
        for (const [name, want] of [
          [C, expected],
          ['later', laterExpected],
        ] as const) {
          try {
            await assertFreshVaultReads(location, T, name, want, `fresh vault, ${name}:`);
          } catch (e) {
            assert.fail(`a fresh vault cannot read collection ${name}: ${(e as Error).message}; key rows wrapped by a retired tenant key: ${orphans.join(', ')}`);
          }
        }
        assert.deepEqual(orphans, [], 'no key row may be wrapped by a retired tenant key version');
      });
    });

    test('stale tenant key cache: rewrap run by a process that cached the old tenant key still moves every row', async () => {
      await withVault(backend, async ({ vault: a, location }) => {
        const expected: Expected = new Map();
        await writeRecords(a, T, C, 'rw', 4, (i) => `w-${i}`, expected); // A caches tenant v1 as the newest
        const b = await openOther(location);
        try {
          assert.equal(await b.vault.keys.rotateTenant(T, audit), 2);
        } finally {
          await b.close();
        }
        const job = await a.keys.rewrap(T, audit);
        assert.equal(job.state, 'done');
        assert.equal(job.total, 7);
        assert.equal(job.done, job.total, `a job that says done moved every row (done ${job.done} of ${job.total})`);
        assert.deepEqual((await a.keys.status(T)).tenantKey.versions, [
          { version: 1, wraps: 0 },
          { version: 2, wraps: 7 },
        ]);
        await a.keys.retire(T, { version: 1 }, audit);
        await assertFreshVaultReads(location, T, C, expected);
      });
    });

    test('every rotation step is an access-log entry (failed steps are not)', async () => {
      await withVault(backend, async ({ vault, location }) => {
        const expected: Expected = new Map();
        const plain = await writeRecords(vault, T, C, 'log', 12, () => null, expected);
        await writeRecords(vault, T, C, 'log-s', 4, (i) => `l-${i}`, expected);
        const op = localAudit();

        await vault.keys.rotateTenant(T, op);
        await rejectsWithCode(() => vault.keys.retire(T, { version: 1 }, op), 'KEY_ROTATION_INVALID');
        await vault.keys.rewrap(T, op, { batch: 3 });
        await vault.keys.retire(T, { version: 1 }, op);
        await vault.keys.rotateCollection(T, C, op);
        await rejectsWithCode(() => vault.keys.retire(T, { collection: C, version: 1 }, op), 'KEY_ROTATION_INVALID');
        await vault.keys.reencrypt(T, C, op, { batch: 5 });
        await vault.keys.retire(T, { collection: C, version: 1 }, op);
        await sleep(5);
        await vault.keys.rotateSubjects(T, op);

        const entries = (await logEntries(vault)).filter((e) => e.action.startsWith('key.'));
        const of = (action: string) => entries.filter((e) => e.action === action);
        assert.ok(entries.every((e) => e.principal.id === 'local-operator' && e.requestId === op.requestId && e.outcome === 'ok'));
        assert.equal(of('key.rotate_tenant').length, 1);
        assert.ok(of('key.rewrap').length >= 3, 'one key.rewrap entry a batch (7 rows, batches of 3)');
        assert.deepEqual(
          of('key.retire').map((e) => e.collection),
          [null, C],
          'two retirements; the refused ones left no entry',
        );
        assert.deepEqual(
          of('key.rotate_data').map((e) => e.collection),
          [C, null],
          'the collection rotation, then the subject rotation',
        );
        const reencrypted = of('key.reencrypt');
        const byCollection = reencrypted.filter((e) => e.collection === C);
        assert.equal(byCollection.length, 3, 'batches of 5 over 12 records');
        assert.deepEqual(byCollection.flatMap((e) => e.records).sort(), [...plain].sort(), 'each re-encrypted record named');
        const bySubject = reencrypted.filter((e) => e.collection === null);
        assert.deepEqual(bySubject.flatMap((e) => e.subjects).sort(), ['l-0', 'l-1', 'l-2', 'l-3']);
        assert.equal(bySubject.flatMap((e) => e.records).length, 4);
        // The order of steps is the order of entries.
        const order = entries.map((e) => e.action).filter((a, i, all) => a !== all[i - 1]);
        assert.deepEqual(order, ['key.rotate_tenant', 'key.rewrap', 'key.retire', 'key.rotate_data', 'key.reencrypt', 'key.retire', 'key.rotate_data', 'key.reencrypt']);
        await assertFreshVaultReads(location, T, C, expected);
      });
    });
  });
}
