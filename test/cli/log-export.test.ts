import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  computeHashTile,
  encodeEntryBundle,
  formatEntryBundlePath,
  formatHashTilePath,
  leafHash,
  MemoryTree,
  tilesOfTree,
  verifyInclusion,
  type LogEntry,
} from '../../src/ledger/index.js';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { kuraban } from './harness.js';
import { testLogEntry } from '../helpers/log-entries.js';

const TENANT = 'export-city';

function entry(n: number, subjects: readonly string[]): LogEntry {
  return testLogEntry(TENANT, n, { subjects: [...subjects] });
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
}

for (const backend of BACKENDS) {
  describe(`kuraban log export and who-read (${backend})`, () => {
    let tv: TempVault;
    const temps: string[] = [];
    const tempDir = () => {
      const d = mkdtempSync(join(tmpdir(), 'kuraban-logexport-'));
      temps.push(d);
      return d;
    };
    before(async () => {
      tv = await createTempVault(backend);
      await tv.vault.tenants.create(TENANT, 'Export City');
      for (let n = 0; n < 520; n += 1) await tv.vault.accessLog.record(entry(n, n % 10 === 0 ? ['p-q'] : []));
      await tv.vault.integrator.integrateNow();
    });
    after(async () => {
      await tv.cleanup();
      for (const d of temps) rmSync(d, { recursive: true, force: true });
    });

    test('writes every tile and bundle, the checkpoint and verifier.key, 0644; verify --dir accepts it', async () => {
      const dir = join(tempDir(), 'log');
      const r = await kuraban(tv, ['log', 'export', '--tenant', TENANT, '--dir', dir]);
      assert.equal(r.code, 0, r.stderr);
      const head = await tv.vault.logReader.head(TENANT);
      const entries = await tv.store.getLogEntries(TENANT, 0, 1_000_000);
      const leaves = entries.map((e) => leafHash(e));
      const expected = new Map<string, Buffer>();
      for (const tile of tilesOfTree(head.size)) {
        expected.set(formatHashTilePath(tile), computeHashTile(leaves, tile));
        if (tile.level === 0) expected.set(formatEntryBundlePath(tile), encodeEntryBundle(entries.slice(tile.index * 256, tile.index * 256 + tile.width)));
      }
      expected.set('checkpoint', head.checkpoint as Buffer);
      expected.set('verifier.key', Buffer.from(`${head.verifierKey}\n`));
      const files = walk(dir).map((f) => relative(dir, f)).sort();
      assert.deepEqual(files, [...expected.keys()].sort());
      for (const [path, bytes] of expected) {
        assert.deepEqual(readFileSync(join(dir, path)), bytes, path);
        assert.equal(statSync(join(dir, path)).mode & 0o777, 0o644, path);
      }
      assert.deepEqual(JSON.parse(r.stdout), { tenant: TENANT, size: head.size, files: expected.size });
      const v = await kuraban(tv, ['log', 'verify', '--dir', dir, '--key', readFileSync(join(dir, 'verifier.key'), 'utf8').trim()]);
      assert.equal(v.code, 0, v.stderr);
      assert.equal((JSON.parse(v.stdout) as { size: number }).size, head.size);
    });

    test('refuses a non-empty directory and a tenant without a log, writing nothing', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'index.html'), 'x');
      const r = await kuraban(tv, ['log', 'export', '--tenant', TENANT, '--dir', dir]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /not empty/);
      assert.deepEqual(readdirSync(dir), ['index.html']);
      const none = await kuraban(tv, ['log', 'export', '--tenant', 'no-such-city', '--dir', join(tempDir(), 'x')]);
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, /TENANT_NOT_FOUND/);
    });

    test('who-read prints the checkpoint line, then exactly the entries naming the subject with proofs', async () => {
      const r = await kuraban(tv, ['log', 'who-read', '--tenant', TENANT, 'p-q']);
      assert.equal(r.code, 0, r.stderr);
      const [first, ...rest] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const head = await tv.vault.logReader.head(TENANT);
      assert.deepEqual(first, { origin: head.origin, verifierKey: head.verifierKey, size: head.size, rootHash: head.rootHash.toString('base64'), checkpoint: head.checkpoint?.toString('utf8') });
      const entries = await tv.store.getLogEntries(TENANT, 0, 1_000_000);
      const tree = new MemoryTree();
      for (const e of entries) tree.append(leafHash(e));
      const expected = entries.flatMap((e, i) => ((JSON.parse(e.toString('utf8')) as LogEntry).subjects.includes('p-q') ? [i] : []));
      assert.equal(expected.length, 52);
      assert.deepEqual(rest.map((l) => l['index']), expected);
      for (const line of rest) {
        const index = line['index'] as number;
        verifyInclusion(index, head.size, leafHash(entries[index] as Buffer), (line['proof'] as string[]).map((p) => Buffer.from(p, 'base64')), tree.rootAt());
      }
      const bad = await kuraban(tv, ['log', 'who-read', '--tenant', TENANT, '山田 太郎']);
      assert.equal(bad.code, 2);
      assert.ok(!bad.stderr.includes('山田'), 'the refused argument is not echoed');
    });
  });
}
