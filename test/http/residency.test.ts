/**
 * Residency over HTTP: the location registry (administrators write; every change logged), collection
 * creation with rules (RESIDENCY_VIOLATION names the rule, nothing is created, one log entry), the
 * data map, and the access report — whose counts must match a log the test builds entry by entry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeLogEntry, leafHash, parseCheckpoint, parseNote, verifyInclusion, type LogEntry } from '../../src/ledger/index.js';
import type { AccessReport, DataMap } from '../../src/residency/index.js';
import { assertDetail, assertRefused, openHarness, type Harness } from './harness.js';

const T = 'rep-town';
const C = 'juminhyo';
const SCHEMA = {
  fields: [
    { name: 'family_name', type: 'string', required: true },
    { name: 'my_number', type: 'string', classification: 'my-number' },
    { name: 'income', type: 'decimal', classification: 'sensitive' },
    { name: 'status', type: 'enum', values: ['active', 'moved_out'], classification: 'public' },
  ],
};
const R = ['0190abcd-ef00-7000-8000-000000000001', '0190abcd-ef00-7000-8000-000000000002', '0190abcd-ef00-7000-8000-000000000003', '0190abcd-ef00-7000-8000-000000000004'];
const TOKYO = { id: 'tokyo-db', country: 'JP', region: 'JP-Tokyo', provider: 'self-hosted', operator: 'rep-town', jurisdiction: 'JP', holds: ['ciphertext', 'keys'] };

describe('residency over HTTP', () => {
  let h: Harness;
  let clerk: { id: string; key: string };
  let tax: { id: string; key: string };

  before(async () => {
    h = await openHarness();
    const v = h.state.current.sealed ? assert.fail('sealed') : h.state.current.vault;
    assert.equal((await h.call({ method: 'POST', url: '/v1/tenants', body: { id: T, name: '報告町' } })).statusCode, 201);
    clerk = await v.issueApiKey({ name: 'clerk', role: 'tenant', tenantId: T, roles: ['clerk'] });
    tax = await v.issueApiKey({ name: 'tax', role: 'tenant', tenantId: T, roles: ['tax_officer'] });
  });
  after(async () => h.close());

  test('locations: administrators register them; tenant keys may read but not write; bad declarations name the field, never the value', async () => {
    const created = await h.call({ method: 'POST', url: '/v1/locations', body: TOKYO });
    assert.equal(created.statusCode, 201, created.payload);
    assert.deepEqual(created.json(), { ...TOKYO, region: 'JP-Tokyo', description: '' });
    await assertRefused(h, { method: 'POST', url: '/v1/locations', body: TOKYO }, 'LOCATION_EXISTS');
    await assertRefused(h, { method: 'POST', url: '/v1/locations', body: { ...TOKYO, id: 'x2' }, key: clerk.key }, 'FORBIDDEN');
    const bad = await assertRefused(h, { method: 'POST', url: '/v1/locations', body: { ...TOKYO, id: 'x3', region: 'US-Virginia' } }, 'REQUEST_INVALID', 'US-Virginia');
    assertDetail(bad, { field: 'region', reason: 'region_not_in_country' });
    const list = await h.call({ method: 'GET', url: '/v1/locations', key: clerk.key });
    assert.equal(list.statusCode, 200);
    const body = list.json() as { locations: Array<{ id: string }>; store: string; keys: string };
    assert.deepEqual(body.locations.map((l) => l.id), ['local', 'tokyo-db']);
    assert.equal(body.store, 'local');
    const upd = await h.call({ method: 'PUT', url: '/v1/locations/tokyo-db', body: { ...TOKYO, id: undefined, operator: 'integrator-a' } });
    assert.equal(upd.statusCode, 200, upd.payload);
    assert.equal((upd.json() as { operator: string }).operator, 'integrator-a');
    await assertRefused(h, { method: 'DELETE', url: '/v1/locations/local' }, 'LOCATION_IN_USE');
    await assertRefused(h, { method: 'DELETE', url: '/v1/locations/absent' }, 'LOCATION_NOT_FOUND');
  });

  test('collection with rules the store breaks: RESIDENCY_VIOLATION naming the rule; nothing created; one log entry', async () => {
    const v = h.state.current.sealed ? assert.fail('sealed') : h.state.current.vault;
    const before = (await v.accessLog.integrate(T)).size;
    const body = await assertRefused(
      h,
      { method: 'POST', url: `/v1/tenants/${T}/collections`, body: { name: 'strict', ...SCHEMA, residency: { ciphertext: { regions: ['JP-Tokyo', 'JP-Osaka'] } } } },
      'RESIDENCY_VIOLATION',
    );
    assertDetail(body, { field: 'ciphertext.regions', reason: 'residency_violation' });
    assert.equal((await h.call({ method: 'GET', url: `/v1/tenants/${T}/collections/strict` })).statusCode, 404);
    const { size } = await v.accessLog.integrate(T);
    const entries = (await v.store.getLogEntryRange(T, before, size)).map((e) => decodeLogEntry(e.entry)).filter((e) => e.outcome !== 'ok' && e.action === 'collection.create');
    assert.deepEqual(entries.map((e) => [e.action, e.outcome, e.collection, e.location]), [['collection.create', 'RESIDENCY_VIOLATION', 'strict', 'local']]);
    // Rules the store satisfies are accepted and read back.
    const ok = await h.call({ method: 'POST', url: `/v1/tenants/${T}/collections`, body: { name: C, ...SCHEMA, residency: { ciphertext: { countries: ['JP'] } } } });
    assert.equal(ok.statusCode, 201, ok.payload);
    const rules = await h.call({ method: 'GET', url: `/v1/tenants/${T}/collections/${C}/residency` });
    assert.deepEqual(rules.json(), { rules: { ciphertext: { countries: ['JP'] } } });
    await assertRefused(h, { method: 'PUT', url: `/v1/tenants/${T}/collections/${C}/residency`, body: { rules: { keys: { locations: ['tokyo-db'] } } } }, 'RESIDENCY_VIOLATION');
  });

  test('data map: where ciphertext and keys are, who operates them, records by classification', async () => {
    const v = h.state.current.sealed ? assert.fail('sealed') : h.state.current.vault;
    await v.records.create(T, C, { subjectId: 'S-9', fields: { family_name: '山田', my_number: '123456789018' } });
    const res = await h.call({ method: 'GET', url: `/v1/tenants/${T}/map` });
    assert.equal(res.statusCode, 200, res.payload);
    const map = res.json() as DataMap;
    assert.equal(map.store.id, 'local');
    assert.equal(map.keys.operator, 'self');
    assert.equal(map.keys.providerKind, 'file');
    const c = map.collections.find((x) => x.name === C);
    assert.equal(c?.records, 1);
    assert.deepEqual(c?.classifications['my-number'], { fields: ['my_number'], records: 1 });
    assert.deepEqual(c?.classifications.personal, { fields: ['family_name'], records: 1 });
    assert.equal(map.recordsByClassification['my-number'], 1);
    assert.equal(map.compliant, true);
    assert.equal(c?.ciphertext.violation, null);
    await assertRefused(h, { method: 'GET', url: `/v1/tenants/${T}/map`, key: clerk.key, purpose: null }, 'POLICY_DENIED');
    const page = await h.call({ method: 'GET', url: `/v1/tenants/${T}/map/html` });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    assert.ok(!/<script(?![^>]*application\/json)|<link|src=/i.test(page.payload), 'self-contained: no script, no external asset');
    assert.ok(!page.payload.includes('123456789018') && !page.payload.includes('山田'), 'no personal value in the map');
  });

  test('access report: counts match a log the test built; per-subject reads carry inclusion proofs that verify', async () => {
    const v = h.state.current.sealed ? assert.fail('sealed') : h.state.current.vault;
    const entry = (n: number, over: Partial<LogEntry> & Pick<LogEntry, 'time' | 'action'>): LogEntry => ({
      v: 1,
      tenant: T,
      principal: { id: clerk.id, auth: 'api-key' },
      collection: C,
      records: [],
      subjects: [],
      fields: [],
      outcome: 'ok',
      requestId: `req-${n}`,
      client: '127.0.0.1',
      ...over,
    });
    const k2 = { id: tax.id, auth: 'api-key' as const };
    const built: LogEntry[] = [
      // 1. Thursday 10:00 JST: an ordinary read.
      entry(1, { time: '2025-12-03T01:00:00.000Z', action: 'record.read', records: [R[0] as string], subjects: ['S-1'], fields: ['family_name'], purpose: 'counter' }),
      // 2. 23:00 JST: a night read of a My Number field.
      entry(2, { time: '2025-12-03T14:00:00.000Z', action: 'record.read', records: [R[1] as string], subjects: ['S-2'], fields: ['family_name', 'my_number'], purpose: 'counter' }),
      // 3. 文化の日 (3 Nov 2025, a Monday) 11:00 JST: a search by the tax officer.
      entry(3, { time: '2025-11-03T02:00:00.000Z', action: 'record.search', principal: k2, records: [R[0] as string, R[2] as string], subjects: ['S-1', 'S-3'], fields: ['income'], purpose: 'tax_assessment' }),
      // 4. A refused read.
      entry(4, { time: '2025-12-03T02:00:00.000Z', action: 'record.read', principal: k2, records: [R[0] as string], outcome: 'POLICY_DENIED' }),
      // 5. A write: counted as an action, not as a read.
      entry(5, { time: '2025-12-03T03:00:00.000Z', action: 'record.create', records: [R[3] as string], subjects: ['S-4'], fields: ['family_name'] }),
      // 6. Another collection; 7. before the period: neither counts.
      entry(6, { time: '2025-12-03T04:00:00.000Z', action: 'record.read', collection: 'other', records: [R[0] as string], subjects: ['S-1'] }),
      entry(7, { time: '2025-10-01T04:00:00.000Z', action: 'record.read', records: [R[0] as string], subjects: ['S-1'] }),
    ];
    await v.accessLog.record(...built);
    await v.accessLog.integrate(T);
    const url = `/v1/tenants/${T}/collections/${C}/access/report?from=2025-11-01T00:00:00Z&to=2025-12-31T00:00:00Z`;
    const res = await h.call({ method: 'GET', url });
    assert.equal(res.statusCode, 200, res.payload);
    const r = res.json() as AccessReport;
    assert.deepEqual(r.totals, { accesses: 3, records: 3, subjects: 3, myNumber: { accesses: 1, records: 1 }, night: 1, holiday: 1, refused: 1 });
    const byId = new Map(r.whoDid.map((p) => [p.principal, p]));
    const c = byId.get(clerk.id);
    const t = byId.get(tax.id);
    assert.deepEqual(
      c && { accesses: c.accesses, records: c.records, subjects: c.subjects, myNumber: c.myNumber, night: c.night, holiday: c.holiday, refused: c.refused, roles: c.roles, purposes: c.purposes, actions: c.actions },
      { accesses: 2, records: 2, subjects: 2, myNumber: { accesses: 1, records: 1 }, night: 1, holiday: 0, refused: 0, roles: ['clerk'], purposes: { counter: 2 }, actions: { 'record.create': 1, 'record.read': 2 } },
    );
    assert.deepEqual(
      t && { accesses: t.accesses, records: t.records, subjects: t.subjects, holiday: t.holiday, refused: t.refused, roles: t.roles, purposes: t.purposes },
      { accesses: 1, records: 2, subjects: 2, holiday: 1, refused: 1, roles: ['tax_officer'], purposes: { tax_assessment: 1 } },
    );
    assert.equal(r.flagged.length, 2);
    assert.ok(r.flagged.some((f) => f.principal === clerk.id && f.night && f.myNumber && f.closedDay === null));
    assert.ok(r.flagged.some((f) => f.principal === tax.id && !f.night && f.closedDay?.startsWith('holiday:')));
    // Who read each person: S-1 by both, S-2 by the clerk, S-3 by the tax officer; S-4 was written, not read.
    assert.deepEqual(
      r.subjects.map((s) => [s.subject, s.reads.map((x) => x.principal).sort()]),
      [
        ['S-1', [clerk.id, tax.id].sort()],
        ['S-2', [clerk.id]],
        ['S-3', [tax.id]],
      ],
    );
    // Every proof verifies against the report's own checkpoint.
    const cp = parseCheckpoint(parseNote(Buffer.from(r.log.checkpoint)).text);
    assert.equal(cp.size, r.log.size);
    for (const s of r.subjects) {
      for (const x of s.reads) {
        const [row] = await v.store.getLogEntryRange(T, x.index, x.index + 1);
        assert.ok(row);
        verifyInclusion(x.index, cp.size, leafHash(row.entry), x.proof.map((p) => Buffer.from(p, 'hex')), cp.rootHash);
      }
    }
    // Who can: from the policy, one row per role and purpose, beside.
    assert.ok(r.whoCan.rows.some((row) => row.label === 'role:operator'));
    assert.ok(r.whoCan.rows.some((row) => row.label === `key:${clerk.id}`));
    // The HTML report: self-contained, showing the same counts.
    const page = await h.call({ method: 'GET', url: url.replace('/access/report?', '/access/report/html?') });
    assert.equal(page.statusCode, 200);
    assert.match(page.payload, /文化の日|holiday:/);
    assert.ok(!/<link|src=/i.test(page.payload));
    // A reversed period is refused.
    await assertRefused(h, { method: 'GET', url: `/v1/tenants/${T}/collections/${C}/access/report?from=2026-12-31T00:00:00Z&to=2026-11-01T00:00:00Z` }, 'REQUEST_INVALID');
  });
});
