import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CLASSIFICATIONS, FIELD_TYPES, JP_IDENTIFIER_TYPES, MASKS, RELATIONSHIPS, SCHEMA_TEMPLATES, SCHEMA_TEMPLATE_NAMES,
  classificationAtLeast, normaliseForIndex, parseCollectionSchema, validateRecord,
  type Classification, type CollectionSchema, type FieldDef, type FieldType, type Mask,
} from '../../src/schema/index.js';
import { KurabanError } from '../../src/errors/index.js';

function refused(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KurabanError, String(e));
    assert.equal(e.code, 'SCHEMA_INVALID', e.message);
    return e.details.map((d) => `${d.field ?? ''}:${d.reason}`);
  }
  assert.fail('expected the schema to be refused');
}
const problems = (input: unknown) => refused(() => parseCollectionSchema(input));
const one = (f: Record<string, unknown>) => problems({ fields: [f] });

/** The options a type needs to parse at all (enum values, object fields). */
function minimal(type: FieldType): Record<string, unknown> {
  if (type === 'enum') return { name: 'f', type, values: ['x'] };
  if (type === 'object') return { name: 'f', type, fields: [{ name: 'x', type: 'string' }] };
  return { name: 'f', type };
}
const parseOne = (f: Record<string, unknown>): FieldDef => {
  const def = parseCollectionSchema({ fields: [f] }).fields[0];
  assert.ok(def);
  return def;
};

/** A synthetic My Number (made-up body, check digit computed here with weights 6,5,4,3,2,7,6,5,4,3,2). */
function synthMyNumber(body11: string): string {
  const w = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
  const r = Array.from(body11).reduce((s, c, i) => s + Number(c) * (w[i] as number), 0) % 11;
  return `${body11}${r <= 1 ? 0 : 11 - r}`;
}
const MY = synthMyNumber('12345678901'); // 123456789018

describe('Japanese field types in a schema', () => {
  test('every Japanese type is a field type', () => {
    for (const t of [...JP_IDENTIFIER_TYPES, 'jp-date', 'kana'] as const) assert.ok((FIELD_TYPES as readonly string[]).includes(t), t);
  });

  test('defaults per type: classification, mask, folds', () => {
    const base = { required: false, searchable: false, unique: false };
    const expected: Readonly<Record<string, Omit<FieldDef, 'name' | 'type' | 'required' | 'searchable' | 'unique'>>> = {
      'my-number': { classification: 'my-number', mask: 'last4' },
      'juminhyo-code': { classification: 'sensitive', mask: 'last4' },
      'atena-number': { classification: 'personal', mask: 'last4' },
      'household-number': { classification: 'personal', mask: 'last4' },
      'local-gov-code': { classification: 'public', mask: 'redact' },
      'corporate-number': { classification: 'public', mask: 'redact' },
      'insurer-number': { classification: 'public', mask: 'redact' },
      'postal-code': { classification: 'personal', mask: 'redact' },
      phone: { classification: 'personal', mask: 'last4' },
      'jp-date': { classification: 'personal', mask: 'year' },
      kana: { classification: 'personal', mask: 'initial', fold: ['kana', 'space'], maxLength: 1000 },
    };
    for (const [type, rest] of Object.entries(expected)) {
      assert.deepEqual(parseOne({ name: 'f', type }), { name: 'f', type, ...base, ...rest }, type);
    }
    // Generic types are unchanged: no fold unless asked.
    assert.equal(parseOne({ name: 'f', type: 'string' }).fold, undefined);
    assert.equal(parseOne({ name: 'f', type: 'date' }).mask, 'year');
  });

  test('my-number cannot be declared below my-number', () => {
    for (const classification of ['public', 'personal', 'sensitive']) {
      assert.deepEqual(one({ name: 'mn', type: 'my-number', classification }), ['mn:classification_below_type_minimum'], classification);
    }
    assert.equal(parseOne({ name: 'mn', type: 'my-number', classification: 'my-number' }).classification, 'my-number');
  });

  test('juminhyo-code cannot go below personal, but may be lowered from sensitive to personal or raised', () => {
    assert.deepEqual(one({ name: 'jc', type: 'juminhyo-code', classification: 'public' }), ['jc:classification_below_type_minimum']);
    for (const c of ['personal', 'sensitive', 'my-number'] as const) assert.equal(parseOne({ name: 'jc', type: 'juminhyo-code', classification: c }).classification, c);
  });

  test('every type and classification: accepted exactly when at least the type minimum', () => {
    const MINIMUM: Partial<Record<FieldType, Classification>> = { 'my-number': 'my-number', 'juminhyo-code': 'personal' };
    const RANK = ['public', 'personal', 'sensitive', 'my-number'];
    for (const type of FIELD_TYPES) {
      for (const c of CLASSIFICATIONS) {
        const min = MINIMUM[type];
        const ok = min === undefined || RANK.indexOf(c) >= RANK.indexOf(min);
        assert.equal(classificationAtLeast(c, min ?? 'public'), ok);
        if (ok) assert.equal(parseOne({ ...minimal(type), classification: c }).classification, c, `${type} ${c}`);
        else assert.deepEqual(one({ ...minimal(type), classification: c }), ['f:classification_below_type_minimum'], `${type} ${c}`);
      }
    }
  });

  test('masks allowed per type', () => {
    const ALLOWED: Readonly<Record<FieldType, readonly Mask[]>> = {
      string: ['last4', 'initial', 'redact'],
      kana: ['last4', 'initial', 'redact'],
      integer: ['redact'],
      decimal: ['redact'],
      boolean: ['redact'],
      enum: ['redact'],
      object: ['redact'],
      date: ['year', 'redact'],
      'jp-date': ['year', 'redact'],
      'my-number': ['last4', 'redact'],
      'juminhyo-code': ['last4', 'redact'],
      'atena-number': ['last4', 'redact'],
      'household-number': ['last4', 'redact'],
      'local-gov-code': ['last4', 'redact'],
      'corporate-number': ['last4', 'redact'],
      'insurer-number': ['last4', 'redact'],
      'postal-code': ['last4', 'redact'],
      phone: ['last4', 'redact'],
    };
    for (const type of FIELD_TYPES) {
      for (const mask of MASKS) {
        if (ALLOWED[type].includes(mask)) assert.equal(parseOne({ ...minimal(type), mask }).mask, mask, `${type} ${mask}`);
        else assert.deepEqual(one({ ...minimal(type), mask }), ['f:mask_not_for_type'], `${type} ${mask}`);
      }
    }
    assert.deepEqual(one({ name: 's', type: 'string', mask: 'year' }), ['s:mask_not_for_type']);
    for (const mask of ['first', 'LAST4', '', 3, ['last4'], null]) assert.deepEqual(one({ name: 's', type: 'string', mask }), ['s:invalid_mask'], String(mask));
  });

  test('fold: only on string and kana, a list of distinct known folds', () => {
    assert.deepEqual(parseOne({ name: 's', type: 'string', fold: ['dash', 'space'] }).fold, ['dash', 'space']);
    assert.deepEqual(parseOne({ name: 's', type: 'string', fold: [] }).fold, []);
    assert.deepEqual(parseOne({ name: 'k', type: 'kana', fold: ['kana'] }).fold, ['kana'], 'an explicit fold replaces the default');
    assert.deepEqual(parseOne({ name: 'k', type: 'kana', fold: [] }).fold, []);
    for (const type of FIELD_TYPES.filter((t) => t !== 'string' && t !== 'kana')) {
      assert.deepEqual(one({ ...minimal(type), fold: ['space'] }), ['f:option_not_for_type:fold'], type);
    }
    for (const fold of ['kana', ['nope'], ['Kana'], ['kana', 'kana'], [1], {}, null]) {
      assert.deepEqual(one({ name: 's', type: 'string', fold }), ['s:invalid_fold'], JSON.stringify(fold));
    }
  });

  test('kana takes maxLength like string; identifiers and jp-date take no length options', () => {
    assert.equal(parseOne({ name: 'k', type: 'kana', maxLength: 20 }).maxLength, 20);
    assert.deepEqual(one({ name: 'k', type: 'kana', maxLength: 0 }), ['k:invalid_maxLength']);
    for (const type of [...JP_IDENTIFIER_TYPES, 'jp-date'] as const) {
      assert.deepEqual(one({ name: 'f', type, maxLength: 5 }), ['f:option_not_for_type:maxLength'], type);
    }
  });

  test('labels: unique, non-empty, clean single-line text of at most 100 characters', () => {
    assert.equal(parseOne({ name: 'name', type: 'string', label: '氏名' }).label, '氏名');
    assert.equal(parseOne({ name: 'name', type: 'string', label: 'x'.repeat(100) }).label?.length, 100);
    assert.deepEqual(
      problems({ fields: [{ name: 'a', type: 'string', label: '氏名' }, { name: 'b', type: 'kana', label: '氏名' }] }),
      ['b:duplicate_label'],
    );
    for (const label of ['', 'x'.repeat(101), '氏\n名', '氏\r名', '氏\t名', '氏\u0000名', '\u0007', '\uD842', 3, null, ['氏名']]) {
      assert.deepEqual(one({ name: 'a', type: 'string', label }), ['a:invalid_label'], JSON.stringify(label));
    }
    // A label may equal a field name (a header matches either).
    assert.equal(parseCollectionSchema({ fields: [{ name: 'a', type: 'string' }, { name: 'b', type: 'string', label: 'a' }] }).fields.length, 2);
  });

  test('problems of a schema never echo a label or other caller text', () => {
    const got = problems({ fields: [{ name: 'a', type: 'string', label: '山田太郎の\n番号' }, { name: 'b', type: 'my-number', classification: 'public', mask: 'year' }] });
    assert.deepEqual(got.sort(), ['a:invalid_label', 'b:classification_below_type_minimum', 'b:mask_not_for_type']);
    assert.ok(!got.join().includes('山田'));
  });

  test('a schema with Japanese types round-trips through JSON', () => {
    const s = parseCollectionSchema({
      fields: [
        { name: 'my_number', type: 'my-number', label: '個人番号', unique: true },
        { name: 'jc', type: 'juminhyo-code', classification: 'personal', mask: 'redact' },
        { name: 'atena', type: 'atena-number', required: true, searchable: true },
        { name: 'name', type: 'string', fold: ['space', 'kanji'], mask: 'initial', label: '氏名', maxLength: 100 },
        { name: 'name_kana', type: 'kana', label: '氏名フリガナ' },
        { name: 'birth', type: 'jp-date', description: '生年月日（和暦）' },
        { name: 'phone', type: 'phone', searchable: true },
        { name: 'addr', type: 'object', fields: [{ name: 'postal', type: 'postal-code', label: '郵便番号' }, { name: 'line', type: 'string', fold: ['dash'] }] },
      ],
    });
    assert.deepEqual(parseCollectionSchema(JSON.parse(JSON.stringify(s))), s);
    for (const name of SCHEMA_TEMPLATE_NAMES) {
      const t = parseCollectionSchema(SCHEMA_TEMPLATES[name].schema);
      assert.deepEqual(parseCollectionSchema(JSON.parse(JSON.stringify(t))), t, name);
    }
  });
});

describe('records with Japanese types', () => {
  const schema = parseCollectionSchema({
    fields: [
      { name: 'my_number', type: 'my-number' },
      { name: 'birth', type: 'jp-date' },
      { name: 'name', type: 'string', maxLength: 100 },
      { name: 'name_kana', type: 'kana' },
      { name: 'phone', type: 'phone' },
      { name: 'postal', type: 'postal-code' },
      { name: 'lg', type: 'local-gov-code' },
    ],
  });
  const check = (record: Record<string, unknown>) => validateRecord(schema, record);
  /** Exactly one problem, naming the field; the value appears nowhere in it. */
  function onlyProblem(record: Record<string, unknown>, field: string, reason: string): void {
    const { problems: got } = check(record);
    assert.deepEqual(got, [{ field, reason }], JSON.stringify(record));
    const text = JSON.stringify(got);
    for (const v of Object.values(record)) if (typeof v === 'string' && v.length > 0) assert.ok(!text.includes(v), 'problem echoes the value');
  }

  test('a 13-digit My Number, a wrong check digit, a date in no form, an unpaired surrogate, kanji as kana', () => {
    onlyProblem({ my_number: `${MY}7` }, 'my_number', 'wrong_length');
    onlyProblem({ my_number: `${MY.slice(0, 11)}${(Number(MY[11]) + 1) % 10}` }, 'my_number', 'check_digit_mismatch');
    onlyProblem({ my_number: '1234-5678-901X' }, 'my_number', 'expected_digits');
    onlyProblem({ my_number: 123456789018 }, 'my_number', 'expected_string');
    onlyProblem({ birth: 'きのうの朝' }, 'birth', 'not_a_date');
    onlyProblem({ birth: '昭和60年13月1日' }, 'birth', 'month_out_of_range');
    onlyProblem({ birth: '慶応3年1月1日' }, 'birth', 'unknown_era');
    onlyProblem({ birth: '昭和6\uD842年' }, 'birth', 'not_a_date');
    onlyProblem({ name: '\uD842' }, 'name', 'not_well_formed_unicode');
    onlyProblem({ name: '山\uDFB7田' }, 'name', 'not_well_formed_unicode');
    onlyProblem({ name_kana: '山田' }, 'name_kana', 'not_kana');
    onlyProblem({ name_kana: 'ヤマダ 太郎' }, 'name_kana', 'not_kana');
    onlyProblem({ name_kana: 'yamada' }, 'name_kana', 'not_kana');
    onlyProblem({ name_kana: '\uD842' }, 'name_kana', 'not_well_formed_unicode');
    onlyProblem({ phone: '12345' }, 'phone', 'invalid_phone');
    onlyProblem({ postal: '100-00' }, 'postal', 'wrong_length');
    onlyProblem({ lg: '131017' }, 'lg', 'check_digit_mismatch');
    onlyProblem({ my_number: '1'.repeat(65) }, 'my_number', 'expected_digits');
  });

  test('a bad value among good ones: only that field is reported', () => {
    const { values, problems: got } = check({ my_number: MY, birth: '昭和60年4月12日', name: '山田太郎', name_kana: '山田' });
    assert.deepEqual(got, [{ field: 'name_kana', reason: 'not_kana' }]);
    assert.deepEqual(values, { my_number: MY, birth: '昭和60年4月12日', name: '山田太郎' });
  });

  test('identifiers are stored in canonical form', () => {
    const { values, problems: got } = check({
      my_number: '１２３４－５６７８－９０１８', phone: '０３ー１２３４ー５６７８', postal: '１００００１３', lg: '１３１０１６',
    });
    assert.deepEqual(got, []);
    assert.deepEqual(values, { my_number: MY, phone: '03-1234-5678', postal: '100-0013', lg: '131016' });
  });

  test('和暦 dates, impossible ones included, are accepted and stored canonical', () => {
    const cases: readonly (readonly [string, string])[] = [
      ['平成３１年２月２９日', '平成31年2月29日'], // 2019 was not a leap year: kept as written, not corrected
      ['明治45年7月30日', '明治45年7月30日'], // 大正 began that day
      ['昭和６０年０４月１２日', '昭和60年4月12日'],
      ['平成元年1月8日', '平成1年1月8日'],
      ['S60.4.12', '昭和60年4月12日'],
      ['昭和60年4月不詳', '昭和60年4月'],
      ['年月日不詳', '年月日不詳'],
      ['1985-04-12', '1985-04-12'],
      ['１９８５／４／１２', '1985-04-12'],
    ];
    for (const [input, stored] of cases) {
      const { values, problems: got } = check({ birth: input });
      assert.deepEqual(got, [], input);
      assert.equal(values.birth, stored, input);
      // The stored form is a fixed point.
      assert.equal(check({ birth: stored }).values.birth, stored);
    }
    onlyProblem({ birth: '2019-02-29' }, 'birth', 'day_out_of_range');
  });

  test('names outside JIS (MJ+): stored byte for byte, no normalisation', () => {
    const names = [
      '𠮷田', // U+20BB7, outside the BMP
      '葛\u{E0100}飾', // 葛 + ideographic variation selector (the 葛飾区 glyph)
      '髙橋', // U+9AD9
      '\uF9DC子', // 隆 CJK compatibility ideograph: NFC/NFKC would change it to U+9686
      '渡邊\uFE00', // standardized variation selector
      'ｶﾞ', // half-width in a string field stays half-width
      'カ\u3099', // decomposed ガ stays decomposed
    ];
    for (const name of names) {
      const { values, problems: got } = check({ name });
      assert.deepEqual(got, [], name);
      assert.ok(typeof values.name === 'string');
      assert.deepEqual(Buffer.from(values.name, 'utf8'), Buffer.from(name, 'utf8'), name);
    }
  });

  test('half-width kana readings are stored widened; the chosen script is kept', () => {
    const cases: readonly (readonly [string, string])[] = [
      ['ﾀｶﾊｼ ｲﾁﾛｳ', 'タカハシ イチロウ'],
      ['ﾔﾏﾀﾞ', 'ヤマダ'],
      ['たかはし　いちろう', 'たかはし いちろう'],
      ['タカハシ', 'タカハシ'],
      ['スミス＝ジョン', 'スミス=ジョン'],
      ['ヴァン・デル', 'ヴァン・デル'],
      ['  サトー  ', 'サトー'],
    ];
    for (const [input, stored] of cases) {
      const { values, problems: got } = check({ name_kana: input });
      assert.deepEqual(got, [], input);
      assert.equal(values.name_kana, stored, input);
    }
  });

  test('a problem never carries the value (random input)', () => {
    fc.assert(
      fc.property(fc.constantFrom('my_number', 'birth', 'name_kana', 'phone', 'postal', 'lg'), fc.string({ minLength: 3, maxLength: 30 }), (field, v) => {
        const { problems: got } = check({ [field]: v });
        for (const p of got) {
          assert.deepEqual(Object.keys(p).sort(), ['field', 'reason']);
          assert.equal(p.field, field);
          assert.match(p.reason, /^[a-z_]+$/);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('normaliseForIndex for Japanese types', () => {
  const juminhyo: CollectionSchema = parseCollectionSchema(SCHEMA_TEMPLATES.juminhyo.schema);
  const field = (name: string): FieldDef => {
    const f = juminhyo.fields.find((x) => x.name === name);
    assert.ok(f, name);
    return f;
  };
  /** Index text of a value as stored: validated first, as a write would. */
  const indexed = (name: string, input: string): string => {
    const f = field(name);
    const { values, problems: got } = validateRecord({ fields: [f] }, { [name]: input });
    assert.deepEqual(got, [], input);
    const v = values[name];
    assert.ok(v !== undefined);
    return normaliseForIndex(f, v);
  };
  const allEqual = (name: string, inputs: readonly string[]): string => {
    const set = new Set(inputs.map((s) => indexed(name, s)));
    assert.equal(set.size, 1, `${name}: ${[...set].join(' | ')}`);
    // Search validates the query first, as here; for text and identifiers the raw query folds the same
    // way too (jp-date needs the validation step: its canonical text is made there).
    if (field(name).type !== 'jp-date') for (const s of inputs) assert.equal(normaliseForIndex(field(name), s), [...set][0], s);
    return [...set][0] as string;
  };
  const allDifferent = (name: string, inputs: readonly string[]): void => {
    assert.equal(new Set(inputs.map((s) => indexed(name, s))).size, inputs.length, name);
  };

  test('name (space + kanji folds): 髙橋　一郎, 高橋一郎 and 高橋 一郎 meet', () => {
    assert.deepEqual(field('name').fold, ['space', 'kanji']);
    assert.equal(allEqual('name', ['髙橋　一郎', '高橋一郎', '高橋 一郎', ' 髙橋\t一郎 ']), '高橋一郎');
    assert.equal(allEqual('name', ['𠮷田', '吉田']), '吉田');
    assert.equal(allEqual('name', ['葛\u{E0100}飾', '葛飾']), '葛飾');
    allDifferent('name', ['高橋一郎', '高橋二郎', '高嶋一郎', '髙橋一朗', 'タカハシ']);
  });

  test('name_kana (kana + space folds): ﾀｶﾊｼ ｲﾁﾛｳ, たかはし いちろう and タカハシイチロウ meet', () => {
    assert.deepEqual(field('name_kana').fold, ['kana', 'space']);
    assert.equal(allEqual('name_kana', ['ﾀｶﾊｼ ｲﾁﾛｳ', 'たかはし いちろう', 'タカハシイチロウ', 'タカハシ　イチロウ']), 'たかはしいちろう');
    allDifferent('name_kana', ['タカハシイチロウ', 'タカハシジロウ', 'タカバシイチロウ', 'タカハシイチロ']);
  });

  test('address (dash + space folds): １－２－３, 1-2-3 and 1ー2ー3 meet', () => {
    assert.deepEqual(field('address').fold, ['space', 'dash']);
    assert.equal(allEqual('address', ['１－２－３', '1-2-3', '1ー2ー3', '1−2−3', '1 - 2 - 3']), '1-2-3');
    assert.equal(allEqual('address', ['千代田区千代田１－１', '千代田区 千代田1-1']), '千代田区千代田1-1');
    allDifferent('address', ['1-2-3', '1-2-4', '1-23', '12-3']);
  });

  test('identifiers index their digits; jp-date its canonical text', () => {
    assert.equal(allEqual('my_number', [MY, '1234-5678-9018', '１２３４ ５６７８ ９０１８']), MY);
    assert.equal(allEqual('postal_code', ['100-0001', '１０００００１']), '1000001');
    assert.equal(allEqual('atena_number', ['12345674', '1234567-4']), '12345674');
    assert.equal(allEqual('birth_date', ['昭和６０年４月１２日', 'S60.4.12']), '昭和60年4月12日');
    allDifferent('my_number', [MY, synthMyNumber('12345678902')]);
    allDifferent('birth_date', ['昭和60年4月12日', '1985-04-12', '昭和60年4月', '推定昭和60年4月12日']);
  });
});

describe('schema templates', () => {
  test('every template parses, every field has a unique label', () => {
    assert.deepEqual([...SCHEMA_TEMPLATE_NAMES].sort(), ['juminhyo', 'kojin-juminzei', 'kokuho']);
    for (const name of SCHEMA_TEMPLATE_NAMES) {
      const s = parseCollectionSchema(SCHEMA_TEMPLATES[name].schema);
      assert.equal(s.fields.length, SCHEMA_TEMPLATES[name].schema.fields.length, name);
      const labels = s.fields.map((f) => f.label);
      for (const f of s.fields) assert.ok(typeof f.label === 'string' && f.label.length > 0, `${name}.${f.name} has no label`);
      assert.equal(new Set(labels).size, labels.length, `${name}: labels unique`);
    }
  });

  test('my_number fields are classified my-number; juminhyo_code is at least personal', () => {
    for (const name of SCHEMA_TEMPLATE_NAMES) {
      const s = parseCollectionSchema(SCHEMA_TEMPLATES[name].schema);
      const mn = s.fields.filter((f) => f.type === 'my-number');
      assert.ok(mn.length > 0, `${name} has a my_number field`);
      for (const f of mn) {
        assert.equal(f.name, 'my_number');
        assert.equal(f.classification, 'my-number', `${name}.${f.name}`);
        assert.equal(f.mask, 'last4');
      }
      for (const f of s.fields.filter((x) => x.type === 'juminhyo-code')) assert.ok(classificationAtLeast(f.classification, 'personal'));
    }
  });

  test('juminhyo: the DV support flag is sensitive; the relationship list excludes 祖父, 孫, 甥', () => {
    const s = parseCollectionSchema(SCHEMA_TEMPLATES.juminhyo.schema);
    const dv = s.fields.find((f) => f.name === 'dv_support');
    assert.equal(dv?.type, 'boolean');
    assert.equal(dv?.classification, 'sensitive');
    assert.equal(s.fields.find((f) => f.name === 'dv_support_until')?.classification, 'sensitive');
    const rel = s.fields.find((f) => f.name === 'relationship');
    assert.equal(rel?.type, 'enum');
    const values: readonly string[] = rel?.values ?? [];
    assert.deepEqual([...values], [...RELATIONSHIPS]);
    for (const v of ['祖父', '祖母', '孫', '甥', '姪', '叔父']) assert.ok(!values.includes(v), v);
    for (const v of ['世帯主', '妻', '子', '子の子', '父の父', '兄の子', '縁故者', '同居人']) assert.ok(values.includes(v), v);
    // A grandchild is written 子の子.
    const { problems: got } = validateRecord({ fields: [rel as FieldDef] }, { relationship: '孫' });
    assert.deepEqual(got, [{ field: 'relationship', reason: 'not_an_allowed_value' }]);
  });

  test('a record written in the juminhyo template validates', () => {
    const s = parseCollectionSchema(SCHEMA_TEMPLATES.juminhyo.schema);
    const { values, problems: got } = validateRecord(s, {
      atena_number: '1234567-4',
      household_number: '12345674',
      resident_type: '日本人',
      status: '住民',
      name: '𠮷田　花子',
      name_kana: 'ﾖｼﾀﾞ ﾊﾅｺ',
      birth_date: '平成３１年２月２９日',
      sex: '女',
      relationship: '世帯主',
      local_gov_code: '131016',
      address: '東京都千代田区千代田１－１',
      my_number: MY,
      dv_support: false,
    });
    assert.deepEqual(got, []);
    assert.equal(values.name, '𠮷田　花子');
    assert.equal(values.name_kana, 'ヨシダ ハナコ');
    assert.equal(values.birth_date, '平成31年2月29日');
    assert.equal(values.atena_number, '12345674');
  });
});
