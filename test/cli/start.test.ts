/**
 * The compiled CLI as a real process: `start` on a fresh data directory (creates the key file and
 * an admin key, serves), again on the same directory (reuses the vault), and `serve` with a damaged
 * root key (stays up, sealed, health only).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CLI_MAIN } from './harness.js';
import { DEMO_TENANT, generateResidents } from '../../src/demo/index.js';
import { DEMO_DEFAULT_SEED } from '../../src/cli/commands/demo.js';

const API_KEY_FORMAT = /^kbn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

/** A port nobody listens on right now (the kernel's choice for port 0). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const address = srv.address();
  assert.ok(address !== null && typeof address === 'object');
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return address.port;
}

interface Server {
  readonly child: ChildProcess;
  readonly base: string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();

/** Spawns the CLI and resolves once it says it is serving (or sealed); rejects if it exits first. */
async function launch(args: readonly string[], port: number): Promise<Server> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args, '--port', String(port)], {
    env: { PATH: process.env.PATH ?? '', KURABAN_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stdout?.resume(); // request logs: drained, not kept
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      if (/kuraban: (serving|vault is SEALED)/.test(stderr)) resolve();
    });
    void exited.then(({ code, signal }) => reject(new Error(`kuraban exited (${code ?? signal}) before serving: ${stderr}`)));
    child.on('error', reject);
  });
  return { child, base: `http://127.0.0.1:${port}`, stderr: () => stderr, exited };
}

async function get(base: string, path: string, key?: string): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
  const res = await fetch(base + path, key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, unknown> };
}

const modeOf = (p: string) => statSync(p).mode & 0o777;

describe('kuraban start / serve as a process', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kuraban-start-'));
  const dataDir = join(tmp, 'data'); // does not exist yet: start creates it
  const rootKey = join(dataDir, 'root.key');
  const adminKeyFile = join(dataDir, 'admin.key');
  let adminKey = '';
  let rootKeyText = '';

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  test('start on a fresh directory: root.key and admin.key (0600), /healthz ok, the admin key authenticates, 架空市 is loaded', async () => {
    assert.ok(!existsSync(dataDir));
    const s = await launch(['--data-dir', dataDir, 'start'], await freePort());
    try {
      adminKey = readFileSync(adminKeyFile, 'utf8').trim();
      rootKeyText = readFileSync(rootKey, 'utf8');
      assert.match(s.stderr(), /new development vault/);
      assert.equal(modeOf(rootKey), 0o600);
      assert.equal(modeOf(adminKeyFile), 0o600);
      assert.match(adminKey, API_KEY_FORMAT);
      assert.ok(!s.stderr().includes(adminKey), 'the admin key is saved to the file, not printed');

      const health = await get(s.base, '/healthz');
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok', sealed: false });

      const tenants = await get(s.base, '/v1/tenants', adminKey);
      assert.equal(tenants.status, 200);
      assert.deepEqual((tenants.body.tenants as Array<{ id: string; name: string }>).map((t) => [t.id, t.name]), [[DEMO_TENANT.id, '架空市']]);

      // The demo's tenant key (0600, never printed) reads 架空市; the reading typed in hiragana without the space finds the first resident.
      const demoKeyFile = join(dataDir, 'demo.key');
      assert.equal(modeOf(demoKeyFile), 0o600);
      const demoKey = readFileSync(demoKeyFile, 'utf8').trim();
      assert.match(demoKey, API_KEY_FORMAT);
      assert.ok(!s.stderr().includes(demoKey));
      assert.match(s.stderr(), /10000 residents/);
      const [first] = generateResidents({ seed: DEMO_DEFAULT_SEED, residents: 1 });
      assert.ok(first);
      const res = await fetch(`${s.base}/v1/tenants/${DEMO_TENANT.id}/collections/juminhyo/records/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${demoKey}`, 'content-type': 'application/json', 'kuraban-purpose': 'administration' },
        body: JSON.stringify({ where: { name_kana: String(first.juminhyo.name_kana).replace(/[\u3000 ]/g, '').replace(/[\u30A1-\u30F6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60)) } }),
      });
      assert.equal(res.status, 200);
      const found = (await res.json()) as { records: Array<{ subjectId: string; fields: Record<string, unknown> }> };
      assert.ok(found.records.some((r) => r.subjectId === first.subjectId && r.fields.name === first.juminhyo.name));

      // The counter clerk (municipal role templates): the same resident for purpose counter, My Number masked to its last four digits.
      const clerkKeyFile = join(dataDir, 'clerk.key');
      assert.equal(modeOf(clerkKeyFile), 0o600);
      const clerkKey = readFileSync(clerkKeyFile, 'utf8').trim();
      const asClerk = await fetch(`${s.base}/v1/tenants/${DEMO_TENANT.id}/collections/juminhyo/records/search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${clerkKey}`, 'content-type': 'application/json', 'kuraban-purpose': 'counter' },
        body: JSON.stringify({ where: { atena_number: first.juminhyo.atena_number } }),
      });
      assert.equal(asClerk.status, 200);
      const seen = ((await asClerk.json()) as { records: Array<{ fields: Record<string, unknown>; masked?: string[] }> }).records[0];
      assert.ok(seen);
      assert.equal(seen.fields.name, first.juminhyo.name);
      if (typeof first.juminhyo.my_number === 'string') assert.equal(seen.fields.my_number, `********${first.juminhyo.my_number.slice(-4)}`);
      assert.ok(seen.masked?.includes('honseki'));
      // The 200 means something: without a key, or with another one, it is refused.
      assert.equal((await get(s.base, '/v1/tenants')).status, 401);
      assert.equal((await get(s.base, '/v1/tenants', `${adminKey.slice(0, -1)}${adminKey.endsWith('A') ? 'B' : 'A'}`)).status, 401);
    } finally {
      s.child.kill('SIGTERM');
      assert.deepEqual(await s.exited, { code: 0, signal: null }, 'SIGTERM stops it cleanly');
    }
  });

  test('start again on the same directory: the same vault (root.key unchanged, the same admin key works)', async () => {
    assert.ok(adminKey !== '', 'needs the first test');
    const s = await launch(['--data-dir', dataDir, 'start'], await freePort());
    try {
      assert.doesNotMatch(s.stderr(), /new development vault/);
      assert.equal(readFileSync(rootKey, 'utf8'), rootKeyText);
      assert.equal(readFileSync(adminKeyFile, 'utf8').trim(), adminKey);
      assert.deepEqual((await get(s.base, '/healthz')).body, { status: 'ok', sealed: false });
      assert.equal((await get(s.base, '/v1/tenants', adminKey)).status, 200);
    } finally {
      s.child.kill('SIGTERM');
      assert.deepEqual(await s.exited, { code: 0, signal: null });
    }
  });

  test('serve with a damaged root key: up but sealed, health says why, the API answers 503 VAULT_SEALED', async () => {
    assert.ok(rootKeyText !== '', 'needs the first test');
    const file = JSON.parse(rootKeyText) as { key: string };
    const key = file.key;
    // One character of the base64 key changed (a middle one, so the decoded bytes really differ).
    const at = 10;
    const damaged = key.slice(0, at) + (key[at] === 'A' ? 'B' : 'A') + key.slice(at + 1);
    assert.notEqual(Buffer.from(damaged, 'base64').toString('hex'), Buffer.from(key, 'base64').toString('hex'));
    writeFileSync(rootKey, rootKeyText.replace(key, damaged));
    chmodSync(rootKey, 0o600);

    const s = await launch(['--data-dir', dataDir, 'serve'], await freePort());
    try {
      assert.match(s.stderr(), /SEALED/);
      const health = await get(s.base, '/healthz');
      assert.equal(health.status, 200);
      assert.equal(health.body.status, 'sealed');
      assert.equal(health.body.sealed, true);
      assert.equal(typeof health.body.reason, 'string');
      assert.ok((health.body.reason as string).length > 0);
      for (const secret of [key, damaged]) assert.ok(!(health.body.reason as string).includes(secret), 'the reason never quotes key material');

      for (let i = 0; i < 2; i++) {
        const tenants = await get(s.base, '/v1/tenants', adminKey);
        assert.equal(tenants.status, 503);
        assert.match(tenants.type, /^application\/problem\+json/);
        assert.equal(tenants.body.code, 'VAULT_SEALED');
        assert.equal(tenants.body.status, 503);
      }
      // Still serving after the refusals.
      assert.equal((await get(s.base, '/healthz')).body.sealed, true);
      assert.equal(s.child.exitCode, null);
      assert.equal(s.child.signalCode, null);
    } finally {
      s.child.kill('SIGTERM');
      assert.deepEqual(await s.exited, { code: 0, signal: null });
    }
  });
});
