import { Worker } from 'node:worker_threads';
import type { DataKey } from '../keys/index.js';
import type { IndexRow, RecordRow, WrappedKeyRow } from '../store/index.js';
import { sealBatch, type SealJob, type SealOutput } from './seal-batch.js';

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
    worker.on('message', (msg: { id: number; packed?: PackedSealOutput; error?: string }) => {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      // An idle worker must not keep the process alive; a busy one must (a pending promise does not).
      if (--entry.busy === 0) worker.unref();
      if (msg.packed) p.resolve(unpack(msg.packed, p.job));
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

/**
 * The output as the worker sends it: the bytes in four buffers that are transferred, not copied
 * (sealBatch already writes each kind of bytes into one buffer; other outputs are concatenated),
 * and the rows' other columns as arrays, with what every row of a batch shares sent once. Structured
 * cloning thousands of small row objects cost more, on both threads, than rebuilding them.
 *
 * What the main thread already holds is not sent back: a record row's id and subject are those of
 * its input (`positions`), and a new key's subject is that of a record sealed under it. So no
 * string crosses per row, only numbers and bytes.
 */
export interface PackedSealOutput {
  /** Shared by every record row (null when there is none). */
  readonly recordCommon: Pick<RecordRow, 'collectionId' | 'tenantId' | 'version' | 'createdAt' | 'updatedAt'> | null;
  readonly keyVersions: Float64Array;
  readonly ciphertexts: Uint8Array;
  readonly ciphertextLengths: Uint32Array;
  readonly indexDigests: Uint8Array;
  readonly indexDigestLengths: Uint32Array;
  /** Index rows: field name (from `indexFields`), record (position in records), unique flag. */
  readonly indexFields: string[];
  readonly indexFieldOf: Uint16Array;
  readonly indexRecordOf: Uint32Array;
  readonly indexUnique: Uint8Array;
  readonly digests: Uint8Array;
  readonly digestLength: number;
  readonly newKeyCommon: Pick<WrappedKeyRow, 'tenantId' | 'kind' | 'createdAt' | 'wrappedBy'> | null;
  /** Per new key: a record row (position in records) of its subject. */
  readonly newKeyRecordOf: Uint32Array;
  readonly newKeyVersions: Float64Array;
  readonly wrapped: Uint8Array;
  readonly wrappedLengths: Uint32Array;
  readonly rejected: SealOutput['rejected'];
  readonly positions: number[];
  readonly values?: SealOutput['values'];
  readonly tokenValues?: SealOutput['tokenValues'];
}

/** What unpack takes from the job the output was sealed from (the main thread's own copy). */
export type SealedFrom = Pick<SealJob, 'ids' | 'inputs'>;

/**
 * The parts as one Uint8Array over an ArrayBuffer of its own and of exactly its size: the parts'
 * own buffer when they already lie side by side in it, filling it (sealBatch's output), else a
 * concatenation (never Node's shared Buffer pool, which must not be transferred).
 */
function contiguousOwned(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const first = parts[0];
  if (first !== undefined && first.byteOffset === 0 && first.buffer.byteLength === total) {
    let at = 0;
    let whole = true;
    for (const p of parts) {
      if (p.buffer !== first.buffer || p.byteOffset !== at) {
        whole = false;
        break;
      }
      at += p.length;
    }
    if (whole) return new Uint8Array(first.buffer, 0, total);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function same<T>(rows: readonly T[], pick: (r: T) => unknown, what: string): void {
  const first = rows[0];
  if (first === undefined) return;
  const v = pick(first);
  for (const r of rows) if (pick(r) !== v) throw new Error(`pack: rows differ in ${what}`);
}

/** The subject and id a record row of input `position` must have (what unpack will rebuild it with). */
function subjectOf(from: SealedFrom, position: number): string | null {
  return from.inputs[position]?.subjectId ?? null;
}

export function pack(out: SealOutput, from: SealedFrom): { packed: PackedSealOutput; transfer: ArrayBuffer[] } {
  const { records, index, newKeys } = out;
  for (const k of ['collectionId', 'tenantId', 'version', 'createdAt', 'updatedAt'] as const) same(records, (r) => r[k], k);
  for (const k of ['tenantId', 'kind', 'createdAt', 'wrappedBy'] as const) same(newKeys, (r) => r[k], k);
  if (out.positions.length !== records.length) throw new Error('pack: a record row without its position');
  records.forEach((r, i) => {
    const at = out.positions[i] as number;
    if (r.id !== from.ids[at] || r.subjectId !== subjectOf(from, at)) throw new Error('pack: a record row that is not its input\'s');
  });
  // Index rows come record by record, in record order (sealBatch's second pass).
  const fieldNumbers = new Map<string, number>();
  const indexFieldOf = new Uint16Array(index.length);
  const indexRecordOf = new Uint32Array(index.length);
  const indexUnique = new Uint8Array(index.length);
  let at = 0;
  index.forEach((r, i) => {
    let f = fieldNumbers.get(r.field);
    if (f === undefined) fieldNumbers.set(r.field, (f = fieldNumbers.size));
    while (at < records.length && records[at]?.id !== r.recordId) at++;
    if (at === records.length || r.collectionId !== records[at]?.collectionId) throw new Error('pack: index row without its record, or out of record order');
    indexFieldOf[i] = f;
    indexRecordOf[i] = at;
    indexUnique[i] = r.unique ? 1 : 0;
  });
  const digestLength = index[0]?.digest.length ?? 0;
  if (index.some((r) => r.digest.length !== digestLength)) throw new Error('pack: digests of different lengths');
  // New keys come in the order their subjects first appear among the record rows (sealBatch's first pass).
  const newKeyRecordOf = new Uint32Array(newKeys.length);
  at = 0;
  newKeys.forEach((k, i) => {
    while (at < records.length && records[at]?.subjectId !== k.scopeId) at++;
    if (at === records.length) throw new Error('pack: a new key without a record of its subject, or out of record order');
    newKeyRecordOf[i] = at;
  });
  const ciphertexts = contiguousOwned(records.map((r) => r.ciphertext));
  const indexDigests = contiguousOwned(records.map((r) => r.indexDigests ?? new Uint8Array(0)));
  const digests = contiguousOwned(index.map((r) => r.digest));
  const wrapped = contiguousOwned(newKeys.map((r) => r.wrapped));
  const first = records[0];
  const firstKey = newKeys[0];
  const packed: PackedSealOutput = {
    recordCommon: first ? { collectionId: first.collectionId, tenantId: first.tenantId, version: first.version, createdAt: first.createdAt, updatedAt: first.updatedAt } : null,
    keyVersions: Float64Array.from(records, (r) => r.keyVersion),
    ciphertexts,
    ciphertextLengths: Uint32Array.from(records, (r) => r.ciphertext.length),
    indexDigests,
    indexDigestLengths: Uint32Array.from(records, (r) => r.indexDigests?.length ?? 0),
    indexFields: [...fieldNumbers.keys()],
    indexFieldOf,
    indexRecordOf,
    indexUnique,
    digests,
    digestLength,
    newKeyCommon: firstKey ? { tenantId: firstKey.tenantId, kind: firstKey.kind, createdAt: firstKey.createdAt, wrappedBy: firstKey.wrappedBy } : null,
    newKeyRecordOf,
    newKeyVersions: Float64Array.from(newKeys, (k) => k.version),
    wrapped,
    wrappedLengths: Uint32Array.from(newKeys, (r) => r.wrapped.length),
    rejected: out.rejected,
    positions: out.positions,
    ...(out.values ? { values: out.values } : {}),
    ...(out.tokenValues ? { tokenValues: out.tokenValues } : {}),
  };
  const transfer = [ciphertexts, indexDigests, digests, wrapped].map((b) => b.buffer as ArrayBuffer);
  return { packed, transfer };
}

export function unpack(p: PackedSealOutput, from: SealedFrom): SealOutput {
  const view = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  const ct = view(p.ciphertexts);
  const id = view(p.indexDigests);
  const c = p.recordCommon;
  const records: RecordRow[] = new Array(p.positions.length);
  let at = 0;
  let idAt = 0;
  for (let i = 0; i < records.length; i++) {
    if (c === null) throw new Error('unpack: records without their common columns');
    const len = p.ciphertextLengths[i] as number;
    const idLen = p.indexDigestLengths[i] as number;
    const position = p.positions[i] as number;
    records[i] = {
      collectionId: c.collectionId,
      id: from.ids[position] as string,
      tenantId: c.tenantId,
      subjectId: subjectOf(from, position),
      version: c.version,
      keyVersion: p.keyVersions[i] as number,
      ciphertext: ct.subarray(at, at + len),
      indexDigests: id.subarray(idAt, idAt + idLen),
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    };
    at += len;
    idAt += idLen;
  }
  const dg = view(p.digests);
  const index: IndexRow[] = new Array(p.indexFieldOf.length);
  for (let i = 0; i < index.length; i++) {
    const record = records[p.indexRecordOf[i] as number] as RecordRow;
    index[i] = {
      collectionId: record.collectionId,
      field: p.indexFields[p.indexFieldOf[i] as number] as string,
      digest: dg.subarray(i * p.digestLength, (i + 1) * p.digestLength),
      recordId: record.id,
      unique: p.indexUnique[i] === 1,
    };
  }
  const wr = view(p.wrapped);
  const k = p.newKeyCommon;
  const newKeys: WrappedKeyRow[] = new Array(p.newKeyRecordOf.length);
  at = 0;
  for (let i = 0; i < newKeys.length; i++) {
    if (k === null) throw new Error('unpack: keys without their common columns');
    const len = p.wrappedLengths[i] as number;
    const scopeId = records[p.newKeyRecordOf[i] as number]?.subjectId;
    if (typeof scopeId !== 'string') throw new Error('unpack: a new key without a record of its subject');
    newKeys[i] = { tenantId: k.tenantId, kind: k.kind, scopeId, version: p.newKeyVersions[i] as number, wrapped: wr.subarray(at, at + len), createdAt: k.createdAt, wrappedBy: k.wrappedBy };
    at += len;
  }
  return {
    records, index, newKeys, rejected: p.rejected, positions: p.positions,
    ...(p.values ? { values: p.values } : {}),
    ...(p.tokenValues ? { tokenValues: p.tokenValues } : {}),
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
