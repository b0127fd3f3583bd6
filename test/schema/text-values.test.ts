import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectionSchema, valueFromText } from '../../src/schema/index.js';

const f = Object.fromEntries(
  parseCollectionSchema({
    fields: [
      { name: 's', type: 'string' },
      { name: 'i', type: 'integer' },
      { name: 'b', type: 'boolean' },
      { name: 'd', type: 'decimal' },
      { name: 'o', type: 'object', fields: [{ name: 'z', type: 'string' }] },
    ],
  }).fields.map((x) => [x.name, x]),
) as Record<string, Parameters<typeof valueFromText>[0]>;

describe('valueFromText (CSV cells)', () => {
  test('an empty cell is absent', () => {
    for (const name of Object.keys(f)) assert.equal(valueFromText(f[name] as Parameters<typeof valueFromText>[0], ''), undefined);
  });

  test('integers and booleans are converted; what cannot be is left as text for validation to report', () => {
    assert.equal(valueFromText(f.i!, '42'), 42);
    assert.equal(valueFromText(f.i!, '-7'), -7);
    assert.equal(valueFromText(f.i!, '1.5'), '1.5');
    assert.equal(valueFromText(f.i!, '12345678901234567'), '12345678901234567');
    assert.equal(valueFromText(f.b!, 'true'), true);
    assert.equal(valueFromText(f.b!, '0'), false);
    assert.equal(valueFromText(f.b!, 'yes'), 'yes');
  });

  test('objects are JSON; strings and decimals are kept verbatim', () => {
    assert.deepEqual(valueFromText(f.o!, '{"z":"a"}'), { z: 'a' });
    assert.equal(valueFromText(f.o!, '{z:'), '{z:');
    assert.equal(valueFromText(f.s!, ' 007 '), ' 007 ');
    assert.equal(valueFromText(f.d!, '007.50'), '007.50');
  });
});
