/**
 * runImport against a real vault, with failures injected at exact points: inside a batch's
 * transaction after its rows and checkpoint were written (so it rolls back), with a second run of
 * the same job, and with the file changing underneath.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { KurabanError } from '../../src/errors/index.js';
import { hashFile, importJobId, runImport, type ImportDeps, type ImportOptions } from '../../src/import/index.js';
import type { CreateManyOptions, PreparedBatch, RecordInput } from '../../src/vault/index.js';
import { BACKENDS, createTempVault, RESIDENT_SCHEMA, type TempVault } from '../helpers/temp-vault.js';

const TENANT = '131016';
const ROWS = 60;
const BATCH = 10;
/** Rows whose birth_date is invalid (1-based row numbers; file line = row + 1, or + 2 after the multi-line row). */
const BAD_ROWS = new Set([5, 13, 29, 30, 35, 47]);

/** A CSV of ROWS rows; row 20 has a quoted newline, so later rows sit one line further down. */
function sample(): { csv: string; badLines: number[]; lastLine: number } {
  const lines = ['family_name,given_name,resident_no,birth_date'];
  const badLines: number[] = [];
  let line = 1;
  for (let i = 1; i <= ROWS; i++) {
    line++;
    const given = i === 20 ? '"two\nlines"' : `G${i}`;
    const date = BAD_ROWS.has(i) ? 'not-a-date' : '1980-01-01';
    lines.push(`F${i},${given},R${i},${date}`);
    if (BAD_ROWS.has(i)) badLines.push(line);
    if (i === 20) line++;
  }
  return { csv: `${lines.join('\n')}\n`, badLines, lastLine: line };
}

/** The vault's own deps with createMany replaced; `pipelined` keeps prepareMany/commitPrepared too. */
function depsWith(tv: TempVault, hook: (batch: number, inTransaction: () => Promise<void>) => Promise<void>, pipelined: boolean): ImportDeps {
  let calls = 0;
  const wrap = (options: CreateManyOptions): CreateManyOptions => ({
    ...options,
    inTransaction: async (tx, result) => {
      const n = ++calls;
      await hook(n, () => (options.inTransaction ? options.inTransaction(tx, result) : Promise.resolve()));
    },
  });
  const records = tv.vault.records;
  return {
    collections: tv.vault.collections,
    store: tv.vault.store,
    clock: tv.vault.clock,
    records: pipelined
      ? {
          createMany: (t: string, c: string, inputs: readonly RecordInput[], o: CreateManyOptions) => records.createMany(t, c, inputs, wrap(o)),
          prepareMany: (t: string, c: string, inputs: readonly RecordInput[], o: CreateManyOptions) => records.prepareMany(t, c, inputs, wrap(o)),
          commitPrepared: (p: PreparedBatch) => records.commitPrepared(p),
        }
      : { createMany: (t: string, c: string, inputs: readonly RecordInput[], o: CreateManyOptions) => records.createMany(t, c, inputs, wrap(o)) },
  };
}

for (const backend of BACKENDS) {
  describe(`runImport (${backend})`, () => {
    let tv: TempVault;
    let dir: string;
    let n = 0;
    before(async () => {
      tv = await createTempVault(backend);
      await tv.vault.tenants.create(TENANT, 'Test City');
      dir = mkdtempSync(join(tmpdir(), 'kuraban-job-'));
    });
    after(async () => {
      await tv.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    const setup = async () => {
      const collection = `c${++n}`;
      await tv.vault.collections.create(TENANT, collection, RESIDENT_SCHEMA);
      const file = join(dir, `${collection}.csv`);
      const s = sample();
      writeFileSync(file, s.csv);
      const options: ImportOptions = { tenantId: TENANT, collection, file, format: 'csv', rejectsPath: `${file}.rejects`, batchSize: BATCH, now: () => performance.now() };
      return { collection, file, options, ...s };
    };

    for (const pipelined of [false, true]) {
      test(`a batch that fails after writing rolls back rows, checkpoint and its rejects; the re-run completes exactly once (${pipelined ? 'prepare/commit' : 'createMany'})`, async () => {
        const { collection, options, badLines, lastLine } = await setup();
        const crash = new Error('simulated crash');
        let rejectsAtCrash = '';
        const failing = depsWith(
          tv,
          async (batch, inTransaction) => {
            await inTransaction();
            if (batch === 4) {
              rejectsAtCrash = readFileSync(options.rejectsPath, 'utf8');
              throw crash;
            }
          },
          pipelined,
        );
        await assert.rejects(runImport(failing, options), (e) => e === crash);
        // Three batches of ten records committed; the fourth wrote its rejects, then rolled back.
        assert.equal(await tv.vault.records.count(TENANT, collection), 30 - [...BAD_ROWS].filter((r) => r <= 30).length);
        const ahead = rejectsAtCrash.trim().split('\n').map((l) => (JSON.parse(l) as { line: number }).line);
        assert.ok(ahead.some((l) => l > 32), 'the rolled-back batch had written rejects past the checkpoint (so the resume must cut them)');

        const summary = await runImport(tv.vault, options);
        assert.equal(summary.alreadyDone, false);
        assert.equal(summary.resumedFromLine, 33, 'resumes after the last committed record (row 30 sits on line 32)');
        assert.equal(summary.totalImported, ROWS - BAD_ROWS.size);
        assert.equal(summary.totalRejected, BAD_ROWS.size);
        assert.equal(summary.imported, ROWS - 30 - [...BAD_ROWS].filter((r) => r > 30).length);
        assert.equal(summary.lines, lastLine);
        assert.equal(await tv.vault.records.count(TENANT, collection), ROWS - BAD_ROWS.size);
        const names = [];
        for await (const r of tv.vault.records.scan(TENANT, collection)) names.push(r.fields.family_name);
        assert.equal(new Set(names).size, names.length, 'no record twice');
        const rejects = readFileSync(options.rejectsPath, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { line: number; errors: unknown });
        assert.deepEqual(
          rejects.map((r) => r.line),
          badLines,
          'each rejected row listed once, in order',
        );
        assert.deepEqual(rejects[0]?.errors, [{ field: 'birth_date', reason: 'expected_date' }]);

        const again = await runImport(tv.vault, options);
        assert.equal(again.alreadyDone, true);
      });
    }

    test('a second run of the same job that did not see the first one’s progress fails before committing', async () => {
      const { collection, options } = await setup();
      const crash = new Error('stop');
      const stopAtSecond = depsWith(
        tv,
        async (batch, inTransaction) => {
          await inTransaction();
          if (batch === 2) throw crash;
        },
        false,
      );
      await assert.rejects(runImport(stopAtSecond, options), (e) => e === crash);
      const count = await tv.vault.records.count(TENANT, collection);
      // This run reads the job as absent (as a run that started before the first commit would).
      const stale: ImportDeps = { ...tv.vault, store: { getImportJob: async () => undefined, transaction: (fn) => tv.vault.store.transaction(fn) } };
      await assert.rejects(runImport(stale, options), (e) => e instanceof KurabanError && e.code === 'IMPORT_INVALID' && e.details[0]?.reason === 'concurrent_import');
      assert.equal(await tv.vault.records.count(TENANT, collection), count, 'its batch was rolled back');
    });

    test('a file that changes while it is being read fails the import and is not marked done', async () => {
      const { collection, file, options } = await setup();
      // Big enough (2 MB) that the end is read long after the first batch commits.
      const rows = Array.from({ length: 2000 }, (_, i) => `F${i},${'g'.repeat(1000)},R${i},1980-01-01`);
      writeFileSync(file, `family_name,given_name,resident_no,birth_date\n${rows.join('\n')}\n`);
      const collectionId = (await tv.vault.collections.get(TENANT, collection)).id;
      const original = importJobId({ tenantId: TENANT, collectionId, format: 'csv', size: statSync(file).size, sha256: await hashFile(file) });
      let changed = false;
      const deps = depsWith(
        tv,
        async (_b, inTransaction) => {
          await inTransaction();
          if (changed) return;
          changed = true;
          const fd = openSync(file, 'r+');
          writeSync(fd, 'G', statSync(file).size - 20); // same size, different content near the end
          closeSync(fd);
        },
        false,
      );
      await assert.rejects(runImport(deps, { ...options, batchSize: 100 }), (e) => e instanceof KurabanError && e.details[0]?.reason === 'file_changed');
      assert.equal((await tv.vault.store.getImportJob(original))?.status, 'running', 'the job is not marked done');
    });
  });
}

test('the job id depends on all of the content: two files of one size differing only after the first MiB differ', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kuraban-jobid-'));
  try {
    const a = Buffer.alloc(1024 * 1024 + 10, 0x61);
    const b = Buffer.from(a);
    b[b.length - 1] = 0x62;
    writeFileSync(join(dir, 'a'), a);
    writeFileSync(join(dir, 'b'), b);
    const base = { tenantId: 't1', collectionId: 'c1', format: 'csv', size: a.length };
    const idA = importJobId({ ...base, sha256: await hashFile(join(dir, 'a')) });
    const idB = importJobId({ ...base, sha256: await hashFile(join(dir, 'b')) });
    assert.notEqual(idA, idB);
    assert.equal(idA, importJobId({ ...base, sha256: await hashFile(join(dir, 'a')) }), 'stable for the same file');
    assert.notEqual(idA, importJobId({ ...base, collectionId: 'c2', sha256: await hashFile(join(dir, 'a')) }));
    assert.notEqual(idA, importJobId({ ...base, format: 'ndjson', sha256: await hashFile(join(dir, 'a')) }));
    assert.match(idA, /^imp_[0-9a-f]{40}$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
