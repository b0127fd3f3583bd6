export { FIELD_TYPES, CLASSIFICATIONS, LIMITS, NAME_PATTERN } from './field.js';
export type { FieldType, Classification, FieldDef, CollectionSchema } from './field.js';
export { parseCollectionSchema, evolveSchema, deepFreeze } from './collection-schema.js';
export type { SchemaChange } from './collection-schema.js';
export { validateRecord, canonicalDecimal, isIsoDate } from './record-values.js';
export type { FieldValue, RecordValues } from './record-values.js';
export { normaliseForIndex, normaliseText } from './normalise.js';
export { valueFromText } from './text-values.js';
export { isWellFormed, isCleanText } from './unicode.js';
