/** Field types, classifications and the declared shape of a collection. */

import { JP_IDENTIFIER_TYPES } from './japanese/identifiers.js';
import type { Fold } from './japanese/folding.js';

/**
 * Generic types, then Japanese ones (docs/japanese-data.md): identifiers with check digits, `jp-date`
 * (和暦/西暦 with impossible and uncertain dates, as the resident-record standard requires) and `kana`
 * (a reading, フリガナ).
 */
export const FIELD_TYPES = ['string', 'integer', 'decimal', 'boolean', 'date', 'enum', 'object', ...JP_IDENTIFIER_TYPES, 'jp-date', 'kana'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/**
 * What "masked" shows of a field (policy decides who sees a field masked): the last four characters,
 * the year only, the first character only, or nothing but the fact that a value exists.
 */
export const MASKS = ['last4', 'year', 'initial', 'redact'] as const;
export type Mask = (typeof MASKS)[number];

/** public < personal < sensitive (要配慮個人情報, APPI Art. 2(3)) < my-number (特定個人情報, My Number Act Art. 2(8)). */
export const CLASSIFICATIONS = ['public', 'personal', 'sensitive', 'my-number'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

/**
 * Tokenisation of a field (docs/tokens.md): `random` — an opaque, unguessable token looked up in the
 * vault; `deterministic` — the same value gives the same token within the tenant, collection and field
 * (for joins between systems); `format-preserving` — NIST SP 800-38G FF1, a token in the value's own
 * format (a 12-digit My Number gives 12 digits, with a check digit that is always wrong).
 */
export const TOKEN_KINDS = ['random', 'deterministic', 'format-preserving'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** The alphabet of a format-preserving `string` field: digits (radix 10), 0-9A-Z (36), 0-9A-Za-z (62). */
export const TOKEN_FORMATS = ['digits', 'alphanumeric-upper', 'alphanumeric'] as const;
export type TokenFormat = (typeof TOKEN_FORMATS)[number];

/** Types whose canonical value is all digits with a check digit: format-preserving tokens keep the layout and break the check digit. */
export const FPE_IDENTIFIER_TYPES = ['my-number', 'juminhyo-code', 'atena-number', 'household-number', 'corporate-number', 'insurer-number'] as const;

/** Types a token may stand for (scalar values; objects and booleans are not tokenised). */
export const TOKENISABLE_TYPES: ReadonlySet<string> = new Set([
  'string', 'integer', 'decimal', 'date', 'enum', 'my-number', 'juminhyo-code', 'atena-number', 'household-number',
  'local-gov-code', 'corporate-number', 'insurer-number', 'postal-code', 'phone', 'jp-date', 'kana',
]);

export interface FieldDef {
  readonly name: string;
  readonly type: FieldType;
  readonly required: boolean;
  readonly classification: Classification;
  readonly searchable: boolean;
  readonly unique: boolean;
  readonly description?: string;
  /** A display label, e.g. the Japanese column name (氏名) a CSV header may use. */
  readonly label?: string;
  /** How the field is shown when a policy says "masked" (default per type, see TYPE_DEFAULTS). */
  readonly mask: Mask;
  /** string and kana: the search folds applied to the blind-index text (docs/japanese-data.md). */
  readonly fold?: readonly Fold[];
  /** string: maximum length in Unicode code points. */
  readonly maxLength?: number;
  /** integer: inclusive bounds. */
  readonly minimum?: number;
  readonly maximum?: number;
  /** decimal: total significant digits and digits after the point. */
  readonly precision?: number;
  readonly scale?: number;
  /** enum: the allowed values. */
  readonly values?: readonly string[];
  /** object: nested fields (no search or uniqueness inside). */
  readonly fields?: readonly FieldDef[];
  /** Top-level scalar fields: writes answer with a token for the value (docs/tokens.md). */
  readonly token?: TokenKind;
  /** `string` fields with `token: "format-preserving"`: the alphabet of their values. */
  readonly tokenFormat?: TokenFormat;
}

export interface CollectionSchema {
  readonly fields: readonly FieldDef[];
}

export const LIMITS = Object.freeze({
  fieldsPerCollection: 200,
  nestingDepth: 3,
  enumValues: 1000,
  enumValueLength: 200,
  stringMaxLength: 100_000,
  stringDefaultMaxLength: 1000,
  decimalMaxPrecision: 38,
  decimalDefaultPrecision: 28,
  decimalDefaultScale: 10,
  recordBytes: 256 * 1024,
  descriptionLength: 500,
  labelLength: 100,
});

export const NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

const RANK: Readonly<Record<Classification, number>> = { public: 0, personal: 1, sensitive: 2, 'my-number': 3 };

/** True when `a` is at least as protected as `b`. */
export function classificationAtLeast(a: Classification, b: Classification): boolean {
  return RANK[a] >= RANK[b];
}

interface TypeDefaults {
  readonly classification: Classification;
  /** A schema may raise the classification but not declare it below this. */
  readonly minimum?: Classification;
  readonly mask: Mask;
  readonly masks: readonly Mask[];
  readonly fold?: readonly Fold[];
}

const TEXT_MASKS: readonly Mask[] = ['last4', 'initial', 'redact'];
const NUMBER_MASKS: readonly Mask[] = ['last4', 'redact'];
const DATE_MASKS: readonly Mask[] = ['year', 'redact'];

/** Default classification, mask and folds per type; the masks each type allows. */
export const TYPE_DEFAULTS: Readonly<Record<FieldType, TypeDefaults>> = Object.freeze({
  string: { classification: 'personal', mask: 'redact', masks: TEXT_MASKS },
  integer: { classification: 'personal', mask: 'redact', masks: ['redact'] },
  decimal: { classification: 'personal', mask: 'redact', masks: ['redact'] },
  boolean: { classification: 'personal', mask: 'redact', masks: ['redact'] },
  date: { classification: 'personal', mask: 'year', masks: DATE_MASKS },
  enum: { classification: 'personal', mask: 'redact', masks: ['redact'] },
  object: { classification: 'personal', mask: 'redact', masks: ['redact'] },
  // 特定個人情報 (My Number Act Art. 2(8)): never below my-number.
  'my-number': { classification: 'my-number', minimum: 'my-number', mask: 'last4', masks: NUMBER_MASKS },
  // Use restricted by 住民基本台帳法 §30-42; hidden per user by the standard (§10.4).
  'juminhyo-code': { classification: 'sensitive', minimum: 'personal', mask: 'last4', masks: NUMBER_MASKS },
  'atena-number': { classification: 'personal', mask: 'last4', masks: NUMBER_MASKS },
  'household-number': { classification: 'personal', mask: 'last4', masks: NUMBER_MASKS },
  'local-gov-code': { classification: 'public', mask: 'redact', masks: NUMBER_MASKS },
  'corporate-number': { classification: 'public', mask: 'redact', masks: NUMBER_MASKS },
  'insurer-number': { classification: 'public', mask: 'redact', masks: NUMBER_MASKS },
  'postal-code': { classification: 'personal', mask: 'redact', masks: NUMBER_MASKS },
  phone: { classification: 'personal', mask: 'last4', masks: NUMBER_MASKS },
  'jp-date': { classification: 'personal', mask: 'year', masks: DATE_MASKS },
  kana: { classification: 'personal', mask: 'initial', masks: TEXT_MASKS, fold: ['kana', 'space'] },
});
