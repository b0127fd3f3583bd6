import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { checkBundle, type BundleCheck } from './tile-hasher.js';

/**
 * Where the verifier hashes entry bundles: inline, or on worker threads. Hashing is nearly all of a
 * verification's work, and bundles are independent (each full bundle's 256 leaves and their subtree
 * root depend on nothing else), so on a machine with several cores they are hashed in parallel while
 * the main thread reads tiles and walks the levels above 0.
 */
export interface BundleHasher {
  /** Most bundles the hasher takes in one `check` call (the caller batches up to this many). */
  readonly batchBundles: number;
  /** A batch stops growing once it holds this many bytes (it always holds at least one bundle). */
  readonly batchBytes: number;
  /** Batches worth keeping in flight at once (enough to keep every thread busy). */
  readonly depth: number;
  /** checkBundle on each bundle and its tile (tile-hasher.ts); the bytes are copied, the caller's are left unchanged. */
  check(bundles: readonly BundleToCheck[]): Promise<BundleCheck[]>;
  close(): Promise<void>;
}

/** One entry bundle and its served level-0 tile, as checkBundle takes them. */
export interface BundleToCheck {
  readonly bundle: Uint8Array;
  /** `hashed` × 32 bytes. */
  readonly tile: Uint8Array;
  /** Entries the bundle must hold. */
  readonly entries: number;
  /** Entries to hash and compare with the tile (≤ width). */
  readonly hashed: number;
}

export function inlineBundleHasher(): BundleHasher {
  return {
    batchBundles: 1,
    batchBytes: 0,
    depth: 1,
    // Our own copy of each bundle: checking overwrites each entry's length prefix with the leaf prefix.
    check: async (bundles) => bundles.map((b) => checkBundle(Uint8Array.prototype.slice.call(b.bundle), b.tile, b.entries, b.hashed)),
    close: async () => {},
  };
}

/**
 * The worker count `kuraban log verify` uses by default: one per core (at most 8), none on one core.
 * Bundles travel in batches (WORKER_BATCH_BUNDLES per message, one transferred buffer), so a worker's
 * overhead is two messages per 4,096 entries. Measured on 2 cores (2026-12-03): two workers verify
 * ~1.3–1.5× as fast as the calling thread alone on an idle machine, for ~15–30 % more CPU per entry
 * (two hashing cores slow each other down, two processes as much as two threads); at a load average of
 * 4 they were as fast as one thread. So: workers whenever there is a second core, without the earlier
 * load-average rule (made for one message per bundle, which cost 20–75 % more CPU).
 */
export function defaultHashThreads(): number {
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(cores, 8);
}

/** Bundles per message to a worker: 16 bundles are 4,096 entries, ~5 ms of hashing, against one message each way. */
export const WORKER_BATCH_BUNDLES = 16;
/** A batch stops growing past this many bytes (a bundle may be up to ~16 MiB; a batch holds at least one). */
const WORKER_BATCH_BYTES = 8 * 1024 * 1024;

/**
 * What crosses to a hashing worker: one buffer (transferred, not copied) holding each bundle followed by
 * its tile, and per bundle [bundle offset, bundle length, tile length, entries, hashed].
 */
export interface BundleBatchJob {
  readonly id: number;
  readonly bytes: ArrayBuffer;
  readonly layout: readonly number[];
}
export type BundleBatchReply = { readonly id: number; readonly results: BundleCheck[] } | { readonly id: number; readonly error: string };

/** Numbers per bundle in BundleBatchJob.layout. */
export const LAYOUT_FIELDS = 5;

/** Small heaps: a worker holds one batch (at most ~24 MiB, outside the heap) at a time. */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 256 };

export function workerBundleHasher(threads: number): BundleHasher {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError('a worker hasher needs at least one thread');
  const workers: Array<{ worker: Worker; busy: number } | undefined> = new Array(threads).fill(undefined);
  const pending = new Map<number, { resolve: (r: BundleCheck[]) => void; reject: (e: unknown) => void; slot: number }>();
  let nextId = 0;
  let closed = false;

  const spawn = (slot: number) => {
    const worker = new Worker(new URL('./bundle-hash-worker.js', import.meta.url), { resourceLimits: WORKER_LIMITS });
    const entry = { worker, busy: 0 };
    worker.on('message', (msg: BundleBatchReply) => {
      const p = pending.get(msg.id);
      if (p === undefined) return;
      pending.delete(msg.id);
      entry.busy--;
      if ('error' in msg) p.reject(new Error(`bundle hashing worker failed: ${msg.error}`));
      else p.resolve(msg.results);
    });
    const fail = (e: unknown) => {
      workers[slot] = undefined;
      for (const [id, p] of pending) {
        if (p.slot === slot) {
          pending.delete(id);
          p.reject(e);
        }
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`bundle hashing worker exited (${code})`)));
    workers[slot] = entry;
    return entry;
  };

  return {
    batchBundles: WORKER_BATCH_BUNDLES,
    batchBytes: WORKER_BATCH_BYTES,
    depth: 2 * threads,
    check(bundles) {
      if (closed) return Promise.reject(new Error('bundle hasher closed'));
      let total = 0;
      for (const b of bundles) total += b.bundle.byteLength + b.tile.byteLength;
      // The bundles' only copy: into the buffer that is transferred (and overwritten by the worker).
      const bytes = new ArrayBuffer(total);
      const view = new Uint8Array(bytes);
      const layout: number[] = [];
      let at = 0;
      for (const b of bundles) {
        view.set(b.bundle, at);
        view.set(b.tile, at + b.bundle.byteLength);
        layout.push(at, b.bundle.byteLength, b.tile.byteLength, b.entries, b.hashed);
        at += b.bundle.byteLength + b.tile.byteLength;
      }
      let slot = 0;
      for (let i = 1; i < threads; i++) if ((workers[i]?.busy ?? 0) < (workers[slot]?.busy ?? 0)) slot = i;
      const entry = workers[slot] ?? spawn(slot);
      const id = nextId++;
      entry.busy++;
      return new Promise<BundleCheck[]>((resolve, reject) => {
        pending.set(id, { resolve, reject, slot });
        const job: BundleBatchJob = { id, bytes, layout };
        entry.worker.postMessage(job, [bytes]);
      });
    },
    async close() {
      closed = true;
      await Promise.all(workers.map((w) => w?.worker.terminate()));
    },
  };
}

/** Runs a batch job (in the worker): checkBundle on each bundle of the buffer, in place. */
export function checkBatch(job: BundleBatchJob): BundleCheck[] {
  const results: BundleCheck[] = [];
  for (let k = 0; k < job.layout.length; k += LAYOUT_FIELDS) {
    const [at, bundleLength, tileLength, entries, hashed] = job.layout.slice(k, k + LAYOUT_FIELDS) as [number, number, number, number, number];
    results.push(checkBundle(new Uint8Array(job.bytes, at, bundleLength), new Uint8Array(job.bytes, at + bundleLength, tileLength), entries, hashed));
  }
  return results;
}
