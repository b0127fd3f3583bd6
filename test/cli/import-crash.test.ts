/**
 * The compiled CLI, killed with SIGKILL in the middle of a large import, then run again: every row
 * is present exactly once and every rejected row is listed once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { ndjson, TENANT, vaultArgs } from './harness.js';
import { runCliChild } from '../helpers/cli-child.js';

const COLLECTION = 'crash';
const SCHEMA = {
  fields: [
    { name: 'family_name', type: 'string', required: true, searchable: true },
    { name: 'given_name', type: 'string', required: true },
    { name: 'resident_no', type: 'string', unique: true },
    { name: 'birth_date', type: 'date' },
  ],
};
/** PostgreSQL imports are slower on small CI machines; the property is the same at 40k rows. */
const ROWS: Record<string, number> = { sqlite: 200_000, postgres: 40_000 };
const isBad = (i: number) => i % 9973 === 0; // a prime: bad rows fall in different batches
const hasSubject = (i: number) => i % 50 === 0;

const runChild = runCliChild;

for (const backend of BACKENDS) {
  describe(`kuraban import killed mid-way (${backend})`, () => {
    const rows = ROWS[backend] as number;
    let tv: TempVault;
    let dir: string;
    let file: string;
    const badLines: number[] = [];
    before(async () => {
      tv = await createTempVault(backend);
      await tv.vault.tenants.create(TENANT, 'Test City');
      await tv.vault.collections.create(TENANT, COLLECTION, SCHEMA);
      dir = mkdtempSync(join(tmpdir(), 'kuraban-crash-'));
      file = join(dir, 'big.csv');
      const out = ['subject_id,family_name,given_name,resident_no,birth_date'];
      for (let i = 1; i <= rows; i++) {
        out.push(`${hasSubject(i) ? `P-${i}` : ''},F${i},G${i},R${i},${isBad(i) ? 'BAD-DATE' : '1980-02-03'}`);
        if (isBad(i)) badLines.push(i + 1);
      }
      writeFileSync(file, `${out.join('\n')}\n`);
    });
    after(async () => {
      await tv.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    test('SIGKILL, then a re-run: every row exactly once, rejects not duplicated, then "already imported"', { timeout: 600_000 }, async () => {
      const args = [...vaultArgs(tv), 'import', '--tenant', TENANT, '--collection', COLLECTION, '--batch-size', '1000', file];
      const valid = rows - badLines.length;

      const first = runChild(args);
      // Kill once some batches have committed and well before the end.
      for (;;) {
        if (first.exited()) break;
        const n = await tv.vault.records.count(TENANT, COLLECTION);
        if (n >= rows / 5) {
          first.kill();
          break;
        }
        await sleep(20);
      }
      const killed = await first.done;
      assert.equal(killed.signal, 'SIGKILL', `the import finished before it could be killed (raise ROWS): ${killed.stderr}`);
      const afterKill = await tv.vault.records.count(TENANT, COLLECTION);
      assert.ok(afterKill > 0 && afterKill < valid, `partly imported: ${afterKill}`);

      const second = await runChild(args).done;
      assert.equal(second.code, 0, second.stderr);
      const summary = JSON.parse(second.stdout) as Record<string, number | boolean | null>;
      assert.equal(summary.alreadyDone, false);
      assert.ok(typeof summary.resumedFromLine === 'number' && summary.resumedFromLine > 1, `resumed: ${second.stdout}`);
      assert.equal(summary.totalImported, valid);
      assert.equal(summary.totalRejected, badLines.length);
      assert.equal(await tv.vault.records.count(TENANT, COLLECTION), valid, 'every valid row exactly once');
      for (const i of [1, 2, Math.floor(rows / 5), Math.floor(rows / 5) + 1, Math.floor(rows / 2), rows - 1, rows]) {
        if (isBad(i)) continue;
        const hits = await tv.vault.records.search(TENANT, COLLECTION, { family_name: `F${i}` }, { limit: 10 });
        assert.equal(hits.records.length, 1, `F${i} once`);
        assert.equal(hits.records[0]?.fields.resident_no, `R${i}`);
        assert.equal(hits.records[0]?.subjectId, hasSubject(i) ? `P-${i}` : null);
      }
      const rejects = ndjson(readFileSync(`${file}.rejects.ndjson`, 'utf8')) as Array<{ line: number; errors: unknown }>;
      assert.deepEqual(
        rejects.map((r) => r.line),
        badLines,
        'each rejected line once',
      );
      assert.ok(rejects.every((r) => JSON.stringify(r.errors) === '[{"field":"birth_date","reason":"expected_date"}]'));
      assert.ok(!readFileSync(`${file}.rejects.ndjson`, 'utf8').includes('BAD-DATE'));

      const third = await runChild(args).done;
      assert.equal(third.code, 0, third.stderr);
      assert.equal((JSON.parse(third.stdout) as { alreadyDone: boolean }).alreadyDone, true);
      assert.equal(await tv.vault.records.count(TENANT, COLLECTION), valid);
    });
  });
}
