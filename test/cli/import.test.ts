/** `kuraban import` in-process: CSV and NDJSON, rejects, header failures, re-runs and progress output. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BACKENDS, RESIDENT_SCHEMA, type TempVault } from '../helpers/temp-vault.js';
import { allRecords, COLLECTION, kuraban, ndjson, residentVault, summaryOf, TENANT } from './harness.js';

const importArgs = (file: string, ...extra: string[]) => ['import', '--tenant', TENANT, '--collection', COLLECTION, ...extra, file];

function byResidentNo<T extends { fields: Record<string, unknown> }>(rows: T[]): T[] {
  return [...rows].sort((a, b) => String(a.fields.resident_no).localeCompare(String(b.fields.resident_no)));
}

/** Asserts that none of `secrets` occurs in any of the texts. */
function assertNoneLeaked(secrets: readonly string[], texts: Record<string, string>): void {
  for (const [where, text] of Object.entries(texts)) {
    for (const s of secrets) assert.ok(!text.includes(s), `${JSON.stringify(s)} leaked into ${where}`);
  }
}

for (const backend of BACKENDS) {
  describe(`kuraban import (${backend})`, () => {
    let tv: TempVault;
    let dir: string;
    before(async () => {
      tv = await residentVault(backend, [COLLECTION, 'second']);
      dir = mkdtempSync(join(tmpdir(), 'kuraban-import-'));
    });
    after(async () => {
      await tv.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    test('CSV: BOM, quoted commas, quotes and newlines (CRLF and LF), empty cells absent, objects as JSON, subject_id', async () => {
      await tv.vault.collections.create(TENANT, 'csv_happy', RESIDENT_SCHEMA);
      const file = join(dir, 'happy.csv');
      const csv =
        '\uFEFFsubject_id,family_name,given_name,kana,resident_no,birth_date,income,household_size,status,verified,address\r\n' +
        'S-001,山田,太郎,ヤマダ,R001,1980-04-01,1234.50,3,active,true,"{""postal_code"":""100-0001"",""line1"":""千代田1-1""}"\r\n' +
        ',"Smith, Jr.",John,,R002,,,,,false,\r\n' +
        'S-003,"O""Brien","multi\r\nline",,R003,1990-01-31,,,moved_out,,\r\n' +
        'S-004,"a\nb",Bob,,R004,,,,,,\n' +
        'S-005,End,"no newline at the end",,R005,,,,,,';
      writeFileSync(file, csv);
      const r = await kuraban(tv, ['import', '--tenant', TENANT, '--collection', 'csv_happy', file]);
      assert.equal(r.code, 0, r.stderr);
      const s = summaryOf(r);
      assert.equal(s.imported, 5);
      assert.equal(s.rejected, 0);
      assert.equal(s.alreadyDone, false);
      assert.equal(s.resumedFromLine, null);
      assert.equal(s.lines, 8);
      assert.equal(typeof s.seconds, 'number');
      assert.equal(typeof s.rowsPerSecond, 'number');
      assert.deepEqual(byResidentNo(await allRecords(tv, 'csv_happy')), [
        {
          subjectId: 'S-001',
          fields: {
            family_name: '山田',
            given_name: '太郎',
            kana: 'ヤマダ',
            resident_no: 'R001',
            birth_date: '1980-04-01',
            income: '1234.5',
            household_size: 3,
            status: 'active',
            verified: true,
            address: { postal_code: '100-0001', line1: '千代田1-1' },
          },
        },
        { subjectId: null, fields: { family_name: 'Smith, Jr.', given_name: 'John', resident_no: 'R002', verified: false } },
        { subjectId: 'S-003', fields: { family_name: 'O"Brien', given_name: 'multi\r\nline', resident_no: 'R003', birth_date: '1990-01-31', status: 'moved_out' } },
        { subjectId: 'S-004', fields: { family_name: 'a\nb', given_name: 'Bob', resident_no: 'R004' } },
        { subjectId: 'S-005', fields: { family_name: 'End', given_name: 'no newline at the end', resident_no: 'R005' } },
      ]);
      assert.equal(readFileSync(`${file}.rejects.ndjson`, 'utf8'), '', 'a clean import leaves an empty rejects file');
    });

    test('NDJSON: subjectId optional, blank lines skipped, export metadata keys ignored', async () => {
      await tv.vault.collections.create(TENANT, 'nd_happy', RESIDENT_SCHEMA);
      const file = join(dir, 'happy.ndjson');
      writeFileSync(
        file,
        [
          '\uFEFF{"subjectId":"S-1","fields":{"family_name":"山田","given_name":"花子","household_size":2,"address":{"line1":"x"}}}',
          '',
          '   ',
          '{"fields":{"family_name":"𠮷野","given_name":"葛\u{E0100}"}}',
          '{"id":"0190a0a0-0000-7000-8000-000000000000","version":3,"subjectId":null,"fields":{"family_name":"C","given_name":"D"}}',
          '',
        ].join('\r\n'),
      );
      const r = await kuraban(tv, ['import', '--tenant', TENANT, '--collection', 'nd_happy', file]);
      assert.equal(r.code, 0, r.stderr);
      const s = summaryOf(r);
      assert.equal(s.imported, 3);
      assert.equal(s.rejected, 0);
      const name = (r: { fields: Record<string, unknown> }) => String(r.fields.family_name);
      const rows = (await allRecords(tv, 'nd_happy')).sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
      assert.deepEqual(rows, [
        { subjectId: null, fields: { family_name: 'C', given_name: 'D' } },
        { subjectId: 'S-1', fields: { family_name: '山田', given_name: '花子', household_size: 2, address: { line1: 'x' } } },
        { subjectId: null, fields: { family_name: '𠮷野', given_name: '葛\u{E0100}' } },
      ]);
    });

    test('CSV rejects: each bad record listed once at the line where it starts, with field names and reasons only', async () => {
      await tv.vault.collections.create(TENANT, 'csv_rejects', RESIDENT_SCHEMA);
      const secrets = ['Zx9q-SECRET-DATE', 'COLCOUNT-SECRET', 'UTF-SECRET', 'QUOTE-SECRET', 'UNTERMINATED-SECRET', 'R1-SECRET'];
      const file = join(dir, 'rejects.csv');
      const lines = [
        /* 1 */ 'family_name,given_name,birth_date,resident_no,household_size',
        /* 2 */ 'Ok,One,1980-01-01,R1-SECRET,1',
        /* 3 */ '"Multi',
        /* 4 */ 'Line",Two,1980-01-02,R2,2',
        /* 5 */ 'Bad,Date,Zx9q-SECRET-DATE,R3,1',
        /* 6 */ 'Few,COLCOUNT-SECRET',
        /* 7 */ 'BAD_UTF8_HERE,UTF-SECRET,1980-01-03,R4,1',
        /* 8 */ 'Dup,Row,1980-01-04,R1-SECRET,1',
        /* 9 */ '"Stray"QUOTE-SECRET,x,1980-01-05,R5,1',
        /* 10 */ 'Range,Size,1980-01-06,R6,99',
        /* 11 */ '',
        /* 12 */ 'Last,Fine,1980-01-07,R7,2',
        /* 13 */ '"UNTERMINATED-SECRET,x,1980-01-08,R8,1',
      ];
      const bytes = Buffer.from(lines.join('\n'), 'utf8');
      // Line 7 gets bytes that are not UTF-8 (a lone continuation byte and an overlong encoding).
      const marker = bytes.indexOf('BAD_UTF8_HERE');
      writeFileSync(file, Buffer.concat([bytes.subarray(0, marker), Buffer.from([0x80, 0xc0, 0xaf]), bytes.subarray(marker + 'BAD_UTF8_HERE'.length)]));
      const r = await kuraban(tv, ['import', '--tenant', TENANT, '--collection', 'csv_rejects', '--batch-size', '3', file]);
      assert.equal(r.code, 0, `rejects are reported, not failures: ${r.stderr}`);
      const s = summaryOf(r);
      assert.equal(s.imported, 3);
      assert.equal(s.rejected, 7);
      const rejectsText = readFileSync(`${file}.rejects.ndjson`, 'utf8');
      assert.deepEqual(ndjson(rejectsText), [
        { line: 5, errors: [{ field: 'birth_date', reason: 'expected_date' }] },
        { line: 6, errors: [{ reason: 'column_count' }] },
        { line: 7, errors: [{ reason: 'invalid_utf8' }] },
        { line: 8, errors: [{ field: 'resident_no', reason: 'unique_violation' }] },
        { line: 9, errors: [{ reason: 'malformed_quotes' }] },
        { line: 10, errors: [{ field: 'household_size', reason: 'out_of_range' }] },
        { line: 13, errors: [{ reason: 'unterminated_quote' }] },
      ]);
      assert.deepEqual(
        (await allRecords(tv, 'csv_rejects')).map((x) => x.fields.family_name).sort(),
        ['Last', 'Multi\nLine', 'Ok'],
      );
      assertNoneLeaked(secrets, { 'the rejects file': rejectsText, stdout: r.stdout, stderr: r.stderr });
      assert.match(r.stderr, /7 rows rejected/);
    });

    test('NDJSON rejects: malformed JSON, invalid UTF-8, shape and validation, by line', async () => {
      await tv.vault.collections.create(TENANT, 'nd_rejects', RESIDENT_SCHEMA);
      const file = join(dir, 'rejects.ndjson');
      const good = '{"fields":{"family_name":"A","given_name":"B"}}';
      const text = [
        /* 1 */ good,
        /* 2 */ '{"fields":{"family_name":"MALFORMED-SECRET"',
        /* 3 */ '',
        /* 4 */ '["ARRAY-SECRET"]',
        /* 5 */ '{"fields":{"family_name":"C","given_name":"D"},"extra_SECRET":"EXTRA-SECRET"}',
        /* 6 */ '{"fields":{"family_name":"E"}}',
        /* 7 */ '{"subjectId":"bad subject SUBJECT-SECRET","fields":{"family_name":"F","given_name":"G"}}',
        /* 8 */ '',
      ].join('\n');
      // Line 8 holds a byte that is never valid in UTF-8 (0xFF); line 9 is fine again.
      const line8 = Buffer.concat([Buffer.from('{"fields":{"family_name":"UTF-SECRET'), Buffer.from([0xff]), Buffer.from('","given_name":"x"}}\n')]);
      writeFileSync(file, Buffer.concat([Buffer.from(text, 'utf8'), line8, Buffer.from(`${good}\n`)]));
      const r = await kuraban(tv, ['import', '--tenant', TENANT, '--collection', 'nd_rejects', file]);
      assert.equal(r.code, 0, r.stderr);
      const rejectsText = readFileSync(`${file}.rejects.ndjson`, 'utf8');
      assert.deepEqual(ndjson(rejectsText), [
        { line: 2, errors: [{ reason: 'malformed_json' }] },
        { line: 4, errors: [{ reason: 'record_not_object' }] },
        { line: 5, errors: [{ reason: 'unknown_key' }] },
        { line: 6, errors: [{ field: 'given_name', reason: 'required' }] },
        { line: 7, errors: [{ field: 'subjectId', reason: 'invalid_subject_id' }] },
        { line: 8, errors: [{ reason: 'invalid_utf8' }] },
      ]);
      assert.equal(summaryOf(r).imported, 2);
      assertNoneLeaked(['MALFORMED-SECRET', 'ARRAY-SECRET', 'EXTRA-SECRET', 'extra_SECRET', 'SUBJECT-SECRET', 'UTF-SECRET'], {
        'the rejects file': rejectsText,
        stdout: r.stdout,
        stderr: r.stderr,
      });
    });

    test('an unknown header column fails the whole import before anything is written, without echoing the header text', async () => {
      const file = join(dir, 'unknown-column.csv');
      writeFileSync(file, 'family_name,given_name,tanaka_secret_col\nA,B,C\n');
      const before = await tv.vault.records.count(TENANT, COLLECTION);
      const r = await kuraban(tv, importArgs(file));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /IMPORT_INVALID/);
      assert.match(r.stderr, /column 3/);
      assert.ok(!r.stderr.includes('tanaka_secret_col'), 'the unknown header text is not echoed (it may be a value)');
      assert.equal(r.stdout, '');
      assert.equal(await tv.vault.records.count(TENANT, COLLECTION), before);
      assert.equal(existsSync(`${file}.rejects.ndjson`), false, 'no rejects file is created either');
    });

    test('a required field without a column fails before anything is written', async () => {
      const file = join(dir, 'missing-required.csv');
      writeFileSync(file, 'family_name\nA\n');
      const r = await kuraban(tv, importArgs(file));
      assert.equal(r.code, 1);
      assert.match(r.stderr, /IMPORT_INVALID/);
      assert.match(r.stderr, /given_name missing_required_column/);
      assert.equal(existsSync(`${file}.rejects.ndjson`), false);
    });

    test('re-running a finished import reports it and writes nothing', async () => {
      await tv.vault.collections.create(TENANT, 'rerun', RESIDENT_SCHEMA);
      const file = join(dir, 'rerun.csv');
      writeFileSync(file, 'family_name,given_name,birth_date\nA,B,1980-01-01\nC,D,not-a-date\n');
      const args = ['import', '--tenant', TENANT, '--collection', 'rerun', file];
      const first = await kuraban(tv, args);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(summaryOf(first).imported, 1);
      const rejectsPath = `${file}.rejects.ndjson`;
      const rejectsBefore = readFileSync(rejectsPath);
      const mtimeBefore = statSync(rejectsPath).mtimeMs;

      const second = await kuraban(tv, args);
      assert.equal(second.code, 0, second.stderr);
      const s = summaryOf(second);
      assert.equal(s.alreadyDone, true);
      assert.equal(s.imported, 0);
      assert.equal(s.rejected, 0);
      assert.equal(s.totalImported, 1);
      assert.equal(s.totalRejected, 1);
      assert.match(second.stderr, /already imported/);
      assert.equal(await tv.vault.records.count(TENANT, 'rerun'), 1);
      assert.deepEqual(readFileSync(rejectsPath), rejectsBefore);
      assert.equal(statSync(rejectsPath).mtimeMs, mtimeBefore, 'the rejects file is not rewritten');

      // The same rows in a different file (one more row) are a new import, not "already done".
      writeFileSync(file, 'family_name,given_name,birth_date\nA,B,1980-01-01\nC,D,not-a-date\nE,F,\n');
      const third = await kuraban(tv, args);
      assert.equal(summaryOf(third).alreadyDone, false);
      assert.equal(await tv.vault.records.count(TENANT, 'rerun'), 3);
    });
  });
}

describe('kuraban import: options and output', () => {
  let tv: TempVault;
  let dir: string;
  before(async () => {
    tv = await residentVault('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'kuraban-import-'));
  });
  after(async () => {
    await tv.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('progress on a non-terminal is plain lines (no carriage returns or escapes) ending with a final line', async () => {
    const file = join(dir, 'progress.csv');
    writeFileSync(file, `family_name,given_name\n${Array.from({ length: 50 }, (_, i) => `F${i},G${i}`).join('\n')}\n`);
    const r = await kuraban(tv, importArgs(file));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!/[\r\x1b]/.test(r.stderr), 'no terminal control characters');
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('import:'));
    assert.ok(lines.length >= 1);
    assert.match(lines[lines.length - 1] as string, /^import: done 100\.0% 50 rows in \d+\.\d s \(\d+ rows\/s\): 50 imported, 0 rejected$/);
  });

  test('progress on a terminal redraws one line in place', async () => {
    const file = join(dir, 'progress-tty.csv');
    writeFileSync(file, 'family_name,given_name\nA,B\n');
    const r = await kuraban(tv, importArgs(file), { stderrTTY: true });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\r\x1b\[2K\[[#.]+\] import: [\d.]+% \d+ rows \d+ rows\/s ETA /);
    assert.match(r.stderr, /\r\x1b\[2Kimport: done 100\.0% 1 rows .*\n/);
  });

  test('--rejects chooses the rejects file; it may not be the input itself', async () => {
    const file = join(dir, 'custom.csv');
    writeFileSync(file, 'family_name,given_name,household_size\nA,B,0\n');
    const rejects = join(dir, 'custom-rejects.ndjson');
    const r = await kuraban(tv, importArgs(file, '--rejects', rejects));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ndjson(readFileSync(rejects, 'utf8')), [{ line: 2, errors: [{ field: 'household_size', reason: 'out_of_range' }] }]);
    assert.equal(existsSync(`${file}.rejects.ndjson`), false);

    const self = await kuraban(tv, importArgs(file, '--rejects', file));
    assert.equal(self.code, 1);
    assert.match(self.stderr, /IMPORT_INVALID/);
    assert.equal(readFileSync(file, 'utf8'), 'family_name,given_name,household_size\nA,B,0\n', 'the input is untouched');
  });

  test('--batch-size outside 1..10000 and an unknown extension without --format fail with IMPORT_INVALID', async () => {
    const file = join(dir, 'opts.csv');
    writeFileSync(file, 'family_name,given_name\nA,B\n');
    for (const n of ['0', '10001', 'abc', '-5']) {
      const r = await kuraban(tv, importArgs(file, '--batch-size', n));
      assert.notEqual(r.code, 0, `batch size ${n}`);
      assert.match(r.stderr, /IMPORT_INVALID|error/, `batch size ${n}`);
    }
    const txt = join(dir, 'opts.txt');
    writeFileSync(txt, 'family_name,given_name\nTxt,Format\n');
    const r = await kuraban(tv, importArgs(txt));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /IMPORT_INVALID: cannot tell the format/);
    const ok = await kuraban(tv, importArgs(txt, '--format', 'csv'));
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(summaryOf(ok).imported, 1);
  });

  test('a missing file or tenant fails with its code and a non-zero exit', async () => {
    const missing = await kuraban(tv, importArgs(join(dir, 'nope.csv')));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /IMPORT_INVALID/);
    const file = join(dir, 'tenant.csv');
    writeFileSync(file, 'family_name,given_name\nA,B\n');
    const r = await kuraban(tv, ['import', '--tenant', 'no-such-tenant', '--collection', COLLECTION, file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TENANT_NOT_FOUND/);
  });

  test('--help documents formats, rejects without values, and resuming', async () => {
    const r = await kuraban(tv, ['import', '--help']);
    assert.equal(r.code, 0);
    const help = r.stdout.replace(/\s+/g, ' ');
    for (const s of ['--format', '--rejects', '--batch-size', 'subject_id', 'never a value from the file', 'Resuming', 'already imported']) {
      assert.ok(help.includes(s), `help mentions ${s}`);
    }
  });
});
