/** Field types, classifications and the declared shape of a collection. */

export const FIELD_TYPES = ['string', 'integer', 'decimal', 'boolean', 'date', 'enum', 'object'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** public < personal < sensitive (要配慮個人情報, APPI Art. 2(3)) < my-number (特定個人情報, My Number Act Art. 2(8)). */
export const CLASSIFICATIONS = ['public', 'personal', 'sensitive', 'my-number'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export interface FieldDef {
  readonly name: string;
  readonly type: FieldType;
  readonly required: boolean;
  readonly classification: Classification;
  readonly searchable: boolean;
  readonly unique: boolean;
  readonly description?: string;
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
});

export const NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;
