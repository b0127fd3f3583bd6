import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ErrorDetail } from '../../src/errors/index.js';
import { formatReject, RejectsFile } from '../../src/import/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kuraban-rejects-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const entry = (line: number) => `{"line":${line},"errors":[{"reason":"r${line}"}]}\n`;

test('an entry holds the line, field names and reasons only, whatever else a detail carries', () => {
  const detail = { field: 'birth_date', reason: 'expected_date', value: 'SECRET', index: 3, line: 9 } as ErrorDetail;
  assert.equal(formatReject({ line: 12, errors: [detail, { reason: 'column_count' }] }), '{"line":12,"errors":[{"field":"birth_date","reason":"expected_date"},{"reason":"column_count"}]}\n');
  assert.equal(formatReject({ line: 3, endLine: 5, errors: [{ reason: 'x' }] }), '{"line":3,"endLine":5,"errors":[{"reason":"x"}]}\n');
  assert.equal(formatReject({ line: 3, endLine: 3, errors: [{ reason: 'x' }] }), '{"line":3,"errors":[{"reason":"x"}]}\n');
});

test('a fresh import empties an existing rejects file; the file is created 0600', () => {
  const path = join(dir, 'fresh.ndjson');
  writeFileSync(path, entry(1) + entry(2));
  const f = RejectsFile.open(path);
  f.append([{ line: 7, errors: [{ reason: 'a' }] }]);
  f.close();
  assert.equal(readFileSync(path, 'utf8'), '{"line":7,"errors":[{"reason":"a"}]}\n');
  const created = join(dir, 'created.ndjson');
  RejectsFile.open(created).close();
  assert.equal(statSync(created).mode & 0o777, 0o600);
});

test('resuming keeps the entries up to the checkpoint and cuts later and torn ones, then appends after them', () => {
  const path = join(dir, 'resume.ndjson');
  writeFileSync(path, entry(3) + entry(10) + entry(11) + entry(25) + '{"line":30,"err');
  const f = RejectsFile.open(path, 11);
  assert.equal(f.kept, 3);
  f.append([{ line: 12, errors: [{ reason: 'new' }] }]);
  f.close();
  assert.equal(readFileSync(path, 'utf8'), entry(3) + entry(10) + entry(11) + '{"line":12,"errors":[{"reason":"new"}]}\n');

  writeFileSync(path, entry(3) + '{"line":4,"errors":[]}'); // the last entry lost its newline: torn
  const g = RejectsFile.open(path, 100);
  assert.equal(g.kept, 1);
  g.close();
  assert.equal(readFileSync(path, 'utf8'), entry(3));

  writeFileSync(path, entry(3) + 'garbage\n' + entry(4));
  RejectsFile.open(path, 100).close();
  assert.equal(readFileSync(path, 'utf8'), entry(3), 'everything from the first unreadable entry on is cut');
});

test('a resumed import with no rejects file starts one', () => {
  const path = join(dir, 'missing.ndjson');
  const f = RejectsFile.open(path, 50);
  assert.equal(f.kept, 0);
  f.close();
  assert.equal(readFileSync(path, 'utf8'), '');
});

test('truncate(size) rewinds to an earlier entry boundary, so a retried batch is written once', () => {
  const path = join(dir, 'retry.ndjson');
  const f = RejectsFile.open(path);
  f.append([{ line: 1, errors: [{ reason: 'a' }] }]);
  const mark = f.size;
  f.append([{ line: 2, errors: [{ reason: 'b' }] }]);
  f.truncate(mark);
  f.append([{ line: 2, errors: [{ reason: 'b' }] }]);
  assert.throws(() => f.truncate(f.size + 1), RangeError);
  f.close();
  assert.equal(readFileSync(path, 'utf8'), '{"line":1,"errors":[{"reason":"a"}]}\n{"line":2,"errors":[{"reason":"b"}]}\n');
});
