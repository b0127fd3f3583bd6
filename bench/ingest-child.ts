/**
 * One ingest measurement, run in its own process so that its peak RSS is its own:
 *   node dist/bench/ingest-child.js <kind> <records> <workdir> [postgres-url]
 * Prints one JSON line: { kind, records, seconds, recordsPerSecond, maxRssMB }.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { loadConfig } from '../src/config/index.js';
import { initVault, localAudit, openVault } from '../src/vault/index.js';
import { FIELD_NAMES, RESIDENT_BENCH_SCHEMA, resident, type ResidentRow } from './residents.js';

/** Records per batch (and per transaction), for Kuraban and the baselines alike. */
const BATCH = 2000;
const [kind = '', recordsText = '0', workdir = '/tmp', pgUrl] = process.argv.slice(2);
const records = Number(recordsText);

function batchOf(start: number): ResidentRow[] {
  const out: ResidentRow[] = [];
  for (let i = start; i < Math.min(records, start + BATCH); i++) out.push(resident(i));
  return out;
}

/** Kuraban with full semantics: validation, blind indexes, per-subject keys, AES-256-GCM, one transaction per batch. */
async function kuraban(databaseUrl?: string): Promise<number> {
  const dir = join(workdir, 'vault');
  mkdirSync(dir, { recursive: true });
  const location = { dataDir: dir, keyFile: join(dir, 'root.key'), databaseUrl };
  await initVault(location);
  const state = await openVault(location, { sealWorkers: loadConfig(process.env).sealWorkers });
  if (state.sealed) throw new Error(state.reason);
  const { vault } = state;
  await vault.tenants.create('999999', 'bench town');
  await vault.collections.create('999999', 'residents', RESIDENT_BENCH_SCHEMA);
  const t0 = performance.now();
  // Pipelined: batch k+1 is sealed on a worker thread while batch k is written. Each batch is
  // logged (access log, one entry per 1,000 record ids) in its own transaction, as the API does.
  const options = { mode: 'atomic' as const, audit: localAudit() };
  let next = await vault.records.prepareMany('999999', 'residents', batchOf(0), options);
  for (let i = 0; i < records; i += BATCH) {
    const current = next;
    if (i + BATCH < records) next = await vault.records.prepareMany('999999', 'residents', batchOf(i + BATCH), options);
    await vault.records.commitPrepared(current);
  }
  const seconds = (performance.now() - t0) / 1000;
  const count = await vault.records.count('999999', 'residents');
  if (count !== records) throw new Error(`expected ${records} records, found ${count}`);
  await vault.close();
  await state.store.close();
  return seconds;
}

const PAD = Buffer.alloc(150, 0x5a); // brings a bare row to the size of a Kuraban row (ciphertext ≈ JSON + 29 bytes)
const BARE_COLUMNS = ['id', 'subject_id', ...FIELD_NAMES, 'pad'];
const BARE_DDL = `create table residents (id text primary key, subject_id text, ${FIELD_NAMES.map((n) => `${n} text`).join(', ')}, pad BYTEA_OR_BLOB)`;
const BARE_INDEXES = ['family_name', 'family_kana', 'birth_date'].map((c) => `create index residents_${c} on residents (${c})`);
const bareValues = (r: ResidentRow) => [randomUUID(), r.subjectId, ...FIELD_NAMES.map((n) => r.fields[n] ?? null), PAD];

/** What a developer writes first: one INSERT per row, default settings, each row its own transaction. */
function bareSqliteNaive(): number {
  const db = new BetterSqlite3(join(workdir, 'naive.db'));
  db.exec(BARE_DDL.replace('BYTEA_OR_BLOB', 'blob'));
  for (const ix of BARE_INDEXES) db.exec(ix);
  const insert = db.prepare(`insert into residents (${BARE_COLUMNS.join(', ')}) values (${BARE_COLUMNS.map(() => '?').join(', ')})`);
  const t0 = performance.now();
  for (let i = 0; i < records; i++) insert.run(bareValues(resident(i)));
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return seconds;
}

/** The same rows, inserted one by one inside a transaction per 2,000 rows (better-sqlite3's documented pattern). */
function bareSqliteBatched(): number {
  const db = new BetterSqlite3(join(workdir, 'batched.db'));
  db.exec(BARE_DDL.replace('BYTEA_OR_BLOB', 'blob'));
  for (const ix of BARE_INDEXES) db.exec(ix);
  const insert = db.prepare(`insert into residents (${BARE_COLUMNS.join(', ')}) values (${BARE_COLUMNS.map(() => '?').join(', ')})`);
  const tx = db.transaction((rows: ResidentRow[]) => {
    for (const r of rows) insert.run(bareValues(r));
  });
  const t0 = performance.now();
  for (let i = 0; i < records; i += BATCH) tx(batchOf(i));
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return seconds;
}

/** Bare PostgreSQL: one prepared INSERT per row, a transaction per 2,000 rows. With `pgcrypto`, the six personal fields go through pgp_sym_encrypt. */
async function barePostgres(url: string, pgcrypto: boolean): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(BARE_DDL.replace('BYTEA_OR_BLOB', 'bytea').replace(/(family_name|given_name|family_kana|birth_date|address|phone) text/g, pgcrypto ? '$1 bytea' : '$1 text'));
  for (const ix of BARE_INDEXES) await client.query(ix);
  if (pgcrypto) await client.query('create extension if not exists pgcrypto');
  const personal = new Set(['family_name', 'given_name', 'family_kana', 'birth_date', 'address', 'phone']);
  const placeholders = BARE_COLUMNS.map((c, i) => (pgcrypto && personal.has(c) ? `pgp_sym_encrypt($${i + 1}::text, $${BARE_COLUMNS.length + 1})` : `$${i + 1}`));
  const text = `insert into residents (${BARE_COLUMNS.join(', ')}) values (${placeholders.join(', ')})`;
  const t0 = performance.now();
  for (let i = 0; i < records; i += BATCH) {
    await client.query('begin');
    for (const r of batchOf(i)) {
      const values: unknown[] = bareValues(r);
      if (pgcrypto) values.push('vendor-shared-passphrase');
      await client.query({ name: pgcrypto ? 'ins-pgcrypto' : 'ins', text, values });
    }
    await client.query('commit');
  }
  const seconds = (performance.now() - t0) / 1000;
  await client.end();
  return seconds;
}

async function main(): Promise<void> {
  mkdirSync(workdir, { recursive: true });
  let seconds: number;
  switch (kind) {
    case 'kuraban-sqlite':
      seconds = await kuraban();
      break;
    case 'kuraban-postgres':
      seconds = await kuraban(pgUrl);
      break;
    case 'bare-sqlite-naive':
      seconds = bareSqliteNaive();
      break;
    case 'bare-sqlite-batched':
      seconds = bareSqliteBatched();
      break;
    case 'bare-postgres':
      seconds = await barePostgres(pgUrl as string, false);
      break;
    case 'postgres-pgcrypto':
      seconds = await barePostgres(pgUrl as string, true);
      break;
    default:
      throw new Error(`unknown kind ${kind}`);
  }
  process.stdout.write(`${JSON.stringify({ kind, records, seconds, recordsPerSecond: records / seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

await main();
