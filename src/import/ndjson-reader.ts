import type { RecordInput } from '../vault/index.js';
import type { PhysicalLine } from './line-splitter.js';
import type { SourceReader, SourceRow } from './source-row.js';
import { decodeLine } from './line-decoder.js';

/** Keys of a line besides `subjectId` and `fields` that `kuraban export` writes; skipped on import. */
const EXPORT_METADATA_KEYS: ReadonlySet<string> = new Set(['id', 'version']);
const RECORD_KEYS: ReadonlySet<string> = new Set(['subjectId', 'fields']);

/**
 * NDJSON: one `{"subjectId"?: string, "fields": {...}}` per line. Blank lines are skipped; each
 * other line is one record, rejected on its own (`malformed_json`, `invalid_utf8`, …) when bad.
 * The vault validates `subjectId` and `fields` themselves.
 */
export class NdjsonReader implements SourceReader {
  readonly readyToSkip = true;

  push(line: PhysicalLine): SourceRow | undefined {
    const reject = (reason: string): SourceRow => ({ line: line.number, endLine: line.number, problems: [{ reason }] });
    if (line.oversize) return reject('line_too_long');
    const { text, valid } = decodeLine(line.bytes, line.number === 1);
    if (!valid) return reject('invalid_utf8');
    if (text.trim() === '') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return reject('malformed_json');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return reject('record_not_object');
    const o = parsed as Record<string, unknown>;
    // The key names are the file's text; a reason alone is reported, not the name.
    if (Object.keys(o).some((k) => !RECORD_KEYS.has(k) && !EXPORT_METADATA_KEYS.has(k))) return reject('unknown_key');
    const input: RecordInput = Object.hasOwn(o, 'subjectId') ? { subjectId: o.subjectId as RecordInput['subjectId'], fields: o.fields } : { fields: o.fields };
    return { line: line.number, endLine: line.number, input };
  }

  end(): SourceRow | undefined {
    return undefined;
  }
}
