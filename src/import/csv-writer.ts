/**
 * RFC 4180 output, the inverse of CsvReader: a field holding a comma, a quote, CR or LF is quoted
 * and its quotes doubled (§2 rules 6–7); records end with CRLF (§2 rule 1).
 */
const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRecord(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

/** A field value as CSV cell text: objects as JSON, absent as the empty cell (read back as absent). */
export function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
