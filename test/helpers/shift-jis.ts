/**
 * A Shift_JIS (CP932) encoder for tests, built by inverting the platform's WHATWG decoder over every
 * single-byte and double-byte code (Encoding Standard §13.3), so test files are real CP932 bytes.
 */
import { TextDecoder } from 'node:util';

let table: Map<string, Buffer> | undefined;

function build(): Map<string, Buffer> {
  const dec = new TextDecoder('shift_jis', { fatal: true });
  const m = new Map<string, Buffer>();
  for (let b = 0; b < 0x80; b++) m.set(String.fromCharCode(b), Buffer.from([b]));
  for (let b = 0xa1; b <= 0xdf; b++) m.set(dec.decode(Buffer.from([b])), Buffer.from([b]));
  for (const lead of [...range(0x81, 0x9f), ...range(0xe0, 0xfc)]) {
    for (const trail of [...range(0x40, 0x7e), ...range(0x80, 0xfc)]) {
      const bytes = Buffer.from([lead, trail]);
      let ch: string;
      try {
        ch = dec.decode(bytes);
      } catch {
        continue;
      }
      if (!m.has(ch)) m.set(ch, bytes); // the first (NEC row 13 before IBM) is what Windows writes
    }
  }
  return m;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

export function encodeShiftJis(text: string): Buffer {
  table ??= build();
  const out: Buffer[] = [];
  for (const ch of text) {
    const b = table.get(ch);
    if (!b) throw new Error(`U+${ch.codePointAt(0)?.toString(16)} has no Shift_JIS encoding`);
    out.push(b);
  }
  return Buffer.concat(out);
}
