import { KurabanError, type ErrorDetail } from '../errors/index.js';
import { valueFromText, type CollectionSchema, type FieldDef } from '../schema/index.js';
import type { RecordInput } from '../vault/index.js';
import type { PhysicalLine } from './line-splitter.js';
import type { SourceReader, SourceRow } from './source-row.js';
import { decodeLine, invalidEncodingReason, type TextEncoding } from './line-decoder.js';

const QUOTE = 0x22; // RFC 4180 §2 rule 5: DQUOTE
const COMMA = ','; // RFC 4180 §2 rule 4: fields are separated by commas

/** The header column that holds a record's subject id (RecordInput.subjectId). */
export const SUBJECT_ID_COLUMN = 'subject_id';
/**
 * Columns `kuraban export` writes besides the fields. On import they are skipped (records get new
 * ids and start at version 1), unless the collection has fields of those names.
 */
export const EXPORT_METADATA_COLUMNS: readonly string[] = ['id', 'version'];

/**
 * A record may span several physical lines (quoted newlines). Past this size it is taken to be a
 * runaway quote rather than data (a vault record holds at most 256 KiB), and the import fails
 * instead of reading the rest of the file into memory.
 */
export const MAX_CSV_RECORD_BYTES = 4 * 1024 * 1024;

type Column = { readonly kind: 'field'; readonly field: FieldDef } | { readonly kind: 'subject' } | { readonly kind: 'ignored' };

interface RecordState {
  readonly startLine: number;
  readonly fields: string[];
  field: string;
  /** Inside a quoted field (RFC 4180 §2 rule 6: it may hold CRLF, commas and "" for a quote). */
  inQuotes: boolean;
  /** The current field began with a quote (and so is, or was, quoted). */
  quoted: boolean;
  /** The current field's closing quote has been seen; only a comma or the end may follow. */
  closed: boolean;
  malformed: boolean;
  invalidText: boolean;
  bytes: number;
}

export interface CsvOptions {
  /** The file's text encoding (default UTF-8). */
  readonly encoding?: TextEncoding;
  /**
   * Header text → field name, for files whose headers are neither field names nor field labels
   * (e.g. a vendor's extract). Mapped first; then a header matches a field's name, then its label.
   */
  readonly columns?: ReadonlyMap<string, string>;
}

/**
 * RFC 4180 CSV with a header row of field names or labels (氏名 for a template's `name`). The record boundary follows the quote state
 * exactly: a quote opens a quoted field only at the start of a field; a stray quote elsewhere makes
 * its record `malformed_quotes` without swallowing the lines after it. Cells go through
 * `valueFromText`, so CSV and JSON imports validate the same way; an empty cell is absent.
 */
export class CsvReader implements SourceReader {
  private columns: readonly Column[] | undefined;
  private rec: RecordState | undefined;
  private ignored: string[] = [];

  private readonly encoding: TextEncoding;

  constructor(
    private readonly schema: CollectionSchema,
    private readonly options: CsvOptions = {},
  ) {
    this.encoding = options.encoding ?? 'utf-8';
  }

  get readyToSkip(): boolean {
    return this.columns !== undefined && this.rec === undefined;
  }

  /** Header columns skipped as export metadata (fixed names, never values). */
  get ignoredColumns(): readonly string[] {
    return this.ignored;
  }

  push(line: PhysicalLine): SourceRow | undefined {
    if (line.oversize) {
      throw new KurabanError('IMPORT_INVALID', `line ${line.number} is too long for a CSV record`, {
        details: [{ line: line.number, reason: 'line_too_long' }],
      });
    }
    if (this.rec === undefined && line.bytes.length === 0) return undefined; // a blank line holds no record
    const { text, valid } = decodeLine(line.bytes, line.number === 1, this.encoding);
    const rec = (this.rec ??= {
      startLine: line.number,
      fields: [],
      field: '',
      inQuotes: false,
      quoted: false,
      closed: false,
      malformed: false,
      invalidText: false,
      bytes: 0,
    });
    if (!valid) rec.invalidText = true;
    rec.bytes += line.bytes.length + line.terminator.length;
    if (rec.bytes > MAX_CSV_RECORD_BYTES) {
      throw new KurabanError('IMPORT_INVALID', `the record starting at line ${rec.startLine} exceeds ${MAX_CSV_RECORD_BYTES} bytes (an unbalanced quote?)`, {
        details: [{ line: rec.startLine, reason: 'record_too_long' }],
      });
    }
    scanLine(rec, text);
    if (rec.inQuotes) {
      // The quoted field continues on the next line; the line break is part of its value.
      rec.field += line.terminator;
      return undefined;
    }
    rec.fields.push(rec.field);
    this.rec = undefined;
    return this.finish(rec, line.number);
  }

  end(lastLine: number): SourceRow | undefined {
    const rec = this.rec;
    this.rec = undefined;
    if (this.columns === undefined) {
      throw new KurabanError('IMPORT_INVALID', rec ? 'the header row has an unterminated quote' : 'the file has no header row', {
        details: [{ line: 1, reason: rec ? 'unterminated_quote' : 'no_header' }],
      });
    }
    if (rec === undefined) return undefined;
    return { line: rec.startLine, endLine: lastLine, problems: [{ reason: 'unterminated_quote' }] };
  }

  private finish(rec: RecordState, endLine: number): SourceRow | undefined {
    if (this.columns === undefined) {
      this.columns = this.readHeader(rec);
      return undefined;
    }
    const reject = (reason: string): SourceRow => ({ line: rec.startLine, endLine, problems: [{ reason }] });
    if (rec.invalidText) return reject(invalidEncodingReason(this.encoding));
    if (rec.malformed) return reject('malformed_quotes');
    if (rec.fields.length !== this.columns.length) return reject('column_count');
    const fields: Record<string, unknown> = {};
    let subjectId: string | undefined;
    this.columns.forEach((col, i) => {
      const cell = rec.fields[i] as string;
      if (col.kind === 'field') {
        const v = valueFromText(col.field, cell);
        if (v !== undefined) fields[col.field.name] = v;
      } else if (col.kind === 'subject' && cell !== '') {
        subjectId = cell;
      }
    });
    const input: RecordInput = subjectId === undefined ? { fields } : { subjectId, fields };
    return { line: rec.startLine, endLine, input };
  }

  /**
   * Maps header names to fields. Any problem fails the whole import before anything is written.
   * Details name a column by position, not by its text: in a file without a header row, the
   * "names" would be the first person's values.
   */
  private readHeader(rec: RecordState): Column[] {
    const fail = (message: string, details: ErrorDetail[]): never => {
      throw new KurabanError('IMPORT_INVALID', message, { details });
    };
    if (rec.invalidText) {
      fail(`the header row is not valid ${this.encoding === 'utf-8' ? 'UTF-8' : 'Shift_JIS'}`, [{ line: rec.startLine, reason: invalidEncodingReason(this.encoding) }]);
    }
    if (rec.malformed) fail('the header row has malformed quotes', [{ line: rec.startLine, reason: 'malformed_quotes' }]);
    const byName = new Map(this.schema.fields.map((f) => [f.name, f]));
    const byLabel = new Map(this.schema.fields.flatMap((f) => (f.label !== undefined ? [[f.label, f] as const] : [])));
    const mapped = this.options.columns ?? new Map<string, string>();
    for (const target of mapped.values()) {
      if (!byName.has(target)) fail('a column mapping names a field this collection does not have', [{ ...(/^[a-z][a-z0-9_]{0,62}$/.test(target) ? { field: target } : {}), reason: 'unknown_mapped_field' }]);
    }
    const seen = new Set<string>();
    const problems: ErrorDetail[] = [];
    const columns: Column[] = rec.fields.map((name, i) => {
      const position = i + 1;
      const target = mapped.get(name);
      const field = target !== undefined ? byName.get(target) : (byName.get(name) ?? byLabel.get(name.trim()));
      const key = field?.name ?? name;
      if (seen.has(key)) problems.push({ line: rec.startLine, index: position, reason: 'duplicate_column' });
      seen.add(key);
      if (field) return { kind: 'field', field };
      if (name === SUBJECT_ID_COLUMN) return { kind: 'subject' };
      if (EXPORT_METADATA_COLUMNS.includes(name)) {
        this.ignored.push(name);
        return { kind: 'ignored' };
      }
      problems.push({ line: rec.startLine, index: position, reason: 'unknown_column' });
      return { kind: 'ignored' };
    });
    for (const f of this.schema.fields) {
      if (f.required && !seen.has(f.name)) problems.push({ field: f.name, reason: 'missing_required_column' });
    }
    if (problems.length > 0) {
      const unknown = problems.filter((p) => p.reason === 'unknown_column').map((p) => p.index);
      const message =
        unknown.length > 0
          ? `header column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not a field of this collection (columns may be field names or labels: ${[...byName.keys(), SUBJECT_ID_COLUMN].join(', ')}; or map them with --map)`
          : 'the header row does not match the collection';
      fail(message, problems);
    }
    return columns;
  }
}

/** Advances the record state over one line of text (without its terminator). */
function scanLine(rec: RecordState, text: string): void {
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (rec.inQuotes) {
      const q = text.indexOf('"', i);
      if (q === -1) {
        rec.field += text.slice(i);
        return;
      }
      rec.field += text.slice(i, q);
      if (text.charCodeAt(q + 1) === QUOTE) {
        rec.field += '"'; // RFC 4180 §2 rule 7: "" inside a quoted field is one quote
        i = q + 2;
      } else {
        rec.inQuotes = false;
        rec.closed = true;
        i = q + 1;
      }
      continue;
    }
    if (!rec.quoted && !rec.closed && rec.field === '' && text.charCodeAt(i) === QUOTE) {
      rec.inQuotes = true;
      rec.quoted = true;
      i++;
      continue;
    }
    const comma = text.indexOf(COMMA, i);
    const end = comma === -1 ? n : comma;
    if (end > i) {
      const piece = text.slice(i, end);
      // Text after a closing quote, or a quote inside an unquoted field (RFC 4180 §2 rule 5).
      if (rec.closed || piece.includes('"')) rec.malformed = true;
      rec.field += piece;
    }
    if (comma === -1) return;
    rec.fields.push(rec.field);
    rec.field = '';
    rec.quoted = false;
    rec.closed = false;
    i = comma + 1;
  }
}
