/**
 * Over HTTP: erasing a person and the key routes (who may, what they answer); sealing and unsealing
 * a running server (passphrase-protected key file, production mode, a PKCS#11 token in SoftHSM2);
 * damaged key-store rows; and the error handler that seals the vault when the root key provider
 * fails under a running server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import { KurabanError } from '../../src/errors/index.js';
import { buildApp } from '../../src/http/index.js';
import { createKeyFile, createPkcs11RootKey, openKeyFileProvider, type RootKeyProvider } from '../../src/keys/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { bindRootKey, createVault, initVault, openVault, VaultHost, type ErasureReceipt, type VaultLocation, type VaultState } from '../../src/vault/index.js';
import { verifyErasureReceipt } from '../helpers/erasure-receipt.js';
import { openRawDb } from '../helpers/raw-db.js';
import { softHsm, type TestToken } from '../helpers/softhsm.js';
import { RESIDENT_SCHEMA, tempLocation, type TempLocation } from '../helpers/temp-vault.js';
import { assertNoLeak, assertProblem, assertStillServing, createCollection, createTenant, expectStatus, inject, issueKey, openHarness, recordsUrl, type Call, type Harness } from './harness.js';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1 } as const;
const PASSPHRASE = 'correct horse battery staple 封印';
const WRONG_PASSPHRASE = 'incorrect donkey battery staple';

// ---------------------------------------------------------------------------------------------
// A server over a VaultHost (as `kuraban serve` builds it), with its log lines kept.

interface Served {
  readonly app: FastifyInstance;
  readonly host: VaultHost;
  readonly store: Store;
  readonly logs: string[];
  call(c: Call, key: string | null): Promise<LightMyRequestResponse>;
  unseal(secret: string | undefined, remoteAddress?: string): Promise<LightMyRequestResponse>;
  health(): Promise<{ status: string; sealed: boolean; reason?: string }>;
  close(): Promise<void>;
}

async function serve(location: VaultLocation): Promise<Served> {
  const store = openStore(location);
  await store.migrate();
  const host = await VaultHost.open(store, location, { sealWorkers: 0 });
  const logs: string[] = [];
  const config = loadConfig({}, { dataDir: location.dataDir, keyFile: location.keyFile, logLevel: 'info', lockoutFailures: 1000 });
  const app = await buildApp({
    config,
    state: () => host.state,
    logger: true,
    logStream: { write: (line) => void logs.push(line) },
    control: { unseal: (secret) => host.unseal(secret), seal: (reason) => host.seal(reason) },
  });
  return {
    app,
    host,
    store,
    logs,
    call: (c, key) => inject(app, c, key),
    unseal: (secret, remoteAddress = '127.0.0.1') =>
      app.inject({ method: 'POST', url: '/v1/sys/unseal', remoteAddress, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(secret === undefined ? {} : { secret }) }),
    async health() {
      const res = await app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(res.statusCode, 200, res.payload);
      return res.json() as { status: string; sealed: boolean; reason?: string };
    },
    async close() {
      await app.close();
      await host.close();
    },
  };
}

const TOWN = 'seal-town';

interface Seeded {
  readonly adminKey: string;
  readonly tenantAdminKey: string;
  readonly recordId: string;
}

/** Opens the location once (binding the root key), issues keys and writes one record; closes it again. */
async function seed(location: VaultLocation): Promise<Seeded> {
  const state = await openVault(location, { sealWorkers: 0 });
  assert.equal(state.sealed, false, state.sealed ? state.reason : '');
  if (state.sealed) throw new Error('unreachable');
  const v = state.vault;
  try {
    const admin = await v.issueApiKey({ name: 'operator', role: 'admin', tenantId: null });
    await v.tenants.create(TOWN, 'Seal Town');
    await v.collections.create(TOWN, 'residents', RESIDENT_SCHEMA);
    const tenantAdmin = await v.issueApiKey({ name: 'town admin', role: 'tenant', tenantId: TOWN, roles: ['administrator'] });
    const rec = await v.records.create(TOWN, 'residents', { subjectId: 'S-1', fields: { family_name: '封印', given_name: '太郎' } });
    return { adminKey: admin.key, tenantAdminKey: tenantAdmin.key, recordId: rec.id };
  } finally {
    await v.close();
    await state.store.close();
  }
}

const recordUrl = (id: string) => `${recordsUrl(TOWN, 'residents')}/${id}`;

/** The seeded record reads back over HTTP. */
async function assertReads(s: Served, seeded: Seeded): Promise<void> {
  const res = await s.call({ method: 'GET', url: recordUrl(seeded.recordId) }, seeded.adminKey);
  assert.equal(res.statusCode, 200, res.payload);
  assert.equal((res.json() as { fields: { family_name: string } }).fields.family_name, '封印');
}

/** Data routes answer VAULT_SEALED (503), whoever asks. */
async function assertDataSealed(s: Served, seeded: Seeded): Promise<void> {
  assertProblem(await s.call({ method: 'GET', url: recordUrl(seeded.recordId) }, seeded.adminKey), 'VAULT_SEALED', 'read while sealed');
  assertProblem(await s.call({ method: 'POST', url: recordsUrl(TOWN, 'residents'), body: { fields: { family_name: 'x', given_name: 'y' } } }, seeded.tenantAdminKey), 'VAULT_SEALED', 'write while sealed');
  assertProblem(await s.call({ method: 'GET', url: '/v1/tenants' }, seeded.adminKey), 'VAULT_SEALED', 'tenants while sealed');
  assertProblem(await s.call({ method: 'GET', url: '/readyz' }, null), 'VAULT_SEALED', 'readiness while sealed');
}

function assertLogsClean(s: Served, ...secrets: string[]): void {
  assert.ok(s.logs.length > 0, 'the server logged its requests');
  for (const line of s.logs) for (const secret of secrets) assert.ok(!line.includes(secret), `a log line contains a secret: ${line}`);
}

// ---------------------------------------------------------------------------------------------

describe('erasure and key routes over HTTP', () => {
  const T = 'erase-city';
  const CLERK_POLICY = `
@id("administrators") permit (principal in Kuraban::Role::"administrator", action, resource);
@id("operator") permit (principal in Kuraban::Role::"operator", action, resource);
@id("clerk-read") permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read", resource) when { context.purpose == "counter" };
@id("clerk-rows") permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read-record", resource);
`;
  let h: Harness;
  let townAdmin = '';
  let clerk = '';
  let otherAdmin = '';
  const ids: Record<string, string> = {};
  before(async () => {
    h = await openHarness();
    await createTenant(h, T);
    await createCollection(h, T, 'residents');
    await createTenant(h, 'erase-other');
    assert.equal((await h.call({ method: 'PUT', url: `/v1/tenants/${T}/policy`, body: { policies: CLERK_POLICY, purposes: ['administration', 'counter'] } })).statusCode, 200);
    townAdmin = (await issueKey(h, { name: 'town admin', role: 'tenant', tenantId: T, roles: ['administrator'] })).key;
    clerk = (await issueKey(h, { name: 'counter clerk', role: 'tenant', tenantId: T, roles: ['clerk'] })).key;
    otherAdmin = (await issueKey(h, { name: 'other admin', role: 'tenant', tenantId: 'erase-other', roles: ['administrator'] })).key;
    const create = async (name: string, body: unknown) => {
      const res = await expectStatus(h.call({ method: 'POST', url: recordsUrl(T, 'residents'), key: townAdmin, body }), 201);
      ids[name] = (res.json() as { id: string }).id;
    };
    await create('s1a', { subjectId: 'S-1', fields: { family_name: '消去', given_name: '一', resident_no: 'ER-1' } });
    await create('s1b', { subjectId: 'S-1', fields: { family_name: '消去', given_name: '二' } });
    await create('s2', { subjectId: 'S-2', fields: { family_name: '残存', given_name: '三' } });
    await create('anon', { fields: { family_name: '無主', given_name: '四' } });
  });
  after(async () => {
    await h?.close();
  });

  const get = (id: string, key = townAdmin) => h.call({ method: 'GET', url: `${recordsUrl(T, 'residents')}/${id}`, key });
  const erase = (subject: string, key: string | null, purpose?: string) => h.call({ method: 'POST', url: `/v1/tenants/${T}/subjects/${subject}/erase`, key, ...(purpose ? { purpose } : {}) });
  const subjectKeys = async (subject: string) => (await h.tv.store.listWrappedKeys({ tenantId: T, kind: 'subject', scopeId: subject })).filter((k) => k.wrapped.length > 0).length;

  test('a counter clerk (no manage-keys) is POLICY_DENIED and another tenant is FORBIDDEN; nothing is erased', async () => {
    assert.equal((await get(ids.s1a as string, clerk)).statusCode, 200, 'the clerk is a working principal: it may read the record');
    assertProblem(await erase('S-1', clerk, 'counter'), 'POLICY_DENIED', 'clerk erases');
    assertProblem(await erase('S-1', clerk), 'POLICY_DENIED', 'clerk erases (administration purpose)');
    assertProblem(await erase('S-1', otherAdmin), 'FORBIDDEN', "another tenant's administrator erases");
    assertProblem(await erase('S-1', null), 'UNAUTHENTICATED', 'no key');
    assert.equal(await subjectKeys('S-1'), 1, 'the key is still there');
    for (const id of [ids.s1a, ids.s1b] as string[]) assert.equal((await get(id)).statusCode, 200, 'the records still read');
    await assertStillServing(h);
  });

  test("the tenant's administrator erases: 200 with a receipt that verifies; the records are gone; a second erasure is SUBJECT_NOT_FOUND", async () => {
    const res = await erase('S-1', townAdmin);
    assert.equal(res.statusCode, 200, res.payload);
    const receipt = res.json() as ErasureReceipt;
    assert.deepEqual(Object.keys(receipt).sort(), ['erasedAt', 'keysDestroyed', 'log', 'recordsRemoved', 'subject', 'tenant', 'tokensRevoked']);
    assert.deepEqual(Object.keys(receipt.log).sort(), ['checkpoint', 'entry', 'inclusionProof', 'index', 'origin', 'treeSize', 'verifierKey']);
    assert.equal(receipt.tenant, T);
    assert.equal(receipt.subject, 'S-1');
    assert.equal(receipt.keysDestroyed, 1);
    assert.equal(receipt.recordsRemoved, 2);
    assert.equal(receipt.tokensRevoked, 0, 'the collection tokenises nothing');
    const { entry } = verifyErasureReceipt(receipt);
    assert.equal(entry.action, 'subject.erase');
    assert.deepEqual(entry.subjects, ['S-1']);
    assert.deepEqual([...entry.records].sort(), [ids.s1a, ids.s1b].sort());
    assert.equal(entry.principal.auth, 'api-key');
    assertNoLeak(res, '消去');
    assertNoLeak(res, 'ER-1');

    assertProblem(await get(ids.s1a as string), 'RECORD_NOT_FOUND');
    assertProblem(await get(ids.s1b as string), 'RECORD_NOT_FOUND');
    assert.equal((await get(ids.s2 as string)).statusCode, 200, 'another subject is untouched');
    assert.equal(await subjectKeys('S-1'), 0);
    const search = await h.call({ method: 'POST', url: `${recordsUrl(T, 'residents')}/search`, key: townAdmin, body: { where: { resident_no: 'ER-1' } } });
    assert.equal(search.statusCode, 200, search.payload);
    assert.deepEqual((search.json() as { records: unknown[] }).records, []);

    assertProblem(await erase('S-1', townAdmin), 'SUBJECT_NOT_FOUND');
    assertProblem(await erase('never-seen', townAdmin), 'SUBJECT_NOT_FOUND');
    assertProblem(await h.call({ method: 'POST', url: `/v1/tenants/${T}/subjects/${encodeURIComponent('bad id')}/erase`, key: townAdmin }), 'REQUEST_INVALID');
    // The operator's key reaches every tenant (the default policies allow the operator role).
    assertProblem(await h.call({ method: 'POST', url: `/v1/tenants/no-such-town/subjects/S-1/erase` }), 'TENANT_NOT_FOUND');
  });

  test('GET …/keys reports versions, what they protect and the subject keys; only with manage-keys in the tenant', async () => {
    const res = await h.call({ method: 'GET', url: `/v1/tenants/${T}/keys`, key: townAdmin });
    assert.equal(res.statusCode, 200, res.payload);
    const body = res.json() as {
      tenantId: string;
      tenantKey: { current: number; versions: Array<{ version: number; wraps: number }> };
      collections: Array<{ name: string; current: number; versions: Array<{ version: number; records: number }> }>;
      subjectKeys: number;
      jobs: unknown[];
    };
    const wrapped = (await h.tv.store.listWrappedKeys({ tenantId: T })).filter((k) => k.kind !== 'tenant').length;
    assert.deepEqual(body, {
      tenantId: T,
      tenantKey: { current: 1, versions: [{ version: 1, wraps: wrapped }] },
      collections: [{ name: 'residents', current: 1, versions: [{ version: 1, records: 1 }] }],
      subjectKeys: 1,
      jobs: [],
    });
    assertProblem(await h.call({ method: 'GET', url: `/v1/tenants/${T}/keys`, key: clerk }), 'POLICY_DENIED');
    assertProblem(await h.call({ method: 'GET', url: `/v1/tenants/${T}/keys`, key: otherAdmin }), 'FORBIDDEN');
  });

  test('POST …/keys/rotate makes tenant key version 2, which wraps new keys at once; old records still read', async () => {
    assertProblem(await h.call({ method: 'POST', url: `/v1/tenants/${T}/keys/rotate`, key: clerk }), 'POLICY_DENIED');
    assertProblem(await h.call({ method: 'POST', url: `/v1/tenants/${T}/keys/rotate`, key: otherAdmin }), 'FORBIDDEN');
    const res = await h.call({ method: 'POST', url: `/v1/tenants/${T}/keys/rotate`, key: townAdmin });
    assert.equal(res.statusCode, 200, res.payload);
    assert.deepEqual(res.json(), { kind: 'tenant', version: 2 });
    const created = await expectStatus(h.call({ method: 'POST', url: recordsUrl(T, 'residents'), key: townAdmin, body: { subjectId: 'S-3', fields: { family_name: '新', given_name: '五' } } }), 201);
    const keys = (await h.call({ method: 'GET', url: `/v1/tenants/${T}/keys`, key: townAdmin })).json() as { tenantKey: { current: number; versions: Array<{ version: number; wraps: number }> } };
    assert.equal(keys.tenantKey.current, 2);
    assert.deepEqual(keys.tenantKey.versions.find((v) => v.version === 2), { version: 2, wraps: 1 }, "the new subject's key is wrapped by version 2");
    for (const id of [ids.s2, ids.anon, (created.json() as { id: string }).id] as string[]) assert.equal((await get(id)).statusCode, 200);
    const row = await h.tv.store.getWrappedKey(T, 'subject', 'S-3');
    assert.equal(row?.wrappedBy, 2);
  });

  test('POST …/collections/:c/keys/rotate makes data key version 2 for new writes; both versions read', async () => {
    assertProblem(await h.call({ method: 'POST', url: `/v1/tenants/${T}/collections/residents/keys/rotate`, key: clerk }), 'POLICY_DENIED');
    assertProblem(await h.call({ method: 'POST', url: `/v1/tenants/${T}/collections/residents/keys/rotate`, key: otherAdmin }), 'FORBIDDEN');
    assertProblem(await h.call({ method: 'POST', url: `/v1/tenants/${T}/collections/nothing_here/keys/rotate`, key: townAdmin }), 'COLLECTION_NOT_FOUND');
    const res = await h.call({ method: 'POST', url: `/v1/tenants/${T}/collections/residents/keys/rotate`, key: townAdmin });
    assert.equal(res.statusCode, 200, res.payload);
    assert.deepEqual(res.json(), { kind: 'collection', version: 2 });
    const created = await expectStatus(h.call({ method: 'POST', url: recordsUrl(T, 'residents'), key: townAdmin, body: { fields: { family_name: '新版', given_name: '六' } } }), 201);
    const keys = (await h.call({ method: 'GET', url: `/v1/tenants/${T}/keys`, key: townAdmin })).json() as { collections: Array<{ name: string; current: number; versions: Array<{ version: number; records: number }> }> };
    assert.deepEqual(keys.collections, [{ name: 'residents', current: 2, versions: [{ version: 1, records: 1 }, { version: 2, records: 1 }] }]);
    assert.equal((await get(ids.anon as string)).statusCode, 200, 'the version-1 record reads');
    assert.equal((await get((created.json() as { id: string }).id)).statusCode, 200, 'the version-2 record reads');
  });
});

// ---------------------------------------------------------------------------------------------

describe('seal and unseal over HTTP (passphrase-protected key file)', () => {
  let loc: TempLocation;
  let seeded: Seeded;
  let s: Served;
  before(async () => {
    loc = await tempLocation('sqlite');
    await createKeyFile(loc.location.keyFile, { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT });
    seeded = await seed({ ...loc.location, passphrase: PASSPHRASE });
    // The server starts without the passphrase, as `kuraban serve` does when none is configured.
    s = await serve(loc.location);
  });
  after(async () => {
    await s?.close();
    await loc?.cleanup();
  });

  test('opened without the passphrase the vault is sealed: /healthz says why, data routes answer 503 VAULT_SEALED', async () => {
    assert.equal(s.host.state.sealed, true);
    const health = await s.health();
    assert.equal(health.status, 'sealed');
    assert.equal(health.sealed, true);
    assert.match(health.reason ?? '', /passphrase/);
    await assertDataSealed(s, seeded);
    // Sealing needs an authenticated operator, which a sealed vault cannot check.
    assertProblem(await s.call({ method: 'POST', url: '/v1/sys/seal' }, seeded.adminKey), 'VAULT_SEALED');
  });

  test('a wrong secret answers 503 VAULT_SEALED, leaves it sealed, and is never echoed or logged', async () => {
    for (const secret of [WRONG_PASSPHRASE, undefined]) {
      const res = await s.unseal(secret);
      const p = assertProblem(res, 'VAULT_SEALED', 'wrong secret');
      assert.match(p.detail, /passphrase/);
      assertNoLeak(res, WRONG_PASSPHRASE);
      assertNoLeak(res, PASSPHRASE);
      assert.equal(s.host.state.sealed, true);
      assert.equal((await s.health()).sealed, true);
    }
    await assertDataSealed(s, seeded);
    assertLogsClean(s, WRONG_PASSPHRASE, PASSPHRASE);
  });

  test('the right secret unseals: data routes work; unsealing an open vault is a no-op', async () => {
    const res = await s.unseal(PASSPHRASE);
    assert.equal(res.statusCode, 200, res.payload);
    assert.deepEqual(res.json(), { status: 'ok', sealed: false });
    assertNoLeak(res, PASSPHRASE);
    assert.deepEqual(await s.health(), { status: 'ok', sealed: false });
    await assertReads(s, seeded);
    const again = await s.unseal(WRONG_PASSPHRASE);
    assert.equal(again.statusCode, 200, 'an open vault ignores the secret');
    assert.equal(s.host.state.sealed, false);
    assertLogsClean(s, WRONG_PASSPHRASE, PASSPHRASE);
  });

  test('POST /v1/sys/seal: refused without an operator key (vault stays open); with one the vault seals and data routes answer VAULT_SEALED', async () => {
    assertProblem(await s.call({ method: 'POST', url: '/v1/sys/seal' }, null), 'UNAUTHENTICATED');
    assertProblem(await s.call({ method: 'POST', url: '/v1/sys/seal' }, seeded.tenantAdminKey), 'FORBIDDEN');
    assertProblem(await s.call({ method: 'POST', url: '/v1/sys/seal' }, 'kb_not_a_real_key'), 'UNAUTHENTICATED');
    assert.equal(s.host.state.sealed, false);
    await assertReads(s, seeded);

    const res = await s.call({ method: 'POST', url: '/v1/sys/seal' }, seeded.adminKey);
    assert.equal(res.statusCode, 200, res.payload);
    assert.deepEqual(res.json(), { status: 'sealed', sealed: true });
    const health = await s.health();
    assert.equal(health.sealed, true);
    assert.match(health.reason ?? '', /operator/);
    await assertDataSealed(s, seeded);
    // And it opens again with the passphrase.
    assert.equal((await s.unseal(PASSPHRASE)).statusCode, 200);
    await assertReads(s, seeded);
  });

  test('after 5 wrong attempts from one address, even the right secret is 429 AUTH_LOCKED; another address still unseals', async () => {
    assert.equal((await s.call({ method: 'POST', url: '/v1/sys/seal' }, seeded.adminKey)).statusCode, 200);
    const attacker = '10.0.0.9';
    for (let i = 0; i < 5; i++) assertProblem(await s.unseal(`${WRONG_PASSPHRASE} ${i}`, attacker), 'VAULT_SEALED', `attempt ${i + 1}`);
    const locked = await s.unseal(PASSPHRASE, attacker);
    assertProblem(locked, 'AUTH_LOCKED', 'the right secret after the lock');
    assertNoLeak(locked, PASSPHRASE);
    assert.equal(s.host.state.sealed, true, 'a locked-out attempt does not unseal');
    assertProblem(await s.unseal(PASSPHRASE, attacker), 'AUTH_LOCKED', 'still locked');
    const ok = await s.unseal(PASSPHRASE, '10.0.0.10');
    assert.equal(ok.statusCode, 200, ok.payload);
    assert.equal(s.host.state.sealed, false);
    await assertReads(s, seeded);
    assertLogsClean(s, WRONG_PASSPHRASE, PASSPHRASE);
  });
});

// ---------------------------------------------------------------------------------------------

describe('production mode', () => {
  test('an unprotected key file leaves the vault sealed with a reason naming production mode; nothing is written', async () => {
    const loc = await tempLocation('sqlite');
    try {
      await createKeyFile(loc.location.keyFile);
      const s = await serve({ ...loc.location, production: true });
      try {
        assert.equal(s.host.state.sealed, true);
        const health = await s.health();
        assert.equal(health.sealed, true);
        assert.match(health.reason ?? '', /production/);
        // No secret opens it: production mode refuses the file itself.
        assertProblem(await s.unseal(PASSPHRASE), 'VAULT_SEALED');
        assert.equal(s.host.state.sealed, true);
        assert.equal(await s.store.getMeta('root_key_id'), undefined, 'the refused key was not bound to the store');
      } finally {
        await s.close();
      }
      // The same file opens in development mode.
      const dev = await openVault(loc.location, { sealWorkers: 0 });
      assert.equal(dev.sealed, false);
      if (!dev.sealed) await dev.vault.close();
      await dev.store.close();
    } finally {
      await loc.cleanup();
    }
  });

  test('a passphrase-protected key file with its passphrase opens; without it, it unseals over HTTP', async () => {
    const loc = await tempLocation('sqlite');
    try {
      await createKeyFile(loc.location.keyFile, { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT });
      const seeded = await seed({ ...loc.location, passphrase: PASSPHRASE, production: true });
      const open = await serve({ ...loc.location, passphrase: PASSPHRASE, production: true });
      try {
        assert.equal(open.host.state.sealed, false);
        assert.deepEqual(await open.health(), { status: 'ok', sealed: false });
        await assertReads(open, seeded);
      } finally {
        await open.close();
      }
      const sealed = await serve({ ...loc.location, production: true });
      try {
        assert.equal(sealed.host.state.sealed, true);
        assert.match((await sealed.health()).reason ?? '', /passphrase/);
        assert.equal((await sealed.unseal(PASSPHRASE)).statusCode, 200);
        await assertReads(sealed, seeded);
      } finally {
        await sealed.close();
      }
    } finally {
      await loc.cleanup();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('PKCS#11 root key (SoftHSM2)', () => {
  const KEY_LABEL = 'kuraban-root';
  let loc: TempLocation;
  let token: TestToken;
  let location: VaultLocation;
  let seeded: Seeded;
  let hsm: ReturnType<typeof softHsm>;
  before(async () => {
    // Nothing in this process has initialised the PKCS#11 module before this point.
    hsm = softHsm();
    token = await hsm.newToken();
    loc = await tempLocation('sqlite');
    const keyId = await createPkcs11RootKey({ library: hsm.library, tokenLabel: token.tokenLabel, keyLabel: KEY_LABEL, pin: token.pin });
    location = { ...loc.location, keyProvider: 'pkcs11', pkcs11: { library: hsm.library, tokenLabel: token.tokenLabel, keyLabel: KEY_LABEL, pin: token.pin } };
    seeded = await seed(location);
    const store = openStore(location);
    try {
      assert.equal(await store.getMeta('root_key_id'), keyId, "the store is bound to the token's key");
    } finally {
      await store.close();
    }
  });
  after(async () => {
    await loc?.cleanup();
  });

  const pins = () => [token.pin, token.soPin];

  test('records written under the token key read back over HTTP', async () => {
    const s = await serve(location);
    try {
      assert.equal(s.host.state.sealed, false, s.host.state.sealed ? s.host.state.reason : '');
      await assertReads(s, seeded);
      const created = await s.call({ method: 'POST', url: recordsUrl(TOWN, 'residents'), body: { subjectId: 'S-9', fields: { family_name: '札', given_name: '九' } } }, seeded.tenantAdminKey);
      assert.equal(created.statusCode, 201, created.payload);
      const read = await s.call({ method: 'GET', url: recordUrl((created.json() as { id: string }).id) }, seeded.adminKey);
      assert.equal((read.json() as { fields: { given_name: string } }).fields.given_name, '九');
    } finally {
      await s.close();
    }
  });

  test('a wrong PIN leaves it sealed (reason names the PIN, never contains it); HTTP unseal with a wrong PIN is refused; VaultHost.unseal(rightPin) opens it', async () => {
    const wrongPin = `${token.pin}x`;
    const OTHER_WRONG_PIN = 'wrong-pin-4711';
    const s = await serve({ ...location, pkcs11: { ...(location.pkcs11 as NonNullable<VaultLocation['pkcs11']>), pin: wrongPin } });
    try {
      const state = s.host.state;
      assert.equal(state.sealed, true);
      const reason = state.sealed ? state.reason : '';
      assert.match(reason, /PIN/);
      for (const pin of [...pins(), wrongPin]) assert.ok(!reason.includes(pin), `the reason contains a PIN: ${reason}`);
      const health = await s.health();
      assert.equal(health.sealed, true);
      await assertDataSealed(s, seeded);

      const refused = await s.unseal(OTHER_WRONG_PIN);
      assertProblem(refused, 'VAULT_SEALED');
      assert.match((refused.json() as { detail: string }).detail, /PIN/);
      for (const pin of [...pins(), wrongPin, OTHER_WRONG_PIN]) assertNoLeak(refused, pin);
      assert.equal(s.host.state.sealed, true);

      await s.host.unseal(token.pin);
      assert.equal(s.host.state.sealed, false);
      assert.deepEqual(await s.health(), { status: 'ok', sealed: false });
      await assertReads(s, seeded);
      assertLogsClean(s, ...pins(), wrongPin, OTHER_WRONG_PIN);
    } finally {
      await s.close();
    }
  });

  test('the token deleted under a running server: the next request needing the root key answers 503 VAULT_SEALED and the host seals; a fresh open is sealed (token missing), not a crash', async () => {
    const s = await serve(location);
    try {
      assert.equal(s.host.state.sealed, false);
      // Fresh host: the tenant key is not cached, so the read below must ask the token to unwrap it.
      await hsm.deleteToken(token.tokenLabel);
      const res = await s.call({ method: 'GET', url: recordUrl(seeded.recordId) }, seeded.adminKey);
      const p = assertProblem(res, 'VAULT_SEALED', 'read after the token went away');
      assert.match(p.detail, /root key provider failed/);
      const health = await s.health();
      assert.equal(health.sealed, true, 'the host sealed itself');
      assert.match(health.reason ?? '', /root key provider failed/);
      await assertDataSealed(s, seeded);
      // Unsealing cannot bring it back while the token is gone.
      const again = await s.unseal(token.pin);
      const q = assertProblem(again, 'VAULT_SEALED');
      assert.match(q.detail, /no PKCS#11 token labelled/);
      assertNoLeak(again, token.pin);
      assertLogsClean(s, ...pins());
    } finally {
      await s.close();
    }
    const fresh = await serve(location);
    try {
      const state = fresh.host.state;
      assert.equal(state.sealed, true);
      assert.match(state.sealed ? state.reason : '', /no PKCS#11 token labelled/);
      assert.equal((await fresh.health()).sealed, true);
      await assertDataSealed(fresh, seeded);
    } finally {
      await fresh.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('damaged key-store rows', () => {
  test("a damaged tenant key row: reading that tenant's record is a clear 500 DECRYPTION_FAILED; other tenants are served, the vault stays open", async () => {
    const h = await openHarness();
    const D = 'damaged-town';
    let fresh: VaultState | undefined;
    try {
      await createTenant(h, D);
      await createCollection(h, D, 'residents');
      const created = await expectStatus(h.call({ method: 'POST', url: recordsUrl(D, 'residents'), body: { subjectId: 'D-1', fields: { family_name: '破損', given_name: '七' } } }), 201);
      const id = (created.json() as { id: string }).id;
      const raw = await openRawDb(h.tv.location);
      try {
        const [row] = await raw.all(`select wrapped from wrapped_keys where tenant_id = ? and kind = 'tenant'`, [D]);
        const wrapped = Buffer.from(row?.wrapped as Uint8Array);
        wrapped[wrapped.length - 1] = (wrapped[wrapped.length - 1] as number) ^ 0x01;
        assert.equal(await raw.run(`update wrapped_keys set wrapped = ? where tenant_id = ? and kind = 'tenant'`, [wrapped, D]), 1);
      } finally {
        await raw.close();
      }
      // The harness's vault has this tenant's key cached; a freshly opened one must unwrap the damaged row.
      const original = h.state.current;
      fresh = await openVault(h.tv.location, { sealWorkers: 0 });
      assert.equal(fresh.sealed, false);
      h.state.current = fresh;
      try {
        const res = await h.call({ method: 'GET', url: `${recordsUrl(D, 'residents')}/${id}` });
        const p = assertProblem(res, 'DECRYPTION_FAILED', 'read under a damaged tenant key');
        assert.equal(p.detail, 'decryption operation failed');
        assertNoLeak(res, '破損');
        assertProblem(
          await h.call({ method: 'POST', url: recordsUrl(D, 'residents'), body: { fields: { family_name: 'x', given_name: 'y' } } }),
          'DECRYPTION_FAILED',
          'write under a damaged tenant key',
        );
        await assertStillServing(h);
        assert.deepEqual((await h.call({ method: 'GET', url: '/healthz', key: null })).json(), { status: 'ok', sealed: false }, 'damaged data is not a reason to seal');
      } finally {
        h.state.current = original;
      }
    } finally {
      if (fresh && !fresh.sealed) await fresh.vault.close();
      await fresh?.store.close();
      await h.close();
    }
  });

  test('a damaged root check value (or a foreign root key id) in kuraban_meta: the server starts sealed with a reason', async () => {
    for (const [key, damage, why] of [
      ['root_check', (v: string) => Buffer.from(Buffer.from(v, 'base64').map((b, i) => (i === 20 ? b ^ 0x80 : b))).toString('base64'), /check value/],
      ['root_check', () => 'not base64 at all!', /check value/],
      ['root_key_id', () => '0123456789abcdef', /does not belong/],
    ] as const) {
      const loc = await tempLocation('sqlite');
      try {
        const { adminKey } = await initVault(loc.location);
        const raw = await openRawDb(loc.location);
        try {
          const [row] = await raw.all(`select value from kuraban_meta where key = ?`, [key]);
          assert.equal(await raw.run(`update kuraban_meta set value = ? where key = ?`, [damage(String(row?.value)), key]), 1);
        } finally {
          await raw.close();
        }
        const s = await serve(loc.location);
        try {
          const state = s.host.state;
          assert.equal(state.sealed, true, `damaged ${key}`);
          assert.match(state.sealed ? state.reason : '', why);
          const health = await s.health();
          assert.equal(health.sealed, true);
          assert.match(health.reason ?? '', why);
          assertProblem(await s.call({ method: 'GET', url: '/v1/tenants' }, adminKey), 'VAULT_SEALED');
        } finally {
          await s.close();
        }
      } finally {
        await loc.cleanup();
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("the error handler seals the vault when the root key provider fails", () => {
  for (const op of ['wrap', 'unwrap'] as const) {
    test(`a provider whose ${op} throws KEY_PROVIDER_UNAVAILABLE: the request answers 503 VAULT_SEALED and the vault is sealed`, async () => {
      const loc = await tempLocation('sqlite');
      try {
        await createKeyFile(loc.location.keyFile);
        const seeded = await seed(loc.location);
        const store = openStore(loc.location);
        await store.migrate();
        // A tiny fake provider around the real key file. It stands for a PKCS#11 token pulled out in
        // the middle of an operation, which SoftHSM2 cannot simulate (deleting a token only makes
        // later calls fail — that case is covered above with a real token).
        const inner = await openKeyFileProvider(loc.location.keyFile);
        let pulled = false;
        let closed = false;
        const gone = () => new KurabanError('KEY_PROVIDER_UNAVAILABLE', `the PKCS#11 token is unavailable: cannot ${op} a key (CKR_DEVICE_REMOVED)`);
        const provider: RootKeyProvider = {
          kind: 'pkcs11',
          keyId: inner.keyId,
          protected: true,
          async wrap(key, aad) {
            if (pulled && op === 'wrap') throw gone();
            return inner.wrap(key, aad);
          },
          async unwrap(wrapped, aad) {
            if (pulled && op === 'unwrap') throw gone();
            return inner.unwrap(wrapped, aad);
          },
          close() {
            closed = true;
            inner.close();
          },
        };
        assert.equal(await bindRootKey(store, provider), undefined, 'the fake holds the vault root key');
        // The host's contract as VaultHost implements it: seal closes the vault (zeroes keys, closes the provider).
        let current: VaultState = { sealed: false, vault: createVault({ store, provider, sealWorkers: 0 }), store };
        const seal = async (reason: string) => {
          if (current.sealed) return;
          const was = current.vault;
          current = { sealed: true, reason, store };
          await was.close();
        };
        const config = loadConfig({}, { dataDir: loc.dir, keyFile: loc.location.keyFile, logLevel: 'info', lockoutFailures: 1000 });
        const app = await buildApp({ config, state: () => current, control: { unseal: async () => Promise.reject(new KurabanError('VAULT_SEALED', 'test host')), seal } });
        try {
          // Before the failure the server works. (For 'unwrap' nothing is read first, so the request
          // below has to unwrap the tenant key with the provider.)
          if (op === 'wrap') await assertReadsApp(app, seeded);
          pulled = true;
          const res =
            op === 'wrap'
              ? await inject(app, { method: 'POST', url: '/v1/tenants', body: { id: 'pulled-town', name: 'Pulled' } }, seeded.adminKey)
              : await inject(app, { method: 'GET', url: recordUrl(seeded.recordId) }, seeded.adminKey);
          const p = assertProblem(res, 'VAULT_SEALED', `${op} failing under a running server`);
          assert.match(p.detail, /root key provider failed/);
          const health = (await app.inject({ method: 'GET', url: '/healthz' })).json() as { status: string; sealed: boolean; reason?: string };
          assert.equal(health.sealed, true);
          assert.match(health.reason ?? '', /root key provider failed/);
          assertProblem(await inject(app, { method: 'GET', url: '/v1/tenants' }, seeded.adminKey), 'VAULT_SEALED', 'next request');
          assert.equal(closed, true, 'sealing closed the provider');
          if (op === 'wrap') assert.equal(await store.getTenant('pulled-town'), undefined, 'the failed creation left nothing behind');
        } finally {
          await app.close();
          if (!current.sealed) await current.vault.close();
          inner.close();
          await store.close();
        }
      } finally {
        await loc.cleanup();
      }
    });
  }
});

async function assertReadsApp(app: FastifyInstance, seeded: Seeded): Promise<void> {
  const res = await inject(app, { method: 'GET', url: recordUrl(seeded.recordId) }, seeded.adminKey);
  assert.equal(res.statusCode, 200, res.payload);
  assert.equal((res.json() as { fields: { family_name: string } }).fields.family_name, '封印');
}
