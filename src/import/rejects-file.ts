import { closeSync, fdatasyncSync, ftruncateSync, openSync, readSync, writeSync, constants as fs } from 'node:fs';
import type { ErrorDetail } from '../errors/index.js';
import { LineSplitter } from './line-splitter.js';

/** One rejected record: where it starts (and ends, if on another line) and why. Never its values. */
export interface RejectEntry {
  readonly line: number;
  readonly endLine?: number;
  readonly errors: readonly ErrorDetail[];
}

/** Only the line numbers, field names and reason codes leave the import; anything else is dropped. */
export function formatReject(entry: RejectEntry): string {
  const errors = entry.errors.map((e) => (typeof e.field === 'string' ? { field: e.field, reason: e.reason } : { reason: e.reason }));
  return `${JSON.stringify(entry.endLine !== undefined && entry.endLine !== entry.line ? { line: entry.line, endLine: entry.endLine, errors } : { line: entry.line, errors })}\n`;
}

/**
 * The rejects file, NDJSON in ascending line order. It is written before the batch's transaction
 * commits, so after a crash it can only be ahead of the checkpoint, never behind: on resume,
 * `open(path, linesDone)` cuts it back to the entries at or before the checkpoint (and any torn
 * last line), and the re-read lines append their rejects again, once.
 */
export class RejectsFile {
  private constructor(
    private fd: number | undefined,
    /** Where the next entry goes: the file's end. */
    private position: number,
    readonly path: string,
    /** Entries kept from an earlier run. */
    readonly kept: number,
  ) {}

  /** A fresh file (`keepThroughLine` undefined: truncated to empty) or a resumed one. */
  static open(path: string, keepThroughLine?: number): RejectsFile {
    const fd = openSync(path, fs.O_RDWR | fs.O_CREAT, 0o600);
    try {
      const { offset, kept } = keepThroughLine === undefined ? { offset: 0, kept: 0 } : validPrefix(fd, keepThroughLine);
      ftruncateSync(fd, offset);
      return new RejectsFile(fd, offset, path, kept);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Appends and flushes to disk, so that the entries are durable before the checkpoint commits. */
  append(entries: readonly RejectEntry[]): void {
    if (entries.length === 0) return;
    const fd = this.requireOpen();
    const data = Buffer.from(entries.map(formatReject).join(''), 'utf8');
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written, this.position + written);
    this.position += data.length;
    fdatasyncSync(fd);
  }

  /** The file's length in bytes: where the next entry goes. */
  get size(): number {
    return this.position;
  }

  /** Drops everything from byte `size` on (an entry boundary returned by `size`). */
  truncate(size: number): void {
    if (size > this.position || size < 0) throw new RangeError('truncate beyond the end of the rejects file');
    if (size === this.position) return;
    ftruncateSync(this.requireOpen(), size);
    this.position = size;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private requireOpen(): number {
    if (this.fd === undefined) throw new Error('rejects file is closed');
    return this.fd;
  }
}

/**
 * The byte length of the leading entries with `line <= keepThroughLine`. Stops at the first entry
 * past the checkpoint, or at a line that is not a complete entry (a write cut short by a crash).
 */
function validPrefix(fd: number, keepThroughLine: number): { offset: number; kept: number } {
  const splitter = new LineSplitter(64 * 1024);
  const chunk = Buffer.alloc(64 * 1024);
  let offset = 0;
  let kept = 0;
  let position = 0;
  for (;;) {
    const n = readSync(fd, chunk, 0, chunk.length, position);
    position += n;
    const lines = n === 0 ? splitter.end() : splitter.push(chunk.subarray(0, n));
    for (const l of lines) {
      if (l.oversize || l.terminator !== '\n' || entryLine(l.bytes) === undefined || (entryLine(l.bytes) as number) > keepThroughLine) {
        return { offset, kept };
      }
      offset += l.bytes.length + 1;
      kept++;
    }
    if (n === 0) return { offset, kept };
  }
}

function entryLine(bytes: Buffer): number | undefined {
  try {
    const o = JSON.parse(bytes.toString('utf8')) as { line?: unknown };
    return typeof o === 'object' && o !== null && Number.isSafeInteger(o.line) ? (o.line as number) : undefined;
  } catch {
    return undefined;
  }
}
