import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { evolveSchema, parseCollectionSchema } from '../../src/schema/index.js';
import { KurabanError } from '../../src/errors/index.js';
import { RESIDENT_SCHEMA } from '../helpers/temp-vault.js';

function refused(fn: () => unknown, code: 'SCHEMA_INVALID' | 'SCHEMA_CHANGE_REJECTED' = 'SCHEMA_INVALID'): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KurabanError, String(e));
    assert.equal(e.code, code, e.message);
    return e.details.map((d) => `${d.field ?? ''}:${d.reason}`);
  }
  assert.fail('expected the schema to be refused');
}
const problems = (input: unknown) => refused(() => parseCollectionSchema(input));
const one = (f: Record<string, unknown>) => problems({ fields: [f] });

describe('parseCollectionSchema', () => {
  test('applies safe defaults: optional, personal, not searchable or unique; type defaults for limits', () => {
    const s = parseCollectionSchema({ fields: [{ name: 'a', type: 'string' }, { name: 'd', type: 'decimal' }, { name: 'n', type: 'integer' }] });
    assert.deepEqual(s.fields[0], { name: 'a', type: 'string', required: false, classification: 'personal', searchable: false, unique: false, mask: 'redact', maxLength: 1000 });
    assert.equal(s.fields[1]?.precision, 28);
    assert.equal(s.fields[1]?.scale, 10);
    assert.equal(s.fields[2]?.minimum, undefined);
    assert.equal(parseCollectionSchema({ fields: [{ name: 'd', type: 'decimal', precision: 5 }] }).fields[0]?.scale, 5);
  });

  test('parses the resident schema, deeply frozen, and re-parses its own JSON to the same schema', () => {
    const s = parseCollectionSchema(RESIDENT_SCHEMA);
    assert.deepEqual(s.fields.map((f) => f.name), RESIDENT_SCHEMA.fields.map((f) => f.name));
    const address = s.fields.find((f) => f.name === 'address');
    assert.deepEqual(address?.fields?.map((f) => f.name), ['postal_code', 'line1']);
    assert.equal(s.fields.find((f) => f.name === 'resident_no')?.unique, true);
    assert.equal(s.fields.find((f) => f.name === 'income')?.classification, 'sensitive');
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.fields) && Object.isFrozen(s.fields[0]) && Object.isFrozen(address?.fields?.[0]));
    assert.throws(() => {
      (s.fields as unknown as unknown[]).push({});
    }, TypeError);
    assert.deepEqual(parseCollectionSchema(JSON.parse(JSON.stringify(s))), s);
  });

  test('the shape must be exactly { fields: [...] } with 1 to 200 fields', () => {
    for (const bad of [null, [], 'x', {}, { fields: {} }, { fields: [], extra: 1 }]) assert.deepEqual(problems(bad), [':shape']);
    assert.deepEqual(problems({ fields: [] }), [':no_fields']);
    const many = Array.from({ length: 201 }, (_, i) => ({ name: `f${i}`, type: 'boolean' }));
    assert.deepEqual(problems({ fields: many }), [':too_many_fields']);
    assert.equal(parseCollectionSchema({ fields: many.slice(0, 200) }).fields.length, 200);
  });

  test('names, types and options: each problem names the field and a stable reason', () => {
    assert.deepEqual(one({ name: 'a', type: 'string', colour: 'red' }), ['a:unknown_option:colour']);
    assert.deepEqual(problems({ fields: [{ name: 'a', type: 'string' }, { name: 'a', type: 'integer' }] }), ['a:duplicate_name']);
    for (const name of ['A', '1a', 'a-b', '', 'a'.repeat(64), 'ｆｕｌｌ', 3, undefined]) assert.deepEqual(one({ name, type: 'string' }), ['[0]:invalid_name'], String(name));
    assert.equal(parseCollectionSchema({ fields: [{ name: 'a'.repeat(63), type: 'string' }] }).fields.length, 1);
    assert.deepEqual(one({ name: 'a', type: 'text' }), ['a:invalid_type']);
    assert.deepEqual(one({ name: 'a', type: 'string', classification: 'secret' }), ['a:invalid_classification']);
    assert.deepEqual(one({ name: 'a', type: 'string', classification: null }), ['a:invalid_classification']);
    assert.deepEqual(one({ name: 'a', type: 'string', required: 'yes' }), ['a:invalid_required']);
    assert.deepEqual(one({ name: 'a', type: 'string', searchable: 1 }), ['a:invalid_searchable']);
    assert.deepEqual(one({ name: 'a', type: 'string', description: 'x'.repeat(501) }), ['a:invalid_description']);
    assert.deepEqual(one({ name: 'a', type: 'integer', maxLength: 3 }), ['a:option_not_for_type:maxLength']);
    assert.deepEqual(one({ name: 'a', type: 'boolean', values: ['x'] }), ['a:option_not_for_type:values']);
    assert.deepEqual(problems({ fields: ['a'] }), ['[0]:field_not_object']);
  });

  test('string, integer and decimal limits', () => {
    for (const maxLength of [0, 100_001, 1.5, '10']) assert.deepEqual(one({ name: 's', type: 'string', maxLength }), ['s:invalid_maxLength']);
    assert.deepEqual(one({ name: 'n', type: 'integer', minimum: 5, maximum: 4 }), ['n:minimum_above_maximum']);
    assert.deepEqual(one({ name: 'n', type: 'integer', minimum: 0.5 }), ['n:invalid_minimum']);
    assert.deepEqual(one({ name: 'n', type: 'integer', maximum: 2 ** 53 }), ['n:invalid_maximum']);
    assert.deepEqual(one({ name: 'd', type: 'decimal', precision: 4, scale: 5 }), ['d:scale_above_precision']);
    for (const precision of [0, 39]) assert.deepEqual(one({ name: 'd', type: 'decimal', precision }), ['d:invalid_precision']);
    assert.deepEqual(one({ name: 'd', type: 'decimal', scale: -1 }), ['d:invalid_scale']);
  });

  test('enums need distinct, non-empty, well-formed values', () => {
    for (const values of [undefined, [], 'active', ['a', 'a'], ['a', ''], ['a', 3], ['\uD800'], ['x'.repeat(201)], Array.from({ length: 1001 }, (_, i) => `v${i}`)]) {
      assert.deepEqual(one({ name: 'e', type: 'enum', values }), ['e:invalid_values'], JSON.stringify(values)?.slice(0, 40));
    }
    assert.deepEqual(parseCollectionSchema({ fields: [{ name: 'e', type: 'enum', values: ['転入', '転出'] }] }).fields[0]?.values, ['転入', '転出']);
  });

  test('objects: nested fields, no search or uniqueness on or inside them, at most three levels', () => {
    assert.deepEqual(one({ name: 'o', type: 'object', searchable: true, fields: [{ name: 'x', type: 'string' }] }), ['o:not_indexable']);
    assert.deepEqual(one({ name: 'o', type: 'object', fields: [{ name: 'x', type: 'string', unique: true }] }), ['o.x:not_indexable']);
    assert.deepEqual(one({ name: 'o', type: 'object' }), ['o:invalid_fields']);
    assert.deepEqual(one({ name: 'o', type: 'object', fields: [] }), ['o:invalid_fields']);
    assert.deepEqual(one({ name: 'o', type: 'object', fields: [{ name: 'x', type: 'strin' }] }), ['o.x:invalid_type']);
    const level3 = { name: 'a', type: 'object', fields: [{ name: 'b', type: 'object', fields: [{ name: 'c', type: 'string' }] }] };
    assert.equal(parseCollectionSchema({ fields: [level3] }).fields[0]?.fields?.[0]?.fields?.[0]?.name, 'c');
    const level4 = { name: 'a', type: 'object', fields: [{ name: 'b', type: 'object', fields: [{ name: 'c', type: 'object', fields: [{ name: 'd', type: 'string' }] }] }] };
    assert.deepEqual(problems({ fields: [level4] }), ['a.b.c:nesting_too_deep']);
  });

  test('reports every problem of a schema at once, without echoing values', () => {
    const got = problems({
      fields: [
        { name: 'a', type: 'string', colour: 'red' },
        { name: 'b', type: 'enum' },
        { name: 'a', type: 'string' },
        { name: 'Secret Value 山田', type: 'string' },
      ],
    });
    assert.deepEqual(got.sort(), ['[3]:invalid_name', 'a:duplicate_name', 'a:unknown_option:colour', 'b:invalid_values']);
    assert.ok(!got.join().includes('山田'));
  });
});

describe('evolveSchema', () => {
  const base = parseCollectionSchema(RESIDENT_SCHEMA);

  test('adds optional fields and enum values; the old schema is unchanged and the new one frozen', () => {
    const next = evolveSchema(base, { addFields: [{ name: 'email', type: 'string', searchable: true }], addEnumValues: { status: ['deceased'] } });
    assert.equal(next.fields.length, base.fields.length + 1);
    assert.equal(next.fields.at(-1)?.name, 'email');
    assert.equal(next.fields.at(-1)?.required, false);
    assert.deepEqual(next.fields.find((f) => f.name === 'status')?.values, ['active', 'moved_out', 'deceased']);
    assert.deepEqual(base.fields.find((f) => f.name === 'status')?.values, ['active', 'moved_out']);
    assert.ok(Object.isFrozen(next.fields.find((f) => f.name === 'status')?.values));
  });

  test('refuses changes that would need stored records rewritten, naming the field and why', () => {
    const reject = (change: Parameters<typeof evolveSchema>[1]) => refused(() => evolveSchema(base, change), 'SCHEMA_CHANGE_REJECTED');
    assert.deepEqual(reject({ addFields: [{ name: 'email', type: 'string', required: true }] }), ['email:added_field_must_be_optional']);
    assert.deepEqual(reject({ addFields: [{ name: 'kana', type: 'string' }] }), ['kana:field_exists']);
    assert.deepEqual(reject({ addEnumValues: { family_name: ['x'] } }), ['family_name:not_an_enum']);
    assert.deepEqual(reject({ addEnumValues: { status: ['active'] } }), ['status:invalid_enum_value']);
    assert.deepEqual(reject({ addEnumValues: { status: [''] } }), ['status:invalid_enum_value']);
    assert.deepEqual(reject({ addEnumValues: { nope: ['x'] } }), ['nope:unknown_field']);
    assert.deepEqual(reject({}), [':empty_change']);
    assert.deepEqual(reject({ addFields: [], addEnumValues: {} }), [':empty_change']);
  });

  test('an added field is parsed like any other (SCHEMA_INVALID for a bad one)', () => {
    assert.deepEqual(refused(() => evolveSchema(base, { addFields: [{ name: 'x', type: 'string', colour: 1 }] })), ['x:unknown_option:colour']);
    assert.deepEqual(refused(() => evolveSchema(base, { addFields: [{ name: 'x', type: 'string' }, { name: 'x', type: 'string' }] })), ['x:duplicate_name']);
  });
});
