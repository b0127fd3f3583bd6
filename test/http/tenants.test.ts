/** /v1/tenants: create (administrators), list (scoped to the key), get. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  METACHARACTERS,
  SECRET,
  assertDetail,
  assertProblem,
  assertRefused,
  createTenant,
  issueKey,
  openHarness,
  type Harness,
  type IssuedKey,
} from './harness.js';

interface TenantBody {
  id: string;
  name: string;
  createdAt: string;
}

let h: Harness;
let tenantKey: IssuedKey;
before(async () => {
  h = await openHarness();
  await createTenant(h, 'other-tenant');
  tenantKey = await issueKey(h, { name: 'base key', role: 'tenant', tenantId: h.base.tenant });
});
after(async () => {
  await h.close();
});

describe('POST /v1/tenants', () => {
  test('creates a tenant and answers with exactly its id, name and creation time', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/tenants', body: { id: '131016', name: '千代田区' } });
    assert.equal(res.statusCode, 201, res.payload);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = res.json() as TenantBody;
    assert.deepEqual(Object.keys(body).sort(), ['createdAt', 'id', 'name']);
    assert.equal(body.id, '131016');
    assert.equal(body.name, '千代田区');
    assert.ok(!Number.isNaN(Date.parse(body.createdAt)) && body.createdAt.endsWith('Z'));
    const got = await h.call({ method: 'GET', url: '/v1/tenants/131016' });
    assert.deepEqual(got.json(), body);
  });

  test('TENANT_EXISTS for an id that is taken, whatever the name', async () => {
    await createTenant(h, 'dup-tenant', 'first');
    const body = await assertRefused(h, { method: 'POST', url: '/v1/tenants', body: { id: 'dup-tenant', name: SECRET } }, 'TENANT_EXISTS');
    assert.equal(body.errors, undefined);
    const got = await h.call({ method: 'GET', url: '/v1/tenants/dup-tenant' });
    assert.equal((got.json() as TenantBody).name, 'first', 'the first tenant is untouched');
  });

  test('REQUEST_INVALID for unknown properties, wrong types, bad ids and bad names — naming the field, never the value', async () => {
    const cases: Array<{ body: unknown; field?: string; reason: string }> = [
      { body: { id: 'unk-a', name: 'x', nickname: SECRET }, field: 'nickname', reason: 'unknown_property' },
      { body: { id: 'unk-b', name: 'x', [SECRET]: 1 }, reason: 'unknown_property' },
      { body: { id: 123, name: SECRET }, field: 'id', reason: 'type' },
      { body: { id: 'type-b', name: 42 }, field: 'name', reason: 'type' },
      { body: { id: 'type-c', name: [SECRET] }, field: 'name', reason: 'type' },
      { body: { id: 'type-d', name: null }, field: 'name', reason: 'type' },
      { body: { id: SECRET, name: 'x' }, field: 'id', reason: 'pattern' },
      { body: { id: 'UPPER', name: SECRET }, field: 'id', reason: 'pattern' },
      { body: { id: 'a', name: SECRET }, field: 'id', reason: 'pattern' },
      { body: { id: `x${'a'.repeat(63)}`, name: SECRET }, field: 'id', reason: 'pattern' },
      { body: { id: "x'; DROP TABLE tenants; --", name: SECRET }, field: 'id', reason: 'pattern' },
      { body: { name: SECRET }, reason: 'required' },
      { body: { id: 'no-name' }, reason: 'required' },
      { body: { id: 'empty-name', name: '' }, field: 'name', reason: 'minLength' },
      { body: { id: 'long-name', name: SECRET.repeat(30) }, field: 'name', reason: 'maxLength' },
      { body: { id: 'nul-name', name: `${SECRET}\u0000` }, field: 'name', reason: 'pattern' },
      { body: { id: 'lone-surrogate', name: `${SECRET}\ud800` }, field: 'name', reason: 'pattern' },
      { body: [{ id: 'array', name: SECRET }], reason: 'type' },
      { body: JSON.stringify(SECRET), reason: 'type' },
    ];
    for (const c of cases) {
      const body = await assertRefused(h, { method: 'POST', url: '/v1/tenants', body: c.body }, 'REQUEST_INVALID');
      assertDetail(body, { ...(c.field === undefined ? {} : { field: c.field }), reason: c.reason });
    }
    const list = await h.call({ method: 'GET', url: '/v1/tenants' });
    assert.ok(!list.payload.includes(SECRET), 'none of them was created');
  });

  test('a name of only white space is refused by the vault', async () => {
    const body = await assertRefused(h, { method: 'POST', url: '/v1/tenants', body: { id: 'blank-name', name: ' \u3000 ' } }, 'REQUEST_INVALID');
    assertDetail(body, { field: 'name', reason: 'invalid_name' });
  });

  test('SQL and shell metacharacters, %00, emoji and Japanese in a name are stored and returned exactly', async () => {
    const names = [...METACHARACTERS, '𠮷野家 🍣 ｶﾀｶﾅ　全角', 'é (e + U+0301: \u0065\u0301)'];
    for (const [i, name] of names.entries()) {
      const id = `meta-${i}`;
      const res = await h.call({ method: 'POST', url: '/v1/tenants', body: { id, name } });
      assert.equal(res.statusCode, 201, res.payload);
      assert.equal((res.json() as TenantBody).name, name);
      const got = await h.call({ method: 'GET', url: `/v1/tenants/${id}` });
      assert.equal((got.json() as TenantBody).name, name, 'read back byte for byte (no normalisation)');
    }
    const list = (await h.call({ method: 'GET', url: '/v1/tenants' })).json() as { tenants: TenantBody[] };
    for (const [i, name] of names.entries()) assert.equal(list.tenants.find((t) => t.id === `meta-${i}`)?.name, name);
  });

  test('tenant keys cannot create tenants (FORBIDDEN)', async () => {
    await assertRefused(h, { method: 'POST', url: '/v1/tenants', body: { id: 'by-tenant', name: SECRET }, key: tenantKey.key }, 'FORBIDDEN');
    assertProblem(await h.call({ method: 'GET', url: '/v1/tenants/by-tenant' }), 'TENANT_NOT_FOUND');
  });

  test('UNAUTHENTICATED without a key', async () => {
    await assertRefused(h, { method: 'POST', url: '/v1/tenants', body: { id: 'no-key', name: SECRET }, key: null }, 'UNAUTHENTICATED');
  });
});

describe('GET /v1/tenants', () => {
  test('administrators see every tenant; a tenant key sees only its own', async () => {
    const all = (await h.call({ method: 'GET', url: '/v1/tenants' })).json() as { tenants: TenantBody[] };
    const ids = all.tenants.map((t) => t.id);
    assert.ok(ids.includes(h.base.tenant) && ids.includes('other-tenant'));
    for (const t of all.tenants) assert.deepEqual(Object.keys(t).sort(), ['createdAt', 'id', 'name']);
    const own = (await h.call({ method: 'GET', url: '/v1/tenants', key: tenantKey.key })).json() as { tenants: TenantBody[] };
    assert.deepEqual(
      own.tenants.map((t) => t.id),
      [h.base.tenant],
    );
  });
});

describe('GET /v1/tenants/:tenant', () => {
  test('a tenant key reads its own tenant and is FORBIDDEN elsewhere, even where no tenant exists', async () => {
    const own = await h.call({ method: 'GET', url: `/v1/tenants/${h.base.tenant}`, key: tenantKey.key });
    assert.equal(own.statusCode, 200);
    assert.equal((own.json() as TenantBody).id, h.base.tenant);
    await assertRefused(h, { method: 'GET', url: '/v1/tenants/other-tenant', key: tenantKey.key }, 'FORBIDDEN');
    // Not TENANT_NOT_FOUND: a tenant key learns nothing about which other tenants exist.
    await assertRefused(h, { method: 'GET', url: '/v1/tenants/no-such-tenant', key: tenantKey.key }, 'FORBIDDEN');
  });

  test('TENANT_NOT_FOUND for an absent tenant; REQUEST_INVALID for an id that cannot be one', async () => {
    await assertRefused(h, { method: 'GET', url: '/v1/tenants/no-such-tenant' }, 'TENANT_NOT_FOUND');
    const bad = await assertRefused(h, { method: 'GET', url: `/v1/tenants/${encodeURIComponent(SECRET)}` }, 'REQUEST_INVALID');
    assertDetail(bad, { field: 'tenant', reason: 'pattern' });
    await assertRefused(h, { method: 'GET', url: `/v1/tenants/${encodeURIComponent("x'; DROP TABLE tenants; --")}` }, 'REQUEST_INVALID');
  });
});
