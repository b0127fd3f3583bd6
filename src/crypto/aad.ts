/**
 * Additional authenticated data: a domain label followed by length-prefixed components
 * (uint16 big-endian length, then UTF-8 bytes; integers as "#<decimal>"). Length prefixes make the
 * encoding injective, so ("ab","c") and ("a","bc") never produce the same AAD.
 */
export function encodeAad(label: string, parts: readonly (string | number)[]): Buffer {
  let total = 2 + Buffer.byteLength(label, 'utf8');
  for (const p of parts) total += 2 + (typeof p === 'number' ? integerText(p).length : Buffer.byteLength(p, 'utf8'));
  const out = Buffer.allocUnsafe(total);
  let at = writeSegment(out, 0, label);
  for (const p of parts) at = writeSegment(out, at, typeof p === 'number' ? integerText(p) : p);
  return out;
}

/**
 * The same encoding as encodeAad(label, [...fixed, ...rest]), for many AADs that share their leading
 * components (a batch: one tenant and collection, many records). The fixed part is encoded once; each
 * call writes only `rest`, into a buffer reused from call to call, and returns a view of it that is
 * valid until the next call. Safe for Cipher#setAAD, which consumes the bytes at once.
 */
export function aadEncoder(label: string, fixed: readonly (string | number)[]): (...rest: (string | number)[]) => Buffer {
  const prefix = encodeAad(label, fixed);
  let scratch = Buffer.allocUnsafeSlow(prefix.length + 512);
  prefix.copy(scratch, 0);
  return (...rest) => {
    let max = prefix.length;
    for (const p of rest) max += 2 + (typeof p === 'number' ? 24 : p.length * 3);
    if (max > scratch.length) {
      scratch = Buffer.allocUnsafeSlow(max * 2);
      prefix.copy(scratch, 0);
    }
    let at = prefix.length;
    for (const p of rest) at = writeSegment(scratch, at, typeof p === 'number' ? integerText(p) : p);
    return scratch.subarray(0, at);
  };
}

function writeSegment(out: Buffer, at: number, s: string): number {
  const n = out.write(s, at + 2, 'utf8');
  if (n > 0xffff) throw new RangeError('AAD component too long');
  out.writeUInt16BE(n, at);
  return at + 2 + n;
}

function integerText(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError('AAD integer out of range');
  return `#${n}`;
}
