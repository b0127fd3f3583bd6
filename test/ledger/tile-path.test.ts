import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_TILE_INDEX, TileError, formatEntryBundlePath, formatHashTilePath, formatTileIndex, parseTilePath } from '../../src/ledger/index.js';
import type { TileErrorReason } from '../../src/ledger/index.js';

function throwsReason(fn: () => unknown, reason: TileErrorReason, message?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof TileError && e.reason === reason, message);
}

describe('tile paths (c2sp.org/tlog-tiles)', () => {
  test('index groups: 3 digits, x on all but the last (spec example 1234067 → x001/x234/067)', () => {
    assert.equal(formatTileIndex(1234067), 'x001/x234/067');
    assert.equal(formatTileIndex(0), '000');
    assert.equal(formatTileIndex(5), '005');
    assert.equal(formatTileIndex(999), '999');
    assert.equal(formatTileIndex(1000), 'x001/000');
    assert.equal(formatTileIndex(1000000), 'x001/x000/000');
    assert.equal(formatTileIndex(MAX_TILE_INDEX), 'x009/x007/x199/x254/x740/991');
    throwsReason(() => formatTileIndex(-1), 'index_out_of_range');
    throwsReason(() => formatTileIndex(1.5), 'index_out_of_range');
    throwsReason(() => formatTileIndex(MAX_TILE_INDEX + 1), 'index_out_of_range');
  });

  test('hash tiles and entry bundles, full and partial', () => {
    assert.equal(formatHashTilePath({ level: 0, index: 1234067, width: 256 }), 'tile/0/x001/x234/067');
    assert.equal(formatHashTilePath({ level: 0, index: 1234067, width: 8 }), 'tile/0/x001/x234/067.p/8');
    assert.equal(formatHashTilePath({ level: 63, index: 0, width: 1 }), 'tile/63/000.p/1');
    assert.equal(formatEntryBundlePath({ index: 0, width: 15 }), 'tile/entries/000.p/15');
    assert.equal(formatEntryBundlePath({ index: 1000, width: 256 }), 'tile/entries/x001/000');
    assert.deepEqual(parseTilePath('tile/0/x001/x234/067'), { kind: 'hash', level: 0, index: 1234067, width: 256 });
    assert.deepEqual(parseTilePath('tile/0/x001/x234/067.p/8'), { kind: 'hash', level: 0, index: 1234067, width: 8 });
    assert.deepEqual(parseTilePath('tile/2/000.p/255'), { kind: 'hash', level: 2, index: 0, width: 255 });
    assert.deepEqual(parseTilePath('tile/entries/x001/000'), { kind: 'entries', index: 1000, width: 256 });
    assert.deepEqual(parseTilePath('tile/entries/000.p/1'), { kind: 'entries', index: 0, width: 1 });
    throwsReason(() => formatHashTilePath({ level: 64, index: 0, width: 1 }), 'level_out_of_range');
    throwsReason(() => formatHashTilePath({ level: 0, index: 0, width: 0 }), 'width_out_of_range');
    throwsReason(() => formatHashTilePath({ level: 0, index: 0, width: 257 }), 'width_out_of_range');
    throwsReason(() => formatEntryBundlePath({ index: -1, width: 1 }), 'index_out_of_range');
  });

  test('rejects non-canonical and out-of-range paths with a stable reason', () => {
    const cases: [string, TileErrorReason][] = [
      ['tile/64/000', 'level_out_of_range'],
      ['tile/100/000', 'level_out_of_range'],
      ['tile/01/000', 'malformed_path'],
      ['tile/-1/000', 'malformed_path'],
      ['tile/+1/000', 'malformed_path'],
      ['tile/ 1/000', 'malformed_path'],
      ['tile//000', 'malformed_path'],
      ['tile/0', 'malformed_path'],
      ['tile/0/', 'malformed_path'],
      ['/tile/0/000', 'malformed_path'],
      ['tiles/0/000', 'malformed_path'],
      ['tile/0/000/', 'malformed_path'],
      ['tile/0/0', 'malformed_path'],
      ['tile/0/0000', 'malformed_path'],
      ['tile/0/x000', 'malformed_path'],
      ['tile/0/001/000', 'malformed_path'],
      ['tile/0/x000/001', 'malformed_path'],
      ['tile/0/x1/000', 'malformed_path'],
      ['tile/0/x001/x002', 'malformed_path'],
      ['tile/0/X001/000', 'malformed_path'],
      ['tile/0/00a', 'malformed_path'],
      ['tile/0/000.p', 'malformed_path'],
      ['tile/0/000.p/', 'malformed_path'],
      ['tile/0/000.p/08', 'malformed_path'],
      ['tile/0/000.p/+8', 'malformed_path'],
      ['tile/0/000.p/0', 'width_out_of_range'],
      ['tile/0/000.p/256', 'width_out_of_range'],
      ['tile/0/000.p/1000', 'width_out_of_range'],
      ['tile/0/000.q/8', 'malformed_path'],
      ['tile/0/000.p/8/9', 'malformed_path'],
      ['tile/0/x001.p/000/8', 'malformed_path'],
      ['tile/entries/x000/001', 'malformed_path'],
      ['tile/entries.p/5', 'malformed_path'],
      ['tile/entries/000.p/256', 'width_out_of_range'],
      ['tile/0/x009/x007/x199/x254/x740/992', 'index_out_of_range'],
      ['tile/0/x999/x999/x999/x999/x999/x999/x999/999', 'index_out_of_range'],
    ];
    for (const [path, reason] of cases) throwsReason(() => parseTilePath(path), reason, path);
  });

  test('format → parse is the identity; arbitrary strings give a path or a TileError (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: MAX_TILE_INDEX }), fc.integer({ min: 1, max: 256 }), (level, index, width) => {
        assert.deepEqual(parseTilePath(formatHashTilePath({ level, index, width })), { kind: 'hash', level, index, width });
        assert.deepEqual(parseTilePath(formatEntryBundlePath({ index, width })), { kind: 'entries', index, width });
      }),
      { numRuns: 500 },
    );
    const pathChar = fc.constantFrom(...'tile/entries0123456789x.p/'.split(''));
    fc.assert(
      fc.property(fc.array(pathChar, { maxLength: 40 }), (chars) => {
        const path = chars.join('');
        try {
          const parsed = parseTilePath(path);
          // Whatever parses is canonical: it formats back to the same string.
          assert.equal(parsed.kind === 'hash' ? formatHashTilePath(parsed) : formatEntryBundlePath(parsed), path);
        } catch (e) {
          assert.ok(e instanceof TileError, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
