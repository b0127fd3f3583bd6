export { FIELD_TYPES, CLASSIFICATIONS, LIMITS, MASKS, NAME_PATTERN, TYPE_DEFAULTS, TOKEN_KINDS, TOKEN_FORMATS, FPE_IDENTIFIER_TYPES, classificationAtLeast } from './field.js';
export type { FieldType, Classification, FieldDef, CollectionSchema, Mask, TokenKind, TokenFormat } from './field.js';
export { parseCollectionSchema, evolveSchema, deepFreeze } from './collection-schema.js';
export type { SchemaChange } from './collection-schema.js';
export { validateRecord, canonicalDecimal, isIsoDate } from './record-values.js';
export type { FieldValue, RecordValues } from './record-values.js';
export { normaliseForIndex, normaliseText } from './normalise.js';
export { applyMask } from './mask.js';
export { valueFromText } from './text-values.js';
export { isWellFormed, isCleanText } from './unicode.js';
export {
  atenaCheckDigit, atenaRemainderIsOne, corporateNumberCheckDigit, insurerNumberCheckDigit,
  juminhyoCodeCheckDigit, localGovCodeCheckDigit, myNumberCheckDigit,
} from './japanese/check-digits.js';
export { JP_IDENTIFIER_TYPES, checkIdentifier, identifierIndexText } from './japanese/identifiers.js';
export type { JpIdentifierType, IdentifierProblem } from './japanese/identifiers.js';
export { ERAS, compareJpDate, formatJpDate, gregorianYear, maskToYear, parseJpDate } from './japanese/jp-date.js';
export type { JpDate, JpDateProblem, JpDateQualifier } from './japanese/jp-date.js';
export { FOLDS, foldText } from './japanese/folding.js';
export type { Fold } from './japanese/folding.js';
export { checkKana } from './japanese/kana.js';
export { RELATIONSHIPS, SCHEMA_TEMPLATES, SCHEMA_TEMPLATE_NAMES } from './templates/index.js';
export type { SchemaTemplateName } from './templates/index.js';
