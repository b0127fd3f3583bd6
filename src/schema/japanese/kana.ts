/**
 * A reading (フリガナ): katakana or hiragana, the long-vowel mark, the middle dot, the double hyphen
 * used between parts of foreign names, and spaces. Stored NFKC-normalised, so half-width katakana
 * from legacy (CP932) files is widened (ﾔﾏﾀﾞ → ヤマダ); the script the person chose (katakana or
 * hiragana) is kept. Search folds both scripts together (the `kana` fold).
 */
const KANA_TEXT = /^[\u3041-\u3096\u3099-\u309F\u30A0-\u30FF\u31F0-\u31FF・＝= \u3000]+$/u;

export function checkKana(input: string): { value: string } | { problem: 'not_kana' } {
  const value = input.normalize('NFKC').trim();
  return value.length > 0 && KANA_TEXT.test(value) ? { value } : { problem: 'not_kana' };
}
