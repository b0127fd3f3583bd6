/**
 * Physical lines of a byte stream, split at the byte level on LF (0x0A). LF never occurs inside a
 * multi-byte UTF-8 sequence, so each line can be decoded on its own and one damaged line cannot
 * spoil its neighbours. A CR just before the LF belongs to the terminator (CRLF), not to the line.
 */

const LF = 0x0a;
const CR = 0x0d;

export type LineTerminator = '' | '\n' | '\r\n' | '\r';

export interface PhysicalLine {
  /** 1-based physical line number. */
  readonly number: number;
  /** The line's bytes without its terminator; empty when `oversize`. */
  readonly bytes: Buffer;
  /** '' for a last line without one; '\r' only for a lone CR at the very end of the input. */
  readonly terminator: LineTerminator;
  /** The line was longer than the limit: its bytes were discarded, not kept in memory. */
  readonly oversize: boolean;
}

/**
 * Push chunks in, get complete lines out. Memory is bounded by the chunk size plus `maxLineBytes`:
 * a longer line is discarded as it streams past and reported as `oversize`.
 */
export class LineSplitter {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private dropping = false;
  private nextNumber = 1;

  constructor(private readonly maxLineBytes: number) {}

  /** Lines completed by this chunk. Their `bytes` may share memory with the chunk. */
  push(chunk: Buffer): PhysicalLine[] {
    const out: PhysicalLine[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl === -1) break;
      out.push(this.complete(chunk.subarray(start, nl), '\n'));
      start = nl + 1;
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
    return out;
  }

  /** The last line, if the input did not end with LF. */
  end(): PhysicalLine[] {
    if (this.carryBytes === 0 && !this.dropping) return [];
    return [this.complete(Buffer.alloc(0), '')];
  }

  /** How many lines have been emitted so far. */
  get lines(): number {
    return this.nextNumber - 1;
  }

  private hold(piece: Buffer): void {
    if (this.dropping) return;
    if (this.carryBytes + piece.length > this.maxLineBytes + 1) {
      // +1: a CR that turns out to be the first half of CRLF is not part of the line.
      this.drop();
      return;
    }
    // Copy: the caller may reuse the chunk's memory once push() returns.
    this.carry.push(Buffer.from(piece));
    this.carryBytes += piece.length;
  }

  private drop(): void {
    this.dropping = true;
    this.carry = [];
    this.carryBytes = 0;
  }

  private complete(tail: Buffer, terminator: '' | '\n'): PhysicalLine {
    const number = this.nextNumber++;
    if (!this.dropping && this.carryBytes + tail.length > this.maxLineBytes + 1) this.drop();
    if (this.dropping) {
      this.dropping = false;
      return { number, bytes: Buffer.alloc(0), terminator: terminator === '' ? '' : '\n', oversize: true };
    }
    let bytes = this.carry.length === 0 ? tail : Buffer.concat([...this.carry, tail], this.carryBytes + tail.length);
    this.carry = [];
    this.carryBytes = 0;
    let term: LineTerminator = terminator;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) {
      bytes = bytes.subarray(0, bytes.length - 1);
      term = terminator === '\n' ? '\r\n' : '\r';
    }
    if (bytes.length > this.maxLineBytes) return { number, bytes: Buffer.alloc(0), terminator: term, oversize: true };
    return { number, bytes, terminator: term, oversize: false };
  }
}
