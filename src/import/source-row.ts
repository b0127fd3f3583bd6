import type { ErrorDetail } from '../errors/index.js';
import type { RecordInput } from '../vault/index.js';
import type { PhysicalLine } from './line-splitter.js';

/**
 * One record read from an import file: either an input for the vault, or the reasons it was
 * rejected before reaching the vault. `line` is the physical line where the record starts;
 * `endLine` where it ends (a CSV record with quoted newlines spans several lines).
 */
export type SourceRow =
  | { readonly line: number; readonly endLine: number; readonly input: RecordInput; readonly problems?: undefined }
  | { readonly line: number; readonly endLine: number; readonly input?: undefined; readonly problems: readonly ErrorDetail[] };

/** What a format reader does with physical lines: CSV and NDJSON implement it. */
export interface SourceReader {
  /**
   * Lines at or before the resume checkpoint may be skipped without being read, once this is true
   * (a CSV reader first needs its header).
   */
  readonly readyToSkip: boolean;
  /** Feeds the next line; returns a record when one is complete. May throw IMPORT_INVALID. */
  push(line: PhysicalLine): SourceRow | undefined;
  /** End of input; returns a last, incomplete record if there is one. May throw IMPORT_INVALID. */
  end(lastLine: number): SourceRow | undefined;
}
