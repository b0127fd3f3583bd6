import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { runCli } from '../../src/cli/program.js';
import { loadConfig } from '../../src/config/index.js';
import { buildApp } from '../../src/http/index.js';
import {
  computeHashTile,
  encodeEntryBundle,
  encodeLogEntry,
  formatEntryBundlePath,
  formatHashTilePath,
  leafHash,
  MemoryTree,
  tilesOfTree,
  verifyConsistency,
  verifyInclusion,
  type LogEntry,
} from '../../src/ledger/index.js';
import { openVault, type VaultState } from '../../src/vault/index.js';
import { captureIo } from '../cli/harness.js';
import { openRawDb } from '../helpers/raw-db.js';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { assertProblem, inject } from './harness.js';
import { testLogEntry } from '../helpers/log-entries.js';

const TENANT = 'log-city';
const OTHER = 'other-city';

function entry(tenant: string, n: number, subjects: readonly string[]): LogEntry {
  return testLogEntry(tenant, n, { subjects: [...subjects], fields: ['family_name'] });
}

async function verifyCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = captureIo();
  const code = await runCli(['node', 'kuraban', 'log', 'verify', ...args], c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

for (const backend of BACKENDS) {
  describe(`access log over HTTP (${backend})`, () => {
    let tv: TempVault;
    let app: FastifyInstance;
    let opened: VaultState;
    let url: string;
    let verifierKey: string;
    let ownKey: string;
    let otherKey: string;
    const call = (path: string, key: string | null, method: 'GET' | 'PUT' = 'GET', body?: unknown): Promise<LightMyRequestResponse> =>
      inject(app, { method, url: path, ...(body === undefined ? {} : { body }) }, key);
    const vault = () => {
      if (opened.sealed) throw new Error('sealed');
      return opened.vault;
    };
    const integrate = async () => {
      await vault().integrator.integrateNow();
    };
    const setPublic = async (value: boolean) => {
      const res = await call(`/v1/tenants/${TENANT}/log/visibility`, tv.adminKey, 'PUT', { public: value });
      assert.equal(res.statusCode, 200, res.payload);
    };

    before(async () => {
      tv = await createTempVault(backend);
      opened = await openVault(tv.location);
      const config = loadConfig({}, { dataDir: tv.dir, keyFile: tv.location.keyFile });
      app = await buildApp({ config, state: () => opened });
      await vault().tenants.create(TENANT, 'Log City');
      await vault().tenants.create(OTHER, 'Other City');
      ownKey = (await vault().issueApiKey({ name: 'own', role: 'tenant', tenantId: TENANT, roles: ['administrator'] })).key;
      otherKey = (await vault().issueApiKey({ name: 'other', role: 'tenant', tenantId: OTHER, roles: ['administrator'] })).key;
      for (let n = 0; n < 300; n += 1) await vault().accessLog.record(entry(TENANT, n, n % 4 === 0 ? ['p-x'] : [`p-${n}`]));
      await integrate();
      await app.listen({ port: 0, host: '127.0.0.1' });
      url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/log/${TENANT}/`;
      verifierKey = (await vault().logReader.verifierKey(TENANT)).verifierKey;
    });
    after(async () => {
      await app.close();
      if (!opened.sealed) await opened.vault.close();
      await opened.store.close();
      await tv.cleanup();
    });

    async function stored(): Promise<{ entries: Buffer[]; tree: MemoryTree }> {
      const entries = await tv.store.getLogEntries(TENANT, 0, 1_000_000);
      const tree = new MemoryTree();
      for (const e of entries) tree.append(leafHash(e));
      return { entries, tree };
    }

    test('restricted by default: anonymous and other tenants refused; admin and own tenant keys read', async () => {
      for (const path of [`/log/${TENANT}/checkpoint`, `/log/${TENANT}/tile/0/000`, `/v1/tenants/${TENANT}/log`, `/v1/tenants/${TENANT}/log/subjects/p-x`]) {
        assertProblem(await call(path, null), 'UNAUTHENTICATED', path);
        assertProblem(await call(path, otherKey), 'FORBIDDEN', path);
        assert.equal((await call(path, tv.adminKey)).statusCode, 200, path);
        assert.equal((await call(path, ownKey)).statusCode, 200, path);
      }
      // An unknown tenant looks restricted to anonymous callers: no probing for tenants.
      assertProblem(await call('/log/no-such-city/checkpoint', null), 'UNAUTHENTICATED');
      assertProblem(await call('/log/no-such-city/checkpoint', tv.adminKey), 'TENANT_NOT_FOUND');
      // Only administrators set visibility.
      assertProblem(await call(`/v1/tenants/${TENANT}/log/visibility`, ownKey, 'PUT', { public: true }), 'FORBIDDEN');
      assertProblem(await call(`/v1/tenants/${TENANT}/log/visibility`, null, 'PUT', { public: true }), 'UNAUTHENTICATED');
      assertProblem(await call(`/v1/tenants/${TENANT}/log/visibility`, tv.adminKey, 'PUT', { public: 'yes' }), 'REQUEST_INVALID');
      assertProblem(await call(`/v1/tenants/no-such-city/log/visibility`, tv.adminKey, 'PUT', { public: true }), 'TENANT_NOT_FOUND');
    });

    test('served checkpoint, tiles and bundles are byte-equal to the ledger, with tlog-tiles headers', async () => {
      const { entries } = await stored();
      const leaves = entries.map((e) => leafHash(e));
      const cp = await call(`/log/${TENANT}/checkpoint`, tv.adminKey);
      assert.equal(cp.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(cp.headers['cache-control'], 'private, max-age=5');
      assert.deepEqual(cp.rawPayload, await vault().accessLog.latestCheckpoint(TENANT));
      for (const tile of tilesOfTree(entries.length)) {
        const res = await call(`/log/${TENANT}/${formatHashTilePath(tile)}`, tv.adminKey);
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['content-type'], 'application/octet-stream');
        assert.equal(res.headers['cache-control'], tile.width === 256 ? 'private, max-age=31536000, immutable' : 'private, max-age=5');
        assert.deepEqual(res.rawPayload, computeHashTile(leaves, tile));
        if (tile.level === 0) {
          const b = await call(`/log/${TENANT}/${formatEntryBundlePath(tile)}`, tv.adminKey);
          assert.deepEqual(b.rawPayload, encodeEntryBundle(entries.slice(tile.index * 256, tile.index * 256 + tile.width)));
        }
      }
      await setPublic(true);
      try {
        const pub = await call(`/log/${TENANT}/tile/0/000`, null);
        assert.equal(pub.statusCode, 200);
        assert.equal(pub.headers['cache-control'], 'public, max-age=31536000, immutable');
        assert.equal((await call(`/log/${TENANT}/checkpoint`, null)).headers['cache-control'], 'public, max-age=5');
      } finally {
        await setPublic(false);
      }
      // Other routes keep no-store.
      assert.equal((await call(`/v1/tenants/${TENANT}/log`, tv.adminKey)).headers['cache-control'], 'no-store');
    });

    test('hostile tile paths: 400 or 404 problems, never a crash', async () => {
      const size = (await vault().logReader.head(TENANT)).size;
      for (const path of ['tile/0/000.p/0', 'tile/0/000.p/256', 'tile/0/000.p/01', 'tile/00/000', 'tile/64/000', 'tile/0/x000/000', 'tile/0/1', 'tile/-1/000', 'tile/0/x999/x999/x999/x999/x999/x999/999', 'tile/entries/abc', 'tile/0/000/']) {
        assertProblem(await call(`/log/${TENANT}/${path}`, tv.adminKey), 'REQUEST_INVALID', path);
      }
      for (const path of ['tile/0/005', `tile/0/001.p/${(size % 256) + 1}`, 'tile/2/000.p/1', 'tile/entries/x001/000']) {
        assertProblem(await call(`/log/${TENANT}/${path}`, tv.adminKey), 'LOG_NOT_FOUND', path);
      }
      assert.equal((await call('/healthz', null)).statusCode, 200);
    });

    test('JSON head, inclusion and consistency proofs verify with the ledger', async () => {
      const { entries, tree } = await stored();
      const head = (await call(`/v1/tenants/${TENANT}/log`, tv.adminKey)).json() as { origin: string; verifierKey: string; size: number; rootHash: string; checkpoint: string; public: boolean };
      assert.equal(head.size, entries.length);
      assert.equal(head.verifierKey, verifierKey);
      assert.equal(head.public, false);
      assert.equal(head.rootHash, tree.rootAt().toString('base64'));
      assert.ok(head.checkpoint.startsWith(`${head.origin}\n${head.size}\n`));
      for (const [index, size] of [[0, 1], [0, head.size], [255, 256], [256, 257], [head.size - 1, head.size], [17, 200]] as const) {
        const res = await call(`/v1/tenants/${TENANT}/log/proof/inclusion?index=${index}&size=${size}`, ownKey);
        assert.equal(res.statusCode, 200, res.payload);
        const body = res.json() as { index: number; size: number; proof: string[] };
        assert.deepEqual([body.index, body.size], [index, size]);
        verifyInclusion(index, size, leafHash(entries[index] as Buffer), body.proof.map((p) => Buffer.from(p, 'base64')), tree.rootAt(size));
      }
      for (const [from, to] of [[1, head.size], [7, 200], [256, head.size], [head.size, head.size]] as const) {
        const body = (await call(`/v1/tenants/${TENANT}/log/proof/consistency?from=${from}&to=${to}`, tv.adminKey)).json() as { proof: string[] };
        verifyConsistency(from, to, body.proof.map((p) => Buffer.from(p, 'base64')), tree.rootAt(from), tree.rootAt(to));
      }
      for (const q of [`index=0&size=${head.size + 1}`, 'index=5&size=5', 'index=01&size=5', 'index=-1&size=5', 'index=1', 'index=1&size=5&x=1', 'index=1.5&size=5', 'index=99999999999999999&size=5']) {
        assertProblem(await call(`/v1/tenants/${TENANT}/log/proof/inclusion?${q}`, tv.adminKey), 'REQUEST_INVALID', q);
      }
      for (const q of ['from=0&to=5', 'from=6&to=5', `from=1&to=${head.size + 1}`]) {
        assertProblem(await call(`/v1/tenants/${TENANT}/log/proof/consistency?${q}`, tv.adminKey), 'REQUEST_INVALID', q);
      }
    });

    test('who read my data: exactly the entries naming the subject, proofs against the checkpoint', async () => {
      const { entries, tree } = await stored();
      const res = await call(`/v1/tenants/${TENANT}/log/subjects/p-x`, ownKey);
      assert.equal(res.statusCode, 200, res.payload);
      const body = res.json() as { checkpoint: string; size: number; rootHash: string; entries: Array<{ index: number; entry: LogEntry; proof: string[] }> };
      const expected = entries.flatMap((e, i) => ((JSON.parse(e.toString('utf8')) as LogEntry).subjects.includes('p-x') ? [i] : []));
      assert.ok(expected.length >= 75);
      const page = (await call(`/v1/tenants/${TENANT}/log/subjects/p-x?limit=1000`, ownKey)).json() as typeof body;
      assert.deepEqual(page.entries.map((e) => e.index), expected);
      assert.deepEqual(body.entries.map((e) => e.index), expected.slice(0, 100));
      for (const e of page.entries) {
        assert.deepEqual(encodeLogEntry(e.entry), entries[e.index], 'the decoded entry is the logged one');
        verifyInclusion(e.index, page.size, leafHash(entries[e.index] as Buffer), e.proof.map((p) => Buffer.from(p, 'base64')), tree.rootAt(page.size));
      }
      assertProblem(await call(`/v1/tenants/${TENANT}/log/subjects/${encodeURIComponent('山田')}`, ownKey), 'REQUEST_INVALID');
      assertProblem(await call(`/v1/tenants/${TENANT}/log/subjects/p-x?limit=1001`, ownKey), 'REQUEST_INVALID');
    });

    test('kuraban log verify --url succeeds, restricted (with the admin key) and public (without)', async () => {
      const size = (await vault().logReader.head(TENANT)).size;
      const denied = await verifyCli(['--url', url, '--key', verifierKey]);
      assert.equal(denied.code, 2, denied.stderr);
      const ok = await verifyCli(['--url', url, '--key', verifierKey, '--header', `Authorization: Bearer ${tv.adminKey}`]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((JSON.parse(ok.stdout) as { size: number }).size, size);
      await setPublic(true);
      try {
        const pub = await verifyCli(['--url', url, '--key', verifierKey]);
        assert.equal(pub.code, 0, pub.stderr);
      } finally {
        await setPublic(false);
      }
    });

    describe('tampering with stored entries is caught by verify --url, naming the first bad index', () => {
      const auth = () => ['--header', `Authorization: Bearer ${tv.adminKey}`];
      async function tamper(fn: (raw: Awaited<ReturnType<typeof openRawDb>>) => Promise<void>, restore: (raw: Awaited<ReturnType<typeof openRawDb>>) => Promise<void>, badIndex: number): Promise<void> {
        const raw = await openRawDb(tv.location);
        try {
          await fn(raw);
          const r = await verifyCli(['--url', url, '--key', verifierKey, ...auth()]);
          assert.equal(r.code, 1, `${r.stdout} ${r.stderr}`);
          assert.match(r.stderr, new RegExp(`first bad index: ${badIndex}\\n`));
        } finally {
          await restore(raw);
          await raw.close();
        }
        const again = await verifyCli(['--url', url, '--key', verifierKey, ...auth()]);
        assert.equal(again.code, 0, `restored: ${again.stderr}`);
      }
      const row = async (raw: Awaited<ReturnType<typeof openRawDb>>, idx: number): Promise<Buffer> => {
        const [r] = await raw.all('select entry from log_entries where tenant_id = ? and idx = ?', [TENANT, idx]);
        return Buffer.from((r as { entry: Uint8Array }).entry);
      };
      const setEntry = (raw: Awaited<ReturnType<typeof openRawDb>>, idx: number, e: Buffer) => raw.run('update log_entries set entry = ? where tenant_id = ? and idx = ?', [e, TENANT, idx]);

      test('a changed byte', async () => {
        const raw0 = await openRawDb(tv.location);
        const original = await row(raw0, 37);
        await raw0.close();
        const changed = Buffer.from(original);
        changed[changed.indexOf('req-')] = 0x52; // r → R
        await tamper((raw) => setEntry(raw, 37, changed).then(() => undefined), (raw) => setEntry(raw, 37, original).then(() => undefined), 37);
      });

      test('a deleted row', async () => {
        const raw0 = await openRawDb(tv.location);
        const original = await row(raw0, 270);
        await raw0.close();
        await tamper(
          (raw) => raw.run('delete from log_entries where tenant_id = ? and idx = ?', [TENANT, 270]).then(() => undefined),
          (raw) => raw.run('insert into log_entries (tenant_id, idx, entry) values (?, ?, ?)', [TENANT, 270, original]).then(() => undefined),
          270,
        );
      });

      test('two rows swapped', async () => {
        const raw0 = await openRawDb(tv.location);
        const a = await row(raw0, 3);
        const b = await row(raw0, 9);
        await raw0.close();
        await tamper(
          async (raw) => {
            await setEntry(raw, 3, b);
            await setEntry(raw, 9, a);
          },
          async (raw) => {
            await setEntry(raw, 3, a);
            await setEntry(raw, 9, b);
          },
          3,
        );
      });

      test('an extra row inserted (later rows shifted up by one)', async () => {
        const raw0 = await openRawDb(tv.location);
        // Every stored row from 100 on, those beyond the tree's size too (SQLite places the log.read
        // entries of these very calls at their index at once; they are integrated later).
        const [{ last }] = (await raw0.all('select max(idx) as last from log_entries where tenant_id = ?', [TENANT])) as [{ last: number | string }];
        const end = Number(last) + 1;
        assert.ok(end >= (await vault().logReader.head(TENANT)).size);
        const tail: Buffer[] = [];
        for (let i = 100; i < end; i += 1) tail.push(await row(raw0, i));
        await raw0.close();
        const forged = Buffer.from(JSON.stringify(entry(TENANT, 5000, ['p-forged'])));
        await tamper(
          async (raw) => {
            for (let i = end - 1; i >= 100; i -= 1) await raw.run('update log_entries set idx = ? where tenant_id = ? and idx = ?', [i + 1, TENANT, i]);
            await raw.run('insert into log_entries (tenant_id, idx, entry) values (?, ?, ?)', [TENANT, 100, forged]);
          },
          async (raw) => {
            await raw.run('delete from log_entries where tenant_id = ? and idx >= ?', [TENANT, 100]);
            for (const [k, e] of tail.entries()) await raw.run('insert into log_entries (tenant_id, idx, entry) values (?, ?, ?)', [TENANT, 100 + k, e]);
          },
          100,
        );
      });
    });
  });
}
