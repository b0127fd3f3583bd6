import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { runCli } from '../../src/cli/program.js';
import { generateNoteKeyPair, parseSignerKey } from '../../src/ledger/index.js';
import { vectorsDir } from '../helpers/project-root.js';
import { TESSERA_ORIGIN, TESSERA_ROOT_15, TESSERA_SIGNER_KEY, TESSERA_VERIFIER_KEY, buildLogFiles, makeEntries, writeLogFiles } from '../ledger/log-fixture.js';
import { captureIo, type CliResult } from './harness.js';

const TESSERA = join(vectorsDir(), 'tessera-log');
if (!existsSync(TESSERA)) assert.fail(`tessera-log vectors not found at ${TESSERA}; set KURABAN_VECTORS_DIR`);
const KEY = TESSERA_VERIFIER_KEY;

async function kuraban(args: readonly string[]): Promise<CliResult> {
  const c = captureIo();
  const code = await runCli(['node', 'kuraban', ...args], c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

const temps: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'kuraban-logverify-'));
  temps.push(d);
  return d;
}
/** A writable copy of the Tessera log. */
function tesseraCopy(): string {
  const d = join(tempDir(), 'log');
  cpSync(TESSERA, d, { recursive: true });
  return d;
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function ok(r: CliResult): { origin: string; size: number; root: string } {
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  return JSON.parse(lines[0] as string) as { origin: string; size: number; root: string };
}

function failed(r: CliResult, code: number, reason: string, firstBadIndex?: number): void {
  assert.equal(r.code, code, `stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(reason));
  if (firstBadIndex !== undefined) assert.match(r.stderr, new RegExp(`first bad index: ${firstBadIndex}\\n`));
}

describe('kuraban log verify --dir', () => {
  test('verifies the Tessera log: size 15 and its root', async () => {
    assert.deepEqual(ok(await kuraban(['log', 'verify', '--dir', TESSERA, '--key', KEY])), { origin: TESSERA_ORIGIN, size: 15, root: TESSERA_ROOT_15 });
  });

  test('a changed byte of an entry bundle names that entry (exit 1)', async () => {
    const d = tesseraCopy();
    const path = join(d, 'tile/entries/000.p/15');
    const bytes = readFileSync(path);
    const at = bytes.indexOf(Buffer.from('nain')); // entry 8
    bytes[at] = 0x4e;
    writeFileSync(path, bytes);
    failed(await kuraban(['log', 'verify', '--dir', d, '--key', KEY]), 1, 'TILE_MISMATCH', 8);
  });

  test('a changed byte of the level-0 tile, a deleted tile, a truncated bundle', async () => {
    const d1 = tesseraCopy();
    const tile = readFileSync(join(d1, 'tile/0/000.p/15'));
    tile[3 * 32] = (tile[3 * 32] as number) ^ 0xff;
    writeFileSync(join(d1, 'tile/0/000.p/15'), tile);
    failed(await kuraban(['log', 'verify', '--dir', d1, '--key', KEY]), 1, 'TILE_MISMATCH', 3);
    const d2 = tesseraCopy();
    unlinkSync(join(d2, 'tile/0/000.p/15'));
    failed(await kuraban(['log', 'verify', '--dir', d2, '--key', KEY]), 1, 'TILE_MISSING', 0);
    const d3 = tesseraCopy();
    truncateSync(join(d3, 'tile/entries/000.p/15'), 20);
    // 20 bytes hold "one", "two", "three" (17 bytes) and a cut "four": entry 3 is the first bad one.
    failed(await kuraban(['log', 'verify', '--dir', d3, '--key', KEY]), 1, 'BUNDLE_INVALID', 3);
  });

  test('wrong key, malformed key, wrong origin, malformed checkpoint lines', async () => {
    const other = generateNoteKeyPair(TESSERA_ORIGIN).verifierKey;
    failed(await kuraban(['log', 'verify', '--dir', TESSERA, '--key', other]), 1, 'SIGNATURE_INVALID');
    failed(await kuraban(['log', 'verify', '--dir', TESSERA, '--key', `${KEY.slice(0, -2)}!!`]), 2, 'not a verifier key');
    failed(await kuraban(['log', 'verify', '--dir', TESSERA, '--key', KEY, '--origin', 'example.com/log/other']), 1, 'ORIGIN_MISMATCH');
    const d = tesseraCopy();
    const text = readFileSync(join(d, 'checkpoint'), 'utf8');
    for (const bad of [text.replace('\n15\n', '\n15\n\n'), text.split('\n').slice(0, 3).join('\n'), text.replace('\n\n', '\nextra\n\n'), '']) {
      writeFileSync(join(d, 'checkpoint'), bad);
      const r = await kuraban(['log', 'verify', '--dir', d, '--key', KEY]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /CHECKPOINT_INVALID|SIGNATURE_INVALID/);
    }
    unlinkSync(join(d, 'checkpoint'));
    failed(await kuraban(['log', 'verify', '--dir', d, '--key', KEY]), 1, 'CHECKPOINT_MISSING');
  });

  test('usage errors exit 2: both or neither of --url/--dir, no --key, --header with --dir, bad --url', async () => {
    failed(await kuraban(['log', 'verify', '--key', KEY]), 2, 'exactly one');
    failed(await kuraban(['log', 'verify', '--dir', TESSERA, '--url', 'http://127.0.0.1/', '--key', KEY]), 2, 'exactly one');
    const r = await kuraban(['log', 'verify', '--dir', TESSERA]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--key/);
    failed(await kuraban(['log', 'verify', '--dir', TESSERA, '--key', KEY, '--header', 'Authorization: Bearer x']), 2, 'only');
    failed(await kuraban(['log', 'verify', '--url', 'file:///etc/', '--key', KEY]), 2, 'http or https');
  });
});

describe('kuraban log verify --state', () => {
  test('writes the state after success, accepts growth, refuses a smaller checkpoint and keeps the state', async () => {
    const d = tesseraCopy();
    const state = join(tempDir(), 'state.json');
    writeFileSync(join(d, 'checkpoint'), readFileSync(join(d, 'checkpoint.10')));
    assert.equal(ok(await kuraban(['log', 'verify', '--dir', d, '--key', KEY, '--state', state])).size, 10);
    const s10 = JSON.parse(readFileSync(state, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(s10).sort(), ['checkpoint', 'origin', 'root', 'size']);
    assert.equal(s10['size'], 10);
    assert.equal(s10['checkpoint'], readFileSync(join(d, 'checkpoint.10'), 'utf8'));
    writeFileSync(join(d, 'checkpoint'), readFileSync(join(d, 'checkpoint.15')));
    assert.equal(ok(await kuraban(['log', 'verify', '--dir', d, '--key', KEY, '--state', state])).size, 15);
    const s15 = readFileSync(state, 'utf8');
    assert.equal((JSON.parse(s15) as { root: string }).root, TESSERA_ROOT_15);
    writeFileSync(join(d, 'checkpoint'), readFileSync(join(d, 'checkpoint.14')));
    failed(await kuraban(['log', 'verify', '--dir', d, '--key', KEY, '--state', state]), 1, 'SIZE_DECREASED');
    assert.equal(readFileSync(state, 'utf8'), s15, 'a failed run leaves the state alone');
  });

  test('a state file from a different log under the same key is INCONSISTENT_WITH_STATE', async () => {
    const otherLog = join(tempDir(), 'other');
    writeLogFiles(otherLog, buildLogFiles(makeEntries(7, 'other'), parseSignerKey(TESSERA_SIGNER_KEY), TESSERA_ORIGIN));
    const state = join(tempDir(), 'state.json');
    assert.equal(ok(await kuraban(['log', 'verify', '--dir', otherLog, '--key', KEY, '--state', state])).size, 7);
    failed(await kuraban(['log', 'verify', '--dir', TESSERA, '--key', KEY, '--state', state]), 1, 'INCONSISTENT_WITH_STATE');
  });

  test('a malformed state file, or one for another origin, is a usage error (exit 2)', async () => {
    const state = join(tempDir(), 'state.json');
    for (const bad of ['not json', '[]', '{"origin":"x","size":1}', JSON.stringify({ origin: TESSERA_ORIGIN, size: 15, root: TESSERA_ROOT_15, checkpoint: 'x' })]) {
      writeFileSync(state, bad);
      failed(await kuraban(['log', 'verify', '--dir', TESSERA, '--key', KEY, '--state', state]), 2, 'STATE_INVALID');
    }
    const good = join(tempDir(), 'good.json');
    ok(await kuraban(['log', 'verify', '--dir', TESSERA, '--key', KEY, '--state', good]));
    const s = JSON.parse(readFileSync(good, 'utf8')) as Record<string, unknown>;
    writeFileSync(state, JSON.stringify({ ...s, size: 14 }));
    failed(await kuraban(['log', 'verify', '--dir', TESSERA, '--key', KEY, '--state', state]), 2, 'STATE_INVALID');
  });
});

describe('kuraban log verify-checkpoint', () => {
  test('every published checkpoint.N passes with its size; tampered ones fail', async () => {
    for (let n = 0; n <= 15; n++) {
      const file = join(TESSERA, `checkpoint.${n}`);
      assert.equal(ok(await kuraban(['log', 'verify-checkpoint', '--key', KEY, file])).size, n);
      const bad = join(tempDir(), `checkpoint.${n}`);
      writeFileSync(bad, readFileSync(file, 'utf8').replace(`\n${n}\n`, `\n${n + 1}\n`));
      failed(await kuraban(['log', 'verify-checkpoint', '--key', KEY, bad]), 1, 'SIGNATURE_INVALID');
    }
    failed(await kuraban(['log', 'verify-checkpoint', '--key', KEY, join(tempDir(), 'nope')]), 2, 'cannot read');
    failed(await kuraban(['log', 'verify-checkpoint', '--key', KEY, '--origin', 'other', join(TESSERA, 'checkpoint')]), 1, 'ORIGIN_MISMATCH');
  });

  test('a log whose key name differs from its origin: verify and verify-checkpoint with --origin', async () => {
    const pair = generateNoteKeyPair('kuraban-test-key');
    const origin = 'example.org/kuraban/131016';
    const d = join(tempDir(), 'log');
    writeLogFiles(d, buildLogFiles(makeEntries(300), parseSignerKey(pair.signerKey), origin));
    assert.deepEqual(ok(await kuraban(['log', 'verify', '--dir', d, '--key', pair.verifierKey, '--origin', origin])).size, 300);
    failed(await kuraban(['log', 'verify', '--dir', d, '--key', pair.verifierKey]), 1, 'ORIGIN_MISMATCH');
    assert.equal(ok(await kuraban(['log', 'verify-checkpoint', '--key', pair.verifierKey, '--origin', origin, join(d, 'checkpoint')])).origin, origin);
  });
});

describe('kuraban log verify --url', () => {
  const TOKEN = 'Bearer s3cret-token-value';
  let dir: string;
  let server: Server;
  let base: string;
  const requests: string[] = [];

  before(async () => {
    dir = tesseraCopy();
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push(url.pathname);
      if (url.pathname.startsWith('/away/')) {
        res.writeHead(302, { location: `http://localhost:${(server.address() as AddressInfo).port}/log/${url.pathname.slice('/away/'.length)}` }).end();
        return;
      }
      if (url.pathname.startsWith('/same/')) {
        res.writeHead(301, { location: `/log/${url.pathname.slice('/same/'.length)}` }).end();
        return;
      }
      const restricted = url.pathname.startsWith('/restricted/');
      if (restricted && req.headers.authorization !== TOKEN) {
        res.writeHead(401).end();
        return;
      }
      const rel = url.pathname.replace(/^\/(?:log|restricted)\//, '');
      const file = normalize(join(dir, rel));
      if (!file.startsWith(dir) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': rel === 'checkpoint' ? 'text/plain; charset=utf-8' : 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('verifies the served Tessera log, with and without the trailing slash, and keeps state', async () => {
    assert.deepEqual(ok(await kuraban(['log', 'verify', '--url', `${base}/log/`, '--key', KEY])), { origin: TESSERA_ORIGIN, size: 15, root: TESSERA_ROOT_15 });
    const state = join(tempDir(), 'state.json');
    assert.equal(ok(await kuraban(['log', 'verify', '--url', `${base}/log`, '--key', KEY, '--state', state])).size, 15);
    assert.ok(requests.includes('/log/tile/entries/000.p/15') && requests.includes('/log/tile/0/000.p/15'));
    assert.equal(ok(await kuraban(['log', 'verify', '--url', `${base}/same/`, '--key', KEY])).size, 15);
  });

  test('a restricted log needs --header; the header value is never printed', async () => {
    const denied = await kuraban(['log', 'verify', '--url', `${base}/restricted/`, '--key', KEY, '--header', 'Authorization: Bearer wrong-value']);
    failed(denied, 2, 'FETCH_FAILED');
    assert.match(denied.stderr, /HTTP 401/);
    assert.ok(!denied.stderr.includes('wrong-value'));
    const r = await kuraban(['log', 'verify', '--url', `${base}/restricted/`, '--key', KEY, '--header', `Authorization: ${TOKEN}`]);
    assert.equal(ok(r).size, 15);
    assert.ok(!r.stdout.includes('s3cret') && !r.stderr.includes('s3cret'));
  });

  test('a redirect to another host is not followed; a 404 tile is TILE_MISSING; a closed port is FETCH_FAILED', async () => {
    const seen = requests.length;
    const away = await kuraban(['log', 'verify', '--url', `${base}/away/`, '--key', KEY]);
    failed(away, 2, 'FETCH_FAILED');
    assert.match(away.stderr, /another origin/);
    assert.deepEqual(requests.slice(seen), ['/away/checkpoint'], 'the redirect target was never requested');
    unlinkSync(join(dir, 'tile/0/000.p/15'));
    failed(await kuraban(['log', 'verify', '--url', `${base}/log/`, '--key', KEY]), 1, 'TILE_MISSING', 0);
    cpSync(join(TESSERA, 'tile/0/000.p/15'), join(dir, 'tile/0/000.p/15'));
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    failed(await kuraban(['log', 'verify', '--url', `http://127.0.0.1:${port}/log/`, '--key', KEY, '--timeout', '5']), 2, 'FETCH_FAILED');
  });
});
