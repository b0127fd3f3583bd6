import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  FULL_TILE_BYTES,
  MAX_TREE_SIZE,
  TileError,
  computeHashTile,
  decodeHashTile,
  encodeHashTile,
  formatHashTilePath,
  leafHash,
  partialTileWidth,
  rootOfLeafHashes,
  tileLevelHashCount,
  tileLevelHashes,
  tilesChangedByGrowth,
  tilesOfTree,
} from '../../src/ledger/index.js';
import type { HashTileCoords, TileErrorReason } from '../../src/ledger/index.js';

function throwsReason(fn: () => unknown, reason: TileErrorReason, message?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof TileError && e.reason === reason, message);
}

const leaves = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
const key = (t: HashTileCoords) => formatHashTilePath(t);

describe('which tiles a tree has', () => {
  test('the spec examples: sizes 70,000 and 256', () => {
    const tiles = [...tilesOfTree(70000)];
    const at = (level: number) => tiles.filter((t) => t.level === level);
    assert.equal(at(0).filter((t) => t.width === 256).length, 273);
    assert.deepEqual(at(0).filter((t) => t.width < 256), [{ level: 0, index: 273, width: 112 }]);
    assert.deepEqual(at(1), [{ level: 1, index: 0, width: 256 }, { level: 1, index: 1, width: 17 }]);
    assert.deepEqual(at(2), [{ level: 2, index: 0, width: 1 }]);
    assert.equal(tiles.length, 273 + 1 + 2 + 1);
    assert.deepEqual([...tilesOfTree(256)], [{ level: 0, index: 0, width: 256 }, { level: 1, index: 0, width: 1 }]);
    assert.deepEqual([...tilesOfTree(0)], []);
    assert.equal(partialTileWidth(0, 70000), 112);
    assert.equal(partialTileWidth(1, 70000), 17);
    assert.equal(partialTileWidth(2, 70000), 1);
    assert.equal(partialTileWidth(3, 70000), 0);
    assert.equal(tileLevelHashCount(1, 70000), 273);
    assert.equal(tileLevelHashCount(6, MAX_TREE_SIZE), 31);
    assert.equal(tileLevelHashCount(7, MAX_TREE_SIZE), 0);
  });

  test('growth writes exactly the tiles of the new size that the old size did not have (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200000 }), fc.integer({ min: 0, max: 70000 }), (oldSize, grow) => {
        const newSize = oldSize + grow;
        const before = new Set([...tilesOfTree(oldSize)].map(key));
        const want = [...tilesOfTree(newSize)].map(key).filter((k) => !before.has(k));
        assert.deepEqual(tilesChangedByGrowth(oldSize, newSize).map(key).sort(), want.sort());
      }),
      { numRuns: 300 },
    );
    assert.deepEqual(tilesChangedByGrowth(255, 256), [{ level: 0, index: 0, width: 256 }, { level: 1, index: 0, width: 1 }]);
    assert.deepEqual(tilesChangedByGrowth(5, 5), []);
    throwsReason(() => tilesChangedByGrowth(6, 5), 'tree_size_out_of_range');
  });

  test('sizes and levels are range-checked', () => {
    for (const bad of [-1, 1.5, Number.NaN, MAX_TREE_SIZE + 1, Infinity]) {
      throwsReason(() => [...tilesOfTree(bad)], 'tree_size_out_of_range', String(bad));
    }
    throwsReason(() => tileLevelHashCount(64, 1), 'level_out_of_range');
    throwsReason(() => tileLevelHashCount(-1, 1), 'level_out_of_range');
  });
});

describe('computing tiles', () => {
  test('level 0 holds leaf hashes; level 1 holds roots of full level-0 tiles; partial tiles are not hashed up', () => {
    const l = leaves(600);
    assert.deepEqual(computeHashTile(l, { level: 0, index: 2, width: 88 }), Buffer.concat(l.slice(512, 600)));
    assert.deepEqual(computeHashTile(l, { level: 0, index: 0, width: 3 }), Buffer.concat(l.slice(0, 3)));
    const l1 = computeHashTile(l, { level: 1, index: 0, width: 2 });
    assert.deepEqual(l1, Buffer.concat([rootOfLeafHashes(l.slice(0, 256)), rootOfLeafHashes(l.slice(256, 512))]));
    assert.equal(tileLevelHashes(l, 1).length, 2);
    assert.equal(tileLevelHashes(l, 2).length, 0);
    throwsReason(() => computeHashTile(l, { level: 1, index: 0, width: 3 }), 'tile_not_in_tree');
    throwsReason(() => computeHashTile(l, { level: 0, index: 2, width: 89 }), 'tile_not_in_tree');
    throwsReason(() => computeHashTile(l, { level: 0, index: 0, width: 0 }), 'width_out_of_range');
    throwsReason(() => computeHashTile([Buffer.alloc(31)], { level: 0, index: 0, width: 1 }), 'hash_length_invalid');
  });

  test('a full level-1 hash is the Merkle root of its 256 leaves (known leaf hash)', () => {
    // RFC 6962 leaf hash of the empty entry: SHA-256(0x00).
    assert.equal(leafHash(Buffer.alloc(0)).toString('hex'), createHash('sha256').update(Buffer.of(0)).digest('hex'));
    const l = leaves(256);
    assert.deepEqual(decodeHashTile(computeHashTile(l, { level: 1, index: 0, width: 1 }), 1), [rootOfLeafHashes(l)]);
  });

  test('encode/decode with strict lengths', () => {
    const l = leaves(3);
    assert.deepEqual(decodeHashTile(encodeHashTile(l)), l);
    assert.deepEqual(decodeHashTile(encodeHashTile(l), 3), l);
    assert.equal(encodeHashTile(leaves(256)).length, FULL_TILE_BYTES);
    throwsReason(() => encodeHashTile([]), 'tile_length_invalid');
    throwsReason(() => encodeHashTile(leaves(257)), 'tile_length_invalid');
    throwsReason(() => encodeHashTile([Buffer.alloc(33)]), 'hash_length_invalid');
    for (const n of [0, 1, 31, 33, 64 + 1, FULL_TILE_BYTES + 32]) throwsReason(() => decodeHashTile(Buffer.alloc(n)), 'tile_length_invalid', String(n));
    throwsReason(() => decodeHashTile(Buffer.alloc(64), 3), 'tile_width_mismatch');
    throwsReason(() => decodeHashTile(Buffer.alloc(64), 256), 'tile_width_mismatch');
  });
});
