/**
 * Standard base64 (RFC 4648 §4) with padding, as signed-note and tlog-checkpoint require, decoded
 * strictly: only the 64-letter alphabet, exact padding, and zero bits after the last full byte, so that
 * every byte string has exactly one accepted text form. Node's own decoder skips invalid characters and
 * ignores trailing bits, so its output is only trusted after this check.
 */
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The decoded bytes, or undefined when `text` is not the canonical padded base64 of any byte string. */
export function decodeCanonicalBase64(text: string): Buffer | undefined {
  if (!STD_BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
