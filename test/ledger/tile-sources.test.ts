import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TileSourceError, directoryTileSource, httpTileSource, tileSourceAt } from '../../src/ledger/index.js';
import type { TileSource } from '../../src/ledger/index.js';
import { reusingDirectoryTileSource } from '../../src/ledger/tile-sources.js';

const dir = mkdtempSync(join(tmpdir(), 'kuraban-tile-sources-'));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'tile/entries'), { recursive: true });
mkdirSync(join(dir, 'tile/0/000'), { recursive: true }); // a directory where a tile would be
writeFileSync(join(dir, 'checkpoint'), 'checkpoint bytes');
writeFileSync(join(dir, 'tile/entries/000'), Buffer.alloc(1000, 0xaa));
writeFileSync(join(dir, 'tile/entries/001'), Buffer.alloc(10, 0xbb));
writeFileSync(join(dir, 'tile/0/001'), Buffer.alloc(64, 0xcc));

async function rejectsReason(p: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof TileSourceError && e.reason === reason);
}

for (const [name, open] of [
  ['directoryTileSource', directoryTileSource],
  ['reusingDirectoryTileSource', reusingDirectoryTileSource],
] as const) {
  describe(name, () => {
    const source: TileSource = open(dir);

    test('reads a log file whole, and says "not in the log" for a missing one', async () => {
      assert.equal(Buffer.from((await source.read('checkpoint', 100)) as Uint8Array).toString(), 'checkpoint bytes');
      assert.deepEqual(Buffer.from((await source.read('tile/entries/000', 1000)) as Uint8Array), Buffer.alloc(1000, 0xaa));
      assert.equal(await source.read('tile/entries/002', 1000), undefined);
      assert.equal(await source.read('tile/5/000', 1000), undefined);
    });

    test('refuses what is not a log path, a file over the limit and a directory', async () => {
      await rejectsReason(source.read('../etc/passwd', 100), 'bad_path');
      await rejectsReason(source.read('tile/../../x', 100), 'bad_path');
      await rejectsReason(source.read('tile/entries/000', 999), 'too_large');
      await rejectsReason(source.read('tile/0/000', 100), 'unavailable');
    });

    test('names where it reads, so another thread or process can open it again', async () => {
      assert.deepEqual(source.location, { kind: 'directory', dir });
      const again = tileSourceAt(source.location ?? assert.fail('no location'));
      assert.equal(Buffer.from((await again.read('checkpoint', 100)) as Uint8Array).toString(), 'checkpoint bytes');
    });
  });
}

test('reusingDirectoryTileSource: a read reuses the buffer of the previous read of its kind (bundles, tiles), never of the other', async () => {
  const source = reusingDirectoryTileSource(dir);
  const bundle = (await source.read('tile/entries/000', 1000)) as Uint8Array;
  const tile = (await source.read('tile/0/001', 64)) as Uint8Array;
  assert.equal(bundle[0], 0xaa);
  assert.equal(tile[0], 0xcc);
  const next = (await source.read('tile/entries/001', 1000)) as Uint8Array;
  assert.equal(next.length, 10);
  assert.equal(bundle[0], 0xbb, 'the first bundle was overwritten by the next bundle read');
  assert.equal(tile[0], 0xcc, 'the tile was not');
});

test('httpTileSource names its prefix, headers and timeout only when it uses the global fetch', () => {
  const plain = httpTileSource({ url: 'http://127.0.0.1:1/log', headers: { authorization: 'Bearer x' }, timeoutMs: 5000 });
  assert.deepEqual(plain.location, { kind: 'http', url: 'http://127.0.0.1:1/log/', headers: { authorization: 'Bearer x' }, timeoutMs: 5000 });
  assert.equal(httpTileSource({ url: 'http://127.0.0.1:1/log', fetch: () => Promise.reject(new Error('unused')) }).location, undefined);
});
