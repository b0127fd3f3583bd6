/**
 * Check digits of Japanese public identifiers. Each function takes the body (the digits without the
 * check digit) as ASCII digits and returns the check digit. Sources are cited per function; see
 * docs/japanese-data.md for the table and what is verified.
 */

function digitsFromRight(body: string): number[] {
  const out: number[] = [];
  for (let i = body.length - 1; i >= 0; i--) out.push(body.charCodeAt(i) - 0x30);
  return out;
}

/**
 * 個人番号 (My Number), 12 digits, check digit last. 行政手続における特定の個人を識別するための番号の
 * 利用等に関する法律施行令 §8 and 総務省令第85号 (平成26年) §5: 11 − (Σ Pn·Qn mod 11) for n = 1…11,
 * Pn the n-th digit from the right of the 11-digit body, Qn = n + 1 (n ≤ 6), n − 5 (n ≥ 7); a
 * remainder ≤ 1 gives 0.
 */
export function myNumberCheckDigit(body11: string): number {
  const r = weightedFromRight(body11, (n) => (n <= 6 ? n + 1 : n - 5)) % 11;
  return r <= 1 ? 0 : 11 - r;
}

/**
 * 住民票コード, 11 digits: 10 random digits and a check digit (住民基本台帳法施行規則 §1, formula in
 * 平成14年総務省告示第436号). The formula applied here is the modulus-11 rule with weights
 * Qn = n + 1 (n ≤ 6), n − 5 (n ≥ 7) from the right and remainder ≤ 1 → 0, the rule the 個人番号's was
 * modelled on; see docs/japanese-data.md on how this was sourced.
 */
export function juminhyoCodeCheckDigit(body10: string): number {
  const r = weightedFromRight(body10, (n) => (n <= 6 ? n + 1 : n - 5)) % 11;
  return r <= 1 ? 0 : 11 - r;
}

/**
 * 宛名番号 and 世帯番号 (住民記録システム標準仕様書 §1.1.13): modulus 11, weights 2–7 cycling from the
 * right ("M11W2～7"); a remainder of 0 gives 0. The standard is silent on a remainder of 1 (11 − 1 = 10
 * is not a digit); Kuraban gives 0 there too, as most vendors do, and the demo never issues such bodies.
 */
export function atenaCheckDigit(body: string): number {
  const r = weightedFromRight(body, (n) => ((n - 1) % 6) + 2) % 11;
  return r <= 1 ? 0 : 11 - r;
}

/** True when the modulus-11 remainder of an 宛名番号 body is 1 (the case the standard leaves open). */
export function atenaRemainderIsOne(body: string): boolean {
  return weightedFromRight(body, (n) => ((n - 1) % 6) + 2) % 11 === 1;
}

/**
 * 全国地方公共団体コード, 6 digits (総務省, JIS X 0401/0402 plus check digit): weights 6,5,4,3,2 from
 * the left over the 5-digit body; the check digit is the last digit of 11 − (sum mod 11).
 */
export function localGovCodeCheckDigit(body5: string): number {
  return (11 - (weightedFromRight(body5, (n) => n + 1) % 11)) % 10;
}

/**
 * 法人番号 (corporate number), 13 digits, check digit FIRST (法人番号の指定等に関する省令 §2):
 * 9 − (Σ Pn·Qn mod 9) for n = 1…12, Pn the n-th digit from the right of the 12-digit base number,
 * Qn = 1 for odd n and 2 for even n.
 */
export function corporateNumberCheckDigit(body12: string): number {
  return 9 - (weightedFromRight(body12, (n) => (n % 2 === 1 ? 1 : 2)) % 9);
}

/**
 * 保険者番号 (insurer number), check digit last: multiply the body's digits by 2, 1, 2, … starting from
 * the rightmost, add the DIGITS of the products, and take 10 − the last digit of the sum (0 when that
 * last digit is 0). 厚生労働省 保険者番号の検証番号 (e.g. 33120015: body 3312001 → 5).
 */
export function insurerNumberCheckDigit(body: string): number {
  let sum = 0;
  digitsFromRight(body).forEach((d, i) => {
    const p = d * (i % 2 === 0 ? 2 : 1);
    sum += Math.floor(p / 10) + (p % 10);
  });
  return (10 - (sum % 10)) % 10;
}

function weightedFromRight(body: string, weight: (n: number) => number): number {
  let sum = 0;
  digitsFromRight(body).forEach((d, i) => {
    sum += d * weight(i + 1);
  });
  return sum;
}
