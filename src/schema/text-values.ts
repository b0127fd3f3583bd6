import type { FieldDef } from './field.js';

/**
 * Turns a text cell (CSV) into the JSON value the field expects, so CSV and JSON imports validate
 * the same way. An empty cell is absent. Returns the text unchanged when it cannot be converted, so
 * validation reports the field's own reason.
 */
export function valueFromText(field: FieldDef, text: string): unknown {
  if (text === '') return undefined;
  switch (field.type) {
    case 'integer':
      return /^[+-]?\d{1,16}$/.test(text) ? Number(text) : text;
    case 'boolean':
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      return text;
    case 'object':
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    default:
      return text;
  }
}
