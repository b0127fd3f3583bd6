/**
 * Cross-cutting HTTP behaviour: body parsing and limits, authentication, unknown routes, sealed and
 * failing states, response headers, prototype poisoning, and what reaches the log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fromFrameworkError } from '../../src/http/problem.js';
import type { VaultState } from '../../src/vault/index.js';
import {
  ABSENT_ID,
  SECRET,
  UUID,
  assertDetail,
  assertNoLeak,
  assertProblem,
  assertRefused,
  assertStillServing,
  issueKey,
  openHarness,
  recordsUrl,
  type Call,
  type Harness,
} from './harness.js';

let h: Harness;
before(async () => {
  h = await openHarness();
});
after(async () => {
  await h.close();
});

const base = () => ({
  tenant: `/v1/tenants/${h.base.tenant}`,
  collection: `/v1/tenants/${h.base.tenant}/collections/${h.base.collection}`,
  records: recordsUrl(h.base.tenant, h.base.collection),
  record: `${recordsUrl(h.base.tenant, h.base.collection)}/${h.base.recordId}`,
});

/** Every route that takes a JSON body, with a body it would accept. */
function bodyRoutes(): Array<{ method: 'POST' | 'PUT' | 'PATCH'; url: string; headers?: Record<string, string> }> {
  const b = base();
  return [
    { method: 'POST', url: '/v1/tenants' },
    { method: 'POST', url: `${b.tenant}/collections` },
    { method: 'PATCH', url: b.collection },
    { method: 'POST', url: b.records },
    { method: 'POST', url: `${b.records}/batch` },
    { method: 'POST', url: `${b.records}/search` },
    { method: 'PUT', url: b.record, headers: { 'if-match': '"1"' } },
    { method: 'POST', url: '/v1/api-keys' },
  ];
}

/** Every data route (everything but health and docs), each with a body it would accept. */
function dataRoutes(): Call[] {
  const b = base();
  return [
    { method: 'POST', url: '/v1/tenants', body: { id: 'sealed-t', name: 'x' } },
    { method: 'GET', url: '/v1/tenants' },
    { method: 'GET', url: b.tenant },
    { method: 'POST', url: `${b.tenant}/collections`, body: { name: 'sealed_c', fields: [{ name: 'a', type: 'string' }] } },
    { method: 'GET', url: `${b.tenant}/collections` },
    { method: 'GET', url: b.collection },
    { method: 'PATCH', url: b.collection, body: { addFields: [{ name: 'sealed_f', type: 'string' }] } },
    { method: 'POST', url: b.records, body: { fields: { family_name: 'a', given_name: 'b' } } },
    { method: 'POST', url: `${b.records}/batch`, body: { records: [{ fields: { family_name: 'a', given_name: 'b' } }] } },
    { method: 'POST', url: `${b.records}/search`, body: { where: { family_name: h.base.family } } },
    { method: 'GET', url: b.record },
    { method: 'PUT', url: b.record, headers: { 'if-match': '"1"' }, body: { fields: { family_name: 'a', given_name: 'b' } } },
    { method: 'DELETE', url: b.record },
    { method: 'POST', url: '/v1/api-keys', body: { name: 'k', role: 'admin' } },
    { method: 'GET', url: '/v1/api-keys' },
    { method: 'DELETE', url: '/v1/api-keys/0123456789abcdef' },
  ];
}

describe('response headers', () => {
  test('every answer, success or problem, carries a fresh request id and no-store / nosniff', async () => {
    const ok = await h.call({ method: 'GET', url: '/v1/tenants' });
    const problem = await h.call({ method: 'GET', url: '/nope' });
    const ids = new Set<string>();
    for (const res of [ok, problem]) {
      assert.match(String(res.headers['kuraban-request-id']), UUID);
      ids.add(String(res.headers['kuraban-request-id']));
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
    assert.equal(ids.size, 2, 'each request gets its own id');
    assert.match(String(ok.headers['content-type']), /^application\/json/);
  });

  test('a request-id header sent by the caller is not adopted', async () => {
    const res = await h.call({ method: 'GET', url: '/nope', headers: { 'request-id': 'abc', 'x-request-id': 'abc' } });
    const body = assertProblem(res, 'ROUTE_NOT_FOUND');
    assert.notEqual(res.headers['kuraban-request-id'], 'abc');
    assert.match(body.instance, /^urn:kuraban:request:[0-9a-f-]{36}$/);
  });
});

describe('ROUTE_NOT_FOUND', () => {
  test('unknown paths, wrong methods and trailing slashes are 404 problems that do not echo the path', async () => {
    const calls: Call[] = [
      { method: 'GET', url: '/nope' },
      { method: 'GET', url: `/v1/${encodeURIComponent(SECRET)}` },
      { method: 'GET', url: `/v1/tenants/${h.base.tenant}/${encodeURIComponent(SECRET)}` },
      { method: 'GET', url: `/v1/tenants/${h.base.tenant}/` },
      { method: 'DELETE', url: '/v1/tenants' },
      { method: 'PUT', url: '/v1/api-keys' },
      { method: 'GET', url: `${base().records}` },
      { method: 'POST', url: `/V1/TENANTS` },
      { method: 'GET', url: `/v2/tenants?name=${encodeURIComponent(SECRET)}` },
    ];
    for (const c of calls) await assertRefused(h, c, 'ROUTE_NOT_FOUND');
  });

  test('a malformed percent-encoding or an over-long path parameter is a problem that does not quote the URL', async () => {
    const bad = await assertRefused(h, { method: 'GET', url: `/v1/tenants/${encodeURIComponent(SECRET)}%ZZ` }, 'REQUEST_INVALID');
    assertDetail(bad, { reason: 'bad_url' });
    const long = await assertRefused(h, { method: 'GET', url: `/v1/tenants/${encodeURIComponent(SECRET)}${'x'.repeat(250)}` }, 'REQUEST_INVALID');
    assertDetail(long, { reason: 'param_too_long' });
  });
});

describe('REQUEST_INVALID details', () => {
  test('a schema error under a caller-chosen key names the path with the key blanked out, never the key', () => {
    const err = fromFrameworkError({
      validation: [
        { instancePath: `/addEnumValues/${SECRET}`, keyword: 'type', params: {} },
        { instancePath: '/records/12/fields', keyword: 'type', params: {} },
        { instancePath: '/records/0', keyword: 'additionalProperties', params: { additionalProperty: SECRET } },
        { instancePath: `/a~1b/${encodeURIComponent(SECRET)}`, keyword: 'pattern', params: {} },
      ],
    });
    assert.equal(err.code, 'REQUEST_INVALID');
    assert.deepEqual(err.details, [
      { field: 'addEnumValues.*', reason: 'type' },
      { field: 'records.12.fields', reason: 'type' },
      { field: 'records.0', reason: 'unknown_property' },
      { field: '*.*', reason: 'pattern' },
    ]);
  });

  test('a key that is not a field name is refused before it can reach an error path', async () => {
    const body = await assertRefused(h, { method: 'PATCH', url: base().collection, body: { addEnumValues: { status: ['x'], [SECRET]: SECRET } } }, 'REQUEST_INVALID');
    assertDetail(body, { field: 'addEnumValues', reason: 'propertyNames' });
  });
});

describe('UNAUTHENTICATED', () => {
  test('missing, malformed and wrong keys are all 401 with one message, before anything else is looked at', async () => {
    const [, id] = /^kbn_([0-9a-f]{16})_/.exec(h.adminKey) ?? [];
    assert.ok(id);
    const wrongSecret = `kbn_${id}_${'A'.repeat(43)}`;
    const variants: Array<Record<string, string>> = [
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: `Basic ${Buffer.from(`admin:${SECRET}`).toString('base64')}` },
      { authorization: `Bearer kbn_${SECRET}` },
      { authorization: `Bearer ${encodeURIComponent(SECRET)}` },
      { authorization: `Bearer ${h.adminKey} ${h.adminKey}` },
      { authorization: `Bearer ${h.adminKey}x` },
      { authorization: `Bearer ${wrongSecret}` },
      { authorization: `Bearer kbn_0000000000000000_${'A'.repeat(43)}` },
      { authorization: `Bearer ${'x'.repeat(500)}` },
    ];
    const details = new Set<string>();
    for (const headers of variants) {
      for (const c of [
        { method: 'GET' as const, url: '/v1/tenants' },
        { method: 'GET' as const, url: base().record },
        { method: 'DELETE' as const, url: base().record },
      ]) {
        const res = await h.call({ ...c, headers, key: null });
        const body = assertProblem(res, 'UNAUTHENTICATED', JSON.stringify(headers));
        assertNoLeak(res);
        assertNoLeak(res, h.adminKey);
        details.add(body.detail);
      }
    }
    assert.equal(details.size, 2, 'a missing/malformed header and a bad key each have one fixed message');
    await assertStillServing(h);
  });

  test('the scheme name is case-insensitive (RFC 9110 §11.1); the key is not', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const res = await h.call({ method: 'GET', url: '/v1/tenants', headers: { authorization: `${scheme} ${h.adminKey}` }, key: null });
      assert.equal(res.statusCode, 200, scheme);
    }
    const upper = h.adminKey.replace(/^kbn_/, 'KBN_');
    assertProblem(await h.call({ method: 'GET', url: '/v1/tenants', key: upper }), 'UNAUTHENTICATED');
  });

  test('a tenant-scoped 404 is not revealed to an unauthenticated caller', async () => {
    const res = await h.call({ method: 'GET', url: `/v1/tenants/no-such-tenant/collections/x/records/${ABSENT_ID}`, key: null });
    assertProblem(res, 'UNAUTHENTICATED');
  });
});

describe('request bodies on every body route', () => {
  const cases: Array<{ name: string; body: string | Buffer; contentType?: string; code: 'MALFORMED_JSON' | 'INVALID_UTF8' | 'UNSUPPORTED_MEDIA_TYPE' }> = [
    { name: 'truncated JSON', body: `{"name":"${SECRET}",`, code: 'MALFORMED_JSON' },
    { name: 'trailing garbage', body: `{"name":"x"} ${SECRET}`, code: 'MALFORMED_JSON' },
    { name: 'single quotes', body: `{'name':'${SECRET}'}`, code: 'MALFORMED_JSON' },
    { name: 'bare value', body: SECRET, code: 'MALFORMED_JSON' },
    { name: 'whitespace only', body: ' \n\t ', code: 'MALFORMED_JSON' },
    { name: 'NUL byte outside a string', body: `{"name":"${SECRET}"}\u0000`, code: 'MALFORMED_JSON' },
    { name: 'raw control character in a string', body: `{"name":"${SECRET}\u0001"}`, code: 'MALFORMED_JSON' },
    { name: 'invalid UTF-8 byte', body: Buffer.concat([Buffer.from(`{"name":"${SECRET}`), Buffer.from([0xff]), Buffer.from('"}')]), code: 'INVALID_UTF8' },
    { name: 'overlong UTF-8', body: Buffer.concat([Buffer.from(`{"name":"${SECRET}`), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), code: 'INVALID_UTF8' },
    { name: 'UTF-8-encoded surrogate', body: Buffer.concat([Buffer.from(`{"name":"${SECRET}`), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), code: 'INVALID_UTF8' },
    { name: 'truncated UTF-8 sequence', body: Buffer.concat([Buffer.from(`{"name":"${SECRET}"}`), Buffer.from([0xe3, 0x83])]), code: 'INVALID_UTF8' },
    { name: 'Shift_JIS bytes', body: Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0x83, 0x84, 0x83, 0x7d, 0x83, 0x5f, 0x22, 0x7d]), code: 'INVALID_UTF8' },
    { name: 'text/plain', body: `{"name":"${SECRET}"}`, contentType: 'text/plain', code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'form', body: `name=${encodeURIComponent(SECRET)}`, contentType: 'application/x-www-form-urlencoded', code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'multipart', body: `--b\r\ncontent-disposition: form-data; name="n"\r\n\r\n${SECRET}\r\n--b--`, contentType: 'multipart/form-data; boundary=b', code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'xml', body: `<name>${SECRET}</name>`, contentType: 'application/xml', code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'json lookalike type', body: `{"name":"${SECRET}"}`, contentType: 'application/jsonx', code: 'UNSUPPORTED_MEDIA_TYPE' },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.code}, nothing echoed, server unharmed`, async () => {
      for (const r of bodyRoutes()) {
        const body = await assertRefused(h, { ...r, body: c.body, headers: { ...r.headers, 'content-type': c.contentType ?? 'application/json' } }, c.code);
        assert.equal(body.errors, undefined, 'body-level problems carry no field details');
      }
    });
  }

  test('an empty body with a JSON content type is MALFORMED_JSON', async () => {
    for (const r of bodyRoutes()) await assertRefused(h, { ...r, body: '', headers: { ...r.headers, 'content-type': 'application/json' } }, 'MALFORMED_JSON');
  });

  test('a body with no content type at all is refused as UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const r of bodyRoutes()) {
      const res = await h.app.inject({ method: r.method, url: r.url, headers: { authorization: `Bearer ${h.adminKey}`, ...r.headers }, payload: Buffer.from(`{"name":"${SECRET}"}`) });
      assertProblem(res, 'UNSUPPORTED_MEDIA_TYPE', `${r.method} ${r.url}`);
      assertNoLeak(res);
    }
  });

  test('JSON with a charset parameter is accepted', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/tenants', body: JSON.stringify({ id: 'charset-t', name: 'ok' }), headers: { 'content-type': 'application/json; charset=utf-8' } });
    assert.equal(res.statusCode, 201, res.payload);
  });

  test('a body sent to a route that takes none is not parsed into an error', async () => {
    const res = await h.call({ method: 'GET', url: base().record, body: '{"broken":', headers: { 'content-type': 'application/json' } });
    // GET bodies are ignored by Fastify; the read itself answers.
    assert.equal(res.statusCode, 200, res.payload);
  });

  test('deeply nested JSON is refused without harming the server', async () => {
    const depth = 100_000;
    const nested = `{"fields":{"family_name":"${SECRET}","given_name":"x","address":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const res = await h.call({ method: 'POST', url: base().records, body: nested });
    assertProblem(res, 'RECORD_INVALID');
    assertNoLeak(res);
    const withReviver = `{"constructor":1,"fields":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    await assertRefused(h, { method: 'POST', url: base().records, body: withReviver }, 'MALFORMED_JSON');
  });
});

describe('BODY_TOO_LARGE', () => {
  const padded = (json: string, size: number) => json.slice(0, -1) + ' '.repeat(size - Buffer.byteLength(json)) + '}';

  test('the default limit is 1 MiB: exactly 1 MiB is read, one byte more is 413 on every non-batch body route', async () => {
    const limit = 1024 * 1024;
    const exact = padded(JSON.stringify({ id: 'exact-size', name: 'x' }), limit);
    assert.equal(Buffer.byteLength(exact), limit);
    const ok = await h.call({ method: 'POST', url: '/v1/tenants', body: exact });
    assert.equal(ok.statusCode, 201, ok.payload.slice(0, 200));
    for (const r of bodyRoutes().filter((x) => !x.url.endsWith('/batch'))) {
      const tooBig = padded(JSON.stringify({ name: SECRET }), limit + 1);
      await assertRefused(h, { ...r, body: tooBig }, 'BODY_TOO_LARGE');
    }
  });

  test('the batch route reads bodies above 1 MiB, up to its own limit (32 MiB)', async () => {
    const records = Array.from({ length: 20 }, (_, i) => ({ fields: { family_name: `大` + i, given_name: 'x'.repeat(900), kana: 'y'.repeat(900) } }));
    const json = padded(JSON.stringify({ records }), 2 * 1024 * 1024);
    const res = await h.call({ method: 'POST', url: `${base().records}/batch`, body: json });
    assert.equal(res.statusCode, 201, res.payload.slice(0, 300));
    assert.equal((res.json() as { created: number }).created, 20);
    const tooBig = padded(JSON.stringify({ records: [{ fields: { family_name: SECRET } }] }), 32 * 1024 * 1024 + 1);
    await assertRefused(h, { method: 'POST', url: `${base().records}/batch`, body: tooBig }, 'BODY_TOO_LARGE');
  });

  test('a smaller configured limit applies', async () => {
    const small = await openHarness({ config: { bodyLimit: 2048 } });
    try {
      const res = await small.call({ method: 'POST', url: '/v1/tenants', body: { id: 'small-t', name: 'x'.repeat(100) + SECRET.repeat(200) } });
      assertProblem(res, 'BODY_TOO_LARGE');
      assertNoLeak(res);
      await assertStillServing(small);
    } finally {
      await small.close();
    }
  });
});

describe('prototype poisoning', () => {
  const poison = [
    `{"__proto__":{"isAdmin":true},"id":"proto-a","name":"${SECRET}"}`,
    `{"id":"proto-b","name":"${SECRET}","constructor":{"prototype":{"isAdmin":true}}}`,
    `{"fields":{"family_name":"${SECRET}","given_name":"x","address":{"__proto__":{"polluted":"${SECRET}"}}}}`,
    `{"fields":{"family_name":"${SECRET}","given_name":"x"},"__proto__":{"polluted":1}}`,
    `{"records":[{"fields":{"family_name":"${SECRET}","given_name":"x","constructor":{"prototype":{"polluted":1}}}}]}`,
    `{"\\u005f_proto__":{"polluted":"${SECRET}"},"id":"proto-c","name":"x"}`,
    `{"__pro\\u0074o__":{"polluted":"${SECRET}"},"fields":{"family_name":"x","given_name":"y"}}`,
    `{"constructo\\u0072":{"prototype":{"polluted":"${SECRET}"}},"id":"proto-d","name":"x"}`,
  ];
  test('bodies with __proto__ or constructor.prototype keys, however spelt, are refused on every body route', async () => {
    for (const body of poison) {
      for (const r of bodyRoutes()) await assertRefused(h, { ...r, body }, 'MALFORMED_JSON', SECRET);
    }
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const got = await h.call({ method: 'GET', url: '/v1/tenants' });
    const ids = (got.json() as { tenants: Array<{ id: string }> }).tenants.map((t) => t.id);
    for (const id of ['proto-a', 'proto-b', 'proto-c', 'proto-d']) assert.ok(!ids.includes(id), `${id} was not created`);
  });

  test('the words __proto__ and constructor as values, or constructor as a plain key, are ordinary data', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/tenants', body: { id: 'proto-words', name: '__proto__ constructor prototype' } });
    assert.equal(res.statusCode, 201, res.payload);
    assert.equal((res.json() as { name: string }).name, '__proto__ constructor prototype');
    const col = await h.call({
      method: 'POST',
      url: '/v1/tenants/proto-words/collections',
      body: { name: 'objs', fields: [{ name: 'constructor', type: 'string' }, { name: 'prototype', type: 'string' }] },
    });
    assert.equal(col.statusCode, 201, col.payload);
    const rec = await h.call({ method: 'POST', url: recordsUrl('proto-words', 'objs'), body: { fields: { constructor: '__proto__', prototype: 'constructor' } } });
    assert.equal(rec.statusCode, 201, rec.payload);
    const read = await h.call({ method: 'GET', url: `${recordsUrl('proto-words', 'objs')}/${(rec.json() as { id: string }).id}` });
    assert.deepEqual((read.json() as { fields: unknown }).fields, { constructor: '__proto__', prototype: 'constructor' });
  });
});

describe('VAULT_SEALED', () => {
  test('every data route answers 503 while sealed, with or without a key; health, docs and 404 still answer; unsealing restores service', async () => {
    const open = h.state.current;
    const sealed: VaultState = { sealed: true, reason: 'key file is locked', store: h.tv.store };
    h.state.current = sealed;
    try {
      for (const c of dataRoutes()) {
        for (const key of [h.adminKey, null]) {
          const res = await h.call({ ...c, key });
          const body = assertProblem(res, 'VAULT_SEALED', `${c.method} ${c.url}`);
          assert.match(body.detail, /key file is locked/, 'the problem says why');
          assertNoLeak(res, h.adminKey);
        }
      }
      const health = await h.call({ method: 'GET', url: '/healthz', key: null });
      assert.equal(health.statusCode, 200);
      assert.deepEqual(health.json(), { status: 'sealed', sealed: true, reason: 'key file is locked' });
      assertProblem(await h.call({ method: 'GET', url: '/readyz', key: null }), 'VAULT_SEALED');
      assert.equal((await h.call({ method: 'GET', url: '/openapi.json', key: null })).statusCode, 200);
      assert.equal((await h.call({ method: 'GET', url: '/docs', key: null })).statusCode, 200);
      assertProblem(await h.call({ method: 'GET', url: '/nope' }), 'ROUTE_NOT_FOUND');
      // Body problems are still found first: nothing about the vault is needed to refuse them.
      assertProblem(await h.call({ method: 'POST', url: '/v1/tenants', body: '{' }), 'MALFORMED_JSON');
    } finally {
      h.state.current = open;
    }
    await assertStillServing(h);
  });
});

describe('INTERNAL', () => {
  test('an unexpected failure is a 500 problem that says nothing about the failure', async () => {
    h.state.failWith = new Error(`store exploded while reading ${SECRET}`);
    try {
      for (const c of [
        { method: 'GET' as const, url: '/v1/tenants' },
        { method: 'GET' as const, url: '/healthz', key: null },
        { method: 'POST' as const, url: base().records, body: { fields: { family_name: SECRET, given_name: 'x' } } },
      ]) {
        const res = await h.call(c);
        const body = assertProblem(res, 'INTERNAL');
        assert.equal(body.detail, 'internal error');
        assertNoLeak(res);
        assert.ok(!res.payload.includes('exploded') && !res.payload.includes('stack'), res.payload);
      }
    } finally {
      h.state.failWith = undefined;
    }
    await assertStillServing(h);
  });
});

describe('logging', () => {
  test('logs carry method, route pattern, status and request id — never bodies, values, keys or error messages', async () => {
    const lines: string[] = [];
    const logged = await openHarness({ logStream: { write: (line: string) => void lines.push(line) } });
    try {
      const tenantKey = await issueKey(logged, { name: 'log key', role: 'tenant', tenantId: logged.base.tenant });
      const url = recordsUrl(logged.base.tenant, logged.base.collection);
      const created = await logged.call({ method: 'POST', url, body: { subjectId: 'p-1', fields: { family_name: SECRET, given_name: SECRET, resident_no: SECRET } }, key: tenantKey.key });
      assert.equal(created.statusCode, 201);
      const id = (created.json() as { id: string }).id;
      await logged.call({ method: 'POST', url: `${url}/search`, body: { where: { family_name: SECRET } }, key: tenantKey.key });
      await logged.call({ method: 'GET', url: `${url}/${id}`, key: tenantKey.key });
      await logged.call({ method: 'POST', url, body: `{"fields":{"family_name":"${SECRET}"`, key: tenantKey.key });
      await logged.call({ method: 'POST', url, body: { fields: { family_name: SECRET, income: SECRET } }, key: tenantKey.key });
      await logged.call({ method: 'GET', url: `/v1/tenants/${encodeURIComponent(SECRET)}`, key: tenantKey.key });
      await logged.call({ method: 'GET', url: `/v1/tenants/${encodeURIComponent(SECRET)}%ZZ` });
      await logged.call({ method: 'GET', url: '/v1/tenants', headers: { authorization: `Bearer ${SECRET}` }, key: null });
      logged.state.failWith = new Error(`boom ${SECRET}`);
      await logged.call({ method: 'GET', url: '/v1/tenants' });
      logged.state.failWith = undefined;

      const text = lines.join('');
      assert.ok(lines.length > 10, 'requests are logged');
      const entries = lines.map((l) => JSON.parse(l) as { reqId?: string; req?: { route?: string; method?: string }; res?: { statusCode?: number }; msg?: string; err?: { type?: string } });
      assert.ok(
        entries.some((e) => e.req?.route === '/v1/tenants/:tenant/collections/:collection/records/:id' && e.req.method === 'GET'),
        'the route pattern is logged, not the URL',
      );
      assert.ok(entries.some((e) => e.res?.statusCode === 201 && typeof e.reqId === 'string'), 'status and request id are logged');
      assert.ok(entries.some((e) => e.msg === 'internal error' && e.err?.type === 'Error'), 'internal errors are logged by type');
      for (const forbidden of [SECRET, encodeURIComponent(SECRET), JSON.stringify(SECRET).slice(1, -1), tenantKey.key, tenantKey.key.slice(-43), logged.adminKey, logged.adminKey.slice(-43), 'boom', id]) {
        assert.ok(!text.includes(forbidden), `the log holds ${forbidden.slice(0, 12)}…`);
      }
      assert.ok(!/authorization/i.test(text), 'no headers are logged');
    } finally {
      await logged.close();
    }
  });
});
