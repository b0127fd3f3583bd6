/** /v1/tenants/:tenant/collections: create, list, get, PATCH (schema evolution). */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  METACHARACTERS,
  SECRET,
  assertDetail,
  assertProblem,
  assertRefused,
  createCollection,
  createTenant,
  issueKey,
  openHarness,
  recordsUrl,
  type Harness,
  type IssuedKey,
} from './harness.js';

interface FieldBody {
  name: string;
  type: string;
  required: boolean;
  classification: string;
  searchable: boolean;
  unique: boolean;
  description?: string;
  label?: string;
  mask?: string;
  fold?: string[];
  values?: string[];
  fields?: FieldBody[];
}
interface CollectionBody {
  tenantId: string;
  name: string;
  schemaVersion: number;
  fields: FieldBody[];
  createdAt: string;
  updatedAt: string;
}

let h: Harness;
let tenantKey: IssuedKey;
const T = 'col-tenant';
const url = (tenant = T) => `/v1/tenants/${tenant}/collections`;

before(async () => {
  h = await openHarness();
  await createTenant(h, T);
  await createTenant(h, 'col-other');
  tenantKey = await issueKey(h, { name: 'col key', role: 'tenant', tenantId: T });
});
after(async () => {
  await h.close();
});

describe('POST /v1/tenants/:tenant/collections', () => {
  test('creates a collection at schema version 1 with the declared fields and their defaults filled in', async () => {
    const res = await h.call({
      method: 'POST',
      url: url(),
      body: {
        name: 'people',
        fields: [
          { name: 'family_name', type: 'string', required: true, searchable: true, maxLength: 50 },
          { name: 'status', type: 'enum', values: ['a', 'b'], classification: 'public' },
          { name: 'home', type: 'object', fields: [{ name: 'city', type: 'string' }] },
        ],
      },
      key: tenantKey.key,
    });
    assert.equal(res.statusCode, 201, res.payload);
    const c = res.json() as CollectionBody;
    assert.deepEqual(Object.keys(c).sort(), ['createdAt', 'fields', 'name', 'schemaVersion', 'tenantId', 'updatedAt']);
    assert.equal(c.tenantId, T);
    assert.equal(c.name, 'people');
    assert.equal(c.schemaVersion, 1);
    assert.equal(c.createdAt, c.updatedAt);
    assert.deepEqual(c.fields[0], { name: 'family_name', type: 'string', required: true, classification: 'personal', searchable: true, unique: false, mask: 'redact', maxLength: 50 });
    assert.deepEqual(c.fields[1]?.values, ['a', 'b']);
    assert.equal(c.fields[1]?.classification, 'public');
    assert.equal(c.fields[2]?.fields?.[0]?.name, 'city');
    assert.deepEqual(c.fields[2]?.fields, [{ name: 'city', type: 'string', required: false, classification: 'personal', searchable: false, unique: false, mask: 'redact', maxLength: 1000 }]);
    const got = (await h.call({ method: 'GET', url: `${url()}/people` })).json() as CollectionBody;
    assert.deepEqual(got.fields, c.fields, 'nested definitions survive a read');
  });

  test('creates a collection from a municipal template; fields and template are exclusive', async () => {
    const res = await h.call({ method: 'POST', url: url(), body: { name: 'juminhyo', template: 'juminhyo' }, key: tenantKey.key });
    assert.equal(res.statusCode, 201, res.payload);
    const c = res.json() as CollectionBody;
    const byName = new Map(c.fields.map((f) => [f.name, f]));
    assert.equal(byName.get('my_number')?.type, 'my-number');
    assert.equal(byName.get('my_number')?.classification, 'my-number');
    assert.equal(byName.get('my_number')?.mask, 'last4');
    assert.equal(byName.get('name')?.label, '氏名');
    assert.deepEqual(byName.get('name')?.fold, ['space', 'kanji']);
    assert.deepEqual(byName.get('name_kana')?.fold, ['kana', 'space']);
    assert.equal(byName.get('dv_support')?.classification, 'sensitive');
    for (const body of [{ name: 'both', template: 'kokuho', fields: [{ name: 'x', type: 'string' }] }, { name: 'neither' }, { name: 'bad', template: 'no-such-template' }]) {
      await assertRefused(h, { method: 'POST', url: url(), body }, 'REQUEST_INVALID');
    }
  });

  test('a My Number field cannot be declared below classification my-number', async () => {
    const body = { name: 'mn', fields: [{ name: 'n', type: 'my-number', classification: 'personal', description: SECRET }] };
    const problem = await assertRefused(h, { method: 'POST', url: url(), body }, 'SCHEMA_INVALID');
    assert.deepEqual(problem.errors, [{ field: 'n', reason: 'classification_below_type_minimum' }]);
  });

  test('COLLECTION_EXISTS for a name taken in the tenant; the same name in another tenant is fine', async () => {
    await createCollection(h, T, 'dup_c');
    await assertRefused(h, { method: 'POST', url: url(), body: { name: 'dup_c', fields: [{ name: 'x', type: 'string', description: SECRET }] } }, 'COLLECTION_EXISTS');
    await createCollection(h, 'col-other', 'dup_c');
  });

  test('TENANT_NOT_FOUND when the tenant does not exist', async () => {
    await assertRefused(h, { method: 'POST', url: url('no-such-tenant'), body: { name: 'c', fields: [{ name: 'x', type: 'string', description: SECRET }] } }, 'TENANT_NOT_FOUND');
  });

  test('SCHEMA_INVALID for schemas the vault cannot accept, naming field and reason', async () => {
    const cases: Array<{ fields: unknown[]; field?: string; reason: string | RegExp }> = [
      { fields: [{ name: 'a', type: 'string' }, { name: 'a', type: 'integer' }], field: 'a', reason: 'duplicate_name' },
      { fields: [{ name: 'o', type: 'object', searchable: true, fields: [{ name: 'x', type: 'string' }] }], field: 'o', reason: 'not_indexable' },
      { fields: [{ name: 'o', type: 'object', fields: [{ name: 'x', type: 'string', unique: true }] }], field: 'o.x', reason: 'not_indexable' },
      { fields: [{ name: 'e', type: 'enum' }], field: 'e', reason: 'invalid_values' },
      { fields: [{ name: 'e', type: 'enum', values: ['a', 'a'] }], field: 'e', reason: 'invalid_values' },
      { fields: [{ name: 'i', type: 'integer', maxLength: 3 }], field: 'i', reason: 'option_not_for_type:maxLength' },
      { fields: [{ name: 'i', type: 'integer', minimum: 5, maximum: 1 }], field: 'i', reason: 'minimum_above_maximum' },
      { fields: [{ name: 'd', type: 'decimal', precision: 5, scale: 6 }], field: 'd', reason: 'scale_above_precision' },
      { fields: [{ name: 'o', type: 'object' }], field: 'o', reason: 'invalid_fields' },
      { fields: [{ name: 'o', type: 'object', fields: [{ name: 'p', type: 'object', fields: [{ name: 'q', type: 'object', fields: [{ name: 'r', type: 'string' }] }] }] }], reason: 'nesting_too_deep' },
      { fields: [{ name: 'o', type: 'object', fields: [{ name: SECRET, type: 'string' }] }], field: 'o.[0]', reason: 'invalid_name' },
      { fields: [{ name: 's', type: 'string', maxLength: 100_001 }], field: 's', reason: 'invalid_maxLength' },
    ];
    for (const [i, c] of cases.entries()) {
      const body = await assertRefused(h, { method: 'POST', url: url(), body: { name: `bad_${i}`, fields: c.fields } }, 'SCHEMA_INVALID');
      assertDetail(body, { ...(c.field === undefined ? {} : { field: c.field }), reason: c.reason });
    }
    const list = (await h.call({ method: 'GET', url: url() })).json() as { collections: CollectionBody[] };
    assert.ok(!list.collections.some((c) => c.name.startsWith('bad_')), 'no invalid collection was created');
  });

  test('an unknown option is refused without echoing its name when that name is personal-looking', async () => {
    for (const fields of [
      [{ name: 'a', type: 'string', [SECRET]: 1 }],
      [{ name: 'o', type: 'object', fields: [{ name: 'b', type: 'string', [SECRET]: 1 }] }],
    ]) {
      await assertRefused(h, { method: 'POST', url: url(), body: { name: 'unknown_opt', fields } }, 'SCHEMA_INVALID');
    }
  });

  test('an unknown option with a field-like name is SCHEMA_INVALID naming it', async () => {
    const body = await assertRefused(h, { method: 'POST', url: url(), body: { name: 'unknown_opt2', fields: [{ name: 'a', type: 'string', indexed: true, description: SECRET }] } }, 'SCHEMA_INVALID');
    assertDetail(body, { field: 'a', reason: 'unknown_option:indexed' });
  });

  test('REQUEST_INVALID for request shapes the API does not take', async () => {
    const cases: Array<{ body: unknown; field?: string; reason: string }> = [
      { body: { name: 'c', fields: [{ name: 'a', type: 'string' }], owner: SECRET }, field: 'owner', reason: 'unknown_property' },
      { body: { name: 'c', fields: [] }, field: 'fields', reason: 'minItems' },
      { body: { name: 'c', fields: 'string' }, field: 'fields', reason: 'type' },
      { body: { name: SECRET, fields: [{ name: 'a', type: 'string' }] }, field: 'name', reason: 'pattern' },
      { body: { name: 'Upper', fields: [{ name: 'a', type: 'string' }] }, field: 'name', reason: 'pattern' },
      { body: { name: 'c', fields: [{ name: 'a', type: 'uuid' }] }, field: 'fields.0.type', reason: 'enum' },
      { body: { name: 'c', fields: [{ name: SECRET, type: 'string' }] }, field: 'fields.0.name', reason: 'pattern' },
      { body: { name: 'c', fields: [{ name: 'a', type: 'string', required: 'yes' }] }, field: 'fields.0.required', reason: 'type' },
      { body: { name: 'c', fields: [{ name: 'a', type: 'string', classification: 'secret' }] }, field: 'fields.0.classification', reason: 'enum' },
      { body: { name: 'c', fields: [{ name: 'a', type: 'string', description: `${SECRET}\u0000` }] }, field: 'fields.0.description', reason: 'pattern' },
      { body: { name: 'c', fields: [{ name: 'e', type: 'enum', values: [`${SECRET}\u0000`] }] }, field: 'fields.0.values.0', reason: 'pattern' },
      { body: { name: 'c', fields: [{ name: 'e', type: 'enum', values: [`\udc00${SECRET}`] }] }, field: 'fields.0.values.0', reason: 'pattern' },
      { body: { name: 'c', fields: [{ name: 'a', type: 'string', description: SECRET.repeat(70) }] }, field: 'fields.0.description', reason: 'maxLength' },
      { body: { name: 'c', fields: [{ name: 'o', type: 'object', fields: [SECRET] }] }, field: 'fields.0.fields.0', reason: 'type' },
      { body: { fields: [{ name: 'a', type: 'string' }] }, reason: 'required' },
    ];
    for (const c of cases) {
      const body = await assertRefused(h, { method: 'POST', url: url(), body: c.body }, 'REQUEST_INVALID');
      assertDetail(body, { ...(c.field === undefined ? {} : { field: c.field }), reason: c.reason });
    }
  });

  test('metacharacters, %00 and emoji in descriptions and enum values are stored and returned exactly', async () => {
    const values = [...METACHARACTERS, '🍣 寿司'];
    const res = await h.call({
      method: 'POST',
      url: url(),
      body: { name: 'meta', fields: [{ name: 'e', type: 'enum', values, description: METACHARACTERS.join(' | ') }] },
    });
    assert.equal(res.statusCode, 201, res.payload);
    const got = (await h.call({ method: 'GET', url: `${url()}/meta` })).json() as CollectionBody;
    assert.deepEqual(got.fields[0]?.values, values);
    assert.equal(got.fields[0]?.description, METACHARACTERS.join(' | '));
    for (const v of values) {
      const rec = await h.call({ method: 'POST', url: recordsUrl(T, 'meta'), body: { fields: { e: v } } });
      assert.equal(rec.statusCode, 201, rec.payload);
      assert.equal((rec.json() as { fields: { e: string } }).fields.e, v);
    }
  });
});

describe('GET /v1/tenants/:tenant/collections[/:collection]', () => {
  test('lists and gets collections; the list holds only this tenant’s', async () => {
    await createCollection(h, T, 'listed');
    await createCollection(h, 'col-other', 'elsewhere');
    const list = await h.call({ method: 'GET', url: url(), key: tenantKey.key });
    assert.equal(list.statusCode, 200);
    const names = (list.json() as { collections: CollectionBody[] }).collections.map((c) => c.name);
    assert.ok(names.includes('listed'));
    assert.ok(!names.includes('elsewhere'));
    const one = await h.call({ method: 'GET', url: `${url()}/listed`, key: tenantKey.key });
    assert.equal(one.statusCode, 200);
    assert.equal((one.json() as CollectionBody).fields.length, 10);
  });

  test('COLLECTION_NOT_FOUND, TENANT_NOT_FOUND and REQUEST_INVALID', async () => {
    await assertRefused(h, { method: 'GET', url: `${url()}/absent` }, 'COLLECTION_NOT_FOUND');
    await assertRefused(h, { method: 'GET', url: `${url('col-other')}/listed` }, 'COLLECTION_NOT_FOUND');
    await assertRefused(h, { method: 'GET', url: `${url('no-such-tenant')}/listed` }, 'TENANT_NOT_FOUND');
    await assertRefused(h, { method: 'GET', url: url('no-such-tenant') }, 'TENANT_NOT_FOUND');
    const bad = await assertRefused(h, { method: 'GET', url: `${url()}/${encodeURIComponent(SECRET)}` }, 'REQUEST_INVALID');
    assertDetail(bad, { field: 'collection', reason: 'pattern' });
  });

  test('a tenant key is FORBIDDEN on every collection route of another tenant', async () => {
    const other = url('col-other');
    for (const c of [
      { method: 'GET' as const, url: other },
      { method: 'GET' as const, url: `${other}/dup_c` },
      { method: 'POST' as const, url: other, body: { name: 'sneak', fields: [{ name: 'a', type: 'string', description: SECRET }] } },
      { method: 'PATCH' as const, url: `${other}/dup_c`, body: { addFields: [{ name: 'sneak', type: 'string', description: SECRET }] } },
      { method: 'GET' as const, url: `${url('no-such-tenant')}/x` },
    ]) {
      await assertRefused(h, { ...c, key: tenantKey.key }, 'FORBIDDEN');
    }
    const still = (await h.call({ method: 'GET', url: `${other}/dup_c` })).json() as CollectionBody;
    assert.ok(!still.fields.some((f) => f.name === 'sneak'), 'nothing changed');
    assertProblem(await h.call({ method: 'GET', url: `${other}/sneak` }), 'COLLECTION_NOT_FOUND');
  });
});

describe('PATCH /v1/tenants/:tenant/collections/:collection', () => {
  test('adds optional fields and enum values, bumping the schema version; records can use them at once', async () => {
    await h.call({ method: 'POST', url: url(), body: { name: 'evolving', fields: [{ name: 'n', type: 'string', required: true }, { name: 's', type: 'enum', values: ['a'] }] } });
    const before = (await h.call({ method: 'GET', url: `${url()}/evolving` })).json() as CollectionBody;
    const res = await h.call({
      method: 'PATCH',
      url: `${url()}/evolving`,
      body: { schemaVersion: 1, addFields: [{ name: 'extra', type: 'integer' }], addEnumValues: { s: ['b'] } },
      key: tenantKey.key,
    });
    assert.equal(res.statusCode, 200, res.payload);
    const c = res.json() as CollectionBody;
    assert.equal(c.schemaVersion, 2);
    assert.equal(c.createdAt, before.createdAt);
    assert.deepEqual(c.fields.find((f) => f.name === 's')?.values, ['a', 'b']);
    assert.equal(c.fields.find((f) => f.name === 'extra')?.required, false);
    const got = (await h.call({ method: 'GET', url: `${url()}/evolving` })).json() as CollectionBody;
    assert.equal(got.schemaVersion, 2, 'the change is stored');
    const rec = await h.call({ method: 'POST', url: recordsUrl(T, 'evolving'), body: { fields: { n: 'x', s: 'b', extra: 3 } } });
    assert.equal(rec.statusCode, 201, rec.payload);
  });

  test('application/merge-patch+json is accepted as a PATCH body', async () => {
    const res = await h.call({
      method: 'PATCH',
      url: `${url()}/evolving`,
      body: JSON.stringify({ addEnumValues: { s: ['c'] } }),
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    assert.equal(res.statusCode, 200, res.payload);
    assert.equal((res.json() as CollectionBody).schemaVersion, 3);
  });

  test('VERSION_CONFLICT when schemaVersion is not the current one, and nothing changes', async () => {
    const body = await assertRefused(h, { method: 'PATCH', url: `${url()}/evolving`, body: { schemaVersion: 1, addFields: [{ name: 'late', type: 'string', description: SECRET }] } }, 'VERSION_CONFLICT');
    assert.equal(body.errors, undefined);
    const got = (await h.call({ method: 'GET', url: `${url()}/evolving` })).json() as CollectionBody;
    assert.ok(!got.fields.some((f) => f.name === 'late'));
  });

  test('SCHEMA_CHANGE_REJECTED for changes that would need stored records rewritten', async () => {
    const cases: Array<{ body: unknown; field?: string; reason: string }> = [
      { body: {}, reason: 'empty_change' },
      { body: { addFields: [] }, reason: 'empty_change' },
      { body: { addFields: [{ name: 'must', type: 'string', required: true, description: SECRET }] }, field: 'must', reason: 'added_field_must_be_optional' },
      { body: { addFields: [{ name: 'n', type: 'integer' }] }, field: 'n', reason: 'field_exists' },
      { body: { addEnumValues: { n: [SECRET] } }, field: 'n', reason: 'not_an_enum' },
      { body: { addEnumValues: { s: ['a'] } }, field: 's', reason: 'invalid_enum_value' },
      { body: { addEnumValues: { s: [''] } }, field: 's', reason: 'invalid_enum_value' },
      { body: { addEnumValues: { nope: [SECRET] } }, field: 'nope', reason: 'unknown_field' },
    ];
    for (const c of cases) {
      const body = await assertRefused(h, { method: 'PATCH', url: `${url()}/evolving`, body: c.body }, 'SCHEMA_CHANGE_REJECTED');
      assertDetail(body, { ...(c.field === undefined ? {} : { field: c.field }), reason: c.reason });
    }
    const got = (await h.call({ method: 'GET', url: `${url()}/evolving` })).json() as CollectionBody;
    assert.equal(got.schemaVersion, 3, 'no rejected change was applied');
  });

  test('SCHEMA_INVALID for an added field that is itself invalid', async () => {
    const body = await assertRefused(h, { method: 'PATCH', url: `${url()}/evolving`, body: { addFields: [{ name: 'bad_enum', type: 'enum', description: SECRET }] } }, 'SCHEMA_INVALID');
    assertDetail(body, { field: 'bad_enum', reason: 'invalid_values' });
  });

  test('REQUEST_INVALID for bad shapes; a personal-looking key in addEnumValues is not echoed', async () => {
    const cases: Array<{ body: unknown; field?: string; reason: string }> = [
      { body: { addEnumValues: { [SECRET]: ['x'] } }, field: 'addEnumValues', reason: 'propertyNames' },
      { body: { addEnumValues: { s: SECRET } }, field: 'addEnumValues.s', reason: 'type' },
      { body: { addEnumValues: { s: [`${SECRET}\u0000`] } }, field: 'addEnumValues.s.0', reason: 'pattern' },
      { body: { schemaVersion: 0, addFields: [{ name: 'x', type: 'string' }] }, field: 'schemaVersion', reason: 'minimum' },
      { body: { schemaVersion: '2', addFields: [{ name: 'x', type: 'string' }] }, field: 'schemaVersion', reason: 'type' },
      { body: { rename: { n: SECRET } }, field: 'rename', reason: 'unknown_property' },
      { body: { addFields: { name: SECRET } }, field: 'addFields', reason: 'type' },
    ];
    for (const c of cases) {
      const body = await assertRefused(h, { method: 'PATCH', url: `${url()}/evolving`, body: c.body }, 'REQUEST_INVALID');
      assertDetail(body, { ...(c.field === undefined ? {} : { field: c.field }), reason: c.reason });
    }
  });

  test('COLLECTION_NOT_FOUND and TENANT_NOT_FOUND', async () => {
    await assertRefused(h, { method: 'PATCH', url: `${url()}/absent`, body: { addFields: [{ name: 'x', type: 'string', description: SECRET }] } }, 'COLLECTION_NOT_FOUND');
    await assertRefused(h, { method: 'PATCH', url: `${url('no-such-tenant')}/absent`, body: { addFields: [{ name: 'x', type: 'string', description: SECRET }] } }, 'TENANT_NOT_FOUND');
  });
});
