/**
 * OIDC users and failed-authentication lockout through the HTTP API, with tokens from a real
 * OpenID Provider (oidc-provider on loopback): the token's tenant, roles and amr decide what the
 * user sees; bad tokens are one 401; repeated failures lock the (principal, source) pair and the
 * lock is an entry in the tenant's access log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { assertProblem, openHarness, recordsUrl, type Harness } from './harness.js';
import { RESIDENT_SCHEMA } from '../helpers/temp-vault.js';
import { decodeLogEntry } from '../../src/ledger/index.js';

const T = 'oidc-town';
const OTHER = 'oidc-other';
const AUDIENCE = 'https://kuraban.test/api';
// family_name is personal: clear for clerks with purpose counter; income (sensitive) only with MFA.
const POLICY = `
@id("clerk-read") permit (principal in Kuraban::Role::"clerk", action in [Kuraban::Action::"read", Kuraban::Action::"search"], resource)
  when { context.purpose == "counter" && resource.classification == "personal" };
@id("clerk-sensitive-mfa") permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read", resource)
  when { context.purpose == "counter" && resource.classification == "sensitive" && context.mfa };
@id("clerk-masked") permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read-masked", resource)
  when { context.purpose == "counter" };
@id("clerk-rows") permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read-record", resource);
@id("admins") permit (principal in Kuraban::Role::"administrator", action, resource);
@id("operator") permit (principal in Kuraban::Role::"operator", action, resource);
`;

describe('OIDC users and lockout over HTTP', () => {
  let h: Harness;
  let op: TestOidcProvider;
  let recordId = '';

  before(async () => {
    op = await startOidcProvider({
      audiences: [AUDIENCE, 'https://elsewhere.test'],
      personas: {
        clerk: { tenant: T, roles: ['clerk'], amr: ['pwd'] },
        'clerk-mfa': { tenant: T, roles: ['clerk'], amr: ['pwd', 'otp'] },
        'other-clerk': { tenant: OTHER, roles: ['clerk', 'administrator'], amr: ['pwd', 'otp'] },
      },
    });
    h = await openHarness({ config: { oidcIssuers: [{ issuer: op.issuer, audience: AUDIENCE }], lockoutFailures: 3, lockoutWindowSeconds: 60, lockoutSeconds: 60 } });
    for (const t of [T, OTHER]) {
      assert.equal((await h.call({ method: 'POST', url: '/v1/tenants', body: { id: t, name: t } })).statusCode, 201);
      assert.equal((await h.call({ method: 'POST', url: `/v1/tenants/${t}/collections`, body: { name: 'residents', ...RESIDENT_SCHEMA } })).statusCode, 201);
    }
    const pushed = await h.call({ method: 'PUT', url: `/v1/tenants/${T}/policy`, body: { policies: POLICY, purposes: ['administration', 'counter'] } });
    assert.equal(pushed.statusCode, 200, pushed.payload);
    const rec = await h.call({ method: 'POST', url: recordsUrl(T, 'residents'), body: { subjectId: 'p-1', fields: { family_name: '山田', given_name: '太郎', income: '5000000' } } });
    assert.equal(rec.statusCode, 201, rec.payload);
    recordId = (rec.json() as { id: string }).id;
  });
  after(async () => {
    await h?.close();
    await op?.close();
  });

  const read = (key: string, purpose: string | null = 'counter', tenant = T) => h.call({ method: 'GET', url: `${recordsUrl(tenant, 'residents')}/${recordId}`, key, purpose });

  test("a clerk's token reads personal fields for the declared purpose; sensitive ones only after MFA", async () => {
    const plain = await read(await op.token({ persona: 'clerk' }));
    assert.equal(plain.statusCode, 200, plain.payload);
    const body = plain.json() as { fields: Record<string, unknown>; withheld?: string[]; masked?: string[] };
    assert.equal(body.fields.family_name, '山田');
    assert.equal(body.fields.income, null, 'income masked (redact) without MFA');
    assert.deepEqual(body.masked, ['income']);
    const mfa = (await read(await op.token({ persona: 'clerk-mfa' }))).json() as { fields: Record<string, unknown> };
    assert.equal(mfa.fields.income, '5000000');
    const none = (await read(await op.token({ persona: 'clerk-mfa' }), null)).json() as { fields: Record<string, unknown>; withheld?: string[] };
    assert.deepEqual(Object.keys(none.fields), []);
    assert.deepEqual(none.withheld?.sort(), ['family_name', 'given_name', 'income']);
  });

  test("a token for another tenant never reads this tenant's records, whatever its roles", async () => {
    const token = await op.token({ persona: 'other-clerk' });
    assertProblem(await read(token, 'counter'), 'FORBIDDEN');
    assertProblem(await read(token, null), 'FORBIDDEN');
  });

  test('wrong audience, unsigned and tampered tokens are one 401 (expiry: test/policy/oidc.test.ts)', async () => {
    const good = await op.token({ persona: 'clerk' });
    const [head, payload] = good.split('.') as [string, string, string];
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`;
    const tampered = `${head}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), roles: ['administrator'] })).toString('base64url')}.${good.split('.')[2]}`;
    const details = new Set<string>();
    for (const bad of [await op.token({ persona: 'clerk', audience: 'https://elsewhere.test' }), unsigned, tampered]) {
      const res = await read(bad);
      const p = assertProblem(res, 'UNAUTHENTICATED');
      details.add(p.detail);
      assert.ok(!res.payload.includes('clerk') && !res.payload.includes(T), 'no claim value in the answer');
    }
    assert.equal(details.size, 1, 'one message for every failure');
  });

  test('repeated failures lock the key and source (429 AUTH_LOCKED), even for the right key; the lock is in the tenant log', async () => {
    const issued = await h.call({ method: 'POST', url: '/v1/api-keys', body: { name: 'lock me', role: 'tenant', tenantId: T, roles: ['clerk'] } });
    const key = (issued.json() as { key: string }).key;
    const wrong = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    for (let i = 0; i < 3; i++) assertProblem(await read(wrong), 'UNAUTHENTICATED');
    assertProblem(await read(wrong), 'AUTH_LOCKED');
    assertProblem(await read(key), 'AUTH_LOCKED', 'the right key is locked too, from this source');
    // Another key from the same source is not locked.
    assert.equal((await h.call({ method: 'GET', url: `/v1/tenants/${T}`, purpose: null })).statusCode, 200);
    const logged = (await h.tv.store.listLogPending(T, 100_000)).map((r) => decodeLogEntry(r.entry));
    const keyId = (/^kbn_([0-9a-f]{16})_/.exec(key) as RegExpExecArray)[1];
    const locks = logged.filter((e) => e.action === 'auth.lock' && e.principal.id === keyId);
    assert.equal(locks.length, 1, 'one entry per lock');
    assert.equal(locks[0]?.outcome, 'AUTH_LOCKED');
    assert.equal(locks[0]?.principal.auth, 'api-key');
    // The three bad tokens of the test before were for one OIDC subject from one source: that locked too.
    assert.ok(logged.some((e) => e.action === 'auth.lock' && e.principal.auth === 'oidc'));
  });
});

