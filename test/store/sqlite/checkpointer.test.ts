import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { BACKGROUND_CHECKPOINT_MIN_ROWS, startBackgroundCheckpointer } from '../../../src/store/sqlite/checkpointer.js';
import { openSqliteStore } from '../../../src/store/sqlite/open.js';
import { initVault, openVault, type VaultState } from '../../../src/vault/index.js';
import { RESIDENT_SCHEMA } from '../../helpers/temp-vault.js';

/** Polls `check` every 50 ms for up to `ms`; true as soon as it holds. */
async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('background WAL checkpoints (SQLite)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kuraban-checkpointer-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('copies committed pages into the database file while the writer keeps its WAL, and stops cleanly', async () => {
    const path = join(dir, 'plain.db');
    const writer = new BetterSqlite3(path);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0'); // the writer never checkpoints: only the background thread can
    writer.exec('create table t (k integer primary key, v blob)');
    const insert = writer.prepare('insert into t (v) values (?)');
    writer.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(Buffer.alloc(1000, i % 251));
    })();
    const before = statSync(path).size;
    assert.ok(statSync(`${path}-wal`).size > 2_000_000, 'the rows are in the WAL');
    const checkpointer = startBackgroundCheckpointer(path, 20);
    try {
      assert.ok(await eventually(() => statSync(path).size > before + 1_000_000), 'the database file received the pages');
    } finally {
      await checkpointer.stop();
    }
    await checkpointer.stop(); // a second stop is harmless
    assert.equal((writer.prepare('select count(*) as n from t').get() as { n: number }).n, 2000);
    writer.close();
    const reopened = new BetterSqlite3(path, { readonly: true });
    assert.equal((reopened.prepare('select count(*) as n from t').get() as { n: number }).n, 2000);
    reopened.close();
  });

  for (const background of [true, false]) {
    test(background ? 'a vault starts it on a bulk load: its database file grows before any automatic checkpoint is due' : 'sqliteBackgroundCheckpoints: false (kuraban serve) starts no thread: the file stays as it was', async () => {
      const name = background ? 'vault-on' : 'vault-off';
      const location = { dataDir: join(dir, name), keyFile: join(dir, `${name}-root.key`), ...(background ? {} : { sqliteBackgroundCheckpoints: false }) };
      await initVault(location);
      const state: VaultState = await openVault(location, { sealWorkers: 0 });
      assert.equal(state.sealed, false);
      if (state.sealed) return;
      try {
        await state.vault.tenants.create('city', 'City');
        await state.vault.collections.create('city', 'residents', RESIDENT_SCHEMA);
        const file = join(location.dataDir, 'kuraban.db');
        const rows = (from: number) =>
          Array.from({ length: BACKGROUND_CHECKPOINT_MIN_ROWS }, (_v, i) => ({ subjectId: `P-${from + i}`, fields: { family_name: '山田', given_name: `太郎${from + i}` } }));
        await state.vault.records.createMany('city', 'residents', rows(0), { mode: 'atomic' });
        const sizeAfterFirst = statSync(file).size;
        for (let b = 1; b <= 4; b++) await state.vault.records.createMany('city', 'residents', rows(b * 1000), { mode: 'atomic' });
        // Far fewer pages than wal_autocheckpoint (40,000) were written: only a background thread copies them.
        if (background) assert.ok(await eventually(() => statSync(file).size > sizeAfterFirst), 'the database file grew while the vault was open');
        else assert.equal(await eventually(() => statSync(file).size > sizeAfterFirst, 1500), false, 'nothing copied the pages');
        assert.equal(await state.vault.records.count('city', 'residents'), 5 * BACKGROUND_CHECKPOINT_MIN_ROWS);
      } finally {
        await state.vault.close();
        await state.store.close();
      }
      const again = await openVault(location, { sealWorkers: 0 });
      assert.equal(again.sealed, false);
      if (again.sealed) return;
      try {
        assert.equal(await again.vault.records.count('city', 'residents'), 5 * BACKGROUND_CHECKPOINT_MIN_ROWS);
      } finally {
        await again.vault.close();
        await again.store.close();
      }
    });
  }
});

describe('openSqliteStore page cache', () => {
  test('refuses a cache that is not a whole, positive number of MiB', () => {
    for (const cacheMiB of [0, -8, 1.5, Number.NaN]) assert.throws(() => openSqliteStore({ path: ':memory:', cacheMiB }), RangeError);
  });
});
