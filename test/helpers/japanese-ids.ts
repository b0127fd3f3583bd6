/** Synthetic Japanese identifiers for tests: bodies chosen by the test, check digits computed (never a real My Number). */
import { randomBytes } from 'node:crypto';
import { atenaCheckDigit, myNumberCheckDigit } from '../../src/schema/index.js';

/** A 10-digit 宛名番号 / 世帯番号 with body n. */
export const atena = (n: number): string => {
  const body = String(n).padStart(9, '0');
  return `${body}${atenaCheckDigit(body)}`;
};

/** A 12-digit My Number with body 9 + n (fixed pattern), or a random body when n is omitted. */
export const syntheticMyNumber = (n?: number): string => {
  const body = n === undefined ? Array.from(randomBytes(11), (b) => String(b % 10)).join('') : `9${String(n).padStart(10, '0')}`;
  return `${body}${myNumberCheckDigit(body)}`;
};

/** The same number with its last digit changed: a wrong check digit. */
export const wrongLastDigit = (s: string): string => `${s.slice(0, -1)}${(Number(s.at(-1)) + 1) % 10}`;
