/** /v1/tenants/:t/collections/:c/tokens/*: tokens on writes, tokenise and detokenise under the tenant's policy, logging, bad input. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeLogEntry, type LogEntry } from '../../src/ledger/index.js';
import { syntheticMyNumber } from '../helpers/japanese-ids.js';
import { openRawDb } from '../helpers/raw-db.js';
import { assertDetail, assertNoLeak, assertProblem, assertRefused, createTenant, expectStatus, issueKey, openHarness, recordsUrl, SECRET, type Harness } from './harness.js';

const T = 'tok-town';
const C = 'residents';
const SCHEMA = {
  fields: [
    { name: 'family_name', type: 'string', required: true, token: 'deterministic' },
    { name: 'my_number', type: 'my-number', token: 'format-preserving' },
    { name: 'card_no', type: 'string', token: 'format-preserving', tokenFormat: 'alphanumeric-upper' },
    { name: 'note', type: 'string', token: 'random' },
    { name: 'dv_support', type: 'boolean', classification: 'sensitive' },
  ],
};
const POLICY = `
@id("admins") permit (principal in Kuraban::Role::"administrator", action, resource);
@id("operator") permit (principal in Kuraban::Role::"operator", action, resource);
@id("clerk-tokens") permit (principal in Kuraban::Role::"clerk", action in [Kuraban::Action::"tokenize", Kuraban::Action::"detokenize"], resource)
  when { context.purpose == "counter" };
@id("clerk-rows") permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read-record", resource);
@id("clerk-create") permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"create", resource);
@id("dv") forbid (principal, action == Kuraban::Action::"read-record", resource)
  when { resource.flags.contains("dv_support") } unless { principal in Kuraban::Role::"administrator" };
@id("my-number-needs-mfa") forbid (principal, action == Kuraban::Action::"detokenize", resource)
  when { resource.classification == "my-number" } unless { context.mfa };
`;
const tokensUrl = (op: string, tenant = T) => `/v1/tenants/${tenant}/collections/${C}/tokens/${op}`;

describe('tokens over HTTP', () => {
  let h: Harness;
  let admin = '';
  let clerk = '';
  let outsider = '';
  let created: { id: string; tokens: Record<string, string> };
  let flagged: { id: string; tokens: Record<string, string> };
  const mn = syntheticMyNumber(77);

  before(async () => {
    h = await openHarness();
    await createTenant(h, T);
    await createTenant(h, 'elsewhere');
    await expectStatus(h.call({ method: 'POST', url: `/v1/tenants/${T}/collections`, body: { name: C, ...SCHEMA } }), 201);
    await expectStatus(h.call({ method: 'PUT', url: `/v1/tenants/${T}/policy`, body: { policies: POLICY, purposes: ['administration', 'counter'] } }), 200);
    admin = (await issueKey(h, { name: 'admin', role: 'tenant', tenantId: T, roles: ['administrator'] })).key;
    clerk = (await issueKey(h, { name: 'clerk', role: 'tenant', tenantId: T, roles: ['clerk'] })).key;
    outsider = (await issueKey(h, { name: 'other', role: 'tenant', tenantId: 'elsewhere', roles: ['administrator'] })).key;
    const r = await expectStatus(h.call({ method: 'POST', url: recordsUrl(T, C), key: admin, body: { subjectId: 'p-1', fields: { family_name: '山田', my_number: mn, card_no: 'AB12CD', note: 'メモ' } } }), 201);
    created = r.json() as typeof created;
    const f = await expectStatus(h.call({ method: 'POST', url: recordsUrl(T, C), key: admin, body: { subjectId: 'p-2', fields: { family_name: '保護', card_no: 'ZZ99', dv_support: true } } }), 201);
    flagged = f.json() as typeof flagged;
  });
  after(async () => {
    await h?.close();
  });

  async function entries(): Promise<LogEntry[]> {
    const raw = await openRawDb(h.tv.location);
    try {
      const rows = [
        ...(await raw.all('SELECT entry FROM log_entries WHERE tenant_id = ? ORDER BY idx', [T])),
        ...(await raw.all('SELECT entry FROM log_pending WHERE tenant_id = ? ORDER BY id', [T])),
      ];
      return rows.map((r) => decodeLogEntry(r.entry as Buffer));
    } finally {
      await raw.close();
    }
  }

  test('writes answer with the tokens of tokenised fields (single and batch)', async () => {
    assert.deepEqual(Object.keys(created.tokens).sort(), ['card_no', 'family_name', 'my_number', 'note']);
    assert.match(created.tokens.my_number as string, /^\d{12}$/);
    const batch = await expectStatus(h.call({ method: 'POST', url: `${recordsUrl(T, C)}/batch`, key: admin, body: { records: [{ fields: { family_name: '山田' } }, { fields: { family_name: '佐藤', card_no: 'QWER' } }] } }), 201);
    const records = (batch.json() as { records: Array<{ tokens?: Record<string, string> }> }).records;
    assert.equal(records[0]?.tokens?.family_name, created.tokens.family_name, 'deterministic: the same family name, the same token');
    assert.match(records[1]?.tokens?.card_no ?? '', /^[0-9A-Z]{4}$/);
    const col = await expectStatus(h.call({ method: 'GET', url: `/v1/tenants/${T}/collections/${C}`, key: admin }), 200);
    const fields = (col.json() as { fields: Array<{ name: string; token?: string; tokenFormat?: string }> }).fields;
    assert.deepEqual(fields.find((x) => x.name === 'card_no'), { ...fields.find((x) => x.name === 'card_no'), token: 'format-preserving', tokenFormat: 'alphanumeric-upper' });
  });

  test('a write answers only with the tokens of fields the writer may see (not of withheld ones)', async () => {
    const res = await expectStatus(h.call({ method: 'POST', url: recordsUrl(T, C), key: clerk, purpose: null, body: { fields: { family_name: '匿名', card_no: 'CLERK1', note: 'メモ' } } }), 201);
    assert.equal((res.json() as { tokens?: unknown }).tokens, undefined, 'no purpose: every personal field is withheld, so no token');
    assert.deepEqual((res.json() as { withheld?: string[] }).withheld?.sort(), ['card_no', 'family_name', 'note']);
  });

  test('an administrator detokenises; a My Number needs MFA even for one; each call is one log entry with its count', async () => {
    const res = await expectStatus(h.call({ method: 'POST', url: tokensUrl('detokenize'), key: admin, body: { field: 'card_no', tokens: [created.tokens.card_no, created.tokens.card_no] } }), 200);
    assert.deepEqual(res.json(), { field: 'card_no', values: ['AB12CD', 'AB12CD'] });
    const note = await expectStatus(h.call({ method: 'POST', url: tokensUrl('detokenize'), key: admin, body: { field: 'note', tokens: [created.tokens.note] } }), 200);
    assert.deepEqual((note.json() as { values: string[] }).values, ['メモ']);
    const mnRes = await h.call({ method: 'POST', url: tokensUrl('detokenize'), key: admin, body: { field: 'my_number', tokens: [created.tokens.my_number] } });
    assertDetail(assertProblem(mnRes, 'POLICY_DENIED'), { field: 'my_number', reason: 'detokenize_not_allowed' });
    assertNoLeak(mnRes, mn);
    const log = await entries();
    const ok = log.filter((e) => e.action === 'token.detokenize' && e.outcome === 'ok');
    assert.ok(ok.some((e) => e.count === 2 && e.fields.join() === 'card_no' && e.records.join() === created.id && e.subjects.join() === 'p-1'));
    assert.ok(log.some((e) => e.action === 'token.detokenize' && e.outcome === 'POLICY_DENIED'), 'the refusal is logged');
    assert.ok(!JSON.stringify(log).includes('AB12CD') && !JSON.stringify(log).includes(mn), 'no value in the log');
  });

  test('a clerk detokenises for purpose counter only, never a record under a row condition', async () => {
    const ok = await expectStatus(h.call({ method: 'POST', url: tokensUrl('detokenize'), key: clerk, purpose: 'counter', body: { field: 'card_no', tokens: [created.tokens.card_no] } }), 200);
    assert.deepEqual((ok.json() as { values: string[] }).values, ['AB12CD']);
    const other = await assertRefused(h, { method: 'POST', url: tokensUrl('detokenize'), key: clerk, purpose: 'administration', body: { field: 'card_no', tokens: [created.tokens.card_no] } }, 'POLICY_DENIED', 'AB12CD');
    assertDetail(other, { field: 'card_no', reason: 'detokenize_not_allowed' });
    const none = await assertRefused(h, { method: 'POST', url: tokensUrl('detokenize'), key: clerk, purpose: null, body: { field: 'card_no', tokens: [created.tokens.card_no] } }, 'POLICY_DENIED', 'AB12CD');
    assertDetail(none, { field: 'card_no', reason: 'purpose_required' });
    const dv = await assertRefused(h, { method: 'POST', url: tokensUrl('detokenize'), key: clerk, purpose: 'counter', body: { field: 'card_no', tokens: [created.tokens.card_no, flagged.tokens.card_no] } }, 'POLICY_DENIED', 'ZZ99');
    assertDetail(dv, { index: 1, reason: 'row_condition' });
    const adminDv = await expectStatus(h.call({ method: 'POST', url: tokensUrl('detokenize'), key: admin, body: { field: 'card_no', tokens: [flagged.tokens.card_no] } }), 200);
    assert.deepEqual((adminDv.json() as { values: string[] }).values, ['ZZ99']);
  });

  test('tokenise values on their own (a legacy column), under policy', async () => {
    const res = await expectStatus(h.call({ method: 'POST', url: tokensUrl('tokenize'), key: clerk, purpose: 'counter', body: { field: 'card_no', values: ['AB12CD', 'NEW123'] } }), 200);
    const tokens = (res.json() as { tokens: string[] }).tokens;
    assert.equal(tokens[0], created.tokens.card_no, 'format-preserving tokens are deterministic per field');
    const back = await expectStatus(h.call({ method: 'POST', url: tokensUrl('detokenize'), key: clerk, purpose: 'counter', body: { field: 'card_no', tokens } }), 200);
    assert.deepEqual((back.json() as { values: string[] }).values, ['AB12CD', 'NEW123']);
    const entry = (await entries()).filter((e) => e.action === 'token.tokenize').at(-1);
    assert.equal(entry?.count, 2);
    assert.equal(entry?.purpose, 'counter');
    await assertRefused(h, { method: 'POST', url: tokensUrl('tokenize'), key: clerk, purpose: null, body: { field: 'card_no', values: ['AB12CD'] } }, 'POLICY_DENIED', 'AB12CD');
  });

  test('bad input: problem+json with a stable code and the index, nothing echoed, server keeps serving', async () => {
    const url = tokensUrl('detokenize');
    const malformed = await assertRefused(h, { method: 'POST', url, key: admin, body: { field: 'card_no', tokens: [created.tokens.card_no, SECRET] } }, 'TOKEN_INVALID');
    assertDetail(malformed, { index: 1, reason: 'malformed_token' });
    const unknown = await assertRefused(h, { method: 'POST', url, key: admin, body: { field: 'note', tokens: ['tkr_AAAAAAAAAAAAAAAAAAAAAA'] } }, 'TOKEN_NOT_FOUND', 'tkr_AAAAAAAAAAAAAAAAAAAAAA');
    assertDetail(unknown, { index: 0, reason: 'unknown_token' });
    const badValue = await assertRefused(h, { method: 'POST', url: tokensUrl('tokenize'), key: admin, body: { field: 'card_no', values: ['OK12', SECRET] } }, 'TOKEN_INVALID');
    assertDetail(badValue, { index: 1, field: 'card_no', reason: 'token_value_outside_alphabet' });
    await assertRefused(h, { method: 'POST', url, key: admin, body: { field: 'card_no' } }, 'REQUEST_INVALID');
    await assertRefused(h, { method: 'POST', url, key: admin, body: { field: 'card_no', tokens: [], extra: SECRET } }, 'REQUEST_INVALID');
    await assertRefused(h, { method: 'POST', url, key: admin, body: { field: 'card_no', tokens: [] } }, 'REQUEST_INVALID');
    await assertRefused(h, { method: 'POST', url, key: admin, body: { field: 'family_name', tokens: Array.from({ length: 10_001 }, () => 'x') } }, 'BATCH_TOO_LARGE');
    await assertRefused(h, { method: 'POST', url, key: admin, body: '{"field":"card_no","tokens":[' }, 'MALFORMED_JSON');
    // Another tenant's key, and another tenant's collection of the same name.
    await assertRefused(h, { method: 'POST', url, key: outsider, body: { field: 'card_no', tokens: [created.tokens.card_no] } }, 'FORBIDDEN');
    await expectStatus(h.call({ method: 'POST', url: '/v1/tenants/elsewhere/collections', body: { name: C, ...SCHEMA } }), 201);
    await assertRefused(h, { method: 'POST', url: tokensUrl('detokenize', 'elsewhere'), key: outsider, body: { field: 'card_no', tokens: [created.tokens.card_no] } }, 'TOKEN_NOT_FOUND', 'AB12CD');
  });

  test('detokenisations count as reads in the access report (records and subjects the tokens stood for)', async () => {
    const issued = await issueKey(h, { name: 'reporter', role: 'tenant', tenantId: T, roles: ['administrator'] });
    await expectStatus(h.call({ method: 'POST', url: tokensUrl('detokenize'), key: issued.key, body: { field: 'card_no', tokens: [created.tokens.card_no] } }), 200);
    const state = h.state.current;
    assert.equal(state.sealed, false);
    if (!state.sealed) await state.vault.accessLog.integrateAll();
    const res = await expectStatus(h.call({ method: 'GET', url: `/v1/tenants/${T}/collections/${C}/access/report?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`, key: admin }), 200);
    const report = res.json() as { whoDid: Array<{ principal: string; accesses: number; records: number; subjects: number; actions: Record<string, number> }> };
    const row = report.whoDid.find((r) => r.principal === issued.id);
    assert.ok(row, 'the detokenising key is in who did');
    assert.deepEqual(row.actions, { 'token.detokenize': 1 });
    assert.equal(row.accesses, 1);
    assert.equal(row.records, 1);
    assert.equal(row.subjects, 1);
  });

  test('rotation needs manage-keys; tokens issued before it still resolve', async () => {
    await assertRefused(h, { method: 'POST', url: tokensUrl('rotate'), key: clerk, purpose: 'counter' }, 'POLICY_DENIED');
    const rot = await expectStatus(h.call({ method: 'POST', url: tokensUrl('rotate'), key: admin }), 200);
    assert.deepEqual(rot.json(), { kind: 'token', version: 2 });
    const res = await expectStatus(h.call({ method: 'POST', url: tokensUrl('detokenize'), key: admin, body: { field: 'family_name', tokens: [created.tokens.family_name] } }), 200);
    assert.deepEqual((res.json() as { values: string[] }).values, ['山田']);
    const fresh = await expectStatus(h.call({ method: 'POST', url: tokensUrl('tokenize'), key: admin, body: { field: 'family_name', values: ['山田'] } }), 200);
    assert.match((fresh.json() as { tokens: string[] }).tokens[0] as string, /^tks2_/);
  });

  test('fail closed: a token whose record cannot be opened is refused, not answered past its row condition', async () => {
    const raw = await openRawDb(h.tv.location);
    try {
      const changed = await raw.run("UPDATE records SET ciphertext = X'01' || substr(ciphertext, 2, 12) || X'00000000000000000000000000000000' WHERE id = ?", [created.id]);
      assert.equal(changed, 1);
    } finally {
      await raw.close();
    }
    const res = await h.call({ method: 'POST', url: tokensUrl('detokenize'), key: admin, body: { field: 'card_no', tokens: [created.tokens.card_no] } });
    assertDetail(assertProblem(res, 'POLICY_DENIED'), { index: 0, reason: 'row_condition' });
    assertNoLeak(res, 'AB12CD');
  });
});
