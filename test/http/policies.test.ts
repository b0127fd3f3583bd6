/** /v1/tenants/:t/policy, /purposes and …/access: versioned pushes, validation before activation, purposes, and decisions that follow a change at once. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeLogEntry } from '../../src/ledger/index.js';
import { DEFAULT_POLICY_TEXT } from '../../src/vault/index.js';
import { assertProblem, assertRefused, createCollection, createTenant, issueKey, openHarness, recordsUrl, type Harness } from './harness.js';

const T = 'pol-town';
const CLERK_READS_FAMILY = `
@id("clerk-family") permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read", resource == Kuraban::Field::"residents.family_name")
  when { context.purpose == "counter" };
@id("clerk-rows") permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read-record", resource);
@id("admins") permit (principal in Kuraban::Role::"administrator", action, resource);
@id("operator") permit (principal in Kuraban::Role::"operator", action, resource);
`;

describe('tenant policies over HTTP', () => {
  let h: Harness;
  let clerk = '';
  let recordId = '';
  before(async () => {
    h = await openHarness();
    await createTenant(h, T);
    await createCollection(h, T, 'residents');
    clerk = (await issueKey(h, { name: 'clerk', role: 'tenant', tenantId: T, roles: ['clerk'] })).key;
    const r = await h.call({ method: 'POST', url: recordsUrl(T, 'residents'), body: { fields: { family_name: '山田', given_name: '太郎' } } });
    recordId = (r.json() as { id: string }).id;
  });
  after(async () => {
    await h?.close();
  });

  const clerkRead = (purpose: string | null) => h.call({ method: 'GET', url: `${recordsUrl(T, 'residents')}/${recordId}`, key: clerk, purpose });

  test('every tenant starts at version 1: administrators and the operator, purpose "administration"; a clerk may read nothing', async () => {
    const res = await h.call({ method: 'GET', url: `/v1/tenants/${T}/policy` });
    assert.equal(res.statusCode, 200);
    const body = res.json() as { version: number; purposes: string[]; policies: string; versions: unknown[] };
    assert.equal(body.version, 1);
    assert.deepEqual(body.purposes, ['administration']);
    assert.equal(body.policies, DEFAULT_POLICY_TEXT);
    const read = await clerkRead('administration');
    assertProblem(read, 'POLICY_DENIED', 'default deny: no policy names the clerk');
  });

  test('a push that does not validate is POLICY_INVALID and the active version stays', async () => {
    for (const policies of ['permit (principal, action, resource', 'permit (principal, action == Kuraban::Action::"fly", resource);', `permit (principal, action, resource) when { resource.colour == "red" };`]) {
      const p = await assertRefused(h, { method: 'PUT', url: `/v1/tenants/${T}/policy`, body: { policies, purposes: ['counter', 'administration'] } }, 'POLICY_INVALID');
      assert.ok((p.errors ?? []).length > 0, 'names the policy and reason');
    }
    await assertRefused(h, { method: 'PUT', url: `/v1/tenants/${T}/policy`, body: { policies: CLERK_READS_FAMILY, purposes: ['Counter'] } }, 'POLICY_INVALID');
    assert.equal(((await h.call({ method: 'GET', url: `/v1/tenants/${T}/policy` })).json() as { version: number }).version, 1);
  });

  test('a valid push is version n+1, logged, and decides the very next request (no stale cached decision)', async () => {
    const pushed = await h.call({ method: 'PUT', url: `/v1/tenants/${T}/policy`, body: { policies: CLERK_READS_FAMILY, purposes: ['administration', 'counter'] } });
    assert.equal(pushed.statusCode, 200, pushed.payload);
    assert.deepEqual(pushed.json(), { version: 2, purposes: ['administration', 'counter'] });
    const read = (await clerkRead('counter')).json() as { fields: Record<string, unknown>; withheld?: string[] };
    assert.deepEqual(read.fields, { family_name: '山田' });
    assert.deepEqual(read.withheld, ['given_name']);
    assertProblem(await clerkRead('tax'), 'PURPOSE_UNKNOWN');
    const none = (await clerkRead(null)).json() as { fields: Record<string, unknown> };
    assert.deepEqual(none.fields, {}, 'no purpose: personal fields withheld');
    // Back to the default: the clerk's next read is refused again at once.
    assert.equal((await h.call({ method: 'PUT', url: `/v1/tenants/${T}/policy`, body: { policies: DEFAULT_POLICY_TEXT } })).statusCode, 200);
    assertProblem(await clerkRead('counter'), 'POLICY_DENIED');
    const actions = (await h.tv.store.listLogPending(T, 100_000)).map((r) => decodeLogEntry(r.entry));
    assert.equal(actions.filter((e) => e.action === 'policy.update' && e.outcome === 'ok').length, 2);
    assert.equal(actions.filter((e) => e.action === 'policy.update' && e.outcome === 'POLICY_INVALID').length, 4, 'refused pushes are logged too');
    const versions = ((await h.call({ method: 'GET', url: `/v1/tenants/${T}/policy` })).json() as { version: number; purposes: string[] });
    assert.equal(versions.version, 3);
    assert.deepEqual(versions.purposes, ['administration', 'counter'], 'purposes kept when a push leaves them out');
  });

  test('purposes are readable by any principal of the tenant; the policy itself and who-can only with manage-policy or read-log', async () => {
    assert.deepEqual((await h.call({ method: 'GET', url: `/v1/tenants/${T}/purposes`, key: clerk })).json(), { purposes: ['administration', 'counter'] });
    assertProblem(await h.call({ method: 'GET', url: `/v1/tenants/${T}/policy`, key: clerk }), 'POLICY_DENIED');
    assertProblem(await h.call({ method: 'PUT', url: `/v1/tenants/${T}/policy`, key: clerk, body: { policies: DEFAULT_POLICY_TEXT } }), 'POLICY_DENIED');
    assertProblem(await h.call({ method: 'GET', url: `/v1/tenants/${T}/collections/residents/access`, key: clerk }), 'POLICY_DENIED');
    const report = await h.call({ method: 'GET', url: `/v1/tenants/${T}/collections/residents/access` });
    assert.equal(report.statusCode, 200);
    const rows = (report.json() as { rows: Array<{ label: string; purpose: string | null; fields: Record<string, string> }> }).rows;
    const clerkRow = rows.find((r) => r.label.startsWith('key:') && r.purpose === 'counter' && Object.values(r.fields).every((v) => v === 'withheld'));
    assert.ok(clerkRow, "the clerk's key is listed, with nothing under the default policy");
    const admin = rows.find((r) => r.label === 'role:administrator' && r.purpose === 'administration');
    assert.equal(admin?.fields.family_name, 'clear');
  });

  test('a PUT cannot change what the principal cannot see: hidden fields keep their values, a masked echo is no change, another value is refused', async () => {
    const policy = `${CLERK_READS_FAMILY}
@id("clerk-masked") permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read-masked", resource == Kuraban::Field::"residents.given_name") when { context.purpose == "counter" };
@id("clerk-update") permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"update", resource) when { context.purpose == "counter" };`;
    assert.equal((await h.call({ method: 'PUT', url: `/v1/tenants/${T}/policy`, body: { policies: policy, purposes: ['administration', 'counter'] } })).statusCode, 200);
    const created = await h.call({ method: 'POST', url: recordsUrl(T, 'residents'), body: { fields: { family_name: '佐藤', given_name: '花子', resident_no: 'R-77' } } });
    const id = (created.json() as { id: string }).id;
    const seen = (await h.call({ method: 'GET', url: `${recordsUrl(T, 'residents')}/${id}`, key: clerk, purpose: 'counter' })).json() as { version: number; fields: Record<string, unknown>; masked?: string[]; withheld?: string[] };
    assert.deepEqual(seen.masked, ['given_name']);
    assert.deepEqual(seen.withheld, ['resident_no']);
    // The clerk sends back what it read, with the one field it may change changed.
    const put = await h.call({ method: 'PUT', url: `${recordsUrl(T, 'residents')}/${id}`, key: clerk, purpose: 'counter', headers: { 'if-match': `"${seen.version}"` }, body: { fields: { ...seen.fields, family_name: '佐藤（旧姓）' } } });
    assert.equal(put.statusCode, 200, put.payload);
    const stored = await h.tv.vault.records.get(T, 'residents', id);
    assert.deepEqual(stored.fields, { family_name: '佐藤（旧姓）', given_name: '花子', resident_no: 'R-77' }, 'the masked and withheld fields kept their values');
    const refused = await h.call({ method: 'PUT', url: `${recordsUrl(T, 'residents')}/${id}`, key: clerk, purpose: 'counter', headers: { 'if-match': '"2"' }, body: { fields: { family_name: '佐藤', resident_no: 'R-00' } } });
    const p = assertProblem(refused, 'POLICY_DENIED');
    assert.deepEqual(p.errors, [{ field: 'resident_no', reason: 'not_writable' }]);
    assert.ok(!refused.payload.includes('R-00'));
    assert.equal((await h.tv.vault.records.get(T, 'residents', id)).version, 2, 'nothing written');
    assert.equal((await h.call({ method: 'PUT', url: `/v1/tenants/${T}/policy`, body: { policies: DEFAULT_POLICY_TEXT } })).statusCode, 200);
  });

  test("another tenant's principals cannot read or change this tenant's policy", async () => {
    await createTenant(h, 'pol-other');
    const other = (await issueKey(h, { name: 'o', role: 'tenant', tenantId: 'pol-other', roles: ['administrator'] })).key;
    assertProblem(await h.call({ method: 'GET', url: `/v1/tenants/${T}/policy`, key: other }), 'FORBIDDEN');
    assertProblem(await h.call({ method: 'PUT', url: `/v1/tenants/${T}/policy`, key: other, body: { policies: DEFAULT_POLICY_TEXT } }), 'FORBIDDEN');
  });
});
