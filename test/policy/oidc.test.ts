/**
 * OpenID Connect bearer tokens, against a real OpenID Provider (oidc-provider, in this process):
 * valid tokens become principals (tenant, roles, duties, multi-factor); every bad token — expired,
 * for another audience, from an unknown issuer, unsigned, tampered, signed by a foreign key,
 * garbage, without a tenant — is the same UNAUTHENTICATED answer, holding no claim value.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { after, beforeEach, describe, test } from 'node:test';
import { CompactSign, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import type { KurabanError } from '../../src/errors/index.js';
import {
  createOidcVerifier,
  isMultiFactor,
  oidcPrincipalId,
  oidcRefusalReason,
  parseOidcConfig,
  OIDC_REFUSED_MESSAGE,
  type OidcIssuerConfig,
  type OidcRefusalReason,
  type OidcVerifier,
} from '../../src/policy/oidc.js';
import { rejectsWithCode } from '../helpers/errors.js';
import { once } from '../helpers/once.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';

const AUDIENCE = 'urn:kuraban:api';
const OTHER_AUDIENCE = 'urn:kuraban:other-api';
// The sub of client credentials tokens is the client id: an e-mail address here, which must never leak.
const ALICE = 'alice@example.jp';

const personas = {
  [ALICE]: { tenant: 'acme-corp', roles: ['records-clerk', 'viewer'], duties: ['intake_desk'], amr: ['pwd', 'otp'] },
  'pwd-only': { tenant: 'acme-corp', roles: ['viewer'], amr: ['pwd'] },
  'amr-mfa': { tenant: 'acme-corp', amr: ['mfa'] },
  'otp-only': { tenant: 'acme-corp', amr: ['otp'] },
  'hwk-only': { tenant: 'acme-corp', amr: ['hwk'] },
  'acr-gold': { tenant: 'acme-corp', amr: ['pwd'], acr: 'urn:example:acr:gold' },
  'no-claims': { tenant: 'acme-corp' },
  'no-tenant': { roles: ['viewer'] },
  'bad-tenant': { tenant: 'Acme Corp' },
  'tenant-number': { tenant: 42 },
  'bad-role': { tenant: 'acme-corp', roles: ['Admin'] },
  'roles-string': { tenant: 'acme-corp', roles: 'viewer' },
  'bad-duty': { tenant: 'acme-corp', duties: ['intake desk'] },
  'bad-amr': { tenant: 'acme-corp', amr: 'mfa' },
  'short-lived': { tenant: 'acme-corp', ttlSeconds: 1 },
} as const;

interface Fixture {
  readonly idp: TestOidcProvider;
  /** A second provider that no verifier trusts. */
  readonly stranger: TestOidcProvider;
  /** Trusts `idp`, its JWKS found through discovery. */
  readonly verifier: OidcVerifier;
  readonly config: OidcIssuerConfig;
  readonly aliceToken: string;
}

const providers: TestOidcProvider[] = [];
async function start(...args: Parameters<typeof startOidcProvider>): Promise<TestOidcProvider> {
  const p = await startOidcProvider(...args);
  providers.push(p);
  return p;
}
after(async () => {
  await Promise.all(providers.map((p) => p.close()));
});

let fixture: Fixture;
beforeEach(
  once(async () => {
    const idp = await start({ personas, audiences: [AUDIENCE, OTHER_AUDIENCE] });
    const stranger = await start({ personas: { [ALICE]: personas[ALICE] }, audiences: [AUDIENCE], alg: 'RS256' });
    const config: OidcIssuerConfig = { issuer: idp.issuer, audience: AUDIENCE, mfaAmr: ['hwk'], mfaAcr: ['urn:example:acr:gold'] };
    const verifier = createOidcVerifier(parseOidcConfig([config]));
    fixture = { idp, stranger, verifier, config, aliceToken: await idp.token({ persona: ALICE }) };
  }),
);

/** Base64url of a JSON value. */
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const parts = (token: string): [string, string, string] => token.split('.') as [string, string, string];

/** Every string in a token's header and claims (at least 4 characters long), and the token itself. */
function secretsOf(token: string): string[] {
  const values: string[] = [token, ...parts(token)].filter((p) => p.length >= 4);
  const collect = (v: unknown): void => {
    if (typeof v === 'string' && v.length >= 4) values.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(collect);
  };
  try {
    collect(decodeJwt(token));
    collect(decodeProtectedHeader(token));
  } catch {
    // garbage has no claims
  }
  return values;
}

/** The one refusal as an outsider sees it. */
const shape = (e: KurabanError): string => JSON.stringify({ name: e.name, code: e.code, message: e.message, details: e.details });
const REFUSAL = JSON.stringify({ name: 'KurabanError', code: 'UNAUTHENTICATED', message: OIDC_REFUSED_MESSAGE, details: [] });

/** Asserts the token is refused with the one answer, the expected logged reason, and no value of the token anywhere in the error. */
async function refused(verifier: OidcVerifier, token: string, reason: OidcRefusalReason): Promise<void> {
  const e = await rejectsWithCode(() => verifier.verify(token), 'UNAUTHENTICATED');
  assert.equal(shape(e), REFUSAL);
  assert.equal(oidcRefusalReason(e), reason);
  // The error as a log would show it: message, stack, cause (and its stack), details.
  const logged = inspect(e, { depth: 10 }) + JSON.stringify(e) + String(e.cause) + e.stack;
  for (const value of secretsOf(token)) assert.ok(!logged.includes(value), `the error must not hold a token value (${reason})`);
}

describe('valid tokens', () => {
  test('a JWT access token from the provider becomes a user principal of its tenant, with roles, duties and MFA', async () => {
    const { verifier, aliceToken, idp } = fixture;
    assert.equal(decodeProtectedHeader(aliceToken).typ, 'at+jwt', 'the provider issued an RFC 9068 access token');
    const claims = decodeJwt(aliceToken);
    const p = await verifier.verify(aliceToken);
    assert.deepEqual(p, {
      kind: 'user',
      id: oidcPrincipalId(idp.issuer, ALICE),
      issuer: idp.issuer,
      tenantId: 'acme-corp',
      roles: ['records-clerk', 'viewer'],
      duties: ['intake_desk'],
      mfa: true,
      expiresAt: new Date((claims.exp as number) * 1000).toISOString(),
    });
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.roles) && Object.isFrozen(p.duties));
  });

  test('the principal id is a hash of issuer and sub, never the sub', async () => {
    const { verifier, aliceToken, idp } = fixture;
    const p = await verifier.verify(aliceToken);
    assert.equal(decodeJwt(aliceToken).sub, ALICE);
    assert.match(p.id, /^oidc_[0-9a-f]{16}$/);
    assert.ok(!JSON.stringify(p).includes(ALICE), 'no part of the principal holds the sub');
    assert.notEqual(oidcPrincipalId(idp.issuer, ALICE), oidcPrincipalId(fixture.stranger.issuer, ALICE), 'the same sub at another issuer is another user');
  });

  test('absent roles, duties and amr are empty, and not multi-factor', async () => {
    const p = await fixture.verifier.verify(await fixture.idp.token({ persona: 'no-claims' }));
    assert.deepEqual([p.roles, p.duties, p.mfa], [[], [], false]);
  });

  test('multi-factor follows amr and acr', async () => {
    const mfa = async (persona: string): Promise<boolean> => (await fixture.verifier.verify(await fixture.idp.token({ persona }))).mfa;
    assert.equal(await mfa(ALICE), true, 'pwd + otp: two kinds of factor');
    assert.equal(await mfa('amr-mfa'), true, 'amr mfa');
    assert.equal(await mfa('pwd-only'), false, 'a password alone');
    assert.equal(await mfa('otp-only'), false, 'an OTP alone');
    assert.equal(await mfa('hwk-only'), true, 'hwk alone, because this issuer lists it in mfaAmr');
    assert.equal(await mfa('acr-gold'), true, 'an acr this issuer lists in mfaAcr');
    const plain = createOidcVerifier([{ issuer: fixture.idp.issuer, audience: AUDIENCE }]);
    assert.equal((await plain.verify(await fixture.idp.token({ persona: 'hwk-only' }))).mfa, false, 'hwk alone by default');
    assert.equal((await plain.verify(await fixture.idp.token({ persona: 'acr-gold' }))).mfa, false, 'no acr counts by default');
  });

  test('a configured jwksUri is used instead of discovery', async () => {
    const v = createOidcVerifier([{ issuer: fixture.idp.issuer, audience: AUDIENCE, jwksUri: fixture.idp.jwksUri }]);
    assert.equal((await v.verify(fixture.aliceToken)).tenantId, 'acme-corp');
  });

  test('an issuer dedicated to one tenant: the tenant claim is neither needed nor read', async () => {
    const v = createOidcVerifier([{ issuer: fixture.idp.issuer, audience: AUDIENCE, tenant: 'solo-clinic' }]);
    assert.equal((await v.verify(await fixture.idp.token({ persona: 'no-tenant' }))).tenantId, 'solo-clinic');
    assert.equal((await v.verify(fixture.aliceToken)).tenantId, 'solo-clinic');
  });

  test('a custom tenant claim', async () => {
    const v = createOidcVerifier([{ issuer: fixture.idp.issuer, audience: AUDIENCE, tenantClaim: 'client_tenant' }]);
    await refused(v, fixture.aliceToken, 'tenant_missing');
  });

  test('an RS256 provider works too', async () => {
    const v = createOidcVerifier([{ issuer: fixture.stranger.issuer, audience: AUDIENCE }]);
    const token = await fixture.stranger.token({ persona: ALICE });
    assert.equal(decodeProtectedHeader(token).alg, 'RS256');
    assert.equal((await v.verify(token)).id, oidcPrincipalId(fixture.stranger.issuer, ALICE));
  });
});

describe('refused tokens: one answer, no values', () => {
  test('expired (provider TTL of 1 s, no clock tolerance)', async () => {
    const token = await fixture.idp.token({ persona: 'short-lived' });
    const strict = createOidcVerifier([fixture.config], { clockToleranceSeconds: 0 });
    const { exp } = decodeJwt(token);
    await new Promise((r) => setTimeout(r, Math.max(0, (exp as number) * 1000 - Date.now()) + 1100));
    await refused(strict, token, 'token_expired');
    // The default 30 s tolerance still takes it: tolerance is applied.
    assert.equal((await fixture.verifier.verify(token)).tenantId, 'acme-corp');
  });

  test('for another audience', async () => {
    await refused(fixture.verifier, await fixture.idp.token({ persona: ALICE, audience: OTHER_AUDIENCE }), 'audience_mismatch');
  });

  test('from an issuer that is not configured', async () => {
    await refused(fixture.verifier, await fixture.stranger.token({ persona: ALICE }), 'issuer_unknown');
  });

  test('signed by a key that is not in the configured JWKS', async () => {
    // The issuer is trusted, but its keys are looked up in the other provider's JWKS.
    const v = createOidcVerifier([{ issuer: fixture.idp.issuer, audience: AUDIENCE, jwksUri: fixture.stranger.jwksUri }]);
    await refused(v, fixture.aliceToken, 'key_unknown');
  });

  test('re-signed with a foreign key, under the real kid or another', async () => {
    const [, payload] = parts(fixture.aliceToken);
    const header = decodeProtectedHeader(fixture.aliceToken);
    const { privateKey } = await generateKeyPair('ES256');
    const sign = (h: object) => new CompactSign(Buffer.from(payload, 'base64url')).setProtectedHeader({ ...header, ...h, alg: 'ES256' }).sign(privateKey);
    await refused(fixture.verifier, await sign({}), 'signature_invalid');
    await refused(fixture.verifier, await sign({ kid: 'not-a-known-kid' }), 'key_unknown');
  });

  test('unsigned (alg none) with a valid payload', async () => {
    const [, payload] = parts(fixture.aliceToken);
    const header = decodeProtectedHeader(fixture.aliceToken);
    await refused(fixture.verifier, `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`, 'algorithm_not_allowed');
    await refused(fixture.verifier, `${b64({ ...header, alg: 'none' })}.${payload}.`, 'algorithm_not_allowed');
    await refused(fixture.verifier, `${b64({ ...header, alg: 'NONE' })}.${payload}.`, 'algorithm_not_allowed');
    await refused(fixture.verifier, `${b64({ ...header })}.${payload}.`, 'signature_invalid');
  });

  test('HS256 signed with public key material (algorithm confusion)', async () => {
    const [, payload] = parts(fixture.aliceToken);
    const jwks = JSON.stringify(await (await fetch(fixture.idp.jwksUri)).json());
    const signingInput = `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${payload}`;
    const mac = createHmac('sha256', jwks).update(signingInput).digest('base64url');
    await refused(fixture.verifier, `${signingInput}.${mac}`, 'algorithm_not_allowed');
  });

  test('tampered: signature, payload or header changed', async () => {
    const [h, p, s] = parts(fixture.aliceToken);
    const mid = Math.floor(s.length / 2);
    const flipped = s.slice(0, mid) + (s[mid] === 'A' ? 'B' : 'A') + s.slice(mid + 1);
    await refused(fixture.verifier, `${h}.${p}.${flipped}`, 'signature_invalid');
    const claims = decodeJwt(fixture.aliceToken);
    await refused(fixture.verifier, `${h}.${b64({ ...claims, roles: ['admin'] })}.${s}`, 'signature_invalid');
    await refused(fixture.verifier, `${h}.${b64({ ...claims, kuraban_tenant: 'other-corp' })}.${s}`, 'signature_invalid');
    await refused(fixture.verifier, `${h}.${p}.`, 'signature_invalid');
    await refused(fixture.verifier, `${b64({ ...decodeProtectedHeader(fixture.aliceToken), typ: 'JWT' })}.${p}.${s}`, 'signature_invalid');
  });

  test('sender-constrained (DPoP-bound) tokens: their proof cannot be checked here', async () => {
    const token = await fixture.idp.token({ persona: ALICE, dpop: true });
    assert.equal(typeof (decodeJwt(token).cnf as { jkt?: unknown } | undefined)?.jkt, 'string', 'the provider bound it to a key');
    await refused(fixture.verifier, token, 'token_bound');
  });

  test('a token type that is not a bearer token', async () => {
    const [, p, s] = parts(fixture.aliceToken);
    const header = decodeProtectedHeader(fixture.aliceToken);
    await refused(fixture.verifier, `${b64({ ...header, typ: 'logout+jwt' })}.${p}.${s}`, 'token_type_not_allowed');
  });

  test('without a tenant, or with claims of the wrong shape', async () => {
    const { verifier, idp } = fixture;
    await refused(verifier, await idp.token({ persona: 'no-tenant' }), 'tenant_missing');
    await refused(verifier, await idp.token({ persona: 'bad-tenant' }), 'claims_malformed');
    await refused(verifier, await idp.token({ persona: 'tenant-number' }), 'claims_malformed');
    await refused(verifier, await idp.token({ persona: 'bad-role' }), 'claims_malformed');
    await refused(verifier, await idp.token({ persona: 'roles-string' }), 'claims_malformed');
    await refused(verifier, await idp.token({ persona: 'bad-duty' }), 'claims_malformed');
    await refused(verifier, await idp.token({ persona: 'bad-amr' }), 'claims_malformed');
  });

  test('garbage', async () => {
    const { verifier } = fixture;
    const cases: Array<[string, OidcRefusalReason]> = [
      ['', 'token_malformed'],
      ['not a token', 'token_malformed'],
      ['kbn_0123456789abcdef_' + 'A'.repeat(43), 'token_malformed'],
      ['a.b.c', 'token_malformed'],
      ['..', 'token_malformed'],
      [`${b64({ alg: 'ES256' })}.${b64('a string')}.c2ln`, 'token_malformed'],
      [`${b64({ alg: 'ES256' })}.bm90IGpzb24.c2ln`, 'token_malformed'],
      [`${b64({ alg: 'ES256' })}.${b64({ sub: 'x' })}.c2ln`, 'issuer_unknown'],
      [`${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`, 'token_malformed'],
      [`${parts(fixture.aliceToken)[0]}.${'A'.repeat(17 * 1024)}.c2ln`, 'token_too_long'],
    ];
    for (const [token, reason] of cases) await refused(verifier, token, reason);
  });

  test('JWKS or discovery unreachable', async () => {
    const v = createOidcVerifier([{ issuer: fixture.idp.issuer, audience: AUDIENCE, jwksUri: 'http://127.0.0.1:1/jwks' }], { fetchTimeoutMs: 2000 });
    await refused(v, fixture.aliceToken, 'jwks_unavailable');
    // A provider that has gone away: its discovery document cannot be fetched.
    const gone = await startOidcProvider({ personas: { [ALICE]: personas[ALICE] }, audiences: [AUDIENCE] });
    const token = await gone.token({ persona: ALICE });
    await gone.close();
    const v2 = createOidcVerifier([{ issuer: gone.issuer, audience: AUDIENCE }], { fetchTimeoutMs: 2000 });
    await refused(v2, token, 'jwks_unavailable');
    await refused(v2, token, 'jwks_unavailable');
  });
});

describe('looksLikeJwt and unverifiedSubjectKey', () => {
  test('looksLikeJwt tells compact JWS from other credentials', () => {
    const { verifier, aliceToken } = fixture;
    assert.equal(verifier.looksLikeJwt(aliceToken), true);
    assert.equal(verifier.looksLikeJwt(`${b64({ alg: 'none' })}.${parts(aliceToken)[1]}.`), true, 'unsigned tokens still go to verify, to be refused');
    for (const other of ['kbn_0123456789abcdef_' + 'A'.repeat(43), '', 'a.b.c', `${b64({ typ: 'JWT' })}.${b64({})}.c2ln`, `${b64({ alg: 'ES256' })}.a.b.c.d`]) {
      assert.equal(verifier.looksLikeJwt(other), false, other);
    }
  });

  test('unverifiedSubjectKey is the would-be principal id for configured issuers, else null', async () => {
    const { verifier, aliceToken, stranger } = fixture;
    const p = await verifier.verify(aliceToken);
    assert.equal(verifier.unverifiedSubjectKey(aliceToken), p.id, 'a success clears the same lockout key');
    const [h, , s] = parts(aliceToken);
    const forged = `${h}.${b64({ ...decodeJwt(aliceToken), roles: ['admin'] })}.${s}`;
    assert.equal(verifier.unverifiedSubjectKey(forged), p.id, 'bad tokens for the same subject count together');
    assert.equal(verifier.unverifiedSubjectKey(await stranger.token({ persona: ALICE })), null, 'unknown issuer');
    assert.equal(verifier.unverifiedSubjectKey(`${h}.${b64({ iss: fixture.idp.issuer })}.${s}`), null, 'no sub');
    assert.equal(verifier.unverifiedSubjectKey('garbage'), null);
  });
});

describe('isMultiFactor', () => {
  test('mfa, or two kinds of factor; configured amr and acr values', () => {
    const yes: string[][] = [['mfa'], ['pwd', 'otp'], ['pin', 'hwk'], ['pwd', 'swk'], ['sc', 'pin'], ['hwk', 'fpt'], ['face', 'pwd'], ['pwd', 'sms']];
    const no: string[][] = [[], ['pwd'], ['otp'], ['hwk'], ['sc'], ['swk'], ['fpt'], ['pwd', 'pin'], ['otp', 'hwk'], ['pwd', 'rba'], ['user', 'pwd'], ['geo', 'mca', 'wia']];
    for (const amr of yes) assert.equal(isMultiFactor(amr, undefined), true, amr.join('+'));
    for (const amr of no) assert.equal(isMultiFactor(amr, undefined), false, amr.join('+'));
    assert.equal(isMultiFactor(['hwk'], undefined, { mfaAmr: ['hwk'] }), true);
    assert.equal(isMultiFactor(['pwd'], 'urn:x:mfa', { mfaAcr: ['urn:x:mfa'] }), true);
    assert.equal(isMultiFactor(['pwd'], 'urn:x:other', { mfaAcr: ['urn:x:mfa'] }), false);
  });
});

describe('parseOidcConfig', () => {
  const ok = { issuer: 'https://login.example.jp/realms/kuraban', audience: 'kuraban' };
  const reasonsOf = async (json: unknown): Promise<string[]> => {
    const e = await rejectsWithCode(() => parseOidcConfig(json), 'CONFIG_INVALID');
    return e.details.map((d) => `${d.index ?? ''}|${d.field ?? ''}|${d.reason}`);
  };

  test('accepts valid issuers and returns frozen copies', () => {
    const full = {
      issuer: 'https://login.example.jp/realms/other',
      audience: 'kuraban',
      jwksUri: 'https://login.example.jp/certs?v=1',
      rolesClaim: 'https://kuraban.example/roles',
      dutiesClaim: 'kb_duties',
      tenantClaim: 'org',
      mfaAmr: ['hwk', 'hwk'],
      mfaAcr: ['urn:x:mfa'],
    };
    const parsed = parseOidcConfig([ok, full, { issuer: 'http://127.0.0.1:8080', audience: 'a', tenant: 'solo-clinic' }]);
    assert.deepEqual(parsed[1], { ...full, mfaAmr: ['hwk'] });
    assert.ok(parsed.every((c) => Object.isFrozen(c)));
    assert.deepEqual(parseOidcConfig([]), []);
  });

  test('refuses anything else, naming index, field and reason', async () => {
    assert.deepEqual(await reasonsOf({ issuers: [] }), ['||expected_array']);
    assert.deepEqual(await reasonsOf([null]), ['0||expected_object']);
    assert.deepEqual(await reasonsOf([{ ...ok, extra: 1 }]), ['0|extra|unknown_property']);
    assert.deepEqual(await reasonsOf([{ ...ok, issuer: 'http://login.example.jp' }]), ['0|issuer|invalid_url'], 'http only on loopback');
    assert.deepEqual(await reasonsOf([{ ...ok, issuer: 'https://login.example.jp?x=1' }]), ['0|issuer|invalid_url']);
    assert.deepEqual(await reasonsOf([{ ...ok, issuer: 'https://u:p@login.example.jp' }]), ['0|issuer|invalid_url']);
    assert.deepEqual(await reasonsOf([ok, ok]), ['1|issuer|duplicate_issuer']);
    assert.deepEqual(await reasonsOf([{ issuer: ok.issuer }]), ['0|audience|invalid_audience']);
    assert.deepEqual(await reasonsOf([{ ...ok, jwksUri: 'ftp://x' }]), ['0|jwksUri|invalid_url']);
    assert.deepEqual(await reasonsOf([{ ...ok, tenant: 'Solo' }]), ['0|tenant|invalid_tenant_id']);
    assert.deepEqual(await reasonsOf([{ ...ok, tenant: 'solo', tenantClaim: 'org' }]), ['0|tenantClaim|not_with_tenant']);
    assert.deepEqual(await reasonsOf([{ ...ok, rolesClaim: 'sub' }]), ['0|rolesClaim|reserved_claim']);
    assert.deepEqual(await reasonsOf([{ ...ok, dutiesClaim: '' }]), ['0|dutiesClaim|invalid_claim_name']);
    assert.deepEqual(await reasonsOf([{ ...ok, mfaAmr: 'mfa' }]), ['0|mfaAmr|invalid_list']);
    assert.deepEqual(await reasonsOf([{ ...ok, mfaAcr: [1] }]), ['0|mfaAcr|invalid_list']);
  });

  test('createOidcVerifier validates its issuers and options', async () => {
    await rejectsWithCode(() => createOidcVerifier([{ issuer: 'not a url', audience: 'a' }]), 'CONFIG_INVALID');
    await rejectsWithCode(() => createOidcVerifier([ok], { clockToleranceSeconds: -1 }), 'CONFIG_INVALID');
    await rejectsWithCode(() => createOidcVerifier([ok], { fetchTimeoutMs: 0 }), 'CONFIG_INVALID');
  });
});
