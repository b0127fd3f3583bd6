import { Worker } from 'node:worker_threads';
import type { DataKey } from '../keys/index.js';
import { sealBatch, unpack, type SealedColumns, type SealJob, type SealOutput } from './seal-batch.js';

/**
 * Where batches are sealed (validated, indexed, encrypted): inline, or on worker threads so that
 * sealing batch k+1 overlaps the main thread writing batch k, and a 10,000-record HTTP batch does
 * not stall the event loop.
 */
export interface Sealer {
  seal(job: SealJob): Promise<SealOutput>;
  /** Whether a batch of `inputs` records is sealed off the calling thread (so the caller can do other work meanwhile). */
  sealsApart(inputs: number): boolean;
  close(): Promise<void>;
}

export function inlineSealer(): Sealer {
  return { seal: async (job) => sealBatch(job), sealsApart: () => false, close: async () => {} };
}

/** Below this many records a batch is sealed inline: messaging would cost more than it saves. */
export const WORKER_MIN_BATCH = 256;

/**
 * How much young generation (V8's nursery, in MB) a sealing worker gets. Sealing a 2,000-record batch
 * allocates ~20 MB that dies with the batch (the cloned inputs, validated values, canonical JSON, row
 * objects and views, cipher outputs); a nursery that holds it lets that garbage die there instead of
 * being promoted and marked. That pays only where sealing is the slower side. Measured on 2 cores
 * (interleaved runs, 2026-12-03, docs/benchmarks.md):
 *
 * - in process (prepareMany/commitPrepared pipelines, 1,000,000 records): 64 MB 19,812 and 19,937
 *   records/s, 16 MB 17,556 and 18,520 (48 MB: no gain), for ~50 MB more peak RSS;
 * - the HTTP batch API (600,000 records): 64 MB 17,231 and 16,063, 16 MB 17,414 and 16,388, for
 *   50–80 MB more: there the main thread (JSON parsing, writing) is the slower side.
 *
 * So `large` (64 MB) is the default, for in-process batch writers; `kuraban serve` and `kuraban import`
 * (whose peak RSS must stay under 300 MB at 1,000,000 rows) take `small` (16 MB).
 */
export type SealWorkerMemory = 'small' | 'large';
export const SEAL_WORKER_YOUNG_MB: Readonly<Record<SealWorkerMemory, number>> = { small: 16, large: 64 };
const WORKER_OLD_MB = 256;

export function workerSealer(threads: number, memory: SealWorkerMemory = 'large'): Sealer {
  const limits = { maxYoungGenerationSizeMb: SEAL_WORKER_YOUNG_MB[memory], maxOldGenerationSizeMb: WORKER_OLD_MB };
  const inline = inlineSealer();
  const workers: Array<{ worker: Worker; busy: number } | undefined> = new Array(threads).fill(undefined);
  const pending = new Map<number, { resolve: (o: SealOutput) => void; reject: (e: unknown) => void; slot: number; job: SealJob }>();
  let nextId = 0;

  const spawn = (slot: number) => {
    const worker = new Worker(new URL('./seal-worker.js', import.meta.url), { resourceLimits: limits });
    const entry = { worker, busy: 0 };
    worker.on('message', (msg: { id: number; sealed?: SealedColumns; error?: string }) => {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      // An idle worker must not keep the process alive; a busy one must (a pending promise does not).
      if (--entry.busy === 0) worker.unref();
      if (msg.sealed) p.resolve(unpack(msg.sealed, p.job)); // rows rebuilt here, from the columns and our own copy of the job
      else p.reject(new Error(`sealing worker failed: ${msg.error ?? 'unknown'}`));
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
    worker.on('exit', (code) => fail(new Error(`sealing worker exited (${code})`)));
    worker.unref(); // after the listeners: attaching a 'message' listener refs the port again
    workers[slot] = entry;
    return entry;
  };

  return {
    sealsApart: (inputs) => inputs >= WORKER_MIN_BATCH,
    async seal(job) {
      if (job.inputs.length < WORKER_MIN_BATCH) return inline.seal(job);
      let slot = 0;
      for (let i = 1; i < threads; i++) if ((workers[i]?.busy ?? 0) < (workers[slot]?.busy ?? 0)) slot = i;
      const entry = workers[slot] ?? spawn(slot);
      const id = nextId++;
      if (entry.busy++ === 0) entry.worker.ref();
      return new Promise<SealOutput>((resolve, reject) => {
        pending.set(id, { resolve, reject, slot, job });
        entry.worker.postMessage({ id, job });
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w?.worker.terminate()));
    },
  };
}

/** Structured clone turns Buffers into Uint8Arrays; the worker turns them back into Buffers. */
export function reviveJob(job: SealJob): SealJob {
  const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  const dk = (k: DataKey): DataKey => ({ version: k.version, key: buf(k.key) });
  return {
    ...job,
    indexKeys: job.indexKeys.map(([f, k]) => [f, buf(k)] as const),
    collectionKey: job.collectionKey && dk(job.collectionKey),
    tenantKey: dk(job.tenantKey),
    subjectKeys: job.subjectKeys.map(([s, k]) => [s, dk(k)] as const),
  };
}

/** Overwrites the key material a job carried (worker side, after sealing). */
export function zeroJobKeys(job: SealJob): void {
  for (const [, k] of job.indexKeys) k.fill(0);
  job.collectionKey?.key.fill(0);
  job.tenantKey.key.fill(0);
  for (const [, k] of job.subjectKeys) k.key.fill(0);
}
