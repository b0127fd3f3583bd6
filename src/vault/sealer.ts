import { Worker } from 'node:worker_threads';
import type { DataKey } from '../keys/index.js';
import type { IndexRow, RecordRow, WrappedKeyRow } from '../store/index.js';
import { sealBatch, type NewSubjectKey, type SealJob, type SealOutput } from './seal-batch.js';

/**
 * Where batches are sealed (validated, indexed, encrypted): inline, or on worker threads so that
 * sealing batch k+1 overlaps the main thread writing batch k, and a 10,000-record HTTP batch does
 * not stall the event loop.
 */
export interface Sealer {
  seal(job: SealJob): Promise<SealOutput>;
  close(): Promise<void>;
}

export function inlineSealer(): Sealer {
  return { seal: async (job) => sealBatch(job), close: async () => {} };
}

/** Below this many records a batch is sealed inline: messaging would cost more than it saves. */
export const WORKER_MIN_BATCH = 256;

/**
 * A sealing worker holds at most two batches; a small young generation keeps its resident memory
 * (and the import's peak RSS) low at almost no cost in collection time.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 256 };

export function workerSealer(threads: number): Sealer {
  const inline = inlineSealer();
  const workers: Array<{ worker: Worker; busy: number } | undefined> = new Array(threads).fill(undefined);
  const pending = new Map<number, { resolve: (o: SealOutput) => void; reject: (e: unknown) => void; slot: number }>();
  let nextId = 0;

  const spawn = (slot: number) => {
    const worker = new Worker(new URL('./seal-worker.js', import.meta.url), { resourceLimits: WORKER_LIMITS });
    const entry = { worker, busy: 0 };
    worker.on('message', (msg: { id: number; packed?: PackedSealOutput; error?: string }) => {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      // An idle worker must not keep the process alive; a busy one must (a pending promise does not).
      if (--entry.busy === 0) worker.unref();
      if (msg.packed) p.resolve(unpack(msg.packed));
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
    async seal(job) {
      if (job.inputs.length < WORKER_MIN_BATCH) return inline.seal(job);
      let slot = 0;
      for (let i = 1; i < threads; i++) if ((workers[i]?.busy ?? 0) < (workers[slot]?.busy ?? 0)) slot = i;
      const entry = workers[slot] ?? spawn(slot);
      const id = nextId++;
      if (entry.busy++ === 0) entry.worker.ref();
      return new Promise<SealOutput>((resolve, reject) => {
        pending.set(id, { resolve, reject, slot });
        entry.worker.postMessage({ id, job });
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w?.worker.terminate()));
    },
  };
}

/**
 * The output with its many small buffers packed into a few large ones, transferred rather than
 * copied; the receiving side gets views into them.
 */
export interface PackedSealOutput {
  readonly records: Array<Omit<RecordRow, 'ciphertext' | 'indexDigests'>>;
  readonly ciphertexts: Uint8Array;
  readonly ciphertextLengths: Uint32Array;
  readonly indexDigests: Uint8Array;
  readonly indexDigestLengths: Uint32Array;
  readonly index: Array<Omit<IndexRow, 'digest'>>;
  readonly digests: Uint8Array;
  readonly digestLength: number;
  readonly newKeys: Array<Omit<WrappedKeyRow, 'wrapped'>>;
  readonly wrapped: Uint8Array;
  readonly wrappedLengths: Uint32Array;
  readonly newKeyMaterial: Array<Omit<NewSubjectKey, 'key'>>;
  readonly keyMaterial: Uint8Array;
  readonly rejected: SealOutput['rejected'];
  readonly positions: number[];
  readonly values?: SealOutput['values'];
}

/** Concatenates into a fresh ArrayBuffer of its own (never Node's shared Buffer pool, which must not be transferred). */
function concatOwned(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function pack(out: SealOutput): { packed: PackedSealOutput; transfer: ArrayBuffer[] } {
  const ciphertexts = concatOwned(out.records.map((r) => r.ciphertext));
  const indexDigests = concatOwned(out.records.map((r) => r.indexDigests ?? new Uint8Array(0)));
  const digestLength = out.index[0]?.digest.length ?? 0;
  const digests = concatOwned(out.index.map((r) => r.digest));
  const wrapped = concatOwned(out.newKeys.map((r) => r.wrapped));
  const keyMaterial = concatOwned(out.newKeyMaterial.map((k) => k.key));
  for (const k of out.newKeyMaterial) k.key.fill(0);
  const packed: PackedSealOutput = {
    records: out.records.map(({ ciphertext: _c, indexDigests: _d, ...rest }) => rest),
    ciphertexts,
    ciphertextLengths: Uint32Array.from(out.records, (r) => r.ciphertext.length),
    indexDigests,
    indexDigestLengths: Uint32Array.from(out.records, (r) => r.indexDigests?.length ?? 0),
    index: out.index.map(({ digest: _d, ...rest }) => rest),
    digests,
    digestLength,
    newKeys: out.newKeys.map(({ wrapped: _w, ...rest }) => rest),
    wrapped,
    wrappedLengths: Uint32Array.from(out.newKeys, (r) => r.wrapped.length),
    newKeyMaterial: out.newKeyMaterial.map(({ key: _k, ...rest }) => rest),
    keyMaterial,
    rejected: out.rejected,
    positions: out.positions,
    ...(out.values ? { values: out.values } : {}),
  };
  const transfer = [ciphertexts, indexDigests, digests, wrapped, keyMaterial].map((b) => b.buffer as ArrayBuffer);
  return { packed, transfer };
}

export function unpack(p: PackedSealOutput): SealOutput {
  const view = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  const ct = view(p.ciphertexts);
  const id = view(p.indexDigests);
  let at = 0;
  let idAt = 0;
  const records: RecordRow[] = p.records.map((r, i) => {
    const len = p.ciphertextLengths[i] as number;
    const idLen = p.indexDigestLengths[i] as number;
    const row: RecordRow = {
      collectionId: r.collectionId,
      id: r.id,
      tenantId: r.tenantId,
      subjectId: r.subjectId,
      version: r.version,
      keyVersion: r.keyVersion,
      ciphertext: ct.subarray(at, at + len),
      indexDigests: id.subarray(idAt, idAt + idLen),
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    };
    at += len;
    idAt += idLen;
    return row;
  });
  const dg = view(p.digests);
  const index: IndexRow[] = p.index.map((r, i) => ({
    collectionId: r.collectionId,
    field: r.field,
    digest: dg.subarray(i * p.digestLength, (i + 1) * p.digestLength),
    recordId: r.recordId,
    unique: r.unique,
  }));
  const wr = view(p.wrapped);
  at = 0;
  const newKeys: WrappedKeyRow[] = p.newKeys.map((r, i) => {
    const len = p.wrappedLengths[i] as number;
    const row = { ...r, wrapped: wr.subarray(at, at + len) };
    at += len;
    return row;
  });
  const km = view(p.keyMaterial);
  const newKeyMaterial = p.newKeyMaterial.map((k, i) => ({ ...k, key: km.subarray(i * 32, (i + 1) * 32) }));
  return { records, index, newKeys, newKeyMaterial, rejected: p.rejected, positions: p.positions, ...(p.values ? { values: p.values } : {}) };
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
