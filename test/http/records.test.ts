/** Records: create, batch create, get, PUT with If-Match, DELETE, search. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ABSENT_ID,
  METACHARACTERS,
  SECRET,
  UUID,
  assertDetail,
  assertNoLeak,
  assertProblem,
  assertRefused,
  createCollection,
  createTenant,
  issueKey,
  openHarness,
  recordsUrl,
  type Harness,
  type IssuedKey,
} from './harness.js';

interface RecordBody {
  id: string;
  subjectId: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  fields: Record<string, unknown>;
}

let h: Harness;
let keyA: IssuedKey;
const A = 'rec-a';
const B = 'rec-b';
const C = 'residents';
const urlA = recordsUrl(A, C);
const urlB = recordsUrl(B, C);

before(async () => {
  h = await openHarness();
  await createTenant(h, A);
  await createTenant(h, B);
  await createCollection(h, A, C);
  await createCollection(h, B, C);
  await createCollection(h, A, 'other');
  keyA = await issueKey(h, { name: 'rec-a key', role: 'tenant', tenantId: A });
});
after(async () => {
  await h.close();
});

async function create(url: string, body: unknown, key?: string): Promise<RecordBody> {
  const res = await h.call({ method: 'POST', url, body, ...(key === undefined ? {} : { key }) });
  assert.equal(res.statusCode, 201, res.payload);
  return res.json() as RecordBody;
}

async function count(tenant: string, collection: string): Promise<number> {
  const s = h.state.current;
  assert.ok(!s.sealed);
  return s.vault.records.count(tenant, collection);
}

describe('POST …/records', () => {
  test('creates a record: 201, ETag "1", a UUIDv7 id, canonical values, only the listed properties', async () => {
    const res = await h.call({
      method: 'POST',
      url: urlA,
      body: {
        subjectId: 'person-0001',
        fields: { family_name: '山田', given_name: '花子', income: '001200.50', household_size: 3, status: 'active', verified: true, birth_date: '1990-02-28', address: { postal_code: '100-0001' } },
      },
      key: keyA.key,
    });
    assert.equal(res.statusCode, 201, res.payload);
    assert.equal(res.headers.etag, '"1"');
    const r = res.json() as RecordBody;
    assert.deepEqual(Object.keys(r).sort(), ['createdAt', 'fields', 'id', 'subjectId', 'updatedAt', 'version']);
    assert.match(r.id, UUID);
    assert.equal(r.id[14], '7', 'a version-7 UUID');
    assert.equal(r.version, 1);
    assert.equal(r.subjectId, 'person-0001');
    assert.equal(r.createdAt, r.updatedAt);
    assert.deepEqual(r.fields, {
      family_name: '山田',
      given_name: '花子',
      income: '1200.5',
      household_size: 3,
      status: 'active',
      verified: true,
      birth_date: '1990-02-28',
      address: { postal_code: '100-0001' },
    });
    const got = await h.call({ method: 'GET', url: `${urlA}/${r.id}`, key: keyA.key });
    assert.equal(got.statusCode, 200);
    assert.equal(got.headers.etag, '"1"');
    assert.deepEqual(got.json(), r);
  });

  test('without a subject the record is readable and its subjectId is null', async () => {
    const r = await create(urlA, { fields: { family_name: '佐藤', given_name: '一郎' } });
    assert.equal(r.subjectId, null);
    const got = (await h.call({ method: 'GET', url: `${urlA}/${r.id}` })).json() as RecordBody;
    assert.equal(got.subjectId, null);
    assert.equal(got.fields.family_name, '佐藤');
  });

  test('RECORD_INVALID names each bad field and reason, never the value', async () => {
    const ok = { family_name: 'x', given_name: 'y' };
    const cases: Array<{ body: unknown; field?: string; reason: string }> = [
      { body: { fields: { family_name: SECRET } }, field: 'given_name', reason: 'required' },
      { body: { fields: { ...ok, family_name: null, given_name: SECRET } }, field: 'family_name', reason: 'required' },
      { body: { fields: { ...ok, family_name: 42 } }, field: 'family_name', reason: 'expected_string' },
      { body: { fields: { ...ok, given_name: [SECRET] } }, field: 'given_name', reason: 'expected_string' },
      { body: { fields: { ...ok, household_size: 0, kana: SECRET } }, field: 'household_size', reason: 'out_of_range' },
      { body: { fields: { ...ok, household_size: '3', kana: SECRET } }, field: 'household_size', reason: 'expected_integer' },
      { body: { fields: { ...ok, household_size: 2.5, kana: SECRET } }, field: 'household_size', reason: 'expected_integer' },
      { body: { fields: { ...ok, income: SECRET } }, field: 'income', reason: 'expected_decimal' },
      { body: { fields: { ...ok, income: '1e5' } }, field: 'income', reason: 'expected_decimal' },
      { body: { fields: { ...ok, birth_date: '2023-02-29', kana: SECRET } }, field: 'birth_date', reason: 'expected_date' },
      { body: { fields: { ...ok, birth_date: SECRET } }, field: 'birth_date', reason: 'expected_date' },
      { body: { fields: { ...ok, status: SECRET } }, field: 'status', reason: 'not_an_allowed_value' },
      { body: { fields: { ...ok, verified: 'true', kana: SECRET } }, field: 'verified', reason: 'expected_boolean' },
      { body: { fields: { ...ok, address: SECRET } }, field: 'address', reason: 'expected_object' },
      { body: { fields: { ...ok, address: { line1: 7, postal_code: SECRET } } }, field: 'address.line1', reason: 'expected_string' },
      { body: { fields: { ...ok, address: { city: SECRET } } }, field: 'address.city', reason: 'unknown_field' },
      { body: { fields: { ...ok, nickname: SECRET } }, field: 'nickname', reason: 'unknown_field' },
      { body: { fields: { ...ok, [SECRET]: 'x' } }, reason: 'unknown_field' },
      { body: { fields: { ...ok, family_name: `${SECRET}\u0000` } }, field: 'family_name', reason: 'contains_nul' },
      { body: `{"fields":{"family_name":"${SECRET}\\ud800","given_name":"y"}}`, field: 'family_name', reason: 'not_well_formed_unicode' },
      { body: { fields: { ...ok, kana: SECRET.repeat(126) } }, field: 'kana', reason: 'too_long' },
      { body: { subjectId: "'; DROP TABLE records; --", fields: { ...ok, kana: SECRET } }, field: 'subjectId', reason: 'invalid_subject_id' },
      { body: { subjectId: SECRET, fields: ok }, field: 'subjectId', reason: 'invalid_subject_id' },
    ];
    for (const c of cases) {
      const body = await assertRefused(h, { method: 'POST', url: urlA, body: c.body }, 'RECORD_INVALID');
      assertDetail(body, { ...(c.field === undefined ? {} : { field: c.field }), reason: c.reason });
      for (const e of body.errors ?? []) assert.equal(e.index, undefined, 'a single record has no index');
    }
  });

  test('REQUEST_INVALID for bodies of the wrong shape', async () => {
    const cases: Array<{ body: unknown; field?: string; reason: string }> = [
      { body: { fields: { family_name: SECRET, given_name: 'y' }, id: ABSENT_ID }, field: 'id', reason: 'unknown_property' },
      { body: { fields: { family_name: SECRET, given_name: 'y' }, version: 5 }, field: 'version', reason: 'unknown_property' },
      { body: { subjectId: SECRET }, reason: 'required' },
      { body: { fields: [SECRET] }, field: 'fields', reason: 'type' },
      { body: { fields: SECRET }, field: 'fields', reason: 'type' },
      { body: { fields: { family_name: SECRET, given_name: 'y' }, subjectId: 12 }, field: 'subjectId', reason: 'type' },
      { body: [{ fields: { family_name: SECRET } }], reason: 'type' },
    ];
    for (const c of cases) {
      const body = await assertRefused(h, { method: 'POST', url: urlA, body: c.body }, 'REQUEST_INVALID');
      assertDetail(body, { ...(c.field === undefined ? {} : { field: c.field }), reason: c.reason });
    }
  });

  test('COLLECTION_NOT_FOUND and TENANT_NOT_FOUND', async () => {
    const body = { fields: { family_name: SECRET, given_name: 'y' } };
    await assertRefused(h, { method: 'POST', url: recordsUrl(A, 'absent'), body }, 'COLLECTION_NOT_FOUND');
    await assertRefused(h, { method: 'POST', url: recordsUrl('no-such-tenant', C), body }, 'TENANT_NOT_FOUND');
  });
});

describe('SQL and shell metacharacters', () => {
  test('in every string field (top-level, unique, searchable, nested) they are stored, read and searched exactly', async () => {
    const values = [...METACHARACTERS, 'ｶﾀｶﾅ 𠮷 🍣'];
    for (const [i, m] of values.entries()) {
      const fields = { family_name: m, given_name: m, kana: m, resident_no: `${i}:${m}`, address: { postal_code: m, line1: m } };
      const created = await create(urlA, { fields });
      assert.deepEqual(created.fields, fields);
      const got = (await h.call({ method: 'GET', url: `${urlA}/${created.id}` })).json() as RecordBody;
      assert.deepEqual(got.fields, fields, `read back exactly: ${m}`);
      const found = await h.call({ method: 'POST', url: `${urlA}/search`, body: { where: { family_name: m } } });
      assert.equal(found.statusCode, 200, found.payload);
      const records = (found.json() as { records: RecordBody[] }).records;
      assert.deepEqual(
        records.map((r) => r.id),
        [created.id],
        `search finds exactly that record: ${m}`,
      );
      const byUnique = (await h.call({ method: 'POST', url: `${urlA}/search`, body: { where: { resident_no: `${i}:${m}` } } })).json() as { records: RecordBody[] };
      assert.deepEqual(
        byUnique.records.map((r) => r.id),
        [created.id],
      );
    }
    const nul = await assertRefused(h, { method: 'POST', url: urlA, body: { fields: { family_name: 'a', given_name: 'b', kana: 'x\u0000y' } } }, 'RECORD_INVALID');
    assertDetail(nul, { field: 'kana', reason: 'contains_nul' });
  });
});

describe('UNIQUE_VIOLATION', () => {
  test('a unique value is taken once per collection, after normalisation; other collections and tenants are separate', async () => {
    await create(urlA, { fields: { family_name: 'u', given_name: 'u', resident_no: 'R-100' } });
    const dup = await assertRefused(h, { method: 'POST', url: urlA, body: { fields: { family_name: SECRET, given_name: 'u', resident_no: 'R-100' } } }, 'UNIQUE_VIOLATION');
    assertDetail(dup, { field: 'resident_no', reason: 'unique_violation' });
    assert.ok(!JSON.stringify(dup).includes('R-100'), 'the taken value is not echoed');
    await assertRefused(h, { method: 'POST', url: urlA, body: { fields: { family_name: SECRET, given_name: 'u', resident_no: 'Ｒ－１００' } } }, 'UNIQUE_VIOLATION');
    await create(urlB, { fields: { family_name: 'u', given_name: 'u', resident_no: 'R-100' } });
  });
});

describe('GET …/records/:id', () => {
  test('RECORD_NOT_FOUND for an absent id, for an id of another tenant, and for an id of another collection', async () => {
    const inA = await create(urlA, { fields: { family_name: SECRET, given_name: SECRET } });
    await assertRefused(h, { method: 'GET', url: `${urlA}/${ABSENT_ID}` }, 'RECORD_NOT_FOUND');
    const cross = await assertRefused(h, { method: 'GET', url: `${urlB}/${inA.id}` }, 'RECORD_NOT_FOUND');
    assert.equal(cross.errors, undefined);
    await assertRefused(h, { method: 'GET', url: `${recordsUrl(A, 'other')}/${inA.id}` }, 'RECORD_NOT_FOUND');
    // and the write routes agree
    await assertRefused(h, { method: 'PUT', url: `${urlB}/${inA.id}`, headers: { 'if-match': '"1"' }, body: { fields: { family_name: SECRET, given_name: 'x' } } }, 'RECORD_NOT_FOUND');
    await assertRefused(h, { method: 'DELETE', url: `${urlB}/${inA.id}` }, 'RECORD_NOT_FOUND');
    const still = await h.call({ method: 'GET', url: `${urlA}/${inA.id}` });
    assert.equal(still.statusCode, 200, 'the record in tenant A is untouched');
    assert.equal((still.json() as RecordBody).version, 1);
  });

  test('REQUEST_INVALID for an id that is not a UUID; COLLECTION_NOT_FOUND; TENANT_NOT_FOUND', async () => {
    const bad = await assertRefused(h, { method: 'GET', url: `${urlA}/${encodeURIComponent(SECRET)}` }, 'REQUEST_INVALID');
    assertDetail(bad, { field: 'id', reason: 'pattern' });
    await assertRefused(h, { method: 'GET', url: `${urlA}/${ABSENT_ID.toUpperCase()}` }, 'REQUEST_INVALID');
    await assertRefused(h, { method: 'GET', url: `${urlA}/${encodeURIComponent("1' OR '1'='1")}` }, 'REQUEST_INVALID');
    await assertRefused(h, { method: 'GET', url: `${recordsUrl(A, 'absent')}/${ABSENT_ID}` }, 'COLLECTION_NOT_FOUND');
    await assertRefused(h, { method: 'GET', url: `${recordsUrl('no-such-tenant', C)}/${ABSENT_ID}` }, 'TENANT_NOT_FOUND');
  });
});

describe('PUT …/records/:id', () => {
  test('replaces a record under If-Match, bumping version and ETag; a stale ETag is VERSION_CONFLICT', async () => {
    const r = await create(urlA, { subjectId: 'person-put', fields: { family_name: '旧', given_name: 'x', resident_no: 'PUT-1' } });
    const res = await h.call({ method: 'PUT', url: `${urlA}/${r.id}`, headers: { 'if-match': '"1"' }, body: { fields: { family_name: '新', given_name: 'x', resident_no: 'PUT-1' } }, key: keyA.key });
    assert.equal(res.statusCode, 200, res.payload);
    assert.equal(res.headers.etag, '"2"');
    const u = res.json() as RecordBody;
    assert.equal(u.version, 2);
    assert.equal(u.createdAt, r.createdAt);
    assert.equal(u.subjectId, 'person-put', 'omitting subjectId keeps it');
    assert.deepEqual(u.fields, { family_name: '新', given_name: 'x', resident_no: 'PUT-1' });
    const got = await h.call({ method: 'GET', url: `${urlA}/${r.id}` });
    assert.equal(got.headers.etag, '"2"');
    assert.deepEqual(got.json(), u);

    const stale = await assertRefused(h, { method: 'PUT', url: `${urlA}/${r.id}`, headers: { 'if-match': '"1"' }, body: { fields: { family_name: SECRET, given_name: 'x' } } }, 'VERSION_CONFLICT');
    assert.equal(stale.errors, undefined);
    await assertRefused(h, { method: 'PUT', url: `${urlA}/${r.id}`, headers: { 'if-match': '"3"' }, body: { fields: { family_name: SECRET, given_name: 'x' } } }, 'VERSION_CONFLICT');
    const after = (await h.call({ method: 'GET', url: `${urlA}/${r.id}` })).json() as RecordBody;
    assert.equal(after.version, 2);
    assert.equal(after.fields.family_name, '新');

    const cleared = await h.call({ method: 'PUT', url: `${urlA}/${r.id}`, headers: { 'if-match': ' "2" ' }, body: { subjectId: null, fields: { family_name: '新', given_name: 'x' } } });
    assert.equal(cleared.statusCode, 200, cleared.payload);
    assert.equal((cleared.json() as RecordBody).subjectId, null, 'subjectId null moves the record to the collection key');
    assert.equal((await h.call({ method: 'GET', url: `${urlA}/${r.id}` })).statusCode, 200);
  });

  test('PRECONDITION_REQUIRED without If-Match; REQUEST_INVALID for anything but a strong version ETag', async () => {
    const r = await create(urlA, { fields: { family_name: 'p', given_name: 'p' } });
    const body = { fields: { family_name: SECRET, given_name: 'x' } };
    const missing = await assertRefused(h, { method: 'PUT', url: `${urlA}/${r.id}`, body }, 'PRECONDITION_REQUIRED');
    assert.equal(missing.errors, undefined);
    // Checked before the record is looked up: an absent record needs If-Match too.
    await assertRefused(h, { method: 'PUT', url: `${urlA}/${ABSENT_ID}`, body }, 'PRECONDITION_REQUIRED');
    for (const etag of ['W/"1"', '*', '1', '"0"', '"01"', '"1", "2"', `"${encodeURIComponent(SECRET)}"`, '"1e0"', '"9999999999999999"']) {
      const bad = await assertRefused(h, { method: 'PUT', url: `${urlA}/${r.id}`, headers: { 'if-match': etag }, body }, 'REQUEST_INVALID');
      assertDetail(bad, { field: 'If-Match', reason: 'invalid_etag' });
    }
    assert.equal(((await h.call({ method: 'GET', url: `${urlA}/${r.id}` })).json() as RecordBody).version, 1, 'nothing was written');
  });

  test('RECORD_INVALID, RECORD_NOT_FOUND and UNIQUE_VIOLATION on replace; a record keeps its own unique value', async () => {
    const one = await create(urlA, { fields: { family_name: 'a', given_name: 'a', resident_no: 'PUT-U1' } });
    await create(urlA, { fields: { family_name: 'b', given_name: 'b', resident_no: 'PUT-U2' } });
    const invalid = await assertRefused(h, { method: 'PUT', url: `${urlA}/${one.id}`, headers: { 'if-match': '"1"' }, body: { fields: { family_name: SECRET } } }, 'RECORD_INVALID');
    assertDetail(invalid, { field: 'given_name', reason: 'required' });
    await assertRefused(h, { method: 'PUT', url: `${urlA}/${ABSENT_ID}`, headers: { 'if-match': '"1"' }, body: { fields: { family_name: SECRET, given_name: 'x' } } }, 'RECORD_NOT_FOUND');
    const taken = await assertRefused(h, { method: 'PUT', url: `${urlA}/${one.id}`, headers: { 'if-match': '"1"' }, body: { fields: { family_name: SECRET, given_name: 'a', resident_no: 'PUT-U2' } } }, 'UNIQUE_VIOLATION');
    assertDetail(taken, { field: 'resident_no', reason: 'unique_violation' });
    const keep = await h.call({ method: 'PUT', url: `${urlA}/${one.id}`, headers: { 'if-match': '"1"' }, body: { fields: { family_name: 'a2', given_name: 'a', resident_no: 'PUT-U1' } } });
    assert.equal(keep.statusCode, 200, keep.payload);
    await assertRefused(h, { method: 'PUT', url: `${urlA}/${one.id}`, headers: { 'if-match': '"2"' }, body: { fields: { family_name: 'x', given_name: 'y' }, version: 3 } }, 'REQUEST_INVALID');
  });
});

describe('DELETE …/records/:id', () => {
  test('deletes with or without If-Match; a wrong ETag is VERSION_CONFLICT; a deleted record is gone from reads, search and uniqueness', async () => {
    const r = await create(urlA, { fields: { family_name: '削除', given_name: 'x', resident_no: 'DEL-1' } });
    await assertRefused(h, { method: 'DELETE', url: `${urlA}/${r.id}`, headers: { 'if-match': '"2"' } }, 'VERSION_CONFLICT');
    const bad = await assertRefused(h, { method: 'DELETE', url: `${urlA}/${r.id}`, headers: { 'if-match': `W/"${encodeURIComponent(SECRET)}"` } }, 'REQUEST_INVALID');
    assertDetail(bad, { field: 'If-Match', reason: 'invalid_etag' });
    assert.equal((await h.call({ method: 'GET', url: `${urlA}/${r.id}` })).statusCode, 200, 'still there');
    const del = await h.call({ method: 'DELETE', url: `${urlA}/${r.id}`, headers: { 'if-match': '"1"' }, key: keyA.key });
    assert.equal(del.statusCode, 204);
    assert.equal(del.payload, '');
    await assertRefused(h, { method: 'GET', url: `${urlA}/${r.id}` }, 'RECORD_NOT_FOUND');
    await assertRefused(h, { method: 'DELETE', url: `${urlA}/${r.id}` }, 'RECORD_NOT_FOUND');
    const found = (await h.call({ method: 'POST', url: `${urlA}/search`, body: { where: { family_name: '削除' } } })).json() as { records: unknown[] };
    assert.deepEqual(found.records, []);
    await create(urlA, { fields: { family_name: 'again', given_name: 'x', resident_no: 'DEL-1' } });

    const r2 = await create(urlA, { fields: { family_name: 'x', given_name: 'x' } });
    assert.equal((await h.call({ method: 'DELETE', url: `${urlA}/${r2.id}` })).statusCode, 204);
    await assertRefused(h, { method: 'DELETE', url: `${urlA}/${ABSENT_ID}` }, 'RECORD_NOT_FOUND');
    await assertRefused(h, { method: 'DELETE', url: `${recordsUrl(A, 'absent')}/${ABSENT_ID}` }, 'COLLECTION_NOT_FOUND');
  });
});

describe('POST …/records/search', () => {
  test('finds by normalised equality, ANDs terms, and pages with limit and next', async () => {
    const t = 'search-t';
    await createTenant(h, t);
    await createCollection(h, t, C);
    const url = recordsUrl(t, C);
    const a = await create(url, { fields: { family_name: '山田　太郎', given_name: 'a', birth_date: '1980-01-01' } });
    const b = await create(url, { fields: { family_name: '山田 太郎', given_name: 'b', birth_date: '1990-01-01' } });
    await create(url, { fields: { family_name: '山田', given_name: 'c', birth_date: '1980-01-01' } });
    const search = async (body: unknown) => {
      const res = await h.call({ method: 'POST', url: `${url}/search`, body });
      assert.equal(res.statusCode, 200, res.payload);
      return res.json() as { records: RecordBody[]; next?: string };
    };
    const both = await search({ where: { family_name: ' 山田  太郎 ' } });
    assert.deepEqual(both.records.map((r) => r.id).sort(), [a.id, b.id].sort());
    assert.equal(both.next, undefined);
    assert.deepEqual(both.records.find((r) => r.id === a.id)?.fields.family_name, '山田　太郎', 'stored as sent; only the index is normalised');
    const anded = await search({ where: { family_name: '山田 太郎', birth_date: '1980-01-01' } });
    assert.deepEqual(
      anded.records.map((r) => r.id),
      [a.id],
    );
    assert.deepEqual((await search({ where: { family_name: '鈴木' } })).records, []);

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await create(url, { fields: { family_name: 'ページ', given_name: String(i) } })).id);
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await search({ where: { family_name: 'ページ' }, limit: 2, ...(after ? { after } : {}) });
      assert.ok(page.records.length <= 2);
      seen.push(...page.records.map((r) => r.id));
      after = page.next;
      pages++;
    } while (after !== undefined && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...ids].sort(), 'every match once, in id order');
  });

  test('a tenant key searches its own tenant only', async () => {
    await create(urlB, { fields: { family_name: 'only-b', given_name: 'x' } });
    await assertRefused(h, { method: 'POST', url: `${urlB}/search`, body: { where: { family_name: SECRET } }, key: keyA.key }, 'FORBIDDEN');
    const inA = await h.call({ method: 'POST', url: `${urlA}/search`, body: { where: { family_name: 'only-b' } }, key: keyA.key });
    assert.deepEqual((inA.json() as { records: unknown[] }).records, []);
  });

  test('SEARCH_INVALID for unknown, unsearchable or ill-typed terms, without echoing names or values', async () => {
    const cases: Array<{ where: Record<string, unknown>; field?: string; reason: string }> = [
      { where: { nickname: SECRET }, field: 'nickname', reason: 'unknown_field' },
      { where: { [SECRET]: 'x' }, reason: 'unknown_field' },
      { where: { given_name: SECRET }, field: 'given_name', reason: 'not_searchable' },
      { where: { address: { line1: SECRET } }, field: 'address', reason: 'not_searchable' },
      { where: { birth_date: SECRET }, field: 'birth_date', reason: 'expected_date' },
      { where: { family_name: 7, kana: SECRET }, field: 'family_name', reason: 'expected_string' },
      { where: { family_name: null, kana: SECRET }, field: 'family_name', reason: 'required' },
      { where: { family_name: `${SECRET}\u0000` }, field: 'family_name', reason: 'contains_nul' },
    ];
    for (const c of cases) {
      const body = await assertRefused(h, { method: 'POST', url: `${urlA}/search`, body: { where: c.where } }, 'SEARCH_INVALID');
      assertDetail(body, { ...(c.field === undefined ? {} : { field: c.field }), reason: c.reason });
    }
  });

  test('REQUEST_INVALID for bad search requests', async () => {
    const cases: Array<{ body: unknown; field?: string; reason: string }> = [
      { body: { where: {} }, field: 'where', reason: 'minProperties' },
      { body: { where: SECRET }, field: 'where', reason: 'type' },
      { body: {}, reason: 'required' },
      { body: { where: { family_name: SECRET }, limit: 0 }, field: 'limit', reason: 'minimum' },
      { body: { where: { family_name: SECRET }, limit: 1001 }, field: 'limit', reason: 'maximum' },
      { body: { where: { family_name: SECRET }, limit: '5' }, field: 'limit', reason: 'type' },
      { body: { where: { family_name: SECRET }, after: SECRET }, field: 'after', reason: 'pattern' },
      { body: { where: { family_name: SECRET }, sort: 'family_name' }, field: 'sort', reason: 'unknown_property' },
      { body: { where: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`f${i}`, SECRET])) }, field: 'where', reason: 'maxProperties' },
    ];
    for (const c of cases) {
      const body = await assertRefused(h, { method: 'POST', url: `${urlA}/search`, body: c.body }, 'REQUEST_INVALID');
      assertDetail(body, { ...(c.field === undefined ? {} : { field: c.field }), reason: c.reason });
    }
  });
});

describe('POST …/records/batch', () => {
  test('creates all records and answers with their ids and versions', async () => {
    await createCollection(h, A, 'batch_ok');
    const url = recordsUrl(A, 'batch_ok');
    const res = await h.call({
      method: 'POST',
      url: `${url}/batch`,
      body: { records: [{ fields: { family_name: 'a', given_name: '1' } }, { subjectId: 'p-9', fields: { family_name: 'b', given_name: '2' } }, { fields: { family_name: 'c', given_name: '3' } }] },
      key: keyA.key,
    });
    assert.equal(res.statusCode, 201, res.payload);
    const body = res.json() as { created: number; records: Array<{ id: string; version: number }> };
    assert.equal(body.created, 3);
    assert.equal(body.records.length, 3);
    const names: string[] = [];
    for (const r of body.records) {
      assert.equal(r.version, 1);
      const got = (await h.call({ method: 'GET', url: `${url}/${r.id}` })).json() as RecordBody;
      names.push(got.fields.family_name as string);
    }
    assert.deepEqual(names, ['a', 'b', 'c'], 'ids are answered in input order');
    assert.equal(await count(A, 'batch_ok'), 3);
  });

  test('atomic: one invalid record among many is 422 naming its index, and nothing is written', async () => {
    await createCollection(h, A, 'batch_bad');
    const url = recordsUrl(A, 'batch_bad');
    const records = Array.from({ length: 50 }, (_, i) => ({ fields: { family_name: `n${i}`, given_name: 'x' } }));
    records[37] = { fields: { family_name: 'n37', given_name: 'x', household_size: SECRET } as never };
    const body = await assertRefused(h, { method: 'POST', url: `${url}/batch`, body: { records } }, 'RECORD_INVALID');
    assertDetail(body, { index: 37, field: 'household_size', reason: 'expected_integer' });
    assert.equal(body.errors?.length, 1);
    assert.equal(await count(A, 'batch_bad'), 0);
  });

  test('atomic: a unique duplicate inside the batch, or against a stored record, is 409 and nothing is written', async () => {
    await createCollection(h, A, 'batch_dup');
    const url = recordsUrl(A, 'batch_dup');
    const records = Array.from({ length: 20 }, (_, i) => ({ fields: { family_name: SECRET, given_name: 'x', resident_no: `D-${i}` } }));
    records[15] = { fields: { family_name: SECRET, given_name: 'x', resident_no: 'D-3' } };
    const inBatch = await assertRefused(h, { method: 'POST', url: `${url}/batch`, body: { records } }, 'UNIQUE_VIOLATION');
    assertDetail(inBatch, { index: 15, field: 'resident_no', reason: 'duplicate_in_batch' });
    assert.equal(await count(A, 'batch_dup'), 0);

    await create(url, { fields: { family_name: 'stored', given_name: 'x', resident_no: 'D-7' } });
    records[15] = { fields: { family_name: SECRET, given_name: 'x', resident_no: 'D-15' } };
    const vsStored = await assertRefused(h, { method: 'POST', url: `${url}/batch`, body: { records } }, 'UNIQUE_VIOLATION');
    assertDetail(vsStored, { index: 7, field: 'resident_no', reason: 'unique_violation' });
    assert.equal(await count(A, 'batch_dup'), 1, 'only the record stored before');
  });

  test('REQUEST_INVALID for an empty batch, a non-array, or a bad record shape (with its index)', async () => {
    await assertRefused(h, { method: 'POST', url: `${urlA}/batch`, body: { records: [] } }, 'REQUEST_INVALID');
    await assertRefused(h, { method: 'POST', url: `${urlA}/batch`, body: { records: { fields: SECRET } } }, 'REQUEST_INVALID');
    const bad = await assertRefused(h, { method: 'POST', url: `${urlA}/batch`, body: { records: [{ fields: { family_name: 'a', given_name: 'b' } }, { fields: { family_name: SECRET }, extra: 1 }] } }, 'REQUEST_INVALID');
    assertDetail(bad, { field: 'records.1.extra', reason: 'unknown_property' });
  });

  test('a tenant key cannot batch into another tenant; missing collection is COLLECTION_NOT_FOUND', async () => {
    const body = { records: [{ fields: { family_name: SECRET, given_name: 'x' } }] };
    await assertRefused(h, { method: 'POST', url: `${urlB}/batch`, body, key: keyA.key }, 'FORBIDDEN');
    await assertRefused(h, { method: 'POST', url: `${recordsUrl(A, 'absent')}/batch`, body }, 'COLLECTION_NOT_FOUND');
  });

  test('BATCH_TOO_LARGE at 10,001 records with nothing written; exactly 10,000 (over 1 MiB of body) succeed', async () => {
    await createCollection(h, A, 'batch_max');
    const url = recordsUrl(A, 'batch_max');
    const records = Array.from({ length: 10_001 }, (_, i) => ({ fields: { family_name: `一括${i % 100}`, given_name: 'x'.repeat(60), resident_no: `M-${i}` } }));
    records[10_000] = { fields: { family_name: SECRET, given_name: SECRET, resident_no: SECRET } };
    const tooMany = await assertRefused(h, { method: 'POST', url: `${url}/batch`, body: { records } }, 'BATCH_TOO_LARGE');
    assert.match(tooMany.detail, /10000/);
    assert.equal(await count(A, 'batch_max'), 0);

    records.pop();
    const body = JSON.stringify({ records });
    assert.ok(Buffer.byteLength(body) > 1024 * 1024, 'the batch body is above the 1 MiB default limit');
    const res = await h.call({ method: 'POST', url: `${url}/batch`, body });
    assert.equal(res.statusCode, 201, res.payload.slice(0, 300));
    const created = res.json() as { created: number; records: Array<{ id: string }> };
    assert.equal(created.created, 10_000);
    assert.equal(new Set(created.records.map((r) => r.id)).size, 10_000);
    assert.equal(await count(A, 'batch_max'), 10_000);
    const found = (await h.call({ method: 'POST', url: `${url}/search`, body: { where: { resident_no: 'M-9999' } } })).json() as { records: RecordBody[] };
    assert.equal(found.records.length, 1);
    assert.equal(found.records[0]?.id, created.records[9999]?.id);
  });
});

describe('tenant isolation', () => {
  test('a tenant key is FORBIDDEN on every record route of another tenant, and allowed on its own', async () => {
    const inB = await create(urlB, { fields: { family_name: 'b', given_name: 'b' } });
    const body = { fields: { family_name: SECRET, given_name: 'x' } };
    for (const c of [
      { method: 'POST' as const, url: urlB, body },
      { method: 'GET' as const, url: `${urlB}/${inB.id}` },
      { method: 'PUT' as const, url: `${urlB}/${inB.id}`, headers: { 'if-match': '"1"' }, body },
      { method: 'DELETE' as const, url: `${urlB}/${inB.id}` },
      { method: 'GET' as const, url: `${recordsUrl('no-such-tenant', C)}/${ABSENT_ID}` },
    ]) {
      await assertRefused(h, { ...c, key: keyA.key }, 'FORBIDDEN');
    }
    const still = (await h.call({ method: 'GET', url: `${urlB}/${inB.id}` })).json() as RecordBody;
    assert.equal(still.version, 1);
    assert.equal(await count(B, C) > 0, true);
  });
});

describe('DECRYPTION_FAILED', () => {
  test('a tampered ciphertext is one indistinguishable 500 that reveals nothing, and other records still read', async () => {
    const r = await create(urlA, { fields: { family_name: SECRET, given_name: SECRET } });
    const s = h.state.current;
    assert.ok(!s.sealed);
    const collection = await s.vault.collections.get(A, C);
    const row = await s.store.getRecord(collection.id, r.id);
    assert.ok(row);
    const ciphertext = Buffer.from(row.ciphertext);
    ciphertext[ciphertext.length - 1] = (ciphertext[ciphertext.length - 1] as number) ^ 0x01;
    assert.equal(await s.store.replaceRecord({ ...row, ciphertext }, row.version, []), true);
    const res = await h.call({ method: 'GET', url: `${urlA}/${r.id}` });
    const body = assertProblem(res, 'DECRYPTION_FAILED');
    assert.equal(body.detail, 'decryption operation failed');
    assertNoLeak(res);
    assert.ok(!res.payload.includes(collection.id), 'no internal ids');
    const other = await create(urlA, { fields: { family_name: 'fine', given_name: 'x' } });
    assert.equal((await h.call({ method: 'GET', url: `${urlA}/${other.id}` })).statusCode, 200);
  });
});
