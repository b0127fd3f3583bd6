/** `kuraban search`: the where-object from stdin or a file, never argv; NDJSON out; paging. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TempVault } from '../helpers/temp-vault.js';
import { COLLECTION, kuraban, ndjson, residentVault, TENANT } from './harness.js';

describe('kuraban search', () => {
  let tv: TempVault;
  let dir: string;
  const args = ['search', '--tenant', TENANT, '--collection', COLLECTION];
  before(async () => {
    tv = await residentVault('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'kuraban-search-'));
    await tv.vault.records.createMany(
      TENANT,
      COLLECTION,
      [
        { subjectId: 'P-1', fields: { family_name: '山田', given_name: '太郎', birth_date: '1980-04-01' } },
        { fields: { family_name: '山田', given_name: '花子', birth_date: '1982-05-02' } },
        { fields: { family_name: '山田', given_name: '一郎', birth_date: '1980-04-01' } },
        { fields: { family_name: '田中', given_name: '次郎' } },
      ],
      { mode: 'atomic' },
    );
  });
  after(async () => {
    await tv.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the where-object is read from standard input; matches print as NDJSON', async () => {
    const r = await kuraban(tv, args, { stdin: '{"family_name":"山田","birth_date":"1980-04-01"}' });
    assert.equal(r.code, 0, r.stderr);
    const hits = ndjson(r.stdout) as Array<{ id: string; subjectId: string | null; version: number; fields: Record<string, unknown> }>;
    assert.deepEqual(hits.map((h) => h.fields.given_name).sort(), ['一郎', '太郎']);
    for (const h of hits) assert.deepEqual(Object.keys(h), ['id', 'subjectId', 'version', 'fields']);
    assert.equal(hits.find((h) => h.fields.given_name === '太郎')?.subjectId, 'P-1');
    assert.equal(r.stderr, '');
  });

  test('--where-file reads it from a file; - is standard input', async () => {
    const file = join(dir, 'where.json');
    writeFileSync(file, '{"family_name":"田中"}');
    const r = await kuraban(tv, [...args, '--where-file', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((ndjson(r.stdout) as Array<{ fields: { given_name: string } }>).map((h) => h.fields.given_name), ['次郎']);
    const dash = await kuraban(tv, [...args, '--where-file', '-'], { stdin: '{"family_name":"田中"}' });
    assert.equal(ndjson(dash.stdout).length, 1);
  });

  test('values are never taken from the command line, and --help says why', async () => {
    const r = await kuraban(tv, [...args, '--where', '{"family_name":"山田"}']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    const help = await kuraban(tv, [...args, '--help']);
    const text = help.stdout.replace(/\s+/g, ' ');
    assert.ok(text.includes('never accepted as command-line arguments'));
    assert.ok(text.includes('ps'));
    assert.ok(text.includes('shell history'));
  });

  test('--limit pages, and stderr names the --after id that continues', async () => {
    const first = await kuraban(tv, [...args, '--limit', '2'], { stdin: '{"family_name":"山田"}' });
    assert.equal(first.code, 0, first.stderr);
    const page1 = ndjson(first.stdout) as Array<{ id: string }>;
    assert.equal(page1.length, 2);
    const after = /continue with --after ([0-9a-f-]{36})/.exec(first.stderr)?.[1];
    assert.equal(after, page1[1]?.id);
    const second = await kuraban(tv, [...args, '--limit', '2', '--after', after as string], { stdin: '{"family_name":"山田"}' });
    const page2 = ndjson(second.stdout) as Array<{ id: string }>;
    assert.equal(page2.length, 1);
    assert.ok(!page1.some((p) => p.id === page2[0]?.id));
    assert.equal(second.stderr, '');
  });

  test('bad searches fail with their code and never echo the searched value', async () => {
    const notSearchable = await kuraban(tv, args, { stdin: '{"given_name":"SECRET-GIVEN"}' });
    assert.equal(notSearchable.code, 1);
    assert.match(notSearchable.stderr, /SEARCH_INVALID/);
    assert.match(notSearchable.stderr, /given_name not_searchable/);
    assert.ok(!notSearchable.stderr.includes('SECRET-GIVEN'));
    const badDate = await kuraban(tv, args, { stdin: '{"birth_date":"SECRET-DATE"}' });
    assert.match(badDate.stderr, /birth_date expected_date/);
    assert.ok(!badDate.stderr.includes('SECRET-DATE'));
    const notJson = await kuraban(tv, args, { stdin: 'SECRET-NOT-JSON' });
    assert.equal(notJson.code, 1);
    assert.match(notJson.stderr, /REQUEST_INVALID: standard input is not valid JSON/);
    assert.ok(!notJson.stderr.includes('SECRET-NOT-JSON'));
    const empty = await kuraban(tv, args, { stdin: '{}' });
    assert.match(empty.stderr, /SEARCH_INVALID/);
    for (const limit of ['0', '1001', 'x']) assert.equal((await kuraban(tv, [...args, '--limit', limit], { stdin: '{"family_name":"山田"}' })).code, 1);
  });

  test('with a terminal on stdin and no --where-file it says how to give the search instead of waiting', async () => {
    const r = await kuraban(tv, args, { stdinTTY: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /pass --where-file FILE, or pipe the JSON object on standard input/);
  });
});
