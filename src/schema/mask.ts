import type { FieldDef, Mask } from './field.js';
import type { FieldValue } from './record-values.js';
import { maskToYear, parseJpDate } from './japanese/jp-date.js';

const graphemes = new Intl.Segmenter('ja', { granularity: 'grapheme' });

/**
 * A field value as a masked view shows it (issue: field results clear / masked / withheld):
 * - `last4`: every character but the last four is `*`; in numbers only digits are hidden, so
 *   separators stay (03-1234-5678 → **-****-5678) — never more than four digits shown.
 * - `year`: dates keep only the year (和暦 keeps its era: 昭和60年; uncertain dates keep their mark).
 * - `initial`: the first character (a whole grapheme, so 𠮷 or 葛󠄀 is never split) and one `*`,
 *   whatever the length, so the length does not show.
 * - `redact`: null — the response says the field exists and is masked, nothing of the value.
 * Masking works on the canonical stored value; it is not encryption and is decided by policy.
 */
export function applyMask(field: FieldDef, value: FieldValue, mask: Mask = field.mask): string | null {
  switch (mask) {
    case 'redact':
      return null;
    case 'year':
      if (field.type === 'date' && typeof value === 'string') return value.slice(0, 4);
      if (field.type === 'jp-date' && typeof value === 'string') {
        const d = parseJpDate(value);
        return 'problem' in d ? null : maskToYear(d);
      }
      return null;
    case 'initial': {
      if (typeof value !== 'string') return null;
      const first = graphemes.segment(value.trim())[Symbol.iterator]().next();
      return first.done ? '' : `${first.value.segment}*`;
    }
    case 'last4': {
      const s = String(value);
      if (field.type !== 'string' && field.type !== 'kana') {
        let keep = 4;
        const out: string[] = [];
        for (const ch of [...s].reverse()) {
          if (/\d/.test(ch)) out.push(keep-- > 0 ? ch : '*');
          else out.push(ch);
        }
        return out.reverse().join('');
      }
      const parts = [...graphemes.segment(s)].map((g) => g.segment);
      return parts.map((g, i) => (i < parts.length - 4 ? '*' : g)).join('');
    }
  }
}
