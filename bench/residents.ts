/**
 * Synthetic residents for the ingest benchmark: a 10-field resident schema, 6 personal fields,
 * 3 searchable. Deterministic for a given index, so every scenario writes the same data.
 * Entirely fictional; no value is a real person's.
 */
export const RESIDENT_BENCH_SCHEMA = {
  fields: [
    { name: 'family_name', type: 'string', required: true, searchable: true, classification: 'personal' },
    { name: 'given_name', type: 'string', required: true, classification: 'personal' },
    { name: 'family_kana', type: 'string', searchable: true, classification: 'personal' },
    { name: 'birth_date', type: 'date', searchable: true, classification: 'personal' },
    { name: 'address', type: 'string', classification: 'personal' },
    { name: 'phone', type: 'string', classification: 'personal' },
    { name: 'sex', type: 'enum', values: ['1', '2', '9'], classification: 'public' },
    { name: 'household_id', type: 'string', classification: 'public' },
    { name: 'status', type: 'enum', values: ['active', 'moved_out', 'deceased'], classification: 'public' },
    { name: 'registered_on', type: 'date', classification: 'public' },
  ],
} as const;

export const FIELD_NAMES = RESIDENT_BENCH_SCHEMA.fields.map((f) => f.name);

const FAMILY = ['山田', '佐藤', '鈴木', '高橋', '田中', '伊藤', '渡辺', '中村', '小林', '加藤', '吉田', '山本', '髙橋', '𠮷田', '斎藤'];
const KANA = ['ヤマダ', 'サトウ', 'スズキ', 'タカハシ', 'タナカ', 'イトウ', 'ワタナベ', 'ナカムラ', 'コバヤシ', 'カトウ', 'ヨシダ', 'ヤマモト', 'タカハシ', 'ヨシダ', 'サイトウ'];
const GIVEN = ['太郎', '花子', '一郎', '美咲', '健太', '陽菜', '大輝', '結衣', '翔太', '葵', '蓮', '凛'];
const TOWNS = ['千代田一丁目', '丸の内二丁目', '大手町三丁目', '霞が関一丁目', '永田町二丁目', '神田小川町三丁目'];

export interface ResidentRow {
  readonly subjectId: string;
  readonly fields: Record<string, string>;
}

export function resident(i: number): ResidentRow {
  const f = i % FAMILY.length;
  const day = 1 + (i % 28);
  const month = 1 + ((i >> 5) % 12);
  const year = 1930 + (i % 90);
  return {
    subjectId: `p${i.toString(36).padStart(8, '0')}`,
    fields: {
      family_name: FAMILY[f] as string,
      given_name: `${GIVEN[i % GIVEN.length]}${i % 97}`,
      family_kana: KANA[f] as string,
      birth_date: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
      address: `東京都千代田区${TOWNS[i % TOWNS.length]}${1 + (i % 30)}番${1 + (i % 20)}号 架空ハイツ${100 + (i % 900)}`,
      phone: `03-${String(1000 + (i % 9000))}-${String(i % 10000).padStart(4, '0')}`,
      sex: ['1', '2', '9'][i % 3] as string,
      household_id: `h${Math.floor(i / 3).toString(36)}`,
      status: i % 50 === 0 ? 'moved_out' : 'active',
      registered_on: `20${String(10 + (i % 15)).padStart(2, '0')}-04-01`,
    },
  };
}

/** The CSV line of a resident (no quoting needed: the generator emits no commas, quotes or newlines). */
export function residentCsvLine(i: number): string {
  const r = resident(i);
  return `${r.subjectId},${FIELD_NAMES.map((n) => r.fields[n]).join(',')}\n`;
}

export const CSV_HEADER = `subject_id,${FIELD_NAMES.join(',')}\n`;
