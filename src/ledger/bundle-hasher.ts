import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { hashBundleLeaves, reduceInPlace, type BundleLeaves } from './tile-hasher.js';
import { TILE_WIDTH } from './tile-path.js';

/** A bundle's leaf hashes, and for a full bundle the root of its 256 leaves (the level-1 hash). */
export type HashedBundle = BundleLeaves & { readonly root?: Buffer };

/**
 * Where the verifier hashes entry bundles: inline, or on worker threads. Hashing is nearly all of a
 * verification's work, and bundles are independent (each full bundle's 256 leaves and their subtree
 * root depend on nothing else), so on a machine with several cores they are hashed in parallel while
 * the main thread reads tiles and compares.
 */
export interface BundleHasher {
  /** Hashes bundle bytes the hasher now owns (they are overwritten or transferred). */
  hash(bundle: Buffer, width: number, hashed: number): Promise<HashedBundle>;
  close(): Promise<void>;
}

/** hashBundleLeaves, plus the root of a full bundle's leaves (computed on a copy, so the leaves stay). */
export function hashBundle(bundle: Buffer, width: number, hashed: number): HashedBundle {
  const result = hashBundleLeaves(bundle, width, hashed);
  if (!result.ok || hashed !== TILE_WIDTH) return result;
  return { ...result, root: reduceInPlace(Buffer.from(result.leaves), TILE_WIDTH) };
}

export function inlineBundleHasher(): BundleHasher {
  return { hash: async (bundle, width, hashed) => hashBundle(bundle, width, hashed), close: async () => {} };
}

/**
 * The worker count `kuraban log verify` uses by default: one per core (at most 8) when other cores are
 * idle, otherwise none. Workers cost CPU of their own (messages, wake-ups, a copy per bundle): measured
 * on a 2-core machine running other work (load average 5–9), they verified more slowly than the main
 * thread alone, so they are used only while the 1-minute load average leaves at least one core free.
 */
export function defaultHashThreads(): number {
  const cores = availableParallelism();
  if (cores < 2) return 0;
  const load = loadavg()[0] ?? 0;
  return load <= cores - 1 ? Math.min(cores, 8) : 0;
}

/** What crosses to and from a hashing worker: buffers are transferred, not copied. */
export interface BundleJob {
  readonly id: number;
  readonly bytes: ArrayBuffer;
  readonly width: number;
  readonly hashed: number;
}
export type BundleReply =
  | { readonly id: number; readonly ok: true; readonly leaves: ArrayBuffer; readonly root: ArrayBuffer | undefined }
  | { readonly id: number; readonly ok: false; readonly complete: number; readonly trailing: boolean }
  | { readonly id: number; readonly error: string };

/** Small heaps: a worker holds a few bundles (at most 16 MiB each) at a time. */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 256 };

export function workerBundleHasher(threads: number): BundleHasher {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError('a worker hasher needs at least one thread');
  const workers: Array<{ worker: Worker; busy: number } | undefined> = new Array(threads).fill(undefined);
  const pending = new Map<number, { resolve: (h: HashedBundle) => void; reject: (e: unknown) => void; slot: number }>();
  let nextId = 0;
  let closed = false;

  const spawn = (slot: number) => {
    const worker = new Worker(new URL('./bundle-hash-worker.js', import.meta.url), { resourceLimits: WORKER_LIMITS });
    const entry = { worker, busy: 0 };
    worker.on('message', (msg: BundleReply) => {
      const p = pending.get(msg.id);
      if (p === undefined) return;
      pending.delete(msg.id);
      entry.busy--;
      if ('error' in msg) p.reject(new Error(`bundle hashing worker failed: ${msg.error}`));
      else if (msg.ok) p.resolve({ ok: true, leaves: Buffer.from(msg.leaves), ...(msg.root === undefined ? {} : { root: Buffer.from(msg.root) }) });
      else p.resolve({ ok: false, complete: msg.complete, trailing: msg.trailing });
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
    hash(bundle, width, hashed) {
      if (closed) return Promise.reject(new Error('bundle hasher closed'));
      let slot = 0;
      for (let i = 1; i < threads; i++) if ((workers[i]?.busy ?? 0) < (workers[slot]?.busy ?? 0)) slot = i;
      const entry = workers[slot] ?? spawn(slot);
      const id = nextId++;
      entry.busy++;
      const bytes = transferable(bundle);
      return new Promise<HashedBundle>((resolve, reject) => {
        pending.set(id, { resolve, reject, slot });
        const job: BundleJob = { id, bytes, width, hashed };
        entry.worker.postMessage(job, [bytes]);
      });
    },
    async close() {
      closed = true;
      await Promise.all(workers.map((w) => w?.worker.terminate()));
    },
  };
}

/** Leaves and root as whole ArrayBuffers, ready to transfer (a copy only when they share a pool). */
export function transferable(b: Buffer): ArrayBuffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return b.buffer as ArrayBuffer;
  const copy = new ArrayBuffer(b.byteLength);
  new Uint8Array(copy).set(b);
  return copy;
}
