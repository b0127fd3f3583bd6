import {
  atenaCheckDigit,
  corporateNumberCheckDigit,
  insurerNumberCheckDigit,
  juminhyoCodeCheckDigit,
  localGovCodeCheckDigit,
  myNumberCheckDigit,
} from './check-digits.js';

/** Japanese identifier field types. Values are stored in a canonical form (below); search folds to digits. */
export const JP_IDENTIFIER_TYPES = [
  'my-number', 'juminhyo-code', 'atena-number', 'household-number', 'local-gov-code',
  'corporate-number', 'insurer-number', 'postal-code', 'phone',
] as const;
export type JpIdentifierType = (typeof JP_IDENTIFIER_TYPES)[number];

export type IdentifierProblem = 'expected_digits' | 'wrong_length' | 'check_digit_mismatch' | 'invalid_phone';

// The dash family and spaces people put inside numbers: ASCII hyphen, U+2010–U+2015, U+2212 minus,
// U+30FC/U+FF70 long-vowel marks (typed for hyphens in numbers), U+FE63, U+FF0D (NFKC gives '-').
const SEPARATORS = /[\s\u3000\-\u2010-\u2015\u2212\u30FC\uFF70\uFE63]/gu;

/** NFKC (full-width digits → ASCII), then separators removed. */
function digitsOf(input: string): string {
  return input.normalize('NFKC').replace(SEPARATORS, '');
}

interface Rule {
  readonly lengths: readonly number[];
  /** true when the check digit of the canonical digits is right. */
  readonly check?: (digits: string) => boolean;
}

const last = (digits: string): number => digits.charCodeAt(digits.length - 1) - 0x30;

const RULES: Readonly<Record<Exclude<JpIdentifierType, 'phone' | 'postal-code'>, Rule>> = {
  'my-number': { lengths: [12], check: (d) => myNumberCheckDigit(d.slice(0, 11)) === last(d) },
  'juminhyo-code': { lengths: [11], check: (d) => juminhyoCodeCheckDigit(d.slice(0, 10)) === last(d) },
  // 宛名番号 / 世帯番号: length is the municipality's choice; the standard fixes only the check digit.
  'atena-number': { lengths: range(2, 16), check: (d) => atenaCheckDigit(d.slice(0, -1)) === last(d) },
  'household-number': { lengths: range(2, 16), check: (d) => atenaCheckDigit(d.slice(0, -1)) === last(d) },
  'local-gov-code': { lengths: [6], check: (d) => localGovCodeCheckDigit(d.slice(0, 5)) === last(d) },
  'corporate-number': { lengths: [13], check: (d) => corporateNumberCheckDigit(d.slice(1)) === d.charCodeAt(0) - 0x30 },
  // 6 digits: 国民健康保険 (市町村); 8 digits: 法別番号 + 都道府県 + 保険者別 + 検証番号.
  'insurer-number': { lengths: [6, 8], check: (d) => insurerNumberCheckDigit(d.slice(0, -1)) === last(d) },
};

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/**
 * Validates an identifier and returns its canonical stored form: ASCII digits for numbers with a check
 * digit; `NNN-NNNN` for postal codes; for phone numbers the text with full-width folded and dashes
 * made ASCII (the grouping people wrote is kept, it carries the area code). Never echoes the input.
 */
export function checkIdentifier(type: JpIdentifierType, input: string): { value: string } | { problem: IdentifierProblem } {
  if (type === 'phone') return checkPhone(input);
  // 〒 (U+3012, postal mark) may lead a postal code as printed on envelopes.
  const digits = digitsOf(type === 'postal-code' ? input.replace(/^\s*[\u3012\u3036]/u, '') : input);
  if (!/^\d+$/.test(digits)) return { problem: 'expected_digits' };
  if (type === 'postal-code') {
    return digits.length === 7 ? { value: `${digits.slice(0, 3)}-${digits.slice(3)}` } : { problem: 'wrong_length' };
  }
  const rule = RULES[type];
  if (!rule.lengths.includes(digits.length)) return { problem: 'wrong_length' };
  if (rule.check && !rule.check(digits)) return { problem: 'check_digit_mismatch' };
  return { value: digits };
}

// Japanese numbers: 0 + 9 digits (fixed lines, 0120…) or 0 + 10 digits (mobile, 050 IP phones); the
// digit after the trunk 0 is never 0 (00… are carrier and international prefixes). +81 replaces the
// leading 0 (ITU-T E.164, country code 81); a trunk 0 written after it anyway (+81 (0)3-…) is dropped,
// so both forms have the same national digits and index equally.
function checkPhone(input: string): { value: string } | { problem: IdentifierProblem } {
  const text = input.normalize('NFKC').trim().replace(/[\u2010-\u2015\u2212\u30FC\uFF70\uFE63]/gu, '-');
  if (!/^\+?[\d\-() ]+$/.test(text)) return { problem: 'invalid_phone' };
  const digits = phoneDigits(text);
  if (!/^0[1-9]\d{8,9}$/.test(digits)) return { problem: 'invalid_phone' };
  return { value: text.replace(/\s+/g, ' ') };
}

function phoneDigits(text: string): string {
  const d = text.replace(/[^\d+]/g, '');
  return d.startsWith('+81') ? `0${d.slice(3).replace(/^0/, '')}` : d.replace(/\+/g, '');
}

/**
 * The text a blind index hashes for an identifier, at write and at search time: its digits (a phone
 * number's in national form), so 1234-5678-9012, １２３４５６７８９０１２ and 123456789012 meet.
 */
export function identifierIndexText(type: JpIdentifierType, value: string): string {
  if (type === 'phone') return phoneDigits(value.normalize('NFKC').replace(SEPARATORS, ''));
  return digitsOf(value);
}
