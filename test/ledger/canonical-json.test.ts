import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, canonicalJsonBytes, isCanonicalJson, CanonicalJsonError } from '../../src/ledger/index.js';

/** A double from its IEEE-754 bits, as RFC 8785 Appendix B lists them. */
function fromBits(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleBE(0);
}

describe('RFC 8785 canonical JSON', () => {
  test('§3.2.2 example: whitespace, numbers, string escapes, literals', () => {
    const input = '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n' +
      '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n  "literals": [null, true, false]\n}';
    const expected = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    assert.equal(canonicalJson(JSON.parse(input)), expected);
    // §3.2.4: UTF-8 bytes; the Euro sign is E2 82 AC.
    assert.ok(canonicalJsonBytes(JSON.parse(input)).includes(Buffer.from('e282ac24', 'hex')));
  });

  test('§3.2.3 example: members sorted by UTF-16 code units', () => {
    const input = '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",' +
      '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}';
    const out = canonicalJson(JSON.parse(input));
    assert.equal(out, '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}');
  });

  test('Appendix B: ECMAScript number serialisation', () => {
    const cases: Array<[string, string]> = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, text] of cases) assert.equal(canonicalJson(fromBits(bits)), text, bits);
    for (const bits of ['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000']) {
      assert.throws(() => canonicalJson(fromBits(bits)), CanonicalJsonError, bits);
    }
  });

  test('control characters and escapes per §3.2.2.2', () => {
    assert.equal(canonicalJson('\b\t\n\f\r"\\\u0000\u001f\u007f/'), '"\\b\\t\\n\\f\\r\\"\\\\\\u0000\\u001f\u007f/"');
  });

  test('refuses what is not JSON or not valid Unicode', () => {
    for (const bad of [undefined, 1n, () => 1, Symbol('s'), new Date(0), Buffer.alloc(1), new Map(), '\ud800', { '\udc00': 1 }, [1, , 2], NaN]) {
      assert.throws(() => canonicalJson(bad), CanonicalJsonError);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), CanonicalJsonError);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    assert.throws(() => canonicalJson(deep), CanonicalJsonError);
    // A value shared (not cyclic) is fine.
    const shared = { a: 1 };
    assert.equal(canonicalJson({ x: shared, y: shared }), '{"x":{"a":1},"y":{"a":1}}');
  });

  test('isCanonicalJson accepts only the canonical bytes', () => {
    assert.equal(isCanonicalJson(Buffer.from('{"a":1,"b":[true,null]}')), true);
    for (const s of ['{"b":1,"a":2}', '{"a": 1}', '{"a":1,"a":1}', '{"a":1.0}', '\ufeff{}', '"\\u00e9"', '{"a":"\\/"}']) {
      assert.equal(isCanonicalJson(Buffer.from(s)), false, s);
    }
    assert.equal(isCanonicalJson(Buffer.from([0x22, 0xff, 0x22])), false, 'invalid UTF-8');
  });

  const json = fc.jsonValue({ maxDepth: 4 }).filter((v) => !containsNegativeZero(v));

  test('property: parse(canonical(x)) deep-equals x', () => {
    fc.assert(fc.property(json, (x) => {
      assert.deepStrictEqual(JSON.parse(canonicalJson(x)), x);
    }), { numRuns: 500 });
  });

  test('property: canonicalisation is idempotent and the result is canonical', () => {
    fc.assert(fc.property(json, (x) => {
      const once = canonicalJson(x);
      assert.equal(canonicalJson(JSON.parse(once)), once);
      assert.equal(isCanonicalJson(Buffer.from(once, 'utf8')), true);
    }), { numRuns: 500 });
  });

  test('property: member order of the input does not matter', () => {
    const obj = fc.dictionary(fc.string({ unit: 'grapheme' }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 12 });
    fc.assert(fc.property(obj, fc.infiniteStream(fc.double()), (o, rnd) => {
      const entries = Object.entries(o);
      const shuffled = entries.map((e) => [e, rnd.next().value] as const).sort((a, b) => (a[1] ?? 0) - (b[1] ?? 0)).map(([e]) => e);
      assert.equal(canonicalJson(Object.fromEntries(shuffled)), canonicalJson(o));
    }), { numRuns: 300 });
  });
});

function containsNegativeZero(v: unknown): boolean {
  if (Object.is(v, -0)) return true;
  if (Array.isArray(v)) return v.some(containsNegativeZero);
  if (v !== null && typeof v === 'object') return Object.values(v).some(containsNegativeZero);
  return false;
}
