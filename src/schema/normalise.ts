import type { FieldDef } from './field.js';
import type { FieldValue } from './record-values.js';
import { foldText } from './japanese/folding.js';
import { identifierIndexText } from './japanese/identifiers.js';

/**
 * The text a blind index hashes for a value. Equal after normalisation ⇒ found by equality search.
 * Strings and readings: Unicode NFKC (UAX #15; folds full/half width and maps U+3000 to U+0020),
 * every run of white space made one U+0020 and the ends trimmed, then the field's folds (kana, dash,
 * kanji, space — docs/japanese-data.md). Identifiers: their digits. Other types are already canonical
 * (jp-date values are stored in canonical text). Stored values are never changed by this.
 */
export function normaliseForIndex(field: FieldDef, value: FieldValue): string {
  switch (field.type) {
    case 'string':
    case 'kana':
      return foldText(value as string, field.fold ?? []);
    case 'integer':
    case 'boolean':
      return String(value);
    case 'decimal':
    case 'date':
    case 'enum':
    case 'jp-date':
      return value as string;
    case 'object':
      throw new TypeError('object fields are not indexable');
    default:
      return identifierIndexText(field.type, value as string);
  }
}

const WHITESPACE_RUN = /[\s\u3000]+/gu;

export function normaliseText(s: string): string {
  return s.normalize('NFKC').replace(WHITESPACE_RUN, ' ').trim();
}
