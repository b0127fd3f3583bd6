import {
  atenaCheckDigit, corporateNumberCheckDigit, insurerNumberCheckDigit, juminhyoCodeCheckDigit, myNumberCheckDigit,
  type FieldDef, type TokenFormat,
} from '../schema/index.js';

/**
 * How a format-preserving field maps onto FF1 numerals. Identifiers with a check digit encrypt their
 * payload and then write a check digit that is always WRONG for the token's payload, so a token can
 * never pass as a real number (a My Number token fails the My Number Act check digit, 行政手続における
 * 特定の個人を識別するための番号の利用等に関する法律施行令 §8). Strings encrypt every character.
 */
export interface FpeLayout {
  readonly alphabet: string;
  readonly radix: number;
  readonly check?: {
    /** Where the check digit stands: last for most identifiers, first for the 法人番号. */
    readonly at: 'first' | 'last';
    /** The correct check digit of a payload. */
    readonly digit: (payload: string) => number;
  };
}

const DIGITS = '0123456789';
const UPPER = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const MIXED = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ALPHABETS: Readonly<Record<TokenFormat, string>> = { digits: DIGITS, 'alphanumeric-upper': UPPER, alphanumeric: MIXED };

const CHECKS: Readonly<Record<string, NonNullable<FpeLayout['check']>>> = {
  'my-number': { at: 'last', digit: myNumberCheckDigit },
  'juminhyo-code': { at: 'last', digit: juminhyoCodeCheckDigit },
  'atena-number': { at: 'last', digit: atenaCheckDigit },
  'household-number': { at: 'last', digit: atenaCheckDigit },
  'insurer-number': { at: 'last', digit: insurerNumberCheckDigit },
  'corporate-number': { at: 'first', digit: corporateNumberCheckDigit },
};

/** The layout of a field declared `token: "format-preserving"` (the schema allows no other). */
export function fpeLayout(field: FieldDef): FpeLayout {
  if (field.type === 'string' && field.tokenFormat !== undefined) {
    const alphabet = ALPHABETS[field.tokenFormat];
    return { alphabet, radix: alphabet.length };
  }
  const check = CHECKS[field.type];
  if (check === undefined) throw new Error(`fpeLayout: ${field.type} has no format-preserving layout`);
  return { alphabet: DIGITS, radix: 10, check };
}

/** The check digit a TOKEN carries: one more than the correct one, modulo 10 — never the correct one. */
export function wrongCheckDigit(correct: number): number {
  return (correct + 1) % 10;
}
