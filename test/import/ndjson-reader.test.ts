import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter, NdjsonReader, type SourceRow } from '../../src/import/index.js';

function readNdjson(input: Buffer | string, maxLine = 1024): SourceRow[] {
  const reader = new NdjsonReader();
  const s = new LineSplitter(maxLine);
  const rows: SourceRow[] = [];
  for (const l of [...s.push(Buffer.isBuffer(input) ? input : Buffer.from(input)), ...s.end()]) {
    const r = reader.push(l);
    if (r) rows.push(r);
  }
  return rows;
}

test('each line is one record; subjectId passes through as given (the vault validates it)', () => {
  assert.deepEqual(readNdjson('\uFEFF{"subjectId":"S1","fields":{"a":1}}\n{"fields":{"b":"x"}}\r\n{"subjectId":7,"fields":null}'), [
    { line: 1, endLine: 1, input: { subjectId: 'S1', fields: { a: 1 } } },
    { line: 2, endLine: 2, input: { fields: { b: 'x' } } },
    { line: 3, endLine: 3, input: { subjectId: 7 as unknown as string, fields: null } },
  ]);
});

test('blank and whitespace-only lines are skipped', () => {
  assert.deepEqual(
    readNdjson('\n  \t\n{"fields":{}}\n\n').map((r) => r.line),
    [3],
  );
});

test('bad lines are rejected with a reason and no value', () => {
  const rows = readNdjson(
    Buffer.concat([
      Buffer.from('{"fields":\n42\nnull\n"str"\n[1]\n{"fields":{},"__proto__":{"x":1}}\n{"fields":{},"id":"i","version":2}\n'),
      Buffer.from([0x7b, 0xc3, 0x28, 0x7d, 0x0a]), // {, an invalid two-byte sequence, }
      Buffer.from(`{"fields":{"a":"${'z'.repeat(50)}"}}\n{"fields":{}}\n`),
    ]),
    40,
  );
  assert.deepEqual(
    rows.map((r) => [r.line, r.problems?.map((p) => p.reason).join() ?? 'ok']),
    [
      [1, 'malformed_json'],
      [2, 'record_not_object'],
      [3, 'record_not_object'],
      [4, 'record_not_object'],
      [5, 'record_not_object'],
      [6, 'unknown_key'],
      [7, 'ok'],
      [8, 'invalid_utf8'],
      [9, 'line_too_long'],
      [10, 'ok'],
    ],
  );
});
