import type { ErrorDetail } from '../errors/index.js';
import { isWellFormed } from './unicode.js';
import { checkIdentifier } from './japanese/identifiers.js';
import { formatJpDate, parseJpDate } from './japanese/jp-date.js';
import { checkKana } from './japanese/kana.js';
import { LIMITS, NAME_PATTERN, type CollectionSchema, type FieldDef } from './field.js';

/** A record's field values after validation: JSON-safe, decimals as canonical strings, absent optionals omitted. */
export type FieldValue = string | number | boolean | RecordValues;
export interface RecordValues {
  readonly [field: string]: FieldValue;
}

/**
 * Checks a record against its collection schema. Returns the canonical values, or the list of
 * problems — each naming a field path and a reason, never the value.
 */
export function validateRecord(schema: CollectionSchema, input: unknown): { values: RecordValues; problems: ErrorDetail[] } {
  const problems: ErrorDetail[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { values: {}, problems: [{ reason: 'record_not_object' }] };
  }
  const values = checkObject(schema.fields, input as Record<string, unknown>, '', problems);
  return { values, problems };
}

function checkObject(fields: readonly FieldDef[], input: Record<string, unknown>, prefix: string, problems: ErrorDetail[]): RecordValues {
  const out: Record<string, FieldValue> = {};
  const known = new Set(fields.map((f) => f.name));
  for (const k of Object.keys(input)) {
    // The name of an unknown key is caller-supplied text; report it only if it looks like a field name.
    if (!known.has(k)) problems.push(NAME_PATTERN.test(k) ? { field: prefix + k, reason: 'unknown_field' } : { reason: 'unknown_field' });
  }
  for (const f of fields) {
    const path = prefix + f.name;
    const v = Object.hasOwn(input, f.name) ? input[f.name] : undefined;
    if (v === undefined || v === null) {
      if (f.required) problems.push({ field: path, reason: 'required' });
      continue;
    }
    const checked = checkValue(f, v, path, problems);
    if (checked !== undefined) out[f.name] = checked;
  }
  return out;
}

function checkValue(f: FieldDef, v: unknown, path: string, problems: ErrorDetail[]): FieldValue | undefined {
  const bad = (reason: string): undefined => {
    problems.push({ field: path, reason });
    return undefined;
  };
  switch (f.type) {
    case 'string': {
      if (typeof v !== 'string') return bad('expected_string');
      if (!isWellFormed(v)) return bad('not_well_formed_unicode');
      if (v.includes('\u0000')) return bad('contains_nul');
      if (codePointLength(v) > (f.maxLength ?? LIMITS.stringDefaultMaxLength)) return bad('too_long');
      return v;
    }
    case 'integer': {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return bad('expected_integer');
      if ((f.minimum !== undefined && v < f.minimum) || (f.maximum !== undefined && v > f.maximum)) return bad('out_of_range');
      return v;
    }
    case 'decimal': {
      const s = typeof v === 'number' && Number.isFinite(v) ? String(v) : v;
      if (typeof s !== 'string') return bad('expected_decimal');
      const canonical = canonicalDecimal(s, f.precision ?? LIMITS.decimalDefaultPrecision, f.scale ?? LIMITS.decimalDefaultScale);
      if (canonical === 'syntax') return bad('expected_decimal');
      if (canonical === 'range') return bad('out_of_range');
      return canonical;
    }
    case 'boolean':
      return typeof v === 'boolean' ? v : bad('expected_boolean');
    case 'date':
      return typeof v === 'string' && isIsoDate(v) ? v : bad('expected_date');
    case 'enum':
      return typeof v === 'string' && (f.values ?? []).includes(v) ? v : bad('not_an_allowed_value');
    case 'object':
      if (typeof v !== 'object' || Array.isArray(v)) return bad('expected_object');
      return checkObject(f.fields ?? [], v as Record<string, unknown>, `${path}.`, problems);
    case 'jp-date': {
      if (typeof v !== 'string') return bad('expected_string');
      if (!isWellFormed(v) || v.length > 100) return bad('not_a_date');
      const d = parseJpDate(v);
      return 'problem' in d ? bad(d.problem) : formatJpDate(d);
    }
    case 'kana': {
      if (typeof v !== 'string') return bad('expected_string');
      if (!isWellFormed(v)) return bad('not_well_formed_unicode');
      const k = checkKana(v);
      if ('problem' in k) return bad(k.problem);
      if (codePointLength(k.value) > (f.maxLength ?? LIMITS.stringDefaultMaxLength)) return bad('too_long');
      return k.value;
    }
    default: {
      // Japanese identifiers (JP_IDENTIFIER_TYPES).
      if (typeof v !== 'string') return bad('expected_string');
      if (!isWellFormed(v) || v.length > 64) return bad('expected_digits');
      const id = checkIdentifier(f.type, v);
      return 'problem' in id ? bad(id.problem) : id.value;
    }
  }
}

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** Canonical decimal text: no leading zeros, no trailing fractional zeros, no "-0". */
export function canonicalDecimal(s: string, precision: number, scale: number): string | 'syntax' | 'range' {
  const m = DECIMAL.exec(s);
  if (!m || s.length > 100) return 'syntax';
  const int = (m[2] ?? '').replace(/^0+(?=\d)/, '');
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (frac.length > scale) return 'range';
  const significant = (int === '0' ? '' : int).length + frac.length;
  if (significant > precision || int.length > precision - scale + (int === '0' ? 1 : 0)) return 'range';
  const body = frac.length > 0 ? `${int}.${frac}` : int;
  return m[1] === '-' && body !== '0' ? `-${body}` : body;
}

/** ISO 8601 calendar date YYYY-MM-DD (proleptic Gregorian, years 0001–9999). */
export function isIsoDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1] as number;
  return d <= days;
}

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) i++;
    n++;
  }
  return n;
}
