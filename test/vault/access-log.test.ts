import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  computeHashTile,
  consistencyProof,
  decodeLogEntry,
  encodeLogEntry,
  leafHash,
  MemoryTree,
  openCheckpoint,
  parseVerifierKey,
  tilesOfTree,
  verifyConsistency,
  type LogEntry,
} from '../../src/ledger/index.js';
import type { Store, StoreTx } from '../../src/store/index.js';
import { AccessLog, openVault, type Vault } from '../../src/vault/index.js';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { openRawDb } from '../helpers/raw-db.js';
import { rejectsWithCode } from '../helpers/errors.js';
import { testLogEntry } from '../helpers/log-entries.js';

const CHILD = fileURLToPath(new URL('../helpers/log-writer-child.js', import.meta.url));

function entry(tenant: string, n: number, over: Partial<LogEntry> = {}): LogEntry {
  return testLogEntry(tenant, n, { action: n % 2 === 0 ? 'record.read' : 'record.update', subjects: [`p-${n}`], fields: ['family_name'], client: '192.0.2.1', ...over });
}

/**
 * Checks a tenant's whole log against the ledger core: indexes 0..n−1 without gap or duplicate,
 * entries decodable, every stored tile equal to computeHashTile, the state's root equal to the
 * MemoryTree root, and every checkpoint signed by the tenant's key and consistent with the final tree.
 */
async function verifyLog(tv: TempVault, store: Store, tenantId: string): Promise<{ size: number; entries: Buffer[] }> {
  const raw = await openRawDb(tv.location);
  try {
    const idx = (await raw.all('select idx from log_entries where tenant_id = ? order by idx', [tenantId])).map((r) => Number(r.idx));
    idx.forEach((v, i) => assert.equal(v, i, 'indexes are 0..n−1'));
    const entries = await store.getLogEntries(tenantId, 0, 1_000_000);
    assert.equal(entries.length, idx.length);
    for (const e of entries) decodeLogEntry(e);
    const state = await store.getLogState(tenantId);
    assert.ok(state);
    assert.equal(state.size, entries.length);
    const tree = new MemoryTree();
    const leaves = entries.map((e) => leafHash(e));
    for (const l of leaves) tree.append(l);
    assert.deepEqual(state.root, tree.rootAt());
    const tiles = await raw.all('select level, tile_index, width, hashes from log_tiles where tenant_id = ?', [tenantId]);
    const expected = [...tilesOfTree(entries.length)];
    assert.equal(tiles.length, expected.length, 'one stored tile per tile of the tree');
    for (const c of expected) {
      const row = tiles.find((t) => Number(t.level) === c.level && Number(t.tile_index) === c.index);
      assert.ok(row, `tile ${c.level}/${c.index}`);
      assert.equal(Number(row.width), c.width);
      assert.deepEqual(Buffer.from(row.hashes as Uint8Array), computeHashTile(leaves, c));
    }
    const verifier = parseVerifierKey(state.verifierKey);
    const checkpoints = await store.listLogCheckpoints(tenantId);
    assert.ok(checkpoints.length > 0 || entries.length === 0);
    for (const cp of checkpoints) {
      const opened = openCheckpoint(cp.note, { origin: state.origin, verifiers: verifier });
      assert.equal(opened.checkpoint.size, cp.size);
      assert.deepEqual(opened.checkpoint.rootHash, tree.rootAt(cp.size));
      if (cp.size < tree.size) verifyConsistency(cp.size, tree.size, consistencyProof(cp.size, tree.size, tree), opened.checkpoint.rootHash, tree.rootAt());
    }
    assert.equal(checkpoints.at(-1)?.size, entries.length);
    return { size: entries.length, entries };
  } finally {
    await raw.close();
  }
}

/** A store whose transactions fail at `method` — a process dying mid-integration, as far as the database can tell. */
function failingStore(store: Store, method: keyof StoreTx): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'transaction') return Reflect.get(target, prop, receiver) as unknown;
      return <T>(fn: (tx: StoreTx) => Promise<T>) =>
        target.transaction((tx) =>
          fn(
            new Proxy(tx, {
              get(t, p, r) {
                if (p === method) return async () => {
                  throw new Error('killed');
                };
                const v = Reflect.get(t, p, r) as unknown;
                return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
              },
            }),
          ),
        );
    },
  });
}

function runChild(args: readonly string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

for (const backend of BACKENDS) {
  describe(`access log (${backend})`, () => {
    let tv: TempVault;
    let vault: Vault;
    before(async () => {
      tv = await createTempVault(backend);
      vault = tv.vault;
    });
    after(async () => {
      await tv.cleanup();
    });

    test('a new tenant has its own log key; entries appended in transactions become consecutive log entries under a signed checkpoint', async () => {
      await vault.tenants.create('log-town', 'Log Town');
      const { origin, verifierKey } = await vault.accessLog.verifierKey('log-town');
      assert.equal(origin, 'kuraban.local/kuraban/log-town');
      assert.ok(verifierKey.startsWith('kuraban.local/kuraban/log-town+'));
      const key = await tv.store.getWrappedKey('log-town', 'log', 'log-town');
      assert.equal(key?.version, 1);
      assert.equal(key?.wrapped.length, 1 + 12 + 32 + 16, 'a wrapped 32-byte seed');
      assert.equal(await vault.accessLog.latestCheckpoint('log-town'), undefined);

      const written: Buffer[] = [];
      for (let batch = 0; batch < 4; batch++) {
        const es = Array.from({ length: [1, 254, 300, 3][batch] as number }, (_, i) => entry('log-town', written.length + i));
        await tv.store.transaction((tx) => vault.accessLog.append(tx, ...es));
        await vault.integrator.integrateNow();
        const fresh = await tv.store.getLogEntries('log-town', written.length, 10_000);
        assert.deepEqual(fresh.map((b) => decodeLogEntry(b)), es, 'the entries of this batch, in order');
        written.push(...fresh);
      }
      const { size } = await verifyLog(tv, tv.store, 'log-town');
      assert.equal(size, 558);
      assert.deepEqual(await tv.store.listLogPending('log-town', 10), []);
      const cp = openCheckpoint((await vault.accessLog.latestCheckpoint('log-town')) as Buffer, { origin, verifiers: parseVerifierKey(verifierKey) });
      assert.equal(cp.checkpoint.size, 558);
      // Reads record in their own short transaction.
      await vault.accessLog.record(entry('log-town', 9999));
      assert.equal((await tv.store.listLogPending('log-town', 10)).length, 1);
      await vault.accessLog.integrate('log-town');
      assert.equal((await verifyLog(tv, tv.store, 'log-town')).size, 559);
    });

    test('entries keep their order and bytes', async () => {
      await vault.tenants.create('order-town', 'Order Town');
      const es = Array.from({ length: 20 }, (_, i) => entry('order-town', i));
      for (const e of es) await tv.store.transaction((tx) => vault.accessLog.append(tx, e));
      await vault.accessLog.integrate('order-town');
      const stored = await tv.store.getLogEntries('order-town', 0, 100);
      assert.deepEqual(stored.map((b) => decodeLogEntry(b).requestId), es.map((e) => e.requestId));
    });

    test('a rolled-back transaction leaves no pending entry; a bad entry fails its transaction', async () => {
      await vault.tenants.create('rollback-town', 'Rollback Town');
      const boom = new Error('boom');
      await assert.rejects(
        tv.store.transaction(async (tx) => {
          await vault.accessLog.append(tx, entry('rollback-town', 1));
          throw boom;
        }),
        (e) => e === boom,
      );
      assert.deepEqual(await tv.store.listLogPending('rollback-town', 10), []);
      await rejectsWithCode(
        () => tv.store.transaction((tx) => vault.accessLog.append(tx, entry('rollback-town', 2), entry('rollback-town', 3, { fields: ['山田'] }))),
        'INTERNAL',
      );
      assert.deepEqual(await tv.store.listLogPending('rollback-town', 10), []);
      await vault.accessLog.integrate('rollback-town');
      assert.equal((await tv.store.getLogState('rollback-town'))?.size, 0);
    });

    test('an integration that dies at any step leaves the log as it was; the next one succeeds', async () => {
      await vault.tenants.create('crash-town', 'Crash Town');
      await vault.accessLog.record(...Array.from({ length: 300 }, (_, i) => entry('crash-town', i)));
      await vault.accessLog.integrate('crash-town');
      await vault.accessLog.record(...Array.from({ length: 300 }, (_, i) => entry('crash-town', 300 + i)));
      const raw = await openRawDb(tv.location);
      try {
        const before = await raw.snapshot();
        // SQLite placed the entries at their indexes when they were appended: integration moves nothing.
        const placed = (await tv.store.listLogPending('crash-town', 1))[0]?.index !== null;
        assert.equal(placed, backend === 'sqlite');
        const steps = placed ? (['putLogTiles', 'insertLogCheckpoint', 'updateLogState'] as const) : (['insertLogEntries', 'insertLogSubjects', 'putLogTiles', 'insertLogCheckpoint', 'updateLogState', 'deleteLogPending'] as const);
        for (const step of steps) {
          const dying = new AccessLog({ store: failingStore(tv.store, step), keyring: vault.keyring });
          await assert.rejects(dying.integrate('crash-town'), /killed/);
          assert.deepEqual(await raw.snapshot(), before, `nothing changed when ${step} failed`);
        }
      } finally {
        await raw.close();
      }
      const result = await vault.accessLog.integrate('crash-town');
      assert.deepEqual(result, { tenantId: 'crash-town', integrated: 300, size: 600 });
      await verifyLog(tv, tv.store, 'crash-town');
    });

    test('an entry changed in storage before integration is refused before anything is signed; an entry from before migration 0008 (no check) is decoded', async () => {
      await vault.tenants.create('damage-town', 'Damage Town');
      await vault.accessLog.record(...Array.from({ length: 5 }, (_, i) => entry('damage-town', i)));
      const raw = await openRawDb(tv.location);
      try {
        const [row] = await tv.store.listLogPending('damage-town', 1);
        assert.ok(row);
        const where = row.index !== null ? ['log_entries', 'idx', row.index] : ['log_pending', 'id', row.id];
        const damaged = Buffer.from(row.entry);
        // Still a valid entry (the old decode check would have let it through): another request id.
        damaged.write('req-9', damaged.indexOf('req-0'), 'latin1');
        assert.equal(decodeLogEntry(damaged).requestId, 'req-9');
        assert.equal(await raw.run(`update ${where[0]} set entry = ? where tenant_id = ? and ${where[1]} = ?`, [damaged, 'damage-town', where[2]]), 1);
        const before = await raw.snapshot();
        await rejectsWithCode(() => vault.accessLog.integrate('damage-town'), 'STORE_UNAVAILABLE');
        assert.deepEqual(await raw.snapshot(), before, 'nothing integrated, nothing signed');
        // Without its check (a row written before migration 0008) the same bytes are decoded, and pass.
        assert.equal(await raw.run(`update ${where[0]} set leaf_check = null where tenant_id = ? and ${where[1]} = ?`, ['damage-town', where[2]]), 1);
        assert.equal((await vault.accessLog.integrate('damage-town')).size, 5);
        // A row without its check that does not decode is refused.
        await vault.accessLog.record(entry('damage-town', 5));
        const [next] = await tv.store.listLogPending('damage-town', 1);
        assert.ok(next);
        const w = next.index !== null ? ['log_entries', 'idx', next.index] : ['log_pending', 'id', next.id];
        await raw.run(`update ${w[0]} set entry = ?, leaf_check = null where tenant_id = ? and ${w[1]} = ?`, [Buffer.from('{"not":"an entry"}'), 'damage-town', w[2]]);
        await rejectsWithCode(() => vault.accessLog.integrate('damage-town'), 'STORE_UNAVAILABLE');
        assert.equal((await tv.store.getLogState('damage-town'))?.size, 5);
        // Repaired by hand (the row removed), the log goes on.
        await raw.run(`delete from ${w[0]} where tenant_id = ? and ${w[1]} = ?`, ['damage-town', w[2]]);
        await vault.accessLog.record(entry('damage-town', 6));
        assert.equal((await vault.accessLog.integrate('damage-town')).size, 6);
        await verifyLog(tv, tv.store, 'damage-town');
      } finally {
        await raw.close();
      }
    });

    test('entries placed at their index and entries queued in log_pending (a backup from the other backend) integrate into one log, placed ones first', async () => {
      await vault.tenants.create('mixed-town', 'Mixed Town');
      await vault.accessLog.record(...Array.from({ length: 3 }, (_, i) => entry('mixed-town', i)));
      await vault.accessLog.integrate('mixed-town');
      const raw = await openRawDb(tv.location);
      try {
        // The other backend's way, written by hand: two placed at indexes 3 and 4 (with their subject
        // rows), two queued (one without a check, as before migration 0008).
        const bytes = (n: number) => encodeLogEntry(entry('mixed-town', n));
        const check = (b: Buffer) => leafHash(b).readUIntBE(0, 6);
        for (const n of [3, 4]) {
          await raw.run('insert into log_entries (tenant_id, idx, entry, leaf_check) values (?, ?, ?, ?)', ['mixed-town', n, bytes(n), check(bytes(n))]);
          await raw.run('insert into log_subjects (tenant_id, subject_id, idx) values (?, ?, ?)', ['mixed-town', `p-${n}`, n]);
        }
        await raw.run('insert into log_pending (tenant_id, entry, leaf_check) values (?, ?, ?)', ['mixed-town', bytes(5), check(bytes(5))]);
        await raw.run('insert into log_pending (tenant_id, entry) values (?, ?)', ['mixed-town', bytes(6)]);
        assert.deepEqual((await tv.store.listLogPending('mixed-town', 10)).map((r) => [r.index !== null, decodeLogEntry(r.entry).requestId]), [
          [true, 'req-3'],
          [true, 'req-4'],
          [false, 'req-5'],
          [false, 'req-6'],
        ]);
        assert.ok((await tv.store.listLogPendingTenants()).includes('mixed-town'));
        // Appending now queues behind the queued rows, on SQLite too: the log keeps the order of appending.
        await vault.accessLog.record(entry('mixed-town', 7));
        assert.deepEqual((await tv.store.listLogPending('mixed-town', 10)).map((r) => r.index === null), [false, false, true, true, true]);
        await vault.accessLog.integrate('mixed-town');
        const { entries } = await verifyLog(tv, tv.store, 'mixed-town');
        const order = [0, 1, 2, 3, 4, 5, 6, 7];
        assert.deepEqual(entries.map((e) => decodeLogEntry(e).requestId), order.map((n) => `req-${n}`));
        const subjects = await raw.all('select subject_id, idx from log_subjects where tenant_id = ? order by idx', ['mixed-town']);
        assert.deepEqual(subjects.map((r) => [r.subject_id, Number(r.idx)]), order.map((n, i) => [`p-${n}`, i]));
        assert.deepEqual(await tv.store.listLogPending('mixed-town', 10), []);
        // The queue drained, SQLite places again.
        await vault.accessLog.record(entry('mixed-town', 8));
        assert.deepEqual((await tv.store.listLogPending('mixed-town', 10)).map((r) => r.index), [backend === 'sqlite' ? 8 : null]);
        await vault.accessLog.integrate('mixed-town');
        assert.equal((await verifyLog(tv, tv.store, 'mixed-town')).size, 9);
      } finally {
        await raw.close();
      }
    });

    test('two vault instances on one database append and integrate concurrently: one log, no gap, no duplicate, no fork', async () => {
      await vault.tenants.create('two-town', 'Two Town');
      const state = await openVault(tv.location, { sealWorkers: 0 });
      assert.equal(state.sealed, false);
      const second = (state as { vault: Vault }).vault;
      try {
        const run = async (v: Vault, store: Store, tag: string) => {
          for (let i = 0; i < 150; i++) {
            await store.transaction((tx) => v.accessLog.append(tx, entry('two-town', i, { requestId: `${tag}-${i}` })));
            if (i % 10 === 0) await v.accessLog.integrate('two-town');
          }
        };
        if (backend === 'postgres') {
          await Promise.all([run(vault, tv.store, 'a'), run(second, state.store, 'b'), vault.accessLog.integrate('two-town'), second.accessLog.integrate('two-town')]);
          await Promise.all([vault.accessLog.integrate('two-town'), second.accessLog.integrate('two-town')]);
        } else {
          // better-sqlite3 waits for a lock synchronously: two connections in ONE process cannot
          // interleave transactions (the waiting one blocks the holder's event loop). Interleave them
          // one after the other here; the next test runs two real processes concurrently on SQLite too.
          await run(vault, tv.store, 'a');
          await second.accessLog.integrate('two-town');
          await run(second, state.store, 'b');
          await vault.accessLog.integrate('two-town');
        }
        const { size, entries } = await verifyLog(tv, tv.store, 'two-town');
        assert.equal(size, 300);
        const ids = new Set(entries.map((e) => decodeLogEntry(e).requestId));
        assert.equal(ids.size, 300, 'every entry exactly once');
      } finally {
        await second.close();
        await state.store.close();
      }
    });

    test('two processes append 500 entries each and integrate concurrently: exactly 1000 entries, one consistent log', { timeout: 240_000 }, async () => {
      await vault.tenants.create('proc-town', 'Proc Town');
      const loc = JSON.stringify(tv.location);
      const codes = await Promise.all([runChild([loc, 'proc-town', '500', 'a']), runChild([loc, 'proc-town', '500', 'b'])]);
      assert.deepEqual(codes, [0, 0]);
      const { size, entries } = await verifyLog(tv, tv.store, 'proc-town');
      assert.equal(size, 1000);
      const ids = new Set(entries.map((e) => decodeLogEntry(e).requestId));
      assert.equal(ids.size, 1000);
      for (const tag of ['a', 'b']) for (let i = 0; i < 500; i++) assert.ok(ids.has(`${tag}-${i}`));
      assert.deepEqual(await tv.store.listLogPending('proc-town', 10), []);
    });

    test('the integrator runs on its own every interval and stops', async () => {
      await vault.tenants.create('timer-town', 'Timer Town');
      const { Integrator } = await import('../../src/vault/index.js');
      const integrator = new Integrator(vault.accessLog, { intervalMs: 20 });
      integrator.start();
      try {
        await vault.accessLog.record(entry('timer-town', 1));
        for (let i = 0; i < 100 && (await tv.store.getLogState('timer-town'))?.size !== 1; i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal((await tv.store.getLogState('timer-town'))?.size, 1);
      } finally {
        await integrator.stop();
      }
    });
  });
}
