import { openCheckpoint } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { NoteError } from './note-error.js';
import type { NoteVerifier } from './note-keys.js';
import { EMPTY_ROOT, HASH_BYTES } from './rfc6962.js';
import { MAX_NOTE_BYTES } from './signed-note.js';
import { defaultHashThreads, inlineBundleHasher, workerBundleHasher, type BundleHasher } from './bundle-hasher.js';
import { fromRemoteError, type BundleJobItem, type CheckedReply } from './bundle-checker-protocol.js';
import { startBundleCheckers, type BundleCheckers } from './bundle-checkers.js';
import { readBundleAndTile, readHashTile, readLogFile, type BundleAndTile } from './bundle-reads.js';
import { reduceInPlace, rootOfTileEdge, type BundleCheck } from './tile-hasher.js';
import type { TileSource } from './tile-source.js';
import { MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH, formatEntryBundlePath, formatHashTilePath } from './tile-path.js';
import { VerifyError } from './verify-error.js';

export { VERIFY_ERROR_REASONS, VerifyError, type VerifyErrorReason } from './verify-error.js';

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
  /** Entry bundles (and their level-0 tiles) fetched ahead when they are read here; default 8. */
  readonly concurrency?: number;
  /**
   * Checkers that read their own bundles from `source.location` and hash them: this thread, then child
   * processes (bundle-checkers.ts: node:crypto hashes on one core per process, whatever the threads).
   * Default, for a source with a location: 1 (this thread only) under READER_MIN_BUNDLES bundles, else
   * defaultHashThreads() (at least 1). Sources without a location are read here (`hashThreads`).
   */
  readonly hashReaders?: number;
  /**
   * Worker threads hashing bundles read here (0: hash on the calling thread), when no readers do.
   * Default: defaultHashThreads() — one per core (at most 8), none on one core; logs under
   * WORKER_MIN_BUNDLES bundles are always hashed inline.
   */
  readonly hashThreads?: number;
}

/** Below this many bundles (16,384 entries) starting workers costs more than they save. */
export const WORKER_MIN_BUNDLES = 64;
/**
 * By default, child processes check bundles only from this many bundles (65,536 entries, ~70 ms of
 * hashing on one core): a child process takes ~120 ms to start.
 */
export const READER_MIN_BUNDLES = 256;

export interface VerifiedLog {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
  /** The signed checkpoint exactly as served, for the state file. */
  readonly checkpointText: string;
  readonly checkpoint: Checkpoint;
}

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
 * Bundles are checked against their level-0 tiles by `hashReaders` checkers that read them
 * (bundle-checkers.ts) or, read here, on `hashThreads` worker threads (bundle-hasher.ts); everything
 * else happens here.
 */
export async function verifyLog(options: VerifyLogOptions): Promise<VerifiedLog> {
  const { source, verifier } = options;
  const origin = options.origin ?? verifier.name;
  const previous = options.previous;
  if (previous !== undefined && (!Number.isSafeInteger(previous.size) || previous.size < 0 || previous.root.length !== HASH_BYTES)) {
    throw new VerifyError('STATE_INVALID');
  }
  if (options.hashReaders !== undefined && !(Number.isInteger(options.hashReaders) && options.hashReaders >= 1)) throw new RangeError('hashReaders: at least one');
  if (options.hashReaders !== undefined && source.location === undefined) {
    throw new RangeError('checkers that read for themselves need a source they can open again (a directory, or a URL read with the global fetch)');
  }

  const cpBytes = await readLogFile(source, 'checkpoint', MAX_NOTE_BYTES, 'CHECKPOINT_INVALID');
  if (cpBytes === undefined) throw new VerifyError('CHECKPOINT_MISSING');
  const checkpoint = verifyCheckpoint(cpBytes, verifier, origin);
  const size = checkpoint.size;
  if (previous !== undefined && size < previous.size) {
    throw new VerifyError('SIZE_DECREASED', `checkpoint size ${size}, previously ${previous.size}`);
  }

  const bundles = Math.ceil(size / TILE_WIDTH);
  const rebuild = (checked: AsyncIterable<CheckedBatch>) => rebuildTree({ source, checked, size, previous, expectedRoot: checkpoint.rootHash });
  const done = (root: Buffer): VerifiedLog => Object.freeze({ origin, size, root, checkpointText: Buffer.from(cpBytes).toString('utf8'), checkpoint });

  const readers = source.location === undefined ? 0 : (options.hashReaders ?? (bundles < READER_MIN_BUNDLES ? 1 : Math.max(1, defaultHashThreads())));
  if (readers > 0 && source.location !== undefined) {
    const checkers = startBundleCheckers(readers, source.location);
    try {
      return done(await rebuild(checkedElsewhere(checkers, size, previous)));
    } finally {
      await checkers.close();
    }
  }
  const threads = bundles < WORKER_MIN_BUNDLES ? 0 : (options.hashThreads ?? defaultHashThreads());
  const hasher = threads > 0 ? workerBundleHasher(threads) : inlineBundleHasher();
  try {
    const window = Math.max(1, Math.min(64, options.concurrency ?? 8));
    return done(await rebuild(checkedHere(source, hasher, size, window)));
  } finally {
    await hasher.close();
  }
}

/** A bundle checked against its level-0 tile. */
interface CheckedBundle {
  readonly index: number;
  /** The bundle's width in this tree. */
  readonly width: number;
  /** Entries the bundle had to hold (256 when a partial bundle was read from the full one). */
  readonly entries: number;
  /** The served level-0 tile, where the tree needs it: a partial bundle, the bundle in which `previous` ends. */
  readonly tile: Buffer | undefined;
  readonly result: BundleCheck;
}

/** Checked bundles in tree order; `error`: what ended the batch, thrown once its bundles are used. */
interface CheckedBatch {
  readonly items: readonly CheckedBundle[];
  readonly error: { readonly error: unknown } | undefined;
}

/** Whether rebuildTree needs bundle `index`'s level-0 tile (see CheckedBundle.tile). */
function tileNeeded(index: number, width: number, previous: PreviousTree | undefined): boolean {
  if (width < TILE_WIDTH) return true;
  const inPrevious = previous === undefined ? 0 : previous.size - index * TILE_WIDTH;
  return inPrevious > 0 && inPrevious < TILE_WIDTH;
}

interface TreeToRebuild {
  readonly source: TileSource;
  /** Every bundle of the tree, checked, in order. */
  readonly checked: AsyncIterable<CheckedBatch>;
  readonly size: number;
  readonly previous: PreviousTree | undefined;
  /** The checkpoint's root. */
  readonly expectedRoot: Buffer;
}

/** Steps (2) to (5) of verifyLog, given the checked bundles: every tile above level 0, the root. */
async function rebuildTree({ source, checked, size, previous, expectedRoot }: TreeToRebuild): Promise<Buffer> {
  const levels = new TileLevels(source);
  let previousRootMatches = previous === undefined || previous.size !== 0 || EMPTY_ROOT.equals(previous.root);
  /** The leaves of the last, partial bundle: the level-0 part of the right edge. */
  let partial: Buffer | undefined;
  let next = 0;

  for await (const batch of checked) {
    for (const item of batch.items) {
      if (item.index !== next++) throw new RangeError('bundles checked out of order');
      const root = useBundle(item);
      if (root !== undefined) await levels.add(1, root);
      else partial = item.tile;
      const inPrevious = previous === undefined ? 0 : previous.size - item.index * TILE_WIDTH;
      if (previous !== undefined && inPrevious === TILE_WIDTH) previousRootMatches = levels.rootWith(undefined, 0).equals(previous.root);
    }
    if (batch.error !== undefined) throw batch.error.error;
  }
  if (next !== Math.ceil(size / TILE_WIDTH)) throw new RangeError('a bundle of the tree was not checked');
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
  function useBundle(item: CheckedBundle): Buffer | undefined {
    const { result } = item;
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
    if (tileNeeded(item.index, item.width, previous) && item.tile === undefined) throw new RangeError('a bundle came back without the tile the tree needs');
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

/**
 * Bundles read here and checked by `hasher`. Reads run `window` bundles ahead; bundles go to the hasher
 * in batches, `hasher.depth` batches in flight; results are given in order. A read that fails ends the
 * batch it would have joined, and its error comes after every earlier bundle, so the first bad index
 * stays the first.
 */
async function* checkedHere(source: TileSource, hasher: BundleHasher, size: number, window: number): AsyncGenerator<CheckedBatch> {
  const bundles = Math.ceil(size / TILE_WIDTH);
  const reads: Promise<Settled<BundleAndTile>>[] = [];
  let nextRead = 0;
  const readAhead = (): void => {
    while (nextRead < bundles && reads.length < window) {
      const b = nextRead++;
      reads.push(settle(readBundleAndTile(source, b, Math.min(TILE_WIDTH, size - b * TILE_WIDTH))));
    }
  };
  const batches: Array<{ readonly items: readonly BundleAndTile[]; readonly checked: Promise<Settled<BundleCheck[]>>; readonly error: { readonly error: unknown } | undefined }> = [];
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
    const items = batch.items.map((item, k): CheckedBundle => {
      const result = checked.value[k];
      if (result === undefined) throw new RangeError('bundle hasher returned too few results');
      return { index: item.index, width: item.width, entries: item.entries, tile: item.tile, result };
    });
    yield { items, error: batch.error };
  }
}

/**
 * Bundles checked by checkers that read them themselves: batches of `checkers.batchBundles`,
 * `checkers.depth` in flight, given in order. A checker stops a batch at its first failing bundle or
 * read, so what it returns is a prefix of the batch followed by its error, as in checkedHere.
 */
async function* checkedElsewhere(checkers: BundleCheckers, size: number, previous: PreviousTree | undefined): AsyncGenerator<CheckedBatch> {
  const bundles = Math.ceil(size / TILE_WIDTH);
  const inFlight: Array<{ readonly jobs: readonly BundleJobItem[]; readonly reply: Promise<Settled<CheckedReply>> }> = [];
  let next = 0;
  const fill = (): void => {
    while (next < bundles && inFlight.length < checkers.depth) {
      const jobs: BundleJobItem[] = [];
      for (; next < bundles && jobs.length < checkers.batchBundles; next++) {
        const width = Math.min(TILE_WIDTH, size - next * TILE_WIDTH);
        jobs.push({ index: next, width, wantTile: tileNeeded(next, width, previous) });
      }
      inFlight.push({ jobs, reply: settle(checkers.check(jobs)) });
    }
  };
  fill();
  for (let batch = inFlight.shift(); batch !== undefined; batch = inFlight.shift()) {
    fill();
    const reply = await batch.reply;
    if (!reply.ok) throw reply.error;
    const { checked, error } = reply.value;
    const last = checked.at(-1)?.result.kind;
    const whole = error === undefined && checked.length === batch.jobs.length;
    const stoppedAtBad = error === undefined && last !== undefined && last !== 'ok' && checked.length <= batch.jobs.length;
    const stoppedAtRead = error !== undefined && checked.length < batch.jobs.length && checked.every((c) => c.result.kind === 'ok');
    if (!(whole || stoppedAtBad || stoppedAtRead)) {
      throw new RangeError('a bundle checker answered for the wrong bundles');
    }
    const items = checked.map((c, k): CheckedBundle => {
      const job = batch.jobs[k] as BundleJobItem;
      const tile = c.tile === undefined ? undefined : Buffer.from(c.tile.buffer, c.tile.byteOffset, c.tile.byteLength);
      return { index: job.index, width: job.width, entries: c.entries, tile, result: c.result };
    });
    yield { items, error: error === undefined ? undefined : { error: fromRemoteError(error) } };
  }
}

type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** A prefetched promise must not reject unobserved: hold its outcome as a value. */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** The index of the first 32-byte hash at which two packed hash lists differ (they do differ). */
function firstDifferentHash(a: Buffer, b: Buffer): number {
  for (let i = 0; ; i++) {
    if (a.compare(b, i * HASH_BYTES, (i + 1) * HASH_BYTES, i * HASH_BYTES, (i + 1) * HASH_BYTES) !== 0) return i;
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
