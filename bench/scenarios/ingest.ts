import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, runNode } from '../child.js';
import { benchDatabase } from '../postgres.js';
import { CSV_HEADER, RESIDENT_BENCH_SCHEMA, resident, residentCsvLine } from '../residents.js';
import type { Figure, Ratio, ScenarioOptions, ScenarioResult } from '../types.js';

const CHILD = fileURLToPath(new URL('../ingest-child.js', import.meta.url));
const NAIVE_SAMPLE = 20_000; // one fsync'd transaction per row: a sample says enough
const HTTP_BATCH = 2000;
const HTTP_IN_FLIGHT = 2;

interface ChildFigure {
  kind: string;
  records: number;
  seconds: number;
  recordsPerSecond: number;
}

async function child(kind: string, records: number, workdir: string, pgUrl?: string): Promise<Figure> {
  const res = await runNode([CHILD, kind, String(records), workdir, ...(pgUrl ? [pgUrl] : [])]);
  if (res.code !== 0) throw new Error(`${kind} failed (${res.code}): ${res.stderr.slice(-2000)}`);
  const line = res.stdout.trim().split('\n').pop() as string;
  const f = JSON.parse(line) as ChildFigure;
  return { name: kind, records: f.records, seconds: f.seconds, perSecond: f.recordsPerSecond, peakRssMB: res.maxRssMB };
}

async function cli(dir: string, args: string[]) {
  const res = await runNode([CLI, '--data-dir', dir, ...args]);
  if (res.code !== 0) throw new Error(`kuraban ${args[0]} failed: ${res.stderr.slice(-1000)}`);
  return res;
}

/** A vault in `dir` with tenant 999999 and the benchmark collection; returns the admin key. */
async function prepareVault(dir: string): Promise<string> {
  const init = await cli(dir, ['init']);
  const key = /kbn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(init.stdout)?.[0];
  if (!key) throw new Error('init printed no admin key');
  await cli(dir, ['tenant', 'create', '--id', '999999', '--name', 'bench town']);
  const schemaFile = join(dir, 'schema.json');
  writeFileSync(schemaFile, JSON.stringify({ name: 'residents', ...RESIDENT_BENCH_SCHEMA }));
  await cli(dir, ['collection', 'create', '--tenant', '999999', '--schema', schemaFile]);
  return key;
}

async function writeCsv(path: string, records: number): Promise<void> {
  const out = createWriteStream(path);
  out.write(CSV_HEADER);
  let buf = '';
  for (let i = 0; i < records; i++) {
    buf += residentCsvLine(i);
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

/** `kuraban import` of a CSV file, as an operator runs it: wall time of the whole command. */
async function importCli(records: number, workdir: string): Promise<Figure> {
  const dir = join(workdir, 'import');
  await prepareVault(dir);
  const csv = join(workdir, 'residents.csv');
  await writeCsv(csv, records);
  const t0 = performance.now();
  const res = await cli(dir, ['import', '--tenant', '999999', '--collection', 'residents', csv]);
  const seconds = (performance.now() - t0) / 1000;
  const summary = JSON.parse(res.stdout.trim().split('\n').pop() as string) as { imported: number };
  if (summary.imported !== records) throw new Error(`import wrote ${summary.imported} of ${records}`);
  return { name: 'kuraban-import-cli-sqlite', records, seconds, perSecond: records / seconds, peakRssMB: res.maxRssMB };
}

/** The HTTP batch API: a `kuraban serve` process, batches of 2,000 records, two requests in flight. */
async function httpBatch(records: number, workdir: string): Promise<Figure> {
  const dir = join(workdir, 'http');
  const key = await prepareVault(dir);
  const port = 20000 + Math.floor(Math.random() * 20000);
  let stop: () => void = () => {};
  const server = runNode([CLI, '--data-dir', dir, 'serve', '--port', String(port)], { env: { KURABAN_LOG_LEVEL: 'warn' }, onSpawn: (k) => (stop = k) });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = `${base}/v1/tenants/999999/collections/residents/records/batch`;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < records) {
      const start = next;
      next = Math.min(records, next + HTTP_BATCH);
      const body = JSON.stringify({ records: Array.from({ length: next - start }, (_v, j) => resident(start + j)) });
      const res = await fetch(url, { method: 'POST', headers, body });
      if (res.status !== 201) throw new Error(`batch failed: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: HTTP_IN_FLIGHT }, worker));
  const seconds = (performance.now() - t0) / 1000;
  stop();
  const res = await server;
  return { name: 'kuraban-http-batch-sqlite', records, seconds, perSecond: records / seconds, peakRssMB: res.maxRssMB };
}

export async function ingestScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const n = options.records;
  const pgN = options.pgRecords;
  const workdir = mkdtempSync(join(tmpdir(), 'kuraban-bench-'));
  const figures: Figure[] = [];
  const notes: string[] = [];
  const step = async (label: string, f: () => Promise<Figure>) => {
    options.log(`  ${label} …`);
    const fig = await f();
    options.log(`  ${label}: ${Math.round(fig.perSecond).toLocaleString('en')} records/s${fig.peakRssMB ? `, peak RSS ${Math.round(fig.peakRssMB)} MB` : ''}`);
    figures.push(fig);
    return fig;
  };
  try {
    const sub = (name: string) => {
      const d = join(workdir, name);
      rmSync(d, { recursive: true, force: true });
      return d;
    };
    const kuraban = await step(`Kuraban in process, SQLite, ${n} records`, () => child('kuraban-sqlite', n, sub('k-sqlite')));
    const imported = await step(`kuraban import (CSV), SQLite, ${n} records`, () => importCli(n, sub('k-import')));
    const http = await step(`HTTP batch API, SQLite, ${n} records`, () => httpBatch(n, sub('k-http')));
    const naive = await step(`bare SQLite, naive (autocommit per row), ${Math.min(n, NAIVE_SAMPLE)} records`, () =>
      child('bare-sqlite-naive', Math.min(n, NAIVE_SAMPLE), sub('naive')),
    );
    const batched = await step(`bare SQLite, per-row inserts in transactions of 2,000, ${n} records`, () => child('bare-sqlite-batched', n, sub('batched')));
    const ratios: Ratio[] = [
      { name: 'Kuraban in process / naive bare SQLite', value: kuraban.perSecond / naive.perSecond, target: '≥ 1' },
      { name: 'kuraban import / naive bare SQLite', value: imported.perSecond / naive.perSecond, target: '≥ 1' },
      { name: 'HTTP batch / naive bare SQLite', value: http.perSecond / naive.perSecond },
      { name: 'Kuraban in process / batched bare SQLite', value: kuraban.perSecond / batched.perSecond },
    ];
    const targets = [
      { name: 'Kuraban in process ≥ 20,000 records/s (SQLite)', met: kuraban.perSecond >= 20_000 },
      { name: 'kuraban import ≥ 20,000 records/s (SQLite)', met: imported.perSecond >= 20_000 },
      { name: 'kuraban import peak RSS < 300 MB', met: (imported.peakRssMB ?? Infinity) < 300 },
      { name: 'at least as fast as the naive script', met: kuraban.perSecond >= naive.perSecond },
    ];
    const pg = await benchDatabase();
    if ('skipped' in pg) {
      notes.push(`PostgreSQL figures skipped: ${pg.skipped}`);
    } else {
      await pg.drop();
      const fresh = async (kind: string, records: number) => {
        const db = await benchDatabase();
        if ('skipped' in db) throw new Error(db.skipped);
        try {
          return await child(kind, records, sub(kind), db.url);
        } finally {
          await db.drop();
        }
      };
      const kpg = await step(`Kuraban in process, PostgreSQL, ${pgN} records`, () => fresh('kuraban-postgres', pgN));
      const bpg = await step(`bare PostgreSQL, per-row inserts in transactions of 2,000, ${pgN} records`, () => fresh('bare-postgres', pgN));
      const crypto = await step(`PostgreSQL + pgcrypto pgp_sym_encrypt on 6 fields, ${Math.min(pgN, NAIVE_SAMPLE)} records`, () =>
        fresh('postgres-pgcrypto', Math.min(pgN, NAIVE_SAMPLE)),
      );
      ratios.push(
        { name: 'Kuraban PostgreSQL / bare PostgreSQL', value: kpg.perSecond / bpg.perSecond },
        { name: 'Kuraban PostgreSQL / PostgreSQL + pgcrypto', value: kpg.perSecond / crypto.perSecond },
      );
    }
    notes.push(
      `naive = one INSERT per row, default settings, each row its own transaction (measured on ${Math.min(n, NAIVE_SAMPLE)} rows); ` +
        'batched = the same prepared INSERT inside one transaction per 2,000 rows; bare rows carry the same 10 fields plus padding to the size of a Kuraban row, with the same 3 indexes.',
    );
    return { scenario: 'ingest', figures, ratios, targets, notes };
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
}
