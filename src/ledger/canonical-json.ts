/**
 * RFC 8785 JSON Canonicalization Scheme (JCS), for the JSON values log entries are made of: objects,
 * arrays, strings, finite numbers, booleans and null.
 *
 * - Numbers (§3.2.2.3) are serialised by ECMAScript's Number::toString, which RFC 8785 adopts by
 *   reference; V8 implements it, so every finite IEEE-754 double is supported (−0 becomes `0`).
 *   NaN and ±Infinity are refused (§3.2.2.3: not JSON).
 * - Strings (§3.2.2.2) use the ECMAScript QuoteJSONString escapes (the RFC's own rule): `\b \t \n \f \r
 *   \" \\`, other controls as `\u00xx` in lower-case hex, everything else as is. A lone surrogate is
 *   refused (§3.2.2.2: strings MUST be valid Unicode), as are non-plain objects, undefined, bigint,
 *   functions, symbols, sparse arrays and cycles.
 * - Object members (§3.2.3) are sorted by their names as arrays of UTF-16 code units — the default
 *   JavaScript string order.
 */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
}

/** Deepest nesting accepted: far above what an entry needs, far below the call stack's limit. */
export const MAX_CANONICAL_DEPTH = 64;

const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** The RFC 8785 canonical form of `value` as a string. */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, out, 0, new Set());
  return out.join('');
}

/** The RFC 8785 canonical form as UTF-8 bytes (§3.2.4: the canonical form is UTF-8 encoded). */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

function write(value: unknown, out: string[], depth: number, open: Set<object>): void {
  if (value === null) {
    out.push('null');
    return;
  }
  switch (typeof value) {
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError('non-finite number');
      // ECMAScript Number::toString (RFC 8785 §3.2.2.3); −0 serialises as 0.
      out.push(Object.is(value, -0) ? '0' : String(value));
      return;
    case 'string':
      out.push(quote(value));
      return;
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`${typeof value} is not a JSON value`);
  }
  if (depth >= MAX_CANONICAL_DEPTH) throw new CanonicalJsonError('nesting too deep');
  if (open.has(value)) throw new CanonicalJsonError('cyclic value');
  open.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new CanonicalJsonError('sparse array');
      if (i > 0) out.push(',');
      write(value[i], out, depth + 1, open);
    }
    out.push(']');
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError('only plain objects are JSON objects');
    const record = value as Record<string, unknown>;
    // Default sort: UTF-16 code unit order (RFC 8785 §3.2.3).
    const keys = Object.keys(record).sort();
    out.push('{');
    keys.forEach((k, i) => {
      if (i > 0) out.push(',');
      out.push(quote(k), ':');
      write(record[k], out, depth + 1, open);
    });
    out.push('}');
  }
  open.delete(value);
}

/** RFC 8785 §3.2.2.2 = ECMAScript QuoteJSONString, once the string is known to be valid Unicode. */
function quote(s: string): string {
  if (LONE_SURROGATE.test(s)) throw new CanonicalJsonError('string is not valid Unicode');
  return JSON.stringify(s);
}

/** True when `bytes` are valid UTF-8 JSON already in canonical form (parse, re-canonicalise, compare). */
export function isCanonicalJson(bytes: Uint8Array): boolean {
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    const s = text.decode(bytes);
    return canonicalJson(JSON.parse(s)) === s;
  } catch {
    return false;
  }
}
