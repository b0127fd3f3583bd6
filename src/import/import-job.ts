import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { KurabanError } from '../errors/index.js';
import type { Store, StoreTx } from '../store/index.js';
import type { Collection, CreateManyOptions, CreateManyResult, PreparedBatch, RecordInput, Rejected, Audit } from '../vault/index.js';
import { MAX_BATCH } from '../vault/index.js';
import { CsvReader, MAX_CSV_RECORD_BYTES } from './csv-reader.js';
import type { TextEncoding } from './line-decoder.js';
import { hashFile, importJobId } from './job-id.js';
import { LineSplitter, type PhysicalLine } from './line-splitter.js';
import { NdjsonReader } from './ndjson-reader.js';
import type { Progress } from './progress.js';
import { RejectsFile, type RejectEntry } from './rejects-file.js';
import type { SourceReader, SourceRow } from './source-row.js';

export const IMPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/**
 * Records per transaction. 1,000 imports as fast as 2,000 and keeps a 1M-row import's peak RSS under
 * 300 MB (294 vs 318 MB, idle machine, 2026-12-03, docs/benchmarks.md): with batch k+1 sealed while k
 * commits, three batches are in memory at once.
 */
export const DEFAULT_BATCH_SIZE = 1000;
/** A physical line longer than this is not read into memory (NDJSON: rejected; CSV: the import fails). */
export const MAX_LINE_BYTES = MAX_CSV_RECORD_BYTES;
const READ_CHUNK_BYTES = 256 * 1024;

/** What an import needs of the vault (a Vault satisfies it). */
export interface ImportDeps {
  readonly collections: { get(tenantId: string, name: string): Promise<Collection> };
  readonly records: {
    createMany(tenantId: string, collectionName: string, inputs: readonly RecordInput[], options: CreateManyOptions): Promise<CreateManyResult>;
    /** createMany in two halves; when offered, batch k+1 is sealed while batch k commits. */
    prepareMany?(tenantId: string, collectionName: string, inputs: readonly RecordInput[], options: CreateManyOptions): Promise<PreparedBatch>;
    commitPrepared?(prepared: PreparedBatch): Promise<CreateManyResult>;
  };
  readonly store: Pick<Store, 'getImportJob' | 'transaction'>;
  readonly clock: () => Date;
}

export interface ImportOptions {
  readonly tenantId: string;
  readonly collection: string;
  readonly file: string;
  readonly format: ImportFormat;
  /** CSV only: the file's encoding (default UTF-8; NDJSON is always UTF-8, RFC 8259 §8.1). */
  readonly encoding?: TextEncoding | undefined;
  /** CSV only: header text → field name. */
  readonly columns?: ReadonlyMap<string, string> | undefined;
  readonly rejectsPath: string;
  readonly batchSize: number;
  readonly progress?: Progress | undefined;
  /** Monotonic milliseconds, for the summary's duration and rate. */
  readonly now: () => number;
  /** Who imports: each batch is logged (`record.import`) in its own transaction. */
  readonly audit?: Audit | undefined;
}

export interface ImportSummary {
  /** Records imported and rejected by this run. */
  readonly imported: number;
  readonly rejected: number;
  /** The file had already been imported into this collection: nothing was written. */
  readonly alreadyDone: boolean;
  /** The first physical line this run read after resuming an interrupted import, else null. */
  readonly resumedFromLine: number | null;
  /** Totals over all runs of this import job. */
  readonly totalImported: number;
  readonly totalRejected: number;
  /** Physical lines in the file. */
  readonly lines: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly rejectsFile: string;
  /** CSV columns skipped as `kuraban export` metadata (fixed names). */
  readonly ignoredColumns?: readonly string[];
}

interface Checkpoint {
  readonly exists: boolean;
  readonly linesDone: number;
  readonly imported: number;
  readonly rejected: number;
}

/**
 * Streams a CSV or NDJSON file into a collection in batches. Each batch's records and the job's
 * checkpoint (lines done, counts) commit in one transaction, so a crash loses neither one without
 * the other; a re-run skips the lines done and carries on. See NOTES.md for the invariants.
 */
export async function runImport(deps: ImportDeps, o: ImportOptions): Promise<ImportSummary> {
  const started = o.now();
  if (!Number.isSafeInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > MAX_BATCH) {
    throw new KurabanError('IMPORT_INVALID', `batch size must be an integer from 1 to ${MAX_BATCH}`, { details: [{ reason: 'invalid_batch_size' }] });
  }
  const size = fileSize(o.file);
  if (resolve(o.rejectsPath) === resolve(o.file) || sameFile(o.rejectsPath, o.file)) {
    throw new KurabanError('IMPORT_INVALID', 'the rejects file must not be the input file', { details: [{ reason: 'rejects_is_input' }] });
  }
  const encoding = o.encoding ?? 'utf-8';
  if (o.format !== 'csv' && (encoding !== 'utf-8' || o.columns !== undefined)) {
    throw new KurabanError('IMPORT_INVALID', 'an encoding or a column mapping applies to CSV only; NDJSON is UTF-8 with field names', { details: [{ reason: 'csv_option_for_ndjson' }] });
  }
  const collection = await deps.collections.get(o.tenantId, o.collection);
  const sha256 = await hashFile(o.file);
  // How the bytes are read is part of the job: the same file read another way is another import.
  const format = [o.format, ...(encoding !== 'utf-8' ? [encoding] : []), ...(o.columns ? [JSON.stringify([...o.columns].sort())] : [])].join(';');
  const jobId = importJobId({ tenantId: o.tenantId, collectionId: collection.id, format, size, sha256 });
  const job = await deps.store.getImportJob(jobId);
  const elapsed = () => Math.max((o.now() - started) / 1000, 1e-6);

  if (job?.status === 'done') {
    return {
      imported: 0,
      rejected: 0,
      alreadyDone: true,
      resumedFromLine: null,
      totalImported: job.rowsImported,
      totalRejected: job.rowsRejected,
      lines: job.linesDone,
      seconds: round(elapsed()),
      rowsPerSecond: 0,
      rejectsFile: o.rejectsPath,
    };
  }

  const skipThrough = job?.linesDone ?? 0;
  let committed: Checkpoint = { exists: job !== undefined, linesDone: skipThrough, imported: job?.rowsImported ?? 0, rejected: job?.rowsRejected ?? 0 };
  const reader: SourceReader = o.format === 'csv' ? new CsvReader(collection.schema, { encoding, ...(o.columns ? { columns: o.columns } : {}) }) : new NdjsonReader();
  const splitter = new LineSplitter(MAX_LINE_BYTES);
  const rehash = createHash('sha256');
  let bytesRead = 0;
  let rowsRead = 0;
  let pending: SourceRow[] = [];
  let rejects: RejectsFile | undefined;

  // Batches commit strictly one after another, in file order, each with its checkpoint. While
  // batch k commits, batch k+1 is sealed (when the vault offers prepareMany) and the file is read
  // on: at most one batch commits, one is being prepared and one is being read.
  let chain: Promise<void> = Promise.resolve();
  const records = deps.records;
  const pipelined = records.prepareMany !== undefined && records.commitPrepared !== undefined;

  /** Queues the pending records and the checkpoint `linesDone` as one transaction; waits for the one before. */
  const flush = async (linesDone: number, status: 'running' | 'done'): Promise<void> => {
    const batch = pending;
    pending = [];
    const inputs: RecordInput[] = [];
    const inputRows: SourceRow[] = [];
    const early: RejectEntry[] = [];
    for (const row of batch) {
      if (row.input !== undefined) {
        inputs.push(row.input);
        inputRows.push(row);
      } else {
        early.push({ line: row.line, endLine: row.endLine, errors: row.problems });
      }
    }
    let next: Checkpoint | undefined;
    let mark: number | undefined;
    const save = async (tx: StoreTx, created: number, rejected: readonly Rejected[]): Promise<void> => {
      const before = committed;
      // Two runs of one job at once would both import the same lines; the second to commit fails.
      const current = await tx.getImportJob(jobId, true);
      if ((current !== undefined) !== before.exists || (current !== undefined && (current.linesDone !== before.linesDone || current.status !== 'running'))) {
        throw new KurabanError('IMPORT_INVALID', 'another run of this import changed its progress; wait for it to finish, then re-run to resume', {
          details: [{ reason: 'concurrent_import' }],
        });
      }
      const entries = [
        ...early,
        ...rejected.map((r): RejectEntry => {
          const row = inputRows[r.index] as SourceRow;
          return { line: row.line, endLine: row.endLine, errors: r.problems };
        }),
      ].sort((a, b) => a.line - b.line);
      // Opened at the first write, so that a header problem fails the import before anything is touched.
      rejects ??= RejectsFile.open(o.rejectsPath, job ? skipThrough : undefined);
      // If the vault retries this transaction, this batch's entries are written once, not twice.
      mark ??= rejects.size;
      rejects.truncate(mark);
      // Before the commit: after a crash the rejects file may run ahead of the checkpoint (cut back on resume), never behind.
      rejects.append(entries);
      next = { exists: true, linesDone, imported: before.imported + created, rejected: before.rejected + entries.length };
      await tx.saveImportJob({
        id: jobId,
        tenantId: o.tenantId,
        collectionId: collection.id,
        linesDone,
        rowsImported: next.imported,
        rowsRejected: next.rejected,
        status,
        updatedAt: deps.clock().toISOString(),
      });
    };
    const options: CreateManyOptions = {
      mode: 'skip-invalid',
      inTransaction: (tx, result) => save(tx, result.created, result.rejected),
      ...(o.audit ? { audit: o.audit, auditAction: 'record.import' as const } : {}),
    };
    let write: () => Promise<unknown>;
    if (inputs.length === 0) {
      write = () => deps.store.transaction((tx) => save(tx, 0, []));
    } else if (pipelined && records.prepareMany && records.commitPrepared) {
      const commitPrepared = records.commitPrepared.bind(records);
      const prepared = records.prepareMany(o.tenantId, o.collection, inputs, options);
      prepared.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
      write = async () => commitPrepared(await prepared);
    } else {
      write = () => records.createMany(o.tenantId, o.collection, inputs, options);
    }
    const previous = chain;
    chain = previous.then(async () => {
      await write();
      committed = next as Checkpoint;
    });
    chain.catch(() => undefined); // surfaced by the next flush's `await previous`, or at the end
    await previous;
  };

  /** Feeds one line to the reader; true when the batch is full. */
  const take = (line: PhysicalLine): boolean => {
    if (line.number <= skipThrough && reader.readyToSkip) return false;
    const row = reader.push(line);
    if (row === undefined) return false;
    pending.push(row);
    rowsRead++;
    return pending.length >= o.batchSize;
  };

  try {
    // for-await pulls one chunk at a time: the file is read no faster than batches are written.
    for await (const chunk of createReadStream(o.file, { highWaterMark: READ_CHUNK_BYTES })) {
      const bytes = chunk as Buffer;
      rehash.update(bytes);
      bytesRead += bytes.length;
      for (const line of splitter.push(bytes)) {
        if (take(line)) await flush((pending[pending.length - 1] as SourceRow).endLine, 'running');
      }
      o.progress?.update({ bytesRead, bytesTotal: size, rows: rowsRead });
    }
    for (const line of splitter.end()) take(line);
    const last = reader.end(splitter.lines);
    if (last !== undefined) {
      pending.push(last);
      rowsRead++;
    }
    if (bytesRead !== size || !rehash.digest().equals(sha256)) {
      throw new KurabanError('IMPORT_INVALID', 'the file changed while it was being imported; the rows already written stay, and a re-run treats the new content as a new import', {
        details: [{ reason: 'file_changed' }],
      });
    }
    // The last batch, however small (even empty), marks the job done in the same transaction.
    await flush(splitter.lines, 'done');
    await chain;
  } catch (e) {
    await chain.catch(() => undefined); // never leave a transaction running behind a failure
    o.progress?.abort();
    throw e;
  } finally {
    rejects?.close();
  }

  const imported = committed.imported - (job?.rowsImported ?? 0);
  const rejected = committed.rejected - (job?.rowsRejected ?? 0);
  o.progress?.finish({ bytesRead, bytesTotal: size, rows: rowsRead, imported, rejected });
  const seconds = elapsed();
  const ignored = reader instanceof CsvReader ? reader.ignoredColumns : [];
  return {
    imported,
    rejected,
    alreadyDone: false,
    resumedFromLine: job ? skipThrough + 1 : null,
    totalImported: committed.imported,
    totalRejected: committed.rejected,
    lines: splitter.lines,
    seconds: round(seconds),
    rowsPerSecond: Math.round((imported + rejected) / seconds),
    rejectsFile: o.rejectsPath,
    ...(ignored.length > 0 ? { ignoredColumns: [...ignored] } : {}),
  };
}

function fileSize(path: string): number {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new KurabanError('IMPORT_INVALID', `cannot read ${path}`, { details: [{ reason: 'unreadable' }] });
  }
  if (!st.isFile()) throw new KurabanError('IMPORT_INVALID', `${path} is not a regular file (an import must be resumable, so it reads a file)`, { details: [{ reason: 'not_a_file' }] });
  return st.size;
}

/** Whether an existing `a` is the same file as `b` (a hard or symbolic link to it). */
function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
