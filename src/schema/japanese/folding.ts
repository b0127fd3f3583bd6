/**
 * Optional Japanese-aware folds for blind-index text (docs/japanese-data.md, "Search normalisation").
 * Only the text that is hashed is folded, at write and at search time; stored values never change.
 *
 * foldText = normaliseText (NFKC + white space), then in this fixed order whatever order is given:
 *   kanji  variation selectors removed, then old/variant kanji → common form (KANJI_VARIANTS)
 *   kana   katakana → hiragana (ヴ→ゔ, ヷ→わ+U+3099, ヽヾ→ゝゞ); small and voiced kana stay distinct
 *   dash   the dash family → '-'; the long-vowel mark ー → '-' only next to digits (see foldDash)
 *   space  every space removed
 * Steps that can leave the text out of normal form (removing a variation selector or a space,
 * splitting ヷ) normalise again, so the result is a fixed point: foldText is idempotent.
 */

export const FOLDS = ['kana', 'dash', 'kanji', 'space'] as const;
export type Fold = (typeof FOLDS)[number];

export function isFold(x: unknown): x is Fold {
  return typeof x === 'string' && (FOLDS as readonly string[]).includes(x);
}

/**
 * Old (旧字体) and variant (異体字) kanji common in personal names → the common form. A curated
 * subset, not a complete list: the MJ 縮退マップ (IPA / 文字情報基盤) and the 法務省 戸籍統一文字
 * list give the full picture. Keys and values are single code points, every key is stable under
 * NFKC (CJK compatibility ideographs such as 隆 U+F9DC are folded by NFKC already) and no value is
 * itself a key, so one pass is enough.
 */
export const KANJI_VARIANTS: ReadonlyMap<string, string> = Object.freeze(
  new Map<string, string>([
    ['髙', '高'],
    ['﨑', '崎'],
    ['嵜', '崎'],
    ['碕', '崎'],
    ['邊', '辺'],
    ['邉', '辺'],
    ['澤', '沢'],
    ['齋', '斉'],
    ['齊', '斉'],
    ['斎', '斉'],
    ['濵', '浜'],
    ['濱', '浜'],
    ['櫻', '桜'],
    ['國', '国'],
    ['廣', '広'],
    ['德', '徳'],
    ['冨', '富'],
    ['嶋', '島'],
    ['嶌', '島'],
    ['瀨', '瀬'],
    ['眞', '真'],
    ['惠', '恵'],
    ['榮', '栄'],
    ['藏', '蔵'],
    ['龍', '竜'],
    ['淵', '渕'],
    ['萬', '万'],
    ['壽', '寿'],
    ['實', '実'],
    ['條', '条'],
    ['傳', '伝'],
    ['槇', '槙'],
    ['曻', '昇'],
    ['𠮷', '吉'],
    ['𡈽', '土'],
    ['桒', '桑'],
    ['栁', '柳'],
    ['峯', '峰'],
    ['嶽', '岳'],
    ['瀧', '滝'],
    ['兒', '児'],
    ['關', '関'],
    ['亞', '亜'],
    ['澁', '渋'],
    ['增', '増'],
    ['來', '来'],
    ['戶', '戸'],
    ['淺', '浅'],
    ['豐', '豊'],
    ['黑', '黒'],
    ['圓', '円'],
    ['寬', '寛'],
    ['曾', '曽'],
    ['淸', '清'],
    ['靑', '青'],
    ['靜', '静'],
    ['穗', '穂'],
    ['彌', '弥'],
    ['驒', '騨'],
    ['鷗', '鴎'],
    ['龜', '亀'],
    ['綠', '緑'],
    ['莊', '荘'],
    ['顯', '顕'],
    ['寶', '宝'],
    ['晉', '晋'],
    ['禮', '礼'],
    ['濟', '済'],
    ['與', '与'],
  ]),
);

/** Same as normaliseText in ../normalise.ts (kept here so the two modules do not import each other). */
function normaliseText(s: string): string {
  return s.normalize('NFKC').replace(/[\s\u3000]+/gu, ' ').trim();
}

/** Standardized variation selectors U+FE00–U+FE0F and ideographic variation selectors U+E0100–U+E01EF. */
const VARIATION_SELECTOR = /[\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/gu;

function foldKanji(s: string): string {
  const t = normaliseText(s.replace(VARIATION_SELECTOR, ''));
  return Array.from(t, (c) => KANJI_VARIANTS.get(c) ?? c).join('');
}

/** Katakana U+30A1–U+30FA and the iteration marks ヽヾ (half-width katakana was widened by NFKC). */
const KATAKANA = /[\u30A1-\u30FA\u30FD\u30FE]/gu;

function foldKana(s: string): string {
  const t = s.replace(KATAKANA, (c) => {
    const cp = c.codePointAt(0) ?? 0;
    // ヷヸヹヺ (U+30F7–U+30FA) have no precomposed hiragana: わゐゑを + combining voiced mark.
    if (cp >= 0x30f7 && cp <= 0x30fa) return String.fromCodePoint(cp - 0x30f7 + 0x308f) + '\u3099';
    return String.fromCodePoint(cp - 0x60);
  });
  return t.normalize('NFC'); // canonical order of a U+3099 we added before another combining mark
}

/** Dashes left after NFKC (which already maps U+FF0D, U+FE63 → '-', U+2011 → U+2010, U+FE58 → U+2014). */
const DASH = /[\u2010-\u2015\u2043\u2212\uFE58\uFE63\uFF0D]/gu;
const ASCII_DIGIT = /^[0-9]$/;
const HAN = /^\p{Script=Han}$/u;

/**
 * The dash family → '-'. The long-vowel mark ー (U+30FC; NFKC widens ｰ U+FF70 to it) is a hyphen
 * only when the character before it is an ASCII digit (1ー2, 12ー), or before it is a kanji and
 * after it an ASCII digit (三丁目ー5). A space next to the mark is looked through, so the result does
 * not depend on whether spaces are folded afterwards. After kana (サトー, コーポ) it stays.
 */
function foldDash(s: string): string {
  const cs = Array.from(s.replace(DASH, '-'));
  const near = (i: number, step: 1 | -1): string => {
    let j = i + step;
    while (cs[j] === ' ') j += step;
    return cs[j] ?? '';
  };
  return cs
    .map((c, i) => {
      if (c !== '\u30FC') return c;
      const before = near(i, -1);
      const after = near(i, 1);
      const hyphen = ASCII_DIGIT.test(before) || (HAN.test(before) && ASCII_DIGIT.test(after));
      return hyphen ? '-' : c;
    })
    .join('');
}

function foldSpace(s: string): string {
  return s.replaceAll(' ', '').normalize('NFC'); // a removed space may have kept a mark from composing
}

/** normaliseText (NFKC + white space) then the chosen folds, in a fixed order whatever the order given. Idempotent. */
export function foldText(s: string, folds: readonly Fold[]): string {
  for (const f of folds) if (!isFold(f)) throw new RangeError(`unknown fold: ${String(f)}`);
  let t = normaliseText(s);
  if (folds.includes('kanji')) t = foldKanji(t);
  if (folds.includes('kana')) t = foldKana(t);
  if (folds.includes('dash')) t = foldDash(t);
  if (folds.includes('space')) t = foldSpace(t);
  return t;
}
