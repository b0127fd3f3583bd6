/** Every API call that touches a tenant leaves one access-log entry: writes in their transaction, reads before the response. */
import assert from 'node:assert/strict';
import { DEFAULT_POLICY_TEXT } from '../../src/vault/index.js';
import { after, before, describe, test } from 'node:test';
import { decodeLogEntry, type LogEntry } from '../../src/ledger/index.js';
import { SECRET, assertProblem, createCollection, createTenant, issueKey, openHarness, recordsUrl, type Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await openHarness();
});
after(async () => {
  await h?.close();
});

/** Entries queued for a tenant since `after` entries (pending, not yet integrated). */
async function entries(tenant: string): Promise<LogEntry[]> {
  const rows = await h.tv.store.listLogPending(tenant, 100_000);
  return rows.map((r) => decodeLogEntry(r.entry));
}

function adminKeyId(): string {
  return (/^kbn_([0-9a-f]{16})_/.exec(h.adminKey) as RegExpExecArray)[1] as string;
}

describe('access-log entries from the API', () => {
  test('create, read, search, update, delete: one entry each, naming ids and field names, never values', async () => {
    const tenant = 'log-town';
    await createTenant(h, tenant);
    await createCollection(h, tenant, 'residents');
    // The tenant declares the purpose the read below gives.
    const pushed = await h.call({ method: 'PUT', url: `/v1/tenants/${tenant}/policy`, body: { policies: DEFAULT_POLICY_TEXT, purposes: ['administration', 'resident_certificate'] } });
    assert.equal(pushed.statusCode, 200, pushed.payload);
    const before = (await entries(tenant)).length;
    assert.deepEqual(
      (await entries(tenant)).map((e) => e.action),
      ['tenant.create', 'collection.create', 'policy.update'],
    );
    const created = await h.call({ method: 'POST', url: recordsUrl(tenant, 'residents'), body: { subjectId: 'person-7', fields: { family_name: SECRET, given_name: '太郎' } } });
    assert.equal(created.statusCode, 201);
    const id = (created.json() as { id: string }).id;
    assert.equal((await h.call({ method: 'GET', url: `${recordsUrl(tenant, 'residents')}/${id}`, headers: { 'kuraban-purpose': 'resident_certificate' } })).statusCode, 200);
    assert.equal((await h.call({ method: 'POST', url: `${recordsUrl(tenant, 'residents')}/search`, body: { where: { family_name: SECRET } } })).statusCode, 200);
    assert.equal(
      (await h.call({ method: 'PUT', url: `${recordsUrl(tenant, 'residents')}/${id}`, headers: { 'if-match': '"1"' }, body: { fields: { family_name: SECRET, given_name: '次郎' } } })).statusCode,
      200,
    );
    assert.equal((await h.call({ method: 'DELETE', url: `${recordsUrl(tenant, 'residents')}/${id}` })).statusCode, 204);
    const log = (await entries(tenant)).slice(before);
    assert.deepEqual(
      log.map((e) => e.action),
      ['record.create', 'record.read', 'record.search', 'record.update', 'record.delete'],
    );
    for (const e of log) {
      assert.equal(e.tenant, tenant);
      assert.equal(e.collection, 'residents');
      assert.deepEqual(e.records, [id]);
      assert.deepEqual(e.subjects, ['person-7']);
      assert.equal(e.outcome, 'ok');
      assert.deepEqual(e.principal, { id: adminKeyId(), auth: 'api-key' });
      assert.equal(e.client, '127.0.0.1');
      assert.ok(!JSON.stringify(e).includes(SECRET), 'no value in an entry');
    }
    assert.deepEqual(log[0]?.fields, ['family_name', 'given_name']);
    assert.equal(log[1]?.purpose, 'resident_certificate');
    assert.deepEqual(log[2]?.fields, ['family_name', 'given_name'], 'search names the searched and returned fields');
  });

  test('a batch of 2,500 records is logged in entries of at most 1,000 ids, in the same transaction', async () => {
    const tenant = 'batch-town';
    await createTenant(h, tenant);
    await createCollection(h, tenant, 'residents');
    const n0 = (await entries(tenant)).length;
    const records = Array.from({ length: 2500 }, (_v, i) => ({ subjectId: `p-${i}`, fields: { family_name: 'A', given_name: 'B' } }));
    const res = await h.call({ method: 'POST', url: `${recordsUrl(tenant, 'residents')}/batch`, body: { records } });
    assert.equal(res.statusCode, 201);
    const ids = (res.json() as { records: Array<{ id: string }> }).records.map((r) => r.id);
    const log = (await entries(tenant)).slice(n0);
    assert.deepEqual(log.map((e) => e.records.length), [1000, 1000, 500]);
    assert.deepEqual(log.flatMap((e) => e.records).sort(), [...ids].sort());
    assert.ok(log.every((e) => e.action === 'record.create' && e.requestId === log[0]?.requestId));
    // an invalid batch writes neither records nor entries
    const bad = await h.call({ method: 'POST', url: `${recordsUrl(tenant, 'residents')}/batch`, body: { records: [{ fields: { family_name: 'A', given_name: 'B' } }, { fields: { given_name: 'B' } }] } });
    assertProblem(bad, 'RECORD_INVALID');
    assert.equal((await entries(tenant)).length, n0 + 3 + 1, 'only the refusal entry was added');
    assert.equal((await entries(tenant)).at(-1)?.outcome, 'RECORD_INVALID');
  });

  test('a refused request is an entry in the tenant it named, with the error code as outcome', async () => {
    await createTenant(h, 'town-a');
    await createTenant(h, 'town-b');
    const keyA = await issueKey(h, { name: 'a', role: 'tenant', tenantId: 'town-a' });
    const n0 = (await entries('town-b')).length;
    assertProblem(await h.call({ method: 'GET', url: '/v1/tenants/town-b', key: keyA.key }), 'FORBIDDEN');
    const last = (await entries('town-b')).slice(n0);
    assert.equal(last.length, 1);
    assert.equal(last[0]?.outcome, 'FORBIDDEN');
    assert.equal(last[0]?.action, 'tenant.read');
    assert.deepEqual(last[0]?.principal, { id: keyA.id, auth: 'api-key' });
    // the issuance of that tenant key is itself in town-a's log
    assert.ok((await entries('town-a')).some((e) => e.action === 'api_key.create' && e.outcome === 'ok'));
  });

  test('fail closed: when the entry cannot be stored, the read fails and returns no data', async () => {
    const url = `${recordsUrl(h.base.tenant, h.base.collection)}/${h.base.recordId}`;
    assert.equal((await h.call({ method: 'GET', url })).statusCode, 200);
    const vault = h.state.current.sealed ? undefined : h.state.current.vault;
    assert.ok(vault);
    const original = vault.accessLog.record.bind(vault.accessLog);
    (vault.accessLog as { record: typeof original }).record = async () => {
      throw new Error('log store unavailable');
    };
    try {
      const res = await h.call({ method: 'GET', url });
      assert.equal(res.statusCode, 500);
      assert.ok(!res.payload.includes(h.base.family), 'no record data in the failed response');
    } finally {
      (vault.accessLog as { record: typeof original }).record = original;
    }
    assert.equal((await h.call({ method: 'GET', url })).statusCode, 200);
  });
});
