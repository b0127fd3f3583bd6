// Golden test: rebuild Tessera's 15-entry test log (transparency-dev/tessera@1811ae1 testdata/log/, copied
// unchanged into ../shared/vectors/tessera-log/) and compare every checkpoint, level-0 tile and entry
// bundle byte for byte. Ed25519 is deterministic and the checkpoint carries no timestamp, so the
// signatures must match exactly too.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  NoteError,
  computeHashTile,
  decodeEntryBundle,
  decodeHashTile,
  encodeEntryBundle,
  formatEntryBundlePath,
  formatHashTilePath,
  formatVerifierKey,
  leafHash,
  openCheckpoint,
  parseSignerKey,
  parseTilePath,
  parseVerifierKey,
  rootOfLeafHashes,
  signCheckpoint,
  tilesChangedByGrowth,
  tilesOfTree,
} from '../../src/ledger/index.js';

import { vectorsDir } from '../helpers/project-root.js';

const ORIGIN = 'example.com/log/testdata';
const SIGNER_KEY = 'PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg';
const VERIFIER_KEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
const ENTRIES = 'one two three four five six seven eit nain ten ileven twelf threeten fourten fivten'.split(' ').map((s) => Buffer.from(s, 'ascii'));

/** The vectors live in `../shared/vectors/tessera-log/`; missing vectors fail the test — never skipped. */
function findVectors(): string {
  const v = join(vectorsDir(), 'tessera-log');
  if (!existsSync(v) || !statSync(v).isDirectory()) assert.fail(`tessera-log vectors not found at ${v}; run from the project root or set KURABAN_VECTORS_DIR`);
  return v;
}

const VECTORS = findVectors();
const read = (path: string): Buffer => readFileSync(join(VECTORS, path));

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [relative(VECTORS, join(dir, e.name)).split('\\').join('/')],
  );
}

describe('Tessera test log (testdata/log at 1811ae1), rebuilt byte for byte', () => {
  const signer = parseSignerKey(SIGNER_KEY);
  const verifier = parseVerifierKey(VERIFIER_KEY);

  test('the published signer and verifier keys are one key pair', () => {
    assert.equal(signer.keyId, 0x33d7b496);
    assert.equal(verifier.keyId, 0x33d7b496);
    assert.deepEqual(signer.publicKey, verifier.publicKey);
    assert.equal(formatVerifierKey(signer.name, signer.publicKey), VERIFIER_KEY);
  });

  test('appending the 15 entries one at a time reproduces checkpoint.0 … checkpoint.15 exactly', () => {
    const leaves: Buffer[] = [];
    for (let n = 0; n <= ENTRIES.length; n++) {
      if (n > 0) leaves.push(leafHash(ENTRIES[n - 1] as Buffer));
      const signed = signCheckpoint({ origin: ORIGIN, size: n, rootHash: rootOfLeafHashes(leaves), extensions: [] }, signer);
      assert.equal(signed.toString('utf8'), read(`checkpoint.${n}`).toString('utf8'), `checkpoint.${n}`);
      assert.ok(signed.equals(read(`checkpoint.${n}`)), `checkpoint.${n} bytes`);
    }
    assert.ok(read('checkpoint').equals(read(`checkpoint.${ENTRIES.length}`)), 'checkpoint is the latest');
  });

  test('after each append, the partial level-0 tile and entry bundle match tile/0/000.p/<n> and tile/entries/000.p/<n>', () => {
    const leaves: Buffer[] = [];
    const expected = new Set<string>();
    for (let n = 1; n <= ENTRIES.length; n++) {
      leaves.push(leafHash(ENTRIES[n - 1] as Buffer));
      // The tiles a writer must produce for this append: exactly the level-0 tile 0 at width n.
      const changed = tilesChangedByGrowth(n - 1, n);
      assert.deepEqual(changed, [{ level: 0, index: 0, width: n }]);
      assert.deepEqual([...tilesOfTree(n)], changed);
      for (const tile of changed) {
        const path = formatHashTilePath(tile);
        assert.equal(path, `tile/0/000.p/${n}`);
        assert.deepEqual(parseTilePath(path), { kind: 'hash', ...tile });
        const bytes = computeHashTile(leaves, tile);
        assert.ok(bytes.equals(read(path)), path);
        assert.deepEqual(decodeHashTile(read(path), n), leaves);
        expected.add(path);
      }
      const bundlePath = formatEntryBundlePath({ index: 0, width: n });
      assert.equal(bundlePath, `tile/entries/000.p/${n}`);
      const bundle = encodeEntryBundle(ENTRIES.slice(0, n));
      assert.ok(bundle.equals(read(bundlePath)), bundlePath);
      assert.deepEqual(decodeEntryBundle(read(bundlePath), n), ENTRIES.slice(0, n));
      expected.add(bundlePath);
    }
    // Size 0 has no tiles (empty tiles are never served), and the folder holds nothing we did not rebuild.
    assert.deepEqual([...tilesOfTree(0)], []);
    assert.deepEqual(listFiles(join(VECTORS, 'tile')).sort(), [...expected].sort());
  });

  test('every published checkpoint verifies with the verifier key, and its root is the tree of its entries', () => {
    const names = readdirSync(VECTORS).filter((f) => f.startsWith('checkpoint'));
    assert.equal(names.length, 17);
    for (const name of names) {
      const opened = openCheckpoint(read(name), { origin: ORIGIN, verifiers: verifier });
      const n = opened.checkpoint.size;
      assert.equal(name, name === 'checkpoint' ? 'checkpoint' : `checkpoint.${n}`);
      assert.deepEqual(opened.checkpoint.rootHash, rootOfLeafHashes(ENTRIES.slice(0, n).map((e) => leafHash(e))));
      assert.deepEqual(opened.checkpoint.extensions, []);
      assert.equal(opened.verified.length, 1);
      assert.equal(opened.unverified.length, 0);
    }
  });

  test('changing any single byte of any checkpoint makes verification fail', () => {
    let tried = 0;
    for (let n = 0; n <= ENTRIES.length; n++) {
      const original = read(`checkpoint.${n}`);
      for (let i = 0; i < original.length; i++) {
        for (const mask of [0x01, 0x20, 0x80]) {
          const bad = Buffer.from(original);
          bad[i] = (bad[i] as number) ^ mask;
          assert.throws(() => openCheckpoint(bad, { origin: ORIGIN, verifiers: verifier }), NoteError, `checkpoint.${n} byte ${i} ^ ${mask}`);
          tried++;
        }
      }
    }
    assert.ok(tried > 16 * 3 * 100);
  });
});
