/**
 * The compiled CLI killed (SIGKILL) while `kuraban backup` writes its data archive: no archive of
 * that run looks whole, the vault still opens and reads, the leftover `.partial` does not restore,
 * and a new `kuraban backup` succeeds and restores (`kuraban restore`, a fresh data directory with a
 * copy of root.key) to an identical `kuraban export`.
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, beforeEach, describe, test } from 'node:test';
import { openOther } from '../helpers/key-rotation.js';
import { once } from '../helpers/once.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from '../helpers/postgres.js';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { ndjson, TENANT, vaultArgs } from './harness.js';
import { runCliChild, type Exit } from '../helpers/cli-child.js';

const COLLECTION = 'backup_crash';
const SCHEMA = {
  fields: [
    { name: 'family_name', type: 'string', required: true, searchable: true },
    { name: 'given_name', type: 'string', required: true },
    { name: 'resident_no', type: 'string', unique: true },
    { name: 'birth_date', type: 'date' },
    { name: 'note', type: 'string' },
  ],
};
/** Enough that writing the data archive takes a noticeable moment (raise it if the backup outruns the kill). */
const ROWS = 30_000;
const BATCH = 5_000;
const hasSubject = (i: number) => i % 10 === 0;
const NOTE = '備考：𠮷野家の葛󠄀城さん。'.repeat(8);

const runChild = runCliChild;

for (const backend of BACKENDS) {
  describe(`kuraban backup killed mid-way (${backend})`, () => {
    let tv: TempVault;
    let dir: string;
    let restoreDir: string;
    let restoreDb: ThrowawayDatabase | undefined;
    let killed: Exit;
    let afterKill: string[];

    beforeEach(
      once(async () => {
        tv = await createTempVault(backend);
        await tv.vault.tenants.create(TENANT, 'Test City');
        await tv.vault.collections.create(TENANT, COLLECTION, SCHEMA);
        for (let start = 1; start <= ROWS; start += BATCH) {
          const inputs = [];
          for (let i = start; i < start + BATCH && i <= ROWS; i++) {
            inputs.push({ subjectId: hasSubject(i) ? `P-${i}` : null, fields: { family_name: `F${i % 1000}`, given_name: `G${i}`, resident_no: `R${i}`, birth_date: '1980-02-03', note: `${NOTE}${i}` } });
          }
          const res = await tv.vault.records.createMany(TENANT, COLLECTION, inputs, { mode: 'atomic' });
          assert.equal(res.created.length, inputs.length);
        }
        dir = mkdtempSync(join(tmpdir(), 'kuraban-backup-crash-'));
        restoreDir = mkdtempSync(join(tmpdir(), 'kuraban-restore-'));
        copyFileSync(tv.location.keyFile, join(restoreDir, 'root.key'));
        chmodSync(join(restoreDir, 'root.key'), 0o600);
        if (backend === 'postgres') restoreDb = await createThrowawayDatabase();

        // Kill while the data archive is being written (the key archive comes first and is small).
        const first = runChild([...vaultArgs(tv), 'backup', '--out', dir]);
        for (;;) {
          if (first.exited()) break;
          if (readdirSync(dir).some((f) => f.endsWith('.data.kbk.partial'))) {
            first.kill();
            break;
          }
          await sleep(2);
        }
        killed = await first.done;
        afterKill = readdirSync(dir).sort();
      }),
    );
    after(async () => {
      await tv?.cleanup();
      await restoreDb?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
      if (restoreDir) rmSync(restoreDir, { recursive: true, force: true });
    });

    const restoreArgs = () => ['--data-dir', restoreDir, ...(restoreDb ? ['--database-url', restoreDb.url] : [])];

    test('SIGKILL mid data archive: no whole data archive; the vault opens; the .partial does not restore; a new backup restores to an identical export', { timeout: 120_000 }, async () => {
      assert.equal(killed.signal, 'SIGKILL', `the backup finished before it could be killed (raise ROWS): ${killed.stderr}`);
      assert.ok(afterKill.some((f) => f.endsWith('.data.kbk.partial')), `a partial data archive is left: ${afterKill.join(', ')}`);
      assert.deepEqual(afterKill.filter((f) => f.endsWith('.data.kbk')), [], 'no data archive looks whole');

      // The vault still opens and reads.
      const other = await openOther(tv.location);
      try {
        assert.equal(await other.vault.records.count(TENANT, COLLECTION), ROWS);
        for (const i of [1, 10, ROWS]) {
          const hits = await other.vault.records.search(TENANT, COLLECTION, { resident_no: `R${i}` }, { limit: 2 });
          assert.equal(hits.records.length, 1);
          assert.equal(hits.records[0]?.fields.note, `${NOTE}${i}`);
          assert.equal(hits.records[0]?.subjectId, hasSubject(i) ? `P-${i}` : null);
        }
      } finally {
        await other.close();
      }

      // The leftover partial data archive (with whatever key archive the run left) is refused, and writes nothing.
      const partial = afterKill.find((f) => f.endsWith('.data.kbk.partial')) as string;
      const leftKeys = afterKill.find((f) => f.endsWith('.keys.kbk') || f.endsWith('.keys.kbk.partial')) as string;
      assert.ok(leftKeys, 'the key archive of the killed run (written first)');
      const refused = await runChild([...restoreArgs(), 'restore', '--data', join(dir, partial), '--keys', join(dir, leftKeys)]).done;
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /BACKUP_INVALID/);

      // A new run in the same directory succeeds.
      const second = await runChild([...vaultArgs(tv), 'backup', '--out', dir]).done;
      assert.equal(second.code, 0, second.stderr);
      const result = JSON.parse(second.stdout) as { pair: string; data: { path: string; rows: Record<string, number> }; keys: { path: string } };
      assert.equal(result.data.rows.records, ROWS);
      assert.ok(!afterKill.some((f) => f.includes(result.pair.slice(0, 8))), 'a new pair, new file names');

      // Restore it with the CLI into the same fresh data directory (the refused restore left it empty).
      const restored = await runChild([...restoreArgs(), 'restore', '--data', result.data.path, '--keys', result.keys.path]).done;
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal((JSON.parse(restored.stdout) as { pair: string }).pair, result.pair);

      const exportArgs = ['export', '--tenant', TENANT, '--collection', COLLECTION];
      const [a, b] = await Promise.all([runChild([...vaultArgs(tv), ...exportArgs]).done, runChild([...restoreArgs(), ...exportArgs]).done]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.equal(ndjson(a.stdout).length, ROWS);
      if (a.stdout !== b.stdout) {
        const [la, lb] = [a.stdout.split('\n'), b.stdout.split('\n')];
        const i = la.findIndex((l, k) => l !== lb[k]);
        assert.equal(lb[i], la[i], `the restored vault exports exactly what the original does (first difference on line ${i + 1} of ${la.length} / ${lb.length})`);
      }
    });

    test('no archive of the killed run looks whole (the key archive included)', () => {
      assert.equal(killed.signal, 'SIGKILL', 'the backup was killed');
      // backup.ts: "a backup killed midway leaves no archive that looks whole".
      assert.deepEqual(afterKill.filter((f) => f.endsWith('.kbk')), [], `whole-looking archives left by the killed run: ${afterKill.join(', ')}`);
    });
  });
}
