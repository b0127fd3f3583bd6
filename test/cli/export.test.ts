/** `kuraban export`: NDJSON and CSV that import back to the same values, and a careful output file. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BACKENDS, RESIDENT_SCHEMA, type TempVault } from '../helpers/temp-vault.js';
import { allRecords, COLLECTION, kuraban, ndjson, residentVault, summaryOf, TENANT } from './harness.js';

/** Strings that break naive SQL, shells, CSV and UTF-16 handling; each must come back byte for byte. */
const HOSTILE = [
  "'; DROP TABLE records; --",
  '$(rm -rf /)',
  '`id`',
  '"quoted"',
  'comma, inside',
  'line\nbreak',
  'crlf\r\nbreak',
  'lone\rcr',
  '  padded  ',
  '=1+1',
  '\\back\\slash\\',
  '𠮷野家',
  '葛\u{E0100}城',
  '👨‍👩‍👧 family',
  '\uFEFFstarts with a BOM',
  '"',
  ',',
  'null',
];

const record = (i: number, s: string) => ({
  subjectId: i % 2 === 0 ? `P-${i}` : null,
  fields: {
    family_name: s,
    given_name: `g${i}`,
    kana: s,
    resident_no: `R-${i}`,
    ...(i % 3 === 0 ? { birth_date: '1970-12-31', income: '-12.5', household_size: 4, status: 'moved_out', verified: false } : {}),
    ...(i % 4 === 0 ? { address: { postal_code: '100-0001', line1: s } } : {}),
  },
});

const byResidentNo = (rows: Awaited<ReturnType<typeof allRecords>>) =>
  [...rows].sort((a, b) => String(a.fields.resident_no).localeCompare(String(b.fields.resident_no)));

for (const backend of BACKENDS) {
  describe(`kuraban export (${backend})`, () => {
    let tv: TempVault;
    let dir: string;
    before(async () => {
      tv = await residentVault(backend);
      dir = mkdtempSync(join(tmpdir(), 'kuraban-export-'));
      const result = await tv.vault.records.createMany(
        TENANT,
        COLLECTION,
        HOSTILE.map((s, i) => record(i, s)),
        { mode: 'atomic' },
      );
      assert.equal(result.created.length, HOSTILE.length);
    });
    after(async () => {
      await tv.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const format of ['ndjson', 'csv'] as const) {
      test(`${format}: export, import into a second collection, same subjects and values byte for byte`, async () => {
        const out = join(dir, `export.${format}`);
        const r = await kuraban(tv, ['export', '--tenant', TENANT, '--collection', COLLECTION, '--format', format, '--out', out]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, '', 'with --out nothing goes to stdout');
        assert.match(r.stderr, /WARNING: writing PLAINTEXT personal data to .*\(mode 0600\)/);
        assert.match(r.stderr, new RegExp(`${HOSTILE.length} records written`));
        assert.equal(statSync(out).mode & 0o777, 0o600);
        const bytes = readFileSync(out);
        for (const s of ['𠮷野家', '葛\u{E0100}城', '👨‍👩‍👧']) assert.ok(bytes.includes(Buffer.from(s, 'utf8')), `${s} is written as UTF-8, not escaped`);

        const target = `copy_${format}`;
        await tv.vault.collections.create(TENANT, target, RESIDENT_SCHEMA);
        const imp = await kuraban(tv, ['import', '--tenant', TENANT, '--collection', target, out]);
        assert.equal(imp.code, 0, imp.stderr);
        assert.equal(summaryOf(imp).imported, HOSTILE.length);
        assert.equal(summaryOf(imp).rejected, 0);
        assert.deepEqual(byResidentNo(await allRecords(tv, target)), byResidentNo(await allRecords(tv, COLLECTION)));
      });
    }
  });
}

describe('kuraban export: output shapes and the output file', () => {
  let tv: TempVault;
  let dir: string;
  before(async () => {
    tv = await residentVault('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'kuraban-export-'));
    await tv.vault.records.createMany(TENANT, COLLECTION, [record(0, 'a,"b"'), record(1, 'plain')], { mode: 'atomic' });
  });
  after(async () => {
    await tv.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('NDJSON to stdout: one {id, subjectId, version, fields} per record, and a warning on stderr', async () => {
    const r = await kuraban(tv, ['export', '--tenant', TENANT, '--collection', COLLECTION]);
    assert.equal(r.code, 0, r.stderr);
    const lines = ndjson(r.stdout) as Array<Record<string, unknown>>;
    assert.equal(lines.length, 2);
    for (const l of lines) assert.deepEqual(Object.keys(l), ['id', 'subjectId', 'version', 'fields']);
    const stored = await tv.vault.records.get(TENANT, COLLECTION, lines[0]?.id as string);
    assert.deepEqual(lines[0], { id: stored.id, subjectId: stored.subjectId, version: 1, fields: stored.fields });
    assert.match(r.stderr, /WARNING: writing PLAINTEXT personal data to standard output/);
  });

  test('CSV: header id,subject_id,version and the fields in schema order; RFC 4180 quoting; CRLF records', async () => {
    const r = await kuraban(tv, ['export', '--tenant', TENANT, '--collection', COLLECTION, '--format', 'csv']);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rest] = r.stdout.split('\r\n');
    assert.equal(header, `id,subject_id,version,${RESIDENT_SCHEMA.fields.map((f) => f.name).join(',')}`);
    assert.equal(rest.pop(), '', 'the last record ends with CRLF');
    assert.equal(rest.length, 2);
    const quoted = rest.find((l) => l.includes('"a,""b"""'));
    assert.ok(quoted, 'a value with a comma and quotes is quoted, its quotes doubled');
    assert.match(quoted, /^[0-9a-f-]{36},P-0,1,"a,""b""",g0,"a,""b""",R-0,1970-12-31,-12.5,4,moved_out,false,"\{""postal_code"":""100-0001"",""line1"":""a,\\""b\\""""\}"$/);
  });

  test('an existing --out file (or a symlink) is never overwritten, and nothing is exported', async () => {
    const out = join(dir, 'exists.ndjson');
    writeFileSync(out, 'keep me');
    const r = await kuraban(tv, ['export', '--tenant', TENANT, '--collection', COLLECTION, '--out', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /REQUEST_INVALID: .* exists; export never overwrites a file/);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');

    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'victim');
    const link = join(dir, 'link.ndjson');
    symlinkSync(victim, link);
    const viaLink = await kuraban(tv, ['export', '--tenant', TENANT, '--collection', COLLECTION, '--out', link]);
    assert.equal(viaLink.code, 1);
    assert.equal(readFileSync(victim, 'utf8'), 'victim');
  });

  test('an unknown collection fails before any file is created', async () => {
    const out = join(dir, 'never.ndjson');
    const r = await kuraban(tv, ['export', '--tenant', TENANT, '--collection', 'nope', '--out', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /COLLECTION_NOT_FOUND/);
    assert.equal(existsSync(out), false);
  });

  test('--help says the output is plaintext personal data and how --out is created', async () => {
    const r = await kuraban(tv, ['export', '--help']);
    assert.equal(r.code, 0);
    const help = r.stdout.replace(/\s+/g, ' ');
    assert.ok(help.includes('PLAINTEXT personal data'));
    assert.ok(help.includes('mode 0600'));
    assert.ok(help.includes('never overwritten'));
  });
});
