import type { BundleToCheck } from './bundle-hasher.js';
import { ENTRY_BUNDLE_WIDTH, ENTRY_LENGTH_PREFIX_BYTES, MAX_ENTRY_BYTES } from './entry-bundle.js';
import { HASH_BYTES } from './rfc6962.js';
import { TileSourceError } from './tile-source.js';
import type { TileSource } from './tile-source.js';
import { TILE_WIDTH, formatEntryBundlePath, formatHashTilePath } from './tile-path.js';
import { VerifyError, type VerifyErrorReason } from './verify-error.js';

/**
 * The verifier's reads: an entry bundle with its level-0 tile, a hash tile, any log file, each checked
 * for size and turned into a VerifyError naming the first leaf it concerns. Shared by the verifier and
 * its bundle checkers (bundle-check.ts), which read their bundles themselves.
 */

/** A whole bundle: 256 entries of at most 65,535 bytes, each with its 2-byte length (tlog-tiles §Log entries). */
const MAX_BUNDLE_BYTES = ENTRY_BUNDLE_WIDTH * (ENTRY_LENGTH_PREFIX_BYTES + MAX_ENTRY_BYTES);

/** Bundle `index` as served, its level-0 tile, and what checking them must find. */
export interface BundleAndTile extends BundleToCheck {
  readonly index: number;
  /** The bundle's width in this tree (= hashed; `entries` is 256 when a partial bundle was read from the full one). */
  readonly width: number;
  readonly tile: Buffer;
}

export async function readBundleAndTile(source: TileSource, index: number, width: number): Promise<BundleAndTile> {
  const first = index * TILE_WIDTH;
  const [{ bundle, entries }, tile] = await Promise.all([readBundle(source, index, width), readHashTile(source, 0, index, width, first)]);
  return { index, bundle, tile, entries, hashed: width, width };
}

/**
 * The bytes of bundle `index`, which must hold exactly `width` entries; a missing partial bundle may be
 * read from the full one (then it must hold 256).
 */
async function readBundle(source: TileSource, index: number, width: number): Promise<{ bundle: Uint8Array; entries: number }> {
  const first = index * TILE_WIDTH;
  const path = formatEntryBundlePath({ index, width });
  const bytes = await readLogFile(source, path, MAX_BUNDLE_BYTES, 'BUNDLE_INVALID', first);
  if (bytes !== undefined) return { bundle: bytes, entries: width };
  if (width < TILE_WIDTH) {
    // tlog-tiles lets a log drop a partial bundle once the full one exists; its first `width` entries are the same.
    const full = await readLogFile(source, formatEntryBundlePath({ index, width: TILE_WIDTH }), MAX_BUNDLE_BYTES, 'BUNDLE_INVALID', first);
    if (full !== undefined) return { bundle: full, entries: TILE_WIDTH };
  }
  throw new VerifyError('TILE_MISSING', `${path} is missing`, { firstBadIndex: first });
}

/** Hash tile (level, index) with exactly `width` hashes; a missing partial tile may be read from the full one. */
export async function readHashTile(source: TileSource, level: number, index: number, width: number, firstLeaf: number): Promise<Buffer> {
  const path = formatHashTilePath({ level, index, width });
  let bytes = await readLogFile(source, path, width * HASH_BYTES, 'TILE_INVALID', firstLeaf);
  if (bytes === undefined && width < TILE_WIDTH) {
    // As for bundles: the full tile's first `width` hashes are the partial tile (tlog-tiles §Partial Tiles).
    const full = await readLogFile(source, formatHashTilePath({ level, index, width: TILE_WIDTH }), TILE_WIDTH * HASH_BYTES, 'TILE_INVALID', firstLeaf);
    if (full !== undefined && full.length !== TILE_WIDTH * HASH_BYTES) {
      throw new VerifyError('TILE_INVALID', `${formatHashTilePath({ level, index, width: TILE_WIDTH })} is ${full.length} bytes`, { firstBadIndex: firstLeaf });
    }
    bytes = full?.subarray(0, width * HASH_BYTES);
  }
  if (bytes === undefined) throw new VerifyError('TILE_MISSING', `${path} is missing`, { firstBadIndex: firstLeaf });
  if (bytes.length !== width * HASH_BYTES) {
    throw new VerifyError('TILE_INVALID', `${path} is ${bytes.length} bytes, not ${width * HASH_BYTES}`, { firstBadIndex: firstLeaf });
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** One read of a log file, with source failures turned into VerifyErrors: too large → `tooLarge`, anything else FETCH_FAILED. */
export async function readLogFile(source: TileSource, path: string, maxBytes: number, tooLarge: VerifyErrorReason, firstBadIndex?: number): Promise<Uint8Array | undefined> {
  try {
    return await source.read(path, maxBytes);
  } catch (e) {
    const at = firstBadIndex === undefined ? {} : { firstBadIndex };
    if (e instanceof TileSourceError && e.reason === 'too_large') throw new VerifyError(tooLarge, `${path} is too large`, { ...at, cause: e });
    const detail = e instanceof TileSourceError ? e.message : path;
    throw new VerifyError('FETCH_FAILED', detail, { cause: e });
  }
}
