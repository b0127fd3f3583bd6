import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KurabanError } from '../../src/errors/index.js';
import { CsvReader, LineSplitter, MAX_CSV_RECORD_BYTES, type SourceRow } from '../../src/import/index.js';
import { parseCollectionSchema } from '../../src/schema/index.js';
import { RESIDENT_SCHEMA } from '../helpers/temp-vault.js';

const SCHEMA = parseCollectionSchema(RESIDENT_SCHEMA);

function readCsv(input: string | Buffer, schema = SCHEMA): { rows: SourceRow[]; reader: CsvReader } {
  const reader = new CsvReader(schema);
  const splitter = new LineSplitter(MAX_CSV_RECORD_BYTES);
  const rows: SourceRow[] = [];
  for (const line of [...splitter.push(Buffer.isBuffer(input) ? input : Buffer.from(input, 'utf8')), ...splitter.end()]) {
    const r = reader.push(line);
    if (r) rows.push(r);
  }
  const last = reader.end(splitter.lines);
  if (last) rows.push(last);
  return { rows, reader };
}

function importError(fn: () => unknown): KurabanError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KurabanError, String(e));
    assert.equal(e.code, 'IMPORT_INVALID');
    return e;
  }
  assert.fail('expected IMPORT_INVALID');
}

test('RFC 4180 quoting: commas, doubled quotes, CRLF and LF inside quotes are kept exactly', () => {
  const { rows } = readCsv('family_name,given_name\r\n"a,b","say ""hi"""\r\n"x\r\ny","p\nq"\r\n"",plain\r\n');
  assert.deepEqual(rows, [
    { line: 2, endLine: 2, input: { fields: { family_name: 'a,b', given_name: 'say "hi"' } } },
    { line: 3, endLine: 5, input: { fields: { family_name: 'x\r\ny', given_name: 'p\nq' } } },
    { line: 6, endLine: 6, input: { fields: { given_name: 'plain' } } },
  ]);
});

test('cells convert by field type; empty cells are absent; subject_id maps to the subject', () => {
  const { rows } = readCsv(
    'subject_id,family_name,given_name,household_size,verified,income,address\n' +
      'P-1,A,B,3,true,0012.50,"{""line1"":""1-2-3""}"\n' +
      ',A,B,,0,,\n' +
      'P-3,A,B,x3,yes,1e5,{oops\n',
  );
  assert.deepEqual(rows, [
    { line: 2, endLine: 2, input: { subjectId: 'P-1', fields: { family_name: 'A', given_name: 'B', household_size: 3, verified: true, income: '0012.50', address: { line1: '1-2-3' } } } },
    { line: 3, endLine: 3, input: { fields: { family_name: 'A', given_name: 'B', verified: false } } },
    // Unconvertible text is passed on unchanged, so the vault reports the field's own reason.
    { line: 4, endLine: 4, input: { subjectId: 'P-3', fields: { family_name: 'A', given_name: 'B', household_size: 'x3', verified: 'yes', income: '1e5', address: '{oops' } } },
  ]);
});

test('a BOM is stripped from the header only; U+FEFF inside later data is kept', () => {
  const { rows } = readCsv('\uFEFFfamily_name,given_name\n\uFEFFA,B\n');
  assert.deepEqual(rows, [{ line: 2, endLine: 2, input: { fields: { family_name: '\uFEFFA', given_name: 'B' } } }]);
});

test('blank lines hold no record but keep their line numbers', () => {
  const { rows } = readCsv('family_name,given_name\n\nA,B\r\n\r\n\nC,D');
  assert.deepEqual(
    rows.map((r) => [r.line, r.input?.fields]),
    [
      [3, { family_name: 'A', given_name: 'B' }],
      [6, { family_name: 'C', given_name: 'D' }],
    ],
  );
});

test('bad records are rejected at their first line with a reason, and the next record is read correctly', () => {
  const { rows } = readCsv(
    [
      'family_name,given_name',
      'only-one',
      'a,b,c',
      '"closed"junk,b',
      'un"quoted,b',
      '"ok",b',
      '"spans',
      'lines" x,b',
      'A,B',
      '"never closed,b',
      'C,D',
    ].join('\n'),
  );
  assert.deepEqual(
    rows.map((r) => ({ line: r.line, endLine: r.endLine, problems: r.problems })),
    [
      { line: 2, endLine: 2, problems: [{ reason: 'column_count' }] },
      { line: 3, endLine: 3, problems: [{ reason: 'column_count' }] },
      { line: 4, endLine: 4, problems: [{ reason: 'malformed_quotes' }] },
      { line: 5, endLine: 5, problems: [{ reason: 'malformed_quotes' }] },
      { line: 6, endLine: 6, problems: undefined },
      { line: 7, endLine: 8, problems: [{ reason: 'malformed_quotes' }] },
      { line: 9, endLine: 9, problems: undefined },
      { line: 10, endLine: 11, problems: [{ reason: 'unterminated_quote' }] },
    ],
  );
});

test('invalid UTF-8 inside a multi-line quoted record rejects that record only; its quotes are still followed', () => {
  const bytes = Buffer.concat([
    Buffer.from('family_name,given_name\n"first\n'),
    Buffer.from([0xe3, 0x81]), // a truncated three-byte sequence
    Buffer.from(' line",b\n"x,\ny",B\n'),
  ]);
  const { rows } = readCsv(bytes);
  assert.deepEqual(rows, [
    { line: 2, endLine: 3, problems: [{ reason: 'invalid_utf8' }] },
    { line: 4, endLine: 5, input: { fields: { family_name: 'x,\ny', given_name: 'B' } } },
  ]);
});

test('header: an unknown column fails by position, never echoing its text', () => {
  const e = importError(() => readCsv('family_name,given_name,Yamada Taro\nA,B,C\n'));
  assert.deepEqual(e.details, [{ line: 1, index: 3, reason: 'unknown_column' }]);
  assert.ok(!e.message.includes('Yamada'), e.message);
  assert.match(e.message, /column 3 is not a field/);
});

test('header: duplicate columns, a missing required field, bad UTF-8, no header at all', () => {
  assert.deepEqual(importError(() => readCsv('family_name,given_name,family_name\n')).details, [{ line: 1, index: 3, reason: 'duplicate_column' }]);
  assert.deepEqual(importError(() => readCsv('family_name,kana\n')).details, [{ field: 'given_name', reason: 'missing_required_column' }]);
  assert.equal(importError(() => readCsv(Buffer.from([0x66, 0xff, 0x0a]))).details[0]?.reason, 'invalid_utf8');
  assert.equal(importError(() => readCsv('')).details[0]?.reason, 'no_header');
  assert.equal(importError(() => readCsv('\n\n')).details[0]?.reason, 'no_header');
  assert.equal(importError(() => readCsv('"family_name,given_name\n')).details[0]?.reason, 'unterminated_quote');
  assert.deepEqual(readCsv('family_name,given_name\n').rows, [], 'a header alone is an empty import');
});

test('export metadata columns id and version are skipped (schemas cannot declare fields with those names)', () => {
  const { rows, reader } = readCsv('id,subject_id,version,family_name,given_name\nabc,,7,A,B\n');
  assert.deepEqual(rows, [{ line: 2, endLine: 2, input: { fields: { family_name: 'A', given_name: 'B' } } }]);
  assert.deepEqual(reader.ignoredColumns, ['id', 'version']);
  for (const name of ['id', 'version', 'subject_id']) {
    assert.throws(() => parseCollectionSchema({ fields: [{ name, type: 'string' }] }), (e: unknown) => (e as { details?: Array<{ reason: string }> }).details?.[0]?.reason === 'reserved_name');
  }
});

test('a runaway quote fails the import at the record start instead of reading the file into memory', () => {
  const row = `A,${'x'.repeat(1000)}\n`;
  const e = importError(() => readCsv(`family_name,given_name\nok,ok\n"runaway,b\n${row.repeat(Math.ceil(MAX_CSV_RECORD_BYTES / row.length) + 1)}`));
  assert.deepEqual(e.details, [{ line: 3, reason: 'record_too_long' }]);
});

test('a physical line over the limit fails the import with its line number', () => {
  const reader = new CsvReader(SCHEMA);
  const big = new LineSplitter(30).push(Buffer.from(`family_name,given_name\nA,B\nA,${'y'.repeat(40)}\n`));
  for (const l of big.slice(0, 2)) reader.push(l);
  const e = importError(() => reader.push(big[2] as (typeof big)[number]));
  assert.deepEqual(e.details, [{ line: 3, reason: 'line_too_long' }]);
});
