import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  EMPTY_ROOT,
  MemoryTree,
  TILE_WIDTH,
  VerifyError,
  directoryTileSource,
  httpTileSource,
  formatEntryBundlePath,
  formatHashTilePath,
  formatVerifierKey,
  generateNoteKeyPair,
  leafHash,
  parseSignerKey,
  parseVerifierKey,
  rootOfLeafHashes,
  signCheckpoint,
  signNote,
  tilesOfTree,
  verifyCheckpoint,
  verifyLog,
} from '../../src/ledger/index.js';
import type { VerifyErrorReason } from '../../src/ledger/index.js';
import { vectorsDir } from '../helpers/project-root.js';
import { TESSERA_ORIGIN, TESSERA_ROOT_15, TESSERA_SIGNER_KEY, TESSERA_VERIFIER_KEY, buildLogFiles, makeEntries, memorySource, writeLogFiles } from './log-fixture.js';

const TESSERA = join(vectorsDir(), 'tessera-log');
if (!existsSync(TESSERA)) assert.fail(`tessera-log vectors not found at ${TESSERA}; set KURABAN_VECTORS_DIR`);
const verifier = parseVerifierKey(TESSERA_VERIFIER_KEY);
const signer = parseSignerKey(TESSERA_SIGNER_KEY);

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

/** The Tessera log as path → bytes, `checkpoint` being the size-15 one. */
const TESSERA_FILES = new Map<string, Buffer>(listFiles(TESSERA).map((f) => [relative(TESSERA, f).split('\\').join('/'), readFileSync(f)]));
function tesseraFiles(): Map<string, Buffer> {
  return new Map(TESSERA_FILES);
}

/** Pids of this process's children (Linux /proc), e.g. a verifier's checker processes. */
function childrenOf(parent: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function rejectsWith(p: Promise<unknown>, reason: VerifyErrorReason, firstBadIndex?: number): Promise<VerifyError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof VerifyError, `expected VerifyError ${reason}, got ${caught === undefined ? 'success' : String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  if (firstBadIndex !== undefined) assert.equal(caught.firstBadIndex, firstBadIndex, caught.message);
  return caught;
}

describe('verifyLog on the Tessera test log', () => {
  test('a directory source verifies it: size 15, the published root, the checkpoint as served', async () => {
    const r = await verifyLog({ source: directoryTileSource(TESSERA), verifier });
    assert.equal(r.origin, TESSERA_ORIGIN);
    assert.equal(r.size, 15);
    assert.equal(r.root.toString('base64'), TESSERA_ROOT_15);
    assert.equal(r.checkpointText, readFileSync(join(TESSERA, 'checkpoint'), 'utf8'));
  });

  test('every published size 0…15 verifies when served as the checkpoint', async () => {
    for (let n = 0; n <= 15; n++) {
      const files = tesseraFiles();
      files.set('checkpoint', files.get(`checkpoint.${n}`) as Buffer);
      const r = await verifyLog({ source: memorySource(files), verifier });
      assert.equal(r.size, n);
    }
  });

  test('changing an entry names that entry as the first bad index', async () => {
    const path = 'tile/entries/000.p/15';
    const bundle = tesseraFiles().get(path) as Buffer;
    let at = 0;
    for (let i = 0; i < 15; i++) {
      const length = bundle.readUInt16BE(at);
      const files = tesseraFiles();
      const bad = Buffer.from(bundle);
      bad[at + 2 + length - 1] = (bad[at + 2 + length - 1] as number) ^ 0x01; // last byte of entry i
      files.set(path, bad);
      await rejectsWith(verifyLog({ source: memorySource(files), verifier }), 'TILE_MISMATCH', i);
      at += 2 + length;
    }
  });

  test('changing a hash of the level-0 tile names its leaf', async () => {
    for (const i of [0, 6, 14]) {
      const files = tesseraFiles();
      const tile = Buffer.from(files.get('tile/0/000.p/15') as Buffer);
      tile[i * 32 + 5] = (tile[i * 32 + 5] as number) ^ 0x80;
      files.set('tile/0/000.p/15', tile);
      await rejectsWith(verifyLog({ source: memorySource(files), verifier }), 'TILE_MISMATCH', i);
    }
  });

  test('missing, truncated, padded and oversized tiles and bundles', async () => {
    const cases: Array<[string, Buffer | undefined, VerifyErrorReason, number]> = [
      ['tile/0/000.p/15', undefined, 'TILE_MISSING', 0],
      ['tile/entries/000.p/15', undefined, 'TILE_MISSING', 0],
      ['tile/0/000.p/15', (tesseraFiles().get('tile/0/000.p/15') as Buffer).subarray(0, 14 * 32), 'TILE_INVALID', 0],
      ['tile/0/000.p/15', Buffer.concat([tesseraFiles().get('tile/0/000.p/15') as Buffer, Buffer.alloc(32)]), 'TILE_INVALID', 0],
      ['tile/0/000.p/15', (tesseraFiles().get('tile/0/000.p/15') as Buffer).subarray(0, 15 * 32 - 1), 'TILE_INVALID', 0],
      // The last entry ("fivten", 6 bytes) cut short: entries 0…13 are intact, 14 is not.
      ['tile/entries/000.p/15', (tesseraFiles().get('tile/entries/000.p/15') as Buffer).subarray(0, -1), 'BUNDLE_INVALID', 14],
      ['tile/entries/000.p/15', (tesseraFiles().get('tile/entries/000.p/15') as Buffer).subarray(0, -8), 'BUNDLE_INVALID', 14],
      ['tile/entries/000.p/15', (tesseraFiles().get('tile/entries/000.p/14') as Buffer), 'BUNDLE_INVALID', 14],
      ['tile/entries/000.p/15', Buffer.concat([tesseraFiles().get('tile/entries/000.p/15') as Buffer, Buffer.of(0)]), 'BUNDLE_INVALID', 14],
      ['tile/entries/000.p/15', Buffer.alloc(0), 'BUNDLE_INVALID', 0],
    ];
    for (const [path, bytes, reason, index] of cases) {
      const files = tesseraFiles();
      if (bytes === undefined) files.delete(path);
      else files.set(path, bytes);
      await rejectsWith(verifyLog({ source: memorySource(files), verifier }), reason, index);
    }
  });

  test('flipping any single bit-pattern of any byte of the bundle, the tile or the checkpoint never verifies and never crashes', async () => {
    let tried = 0;
    for (const path of ['tile/entries/000.p/15', 'tile/0/000.p/15', 'checkpoint']) {
      const original = tesseraFiles().get(path) as Buffer;
      for (let i = 0; i < original.length; i++) {
        for (const mask of [0x01, 0x80]) {
          const files = tesseraFiles();
          const bad = Buffer.from(original);
          bad[i] = (bad[i] as number) ^ mask;
          files.set(path, bad);
          await assert.rejects(verifyLog({ source: memorySource(files), verifier }), VerifyError, `${path} byte ${i} ^ ${mask}`);
          tried++;
        }
      }
    }
    assert.ok(tried > 1000);
  });

  test('checkpoint: missing, wrong key, wrong origin', async () => {
    const files = tesseraFiles();
    files.delete('checkpoint');
    await rejectsWith(verifyLog({ source: memorySource(files), verifier }), 'CHECKPOINT_MISSING');
    const other = parseVerifierKey(generateNoteKeyPair(TESSERA_ORIGIN).verifierKey);
    await rejectsWith(verifyLog({ source: memorySource(tesseraFiles()), verifier: other }), 'SIGNATURE_INVALID');
    await rejectsWith(verifyLog({ source: memorySource(tesseraFiles()), verifier, origin: 'example.com/log/other' }), 'ORIGIN_MISMATCH');
  });

  test('malformed checkpoint text, correctly signed, is CHECKPOINT_INVALID; an unsigned or cut note too', async () => {
    const root = TESSERA_ROOT_15;
    const bodies = [
      `${TESSERA_ORIGIN}\n015\n${root}\n`,
      `${TESSERA_ORIGIN}\n-1\n${root}\n`,
      `${TESSERA_ORIGIN}\n18446744073709551616\n${root}\n`,
      `${TESSERA_ORIGIN}\n15\n${root.slice(0, -1)}\n`,
      `${TESSERA_ORIGIN}\n15\n${Buffer.alloc(31).toString('base64')}\n`,
      `${TESSERA_ORIGIN}\n15\n`,
      `${TESSERA_ORIGIN}\n15\n${root}\n\n`,
      `${TESSERA_ORIGIN}\n 15\n${root}\n`,
    ];
    for (const body of bodies) {
      const files = tesseraFiles();
      files.set('checkpoint', signNote(body, [signer]));
      await rejectsWith(verifyLog({ source: memorySource(files), verifier }), 'CHECKPOINT_INVALID', undefined);
    }
    const original = tesseraFiles().get('checkpoint') as Buffer;
    for (const bad of [original.subarray(0, original.indexOf('\n\n') + 1), original.subarray(0, -1), Buffer.from('not a note')]) {
      const files = tesseraFiles();
      files.set('checkpoint', bad);
      await rejectsWith(verifyLog({ source: memorySource(files), verifier }), 'CHECKPOINT_INVALID');
    }
  });

  test('errors never quote fetched content', async () => {
    const files = tesseraFiles();
    files.set('checkpoint', signNote(`EVIL-MARKER\n015\n${TESSERA_ROOT_15}\n`, [signer]));
    const e = await rejectsWith(verifyLog({ source: memorySource(files), verifier }), 'CHECKPOINT_INVALID');
    assert.ok(!e.message.includes('EVIL-MARKER'));
    const f2 = tesseraFiles();
    f2.set('checkpoint', signCheckpoint({ origin: 'EVIL-MARKER', size: 15, rootHash: Buffer.from(TESSERA_ROOT_15, 'base64'), extensions: [] }, signer));
    const e2 = await rejectsWith(verifyLog({ source: memorySource(f2), verifier }), 'ORIGIN_MISMATCH');
    assert.ok(!e2.message.includes('EVIL-MARKER'));
  });
});

describe('verifyLog with a previous tree', () => {
  const cp = (n: number) => verifyCheckpoint(readFileSync(join(TESSERA, `checkpoint.${n}`)), verifier);

  test('every earlier published checkpoint is consistent; equal size and root too', async () => {
    for (let n = 0; n <= 15; n++) {
      const r = await verifyLog({ source: memorySource(tesseraFiles()), verifier, previous: { size: n, root: cp(n).rootHash } });
      assert.equal(r.size, 15);
    }
  });

  test('a previous root that is not the prefix is INCONSISTENT_WITH_STATE; a larger previous size is SIZE_DECREASED', async () => {
    for (const [size, rootOf] of [[10, 9], [15, 14], [1, 2], [0, 1]] as const) {
      await rejectsWith(verifyLog({ source: memorySource(tesseraFiles()), verifier, previous: { size, root: cp(rootOf).rootHash } }), 'INCONSISTENT_WITH_STATE');
    }
    await rejectsWith(verifyLog({ source: memorySource(tesseraFiles()), verifier, previous: { size: 16, root: EMPTY_ROOT } }), 'SIZE_DECREASED');
    await rejectsWith(verifyLog({ source: memorySource(tesseraFiles()), verifier, previous: { size: 3, root: Buffer.alloc(31) } }), 'STATE_INVALID');
  });

  test('a different log under the same key and origin is a fork', async () => {
    const other = buildLogFiles(makeEntries(5, 'other'), signer, TESSERA_ORIGIN);
    const first = await verifyLog({ source: memorySource(other), verifier });
    await rejectsWith(verifyLog({ source: memorySource(tesseraFiles()), verifier, previous: { size: first.size, root: first.root } }), 'INCONSISTENT_WITH_STATE');
  });
});

describe('verifyLog on larger logs built with the ledger core', () => {
  const entries = makeEntries(70_000);
  const files = buildLogFiles(entries, signer, TESSERA_ORIGIN);

  for (const hashThreads of [0, 2]) {
  test(`70,000 entries (the tlog-tiles example), hashThreads ${hashThreads}: reads exactly every tile and bundle of the tree, once`, async () => {
    const source = memorySource(files);
    const r = await verifyLog({ source, verifier, hashThreads });
    assert.equal(r.size, 70_000);
    assert.deepEqual(r.root, rootOfLeafHashes(entries.map((e) => leafHash(e))));
    const expected = ['checkpoint', ...[...tilesOfTree(70_000)].map((t) => formatHashTilePath(t))];
    for (let b = 0; b * TILE_WIDTH < 70_000; b++) expected.push(formatEntryBundlePath({ index: b, width: Math.min(TILE_WIDTH, 70_000 - b * TILE_WIDTH) }));
    assert.deepEqual([...source.reads].sort(), expected.sort());
    assert.ok(source.reads.includes('tile/2/000.p/1') && source.reads.includes('tile/1/001.p/17') && source.reads.includes('tile/0/273.p/112'));
  });

  test(`tampering with a higher-level tile, the last entry or a middle bundle names the right index (hashThreads ${hashThreads})`, async () => {
    const flip = (path: string, at: number, reason: VerifyErrorReason, index: number) => {
      const copy = new Map(files);
      const bad = Buffer.from(copy.get(path) as Buffer);
      bad[at] = (bad[at] as number) ^ 0x01;
      copy.set(path, bad);
      return rejectsWith(verifyLog({ source: memorySource(copy), verifier, hashThreads }), reason, index);
    };
    await flip('tile/1/000', 5 * 32, 'TILE_MISMATCH', 5 * 256);
    await flip('tile/1/001.p/17', 16 * 32, 'TILE_MISMATCH', (256 + 16) * 256);
    await flip('tile/2/000.p/1', 0, 'TILE_MISMATCH', 0);
    await flip('tile/entries/273.p/112', (files.get('tile/entries/273.p/112') as Buffer).length - 1, 'TILE_MISMATCH', 69_999);
    await flip('tile/0/100', 77 * 32 + 31, 'TILE_MISMATCH', 100 * 256 + 77);
    const copy = new Map(files);
    copy.delete('tile/1/001.p/17');
    await rejectsWith(verifyLog({ source: memorySource(copy), verifier, hashThreads }), 'TILE_MISSING', 256 * 256);
    const cut = new Map(files);
    cut.set('tile/entries/100', (files.get('tile/entries/100') as Buffer).subarray(0, 1000));
    await rejectsWith(verifyLog({ source: memorySource(cut), verifier, hashThreads }), 'BUNDLE_INVALID');
  });

  test(`with two faults close together (one hashing batch), the earlier one is reported (hashThreads ${hashThreads})`, async () => {
    const tampered = (path: string): Buffer => {
      const bad = Buffer.from(files.get(path) as Buffer);
      bad[77 * 32 + 31] = (bad[77 * 32 + 31] as number) ^ 0x01;
      return bad;
    };
    // A changed hash in bundle 100's tile, then bundle 103 missing: the mismatch comes first.
    const a = new Map(files);
    a.set('tile/0/100', tampered('tile/0/100'));
    a.delete('tile/entries/103');
    await rejectsWith(verifyLog({ source: memorySource(a), verifier, hashThreads }), 'TILE_MISMATCH', 100 * 256 + 77);
    // Bundle 100 missing, then a changed hash in bundle 103's tile: the missing bundle comes first.
    const b = new Map(files);
    b.delete('tile/entries/100');
    b.set('tile/0/103', tampered('tile/0/103'));
    await rejectsWith(verifyLog({ source: memorySource(b), verifier, hashThreads }), 'TILE_MISSING', 100 * 256);
    // A bundle cut inside its entry 3, then a changed hash in a later tile.
    const c = new Map(files);
    const bundle = files.get('tile/entries/101') as Buffer;
    let at = 0;
    for (let i = 0; i < 3; i++) at += 2 + bundle.readUInt16BE(at);
    c.set('tile/entries/101', bundle.subarray(0, at + 3));
    c.set('tile/0/102', tampered('tile/0/102'));
    await rejectsWith(verifyLog({ source: memorySource(c), verifier, hashThreads }), 'BUNDLE_INVALID', 101 * 256 + 3);
    // The same bundle with a byte too many: its last entry is named.
    const d = new Map(files);
    d.set('tile/entries/101', Buffer.concat([bundle, Buffer.from([0])]));
    await rejectsWith(verifyLog({ source: memorySource(d), verifier, hashThreads }), 'BUNDLE_INVALID', 101 * 256 + 255);
  });

  test(`consistency with previous trees ending inside, at and after tile boundaries (hashThreads ${hashThreads})`, async () => {
    const tree = new MemoryTree();
    for (const e of entries) tree.append(leafHash(e));
    for (const size of [1, 255, 256, 257, 512, 600, 65_535, 65_536, 65_537, 69_999, 70_000]) {
      const r = await verifyLog({ source: memorySource(files), verifier, hashThreads, previous: { size, root: tree.rootAt(size) } });
      assert.equal(r.size, 70_000, `previous size ${size}`);
      const wrong = Buffer.from(tree.rootAt(size));
      wrong[0] = (wrong[0] as number) ^ 0x01;
      await rejectsWith(verifyLog({ source: memorySource(files), verifier, hashThreads, previous: { size, root: wrong } }), 'INCONSISTENT_WITH_STATE');
    }
  });
  }

  describe('checkers that read their own bundles (hashReaders: this thread, then child processes)', () => {
    const dirs: string[] = [];
    after(() => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
    /** The log written to a fresh directory, as `kuraban log verify --dir` reads one. */
    const onDisk = (log: ReadonlyMap<string, Uint8Array>): string => {
      const dir = mkdtempSync(join(tmpdir(), 'kuraban-verify-'));
      dirs.push(dir);
      writeLogFiles(dir, log);
      return dir;
    };
    /** The 70,000-entry log's file at `path` (404 when it has none). */
    const serveFile = (path: string, res: ServerResponse): void => {
      const bytes = files.get(path);
      if (bytes === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
    };
    /** Runs `use` with the URL of a local server answering every log path with `answer`, then closes it. */
    const withLogServer = async (answer: (path: string, res: ServerResponse) => void, use: (url: string) => Promise<void>): Promise<void> => {
      const server = createServer((req, res) => answer((req.url ?? '').replace(/^\/log\//, ''), res));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}/log/`);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    };
    const fromDisk = (log: ReadonlyMap<string, Uint8Array>, hashReaders = 2, previous?: { size: number; root: Buffer }) =>
      verifyLog({ source: directoryTileSource(onDisk(log)), verifier, hashReaders, ...(previous === undefined ? {} : { previous }) });

    test('70,000 entries verify with one reader (this thread), two (and a process) and three, to the same root', async () => {
      const expected = rootOfLeafHashes(entries.map((e) => leafHash(e)));
      const dir = onDisk(files);
      for (const hashReaders of [1, 2, 3]) {
        const r = await verifyLog({ source: directoryTileSource(dir), verifier, hashReaders });
        assert.equal(r.size, 70_000);
        assert.deepEqual(r.root, expected, `hashReaders ${hashReaders}`);
      }
    });

    test('tampering, missing files and cut bundles are found by the readers and name the first bad index', async () => {
      const changed = (path: string, at: number): Map<string, Buffer> => {
        const copy = new Map(files);
        const bad = Buffer.from(copy.get(path) as Buffer);
        bad[at] = (bad[at] as number) ^ 0x01;
        copy.set(path, bad);
        return copy;
      };
      await rejectsWith(fromDisk(changed('tile/0/100', 77 * 32 + 31)), 'TILE_MISMATCH', 100 * 256 + 77);
      await rejectsWith(fromDisk(changed('tile/entries/273.p/112', (files.get('tile/entries/273.p/112') as Buffer).length - 1)), 'TILE_MISMATCH', 69_999);
      await rejectsWith(fromDisk(changed('tile/entries/005', 40)), 'TILE_MISMATCH');
      await rejectsWith(fromDisk(changed('tile/1/000', 5 * 32)), 'TILE_MISMATCH', 5 * 256);
      const missing = new Map(files);
      missing.delete('tile/entries/150');
      await rejectsWith(fromDisk(missing), 'TILE_MISSING', 150 * 256);
      const missingTile = new Map(files);
      missingTile.delete('tile/0/151');
      await rejectsWith(fromDisk(missingTile), 'TILE_MISSING', 151 * 256);
      const shortTile = new Map(files);
      shortTile.set('tile/0/152', (files.get('tile/0/152') as Buffer).subarray(0, 100));
      await rejectsWith(fromDisk(shortTile), 'TILE_INVALID', 152 * 256);
      const bundle = files.get('tile/entries/101') as Buffer;
      let at = 0;
      for (let i = 0; i < 3; i++) at += 2 + bundle.readUInt16BE(at);
      const cut = new Map(files);
      cut.set('tile/entries/101', bundle.subarray(0, at + 3));
      await rejectsWith(fromDisk(cut), 'BUNDLE_INVALID', 101 * 256 + 3);
      const long = new Map(files);
      long.set('tile/entries/101', Buffer.concat([bundle, Buffer.from([0])]));
      await rejectsWith(fromDisk(long), 'BUNDLE_INVALID', 101 * 256 + 255);
    });

    test('of two faults in one batch, or in batches on different readers, the earlier is reported', async () => {
      const tampered = (path: string): Buffer => {
        const bad = Buffer.from(files.get(path) as Buffer);
        bad[9 * 32] = (bad[9 * 32] as number) ^ 0x01;
        return bad;
      };
      // Bundles 100 and 103 share a batch of 16; 20 and 40 are in different batches, given to different readers.
      for (const [first, second] of [[100, 103], [20, 40]] as const) {
        const a = new Map(files);
        a.set(`tile/0/${String(first).padStart(3, '0')}`, tampered(`tile/0/${String(first).padStart(3, '0')}`));
        a.delete(`tile/entries/${String(second).padStart(3, '0')}`);
        await rejectsWith(fromDisk(a), 'TILE_MISMATCH', first * 256 + 9);
        const b = new Map(files);
        b.delete(`tile/entries/${String(first).padStart(3, '0')}`);
        b.set(`tile/0/${String(second).padStart(3, '0')}`, tampered(`tile/0/${String(second).padStart(3, '0')}`));
        await rejectsWith(fromDisk(b), 'TILE_MISSING', first * 256);
      }
    });

    test('consistency with previous trees ending inside and at bundles read by the readers', async () => {
      const tree = new MemoryTree();
      for (const e of entries) tree.append(leafHash(e));
      const dir = onDisk(files);
      for (const size of [255, 256, 257, 4_100, 65_537, 69_999, 70_000]) {
        const r = await verifyLog({ source: directoryTileSource(dir), verifier, hashReaders: 2, previous: { size, root: tree.rootAt(size) } });
        assert.equal(r.size, 70_000, `previous size ${size}`);
        const wrong = Buffer.from(tree.rootAt(size));
        wrong[0] = (wrong[0] as number) ^ 0x01;
        await rejectsWith(verifyLog({ source: directoryTileSource(dir), verifier, hashReaders: 2, previous: { size, root: wrong } }), 'INCONSISTENT_WITH_STATE');
      }
    });

    test('over HTTP each reader sends the request headers itself: with them the log verifies, without them it cannot be read', async () => {
      const token = 'Bearer reader-test-token';
      let unauthorised = 0;
      await withLogServer(
        (path, res) => {
          if (res.req.headers.authorization !== token) {
            unauthorised++;
            res.writeHead(401).end();
          } else serveFile(path, res);
        },
        async (url) => {
          const r = await verifyLog({ source: httpTileSource({ url, headers: { authorization: token } }), verifier, hashReaders: 2 });
          assert.deepEqual(r.root, rootOfLeafHashes(entries.map((e) => leafHash(e))));
          assert.equal(unauthorised, 0);
          await rejectsWith(verifyLog({ source: httpTileSource({ url }), verifier, hashReaders: 2 }), 'FETCH_FAILED');
        },
      );
    });

    test('a checker process killed mid-verification fails it as CHECKER_FAILED (never a success, never a hang)', async () => {
      // A slow server (each file 5 ms late) keeps the verification running while its child is found and killed.
      await withLogServer(
        (path, res) => setTimeout(() => serveFile(path, res), 5),
        async (url) => {
          const verifying = verifyLog({ source: httpTileSource({ url }), verifier, hashReaders: 2 });
          verifying.catch(() => {});
          let killed = false;
          for (let tries = 0; tries < 200 && !killed; tries++) {
            await new Promise((resolve) => setTimeout(resolve, 10));
            for (const pid of childrenOf(process.pid)) {
              process.kill(pid, 'SIGKILL');
              killed = true;
            }
          }
          assert.ok(killed, 'the checker process was never seen');
          const e = await rejectsWith(verifying, 'CHECKER_FAILED');
          assert.match(e.message, /SIGKILL/);
        },
      );
    });

    test('a source another reader cannot open (bytes in memory, an injected fetch) is refused, not silently read here', async () => {
      await assert.rejects(verifyLog({ source: memorySource(files), verifier, hashReaders: 2 }), RangeError);
      const custom = httpTileSource({ url: 'http://127.0.0.1:9/log/', fetch: () => Promise.reject(new Error('unused')) });
      assert.equal(custom.location, undefined);
      await assert.rejects(verifyLog({ source: custom, verifier, hashReaders: 2 }), RangeError);
    });
  });

  test('consistency with a previous tree of 600 entries: same entries pass, one changed entry is a fork', async () => {
    const same = await verifyLog({ source: memorySource(buildLogFiles(entries.slice(0, 600), signer, TESSERA_ORIGIN)), verifier });
    const r = await verifyLog({ source: memorySource(files), verifier, previous: { size: same.size, root: same.root } });
    assert.equal(r.size, 70_000);
    const changed = entries.slice(0, 600);
    changed[300] = Buffer.from('changed');
    const fork = await verifyLog({ source: memorySource(buildLogFiles(changed, signer, TESSERA_ORIGIN)), verifier });
    await rejectsWith(verifyLog({ source: memorySource(files), verifier, previous: { size: fork.size, root: fork.root } }), 'INCONSISTENT_WITH_STATE');
  });

  test('a missing partial tile or bundle is read from the full one (tlog-tiles lets logs drop partials)', async () => {
    const full = buildLogFiles(makeEntries(256), signer, TESSERA_ORIGIN);
    const leaves = makeEntries(200).map((e) => leafHash(e));
    full.set('checkpoint', signCheckpoint({ origin: TESSERA_ORIGIN, size: 200, rootHash: rootOfLeafHashes(leaves), extensions: [] }, signer));
    const source = memorySource(full);
    const r = await verifyLog({ source, verifier });
    assert.equal(r.size, 200);
    assert.ok(source.reads.includes('tile/0/000.p/200') && source.reads.includes('tile/0/000'));
    const bad = Buffer.from(full.get('tile/0/000') as Buffer);
    bad[100 * 32] = (bad[100 * 32] as number) ^ 1;
    full.set('tile/0/000', bad);
    await rejectsWith(verifyLog({ source: memorySource(full), verifier }), 'TILE_MISMATCH', 100);
  });

  test('a log whose key name differs from its origin verifies with the origin given, and only then', async () => {
    const pair = generateNoteKeyPair('kuraban-test-key');
    const s = parseSignerKey(pair.signerKey);
    const v = parseVerifierKey(pair.verifierKey);
    assert.equal(formatVerifierKey(s.name, s.publicKey), pair.verifierKey);
    const log = buildLogFiles(makeEntries(300), s, 'example.org/kuraban/131016');
    const r = await verifyLog({ source: memorySource(log), verifier: v, origin: 'example.org/kuraban/131016' });
    assert.equal(r.size, 300);
    assert.equal(r.origin, 'example.org/kuraban/131016');
    await rejectsWith(verifyLog({ source: memorySource(log), verifier: v }), 'ORIGIN_MISMATCH');
  });
});
