import type { FieldDef } from './field.js';
import type { FieldValue } from './record-values.js';

/**
 * The text a blind index hashes for a value. Equal after normalisation ⇒ found by equality search.
 * Strings: Unicode NFKC (UAX #15; folds full/half width and maps U+3000 to U+0020), then every run of
 * white space becomes one U+0020 and the ends are trimmed. Other types are already canonical.
 * Japanese-specific folding (kana, dashes, old/new kanji) is a per-field option added with the
 * Japanese data types.
 */
export function normaliseForIndex(field: FieldDef, value: FieldValue): string {
  switch (field.type) {
    case 'string':
      return normaliseText(value as string);
    case 'integer':
    case 'boolean':
      return String(value);
    case 'decimal':
    case 'date':
    case 'enum':
      return value as string;
    case 'object':
      throw new TypeError('object fields are not indexable');
  }
}

const WHITESPACE_RUN = /[\s\u3000]+/gu;

export function normaliseText(s: string): string {
  return s.normalize('NFKC').replace(WHITESPACE_RUN, ' ').trim();
}
