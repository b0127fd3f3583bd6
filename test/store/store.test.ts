import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { openStore, type ApiKeyRow, type CollectionRow, type IndexRow, type RecordRow, type Store, type TokenRow, type WrappedKeyRow } from '../../src/store/index.js';
import { createRecordIdGenerator } from '../../src/vault/index.js';
import { BACKENDS, tempLocation, type TempLocation } from '../helpers/temp-vault.js';
import { createThrowawayDatabase } from '../helpers/postgres.js';
import { openRawDb } from '../helpers/raw-db.js';
import { rejectsWithCode } from '../helpers/errors.js';
import { once } from '../helpers/once.js';

const NOW = '2025-01-02T03:04:05.000Z';
const newId = createRecordIdGenerator();
let seq = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++seq}-${randomBytes(3).toString('hex')}`;
/**
 * Stand-in for a blind index: like the real HMAC under a per-(collection, field) key, a digest
 * depends on collection, field and value, so equal values in different fields never share one.
 */
const digest = (s: string, field: string, collectionId: string) => createHash('sha256').update(`${collectionId}\0${field}\0${s}`).digest().subarray(0, 16);
const term = (collectionId: string, field: string, value: string) => ({ field, digest: digest(value, field, collectionId) });

function recordRow(collectionId: string, tenantId: string, over: Partial<RecordRow> = {}): RecordRow {
  return {
    collectionId,
    id: newId(),
    tenantId,
    subjectId: null,
    version: 1,
    keyVersion: 1,
    ciphertext: randomBytes(45),
    createdAt: NOW,
    updatedAt: NOW,
    ...over,
  };
}
const indexRow = (r: RecordRow, field: string, value: string, isUnique = false): IndexRow => ({
  collectionId: r.collectionId,
  field,
  digest: digest(value, field, r.collectionId),
  recordId: r.id,
  unique: isUnique,
});
const keyRow = (tenantId: string, kind: WrappedKeyRow['kind'], scopeId: string, version = 1): WrappedKeyRow => ({
  tenantId,
  kind,
  scopeId,
  version,
  wrapped: randomBytes(61),
  createdAt: NOW,
  wrappedBy: kind === 'tenant' ? 0 : 1,
});

for (const backend of BACKENDS) {
  describe(`store (${backend})`, () => {
    let loc: TempLocation | undefined;
    let store: Store;

    beforeEach(once(async () => {
      loc = await tempLocation(backend);
      store = openStore(loc.location);
      await store.migrate();
    }));
    after(async () => {
      await store?.close();
      await loc?.cleanup();
    });

    /** A tenant and a collection in it, fresh for one test. */
    async function scope(): Promise<{ tenantId: string; collection: CollectionRow }> {
      const tenantId = unique('t');
      await store.insertTenant({ id: tenantId, name: 'Test City', createdAt: NOW });
      const collection: CollectionRow = { id: newId(), tenantId, name: 'residents', schemaJson: '{"fields":[]}', schemaVersion: 1, createdAt: NOW, updatedAt: NOW };
      await store.insertCollection(collection);
      return { tenantId, collection };
    }

    test('reports its dialect and answers ping', async () => {
      assert.equal(store.dialect, backend);
      await store.ping();
    });

    test('meta: set once, then the first value stays', async () => {
      const key = unique('meta');
      assert.equal(await store.getMeta(key), undefined);
      assert.equal(await store.setMetaIfAbsent(key, 'first'), 'first');
      assert.equal(await store.setMetaIfAbsent(key, 'second'), 'first');
      assert.equal(await store.getMeta(key), 'first');
    });

    test('tenants: insert, get, list in id order; a duplicate id is TENANT_EXISTS and changes nothing', async () => {
      const prefix = unique('tt');
      for (const s of ['b', 'a', 'c']) await store.insertTenant({ id: `${prefix}-${s}`, name: `City ${s}`, createdAt: NOW });
      assert.deepEqual(await store.getTenant(`${prefix}-a`), { id: `${prefix}-a`, name: 'City a', createdAt: NOW });
      assert.equal(await store.getTenant(`${prefix}-z`), undefined);
      const mine = (await store.listTenants()).filter((t) => t.id.startsWith(prefix));
      assert.deepEqual(mine.map((t) => t.id), ['a', 'b', 'c'].map((s) => `${prefix}-${s}`));
      await rejectsWithCode(() => store.insertTenant({ id: `${prefix}-a`, name: 'Other', createdAt: NOW }), 'TENANT_EXISTS');
      assert.equal((await store.getTenant(`${prefix}-a`))?.name, 'City a');
    });

    test('collections: per-tenant names (COLLECTION_EXISTS), listing by name, an existing tenant required', async () => {
      const { tenantId, collection } = await scope();
      const other = await scope();
      assert.deepEqual(await store.getCollection(tenantId, 'residents'), collection);
      assert.equal((await store.getCollection(other.tenantId, 'residents'))?.id, other.collection.id, 'same name, other tenant, other collection');
      await rejectsWithCode(() => store.insertCollection({ ...collection, id: newId() }), 'COLLECTION_EXISTS');
      await rejectsWithCode(() => store.insertCollection({ ...collection, name: 'staff' }), 'COLLECTION_EXISTS'); // same id
      await store.insertCollection({ ...collection, id: newId(), name: 'households' });
      assert.deepEqual((await store.listCollections(tenantId)).map((c) => c.name), ['households', 'residents']);
      assert.equal(await store.getCollection(tenantId, 'nope'), undefined);
      await assert.rejects(() => store.insertCollection({ ...collection, id: newId(), tenantId: unique('no-tenant') }));
    });

    test('collections: the schema is compare-and-set on its version', async () => {
      const { tenantId, collection } = await scope();
      assert.equal(await store.updateCollectionSchema(collection.id, '{"v":2}', 1, '2025-02-01T00:00:00.000Z'), true);
      assert.equal(await store.updateCollectionSchema(collection.id, '{"v":"lost"}', 1, '2025-02-02T00:00:00.000Z'), false);
      const now = await store.getCollection(tenantId, 'residents');
      assert.equal(now?.schemaVersion, 2);
      assert.equal(now?.schemaJson, '{"v":2}');
      assert.equal(now?.updatedAt, '2025-02-01T00:00:00.000Z');
      assert.equal(now?.createdAt, NOW);
      assert.equal(await store.updateCollectionSchema(newId(), '{}', 1, NOW), false);
    });

    test('wrapped keys: insert, exact and latest version, kinds kept apart', async () => {
      const t = unique('t');
      const rows = [keyRow(t, 'collection', 'c1', 1), keyRow(t, 'collection', 'c1', 3), keyRow(t, 'collection', 'c1', 2), keyRow(t, 'index', 'c1', 1)];
      assert.equal(await store.insertWrappedKeys(rows, false), 4);
      assert.deepEqual(await store.getWrappedKey(t, 'collection', 'c1'), rows[1]);
      assert.deepEqual(await store.getWrappedKey(t, 'collection', 'c1', 2), rows[2]);
      assert.deepEqual(await store.getWrappedKey(t, 'index', 'c1'), rows[3]);
      assert.equal(await store.getWrappedKey(t, 'collection', 'c1', 4), undefined);
      assert.equal(await store.getWrappedKey(t, 'subject', 'c1'), undefined);
      assert.equal(await store.getWrappedKey(unique('t'), 'collection', 'c1'), undefined);
      assert.equal(await store.insertWrappedKeys([], false), 0);
    });

    test('wrapped keys: a duplicate fails the whole insert; with ignoreExisting it is skipped and the count says so', async () => {
      const t = unique('t');
      const first = keyRow(t, 'subject', 'S-1');
      await store.insertWrappedKeys([first], false);
      const fresh = keyRow(t, 'subject', 'S-2');
      await assert.rejects(() => store.insertWrappedKeys([fresh, { ...first, wrapped: randomBytes(61) }], false));
      assert.equal(await store.getWrappedKey(t, 'subject', 'S-2'), undefined, 'the failed insert left nothing');
      const again = [{ ...first, wrapped: randomBytes(61) }, fresh, keyRow(t, 'subject', 'S-3')];
      assert.equal(await store.insertWrappedKeys(again, true), 2);
      assert.deepEqual((await store.getWrappedKey(t, 'subject', 'S-1'))?.wrapped, first.wrapped, 'the existing key was not replaced');
      assert.equal(await store.insertWrappedKeys(again, true), 0);
      // in bulk, past one statement's worth of rows
      const many = Array.from({ length: 400 }, (_, i) => keyRow(t, 'subject', `B-${i}`));
      assert.equal(await store.insertWrappedKeys(many, true), 400);
      assert.equal(await store.insertWrappedKeys([...many.slice(0, 200), keyRow(t, 'subject', 'B-new')], true), 1);
      // rows sharing tenant, kind, time and wrapping version (bound once per statement on SQLite),
      // existing and new ones mixed, past two statements' worth: every column lands as given
      const mixed = Array.from({ length: 700 }, (_, i) => (i % 10 === 3 ? keyRow(t, 'subject', `C-${i}`, 1 + (i % 3)) : (many[i % 400] as WrappedKeyRow)));
      assert.equal(await store.insertWrappedKeys(mixed, true), 70);
      const added = mixed.filter((r) => r.scopeId.startsWith('C-'));
      const stored = await store.getLatestWrappedKeys(t, 'subject', added.map((r) => r.scopeId));
      assert.deepEqual(
        stored.sort((a, b) => a.scopeId.localeCompare(b.scopeId)),
        [...added].sort((a, b) => a.scopeId.localeCompare(b.scopeId)),
      );
    });

    test('wrapped keys: the latest version of each of many scopes, absent ones left out', async () => {
      const t = unique('t');
      const rows: WrappedKeyRow[] = [];
      for (let i = 0; i < 600; i++) rows.push(keyRow(t, 'subject', `S-${i}`, 1));
      for (let i = 0; i < 600; i += 7) rows.push(keyRow(t, 'subject', `S-${i}`, 2));
      await store.insertWrappedKeys(rows, false);
      await store.insertWrappedKeys([keyRow(t, 'collection', 'S-1', 9)], false);
      const asked = [...Array.from({ length: 600 }, (_, i) => `S-${i}`), 'S-none'];
      const latest = await store.getLatestWrappedKeys(t, 'subject', asked);
      assert.equal(latest.length, 600);
      for (const r of latest) {
        const i = Number(r.scopeId.slice(2));
        assert.equal(r.version, i % 7 === 0 ? 2 : 1, r.scopeId);
        assert.equal(r.kind, 'subject');
      }
      assert.deepEqual(await store.getLatestWrappedKeys(t, 'subject', []), []);
    });

    test('wrapped keys: lockWrappedKeys counts exactly the (kind, scope, version) rows that exist, over many scopes', async () => {
      const t = unique('t');
      const rows: WrappedKeyRow[] = [];
      for (let i = 0; i < 1200; i++) rows.push(keyRow(t, 'subject', `S-${i}`, 1));
      rows.push(keyRow(t, 'subject', 'S-5', 2), keyRow(t, 'collection', 'C-1', 3));
      await store.insertWrappedKeys(rows, false);
      const refs = [
        ...Array.from({ length: 1200 }, (_, i) => ({ kind: 'subject' as const, scopeId: `S-${i}`, version: 1 })),
        { kind: 'subject' as const, scopeId: 'S-5', version: 2 },
        { kind: 'collection' as const, scopeId: 'C-1', version: 3 },
      ];
      assert.equal(await store.transaction((tx) => tx.lockWrappedKeys(t, refs)), 1202);
      const missing = [
        { kind: 'subject' as const, scopeId: 'S-7', version: 2 }, // another version
        { kind: 'subject' as const, scopeId: 'S-none', version: 1 }, // no such scope
        { kind: 'collection' as const, scopeId: 'S-8', version: 1 }, // another kind
      ];
      assert.equal(await store.transaction((tx) => tx.lockWrappedKeys(t, [...refs.slice(0, 10), ...missing])), 10);
      assert.equal(await store.transaction((tx) => tx.lockWrappedKeys(unique('t'), refs.slice(0, 10))), 0, 'another tenant holds none of them');
    });

    test('records: insert, get, getRecords (id order, missing left out), scoped to their collection', async () => {
      const { tenantId, collection } = await scope();
      const a = recordRow(collection.id, tenantId);
      const b = recordRow(collection.id, tenantId, { subjectId: 'P-0001', keyVersion: 2 });
      await store.insertRecords([b, a], [indexRow(a, 'family_name', 'x'), indexRow(b, 'family_name', 'x')]);
      assert.deepEqual(await store.getRecord(collection.id, a.id), a);
      assert.deepEqual(await store.getRecord(collection.id, b.id), b);
      assert.equal(await store.getRecord(newId(), a.id), undefined, 'another collection id does not find it');
      assert.deepEqual(await store.getRecords(collection.id, [b.id, newId(), a.id]), [a, b]);
      assert.deepEqual(await store.getRecords(collection.id, []), []);
      assert.equal(await store.countRecords(collection.id), 2);
      await rejectsWithCode(() => store.insertRecords([{ ...a, ciphertext: randomBytes(10) }], []), 'UNIQUE_VIOLATION');
      assert.deepEqual((await store.getRecord(collection.id, a.id))?.ciphertext, a.ciphertext);
      await store.insertRecords([], []);
    });

    test('records: many at once (several statements) land whole and read back exactly', async () => {
      const { tenantId, collection } = await scope();
      const rows = Array.from({ length: 523 }, (_, i) => recordRow(collection.id, tenantId, { subjectId: i % 3 === 0 ? `P-${i}` : null, ciphertext: randomBytes(20 + (i % 50)) }));
      const index = rows.flatMap((r, i) => [indexRow(r, 'kana', `k${i % 10}`), indexRow(r, 'resident_no', `R-${i}`, true)]);
      await store.insertRecords(rows, index);
      assert.equal(await store.countRecords(collection.id), 523);
      const back = await store.getRecords(collection.id, rows.map((r) => r.id));
      assert.deepEqual(back, [...rows].sort((x, y) => (x.id < y.id ? -1 : 1)));
      assert.equal((await store.searchRecordIds(collection.id, [term(collection.id, 'kana', 'k3')], 1000)).length, 52);
      assert.equal((await store.findUniqueDigests(collection.id, rows.map((_r, i) => (term(collection.id, 'resident_no', `R-${i}`))))).length, 523);
    });

    test('unique blind index: a taken digest is UNIQUE_VIOLATION and nothing of the failed insert remains', async () => {
      const { tenantId, collection } = await scope();
      const first = recordRow(collection.id, tenantId);
      await store.insertRecords([first], [indexRow(first, 'resident_no', 'R-1', true)]);
      const ok = recordRow(collection.id, tenantId);
      const dup = recordRow(collection.id, tenantId);
      await rejectsWithCode(
        () => store.insertRecords([ok, dup], [indexRow(ok, 'resident_no', 'R-2', true), indexRow(ok, 'kana', 'k', false), indexRow(dup, 'resident_no', 'R-1', true)]),
        'UNIQUE_VIOLATION',
      );
      assert.equal(await store.countRecords(collection.id), 1);
      assert.equal(await store.getRecord(collection.id, ok.id), undefined);
      assert.deepEqual(await store.searchRecordIds(collection.id, [term(collection.id, 'kana', 'k')], 10), []);
      assert.deepEqual(await store.findUniqueDigests(collection.id, [term(collection.id, 'resident_no', 'R-2')]), []);
      // a duplicate inside one batch is caught too
      const x = recordRow(collection.id, tenantId);
      const y = recordRow(collection.id, tenantId);
      await rejectsWithCode(() => store.insertRecords([x, y], [indexRow(x, 'resident_no', 'R-3', true), indexRow(y, 'resident_no', 'R-3', true)]), 'UNIQUE_VIOLATION');
      assert.equal(await store.countRecords(collection.id), 1);
      // only unique rows are constrained: the same value in a non-unique row, another field or another collection is fine
      const z = recordRow(collection.id, tenantId);
      await store.insertRecords([z], [indexRow(z, 'resident_no', 'R-1', false), indexRow(z, 'other_no', 'R-1', true)]);
      const elsewhere = await scope();
      const w = recordRow(elsewhere.collection.id, elsewhere.tenantId);
      await store.insertRecords([w], [indexRow(w, 'resident_no', 'R-1', true)]);
    });

    test('searchRecordIds: AND of terms, ascending ids, limit and afterId paging', async () => {
      const { tenantId, collection } = await scope();
      const rows = Array.from({ length: 9 }, () => recordRow(collection.id, tenantId));
      const index = rows.flatMap((r, i) => [indexRow(r, 'family_name', i % 3 === 0 ? 'yamada' : 'sato'), indexRow(r, 'birth_date', i % 2 === 0 ? '1990-01-01' : '1985-05-05')]);
      await store.insertRecords([...rows].reverse(), index);
      const ids = (pred: (i: number) => boolean) => rows.filter((_r, i) => pred(i)).map((r) => r.id);
      const yamada = term(collection.id, 'family_name', 'yamada');
      const born1990 = term(collection.id, 'birth_date', '1990-01-01');
      assert.deepEqual(await store.searchRecordIds(collection.id, [yamada], 100), ids((i) => i % 3 === 0));
      assert.deepEqual(await store.searchRecordIds(collection.id, [yamada, born1990], 100), ids((i) => i % 6 === 0));
      assert.deepEqual(await store.searchRecordIds(collection.id, [born1990, yamada], 100), ids((i) => i % 6 === 0));
      assert.deepEqual(await store.searchRecordIds(collection.id, [yamada, term(collection.id, 'family_name', 'sato')], 100), []);
      assert.deepEqual(await store.searchRecordIds(collection.id, [term(collection.id, 'birth_date', 'yamada')], 100), [], 'a digest matches only in its own field');
      assert.deepEqual(await store.searchRecordIds(collection.id, [], 100), []);
      assert.deepEqual(await store.searchRecordIds(newId(), [yamada], 100), []);
      const all = ids(() => true);
      const pages: string[][] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.searchRecordIds(collection.id, [term(collection.id, 'family_name', 'sato')], 2, after);
        if (page.length === 0) break;
        pages.push(page);
        after = page.at(-1);
      }
      assert.deepEqual(pages.map((p) => p.length), [2, 2, 2]);
      assert.deepEqual(pages.flat(), all.filter((_id, i) => i % 3 !== 0));
    });

    test('findUniqueDigests: which unique digests are taken, and by which record', async () => {
      const { tenantId, collection } = await scope();
      const a = recordRow(collection.id, tenantId);
      const b = recordRow(collection.id, tenantId);
      await store.insertRecords([a, b], [indexRow(a, 'resident_no', 'R-A', true), indexRow(b, 'resident_no', 'R-B', true), indexRow(b, 'kana', 'R-A', false)]);
      const found = await store.findUniqueDigests(collection.id, [
        term(collection.id, 'resident_no', 'R-A'),
        term(collection.id, 'resident_no', 'R-C'),
        term(collection.id, 'kana', 'R-A'),
        term(collection.id, 'resident_no', 'R-B'),
      ]);
      const norm = found.map((f) => ({ field: f.field, digest: f.digest.toString('hex'), recordId: f.recordId })).sort((x, y) => (x.recordId < y.recordId ? -1 : 1));
      assert.deepEqual(norm, [
        { field: 'resident_no', digest: digest('R-A', 'resident_no', collection.id).toString('hex'), recordId: a.id },
        { field: 'resident_no', digest: digest('R-B', 'resident_no', collection.id).toString('hex'), recordId: b.id },
      ]);
      assert.ok(found.every((f) => Buffer.isBuffer(f.digest)));
      assert.deepEqual(await store.findUniqueDigests(collection.id, []), []);
    });

    test('replaceRecord: only from the expected version; index rows replaced with it', async () => {
      const { tenantId, collection } = await scope();
      const r = recordRow(collection.id, tenantId);
      await store.insertRecords([r], [indexRow(r, 'family_name', 'old'), indexRow(r, 'resident_no', 'R-OLD', true)]);
      const v2: RecordRow = { ...r, version: 2, keyVersion: 3, subjectId: 'P-9', ciphertext: randomBytes(50), updatedAt: '2025-03-01T00:00:00.000Z' };
      assert.equal(await store.replaceRecord(v2, 2, []), false, 'stale expected version');
      assert.deepEqual(await store.getRecord(collection.id, r.id), r);
      assert.equal(await store.replaceRecord(v2, 1, [indexRow(r, 'family_name', 'new'), indexRow(r, 'resident_no', 'R-NEW', true)]), true);
      assert.deepEqual(await store.getRecord(collection.id, r.id), v2);
      assert.deepEqual(await store.searchRecordIds(collection.id, [term(collection.id, 'family_name', 'old')], 10), []);
      assert.deepEqual(await store.searchRecordIds(collection.id, [term(collection.id, 'family_name', 'new')], 10), [r.id]);
      assert.deepEqual(await store.findUniqueDigests(collection.id, [term(collection.id, 'resident_no', 'R-OLD')]), []);
      assert.equal(await store.replaceRecord({ ...v2, version: 3 }, 1, []), false);
      assert.equal(await store.replaceRecord(recordRow(collection.id, tenantId, { version: 2 }), 1, []), false, 'a missing record is not replaced');
    });

    test('replaceRecord: a unique violation leaves the record and its index rows as they were', async () => {
      const { tenantId, collection } = await scope();
      const a = recordRow(collection.id, tenantId);
      const b = recordRow(collection.id, tenantId);
      await store.insertRecords([a, b], [indexRow(a, 'resident_no', 'R-A', true), indexRow(b, 'resident_no', 'R-B', true), indexRow(b, 'kana', 'kb')]);
      await rejectsWithCode(() => store.replaceRecord({ ...b, version: 2, ciphertext: randomBytes(30) }, 1, [indexRow(b, 'resident_no', 'R-A', true)]), 'UNIQUE_VIOLATION');
      assert.deepEqual(await store.getRecord(collection.id, b.id), b);
      assert.deepEqual(await store.searchRecordIds(collection.id, [term(collection.id, 'kana', 'kb')], 10), [b.id]);
      assert.equal((await store.findUniqueDigests(collection.id, [term(collection.id, 'resident_no', 'R-B')]))[0]?.recordId, b.id);
    });

    test('deleteRecord: optional version check; the record and its index rows go, freeing unique values', async () => {
      const { tenantId, collection } = await scope();
      const r = recordRow(collection.id, tenantId);
      await store.insertRecords([r], [indexRow(r, 'resident_no', 'R-1', true), indexRow(r, 'kana', 'k')]);
      assert.equal(await store.deleteRecord(collection.id, r.id, 2), false);
      assert.deepEqual(await store.getRecord(collection.id, r.id), r);
      assert.equal(await store.deleteRecord(newId(), r.id), false);
      assert.equal(await store.deleteRecord(collection.id, r.id, 1), true);
      assert.equal(await store.getRecord(collection.id, r.id), undefined);
      assert.deepEqual(await store.searchRecordIds(collection.id, [term(collection.id, 'kana', 'k')], 10), []);
      assert.equal(await store.deleteRecord(collection.id, r.id), false);
      const again = recordRow(collection.id, tenantId);
      await store.insertRecords([again], [indexRow(again, 'resident_no', 'R-1', true)]);
      const other = recordRow(collection.id, tenantId);
      await store.insertRecords([other], []);
      assert.equal(await store.deleteRecord(collection.id, other.id), true, 'without a version');
    });

    test('listRecords pages in id order; countRecords counts one collection', async () => {
      const { tenantId, collection } = await scope();
      const other = await scope();
      const rows = Array.from({ length: 7 }, () => recordRow(collection.id, tenantId));
      await store.insertRecords([...rows].reverse(), []);
      await store.insertRecords([recordRow(other.collection.id, other.tenantId)], []);
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.listRecords(collection.id, 3, after);
        seen.push(...page.map((r) => r.id));
        if (page.length < 3) break;
        after = page.at(-1)?.id;
      }
      assert.deepEqual(seen, rows.map((r) => r.id));
      assert.deepEqual(await store.listRecords(collection.id, 2), rows.slice(0, 2));
      assert.equal(await store.countRecords(collection.id), 7);
      assert.equal(await store.countRecords(other.collection.id), 1);
      assert.equal(await store.countRecords(newId()), 0);
    });

    test('api keys: insert, get, list by tenant (null: administrators), revoke once', async () => {
      const { tenantId } = await scope();
      const mk = (over: Partial<ApiKeyRow>): ApiKeyRow => ({
        id: randomBytes(8).toString('hex'),
        tenantId,
        name: 'k',
        role: 'tenant',
        roles: ['clerk'],
        duties: [],
        secretHash: randomBytes(32),
        createdAt: NOW,
        expiresAt: null,
        revokedAt: null,
        ...over,
      });
      const k1 = mk({ createdAt: '2025-01-01T00:00:00.000Z', expiresAt: '2026-01-01T00:00:00.000Z' });
      const k2 = mk({ createdAt: '2025-01-02T00:00:00.000Z', roles: ['nhi', 'tax'], duties: ['kokuho'] });
      const admin = mk({ tenantId: null, role: 'admin', roles: [] });
      for (const k of [k2, admin, k1]) await store.insertApiKey(k);
      assert.deepEqual(await store.getApiKey(k1.id), k1);
      assert.equal(await store.getApiKey('0000000000000000'), undefined);
      assert.deepEqual(await store.listApiKeys(tenantId), [k1, k2]);
      assert.ok((await store.listApiKeys(null)).some((k) => k.id === admin.id));
      assert.ok((await store.listApiKeys(null)).every((k) => k.tenantId === null));
      const all = await store.listApiKeys();
      assert.ok([k1, k2, admin].every((k) => all.some((x) => x.id === k.id)));
      assert.equal(await store.revokeApiKey(k1.id, '2025-06-01T00:00:00.000Z'), true);
      assert.equal(await store.revokeApiKey(k1.id, '2025-07-01T00:00:00.000Z'), false);
      assert.equal((await store.getApiKey(k1.id))?.revokedAt, '2025-06-01T00:00:00.000Z');
      assert.equal(await store.revokeApiKey('ffffffffffffffff', NOW), false);
      await assert.rejects(() => store.insertApiKey(k2));
    });

    test('policies: versions per tenant, the highest is active, a version is written once', async () => {
      const { tenantId } = await scope();
      const { tenantId: other } = await scope();
      assert.equal(await store.getActivePolicy(tenantId), undefined);
      const v = (version: number, text: string, purposes: string[]) => ({ tenantId, version, text, purposes, createdAt: NOW, createdBy: 'k1' });
      await store.insertPolicy(v(1, 'permit(principal, action, resource);', ['administration']));
      await store.insertPolicy(v(2, '// nothing', ['counter', 'tax']));
      await store.insertPolicy({ ...v(1, 'forbid(principal, action, resource);', []), tenantId: other });
      assert.deepEqual(await store.getActivePolicy(tenantId), v(2, '// nothing', ['counter', 'tax']));
      assert.deepEqual(await store.getPolicy(tenantId, 1), v(1, 'permit(principal, action, resource);', ['administration']));
      assert.equal(await store.getPolicy(tenantId, 3), undefined);
      assert.deepEqual((await store.listPolicyVersions(tenantId)).map((p) => [p.version, p.purposes]), [[1, ['administration']], [2, ['counter', 'tax']]]);
      assert.equal((await store.getActivePolicy(other))?.text, 'forbid(principal, action, resource);');
      await assert.rejects(() => store.insertPolicy(v(2, 'raced', [])));
    });

    test('import jobs: saved, then updated in place', async () => {
      const { tenantId, collection } = await scope();
      const id = unique('job');
      assert.equal(await store.getImportJob(id), undefined);
      const job = { id, tenantId, collectionId: collection.id, linesDone: 10, rowsImported: 8, rowsRejected: 2, status: 'running' as const, updatedAt: NOW };
      await store.saveImportJob(job);
      assert.deepEqual(await store.getImportJob(id), job);
      const done = { ...job, linesDone: 20, rowsImported: 17, rowsRejected: 3, status: 'done' as const, updatedAt: '2025-01-03T00:00:00.000Z' };
      await store.saveImportJob(done);
      assert.deepEqual(await store.getImportJob(id), done);
    });

    test('transactions: everything written inside lands on commit; hooks run after the commit', async () => {
      const tenantId = unique('t');
      const events: string[] = [];
      let readInHook: Promise<unknown> | undefined;
      const result = await store.transaction(async (tx) => {
        await tx.insertTenant({ id: tenantId, name: 'City', createdAt: NOW });
        await tx.insertWrappedKeys([keyRow(tenantId, 'tenant', tenantId)], false);
        assert.equal((await tx.getTenant(tenantId))?.id, tenantId, 'a transaction reads its own writes');
        tx.onCommit(() => {
          events.push('hook');
          readInHook = store.getTenant(tenantId);
        });
        events.push('body done');
        return 42;
      });
      events.push('returned');
      assert.equal(result, 42);
      assert.deepEqual(events, ['body done', 'hook', 'returned']);
      assert.equal(((await readInHook) as { id: string } | undefined)?.id, tenantId, 'a hook sees the committed data');
      assert.ok(await store.getWrappedKey(tenantId, 'tenant', tenantId));
    });

    test('transactions: an error inside writes nothing, is rethrown as is, and runs no hook', async () => {
      const { tenantId, collection } = await scope();
      const newTenant = unique('t');
      const r = recordRow(collection.id, tenantId);
      const boom = new Error('boom');
      let hookRan = false;
      await assert.rejects(
        () =>
          store.transaction(async (tx) => {
            tx.onCommit(() => {
              hookRan = true;
            });
            await tx.insertTenant({ id: newTenant, name: 'City', createdAt: NOW });
            await tx.insertRecords([r], [indexRow(r, 'resident_no', 'R-1', true)]);
            await tx.insertWrappedKeys([keyRow(tenantId, 'subject', 'S-1')], true);
            await tx.saveImportJob({ id: `job-${newTenant}`, tenantId, collectionId: collection.id, linesDone: 1, rowsImported: 1, rowsRejected: 0, status: 'running', updatedAt: NOW });
            assert.equal(await tx.updateCollectionSchema(collection.id, '{"x":1}', 1, NOW), true);
            throw boom;
          }),
        (e) => e === boom,
      );
      assert.equal(hookRan, false);
      assert.equal(await store.getTenant(newTenant), undefined);
      assert.equal(await store.getRecord(collection.id, r.id), undefined);
      assert.deepEqual(await store.findUniqueDigests(collection.id, [term(collection.id, 'resident_no', 'R-1')]), []);
      assert.equal(await store.getWrappedKey(tenantId, 'subject', 'S-1'), undefined);
      assert.equal(await store.getImportJob(`job-${newTenant}`), undefined);
      assert.equal((await store.getCollection(tenantId, 'residents'))?.schemaVersion, 1);
      // the store is usable afterwards
      await store.insertRecords([r], [indexRow(r, 'resident_no', 'R-1', true)]);
    });

    test('transactions: a constraint failure late in a transaction rolls back its earlier writes', async () => {
      const { tenantId, collection } = await scope();
      const taken = recordRow(collection.id, tenantId);
      await store.insertRecords([taken], [indexRow(taken, 'resident_no', 'R-1', true)]);
      const newTenant = unique('t');
      const r = recordRow(collection.id, tenantId);
      await rejectsWithCode(
        () =>
          store.transaction(async (tx) => {
            await tx.insertTenant({ id: newTenant, name: 'City', createdAt: NOW });
            await tx.insertRecords([r], [indexRow(r, 'resident_no', 'R-1', true)]);
          }),
        'UNIQUE_VIOLATION',
      );
      assert.equal(await store.getTenant(newTenant), undefined);
      assert.equal(await store.countRecords(collection.id), 1);
    });

    test('residency rows: locations (LOCATION_EXISTS on a taken id), collection rules (upsert), transfers newest first', async () => {
      const { tenantId, collection } = await scope();
      const id = unique('loc');
      const row = { id, country: 'JP', region: 'JP-Tokyo', provider: 'p', operator: 'o', jurisdiction: 'JP', holds: '["ciphertext"]', description: '本番', createdAt: NOW, updatedAt: NOW };
      await store.insertLocation(row);
      await rejectsWithCode(() => store.insertLocation({ ...row, country: 'US' }), 'LOCATION_EXISTS');
      assert.deepEqual(await store.getLocation(id), row);
      assert.equal(await store.updateLocation({ ...row, region: null, updatedAt: '2025-02-02T00:00:00.000Z', createdAt: 'ignored' }), true);
      assert.deepEqual(await store.getLocation(id), { ...row, region: null, updatedAt: '2025-02-02T00:00:00.000Z' });
      assert.equal(await store.updateLocation({ ...row, id: unique('absent') }), false);
      await store.putResidency({ collectionId: collection.id, tenantId, rulesJson: '{"keys":{}}', updatedAt: NOW });
      await store.putResidency({ collectionId: collection.id, tenantId, rulesJson: '{"ciphertext":{}}', updatedAt: NOW });
      assert.equal((await store.getResidency(collection.id))?.rulesJson, '{"ciphertext":{}}');
      assert.deepEqual((await store.listResidency(tenantId)).map((r) => r.collectionId), [collection.id]);
      const t = (n: number, at: string) => ({ id: `${id}-${n}`, tenantId, collectionId: n === 0 ? null : collection.id, kind: n === 0 ? ('backup' as const) : ('export' as const), locationId: id, records: n === 0 ? null : 5, detail: 'csv', createdAt: at });
      await store.insertTransfers([t(0, '2025-01-01T00:00:00.000Z'), t(1, '2025-03-01T00:00:00.000Z')]);
      assert.deepEqual((await store.listTransfers(tenantId, 10)).map((x) => [x.kind, x.records, x.collectionId]), [['export', 5, collection.id], ['backup', null, null]]);
      assert.equal(await store.deleteLocation(id), true);
      assert.equal(await store.getLocation(id), undefined);
    });

    test('token registry: rows inserted in bulk (shared and mixed columns), existing ones skipped; look-ups by position, in one field of one tenant and kind', async () => {
      const { tenantId, collection } = await scope();
      const row = (hash: Buffer, over: Partial<TokenRow> = {}): TokenRow => ({
        collectionId: collection.id, field: 'family_name', tokenHash: hash, recordId: null, tenantId, kind: 'deterministic', keyVersion: 1, subjectId: null, valueCt: null, createdAt: NOW, ...over,
      });
      // More than one multi-row statement's worth of rows sharing their columns, then a mixed batch.
      const hashes = Array.from({ length: 500 }, () => randomBytes(16));
      const shared = hashes.map((h, i) => row(h, i % 7 === 0 ? { subjectId: `s-${i}` } : {}));
      assert.equal(await store.transaction((tx) => tx.insertTokens(shared)), 500);
      assert.equal(await store.transaction((tx) => tx.insertTokens(shared.slice(0, 300))), 0, 'existing (hash, record) rows are skipped');
      const other = randomBytes(16);
      const noteHash = randomBytes(16);
      const mixed = [
        row(hashes[0] as Buffer, { recordId: 'r-1', subjectId: 's-r1' }), // the same hash for a record: a second row
        row(other, { field: 'given_name' }),
        row(noteHash, { kind: 'random', field: 'note', keyVersion: 2, valueCt: Buffer.from([2, 1, 2, 3]) }),
        row(hashes[1] as Buffer, { createdAt: '2025-02-01T00:00:00.000Z' }), // exists
      ];
      assert.equal(await store.transaction((tx) => tx.insertTokens(mixed)), 3);
      const where = { tenantId, collectionId: collection.id, field: 'family_name', kind: 'deterministic' as const };
      const unknown = randomBytes(16);
      const found = await store.findTokens(where, [hashes[7] as Buffer, unknown, hashes[0] as Buffer, hashes[7] as Buffer, other]);
      const byAt = (at: number) => found.filter((f) => f.at === at).map(({ at: _at, ...rest }) => rest).sort((a, b) => String(a.recordId).localeCompare(String(b.recordId)));
      assert.deepEqual(byAt(0), [{ recordId: null, keyVersion: 1, subjectId: 's-7', valueCt: null }]);
      assert.deepEqual(byAt(1), [], 'an unknown hash finds nothing');
      assert.deepEqual(byAt(2), [{ recordId: null, keyVersion: 1, subjectId: 's-0', valueCt: null }, { recordId: 'r-1', keyVersion: 1, subjectId: 's-r1', valueCt: null }]);
      assert.deepEqual(byAt(3), byAt(0), 'a hash given twice finds its rows twice');
      assert.deepEqual(byAt(4), [], "another field's row with the same hash is not found");
      assert.deepEqual((await store.findTokens({ ...where, field: 'note', kind: 'random' }, [other, noteHash])).map((f) => [f.at, f.keyVersion, f.valueCt]), [[1, 2, Buffer.from([2, 1, 2, 3])]]);
      assert.deepEqual(await store.findTokens({ ...where, field: 'note' }, [noteHash]), [], 'another kind');
      assert.deepEqual(await store.findTokens({ ...where, tenantId: unique('t') }, [hashes[7] as Buffer]), [], 'another tenant');
      assert.deepEqual(await store.findTokens({ ...where, collectionId: newId() }, [hashes[7] as Buffer]), [], 'another collection');
      // Inside a transaction, its own uncommitted rows are found.
      const fresh = randomBytes(16);
      await store.transaction(async (tx) => {
        await tx.insertTokens([row(fresh)]);
        assert.deepEqual((await tx.findTokens(where, [fresh])).map((f) => f.at), [0]);
      });
      assert.equal((await store.findTokens(where, hashes)).length, 501);
      assert.deepEqual(await store.countTokensByKeyVersion(collection.id), new Map([[1, 503], [2, 1]]));
    });

    test('migrate() again, from this store or another, changes nothing', async () => {
      assert.ok(loc);
      const raw = await openRawDb(loc.location);
      try {
        await scope();
        const before = await raw.snapshot();
        assert.ok(before.kysely_migration?.length === 9, 'every migration recorded');
        await store.migrate();
        const second = openStore(loc.location);
        try {
          await second.migrate();
          await second.migrate();
        } finally {
          await second.close();
        }
        assert.deepEqual(await raw.snapshot(), before);
      } finally {
        await raw.close();
      }
    });

    if (backend === 'sqlite') {
      test('migration 0009 keeps every token row and rebuilds the registry as a rowid table with a unique (token_hash, ref) index', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'kuraban-migrate-'));
        try {
          const path = join(dir, 'kuraban.db');
          const raw = new BetterSqlite3(path);
          const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
          const to7 = await new Migrator({ db, provider: migrationProvider('sqlite') }).migrateTo('0007-residency');
          assert.equal(to7.error, undefined);
          const insert = raw.prepare('insert into tokens (collection_id, field, token_hash, ref, tenant_id, kind, key_version, subject_id, value_ct, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
          const rows = Array.from({ length: 50 }, (_v, i) => ['c1', 'f', randomBytes(16), i % 2 ? `r-${i}` : '', 't1', i % 3 ? 'deterministic' : 'random', 1 + (i % 2), i % 5 ? `s-${i}` : null, i % 3 ? null : randomBytes(20), NOW]);
          for (const r of rows) insert.run(...r);
          const before = raw.prepare('select * from tokens order by token_hash, ref').all();
          assert.throws(() => raw.prepare('select rowid from tokens').all(), 'a WITHOUT ROWID table before');
          await db.destroy();
          const migrated = openStore({ dataDir: dir });
          try {
            await migrated.migrate();
          } finally {
            await migrated.close();
          }
          const after = new BetterSqlite3(path, { readonly: true });
          try {
            assert.deepEqual(after.prepare('select * from tokens order by token_hash, ref').all(), before);
            assert.equal((after.prepare('select count(rowid) n from tokens').get() as { n: number }).n, 50);
            const indexes = after.prepare("select name, \"unique\", partial from pragma_index_list('tokens') order by name").all();
            assert.deepEqual(indexes, [{ name: 'tokens_pk', unique: 1, partial: 0 }, { name: 'tokens_ref', unique: 0, partial: 1 }, { name: 'tokens_subject', unique: 0, partial: 1 }]);
            assert.deepEqual(after.prepare("select name from pragma_index_info('tokens_pk') order by seqno").all().map((r) => (r as { name: string }).name), ['token_hash', 'ref']);
          } finally {
            after.close();
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }

    if (backend === 'postgres') {
      test('two stores migrating one fresh database at once both succeed, with one schema (the migration lock)', async () => {
        for (let round = 0; round < 3; round++) {
          const db = await createThrowawayDatabase();
          const location = { dataDir: '/nonexistent', databaseUrl: db.url };
          const stores = [openStore(location), openStore(location), openStore(location)];
          try {
            const results = await Promise.allSettled(stores.map((s) => s.migrate()));
            assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled'], JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason?.cause ?? r.reason) : 'ok'))));
            const raw = await openRawDb({ dataDir: '/nonexistent', databaseUrl: db.url, keyFile: '/nonexistent' });
            try {
              assert.deepEqual((await raw.all('select name from kysely_migration')).map((r) => r.name), ['0001-initial', '0002-access-log', '0003-log-subjects', '0004-policies', '0005-key-rotation', '0006-tokens', '0007-residency', '0008-log-leaf-check', '0009-tokens-rowid']);
              assert.deepEqual(await raw.tables(), ['api_keys', 'blind_index', 'collection_residency', 'collections', 'data_transfers', 'import_jobs', 'key_jobs', 'kuraban_meta', 'kysely_migration', 'kysely_migration_lock', 'locations', 'log_checkpoints', 'log_entries', 'log_pending', 'log_state', 'log_subjects', 'log_tiles', 'policies', 'records', 'tenants', 'tokens', 'wrapped_keys']);
            } finally {
              await raw.close();
            }
            await stores[0]?.insertTenant({ id: 'city', name: 'City', createdAt: NOW });
            assert.equal((await stores[2]?.getTenant('city'))?.name, 'City');
          } finally {
            for (const s of stores) await s.close();
            await db.drop();
          }
        }
      });
    }
  });
}
