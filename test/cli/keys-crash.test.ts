/**
 * The compiled CLI's long key jobs (`keys reencrypt`, `keys rewrap`, `keys rotate --subjects`)
 * killed with SIGKILL mid-way: every record still reads as written (some under the old key version,
 * some under the new one), the old version cannot be retired yet, and a second run of the same
 * command finishes the same job, after which the old version can be retired.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { BACKENDS, createTempVault, type Backend, type TempVault } from '../helpers/temp-vault.js';
import { assertFreshVaultReads, openOther, ROTATION_SCHEMA, writeRecords, type Expected } from '../helpers/key-rotation.js';
import { CLI_MAIN, TENANT, vaultArgs } from './harness.js';

const COLLECTION = 'keys_crash';
/** Collection-keyed records, and subjects with one record each, per backend (PostgreSQL is slower to load). */
const PLAIN: Record<Backend, number> = { sqlite: 3000, postgres: 3000 };
const SUBJECTS: Record<Backend, number> = { sqlite: 2000, postgres: 800 };

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Progress {
  readonly kind: string;
  readonly done: number;
  readonly total: number;
}

/** The progress lines a key job writes on stderr: `kuraban: <kind> <scope>: <done>/<total> (<pct>%)`. */
function progressLines(stderr: string): Progress[] {
  return [...stderr.matchAll(/^kuraban: (rewrap|reencrypt) \S+: (\d+)\/(\d+) /gm)].map((m) => ({ kind: m[1] as string, done: Number(m[2]), total: Number(m[3]) }));
}

function runCli(args: readonly string[]): Promise<Exit> {
  return runChild(args, () => false);
}

/** Runs the CLI; SIGKILLs it as soon as `killWhen` holds for a progress line it printed. */
function runChild(args: readonly string[], killWhen: (p: Progress) => boolean): Promise<Exit> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let killed = false;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
    if (!killed && progressLines(stderr).some(killWhen)) {
      killed = true;
      child.kill('SIGKILL');
    }
  });
  return new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * The JSON document a successful command printed: its last stdout line (`keys status` pretty-prints,
 * hence from the first line that opens an object). Whether stdout holds nothing else is checked by
 * its own test below, so that a stray line does not hide what the crash tests check.
 */
function json(exit: Exit): Record<string, unknown> {
  assert.equal(exit.code, 0, `exit ${exit.code}: ${exit.stderr}`);
  const lines = exit.stdout.trimEnd().split('\n');
  const start = lines.findIndex((l) => l.startsWith('{'));
  assert.ok(start >= 0, `a JSON document on stdout: ${exit.stdout}`);
  return JSON.parse(lines.slice(start).join('\n')) as Record<string, unknown>;
}

/** A killed run: killed by us (not finished first), after some progress and before the end. */
function assertKilledMidway(exit: Exit): Progress {
  assert.equal(exit.signal, 'SIGKILL', `the job finished before it could be killed (more rows, or a lower --max-rate): ${exit.stderr}`);
  const last = progressLines(exit.stderr).at(-1);
  assert.ok(last && last.done > 0 && last.done < last.total, `killed part-way: ${exit.stderr}`);
  return last;
}

for (const backend of BACKENDS) {
  describe(`kuraban keys jobs killed mid-way (${backend})`, () => {
    let tv: TempVault;
    let args: string[];
    let collectionId: string;
    const expected: Expected = new Map();
    const plain = PLAIN[backend];
    const subjects = SUBJECTS[backend];

    before(async () => {
      tv = await createTempVault(backend);
      args = vaultArgs(tv);
      await tv.vault.tenants.create(TENANT, 'Crash City');
      await tv.vault.collections.create(TENANT, COLLECTION, ROTATION_SCHEMA);
      collectionId = (await tv.vault.collections.get(TENANT, COLLECTION)).id;
      await writeRecords(tv.vault, TENANT, COLLECTION, 'plain', plain, () => null, expected);
      await writeRecords(tv.vault, TENANT, COLLECTION, 'subj', subjects, (i) => `s-${String(i).padStart(5, '0')}`, expected);
    });
    after(async () => {
      await tv?.cleanup();
    });

    test('keys reencrypt: SIGKILL mid-way keeps every record readable; a re-run finishes the job; then v1 retires', { timeout: 120_000 }, async () => {
      const rotated = json(await runCli([...args, 'keys', 'rotate', '--tenant', TENANT, '--collection', COLLECTION]));
      assert.equal(rotated.version, 2);

      const killed = await runChild([...args, 'keys', 'reencrypt', '--tenant', TENANT, '--collection', COLLECTION, '--batch', '50', '--max-rate', '1000'], (p) => p.done >= 150);
      const last = assertKilledMidway(killed);
      assert.equal(last.total, plain);

      const counts = (await tv.store.countRecordsByKeyVersion(collectionId)).collection;
      const v1 = counts.get(1) ?? 0;
      const v2 = counts.get(2) ?? 0;
      assert.ok(v1 > 0 && v2 > 0, `some records at v1 (${v1}), some at v2 (${v2})`);
      assert.equal(v1 + v2, plain);
      assert.ok(v2 >= last.done, 'what the job reported is in the store');
      const job = (await tv.store.listKeyJobs(TENANT)).find((j) => j.kind === 'reencrypt' && j.scopeId === collectionId);
      assert.equal(job?.state, 'running');
      assert.ok(job.done < job.total);
      await assertFreshVaultReads(tv.location, TENANT, COLLECTION, expected, 'after SIGKILL:');

      const refused = await runCli([...args, 'keys', 'retire', '--tenant', TENANT, '--collection', COLLECTION, '--version', '1']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /KEY_ROTATION_INVALID/);
      assert.deepEqual(
        (await tv.store.listWrappedKeys({ tenantId: TENANT, kind: 'collection', scopeId: collectionId })).map((k) => k.version),
        [1, 2],
        'nothing retired',
      );

      const resumed = json(await runCli([...args, 'keys', 'reencrypt', '--tenant', TENANT, '--collection', COLLECTION, '--batch', '500']));
      assert.equal(resumed.id, job.id, 'the same job continues');
      assert.equal(resumed.state, 'done');
      assert.equal(resumed.done, resumed.total);
      assert.deepEqual(Object.fromEntries((await tv.store.countRecordsByKeyVersion(collectionId)).collection), { 2: plain });

      assert.deepEqual(json(await runCli([...args, 'keys', 'retire', '--tenant', TENANT, '--collection', COLLECTION, '--version', '1'])), { retired: 'collection', version: 1 });
      assert.deepEqual(
        (await tv.store.listWrappedKeys({ tenantId: TENANT, kind: 'collection', scopeId: collectionId })).map((k) => k.version),
        [2],
      );
      await assertFreshVaultReads(tv.location, TENANT, COLLECTION, expected, 'after retire:');
    });

    test('keys rewrap: SIGKILL mid-way keeps every key usable; a re-run finishes; then tenant v1 retires', { timeout: 120_000 }, async () => {
      const rotated = json(await runCli([...args, 'keys', 'rotate', '--tenant', TENANT]));
      assert.deepEqual([rotated.kind, rotated.version], ['tenant', 2]);
      const rows = subjects + 3; // subject keys + collection, index and log keys

      const killed = await runChild([...args, 'keys', 'rewrap', '--tenant', TENANT, '--batch', '20', '--max-rate', '500'], (p) => p.done >= 100);
      const last = assertKilledMidway(killed);
      assert.equal(last.total, rows);

      const wraps = await tv.store.countWrappedKeysByWrapper(TENANT);
      const w1 = wraps.get(1) ?? 0;
      const w2 = wraps.get(2) ?? 0;
      assert.ok(w1 > 0 && w2 > 0, `some keys under tenant v1 (${w1}), some under v2 (${w2})`);
      assert.equal(w1 + w2, rows);
      await assertFreshVaultReads(tv.location, TENANT, COLLECTION, expected, 'after SIGKILL:');

      const refused = await runCli([...args, 'keys', 'retire', '--tenant', TENANT, '--version', '1']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /KEY_ROTATION_INVALID/);
      assert.deepEqual(
        (await tv.store.listWrappedKeys({ tenantId: TENANT, kind: 'tenant' })).map((k) => k.version),
        [1, 2],
      );

      const status = json(await runCli([...args, 'keys', 'status', '--tenant', TENANT])) as { jobs: Array<{ id: string; kind: string; state: string }> };
      const running = status.jobs.find((j) => j.kind === 'rewrap');
      assert.equal(running?.state, 'running');

      const resumed = json(await runCli([...args, 'keys', 'rewrap', '--tenant', TENANT, '--batch', '500']));
      assert.equal(resumed.id, running.id);
      assert.equal(resumed.state, 'done');
      assert.equal(resumed.done, resumed.total);
      assert.deepEqual(Object.fromEntries(await tv.store.countWrappedKeysByWrapper(TENANT)), { 2: rows });

      assert.deepEqual(json(await runCli([...args, 'keys', 'retire', '--tenant', TENANT, '--version', '1'])), { retired: 'tenant', version: 1 });
      assert.deepEqual(
        (await tv.store.listWrappedKeys({ tenantId: TENANT, kind: 'tenant' })).map((k) => k.version),
        [2],
      );
      await assertFreshVaultReads(tv.location, TENANT, COLLECTION, expected, 'after retire:');
      const fresh = await openOther(tv.location);
      try {
        const hits = await fresh.vault.records.search(TENANT, COLLECTION, { resident_no: 'R-subj-7' }, { limit: 10 });
        assert.deepEqual(
          hits.records.map((r) => r.subjectId),
          ['s-00007'],
          'blind-index search still works (index key re-wrapped)',
        );
      } finally {
        await fresh.close();
      }
    });

    test('keys rotate --subjects: SIGKILL mid-way leaves each subject under exactly one key; a re-run finishes the same job', { timeout: 120_000 }, async () => {
      const subjectKeys = async () => {
        const bySubject = new Map<string, number[]>();
        for (const k of await tv.store.listWrappedKeys({ tenantId: TENANT, kind: 'subject' })) bySubject.set(k.scopeId, [...(bySubject.get(k.scopeId) ?? []), k.version]);
        return bySubject;
      };

      const killed = await runChild([...args, 'keys', 'rotate', '--tenant', TENANT, '--subjects', '--batch', '20', '--max-rate', '500'], (p) => p.done >= 100);
      const last = assertKilledMidway(killed);
      assert.equal(last.total, subjects);

      const keys = await subjectKeys();
      assert.equal(keys.size, subjects);
      const versions = [...keys.values()];
      assert.ok(
        versions.every((v) => v.length === 1),
        'a subject is rotated in one transaction: never two versions left, never none',
      );
      const rotatedCount = versions.filter((v) => v[0] === 2).length;
      assert.ok(rotatedCount > 0 && rotatedCount < subjects, `some subjects rotated (${rotatedCount})`);
      assert.equal(versions.filter((v) => v[0] === 1).length, subjects - rotatedCount);
      assert.deepEqual(
        Object.fromEntries((await tv.store.countRecordsByKeyVersion(collectionId)).subject),
        { 1: subjects - rotatedCount, 2: rotatedCount },
        "each subject's record is under the subject's one key version",
      );
      const job = (await tv.store.listKeyJobs(TENANT)).find((j) => j.scopeId === '*subjects');
      assert.equal(job?.state, 'running');
      await assertFreshVaultReads(tv.location, TENANT, COLLECTION, expected, 'after SIGKILL:');

      const resumed = json(await runCli([...args, 'keys', 'rotate', '--tenant', TENANT, '--subjects']));
      assert.equal(resumed.id, job.id, 'the running job is continued, not a new one started');
      assert.equal(resumed.state, 'done');
      const after = await subjectKeys();
      assert.equal(after.size, subjects);
      assert.ok(
        [...after.values()].every((v) => v.length === 1 && v[0] === 2),
        'every subject exactly once rotated',
      );
      assert.deepEqual(Object.fromEntries((await tv.store.countRecordsByKeyVersion(collectionId)).subject), { 2: subjects });
      await assertFreshVaultReads(tv.location, TENANT, COLLECTION, expected, 'after the re-run:');
    });

    test('key commands print their JSON result alone on stdout (progress and notices go to stderr)', async () => {
      // A small tenant of its own, so that each command is quick.
      const small = 'stdout-town';
      await tv.vault.tenants.create(small, 'Stdout Town');
      await tv.vault.collections.create(small, 'people', ROTATION_SCHEMA);
      await writeRecords(tv.vault, small, 'people', 'out', 4, (i) => (i % 2 ? `o-${i}` : null), new Map());
      const polluted: string[] = [];
      for (const command of [
        ['keys', 'status', '--tenant', small],
        ['keys', 'rotate', '--tenant', small],
        ['keys', 'rotate', '--tenant', small, '--subjects'],
      ]) {
        const exit = await runCli([...args, ...command]);
        assert.equal(exit.code, 0, exit.stderr);
        try {
          JSON.parse(exit.stdout);
        } catch {
          polluted.push(`\`kuraban ${command.join(' ')}\` printed ${JSON.stringify(exit.stdout.slice(0, 120))}…`);
        }
      }
      assert.deepEqual(polluted, [], 'stdout must be exactly the JSON result');
    });
  });
}
