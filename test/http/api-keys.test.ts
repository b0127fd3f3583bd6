/** /v1/api-keys: issue, list, revoke (administrators); revoked and expired keys; tenant scoping. */
import { decodeLogEntry } from '../../src/ledger/index.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ABSENT_ID,
  METACHARACTERS,
  SECRET,
  assertDetail,
  assertNoLeak,
  assertProblem,
  assertRefused,
  createCollection,
  createTenant,
  issueKey,
  openHarness,
  recordsUrl,
  type Call,
  type Harness,
  type IssuedKey,
} from './harness.js';

const KEY = /^kbn_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;
const START = Date.parse('2031-04-01T00:00:00.000Z');

let h: Harness;
let now = START;
const T = 'key-tenant';

before(async () => {
  h = await openHarness({ clock: () => new Date(now) });
  await createTenant(h, T);
  await createTenant(h, 'key-other');
  await createCollection(h, T, 'residents');
  await createCollection(h, 'key-other', 'residents');
});
after(async () => {
  await h.close();
});

interface ListedKey {
  id: string;
  name: string;
  role: string;
  tenantId: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

async function listKeys(): Promise<ListedKey[]> {
  const res = await h.call({ method: 'GET', url: '/v1/api-keys' });
  assert.equal(res.statusCode, 200, res.payload);
  return (res.json() as { apiKeys: ListedKey[] }).apiKeys;
}

/** Routes a key of tenant T may use, each expected to succeed. */
function ownTenantCalls(): Call[] {
  return [
    { method: 'GET', url: '/v1/tenants' },
    { method: 'GET', url: `/v1/tenants/${T}` },
    { method: 'GET', url: `/v1/tenants/${T}/collections` },
    { method: 'POST', url: `${recordsUrl(T, 'residents')}/search`, body: { where: { family_name: 'x' } } },
  ];
}

describe('POST /v1/api-keys', () => {
  test('issues an admin key: shown once in full, with the issue time from the vault clock; it works at once', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/api-keys', body: { name: 'ops', role: 'admin' } });
    assert.equal(res.statusCode, 201, res.payload);
    const k = res.json() as IssuedKey;
    assert.deepEqual(Object.keys(k).sort(), ['createdAt', 'duties', 'expiresAt', 'id', 'key', 'name', 'revokedAt', 'role', 'roles', 'tenantId']);
    const m = KEY.exec(k.key);
    assert.ok(m, 'kbn_<16 hex id>_<43 base64url>');
    assert.equal(m[1], k.id);
    assert.equal(k.role, 'admin');
    assert.equal(k.tenantId, null);
    assert.equal(k.expiresAt, null);
    assert.equal(k.revokedAt, null);
    assert.equal(k.createdAt, new Date(now).toISOString());
    const use = await h.call({ method: 'POST', url: '/v1/tenants', body: { id: 'made-by-ops', name: 'x' }, key: k.key });
    assert.equal(use.statusCode, 201);
  });

  test('issues a tenant key that works only inside its tenant', async () => {
    const k = await issueKey(h, { name: 'clerk', role: 'tenant', tenantId: T });
    assert.equal(k.role, 'tenant');
    assert.equal(k.tenantId, T);
    for (const c of ownTenantCalls()) {
      const res = await h.call({ ...c, key: k.key });
      assert.equal(res.statusCode, 200, `${c.method} ${c.url}: ${res.payload}`);
    }
    for (const c of [
      { method: 'GET' as const, url: '/v1/tenants/key-other' },
      { method: 'GET' as const, url: '/v1/tenants/key-other/collections' },
      { method: 'POST' as const, url: `${recordsUrl('key-other', 'residents')}/search`, body: { where: { family_name: SECRET } } },
      { method: 'POST' as const, url: recordsUrl('key-other', 'residents'), body: { fields: { family_name: SECRET, given_name: 'x' } } },
    ]) {
      await assertRefused(h, { ...c, key: k.key }, 'FORBIDDEN');
    }
  });

  test('tenant keys can neither create tenants nor issue, list or revoke keys — not even their own', async () => {
    const k = await issueKey(h, { name: 'clerk2', role: 'tenant', tenantId: T });
    const calls: Call[] = [
      { method: 'POST', url: '/v1/tenants', body: { id: 'by-clerk', name: SECRET } },
      { method: 'POST', url: '/v1/api-keys', body: { name: SECRET, role: 'admin' } },
      { method: 'POST', url: '/v1/api-keys', body: { name: SECRET, role: 'tenant', tenantId: T, roles: ['administrator'] } },
      { method: 'GET', url: '/v1/api-keys' },
      { method: 'DELETE', url: `/v1/api-keys/${k.id}` },
    ];
    for (const c of calls) {
      const body = await assertRefused(h, { ...c, key: k.key }, 'FORBIDDEN');
      assert.equal(body.detail, 'administrators only');
    }
    const listed = await listKeys();
    assert.equal(listed.find((x) => x.id === k.id)?.revokedAt, null, 'the key was not revoked');
    assert.equal(listed.filter((x) => x.name === SECRET).length, 0, 'no key was issued');
  });

  test('REQUEST_INVALID for bad key requests, naming the field', async () => {
    const cases: Array<{ body: unknown; field?: string; reason: string }> = [
      { body: { name: SECRET, role: 'tenant' }, field: 'tenantId', reason: 'required' },
      { body: { name: SECRET, role: 'admin', tenantId: T }, field: 'tenantId', reason: 'not_for_admin' },
      { body: { name: SECRET, role: 'admin', expiresAt: new Date(now - 1000).toISOString() }, field: 'expiresAt', reason: 'not_in_future' },
      { body: { name: SECRET, role: 'admin', expiresAt: new Date(now).toISOString() }, field: 'expiresAt', reason: 'not_in_future' },
      { body: { name: SECRET, role: 'admin', expiresAt: 'tomorrow' }, field: 'expiresAt', reason: 'format' },
      { body: { name: SECRET, role: 'root' }, field: 'role', reason: 'enum' },
      { body: { name: SECRET }, reason: 'required' },
      { body: { name: '', role: 'admin' }, field: 'name', reason: 'minLength' },
      { body: { name: SECRET.repeat(13), role: 'admin' }, field: 'name', reason: 'maxLength' },
      { body: { name: `${SECRET}\u0000`, role: 'admin' }, field: 'name', reason: 'pattern' },
      { body: { name: SECRET, role: 'admin', secret: SECRET }, field: 'secret', reason: 'unknown_property' },
      { body: { name: SECRET, role: 'tenant', tenantId: SECRET }, field: 'tenantId', reason: 'pattern' },
      { body: { name: 5, role: 'admin' }, field: 'name', reason: 'type' },
    ];
    for (const c of cases) {
      const body = await assertRefused(h, { method: 'POST', url: '/v1/api-keys', body: c.body }, 'REQUEST_INVALID');
      assertDetail(body, { ...(c.field === undefined ? {} : { field: c.field }), reason: c.reason });
    }
    assert.equal((await listKeys()).filter((k) => k.name.includes(SECRET)).length, 0, 'no key was issued');
  });

  test('TENANT_NOT_FOUND for a tenant key of an absent tenant', async () => {
    await assertRefused(h, { method: 'POST', url: '/v1/api-keys', body: { name: SECRET, role: 'tenant', tenantId: 'no-such-tenant', roles: ['clerk'] } }, 'TENANT_NOT_FOUND');
  });

  test('SQL and shell metacharacters in a key name are stored and listed exactly', async () => {
    for (const name of METACHARACTERS) {
      const k = await issueKey(h, { name, role: 'tenant', tenantId: T });
      assert.equal(k.name, name);
      assert.equal((await listKeys()).find((x) => x.id === k.id)?.name, name);
    }
  });
});

describe('GET /v1/api-keys', () => {
  test('lists every key with its metadata, never a secret or a hash', async () => {
    const issued = [await issueKey(h, { name: 'l1', role: 'admin' }), await issueKey(h, { name: 'l2', role: 'tenant', tenantId: T })];
    const res = await h.call({ method: 'GET', url: '/v1/api-keys' });
    assert.equal(res.statusCode, 200);
    const keys = (res.json() as { apiKeys: ListedKey[] }).apiKeys;
    for (const k of keys) assert.deepEqual(Object.keys(k).sort(), ['createdAt', 'duties', 'expiresAt', 'id', 'name', 'revokedAt', 'role', 'roles', 'tenantId']);
    for (const i of issued) {
      const listed = keys.find((k) => k.id === i.id);
      assert.deepEqual(listed, { id: i.id, name: i.name, role: i.role, tenantId: i.tenantId, roles: i.roles, duties: i.duties, createdAt: i.createdAt, expiresAt: null, revokedAt: null });
      assertNoLeak(res, i.key);
      assertNoLeak(res, i.key.slice(-43));
    }
    assertNoLeak(res, h.adminKey.slice(-43));
    assert.ok(keys.some((k) => k.name === 'initial admin'));
    assert.ok(!/secret|hash/i.test(res.payload), 'no secret or hash property');
  });
});

describe('POST /v1/api-keys/:id/rotate', () => {
  test('a new key with the same name, tenant, roles and expiry; the old one stops working at once; logged in the tenant', async () => {
    const old = await issueKey(h, { name: 'rotating', role: 'tenant', tenantId: T, roles: ['clerk'], duties: ['juki'] });
    const res = await h.call({ method: 'POST', url: `/v1/api-keys/${old.id}/rotate` });
    assert.equal(res.statusCode, 201, res.payload);
    const fresh = res.json() as IssuedKey & { key: string };
    assert.notEqual(fresh.id, old.id);
    assert.notEqual(fresh.key, old.key);
    assert.deepEqual([fresh.name, fresh.tenantId, fresh.roles, fresh.duties, fresh.expiresAt], [old.name, old.tenantId, old.roles, old.duties, old.expiresAt]);
    assertProblem(await h.call({ method: 'GET', url: `/v1/tenants/${T}`, key: old.key }), 'UNAUTHENTICATED');
    assert.equal((await h.call({ method: 'GET', url: `/v1/tenants/${T}`, key: fresh.key })).statusCode, 200);
    assertProblem(await h.call({ method: 'POST', url: `/v1/api-keys/${old.id}/rotate` }), 'API_KEY_NOT_FOUND', 'a revoked key cannot be rotated');
    assertProblem(await h.call({ method: 'POST', url: `/v1/api-keys/${fresh.id}/rotate`, key: fresh.key }), 'FORBIDDEN', 'administrators only');
    const actions = (await h.tv.store.listLogPending(T, 100_000)).map((r) => decodeLogEntry(r.entry).action);
    assert.ok(actions.includes('api_key.rotate'));
  });
});

describe('DELETE /v1/api-keys/:id', () => {
  test('revokes a key: 204, it is refused everywhere at once, the list shows when; revoking again is API_KEY_NOT_FOUND', async () => {
    const k = await issueKey(h, { name: 'to-revoke', role: 'tenant', tenantId: T });
    assert.equal((await h.call({ method: 'GET', url: `/v1/tenants/${T}`, key: k.key })).statusCode, 200);
    const del = await h.call({ method: 'DELETE', url: `/v1/api-keys/${k.id}` });
    assert.equal(del.statusCode, 204);
    assert.equal(del.payload, '');
    for (const c of ownTenantCalls()) await assertRefused(h, { ...c, key: k.key }, 'UNAUTHENTICATED', k.key);
    assert.equal((await listKeys()).find((x) => x.id === k.id)?.revokedAt, new Date(now).toISOString());
    await assertRefused(h, { method: 'DELETE', url: `/v1/api-keys/${k.id}` }, 'API_KEY_NOT_FOUND');
  });

  test('a revoked admin key can no longer issue keys', async () => {
    const k = await issueKey(h, { name: 'admin-to-revoke', role: 'admin' });
    assert.equal((await h.call({ method: 'DELETE', url: `/v1/api-keys/${k.id}` })).statusCode, 204);
    await assertRefused(h, { method: 'POST', url: '/v1/api-keys', body: { name: SECRET, role: 'admin' }, key: k.key }, 'UNAUTHENTICATED');
  });

  test('API_KEY_NOT_FOUND for an unknown id; REQUEST_INVALID for an id that cannot be one', async () => {
    await assertRefused(h, { method: 'DELETE', url: '/v1/api-keys/0123456789abcdef' }, 'API_KEY_NOT_FOUND');
    for (const id of [encodeURIComponent(SECRET), '0123456789ABCDEF', '0123456789abcde', ABSENT_ID, encodeURIComponent("' OR 1=1 --")]) {
      const body = await assertRefused(h, { method: 'DELETE', url: `/v1/api-keys/${id}` }, 'REQUEST_INVALID');
      assertDetail(body, { field: 'id', reason: 'pattern' });
    }
  });
});

describe('expiry', () => {
  test('a key works until its expiresAt and is refused from that instant on, with the same answer as a wrong key', async () => {
    const expiresAt = new Date(now + 60 * 60 * 1000).toISOString();
    const k = await issueKey(h, { name: 'short-lived', role: 'tenant', tenantId: T, expiresAt });
    assert.equal(k.expiresAt, expiresAt);
    const read = { method: 'GET' as const, url: `/v1/tenants/${T}` };
    const saved = now;
    try {
      now = Date.parse(expiresAt) - 1;
      assert.equal((await h.call({ ...read, key: k.key })).statusCode, 200, 'valid one millisecond before');
      now = Date.parse(expiresAt);
      const expired = assertProblem(await h.call({ ...read, key: k.key }), 'UNAUTHENTICATED');
      now = Date.parse(expiresAt) + 24 * 60 * 60 * 1000;
      for (const c of ownTenantCalls()) await assertRefused(h, { ...c, key: k.key }, 'UNAUTHENTICATED', k.key);
      const wrong = assertProblem(await h.call({ ...read, key: `${k.key.slice(0, -1)}${k.key.endsWith('A') ? 'B' : 'A'}` }), 'UNAUTHENTICATED');
      assert.equal(expired.detail, wrong.detail, 'expired and wrong keys are indistinguishable');
      assert.equal((await listKeys()).find((x) => x.id === k.id)?.expiresAt, expiresAt, 'an expired key is still listed');
      assert.equal((await h.call({ method: 'GET', url: '/v1/tenants' })).statusCode, 200, 'keys without expiry are unaffected');
    } finally {
      now = saved;
    }
  });
});
