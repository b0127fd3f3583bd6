/**
 * Dates of birth as Japanese resident records hold them (総務省「住民記録システム標準仕様書」§1.1.8):
 * 和暦 (明治…令和) and 西暦; impossible 和暦 days that appear on real records, kept as written
 * (明治45年7月30日, 平成31年2月29日); and uncertain dates (年月日不詳, 頃, 推定, day or month unknown).
 * A JavaScript Date cannot hold these, so the value keeps its parts. Pure: no I/O.
 */

type EraName = '明治' | '大正' | '昭和' | '平成' | '令和';

/**
 * The 元号 table. An era's first day is the day the new 元号 took effect; the previous era ends the day
 * before, so a transition day belongs to the new era only:
 * - 大正 from 1912-07-30 and 昭和 from 1926-12-25: the 改元 took effect on the day of the 崩御 of
 *   明治天皇 (1912-07-30) and 大正天皇 (1926-12-25), so 明治45年7月30日 and 大正15年12月25日 never existed.
 * - 平成 from 1989-01-08 (元号を改める政令, 昭和64年政令第1号): 昭和64年 ran 1月1日–1月7日.
 * - 令和 from 2019-05-01 (元号を改める政令, 平成31年政令第143号): 平成31年 ran 1月1日–4月30日.
 * - 明治: proclaimed 1868-10-23 (慶応4年9月8日) and applied from the start of that year; taken as
 *   1868-01-01 here. Caveat: Japan kept the lunisolar calendar until 明治5年12月2日, the next day being
 *   明治6年1月1日 (1873-01-01), so 明治1–5年 day numbers are lunisolar; `real` and ordering treat them as
 *   Gregorian, which is only a convention for those five years.
 * lastYear is the highest era year accepted (令和 has no end yet; 99 bounds typing errors).
 */
export const ERAS: readonly {
  readonly name: EraName;
  readonly letter: 'M' | 'T' | 'S' | 'H' | 'R';
  readonly start: string;
  readonly firstYear: number;
  readonly lastYear: number;
}[] = Object.freeze([
  Object.freeze({ name: '明治', letter: 'M', start: '1868-01-01', firstYear: 1868, lastYear: 45 }),
  Object.freeze({ name: '大正', letter: 'T', start: '1912-07-30', firstYear: 1912, lastYear: 15 }),
  Object.freeze({ name: '昭和', letter: 'S', start: '1926-12-25', firstYear: 1926, lastYear: 64 }),
  Object.freeze({ name: '平成', letter: 'H', start: '1989-01-08', firstYear: 1989, lastYear: 31 }),
  Object.freeze({ name: '令和', letter: 'R', start: '2019-05-01', firstYear: 2019, lastYear: 99 }),
] as const);

export type JpDateQualifier = 'exact' | 'approximate' /* 頃 */ | 'estimated' /* 推定 */;

export interface JpDate {
  readonly calendar: 'wareki' | 'seireki';
  /** wareki only. */
  readonly era?: EraName;
  /** Era year for wareki (1 = 元年), Gregorian year for seireki; absent = unknown (年月日不詳). */
  readonly year?: number;
  /** Absent = unknown or not given. */
  readonly month?: number;
  /** Absent = unknown or not given (only present with a month). */
  readonly day?: number;
  readonly qualifier: JpDateQualifier;
  /**
   * True when year, month and day are all known and name a real calendar day inside the era (for
   * wareki: on/after the era's start, before the next era's start). 明治45年7月30日 and 平成31年2月29日
   * are accepted but not real. A fully unknown date (年月日不詳) is calendar 'wareki' with no era or year.
   */
  readonly real: boolean;
}

export type JpDateProblem =
  | 'not_a_date' | 'unknown_era' | 'era_year_out_of_range' | 'month_out_of_range' | 'day_out_of_range';

const problem = (p: JpDateProblem): { problem: JpDateProblem } => Object.freeze({ problem: p });

const MAX_INPUT = 64;
// Dash family NFKC leaves alone (U+2010–U+2015, U+2212 minus, U+FE63), read as '-' between parts.
const DASHES = /[\u2010-\u2015\u2212\uFE63]/gu;
const UNKNOWN = /^(?:生?年月日)?不詳$/u;
/** 昭和60年4月12日, 昭和60年4月, 昭和60年, with 不詳 for the missing parts; era empty = 西暦 (1985年4月). */
const KANJI = /^(?<era>\D*?)(?<y>元|\d{1,4})年(?:(?<m>\d{1,4})月(?:(?<d>\d{1,4})日|日?不詳)?|(?:月日)?不詳)?$/u;
/** S60.4.12, S60/04/12, S60-4-12, S60; era empty = 西暦 (1985-04-12, 1985/4/12, 1985-04, 1985). */
const SEPARATED = /^(?<era>\D*?)(?<y>元|\d{1,4})(?:(?<sep>[-./])(?<m>\d{1,4})(?:\k<sep>(?<d>\d{1,4}))?)?$/u;
/** What an era token looks like when it is not one of ours (慶応, 大化, X): unknown_era, not not_a_date. */
const ERA_SHAPED = /^(?:\p{Script=Han}{2}|[A-Za-z])$/u;

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
/** Days in the month; Feb has 29 when the year is leap or undefined (wareki accepts 2月29日 always). */
function daysIn(month: number, year: number | undefined): number {
  return month === 2 && year !== undefined && !isLeap(year) ? 28 : (DAYS[month - 1] ?? 0);
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const iso = (y: number, m: number, d: number): string => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;

function eraIndex(name: string | undefined): number {
  return ERAS.findIndex((e) => e.name === name);
}

/** Whether a complete date is a real day: a real Gregorian day, and for wareki inside its era's span. */
function isReal(calendar: JpDate['calendar'], eraIdx: number, year: number, month: number, day: number): boolean {
  if (calendar === 'seireki') return day <= daysIn(month, year);
  const era = ERAS[eraIdx];
  if (era === undefined) return false;
  const gy = era.firstYear + year - 1;
  if (day > daysIn(month, gy)) return false;
  const d = iso(gy, month, day);
  const next = ERAS[eraIdx + 1];
  return d >= era.start && (next === undefined || d < next.start);
}

export function parseJpDate(input: string): JpDate | { problem: JpDateProblem } {
  if (typeof input !== 'string') return problem('not_a_date');
  let s = input.normalize('NFKC').replace(/\s+/gu, '').replace(DASHES, '-');
  if (s.length > MAX_INPUT) return problem('not_a_date');
  let qualifier: JpDateQualifier = 'exact';
  if (s.startsWith('推定')) {
    qualifier = 'estimated';
    s = s.slice(2);
  }
  if (s.endsWith('頃')) {
    if (qualifier !== 'exact') return problem('not_a_date');
    qualifier = 'approximate';
    s = s.slice(0, -1);
  }
  if (UNKNOWN.test(s)) {
    return qualifier === 'exact' ? Object.freeze({ calendar: 'wareki', qualifier, real: false }) : problem('not_a_date');
  }
  const g = (KANJI.exec(s) ?? SEPARATED.exec(s))?.groups;
  if (g === undefined || g.y === undefined) return problem('not_a_date');
  const token = g.era ?? '';

  let eraIdx = -1;
  let year: number;
  if (token === '') {
    // 西暦: four digits, 0001–9999.
    if (g.y.length !== 4 || g.y === '0000') return problem('not_a_date');
    year = Number(g.y);
  } else {
    eraIdx = ERAS.findIndex((e) => e.name === token || e.letter === token.toUpperCase());
    const era = ERAS[eraIdx];
    if (era === undefined) return problem(ERA_SHAPED.test(token) ? 'unknown_era' : 'not_a_date');
    year = g.y === '元' ? 1 : Number(g.y);
    if (year < 1 || year > era.lastYear) return problem('era_year_out_of_range');
  }
  const calendar = eraIdx < 0 ? 'seireki' : 'wareki';
  const month = g.m === undefined ? undefined : Number(g.m);
  if (month !== undefined && (month < 1 || month > 12)) return problem('month_out_of_range');
  const day = g.d === undefined || month === undefined ? undefined : Number(g.d);
  if (day !== undefined && month !== undefined) {
    // wareki keeps impossible days as written (any day a leap-year month has); seireki must be real.
    if (day < 1 || day > daysIn(month, calendar === 'seireki' ? year : undefined)) return problem('day_out_of_range');
  }
  const era = ERAS[eraIdx];
  return Object.freeze({
    calendar,
    ...(era === undefined ? {} : { era: era.name }),
    year,
    ...(month === undefined ? {} : { month }),
    ...(day === undefined ? {} : { day }),
    qualifier,
    real: month !== undefined && day !== undefined && isReal(calendar, eraIdx, year, month, day),
  });
}

/** Canonical text of the year and whichever of month and day are given, with the qualifier's mark. */
function formatParts(d: JpDate, month: number | undefined, day: number | undefined): string {
  if (d.year === undefined) return '年月日不詳';
  let body: string;
  if (d.calendar === 'wareki') {
    body = `${d.era ?? ''}${d.year}年`;
    if (month !== undefined) body += `${month}月${day === undefined ? '' : `${day}日`}`;
  } else {
    body = pad(d.year, 4);
    if (month !== undefined) body += `-${pad(month, 2)}${day === undefined ? '' : `-${pad(day, 2)}`}`;
  }
  return d.qualifier === 'estimated' ? `推定${body}` : d.qualifier === 'approximate' ? `${body}頃` : body;
}

/**
 * The canonical text stored for the value: 昭和60年4月12日 / 昭和60年4月 / 昭和60年 (元年 as 1年, no
 * leading zeros), 1985-04-12 / 1985-04 / 1985 for 西暦, 推定… or …頃 for the qualifier, 年月日不詳 when
 * nothing is known. parseJpDate(formatJpDate(d)) deep-equals d.
 */
export function formatJpDate(d: JpDate): string {
  return formatParts(d, d.month, d.month === undefined ? undefined : d.day);
}

/** Gregorian year when the year is known (wareki: firstYear + year - 1), else undefined. */
export function gregorianYear(d: JpDate): number | undefined {
  if (d.year === undefined) return undefined;
  if (d.calendar === 'seireki') return d.year;
  const era = ERAS[eraIndex(d.era)];
  return era === undefined ? undefined : era.firstYear + d.year - 1;
}

/**
 * Orders two dates when the order is determined whatever the unknown parts are: by Gregorian year,
 * then month, then day (impossible days order by their numbers). undefined when unknown parts leave it
 * open, including two equal partial dates (昭和60年 vs 1985: the days may differ). Qualifiers are ignored.
 */
export function compareJpDate(a: JpDate, b: JpDate): -1 | 0 | 1 | undefined {
  const pairs: readonly (readonly [number | undefined, number | undefined])[] = [
    [gregorianYear(a), gregorianYear(b)],
    [a.month, b.month],
    [a.day, b.day],
  ];
  for (const [x, y] of pairs) {
    if (x === undefined || y === undefined) return undefined;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Year-only masking: 昭和60年4月12日 → 昭和60年, 推定昭和40年3月 → 推定昭和40年, 1985-04-12 → 1985. */
export function maskToYear(d: JpDate): string {
  return formatParts(d, undefined, undefined);
}
