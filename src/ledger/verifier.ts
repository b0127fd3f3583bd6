import { openCheckpoint } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { ENTRY_BUNDLE_WIDTH, ENTRY_LENGTH_PREFIX_BYTES, MAX_ENTRY_BYTES } from './entry-bundle.js';
import { NoteError } from './note-error.js';
import type { NoteVerifier } from './note-keys.js';
import { EMPTY_ROOT, HASH_BYTES } from './rfc6962.js';
import { MAX_NOTE_BYTES } from './signed-note.js';
import { defaultHashThreads, inlineBundleHasher, workerBundleHasher, type BundleHasher, type BundleToCheck } from './bundle-hasher.js';
import { reduceInPlace, rootOfTileEdge, type BundleCheck } from './tile-hasher.js';
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
  /**
   * Worker threads hashing bundles (0: hash on the calling thread). Default: defaultHashThreads() — one
   * per core (at most 8), none on one core; logs under WORKER_MIN_BUNDLES bundles are always hashed inline.
   */
  readonly hashThreads?: number;
}

/** Below this many bundles (16,384 entries) starting workers costs more than they save. */
export const WORKER_MIN_BUNDLES = 64;

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
 * Memory is bounded, not proportional to the log: one window of fetched bundles and the hashes of the
 * current tile at each level (at most 256 × 32 bytes per level), which are also the right edge the root
 * is computed from. No MemoryTree: every node is checked against the served tiles as it is made.
 * Bundles are hashed on `hashThreads` worker threads (bundle-hasher.ts); everything else happens here.
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

  const bundles = Math.ceil(size / TILE_WIDTH);
  const threads = bundles < WORKER_MIN_BUNDLES ? 0 : (options.hashThreads ?? defaultHashThreads());
  const hasher = threads > 0 ? workerBundleHasher(threads) : inlineBundleHasher();
  try {
    const root = await rebuildTree({ source, hasher, size, previous, window: Math.max(1, Math.min(64, options.concurrency ?? 8)), expectedRoot: checkpoint.rootHash });
    return Object.freeze({ origin, size, root, checkpointText: Buffer.from(cpBytes).toString('utf8'), checkpoint });
  } finally {
    await hasher.close();
  }
}

interface TreeToRebuild {
  readonly source: TileSource;
  readonly hasher: BundleHasher;
  readonly size: number;
  readonly previous: PreviousTree | undefined;
  /** Bundles fetched ahead. */
  readonly window: number;
  /** The checkpoint's root. */
  readonly expectedRoot: Buffer;
}

/** Steps (2) to (5) of verifyLog: every bundle and tile of a tree of `size` leaves; returns its root. */
async function rebuildTree({ source, hasher, size, previous, window, expectedRoot }: TreeToRebuild): Promise<Buffer> {
  const bundles = Math.ceil(size / TILE_WIDTH);
  const levels = new TileLevels(source);
  let previousRootMatches = previous === undefined || previous.size !== 0 || EMPTY_ROOT.equals(previous.root);
  /** The leaves of the last, partial bundle: the level-0 part of the right edge. */
  let partial: Buffer | undefined;

  // Reads run `window` bundles ahead; bundles go to the hasher in batches, `hasher.depth` batches in
  // flight; results are taken in order. A read that fails ends the batch it would have joined, and its
  // error is thrown only after every earlier bundle was checked, so the first bad index stays the first.
  const reads: Promise<Settled<BundleAndTile>>[] = [];
  let nextRead = 0;
  const readAhead = (): void => {
    while (nextRead < bundles && reads.length < window) {
      const b = nextRead++;
      reads.push(settle(readBundleAndTile(source, b, Math.min(TILE_WIDTH, size - b * TILE_WIDTH))));
    }
  };
  const batches: Batch[] = [];
  let batched = 0;
  let readFailed = false;
  const dispatch = async (): Promise<void> => {
    while (!readFailed && batched < bundles && batches.length < hasher.depth) {
      const items: BundleAndTile[] = [];
      let bytes = 0;
      let error: { readonly error: unknown } | undefined;
      while (batched < bundles && items.length < hasher.batchBundles && (items.length === 0 || bytes < hasher.batchBytes)) {
        readAhead();
        const next = reads.shift();
        if (next === undefined) throw new RangeError('prefetch window out of step');
        const settled = await next;
        if (!settled.ok) {
          error = { error: settled.error };
          readFailed = true;
          break;
        }
        items.push(settled.value);
        bytes += settled.value.bundle.byteLength;
        batched++;
      }
      readAhead();
      const checked = items.length === 0 ? Promise.resolve({ ok: true as const, value: [] }) : settle(hasher.check(items));
      batches.push({ items, checked, error });
    }
  };

  await dispatch();
  for (let batch = batches.shift(); batch !== undefined; batch = batches.shift()) {
    await dispatch(); // keep the hasher busy while this batch's results are used
    const checked = await batch.checked;
    if (!checked.ok) throw checked.error;
    for (let k = 0; k < batch.items.length; k++) {
      const item = batch.items[k] as BundleAndTile;
      const result = checked.value[k];
      if (result === undefined) throw new RangeError('bundle hasher returned too few results');
      const root = useBundle(item, result);
      if (root !== undefined) await levels.add(1, root);
      else partial = item.tile;
      const inPrevious = previous === undefined ? 0 : previous.size - item.index * TILE_WIDTH;
      if (previous !== undefined && inPrevious === TILE_WIDTH) previousRootMatches = levels.rootWith(undefined, 0).equals(previous.root);
    }
    if (batch.error !== undefined) throw batch.error.error;
  }
  await levels.finish();

  const root = levels.rootWith(partial, size % TILE_WIDTH);
  if (!root.equals(expectedRoot)) throw new VerifyError('ROOT_MISMATCH', `size ${size}`);
  if (!previousRootMatches && previous !== undefined) {
    throw new VerifyError('INCONSISTENT_WITH_STATE', `the first ${previous.size} entries do not have the previously verified root`);
  }
  return root;

  /**
   * A checked bundle: any failure thrown with the first bad index; returns a full bundle's root (for a
   * partial one, its leaves are the served tile, now known to equal them).
   */
  function useBundle(item: BundleAndTile, result: BundleCheck): Buffer | undefined {
    const first = item.index * TILE_WIDTH;
    const path = formatEntryBundlePath({ index: item.index, width: item.width });
    if (result.kind === 'malformed') {
      if (!result.trailing) {
        throw new VerifyError('BUNDLE_INVALID', `${path} holds ${result.complete} complete entries of ${item.entries}`, { firstBadIndex: first + result.complete });
      }
      throw new VerifyError('BUNDLE_INVALID', `${path} has bytes after its ${item.entries} entries`, { firstBadIndex: first + item.entries - 1 });
    }
    if (result.kind === 'mismatch') {
      const i = result.index;
      throw new VerifyError('TILE_MISMATCH', `entry ${first + i} does not hash to hash ${i} of ${formatHashTilePath({ level: 0, index: item.index, width: item.width })}`, {
        firstBadIndex: first + i,
      });
    }
    // The previous tree ends inside this bundle: its root from the edge so far plus this bundle's first leaves.
    const inPrevious = previous === undefined ? 0 : previous.size - first;
    if (previous !== undefined && inPrevious > 0 && inPrevious < TILE_WIDTH && inPrevious <= item.width) {
      previousRootMatches = levels.rootWith(item.tile, inPrevious).equals(previous.root);
    }
    if (item.width < TILE_WIDTH) return undefined;
    if (result.root === undefined) throw new RangeError('a full bundle was checked without its root');
    return Buffer.from(result.root, 'latin1');
  }
}

/** The index of the first 32-byte hash at which two packed hash lists differ (they do differ). */
function firstDifferentHash(a: Buffer, b: Buffer): number {
  for (let i = 0; ; i++) {
    if (a.compare(b, i * HASH_BYTES, (i + 1) * HASH_BYTES, i * HASH_BYTES, (i + 1) * HASH_BYTES) !== 0) return i;
  }
}

/** Bundles handed to the hasher together; `error`: the read that ended the batch failed. */
interface Batch {
  readonly items: readonly BundleAndTile[];
  readonly checked: Promise<Settled<BundleCheck[]>>;
  readonly error: { readonly error: unknown } | undefined;
}

type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** A prefetched promise must not reject unobserved: hold its outcome as a value. */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Bundle `index` as served, its level-0 tile, and what checking them must find. */
interface BundleAndTile extends BundleToCheck {
  readonly index: number;
  /** The bundle's width in this tree (= hashed; `entries` is 256 when a partial bundle was read from the full one). */
  readonly width: number;
  readonly tile: Buffer;
}

async function readBundleAndTile(source: TileSource, index: number, width: number): Promise<BundleAndTile> {
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
  const bytes = await read(source, path, MAX_BUNDLE_BYTES, 'BUNDLE_INVALID', first);
  if (bytes !== undefined) return { bundle: bytes, entries: width };
  if (width < TILE_WIDTH) {
    // tlog-tiles lets a log drop a partial bundle once the full one exists; its first `width` entries are the same.
    const full = await read(source, formatEntryBundlePath({ index, width: TILE_WIDTH }), MAX_BUNDLE_BYTES, 'BUNDLE_INVALID', first);
    if (full !== undefined) return { bundle: full, entries: TILE_WIDTH };
  }
  throw new VerifyError('TILE_MISSING', `${path} is missing`, { firstBadIndex: first });
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

/**
 * The tiles above level 0: each level keeps the hashes of its current tile, packed. A full tile is fetched
 * and compared as soon as it completes, and its root becomes the next hash one level up (tlog-tiles:
 * level-l hashes are roots of full level-(l−1) tiles only); the partial tiles are checked at the end.
 * Level 0 is the caller's (one bundle at a time); `rootWith` adds it to compute a root.
 */
class TileLevels {
  readonly #source: TileSource;
  /** Indexed by tile level; [0] unused. */
  readonly #hashes: Buffer[] = [];
  readonly #count: number[] = [];
  readonly #index: number[] = [];

  constructor(source: TileSource) {
    this.#source = source;
  }

  async add(level: number, hash: Buffer): Promise<void> {
    if (level > MAX_TILE_LEVEL) throw new RangeError('tree too large for tile levels');
    const hashes = (this.#hashes[level] ??= Buffer.alloc(TILE_WIDTH * HASH_BYTES));
    const count = this.#count[level] ?? 0;
    hash.copy(hashes, count * HASH_BYTES);
    this.#count[level] = count + 1;
    if (count + 1 < TILE_WIDTH) return;
    await this.#check(level, TILE_WIDTH);
    this.#count[level] = 0;
    this.#index[level] = (this.#index[level] ?? 0) + 1;
    await this.add(level + 1, reduceInPlace(hashes, TILE_WIDTH));
  }

  async finish(): Promise<void> {
    for (let level = 1; level < this.#hashes.length; level++) {
      const count = this.#count[level] ?? 0;
      if (count > 0) await this.#check(level, count);
    }
  }

  /** The root of the tree made of these levels and, at level 0, the first `count` (< 256) of `leaves`. */
  rootWith(leaves: Buffer | undefined, count: number): Buffer {
    const levels = [leaves ?? Buffer.alloc(0), ...this.#hashes.slice(1)];
    const counts = [leaves === undefined ? 0 : count, ...this.#count.slice(1)];
    return rootOfTileEdge(levels, counts);
  }

  async #check(level: number, width: number): Promise<void> {
    const hashes = this.#hashes[level] as Buffer;
    const index = this.#index[level] ?? 0;
    const leavesPerHash = 2 ** (TILE_HEIGHT * level);
    const firstLeaf = index * TILE_WIDTH * leavesPerHash;
    const served = await readHashTile(this.#source, level, index, width, firstLeaf);
    const mine = hashes.subarray(0, width * HASH_BYTES);
    if (!served.equals(mine)) {
      const i = firstDifferentHash(mine, served);
      throw new VerifyError('TILE_MISMATCH', `hash ${i} of ${formatHashTilePath({ level, index, width })} differs from the entries`, {
        firstBadIndex: firstLeaf + i * leavesPerHash,
      });
    }
  }
}
