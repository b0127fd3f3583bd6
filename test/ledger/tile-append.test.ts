import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendToTiles,
  computeHashTile,
  formatVerifierKey,
  leafHash,
  MemoryTree,
  noteSignerFromSeed,
  parseSignerKey,
  formatSignerKey,
  rightEdgeTiles,
  rootOfLeafHashes,
  tilesOfTree,
  TileError,
  type HashTileBytes,
} from '../../src/ledger/index.js';

const leaf = (i: number) => leafHash(Buffer.from(`entry ${i}`));

describe('appending to a tiled log from its right edge', () => {
  test('tiles and roots equal what the ledger core computes from all leaves, batch by batch', () => {
    // Batch sizes cross tile boundaries at level 0 and level 1 (65,536 leaves = one full level-1 tile).
    const batches = [1, 2, 253, 1, 255, 256, 1000, 1, 63_767, 1, 300];
    const leaves: Buffer[] = [];
    const tree = new MemoryTree();
    const stored = new Map<string, HashTileBytes>();
    let size = 0;
    for (const n of batches) {
      const fresh = Array.from({ length: n }, (_, i) => leaf(size + i));
      const edge = rightEdgeTiles(size).map((c) => stored.get(`${c.level}/${c.index}`) as HashTileBytes);
      const growth = appendToTiles(size, edge, fresh);
      for (const t of growth.tiles) stored.set(`${t.level}/${t.index}`, t);
      for (const h of fresh) {
        leaves.push(h);
        tree.append(h);
      }
      size += n;
      assert.equal(growth.size, size);
      assert.deepEqual(growth.root, tree.rootAt(size), `root at ${size}`);
      for (const t of growth.tiles) assert.deepEqual(t.bytes, computeHashTile(leaves, t), `tile ${t.level}/${t.index}.${t.width} at ${size}`);
    }
    // Every tile of the final tree is stored, at its final width.
    for (const c of tilesOfTree(size)) assert.deepEqual(stored.get(`${c.level}/${c.index}`)?.bytes, computeHashTile(leaves, c));
    assert.equal(size, 65_837);
  });

  test('small trees: the root matches rootOfLeafHashes for every size up to 600 when grown one by one', () => {
    const leaves: Buffer[] = [];
    const stored = new Map<string, HashTileBytes>();
    for (let size = 0; size < 600; size++) {
      const h = leaf(size);
      const growth = appendToTiles(size, rightEdgeTiles(size).map((c) => stored.get(`${c.level}/${c.index}`) as HashTileBytes), [h]);
      leaves.push(h);
      for (const t of growth.tiles) stored.set(`${t.level}/${t.index}`, t);
      assert.deepEqual(growth.root, rootOfLeafHashes(leaves));
    }
  });

  test('a missing, extra or wrong-width edge tile is refused', () => {
    const leaves = Array.from({ length: 300 }, (_, i) => leaf(i));
    const edge = rightEdgeTiles(300).map((c) => ({ ...c, bytes: computeHashTile(leaves, c) }));
    assert.equal(edge.length, 2);
    assert.throws(() => appendToTiles(300, edge.slice(1), [leaf(300)]), TileError);
    assert.throws(() => appendToTiles(300, [...edge, { ...(edge[0] as HashTileBytes), index: 7 }], [leaf(300)]), TileError);
    const short = { ...(edge[0] as HashTileBytes), bytes: (edge[0] as HashTileBytes).bytes.subarray(32) };
    assert.throws(() => appendToTiles(300, [short, edge[1] as HashTileBytes], [leaf(300)]), TileError);
    assert.throws(() => appendToTiles(300, edge, [Buffer.alloc(31)]), TileError);
    // Nothing appended: the same root, no tile to write.
    const same = appendToTiles(300, edge, []);
    assert.deepEqual(same.root, rootOfLeafHashes(leaves));
    assert.equal(same.tiles.length, 0);
  });
});

describe('noteSignerFromSeed', () => {
  test('is the signer of the same seed as Go key text', () => {
    const seed = randomBytes(32);
    const a = noteSignerFromSeed('example.org/log', seed);
    const b = parseSignerKey(formatSignerKey('example.org/log', seed));
    assert.equal(a.keyId, b.keyId);
    assert.deepEqual(a.publicKey, b.publicKey);
    const msg = createHash('sha256').update('m').digest();
    assert.deepEqual(a.sign(msg), b.sign(msg));
    assert.ok(formatVerifierKey(a.name, a.publicKey).startsWith('example.org/log+'));
    assert.throws(() => noteSignerFromSeed('bad name', seed));
    assert.throws(() => noteSignerFromSeed('ok', seed.subarray(1)));
  });
});
