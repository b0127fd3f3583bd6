// Builds small C2SP tlog-tiles logs with the ledger core, for the verifier's tests: every tile and bundle
// of the final tree size (full tiles plus the right-edge partial ones), and its signed checkpoint.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  TILE_WIDTH,
  TileSourceError,
  encodeEntryBundle,
  encodeHashTile,
  formatEntryBundlePath,
  formatHashTilePath,
  leafHash,
  rootOfLeafHashes,
  signCheckpoint,
  tileLevelHashes,
  tilesOfTree,
} from '../../src/ledger/index.js';
import type { NoteSigner, TileSource } from '../../src/ledger/index.js';

export const TESSERA_ORIGIN = 'example.com/log/testdata';
export const TESSERA_SIGNER_KEY = 'PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg';
export const TESSERA_VERIFIER_KEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
export const TESSERA_ROOT_15 = 'rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=';

/** path → bytes of a whole log: `checkpoint`, `tile/<L>/…`, `tile/entries/…`. */
export function buildLogFiles(entries: readonly Uint8Array[], signer: NoteSigner, origin: string = signer.name): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const leaves = entries.map((e) => leafHash(e));
  const levelHashes = new Map<number, Buffer[]>();
  for (const tile of tilesOfTree(leaves.length)) {
    let hashes = levelHashes.get(tile.level);
    if (hashes === undefined) {
      hashes = tileLevelHashes(leaves, tile.level);
      levelHashes.set(tile.level, hashes);
    }
    const start = tile.index * TILE_WIDTH;
    files.set(formatHashTilePath(tile), encodeHashTile(hashes.slice(start, start + tile.width)));
  }
  for (let b = 0; b * TILE_WIDTH < entries.length; b++) {
    const slice = entries.slice(b * TILE_WIDTH, (b + 1) * TILE_WIDTH);
    files.set(formatEntryBundlePath({ index: b, width: slice.length }), encodeEntryBundle(slice));
  }
  files.set('checkpoint', signCheckpoint({ origin, size: leaves.length, rootHash: rootOfLeafHashes(leaves), extensions: [] }, signer));
  return files;
}

export function writeLogFiles(dir: string, files: ReadonlyMap<string, Uint8Array>): void {
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
}

/** `n` distinct small entries, `prefix` making different logs differ. */
export function makeEntries(n: number, prefix = 'entry'): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.from(`${prefix}-${i}`, 'utf8'));
}

/** The in-memory TileSource the verifier's tests use; records every path read. */
export function memorySource(files: ReadonlyMap<string, Uint8Array>): TileSource & { readonly reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    read(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
      reads.push(path);
      const bytes = files.get(path);
      if (bytes !== undefined && bytes.length > maxBytes) return Promise.reject(new TileSourceError('too_large', path));
      return Promise.resolve(bytes === undefined ? undefined : Buffer.from(bytes));
    },
  };
}
