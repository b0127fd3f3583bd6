const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when the string is valid UTF-16 (no unpaired surrogate), so it encodes to UTF-8 and back unchanged. */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** Display text (names, descriptions, enum values): well-formed, and no NUL or other C0 controls but tab and newlines. */
export function isCleanText(s: string): boolean {
  return isWellFormed(s) && !CONTROL.test(s);
}
