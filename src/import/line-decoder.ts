/**
 * Decodes one physical line, strictly. A line that does not decode is still decoded (with U+FFFD
 * for the bad bytes) so that a CSV record's structure — its quotes and commas, all ASCII — can be
 * followed to its end, but the record is then rejected (`invalid_utf8` / `invalid_shift_jis`).
 *
 * Shift_JIS means what municipal systems and Excel write: Windows code page 932, with the NEC and
 * IBM extensions (①, 髙 as FBFC, …). The WHATWG Encoding Standard's `Shift_JIS` decoder is exactly
 * that (Encoding Standard §13.3; Node's ICU implements it). Line splitting on LF stays safe in
 * Shift_JIS: trail bytes are 0x40–0x7E and 0x80–0xFC, never LF, CR, comma or quote.
 */

import { TextDecoder } from 'node:util';

export const TEXT_ENCODINGS = ['utf-8', 'shift_jis'] as const;
export type TextEncoding = (typeof TEXT_ENCODINGS)[number];

// ignoreBOM: a U+FEFF in the middle of a file is data; only the file's first line strips one (below).
const DECODERS: Readonly<Record<TextEncoding, { strict: TextDecoder; lenient: TextDecoder; invalid: string }>> = {
  'utf-8': {
    strict: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }),
    lenient: new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }),
    invalid: 'invalid_utf8',
  },
  shift_jis: {
    strict: new TextDecoder('shift_jis', { fatal: true }),
    lenient: new TextDecoder('shift_jis', { fatal: false }),
    invalid: 'invalid_shift_jis',
  },
};

/** UTF-8 encoding of U+FEFF, the byte order mark (Unicode §23.8). */
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export interface DecodedLine {
  readonly text: string;
  readonly valid: boolean;
}

/** The reject reason for a line that is not valid in `encoding`. */
export function invalidEncodingReason(encoding: TextEncoding): string {
  return DECODERS[encoding].invalid;
}

export function decodeLine(bytes: Buffer, firstLine: boolean, encoding: TextEncoding = 'utf-8'): DecodedLine {
  const d = DECODERS[encoding];
  const body = encoding === 'utf-8' && firstLine && bytes.subarray(0, 3).equals(UTF8_BOM) ? bytes.subarray(3) : bytes;
  try {
    return { text: d.strict.decode(body), valid: true };
  } catch {
    return { text: d.lenient.decode(body), valid: false };
  }
}
