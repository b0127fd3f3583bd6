/**
 * Decodes one physical line as UTF-8, strictly. A line that is not valid UTF-8 is still decoded
 * (with U+FFFD for the bad bytes) so that a CSV record's structure — its quotes and commas, all
 * ASCII — can be followed to its end, but the record is then rejected as `invalid_utf8`.
 */

// ignoreBOM: a U+FEFF in the middle of a file is data; only the file's first line strips one (below).
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** UTF-8 encoding of U+FEFF, the byte order mark (Unicode §23.8). */
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export interface DecodedLine {
  readonly text: string;
  readonly valid: boolean;
}

export function decodeLine(bytes: Buffer, firstLine: boolean): DecodedLine {
  const body = firstLine && bytes.subarray(0, 3).equals(UTF8_BOM) ? bytes.subarray(3) : bytes;
  try {
    return { text: strict.decode(body), valid: true };
  } catch {
    return { text: lenient.decode(body), valid: false };
  }
}
