/** /healthz (liveness, says whether sealed and why) and /readyz (unsealed and storage reachable). */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../src/store/index.js';
import type { VaultState } from '../../src/vault/index.js';
import { SECRET, assertNoLeak, assertProblem, assertStillServing, openHarness, type Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await openHarness();
});
after(async () => {
  await h.close();
});

describe('/healthz', () => {
  test('answers ok without a key, and ignores any Authorization header', async () => {
    for (const key of [null, h.adminKey, 'not-a-key']) {
      const res = await h.call({ method: 'GET', url: '/healthz', key });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.deepEqual(res.json(), { status: 'ok', sealed: false });
    }
  });

  test('while sealed: 200, status sealed, with the reason', async () => {
    const open = h.state.current;
    h.state.current = { sealed: true, reason: 'root key abc does not belong to this vault', store: h.tv.store };
    try {
      const res = await h.call({ method: 'GET', url: '/healthz', key: null });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: 'sealed', sealed: true, reason: 'root key abc does not belong to this vault' });
    } finally {
      h.state.current = open;
    }
    assert.deepEqual((await h.call({ method: 'GET', url: '/healthz', key: null })).json(), { status: 'ok', sealed: false }, 'reads the state on every request');
  });

  test('HEAD /healthz answers without a body', async () => {
    const res = await h.app.inject({ method: 'HEAD', url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.payload, '');
  });
});

describe('/readyz', () => {
  test('ready when unsealed and the store answers, naming the backend', async () => {
    const res = await h.call({ method: 'GET', url: '/readyz', key: null });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ready', store: 'sqlite' });
  });

  test('VAULT_SEALED (503) while sealed, with the reason in the detail', async () => {
    const open = h.state.current;
    h.state.current = { sealed: true, reason: 'key file is locked', store: h.tv.store };
    try {
      const res = await h.call({ method: 'GET', url: '/readyz', key: null });
      const body = assertProblem(res, 'VAULT_SEALED');
      assert.match(body.detail, /key file is locked/);
    } finally {
      h.state.current = open;
    }
    assert.equal((await h.call({ method: 'GET', url: '/readyz', key: null })).statusCode, 200);
  });

  test('STORE_UNAVAILABLE (503) when the store cannot be reached, without saying why', async () => {
    const open = h.state.current;
    assert.ok(!open.sealed);
    const closed = openStore(h.tv.location);
    await closed.ping();
    await closed.close();
    const broken: VaultState = { sealed: false, vault: open.vault, store: closed };
    h.state.current = broken;
    try {
      const res = await h.call({ method: 'GET', url: '/readyz', key: null });
      const body = assertProblem(res, 'STORE_UNAVAILABLE');
      assert.equal(body.detail, 'Storage is unavailable');
      assertNoLeak(res, h.tv.dir);
      assertNoLeak(res, SECRET);
    } finally {
      h.state.current = open;
    }
    await assertStillServing(h);
  });
});
