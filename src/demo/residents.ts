/**
 * The synthetic residents of the demo municipality 架空市: households of 1–6 persons living at real
 * postal addresses of one real city (towns fixture), with Japanese names (names fixture), and for each
 * person a 住民基本台帳 record plus, where it applies, a 個人住民税 and a 国民健康保険 record, in the
 * field names and values of src/schema/templates. Deterministic: the seed alone decides every byte
 * (ages are relative to the fixed DEMO_REFERENCE_DATE, never the clock). Streaming: one household is
 * held at a time. The invariants and shares are listed in src/demo/NOTES.md.
 */

import {
  ERAS, RELATIONSHIPS, atenaCheckDigit, atenaRemainderIsOne, corporateNumberCheckDigit, juminhyoCodeCheckDigit,
  myNumberCheckDigit,
} from '../schema/index.js';
import { ADDED_LAST_NAMES, FEMALE_FIRST_NAMES, LAST_NAMES, MALE_FIRST_NAMES } from './data/names.js';
import { OTHER_PREFECTURE_ROWS, TOWN_ROWS, type PostalRow } from './data/towns.js';
import { FeistelPermutation, SeededRandom } from './random.js';

export interface DemoOptions {
  readonly seed: string;
  /** The number of persons, 1 to 10,000,000; the last household may be cut short. */
  readonly residents: number;
}

export interface DemoPerson {
  /** Pseudonymous: 'p' + 16 hex digits from a keyed permutation of the person's position; no personal value goes in. */
  readonly subjectId: string;
  /** A 住民基本台帳 record (juminhyo template). */
  readonly juminhyo: Record<string, unknown>;
  /** A 個人住民税 record (kojin-juminzei template): persons aged 18 or more with income, and a few 未申告. */
  readonly tax?: Record<string, unknown>;
  /** A 国民健康保険 record (kokuho template): members under 75 of the NHI households. */
  readonly nhi?: Record<string, unknown>;
}

/** 99999 plus its 全国地方公共団体コード check digit (7); prefecture code 99 does not exist. */
export const DEMO_TENANT = { id: '999997', name: '架空市' } as const;

/** The day ages and dates are reckoned from. */
export const DEMO_REFERENCE_DATE = '2026-04-01';

/** The demo's 国民健康保険 保険者番号: fictional (prefecture 99), check digit 8 by the 2-1-2 rule. */
export const DEMO_NHI_INSURER_NUMBER = '990028';

/** The 課税年度 of the tax records. */
export const DEMO_TAX_YEAR = 2026;

export const DEMO_MAX_RESIDENTS = 10_000_000;

type NamePair = readonly [string, string];
type Sex = '男' | '女';
type Relationship = (typeof RELATIONSHIPS)[number];
type Work = 'none' | 'employee' | 'part' | 'business' | 'pension';

// ---------------------------------------------------------------------------------------------
// Calendar: day numbers (days since 1970-01-01, proleptic Gregorian; H. Hinnant's algorithms).

function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const REF = daysFromCivil(2026, 4, 1);
const YEAR = 365.2425;

/** The eras, newest first, with their first day as a day number. */
const ERA_DAYS = ERAS.map((e) => {
  const [y, m, d] = e.start.split('-').map(Number) as [number, number, number];
  return { name: e.name, firstYear: e.firstYear, lastYear: e.lastYear, start: daysFromCivil(y, m, d) };
}).reverse();

interface WarekiParts {
  readonly era: string;
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

function warekiParts(days: number): WarekiParts {
  const [y, month, day] = civilFromDays(days);
  const era = ERA_DAYS.find((e) => days >= e.start) ?? ERA_DAYS[ERA_DAYS.length - 1];
  if (era === undefined) throw new Error('no eras');
  return { era: era.name, year: y - era.firstYear + 1, month, day };
}

/** 昭和60年4月12日; 元年 as 1年 (the canonical form of the jp-date type). */
function wareki(days: number): string {
  const w = warekiParts(days);
  return `${w.era}${w.year}年${w.month}月${w.day}日`;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

function isoDate(days: number): string {
  const [y, m, d] = civilFromDays(days);
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

/** A day on which a person born that day is `age` on REF: in (REF − (age+1) years, REF − age years]. */
function birthDayForAge(r: SeededRandom, age: number): number {
  const first = daysFromCivil(2025 - age, 4, 2);
  const last = daysFromCivil(2026 - age, 4, 1);
  return r.between(first, last);
}

// ---------------------------------------------------------------------------------------------
// Names, addresses and their written variants.

const JAPANESE_SURNAMES: readonly NamePair[] = [...LAST_NAMES, ...ADDED_LAST_NAMES];

/** MJ+ / IVS variants people insist on; each must survive storage exactly. 葛󠄀 is 葛 + VS17 (U+E0100). */
const VARIANTS: Readonly<Record<string, readonly string[]>> = {
  '吉': ['\u{20BB7}'],
  '高': ['髙'],
  '崎': ['﨑'],
  '辺': ['邊', '邉'],
  '葛': ['葛\u{E0100}'],
  '斉': ['齋'],
};
const VARIANT_BASE = /[吉高崎辺葛斉]/u;

/** The name with its first variant-able character replaced, or the name unchanged. */
function withVariant(r: SeededRandom, kanji: string): string {
  const m = VARIANT_BASE.exec(kanji);
  const options = m === null ? undefined : VARIANTS[m[0]];
  if (m === null || options === undefined) return kanji;
  return kanji.slice(0, m.index) + r.pick(options) + kanji.slice(m.index + 1);
}

const KANJI_DIGITS = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'] as const;
const kanjiNumber = (n: number): string => (n <= 10 ? (n === 10 ? '十' : KANJI_DIGITS[n] ?? '') : `十${KANJI_DIGITS[n - 10] ?? ''}`);
const fullWidth = (s: string): string => s.replace(/[0-9-]/g, (c) => (c === '-' ? '－' : String.fromCharCode(c.charCodeAt(0) + 0xfee0)));

/** The block part of an address, in the ways people write it (ASCII, kanji, full-width, dashes). */
function blockNumber(r: SeededRandom): string {
  const chome = r.between(1, 6);
  const ban = r.between(1, 30);
  const go = r.between(1, 25);
  const u = r.int(100);
  if (u < 35) return `${chome}丁目${ban}番${go}号`;
  if (u < 53) return `${kanjiNumber(chome)}丁目${ban}番${go}号`;
  if (u < 68) return `${r.between(1, 2500)}番地${r.chance(0.7) ? r.between(1, 30) : ''}`;
  if (u < 76) return fullWidth(`${r.between(1, 2500)}番地${r.between(1, 30)}`);
  if (u < 86) return `${chome}-${ban}-${go}`;
  if (u < 94) return fullWidth(`${chome}-${ban}-${go}`);
  return `${chome}丁目${fullWidth(`${ban}-${go}`)}`;
}

const TOWN = TOWN_ROWS.filter((row) => row[3] !== '');
const BUILDINGS = ['コーポ架空', 'ハイツ桜', 'メゾン・ド・ソレイユ', 'グリーンハイム', 'サンライズマンション', 'レジデンス架空', '第２コーポ倉敷', 'アーバンコート'];

/** 方書: the building and room, in the ways people write it. */
function katagaki(r: SeededRandom): string {
  const building = r.pick(BUILDINGS);
  const room = `${r.between(1, 8)}${pad(r.between(1, 12), 2)}`;
  const u = r.int(10);
  if (u < 5) return `${building}${room}号室`;
  if (u < 7) return `${building}\u3000${fullWidth(room)}`;
  if (u < 9) return `${building}${r.pick(['A', 'B', 'C'])}棟${room}号室`;
  return `${building}${fullWidth(`${r.between(1, 3)}-${room}`)}`;
}

const addressIn = (r: SeededRandom, row: PostalRow): string => `${row[1]}${row[2]}${row[3]}${blockNumber(r)}`;
const postal = (row: PostalRow): string => `${row[0].slice(0, 3)}-${row[0].slice(3)}`;

// ---------------------------------------------------------------------------------------------
// Foreign residents.

interface Nationality {
  readonly name: string;
  /** Kanji names (中国, 韓国): 氏名 in kanji; otherwise 氏名 is the Latin name. [kanji, latin, katakana]. */
  readonly kanji: boolean;
  /** Spouses keep their own surname (中国, 韓国, ベトナム). */
  readonly ownSurname: boolean;
  readonly statuses: readonly string[];
  readonly surnames: readonly (readonly [string, string, string])[];
  readonly male: readonly (readonly [string, string, string])[];
  readonly female: readonly (readonly [string, string, string])[];
}

const NATIONALITIES: readonly (readonly [number, Nationality])[] = [
  [30, {
    name: 'ベトナム', kanji: false, ownSurname: true, statuses: ['技能実習', '技術・人文知識・国際業務', '留学', '永住者'],
    surnames: [['', 'NGUYEN', 'グエン'], ['', 'TRAN', 'チャン'], ['', 'LE', 'レ'], ['', 'PHAM', 'ファム'], ['', 'HOANG', 'ホアン'], ['', 'VU', 'ヴー']],
    male: [['', 'VAN AN', 'ヴァン・アン'], ['', 'DUC MINH', 'ドゥック・ミン'], ['', 'QUANG HUY', 'クアン・フイ'], ['', 'THANH TUNG', 'タイン・トゥン']],
    female: [['', 'THI LAN', 'ティ・ラン'], ['', 'THI HOA', 'ティ・ホア'], ['', 'NGOC ANH', 'ゴック・アイン'], ['', 'THU HA', 'トゥ・ハー']],
  }],
  [25, {
    name: '中国', kanji: true, ownSurname: true, statuses: ['永住者', '技術・人文知識・国際業務', '留学'],
    surnames: [['王', 'WANG', 'ワン'], ['李', 'LI', 'リ'], ['張', 'ZHANG', 'チャン'], ['劉', 'LIU', 'リュウ'], ['陳', 'CHEN', 'チェン'], ['楊', 'YANG', 'ヤン']],
    male: [['偉', 'WEI', 'ウェイ'], ['強', 'QIANG', 'チアン'], ['磊', 'LEI', 'レイ'], ['軍', 'JUN', 'ジュン']],
    female: [['芳', 'FANG', 'ファン'], ['娜', 'NA', 'ナ'], ['静', 'JING', 'ジン'], ['麗', 'LI', 'リー']],
  }],
  [15, {
    name: '韓国', kanji: true, ownSurname: true, statuses: ['特別永住者', '特別永住者', '永住者'],
    surnames: [['金', 'KIM', 'キム'], ['李', 'LEE', 'イ'], ['朴', 'PARK', 'パク'], ['崔', 'CHOI', 'チェ'], ['鄭', 'JUNG', 'チョン']],
    male: [['英洙', 'YOUNGSOO', 'ヨンス'], ['成浩', 'SUNGHO', 'ソンホ'], ['東植', 'DONGSIK', 'トンシク']],
    female: [['美英', 'MIYOUNG', 'ミヨン'], ['順子', 'SOONJA', 'スンジャ'], ['恩恵', 'EUNHYE', 'ウネ']],
  }],
  [12, {
    name: 'フィリピン', kanji: false, ownSurname: false, statuses: ['永住者', '定住者'],
    surnames: [['', 'SANTOS', 'サントス'], ['', 'REYES', 'レイエス'], ['', 'CRUZ', 'クルス'], ['', 'GARCIA', 'ガルシア'], ['', 'BAUTISTA', 'バウティスタ']],
    male: [['', 'JOSE', 'ホセ'], ['', 'MARK', 'マーク'], ['', 'JOHN PAUL', 'ジョン・ポール']],
    female: [['', 'MARIA', 'マリア'], ['', 'JOY', 'ジョイ'], ['', 'ANGELICA', 'アンジェリカ']],
  }],
  [8, {
    name: 'ブラジル', kanji: false, ownSurname: false, statuses: ['定住者', '永住者'],
    surnames: [['', 'SILVA', 'シルバ'], ['', 'SOUZA', 'ソウザ'], ['', 'OLIVEIRA', 'オリベイラ'], ['', 'PEREIRA', 'ペレイラ']],
    male: [['', 'LUCAS', 'ルーカス'], ['', 'RAFAEL', 'ハファエル'], ['', 'PEDRO', 'ペドロ']],
    female: [['', 'ANA', 'アナ'], ['', 'JULIANA', 'ジュリアナ'], ['', 'CAMILA', 'カミラ']],
  }],
  [5, {
    name: 'ネパール', kanji: false, ownSurname: false, statuses: ['留学', '技術・人文知識・国際業務', '技能'],
    surnames: [['', 'GURUNG', 'グルン'], ['', 'THAPA', 'タパ'], ['', 'SHRESTHA', 'シュレスタ'], ['', 'RAI', 'ライ']],
    male: [['', 'RAM', 'ラム'], ['', 'BIKASH', 'ビカス'], ['', 'SURESH', 'スレス']],
    female: [['', 'SITA', 'シタ'], ['', 'ANITA', 'アニタ'], ['', 'PUJA', 'プジャ']],
  }],
  [5, {
    name: '米国', kanji: false, ownSurname: false, statuses: ['技術・人文知識・国際業務', '永住者', '教育'],
    surnames: [['', 'SMITH', 'スミス'], ['', 'JOHNSON', 'ジョンソン'], ['', 'BROWN', 'ブラウン'], ['', 'MILLER', 'ミラー']],
    male: [['', 'JAMES', 'ジェームズ'], ['', 'MICHAEL', 'マイケル'], ['', 'DAVID', 'デイビッド']],
    female: [['', 'EMILY', 'エミリー'], ['', 'SARAH', 'サラ'], ['', 'JESSICA', 'ジェシカ']],
  }],
];
/** Statuses held alone (a household of one). */
const SINGLE_ONLY = new Set(['技能実習', '留学']);
/** Statuses whose family members hold 家族滞在. */
const WORK_STATUSES = new Set(['技術・人文知識・国際業務', '技能', '教育']);
/** Statuses with no 在留期間 to expire. */
const PERMANENT = new Set(['特別永住者', '永住者']);

interface ForeignName {
  readonly family: readonly [string, string, string];
  readonly given: readonly [string, string, string];
}

// ---------------------------------------------------------------------------------------------
// Households.

interface Member {
  readonly rel: Relationship;
  readonly sex: Sex;
  readonly age: number;
  readonly birth: number;
  /** 氏名 as printed (U+3000 between family and given name) and its reading. */
  name: string;
  kana: string;
  surnameKanji: string;
  formerSurname?: NamePair;
  foreignName?: ForeignName;
  alias?: NamePair;
  /** Filled for Japanese residents. */
  honseki?: string;
  hittosha?: string;
  work: Work;
  /** Annual amounts in yen. */
  salary: number;
  pension: number;
  business: number;
}

interface ForeignHousehold {
  readonly nationality: Nationality;
  readonly headStatus: string;
}

interface Household {
  readonly number: string;
  readonly members: Member[];
  readonly postalCode: string;
  readonly address: string;
  readonly katagaki?: string;
  /** The day the household moved to this address. */
  readonly arrival: number;
  /** Moved within the city (転居) rather than from another prefecture (転入). */
  readonly inCity: boolean;
  readonly previousAddress: string;
  readonly foreign?: ForeignHousehold;
  readonly nhi: boolean;
  readonly insuredSymbol: string;
  readonly insuredNumber: string;
  readonly employer?: string;
}

/** Household sizes 1–6, per 100 households (about the 2020 census shares, ≥ 6 folded into 6). */
const SIZE_WEIGHTS = [38, 28, 16, 12, 4.5, 1.5] as const;

/** [lowest age, highest age, weight]. */
type AgeBands = readonly (readonly [number, number, number])[];
const SINGLE_AGES: AgeBands = [[18, 24, 14], [25, 34, 16], [35, 44, 11], [45, 54, 11], [55, 64, 11], [65, 74, 15], [75, 84, 14], [85, 89, 6], [90, 100, 2]];
const COUPLE_HEAD_AGES: AgeBands = [[22, 29, 6], [30, 39, 17], [40, 49, 20], [50, 59, 18], [60, 69, 18], [70, 79, 14], [80, 89, 6], [90, 96, 1]];
const PARENT_ALONE_AGES: AgeBands = [[22, 34, 30], [35, 44, 35], [45, 59, 25], [60, 80, 10]];
const WITH_PARENT_AGES: AgeBands = [[25, 39, 35], [40, 54, 45], [55, 66, 20]];

function weighted(r: SeededRandom, weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  let u = r.float() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i] ?? 0;
    if (u < 0) return i;
  }
  return weights.length - 1;
}

function ageFrom(r: SeededRandom, bands: AgeBands): number {
  const band = bands[weighted(r, bands.map((b) => b[2]))];
  if (band === undefined) throw new Error('empty age bands');
  return r.between(band[0], band[1]);
}

const clampAge = (a: number): number => Math.max(0, Math.min(100, a));
const isSpouse = (rel: Relationship): boolean => rel === '妻' || rel === '夫' || rel === '妻（未届）' || rel === '夫（未届）';

/** A plan of one member before names and money: who they are to the head. */
interface Sketch {
  readonly rel: Relationship;
  readonly sex: Sex;
  readonly age: number;
  /** The 子 whose wife and children live here too (筆頭者 of their 戸籍). */
  readonly marriedSon?: true;
}

/** Ages allowed for a child of parents aged a and b: 18–45 years younger than each. */
function childAge(r: SeededRandom, parents: readonly number[]): number | undefined {
  const lo = Math.max(0, ...parents.map((p) => p - 45));
  const hi = Math.min(...parents.map((p) => p - 18));
  return hi < lo ? undefined : r.between(lo, hi);
}

const randomSex = (r: SeededRandom): Sex => (r.chance(0.5) ? '男' : '女');

/** Who lives in a household of `size`, head first. */
function sketchHousehold(r: SeededRandom, size: number, foreign: boolean): Sketch[] {
  if (size === 1) return [{ rel: '世帯主', sex: randomSex(r), age: ageFrom(r, SINGLE_AGES) }];
  const kind = r.int(100);
  if (kind < 3 && size === 2 && !foreign) {
    return [
      { rel: '世帯主', sex: randomSex(r), age: ageFrom(r, SINGLE_AGES) },
      { rel: '同居人', sex: randomSex(r), age: r.between(18, 80) },
    ];
  }
  if (kind < 8 && size <= 3 && !foreign) {
    // An adult living with an elderly parent or both.
    const head: Sketch = { rel: '世帯主', sex: randomSex(r), age: ageFrom(r, WITH_PARENT_AGES) };
    const mother: Sketch = { rel: '母', sex: '女', age: clampAge(head.age + r.between(22, 36)) };
    if (size === 2) return [head, r.chance(0.7) ? mother : { rel: '父', sex: '男', age: clampAge(head.age + r.between(24, 38)) }];
    return [head, { rel: '父', sex: '男', age: clampAge(mother.age + r.between(0, 5)) }, mother];
  }
  let head: Sketch;
  let spouse: Sketch | undefined;
  if (kind >= 8 && kind < 20) {
    // One parent and children.
    head = { rel: '世帯主', sex: r.chance(0.8) ? '女' : '男', age: ageFrom(r, PARENT_ALONE_AGES) };
  } else {
    const headSex: Sex = r.chance(0.95) ? '男' : '女';
    head = { rel: '世帯主', sex: headSex, age: ageFrom(r, COUPLE_HEAD_AGES) };
    const spouseAge = Math.max(18, clampAge(head.age + (headSex === '男' ? r.between(-8, 3) : r.between(-3, 8))));
    const unregistered = !foreign && r.chance(0.03);
    const rel: Relationship = headSex === '男' ? (unregistered ? '妻（未届）' : '妻') : unregistered ? '夫（未届）' : '夫';
    spouse = { rel, sex: headSex === '男' ? '女' : '男', age: spouseAge };
  }
  const parents = spouse === undefined ? [head.age] : [head.age, spouse.age];
  let left = size - parents.length;
  const extended: Sketch[] = [];
  const elders: Sketch[] = [];
  if (left >= 2 && !foreign && head.age >= 55 && r.chance(0.3)) {
    // Three generations: a married son, his wife and their children.
    const son = childAge(r, parents);
    if (son !== undefined && son >= 25) {
      const wife = Math.max(20, son + r.between(-5, 3));
      extended.push({ rel: '子', sex: '男', age: son, marriedSon: true }, { rel: '子の妻', sex: '女', age: wife });
      left -= 2;
      for (; left > 0; left--) {
        const g = childAge(r, [son, wife]);
        if (g === undefined) break;
        extended.push({ rel: '子の子', sex: randomSex(r), age: g });
      }
    }
  } else if (left >= 1 && !foreign && head.age <= 62 && r.chance(0.12)) {
    const parentAge = head.age + r.between(22, 38);
    if (parentAge <= 100) {
      elders.push(r.chance(0.7) ? { rel: '母', sex: '女', age: parentAge } : { rel: '父', sex: '男', age: parentAge });
      left--;
    }
  }
  const children: Sketch[] = [];
  for (; left > 0; left--) {
    const age = childAge(r, parents);
    if (age === undefined || (left === 1 && !foreign && size >= 3 && r.chance(0.02))) {
      elders.push({ rel: '同居人', sex: randomSex(r), age: r.between(18, 80) });
      continue;
    }
    children.push({ rel: '子', sex: randomSex(r), age });
  }
  children.sort((a, b) => b.age - a.age);
  // 世帯主, spouse, 子 (eldest first), the married 子 with 子の妻 and 子の子, 父/母, 同居人.
  return [head, ...(spouse === undefined ? [] : [spouse]), ...children, ...extended, ...elders];
}

// ---------------------------------------------------------------------------------------------
// Money: simplified 令和8年度 個人住民税 (令和7年分 income) for a 2級地 city; see NOTES.md.

/** 給与所得 from 給与収入 (令和7年分 給与所得控除, minimum 65万円). */
function employmentIncome(salary: number): number {
  let deduction: number;
  if (salary <= 1_900_000) deduction = 650_000;
  else if (salary <= 3_600_000) deduction = salary * 0.3 + 80_000;
  else if (salary <= 6_600_000) deduction = salary * 0.2 + 440_000;
  else if (salary <= 8_500_000) deduction = salary * 0.1 + 1_100_000;
  else deduction = 1_950_000;
  return Math.max(0, Math.floor(salary - deduction));
}

/** 雑所得 (公的年金等) for a pensioner aged 65 or more. */
function pensionIncome(pension: number): number {
  const deduction = pension <= 3_300_000 ? 1_100_000 : pension * 0.25 + 275_000;
  return Math.max(0, Math.floor(pension - deduction));
}

const totalIncome = (m: Member): number => employmentIncome(m.salary) + pensionIncome(m.pension) + m.business;

/** Whether a member counts as a dependent of the head (合計所得 58万円 or less). */
const isDependent = (m: Member): boolean => m.rel !== '世帯主' && m.rel !== '同居人' && !m.rel.endsWith('（未届）') && totalIncome(m) <= 580_000;

const roundYen = (n: number, unit: number): number => Math.floor(n / unit) * unit;

// ---------------------------------------------------------------------------------------------
// The generator.

class ResidentFactory {
  private readonly r: SeededRandom;
  private readonly subjectIds: FeistelPermutation;
  private readonly myNumbers: FeistelPermutation;
  private readonly juminhyoCodes: FeistelPermutation;
  private atenaBody: number;
  private householdBody: number;
  private insuredNumber: number;
  private readonly employers: readonly string[];
  /** The position of one person certain to be under 支援措置 (any run of 100 or more has one). */
  private readonly dvAnchor: number;

  constructor(seed: string) {
    const keys = new SeededRandom(seed, 'keys');
    this.subjectIds = new FeistelPermutation(2 ** 32, 2 ** 32, keys);
    this.myNumbers = new FeistelPermutation(100_000, 1_000_000, keys);
    this.juminhyoCodes = new FeistelPermutation(100_000, 100_000, keys);
    // Sequential 9-digit bodies from a seed-derived start: ≤ 10,000,000 persons (plus the skipped
    // remainder-1 bodies, 1 in 11) stay below 999,999,999.
    this.atenaBody = 100_000_000 + keys.int(400_000_000);
    this.householdBody = 100_000_000 + keys.int(400_000_000);
    this.insuredNumber = 1_000_000 + keys.int(1_000_000);
    this.employers = Array.from({ length: 48 }, () => {
      // 会社法人等番号-shaped base with registry-office part 9999 (none exists): fictional employers.
      const base = `9999${pad(keys.int(100_000_000), 8)}`;
      return `${corporateNumberCheckDigit(base)}${base}`;
    });
    this.dvAnchor = keys.int(100);
    this.r = new SeededRandom(seed, 'residents');
  }

  /** 9-digit body + modulus-11 check digit; bodies whose remainder is 1 are skipped. */
  private static issue(body: number): [string, number] {
    let b = body;
    while (atenaRemainderIsOne(String(b))) b++;
    const s = String(b);
    return [`${s}${atenaCheckDigit(s)}`, b + 1];
  }

  household(): Household {
    const r = this.r;
    const foreign = r.chance(0.024) ? this.foreignHousehold() : undefined;
    let size = weighted(r, SIZE_WEIGHTS) + 1;
    if (foreign !== undefined) size = SINGLE_ONLY.has(foreign.headStatus) ? 1 : Math.min(size, 4);
    let sketches = sketchHousehold(r, size, foreign !== undefined);
    if (foreign !== undefined) sketches = this.foreignAges(sketches, foreign.headStatus);
    const births = sketches.map((s) => birthDayForAge(r, s.age));
    const [number, next] = ResidentFactory.issue(this.householdBody);
    this.householdBody = next;

    const row = r.pick(TOWN);
    const head = sketches[0] as Sketch;
    // Moved in as an adult (the head is 18 or more), within the last 40 years.
    const earliest = Math.max((births[0] ?? REF) + Math.round(18 * YEAR), REF - Math.round(40 * YEAR));
    const arrival = r.between(Math.min(earliest, REF - 1), REF - 1);
    const inCity = r.chance(0.25);
    const from = inCity ? r.pick(TOWN) : r.pick(OTHER_PREFECTURE_ROWS);
    const nhiShare = head.age >= 75 ? 0.2 : head.age >= 65 ? 0.6 : 0.22;
    const nhi = foreign?.headStatus === '留学' || (foreign?.headStatus !== '技能実習' && r.chance(nhiShare));
    const h: Household = {
      number,
      members: [],
      postalCode: postal(row),
      address: addressIn(r, row),
      ...(r.chance(0.3) ? { katagaki: katagaki(r) } : {}),
      arrival,
      inCity,
      previousAddress: addressIn(r, from),
      ...(foreign === undefined ? {} : { foreign }),
      nhi,
      insuredSymbol: pad(r.between(1, 40), 2),
      insuredNumber: String(this.insuredNumber++),
      ...(nhi ? {} : { employer: r.pick(this.employers) }),
    };
    if (foreign === undefined) this.nameJapanese(h, sketches, births);
    else this.nameForeign(h, sketches, births, foreign);
    for (const m of h.members) this.assignWork(h, m);
    return h;
  }

  private foreignHousehold(): ForeignHousehold {
    const r = this.r;
    const nationality = NATIONALITIES[weighted(r, NATIONALITIES.map((n) => n[0]))]?.[1];
    if (nationality === undefined) throw new Error('no nationalities');
    return { nationality, headStatus: r.pick(nationality.statuses) };
  }

  /** Students and trainees are young adults; everyone else keeps the sketch's ages. */
  private foreignAges(sketches: Sketch[], status: string): Sketch[] {
    if (status === '留学') return sketches.map((s) => ({ ...s, age: this.r.between(18, 29) }));
    if (status === '技能実習') return sketches.map((s) => ({ ...s, age: this.r.between(19, 35) }));
    return sketches;
  }

  private nameJapanese(h: Household, sketches: readonly Sketch[], births: readonly number[]): void {
    const r = this.r;
    const family = r.pick(JAPANESE_SURNAMES);
    // ~25% of the surnames that have a variant-able character are written with the variant, family-wide.
    const familyKanji = r.chance(0.25) ? withVariant(r, family[0]) : family[0];
    const honsekiRow = r.chance(0.7) ? r.pick(TOWN) : r.pick(OTHER_PREFECTURE_ROWS);
    const honseki = `${honsekiRow[1]}${honsekiRow[2]}${honsekiRow[3]}${r.between(1, 3000)}番地`;
    let head: Member | undefined;
    let son: Member | undefined;
    let father: Member | undefined;
    sketches.forEach((s, i) => {
      const own = s.rel === '同居人' || s.rel.endsWith('（未届）');
      const surname = own ? r.pick(JAPANESE_SURNAMES) : family;
      const surnameKanji = own ? surname[0] : familyKanji;
      const given = r.pick(s.sex === '男' ? MALE_FIRST_NAMES : FEMALE_FIRST_NAMES);
      const givenKanji = r.chance(0.25) ? withVariant(r, given[0]) : given[0];
      const m: Member = {
        rel: s.rel,
        sex: s.sex,
        age: s.age,
        birth: births[i] ?? REF,
        name: `${surnameKanji}\u3000${givenKanji}`,
        kana: `${surname[1]}\u3000${given[1]}`,
        surnameKanji,
        work: 'none',
        salary: 0,
        pension: 0,
        business: 0,
      };
      if ((s.rel === '妻' || s.rel === '子の妻') && r.chance(0.05)) m.formerSurname = r.pick(JAPANESE_SURNAMES);
      if (own) {
        const row = r.pick(OTHER_PREFECTURE_ROWS);
        m.honseki = `${row[1]}${row[2]}${row[3]}${r.between(1, 3000)}番地`;
        m.hittosha = m.name;
      } else {
        m.honseki = honseki;
      }
      if (s.rel === '世帯主') head = m;
      if (s.marriedSon === true) son = m;
      if (s.rel === '父') father = m;
      h.members.push(m);
    });
    // 筆頭者: the head for the head's family; the married son for his wife and children; the father
    // (or, when he is not in the household, a deceased father of the same surname) for the head's parents.
    const parentsHittosha = father?.name ?? `${familyKanji}\u3000${r.pick(MALE_FIRST_NAMES)[0]}`;
    for (const m of h.members) {
      if (m.hittosha !== undefined) continue;
      if (m.rel === '父' || m.rel === '母') m.hittosha = parentsHittosha;
      else if (son !== undefined && (m === son || m.rel === '子の妻' || m.rel === '子の子')) m.hittosha = son.name;
      else m.hittosha = head?.name ?? m.name;
    }
  }

  private nameForeign(h: Household, sketches: readonly Sketch[], births: readonly number[], f: ForeignHousehold): void {
    const r = this.r;
    const n = f.nationality;
    const family = r.pick(n.surnames);
    const alias = f.headStatus === '特別永住者' && r.chance(0.7) ? r.pick(JAPANESE_SURNAMES) : undefined;
    sketches.forEach((s, i) => {
      const surname = isSpouse(s.rel) && n.ownSurname ? r.pick(n.surnames) : family;
      const given = r.pick(s.sex === '男' ? n.male : n.female);
      const m: Member = {
        rel: s.rel,
        sex: s.sex,
        age: s.age,
        birth: births[i] ?? REF,
        name: n.kanji ? `${surname[0]}\u3000${given[0]}` : `${surname[1]} ${given[1]}`,
        kana: `${surname[2]}\u3000${given[2]}`,
        surnameKanji: n.kanji ? surname[0] : surname[1],
        foreignName: { family: surname, given },
        work: 'none',
        salary: 0,
        pension: 0,
        business: 0,
      };
      if (alias !== undefined) {
        const aliasGiven = r.pick(s.sex === '男' ? MALE_FIRST_NAMES : FEMALE_FIRST_NAMES);
        m.alias = [`${alias[0]}\u3000${aliasGiven[0]}`, `${alias[1]}\u3000${aliasGiven[1]}`];
      }
      h.members.push(m);
    });
  }

  /** Work and annual amounts, from age, role, household insurance and 在留資格. */
  private assignWork(h: Household, m: Member): void {
    const r = this.r;
    const status = h.foreign === undefined ? undefined : m.rel === '世帯主' ? h.foreign.headStatus : undefined;
    const salary = (): number => roundYen(2_000_000 + 6_500_000 * r.float() ** 2, 1000);
    const full = (): void => {
      if (h.nhi) {
        m.work = 'business';
        m.business = roundYen(300_000 + 5_700_000 * r.float() ** 2, 1000);
      } else {
        m.work = 'employee';
        m.salary = salary();
      }
    };
    const part = (): void => {
      m.work = 'part';
      m.salary = roundYen(r.between(300_000, 1_300_000), 1000);
    };
    if (m.age < 18) return;
    if (status === '留学') {
      if (r.chance(0.7)) part();
      return;
    }
    if (status === '技能実習') {
      m.work = 'employee';
      m.salary = roundYen(r.between(1_800_000, 2_600_000), 1000);
      return;
    }
    if (m.age >= 65) {
      m.work = 'pension';
      m.pension = roundYen(r.between(600_000, 3_200_000), 1000);
      if (m.age < 75 && r.chance(0.2)) {
        if (h.nhi) m.business = roundYen(r.between(200_000, 3_000_000), 1000);
        else m.salary = roundYen(r.between(800_000, 3_500_000), 1000);
      }
      return;
    }
    if ((m.rel === '子' || m.rel === '子の子') && m.age <= 22) {
      if (r.chance(0.3)) part();
      return;
    }
    if (isSpouse(m.rel) || m.rel === '子の妻') {
      const u = r.int(100);
      if (u >= 75) full();
      else if (u >= 40) part();
      return;
    }
    if (r.chance(0.08)) return;
    if (h.nhi && r.chance(0.3)) part();
    else full();
  }

  /** The person at position `index` of the run: their records, with identifiers issued now. */
  person(h: Household, m: Member, order: number, index: number): DemoPerson {
    const r = this.r;
    const [atena, next] = ResidentFactory.issue(this.atenaBody);
    this.atenaBody = next;
    const foreign = h.foreign;
    const head = h.members[0] as Member;

    const [hi, lo] = this.subjectIds.pair(0, index);
    const subjectId = `p${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')}`;

    let myNumber: string | undefined;
    if (r.chance(0.97)) {
      const body = pad(this.myNumbers.apply(index), 11);
      myNumber = `${body}${myNumberCheckDigit(body)}`;
    }

    // Moves: born here after the household arrived, or arrived with it.
    const bornHere = m.birth >= h.arrival;
    const addressSince = bornHere ? m.birth : h.arrival;
    const residentSince = bornHere || !h.inCity ? addressSince : r.chance(0.5) ? m.birth : r.between(m.birth, h.arrival);
    const notifiedOn = Math.min(REF, addressSince + r.int(14));

    // 住民状態: a few 除票 (転出, 死亡, 職権消除), never for the head of a household that has others.
    let status = '住民';
    let removedOn: number | undefined;
    if (m.rel !== '世帯主' || h.members.length === 1) {
      const u = r.float();
      const death = m.age >= 75 ? 0.03 : 0.002;
      if (u < 0.015) status = '転出';
      else if (u < 0.015 + death) status = '死亡';
      else if (u < 0.0155 + death) status = '職権消除';
      if (status !== '住民') removedOn = r.between(Math.min(Math.max(notifiedOn, REF - 730), REF - 1), REF - 1);
    }

    const j: Record<string, unknown> = {
      atena_number: atena,
      household_number: h.number,
      resident_type: foreign === undefined ? '日本人' : '外国人',
      status,
      name: m.name,
      name_kana: m.kana,
      name_kana_confirmed: r.chance(0.8),
    };
    if (m.formerSurname !== undefined) {
      j.former_surname = m.formerSurname[0];
      j.former_surname_kana = m.formerSurname[1];
    }
    if (m.alias !== undefined) {
      j.alias = m.alias[0];
      j.alias_kana = m.alias[1];
    }
    if (m.foreignName !== undefined) j.latin_name = `${m.foreignName.family[1]} ${m.foreignName.given[1]}`;
    j.birth_date = foreign === undefined ? this.birthDate(m) : isoDate(m.birth);
    j.sex = m.sex;
    j.householder_name = head.name;
    j.relationship = m.rel;
    j.member_order = order;
    if (m.honseki !== undefined) j.honseki = m.honseki;
    if (m.hittosha !== undefined) j.hittosha = m.hittosha;
    j.local_gov_code = DEMO_TENANT.id;
    j.postal_code = h.postalCode;
    j.address = h.address;
    if (h.katagaki !== undefined) j.katagaki = h.katagaki;
    j.address_since = wareki(addressSince);
    j.resident_since = wareki(residentSince);
    j.notified_on = wareki(notifiedOn);
    if (!bornHere) j.previous_address = h.previousAddress;
    if (myNumber !== undefined) j.my_number = myNumber;
    if (foreign === undefined) {
      const body = pad(this.juminhyoCodes.apply(index), 10);
      j.juminhyo_code = `${body}${juminhyoCodeCheckDigit(body)}`;
    } else {
      const residenceStatus = m.rel === '世帯主' || !WORK_STATUSES.has(foreign.headStatus) ? foreign.headStatus : '家族滞在';
      j.nationality = foreign.nationality.name;
      j.residence_status = residenceStatus;
      j.residence_card_number = this.residenceCardNumber();
      if (!PERMANENT.has(residenceStatus)) j.residence_expiry = isoDate(REF + r.between(30, 1800));
    }

    const nhi = h.nhi && m.age < 75 ? this.nhiRecord(h, m, order, atena, j, myNumber, removedOn, status) : undefined;
    j.electoral_roll = foreign === undefined && m.age >= 18;
    j.nhi_insured = nhi !== undefined && nhi.lost_on === undefined;
    j.elderly_medical_insured = m.age >= 75;
    j.ltc_insured = m.age >= 40;
    if (m.age >= 20 && m.age <= 59) {
      j.pension_category = this.pensionCategory(h, m);
      j.basic_pension_number = `${pad(r.between(1000, 9999), 4)}-${pad(r.int(1_000_000), 6)}`;
    }
    const dv = index === this.dvAnchor || r.chance(0.001);
    j.dv_support = dv;
    if (dv) j.dv_support_until = wareki(REF + r.between(1, 365));
    if (removedOn !== undefined) j.remarks = `${wareki(removedOn)}${status}`;

    const tax = m.age >= 18 && status !== '死亡' ? this.taxRecord(h, m, j, myNumber) : undefined;
    return {
      subjectId,
      juminhyo: j,
      ...(tax === undefined ? {} : { tax }),
      ...(nhi === undefined ? {} : { nhi }),
    };
  }

  /**
   * 生年月日: exact 和暦 mostly; uncertain (不詳, 頃, 推定, month or year only) for about 1.2% of those
   * aged 60 or more and 0.2% of the others; 2月29日 of a non-leap year (accepted, not real) for 1 in 10,000.
   */
  private birthDate(m: Member): string {
    const r = this.r;
    if (r.chance(m.age >= 60 ? 0.012 : 0.002)) {
      const w = warekiParts(m.birth);
      switch (r.int(5)) {
        case 0:
          return '年月日不詳';
        case 1:
          return `${w.era}${w.year}年頃`;
        case 2:
          return `推定${w.era}${w.year}年${w.month}月`;
        case 3:
          return `${w.era}${w.year}年${w.month}月`;
        default:
          return `${w.era}${w.year}年`;
      }
    }
    if (r.chance(0.0001)) {
      const w = warekiParts(m.birth);
      const gy = w.year + (ERA_DAYS.find((e) => e.name === w.era)?.firstYear ?? 0) - 1;
      return `${w.era}${isLeap(gy) ? w.year + 1 : w.year}年2月29日`;
    }
    return wareki(m.birth);
  }

  private residenceCardNumber(): string {
    const r = this.r;
    const letter = (): string => String.fromCharCode(65 + r.int(26));
    return `${letter()}${letter()}${pad(r.int(100_000_000), 8)}${letter()}${letter()}`;
  }

  /** 第2号 employees, 第3号 their dependent spouses, 第1号 everyone else aged 20–59. */
  private pensionCategory(h: Household, m: Member): string {
    if (m.work === 'employee') return '第2号';
    const partner = m.rel === '世帯主' ? h.members.find((x) => isSpouse(x.rel)) : isSpouse(m.rel) ? h.members[0] : undefined;
    if (partner?.work === 'employee' && m.salary < 1_300_000 && m.business === 0) return '第3号';
    return '第1号';
  }

  private nhiRecord(
    h: Household, m: Member, order: number, atena: string, j: Record<string, unknown>, myNumber: string | undefined,
    removedOn: number | undefined, status: string,
  ): Record<string, unknown> {
    const r = this.r;
    let acquired: number;
    let reason: string;
    if (m.birth >= h.arrival) {
      acquired = m.birth;
      reason = '出生';
    } else if (!h.inCity && r.chance(0.5)) {
      acquired = h.arrival;
      reason = '転入';
    } else {
      const from = Math.max(h.arrival, m.birth + Math.round(18 * YEAR));
      acquired = from < REF ? r.between(from, REF - 1) : h.arrival;
      reason = from < REF ? (r.chance(0.9) ? '社保離脱' : '生保廃止') : 'その他';
    }
    const copayment = m.age < 6 ? '2割' : m.age >= 70 ? (r.chance(0.1) ? '3割' : '2割') : '3割';
    const rec: Record<string, unknown> = {
      atena_number: atena,
      household_number: h.number,
      insurer_number: DEMO_NHI_INSURER_NUMBER,
      insured_symbol: h.insuredSymbol,
      insured_number: h.insuredNumber,
      branch_number: pad(order, 2),
      name: j.name,
      name_kana: j.name_kana,
      birth_date: j.birth_date,
    };
    if (myNumber !== undefined) rec.my_number = myNumber;
    rec.householder = m.rel === '世帯主';
    rec.acquired_on = wareki(acquired);
    rec.acquisition_reason = reason;
    if (removedOn !== undefined) {
      rec.lost_on = wareki(Math.max(removedOn, acquired));
      rec.loss_reason = status === '転出' ? '転出' : status === '死亡' ? '死亡' : 'その他';
    }
    rec.copayment = copayment;
    return rec;
  }

  private taxRecord(h: Household, m: Member, j: Record<string, unknown>, myNumber: string | undefined): Record<string, unknown> | undefined {
    const r = this.r;
    const total = totalIncome(m);
    const earns = m.salary + m.pension + m.business > 0;
    if (!earns && !r.chance(0.03)) return undefined;
    const rec: Record<string, unknown> = {
      atena_number: j.atena_number,
      tax_year: DEMO_TAX_YEAR,
      name: j.name,
      name_kana: j.name_kana,
    };
    if (myNumber !== undefined) rec.my_number = myNumber;
    if (!earns) {
      rec.status = '未申告';
      return rec;
    }
    const dependents = m.rel === '世帯主' ? h.members.filter(isDependent).length : 0;
    const disability = r.chance(m.age >= 65 ? 0.05 : 0.015);
    // 非課税: 均等割 limit of a 2級地 city; 65+ or disabled with 合計所得 ≤ 135万円.
    const perCapitaLimit = dependents === 0 ? 415_000 : 315_000 * (dependents + 1) + 100_000 + 189_000;
    const incomeLimit = dependents === 0 ? 450_000 : 350_000 * (dependents + 1) + 100_000 + 320_000;
    const exempt = total <= perCapitaLimit || ((m.age >= 65 || disability) && total <= 1_350_000);
    const dependentsAged16 = m.rel === '世帯主' ? h.members.filter((x) => isDependent(x) && x.age >= 16).length : 0;
    const deductions = 430_000 + Math.floor((m.salary + m.business) * 0.15) + 330_000 * dependentsAged16 + (disability ? 260_000 : 0);
    const taxable = exempt ? 0 : roundYen(Math.max(0, total - deductions), 1000);
    const levy = exempt || total <= incomeLimit ? 0 : roundYen(Math.max(0, taxable * 0.1 - 2_500), 100);
    rec.total_income = String(total);
    rec.taxable_income = String(taxable);
    rec.income_levy = String(levy);
    rec.per_capita_levy = exempt ? '0' : '5000';
    if (!exempt) {
      const method = m.salary > 0 && !h.nhi ? '特別徴収' : m.pension > 0 && m.salary === 0 && m.business === 0 ? '年金特別徴収' : '普通徴収';
      rec.collection_method = method;
      if (method === '特別徴収' && h.employer !== undefined) {
        // Most earners work for the household's usual employer pool member; others elsewhere.
        rec.employer_corporate_number = m.rel === '世帯主' ? h.employer : r.pick(this.employers);
      }
    }
    rec.dependents = dependents;
    rec.disability_deduction = disability;
    rec.status = exempt ? '非課税' : '課税';
    return rec;
  }
}

/**
 * Yields `residents` synthetic persons, household by household (the last may be cut short), the same
 * sequence for the same seed on any machine. Throws RangeError for an empty seed or a count outside
 * 1–10,000,000.
 */
export function* generateResidents(options: DemoOptions): Generator<DemoPerson> {
  const { seed, residents } = options;
  if (typeof seed !== 'string' || seed.length === 0) throw new RangeError('seed must be a non-empty string');
  if (!Number.isSafeInteger(residents) || residents < 1 || residents > DEMO_MAX_RESIDENTS) {
    throw new RangeError(`residents must be an integer from 1 to ${DEMO_MAX_RESIDENTS}`);
  }
  const factory = new ResidentFactory(seed);
  let index = 0;
  for (;;) {
    const h = factory.household();
    for (let i = 0; i < h.members.length; i++) {
      yield factory.person(h, h.members[i] as Member, i + 1, index);
      if (++index === residents) return;
    }
  }
}
