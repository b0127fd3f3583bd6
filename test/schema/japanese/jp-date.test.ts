import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ERAS,
  compareJpDate,
  formatJpDate,
  gregorianYear,
  maskToYear,
  parseJpDate,
  type JpDate,
  type JpDateProblem,
} from '../../../src/schema/japanese/jp-date.js';

type EraName = NonNullable<JpDate['era']>;

// The test's own era spans (UTC ms, end exclusive), written from the 元号 transitions, not from ERAS.
const SPANS: readonly { name: EraName; letter: string; first: number; last: number; from: number; until: number }[] = [
  { name: '明治', letter: 'M', first: 1868, last: 45, from: Date.UTC(1868, 0, 1), until: Date.UTC(1912, 6, 30) },
  { name: '大正', letter: 'T', first: 1912, last: 15, from: Date.UTC(1912, 6, 30), until: Date.UTC(1926, 11, 25) },
  { name: '昭和', letter: 'S', first: 1926, last: 64, from: Date.UTC(1926, 11, 25), until: Date.UTC(1989, 0, 8) },
  { name: '平成', letter: 'H', first: 1989, last: 31, from: Date.UTC(1989, 0, 8), until: Date.UTC(2019, 4, 1) },
  { name: '令和', letter: 'R', first: 2019, last: 99, from: Date.UTC(2019, 4, 1), until: Infinity },
];
const span = (name: EraName) => SPANS.find((s) => s.name === name)!;

/** Days in a Gregorian month, from Date (setUTCFullYear keeps years below 100 as written). */
function gregorianDays(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return d.getUTCDate();
}

/** Independent real-ness of a wareki day: a real Gregorian day inside the era's span. */
function expectedReal(name: EraName, y: number, m: number, d: number): boolean {
  const s = span(name);
  const gy = s.first + y - 1;
  if (d > gregorianDays(gy, m)) return false;
  const t = Date.UTC(gy, m - 1, d);
  return t >= s.from && t < s.until;
}

function parsed(input: string): JpDate {
  const r = parseJpDate(input);
  assert.ok(!('problem' in r), `expected a date for ${JSON.stringify(input)}, got ${JSON.stringify(r)}`);
  return r;
}
const canon = (input: string): string => formatJpDate(parsed(input));

describe('parseJpDate: accepted forms and their canonical text', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['昭和60年4月12日', '昭和60年4月12日'],
    ['昭和６０年４月１２日', '昭和60年4月12日'],
    ['　昭和 60年 4月 12日 ', '昭和60年4月12日'],
    ['令和元年5月1日', '令和1年5月1日'],
    ['S60.4.12', '昭和60年4月12日'],
    ['S60/04/12', '昭和60年4月12日'],
    ['S60-4-12', '昭和60年4月12日'],
    ['s60.4.12', '昭和60年4月12日'],
    ['Ｓ６０．４．１２', '昭和60年4月12日'],
    ['H1.1.8', '平成1年1月8日'],
    ['M45.7.29', '明治45年7月29日'],
    ['T1.7.30', '大正1年7月30日'],
    ['R5.3', '令和5年3月'],
    ['R5', '令和5年'],
    ['㍼60年4月12日', '昭和60年4月12日'],
    ['昭和60年4月', '昭和60年4月'],
    ['昭和60年', '昭和60年'],
    ['1985-04-12', '1985-04-12'],
    ['1985/4/12', '1985-04-12'],
    ['1985年4月12日', '1985-04-12'],
    ['1985年4月', '1985-04'],
    ['1985-04', '1985-04'],
    ['1985年', '1985'],
    ['1985', '1985'],
    ['１９８５－０４－１２', '1985-04-12'],
    ['年月日不詳', '年月日不詳'],
    ['不詳', '年月日不詳'],
    ['生年月日不詳', '年月日不詳'],
    ['昭和60年不詳', '昭和60年'],
    ['昭和60年月日不詳', '昭和60年'],
    ['昭和60年4月不詳', '昭和60年4月'],
    ['昭和60年4月日不詳', '昭和60年4月'],
    ['1985年4月不詳', '1985-04'],
    ['令和5年頃', '令和5年頃'],
    ['昭和60年4月頃', '昭和60年4月頃'],
    ['推定令和5年3月', '推定令和5年3月'],
    ['推定 昭和40年', '推定昭和40年'],
    ['推定S40.3', '推定昭和40年3月'],
    ['1985年頃', '1985頃'],
    ['1985頃', '1985頃'],
    ['推定1985-03', '推定1985-03'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${expected}`, () => assert.equal(canon(input), expected));
  }

  test('values carry exactly the parts given', () => {
    assert.deepEqual(parseJpDate('昭和60年4月12日'), {
      calendar: 'wareki', era: '昭和', year: 60, month: 4, day: 12, qualifier: 'exact', real: true,
    });
    assert.deepEqual(parseJpDate('令和元年5月1日'), {
      calendar: 'wareki', era: '令和', year: 1, month: 5, day: 1, qualifier: 'exact', real: true,
    });
    assert.deepEqual(parseJpDate('1985/4/12'), {
      calendar: 'seireki', year: 1985, month: 4, day: 12, qualifier: 'exact', real: true,
    });
    assert.deepEqual(parseJpDate('昭和60年4月不詳'), {
      calendar: 'wareki', era: '昭和', year: 60, month: 4, qualifier: 'exact', real: false,
    });
    assert.deepEqual(parseJpDate('推定1985'), { calendar: 'seireki', year: 1985, qualifier: 'estimated', real: false });
    assert.deepEqual(parseJpDate('令和5年頃'), {
      calendar: 'wareki', era: '令和', year: 5, qualifier: 'approximate', real: false,
    });
    assert.deepEqual(parseJpDate('生年月日不詳'), { calendar: 'wareki', qualifier: 'exact', real: false });
    const d = parsed('昭和60年');
    assert.ok(!('month' in d) && !('day' in d), 'absent parts are absent keys, not undefined values');
  });
});

describe('parseJpDate: problems are values', () => {
  const cases: readonly (readonly [string, JpDateProblem])[] = [
    ['', 'not_a_date'],
    ['hello', 'not_a_date'],
    ['昭和60年4月12日x', 'not_a_date'],
    ['x昭和60年4月12日', 'not_a_date'],
    ['-1985', 'not_a_date'],
    ['1985-4-', 'not_a_date'],
    ['1985-04/12', 'not_a_date'],
    ['昭和-1年', 'not_a_date'],
    ['85', 'not_a_date'],
    ['0000', 'not_a_date'],
    ['19850', 'not_a_date'],
    ['元年', 'not_a_date'],
    ['推定年月日不詳', 'not_a_date'],
    ['推定昭和60年頃', 'not_a_date'],
    ['昭和60年4月12日不詳', 'not_a_date'],
    ['昭和', 'not_a_date'],
    ['慶応3年', 'unknown_era'],
    ['X60.4.12', 'unknown_era'],
    ['昭和0年', 'era_year_out_of_range'],
    ['S0.1.1', 'era_year_out_of_range'],
    ['明治46年', 'era_year_out_of_range'],
    ['大正16年', 'era_year_out_of_range'],
    ['昭和65年', 'era_year_out_of_range'],
    ['平成32年', 'era_year_out_of_range'],
    ['令和100年', 'era_year_out_of_range'],
    ['昭和60年13月', 'month_out_of_range'],
    ['昭和60年0月', 'month_out_of_range'],
    ['1985-13', 'month_out_of_range'],
    ['平成31年2月30日', 'day_out_of_range'],
    ['昭和60年4月31日', 'day_out_of_range'],
    ['昭和60年4月0日', 'day_out_of_range'],
    ['1985-02-29', 'day_out_of_range'],
    ['1900-02-29', 'day_out_of_range'],
    ['1985-04-31', 'day_out_of_range'],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${expected}`, () => assert.deepEqual(parseJpDate(input), { problem: expected }));
  }

  test('the bounds themselves are accepted', () => {
    for (const s of SPANS) assert.equal(canon(`${s.name}${s.last}年`), `${s.name}${s.last}年`);
    for (const t of ['昭和60年12月31日', '2000-02-29', '0001-01-01', '9999-12-31']) assert.equal(canon(t), t);
  });

  test('long or non-string input is a problem, not an exception', () => {
    assert.deepEqual(parseJpDate('1'.repeat(10_000)), { problem: 'not_a_date' });
    assert.deepEqual(parseJpDate(42 as unknown as string), { problem: 'not_a_date' });
  });
});

describe('real: impossible dates are kept, and flagged', () => {
  const boundary: readonly (readonly [string, boolean])[] = [
    ['明治45年7月29日', true],
    ['明治45年7月30日', false],
    ['大正元年7月29日', false],
    ['大正元年7月30日', true],
    ['大正15年12月24日', true],
    ['大正15年12月25日', false],
    ['昭和元年12月24日', false],
    ['昭和元年12月25日', true],
    ['昭和64年1月7日', true],
    ['昭和64年1月8日', false],
    ['平成元年1月7日', false],
    ['平成元年1月8日', true],
    ['平成31年4月30日', true],
    ['平成31年5月1日', false],
    ['令和元年4月30日', false],
    ['令和元年4月1日', false],
    ['令和元年5月1日', true],
    ['平成31年2月29日', false],
    ['平成28年2月29日', true],
    ['明治33年2月29日', false],
    ['昭和64年12月31日', false],
    ['明治元年1月1日', true],
  ];
  for (const [input, real] of boundary) {
    test(`${input}: real=${real}`, () => {
      const d = parsed(input);
      assert.equal(d.real, real);
      assert.equal(d.real, expectedReal(d.era!, d.year!, d.month!, d.day!));
    });
  }

  test('impossible wareki dates keep their text', () => {
    for (const t of ['明治45年7月30日', '大正15年12月25日', '平成31年2月29日', '平成31年5月1日', '令和1年4月1日']) {
      assert.equal(canon(t), t);
    }
  });

  test('partial and unknown dates are never real; complete seireki dates always are', () => {
    for (const t of ['昭和60年', '昭和60年4月', '1985', '1985-04', '年月日不詳']) assert.equal(parsed(t).real, false);
    for (const t of ['1985-04-12', '1066-10-14', '推定1985-04-12']) assert.equal(parsed(t).real, true);
  });
});

describe('gregorianYear', () => {
  test('era years map from 元年; seireki is itself; unknown is undefined', () => {
    assert.equal(gregorianYear(parsed('明治元年')), 1868);
    assert.equal(gregorianYear(parsed('大正元年')), 1912);
    assert.equal(gregorianYear(parsed('明治45年')), 1912);
    assert.equal(gregorianYear(parsed('昭和60年4月12日')), 1985);
    assert.equal(gregorianYear(parsed('昭和64年')), 1989);
    assert.equal(gregorianYear(parsed('平成31年2月29日')), 2019);
    assert.equal(gregorianYear(parsed('令和5年頃')), 2023);
    assert.equal(gregorianYear(parsed('1985-04')), 1985);
    assert.equal(gregorianYear(parsed('年月日不詳')), undefined);
  });

  test('ERAS agrees with the transitions', () => {
    assert.deepEqual(ERAS.map((e) => [e.name, e.letter, e.firstYear, e.lastYear]), SPANS.map((s) => [s.name, s.letter, s.first, s.last]));
    for (const [i, e] of ERAS.entries()) assert.equal(Date.parse(`${e.start}T00:00:00Z`), SPANS[i]!.from);
  });
});

describe('compareJpDate', () => {
  const cmp = (a: string, b: string) => compareJpDate(parsed(a), parsed(b));

  test('orders by Gregorian year, month, day across calendars', () => {
    assert.equal(cmp('昭和60年4月12日', '1985-04-12'), 0);
    assert.equal(cmp('昭和60年4月12日', '1985-04-13'), -1);
    assert.equal(cmp('平成元年1月8日', '昭和63年12月31日'), 1);
    assert.equal(cmp('明治45年7月30日', '大正元年7月30日'), 0);
    assert.equal(cmp('S64.1.7', 'H1.1.8'), -1);
  });

  test('impossible days order by their numbers', () => {
    assert.equal(cmp('平成31年2月29日', '平成31年2月28日'), 1);
    assert.equal(cmp('平成31年2月29日', '平成31年3月1日'), -1);
    assert.equal(cmp('平成31年2月29日', '2019-03-01'), -1);
  });

  test('determined despite unknown parts when a known part already decides', () => {
    assert.equal(cmp('昭和60年', '1986-01-01'), -1);
    assert.equal(cmp('昭和60年3月', '昭和60年4月1日'), -1);
    assert.equal(cmp('1985-05', '昭和60年4月不詳'), 1);
  });

  test('undetermined when unknown parts could go either way', () => {
    assert.equal(cmp('昭和60年不詳', '昭和60年4月1日'), undefined);
    assert.equal(cmp('昭和60年4月', '昭和60年4月1日'), undefined);
    assert.equal(cmp('昭和60年', '1985'), undefined);
    assert.equal(cmp('年月日不詳', '昭和60年4月1日'), undefined);
    assert.equal(cmp('1985-04-01', '年月日不詳'), undefined);
  });

  test('qualifiers are ignored', () => {
    assert.equal(cmp('推定昭和60年4月12日', '昭和60年4月12日頃'), 0);
    assert.equal(cmp('令和5年頃', '推定令和6年'), -1);
  });
});

describe('maskToYear', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['昭和60年4月12日', '昭和60年'],
    ['推定昭和40年3月', '推定昭和40年'],
    ['令和5年4月頃', '令和5年頃'],
    ['令和元年5月1日', '令和1年'],
    ['1985-04-12', '1985'],
    ['推定1985-04', '推定1985'],
    ['年月日不詳', '年月日不詳'],
    ['平成31年2月29日', '平成31年'],
  ];
  for (const [input, expected] of cases) test(`${input} → ${expected}`, () => assert.equal(maskToYear(parsed(input)), expected));
});

// ---- properties ----

const qualifierArb = fc.constantFrom('exact', 'approximate', 'estimated') as fc.Arbitrary<JpDate['qualifier']>;

/** Optional month and day; max day per month given by `days`. Returns [] / [m] / [m, d]. */
const monthDay = (days: (m: number) => number) =>
  fc.oneof(
    fc.constant([] as number[]),
    fc.integer({ min: 1, max: 12 }).map((m) => [m]),
    fc.integer({ min: 1, max: 12 }).chain((m) => fc.integer({ min: 1, max: days(m) }).map((d) => [m, d])),
  );

const warekiArb: fc.Arbitrary<JpDate> = fc.constantFrom(...SPANS).chain((s) =>
  fc.tuple(fc.integer({ min: 1, max: s.last }), monthDay((m) => gregorianDays(2000, m)), qualifierArb).map(([year, md, qualifier]) => {
    const [month, day] = md;
    return {
      calendar: 'wareki' as const, era: s.name, year,
      ...(month === undefined ? {} : { month }),
      ...(day === undefined ? {} : { day }),
      qualifier,
      real: month !== undefined && day !== undefined && expectedReal(s.name, year, month, day),
    };
  }),
);

const seirekiArb: fc.Arbitrary<JpDate> = fc.integer({ min: 1, max: 9999 }).chain((year) =>
  fc.tuple(monthDay((m) => gregorianDays(year, m)), qualifierArb).map(([md, qualifier]) => {
    const [month, day] = md;
    return {
      calendar: 'seireki' as const, year,
      ...(month === undefined ? {} : { month }),
      ...(day === undefined ? {} : { day }),
      qualifier,
      real: day !== undefined,
    };
  }),
);

const unknownArb: fc.Arbitrary<JpDate> = fc.constant({ calendar: 'wareki', qualifier: 'exact', real: false });

/** Text shaped like a date, with the variations the parser accepts (and many it rejects). */
const shapedTextArb = fc
  .tuple(
    fc.constantFrom('', '推定', ' 推定 '),
    fc.constantFrom('', '昭和', '平成', '令和', '明治', '大正', 'S', 'h', 'Ｒ', '㍻', '慶応'),
    fc.constantFrom('元', '1', '01', '31', '45', '６４', '99', '1985', '2000', '0'),
    fc.constantFrom('', '2', '02', '１２', '13'),
    fc.constantFrom('', '1', '29', '30', '３１'),
    fc.constantFrom('年', '.', '/', '-'),
    fc.constantFrom('', '不詳', '日不詳', '月日不詳'),
    fc.constantFrom('', '頃', ' 頃'),
  )
  .map(([pre, era, y, m, d, sep, unknown, post]) => {
    const kanji = sep === '年';
    const dayPart = d === '' ? unknown : kanji ? `${d}日` : `${sep}${d}`;
    const monthPart = m === '' ? unknown : kanji ? `${m}月${dayPart}` : `${sep}${m}${dayPart}`;
    return `${pre}${era}${y}${kanji ? '年' : ''}${monthPart}${post}`;
  });

/** Token soup: mostly not dates. */
const tokenTextArb = fc
  .array(
    fc.constantFrom(
      '昭和', '平成', '令和', '明治', '大正', '慶応', 'S', 'h', 'Ｒ', '推定', '頃', '年', '月', '日', '不詳', '生', '元',
      '0', '1', '2', '6', '9', '12', '31', '60', '1985', '２', '-', '/', '.', '－', ' ', '\u3000', 'x',
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

const textArb = fc.oneof(fc.string(), tokenTextArb, { weight: 6, arbitrary: shapedTextArb });

describe('properties', () => {
  test('parse(format(d)) deep-equals d for valid values', () => {
    fc.assert(
      fc.property(fc.oneof(warekiArb, seirekiArb, unknownArb), (d) => {
        assert.deepEqual(parseJpDate(formatJpDate(d)), d);
      }),
      { numRuns: 2000 },
    );
  });

  test('format(parse(x)) is a fixed point for any text that parses', () => {
    let parsedCount = 0;
    fc.assert(
      fc.property(textArb, (x) => {
        const r = parseJpDate(x);
        if ('problem' in r) return;
        parsedCount++;
        const text = formatJpDate(r);
        const again = parseJpDate(text);
        assert.ok(!('problem' in again), text);
        assert.deepEqual(again, r);
        assert.equal(formatJpDate(again), text);
      }),
      { numRuns: 5000 },
    );
    assert.ok(parsedCount > 300, `too few generated strings parsed (${parsedCount})`);
  });

  // Real Gregorian days 1873–2099 (after the lunisolar calendar ended), as UTC ms.
  const dayArb = fc
    .integer({ min: Date.UTC(1873, 0, 1) / 86_400_000, max: Date.UTC(2099, 11, 31) / 86_400_000 })
    .map((n) => new Date(n * 86_400_000));
  const toWareki = (t: Date): { text: string; iso: string } => {
    const ms = t.getTime();
    const s = SPANS.find((x) => ms >= x.from && ms < x.until)!;
    const [y, m, d] = [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate()];
    const iso = t.toISOString().slice(0, 10);
    return { text: `${s.name}${y - s.first + 1}年${m}月${d}日`, iso };
  };

  test('real days written in wareki by the era table: real, same Gregorian year, same order as ISO', () => {
    fc.assert(
      fc.property(dayArb, dayArb, (ta, tb) => {
        const a = toWareki(ta);
        const b = toWareki(tb);
        const da = parsed(a.text);
        const db = parsed(b.text);
        assert.equal(da.real, true, a.text);
        assert.equal(gregorianYear(da), ta.getUTCFullYear());
        assert.equal(compareJpDate(da, parsed(a.iso)), 0);
        const expected = a.iso < b.iso ? -1 : a.iso > b.iso ? 1 : 0;
        assert.equal(compareJpDate(da, db), expected);
        assert.equal(compareJpDate(db, da), -expected || 0);
      }),
      { numRuns: 2000 },
    );
  });
});
