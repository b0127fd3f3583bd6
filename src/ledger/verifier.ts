import { openCheckpoint } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { ENTRY_BUNDLE_WIDTH, ENTRY_LENGTH_PREFIX_BYTES, MAX_ENTRY_BYTES } from './entry-bundle.js';
import { NoteError } from './note-error.js';
import type { NoteVerifier } from './note-keys.js';
import { EMPTY_ROOT, HASH_BYTES, leafHash, nodeHash } from './rfc6962.js';
import { MAX_NOTE_BYTES } from './signed-note.js';
import { TileSourceError } from './tile-source.js';
import type { TileSource } from './tile-source.js';
import { MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH, formatEntryBundlePath, formatHashTilePath } from './tile-path.js';

/**
 * Why a log did not verify: stable, closed. The message adds only what the verifier itself knows (paths,
 * indices, sizes, HTTP statuses) — never fetched bytes — so a hostile log cannot write into our output.
 */
export const VERIFY_ERROR_REASONS = {
  CHECKPOINT_MISSING: 'the log serves no checkpoint',
  CHECKPOINT_INVALID: 'the checkpoint is malformed',
  SIGNATURE_INVALID: 'the checkpoint has no valid signature by the key',
  ORIGIN_MISMATCH: 'the checkpoint origin is not the expected one',
  TILE_MISSING: 'a tile or entry bundle of the tree is missing',
  TILE_INVALID: 'a hash tile has the wrong length',
  TILE_MISMATCH: 'a served hash differs from the one recomputed from the entries',
  BUNDLE_INVALID: 'an entry bundle is malformed or has the wrong number of entries',
  ROOT_MISMATCH: 'the root recomputed from the entries differs from the checkpoint',
  SIZE_DECREASED: 'the log is smaller than at the previous verification',
  INCONSISTENT_WITH_STATE: 'the log is not an extension of the previously verified tree (fork)',
  STATE_INVALID: 'the previous state is malformed',
  FETCH_FAILED: 'the log could not be read',
} as const;

export type VerifyErrorReason = keyof typeof VERIFY_ERROR_REASONS;

export class VerifyError extends Error {
  override readonly name = 'VerifyError';
  readonly reason: VerifyErrorReason;
  /** The first leaf index that is wrong, missing or not provably right, when the failure has one. */
  readonly firstBadIndex: number | undefined;

  constructor(reason: VerifyErrorReason, detail?: string, options: { firstBadIndex?: number; cause?: unknown } = {}) {
    super(`${VERIFY_ERROR_REASONS[reason]}${detail === undefined ? '' : ` (${detail})`}`, { cause: options.cause });
    this.reason = reason;
    this.firstBadIndex = options.firstBadIndex;
  }
}

/** The tree verified at an earlier run: its size and RFC 6962 root. */
export interface PreviousTree {
  readonly size: number;
  readonly root: Uint8Array;
}

export interface VerifyLogOptions {
  readonly source: TileSource;
  readonly verifier: NoteVerifier;
  /** The log's origin; default the key name (tlog-checkpoint §Signatures: it SHOULD be the same). */
  readonly origin?: string;
  readonly previous?: PreviousTree;
  /** Entry bundles (and their level-0 tiles) fetched ahead; default 8. */
  readonly concurrency?: number;
}

export interface VerifiedLog {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
  /** The signed checkpoint exactly as served, for the state file. */
  readonly checkpointText: string;
  readonly checkpoint: Checkpoint;
}

/** A whole bundle: 256 entries of at most 65,535 bytes, each with its 2-byte length (tlog-tiles §Log entries). */
const MAX_BUNDLE_BYTES = ENTRY_BUNDLE_WIDTH * (ENTRY_LENGTH_PREFIX_BYTES + MAX_ENTRY_BYTES);

/**
 * Verifies one signed checkpoint (c2sp.org/tlog-checkpoint) with the key and origin (default: the key
 * name). Every failure is a VerifyError: CHECKPOINT_INVALID, SIGNATURE_INVALID or ORIGIN_MISMATCH.
 */
export function verifyCheckpoint(bytes: Uint8Array, verifier: NoteVerifier, origin: string = verifier.name): Checkpoint {
  try {
    return openCheckpoint(bytes, { origin, verifiers: verifier }).checkpoint;
  } catch (e) {
    if (!(e instanceof NoteError)) throw e;
    if (e.reason === 'origin_mismatch') throw new VerifyError('ORIGIN_MISMATCH', undefined, { cause: e });
    if (e.reason === 'signature_invalid' || e.reason === 'no_trusted_signature') throw new VerifyError('SIGNATURE_INVALID', e.reason, { cause: e });
    throw new VerifyError('CHECKPOINT_INVALID', e.reason, { cause: e });
  }
}

/**
 * Verifies a whole C2SP tlog-tiles log: (1) the checkpoint's signature and origin; (2) every entry bundle,
 * in order, with exactly the width the tree size implies, each entry hashed as an RFC 6962 leaf; (3) every
 * hash tile, at every level, recomputed and compared with the served bytes; (4) the root of all the
 * leaves against the checkpoint; (5) with `previous`, that the tree did not shrink and that the first
 * previous.size leaves have the previous root (a direct form of RFC 6962 consistency).
 *
 * Memory is bounded, not proportional to the log: one window of fetched bundles, the hashes of the
 * current tile at each level (at most 256 × 32 bytes per level) and the right edge of the tree (one hash
 * per set bit of the size). No MemoryTree: every node is checked against the served tiles as it is made.
 */
export async function verifyLog(options: VerifyLogOptions): Promise<VerifiedLog> {
  const { source, verifier } = options;
  const origin = options.origin ?? verifier.name;
  const previous = options.previous;
  if (previous !== undefined && (!Number.isSafeInteger(previous.size) || previous.size < 0 || previous.root.length !== HASH_BYTES)) {
    throw new VerifyError('STATE_INVALID');
  }

  const cpBytes = await read(source, 'checkpoint', MAX_NOTE_BYTES, 'CHECKPOINT_INVALID');
  if (cpBytes === undefined) throw new VerifyError('CHECKPOINT_MISSING');
  const checkpoint = verifyCheckpoint(cpBytes, verifier, origin);
  const size = checkpoint.size;
  if (previous !== undefined && size < previous.size) {
    throw new VerifyError('SIZE_DECREASED', `checkpoint size ${size}, previously ${previous.size}`);
  }

  const edge = new RightEdge();
  const levels = new TileLevels(source);
  let previousRootMatches = previous === undefined || previous.size !== 0 || EMPTY_ROOT.equals(previous.root);

  const bundles = Math.ceil(size / TILE_WIDTH);
  const window = Math.max(1, Math.min(64, options.concurrency ?? 8));
  const pending: Promise<Settled<BundleAndTile>>[] = [];
  const start = (b: number): void => {
    if (b < bundles) pending.push(settle(fetchBundleAndTile(source, b, Math.min(TILE_WIDTH, size - b * TILE_WIDTH))));
  };
  for (let b = 0; b < window; b++) start(b);
  for (let b = 0; b < bundles; b++) {
    const next = pending.shift();
    if (next === undefined) throw new RangeError('prefetch window out of step');
    start(b + window);
    const settled = await next;
    if (!settled.ok) throw settled.error;
    const { leaves, tile } = settled.value;
    const first = b * TILE_WIDTH;
    for (let i = 0; i < leaves.length; i++) {
      const served = tile.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
      if (!served.equals(leaves[i] as Buffer)) {
        throw new VerifyError('TILE_MISMATCH', `entry ${first + i} does not hash to hash ${i} of ${formatHashTilePath({ level: 0, index: b, width: leaves.length })}`, {
          firstBadIndex: first + i,
        });
      }
      edge.push(leaves[i] as Buffer);
      if (previous !== undefined && edge.count === previous.size) previousRootMatches = edge.root().equals(previous.root);
    }
    if (leaves.length === TILE_WIDTH) await levels.add(1, subtreeRoot(leaves));
  }
  await levels.finish();

  const root = edge.root();
  if (!root.equals(checkpoint.rootHash)) throw new VerifyError('ROOT_MISMATCH', `size ${size}`);
  if (!previousRootMatches && previous !== undefined) {
    throw new VerifyError('INCONSISTENT_WITH_STATE', `the first ${previous.size} entries do not have the previously verified root`);
  }
  return Object.freeze({ origin, size, root, checkpointText: Buffer.from(cpBytes).toString('utf8'), checkpoint });
}

type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** A prefetched promise must not reject unobserved: hold its outcome as a value. */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

interface BundleAndTile {
  readonly leaves: Buffer[];
  readonly tile: Buffer;
}

async function fetchBundleAndTile(source: TileSource, index: number, width: number): Promise<BundleAndTile> {
  const first = index * TILE_WIDTH;
  const [bundle, tile] = await Promise.all([readBundle(source, index, width), readHashTile(source, 0, index, width, first)]);
  return { leaves: bundle.map((e) => leafHash(e)), tile };
}

/** Bundle `index` with exactly `width` entries; a missing partial bundle may be read from the full one. */
async function readBundle(source: TileSource, index: number, width: number): Promise<Buffer[]> {
  const first = index * TILE_WIDTH;
  const path = formatEntryBundlePath({ index, width });
  let bytes = await read(source, path, MAX_BUNDLE_BYTES, 'BUNDLE_INVALID', first);
  let fromFull = false;
  if (bytes === undefined && width < TILE_WIDTH) {
    // tlog-tiles lets a log drop a partial bundle once the full one exists; its first `width` entries are the same.
    bytes = await read(source, formatEntryBundlePath({ index, width: TILE_WIDTH }), MAX_BUNDLE_BYTES, 'BUNDLE_INVALID', first);
    fromFull = true;
  }
  if (bytes === undefined) throw new VerifyError('TILE_MISSING', `${path} is missing`, { firstBadIndex: first });
  return decodeBundle(bytes, fromFull ? TILE_WIDTH : width, first, path).slice(0, width);
}

/**
 * Splits a bundle into entries; on a malformed bundle, names the first entry that is not intact (or, if
 * all `width` are, the last one, after which the unexpected bytes start).
 */
function decodeBundle(bytes: Uint8Array, width: number, first: number, path: string): Buffer[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Buffer[] = [];
  let at = 0;
  while (at < view.length && out.length < width) {
    if (at + ENTRY_LENGTH_PREFIX_BYTES > view.length) break;
    const length = view.readUInt16BE(at);
    if (at + ENTRY_LENGTH_PREFIX_BYTES + length > view.length) break;
    out.push(Buffer.from(view.subarray(at + ENTRY_LENGTH_PREFIX_BYTES, at + ENTRY_LENGTH_PREFIX_BYTES + length)));
    at += ENTRY_LENGTH_PREFIX_BYTES + length;
  }
  if (out.length < width) {
    throw new VerifyError('BUNDLE_INVALID', `${path} holds ${out.length} complete entries of ${width}`, { firstBadIndex: first + out.length });
  }
  if (at !== view.length) {
    throw new VerifyError('BUNDLE_INVALID', `${path} has bytes after its ${width} entries`, { firstBadIndex: first + width - 1 });
  }
  return out;
}

/** Hash tile (level, index) with exactly `width` hashes; a missing partial tile may be read from the full one. */
async function readHashTile(source: TileSource, level: number, index: number, width: number, firstLeaf: number): Promise<Buffer> {
  const path = formatHashTilePath({ level, index, width });
  let bytes = await read(source, path, width * HASH_BYTES, 'TILE_INVALID', firstLeaf);
  if (bytes === undefined && width < TILE_WIDTH) {
    // As for bundles: the full tile's first `width` hashes are the partial tile (tlog-tiles §Partial Tiles).
    const full = await read(source, formatHashTilePath({ level, index, width: TILE_WIDTH }), TILE_WIDTH * HASH_BYTES, 'TILE_INVALID', firstLeaf);
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

/** One read, with source failures turned into VerifyErrors: too large → `tooLarge`, anything else FETCH_FAILED. */
async function read(source: TileSource, path: string, maxBytes: number, tooLarge: VerifyErrorReason, firstBadIndex?: number): Promise<Uint8Array | undefined> {
  try {
    return await source.read(path, maxBytes);
  } catch (e) {
    const at = firstBadIndex === undefined ? {} : { firstBadIndex };
    if (e instanceof TileSourceError && e.reason === 'too_large') throw new VerifyError(tooLarge, `${path} is too large`, { ...at, cause: e });
    const detail = e instanceof TileSourceError ? e.message : path;
    throw new VerifyError('FETCH_FAILED', detail, { cause: e });
  }
}

/** MTH of a full tile's 256 hashes: 8 rounds of pairing (tlog-tiles §Merkle Tree, a subtree of height 8). */
function subtreeRoot(hashes: readonly Buffer[]): Buffer {
  let current = hashes;
  for (let round = 0; round < TILE_HEIGHT; round++) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < current.length; i += 2) next.push(nodeHash(current[i] as Buffer, current[i + 1] as Buffer));
    current = next;
  }
  const root = current[0];
  if (current.length !== 1 || root === undefined) throw new RangeError('a full tile has 256 hashes');
  return root;
}

/**
 * The tiles above level 0: each level keeps the hashes of its current tile. A full tile is fetched and
 * compared as soon as it completes, and its root becomes the next hash one level up (tlog-tiles: level-l
 * hashes are roots of full level-(l−1) tiles only); the partial tiles are checked at the end.
 */
class TileLevels {
  readonly #source: TileSource;
  readonly #current: Buffer[][] = [];
  readonly #index: number[] = [];

  constructor(source: TileSource) {
    this.#source = source;
  }

  async add(level: number, hash: Buffer): Promise<void> {
    if (level > MAX_TILE_LEVEL) throw new RangeError('tree too large for tile levels');
    const hashes = (this.#current[level] ??= []);
    hashes.push(hash);
    if (hashes.length < TILE_WIDTH) return;
    await this.#check(level, hashes);
    this.#current[level] = [];
    this.#index[level] = (this.#index[level] ?? 0) + 1;
    await this.add(level + 1, subtreeRoot(hashes));
  }

  async finish(): Promise<void> {
    for (let level = 1; level < this.#current.length; level++) {
      const hashes = this.#current[level];
      if (hashes !== undefined && hashes.length > 0) await this.#check(level, hashes);
    }
  }

  async #check(level: number, hashes: readonly Buffer[]): Promise<void> {
    const index = this.#index[level] ?? 0;
    const leavesPerHash = 2 ** (TILE_HEIGHT * level);
    const firstLeaf = index * TILE_WIDTH * leavesPerHash;
    const served = await readHashTile(this.#source, level, index, hashes.length, firstLeaf);
    for (let i = 0; i < hashes.length; i++) {
      if (!served.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES).equals(hashes[i] as Buffer)) {
        throw new VerifyError('TILE_MISMATCH', `hash ${i} of ${formatHashTilePath({ level, index, width: hashes.length })} differs from the entries`, {
          firstBadIndex: firstLeaf + i * leavesPerHash,
        });
      }
    }
  }
}

/**
 * The right edge of an RFC 6962 tree (a "compact range" from 0): the roots of its complete subtrees, largest
 * first, one per set bit of the leaf count. Appending merges equal-sized neighbours; the root is their
 * right fold (RFC 6962 §2.1).
 */
class RightEdge {
  readonly #nodes: { level: number; hash: Buffer }[] = [];
  count = 0;

  push(leaf: Buffer): void {
    let hash = leaf;
    let level = 0;
    for (let top = this.#nodes.at(-1); top !== undefined && top.level === level; top = this.#nodes.at(-1)) {
      this.#nodes.pop();
      hash = nodeHash(top.hash, hash);
      level++;
    }
    this.#nodes.push({ level, hash });
    this.count++;
  }

  root(): Buffer {
    const last = this.#nodes.at(-1);
    if (last === undefined) return Buffer.from(EMPTY_ROOT);
    let acc = last.hash;
    for (let i = this.#nodes.length - 2; i >= 0; i--) acc = nodeHash((this.#nodes[i] as { hash: Buffer }).hash, acc);
    return acc;
  }
}
