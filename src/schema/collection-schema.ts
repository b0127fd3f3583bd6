import { KurabanError, type ErrorDetail } from '../errors/index.js';
import { isCleanText } from './unicode.js';
import { FOLDS, type Fold } from './japanese/folding.js';
import {
  CLASSIFICATIONS, FIELD_TYPES, FPE_IDENTIFIER_TYPES, LIMITS, MASKS, NAME_PATTERN, TOKEN_FORMATS, TOKEN_KINDS, TOKENISABLE_TYPES, TYPE_DEFAULTS,
  classificationAtLeast, type CollectionSchema, type FieldDef, type Mask, type TokenFormat, type TokenKind,
} from './field.js';

const FIELD_KEYS = new Set([
  'name', 'type', 'required', 'classification', 'searchable', 'unique', 'description', 'label', 'mask', 'fold',
  'maxLength', 'minimum', 'maximum', 'precision', 'scale', 'values', 'fields', 'token', 'tokenFormat',
]);

/** Names the record envelope, CSV import and export already use beside the fields. */
const RESERVED_NAMES = new Set(['id', 'subject_id', 'subjectid', 'version', 'created_at', 'updated_at', 'fields']);

/**
 * Parses a declared collection schema, strictly: unknown keys, bad names, impossible options are
 * SCHEMA_INVALID with one detail per problem. Defaults: optional, not searchable, not unique, and
 * the type's classification, mask and folds (TYPE_DEFAULTS: personal for most types, my-number for
 * 個人番号, which cannot be declared lower). The result is frozen.
 */
export function parseCollectionSchema(input: unknown): CollectionSchema {
  const problems: ErrorDetail[] = [];
  const o = input as { fields?: unknown } | null;
  if (!isPlainObject(o) || Object.keys(o).some((k) => k !== 'fields') || !Array.isArray(o.fields)) {
    throw new KurabanError('SCHEMA_INVALID', 'schema must be an object with a "fields" array', { details: [{ reason: 'shape' }] });
  }
  const fields = parseFields(o.fields, '', 1, problems);
  if (o.fields.length === 0) problems.push({ reason: 'no_fields' });
  if (o.fields.length > LIMITS.fieldsPerCollection) problems.push({ reason: 'too_many_fields' });
  if (problems.length > 0) throw new KurabanError('SCHEMA_INVALID', undefined, { details: problems });
  return deepFreeze({ fields });
}

function parseFields(list: unknown[], prefix: string, depth: number, problems: ErrorDetail[]): FieldDef[] {
  const seen = new Set<string>();
  const labels = new Set<string>();
  const out: FieldDef[] = [];
  list.forEach((raw, i) => {
    const at = (name?: unknown) => (typeof name === 'string' && NAME_PATTERN.test(name) ? `${prefix}${name}` : `${prefix}[${i}]`);
    if (!isPlainObject(raw)) {
      problems.push({ field: at(), reason: 'field_not_object' });
      return;
    }
    const f = raw as Record<string, unknown>;
    const path = at(f.name);
    const bad = (reason: string): void => {
      problems.push({ field: path, reason });
    };
    // The option name is caller text: named only when it looks like an option name.
    for (const k of Object.keys(f)) if (!FIELD_KEYS.has(k)) bad(/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(k) ? `unknown_option:${k}` : 'unknown_option');
    if (typeof f.name !== 'string' || !NAME_PATTERN.test(f.name)) return bad('invalid_name');
    if (depth === 1 && RESERVED_NAMES.has(f.name)) return bad('reserved_name');
    if (seen.has(f.name)) return bad('duplicate_name');
    seen.add(f.name);
    if (typeof f.type !== 'string' || !(FIELD_TYPES as readonly string[]).includes(f.type)) return bad('invalid_type');
    const type = f.type as FieldDef['type'];
    const bool = (k: string, dflt: boolean): boolean => {
      if (f[k] === undefined) return dflt;
      if (typeof f[k] !== 'boolean') bad(`invalid_${k}`);
      return f[k] === true;
    };
    const defaults = TYPE_DEFAULTS[type];
    const classification = f.classification === undefined ? defaults.classification : f.classification;
    if (typeof classification !== 'string' || !(CLASSIFICATIONS as readonly string[]).includes(classification)) bad('invalid_classification');
    else if (defaults.minimum && !classificationAtLeast(classification as FieldDef['classification'], defaults.minimum)) bad('classification_below_type_minimum');
    const mask = f.mask === undefined ? defaults.mask : f.mask;
    if (typeof mask !== 'string' || !(MASKS as readonly string[]).includes(mask)) bad('invalid_mask');
    else if (!defaults.masks.includes(mask as Mask)) bad('mask_not_for_type');
    const def: { -readonly [K in keyof FieldDef]: FieldDef[K] } = {
      name: f.name,
      type,
      required: bool('required', false),
      classification: classification as FieldDef['classification'],
      searchable: bool('searchable', false),
      unique: bool('unique', false),
      mask: mask as Mask,
    };
    if (f.description !== undefined) {
      if (typeof f.description !== 'string' || f.description.length > LIMITS.descriptionLength || !isCleanText(f.description)) bad('invalid_description');
      else def.description = f.description;
    }
    if (f.label !== undefined) {
      if (typeof f.label !== 'string' || f.label.length === 0 || f.label.length > LIMITS.labelLength || !isCleanText(f.label) || /[\n\r\t]/.test(f.label)) bad('invalid_label');
      else if (labels.has(f.label)) bad('duplicate_label');
      else {
        labels.add(f.label);
        def.label = f.label;
      }
    }
    if (f.fold !== undefined) {
      const folds = f.fold;
      if (type !== 'string' && type !== 'kana') bad('option_not_for_type:fold');
      else if (!Array.isArray(folds) || !folds.every((x) => (FOLDS as readonly unknown[]).includes(x)) || new Set(folds).size !== folds.length) bad('invalid_fold');
      else def.fold = [...(folds as Fold[])];
    } else if (defaults.fold) {
      def.fold = [...defaults.fold];
    }
    if ((def.searchable || def.unique) && (type === 'object' || depth > 1)) bad('not_indexable');
    parseToken(f, type, depth, def, bad);
    const int = (k: string, min: number, max: number): number | undefined => {
      const v = f[k];
      if (v === undefined) return undefined;
      if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
        bad(`invalid_${k}`);
        return undefined;
      }
      return v as number;
    };
    const only = (allowed: readonly string[]) => {
      for (const k of ['maxLength', 'minimum', 'maximum', 'precision', 'scale', 'values', 'fields']) {
        if (f[k] !== undefined && !allowed.includes(k)) bad(`option_not_for_type:${k}`);
      }
    };
    switch (type) {
      case 'string':
        only(['maxLength']);
        def.maxLength = int('maxLength', 1, LIMITS.stringMaxLength) ?? LIMITS.stringDefaultMaxLength;
        break;
      case 'integer': {
        only(['minimum', 'maximum']);
        const min = int('minimum', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        const max = int('maximum', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        if (min !== undefined) def.minimum = min;
        if (max !== undefined) def.maximum = max;
        if (min !== undefined && max !== undefined && min > max) bad('minimum_above_maximum');
        break;
      }
      case 'decimal': {
        only(['precision', 'scale']);
        def.precision = int('precision', 1, LIMITS.decimalMaxPrecision) ?? LIMITS.decimalDefaultPrecision;
        def.scale = int('scale', 0, LIMITS.decimalMaxPrecision) ?? Math.min(LIMITS.decimalDefaultScale, def.precision);
        if (def.scale > def.precision) bad('scale_above_precision');
        break;
      }
      case 'enum': {
        only(['values']);
        const values = f.values;
        if (!Array.isArray(values) || values.length === 0 || values.length > LIMITS.enumValues) {
          bad('invalid_values');
          break;
        }
        const ok = values.every((v) => typeof v === 'string' && v.length > 0 && v.length <= LIMITS.enumValueLength && isCleanText(v));
        if (!ok || new Set(values).size !== values.length) bad('invalid_values');
        else def.values = [...(values as string[])];
        break;
      }
      case 'object': {
        only(['fields']);
        if (depth >= LIMITS.nestingDepth) {
          bad('nesting_too_deep');
          break;
        }
        if (!Array.isArray(f.fields) || f.fields.length === 0) {
          bad('invalid_fields');
          break;
        }
        def.fields = parseFields(f.fields, `${path}.`, depth + 1, problems);
        break;
      }
      case 'kana':
        only(['maxLength']);
        def.maxLength = int('maxLength', 1, LIMITS.stringMaxLength) ?? LIMITS.stringDefaultMaxLength;
        break;
      default:
        only([]);
        break;
    }
    out.push(def as FieldDef);
  });
  return out;
}

/** `token` and `tokenFormat` (docs/tokens.md): which kinds fit which types. */
function parseToken(f: Record<string, unknown>, type: FieldDef['type'], depth: number, def: { token?: TokenKind; tokenFormat?: TokenFormat }, bad: (reason: string) => void): void {
  if (f.token === undefined) {
    if (f.tokenFormat !== undefined) bad('token_format_without_token');
    return;
  }
  if (typeof f.token !== 'string' || !(TOKEN_KINDS as readonly string[]).includes(f.token)) return bad('invalid_token');
  if (depth > 1 || !TOKENISABLE_TYPES.has(type)) return bad('token_not_for_type');
  const kind = f.token as TokenKind;
  def.token = kind;
  if (kind !== 'format-preserving') {
    if (f.tokenFormat !== undefined) bad('option_not_for_token:tokenFormat');
    return;
  }
  if (type === 'string') {
    if (typeof f.tokenFormat !== 'string' || !(TOKEN_FORMATS as readonly string[]).includes(f.tokenFormat)) return bad('invalid_token_format');
    def.tokenFormat = f.tokenFormat as TokenFormat;
  } else if ((FPE_IDENTIFIER_TYPES as readonly string[]).includes(type)) {
    if (f.tokenFormat !== undefined) bad('option_not_for_type:tokenFormat');
  } else {
    bad('format_preserving_not_for_type');
  }
}

export interface SchemaChange {
  readonly addFields?: readonly unknown[];
  readonly addEnumValues?: Readonly<Record<string, readonly unknown[]>>;
}

/**
 * The evolutions that never require rewriting stored records: new optional fields, new enum values.
 * Anything else is SCHEMA_CHANGE_REJECTED.
 */
export function evolveSchema(current: CollectionSchema, change: SchemaChange): CollectionSchema {
  const problems: ErrorDetail[] = [];
  const added = change.addFields ?? [];
  const enumAdds = change.addEnumValues ?? {};
  if (added.length === 0 && Object.keys(enumAdds).length === 0) {
    throw new KurabanError('SCHEMA_CHANGE_REJECTED', 'nothing to change', { details: [{ reason: 'empty_change' }] });
  }
  const fields: FieldDef[] = current.fields.map((f) => {
    const extra = Object.hasOwn(enumAdds, f.name) ? enumAdds[f.name] : undefined;
    if (extra === undefined) return f;
    if (f.type !== 'enum' || !Array.isArray(extra)) {
      problems.push({ field: f.name, reason: 'not_an_enum' });
      return f;
    }
    const values = [...(f.values ?? [])];
    for (const v of extra) {
      if (typeof v !== 'string' || v.length === 0 || v.length > LIMITS.enumValueLength || !isCleanText(v) || values.includes(v)) {
        problems.push({ field: f.name, reason: 'invalid_enum_value' });
        continue;
      }
      values.push(v);
    }
    if (values.length > LIMITS.enumValues) problems.push({ field: f.name, reason: 'too_many_values' });
    return { ...f, values };
  });
  for (const name of Object.keys(enumAdds)) {
    if (!current.fields.some((f) => f.name === name)) problems.push(NAME_PATTERN.test(name) ? { field: name, reason: 'unknown_field' } : { reason: 'unknown_field' });
  }
  for (const raw of added) {
    const name = isPlainObject(raw) ? (raw as { name?: unknown }).name : undefined;
    if (typeof name === 'string' && NAME_PATTERN.test(name) && current.fields.some((f) => f.name === name)) {
      problems.push({ field: name, reason: 'field_exists' });
      continue;
    }
    if (isPlainObject(raw) && (raw as { required?: unknown }).required === true) {
      problems.push(typeof name === 'string' && NAME_PATTERN.test(name) ? { field: name, reason: 'added_field_must_be_optional' } : { reason: 'added_field_must_be_optional' });
    }
  }
  if (problems.length > 0) throw new KurabanError('SCHEMA_CHANGE_REJECTED', undefined, { details: problems });
  const parsed = parseCollectionSchema({ fields: [...fields, ...added] });
  return parsed;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
