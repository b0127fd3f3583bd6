import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  defaultHashThreads,
  directoryTileSource,
  encodeEntryBundle,
  encodeHashTile,
  formatEntryBundlePath,
  formatHashTilePath,
  generateNoteKeyPair,
  inclusionProof,
  leafHash,
  MemoryTree,
  parseSignerKey,
  parseVerifierKey,
  rootAt,
  signCheckpoint,
  TILE_HEIGHT,
  TILE_WIDTH,
  tilesOfTree,
  verifyInclusion,
  verifyLog,
} from '../../src/ledger/index.js';
import type { TileSource } from '../../src/ledger/index.js';
import { auditEntries, initVault, localAudit, openVault } from '../../src/vault/index.js';
import type { Figure, Ratio, ScenarioOptions, ScenarioResult } from '../types.js';

/** A log entry of the size Kuraban writes (canonical JSON of ids and names, no values): ~300 bytes. */
function entry(i: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      action: 'read',
      collection: 'residents',
      outcome: 'ok',
      principal: { id: `svc-${i % 97}`, via: 'api-key' },
      purpose: 'resident-certificate',
      records: [`01a20254-c2bc-7398-94f5-${String(i).padStart(12, '0')}`],
      request: `req-${i}`,
      subjects: [`p${i.toString(36)}`],
      tenant: '131016',
      time: '2026-11-22T08:00:00.000Z',
    }),
  );
}

/**
 * This machine is shared: beside each wall-clock rate, the CPU time it took (all threads of this
 * process, so worker threads included) and the load average, to read the rate against.
 */
function cpuNote(n: number, cpu: NodeJS.CpuUsage): string {
  return `CPU ${((cpu.user + cpu.system) / n).toFixed(2)} µs per entry (all threads), load average ${loadavg()[0]?.toFixed(1)}`;
}

type NotedFigure = Figure & { readonly cpuNote: string };

/** Distinct entries of the verified log: 400 full bundles, repeated (so 1M entries need ~30 MB, not 300 MB). */
const DISTINCT_BUNDLES = 400;

/**
 * A whole C2SP tlog-tiles log of `n` entries held in memory, as `kuraban log verify` reads one: signed
 * checkpoint, every entry bundle and every hash tile (full and partial) of the tree.
 */
function buildServedLog(n: number): { source: TileSource; verifierKey: string; files: ReadonlyMap<string, Buffer> } {
  const distinct = Array.from({ length: DISTINCT_BUNDLES * TILE_WIDTH }, (_v, i) => entry(i));
  const tree = new MemoryTree();
  for (let i = 0; i < n; i++) tree.append(leafHash(distinct[i % distinct.length] as Buffer));
  const files = new Map<string, Buffer>();
  const bundles: Buffer[] = [];
  for (let b = 0; b < DISTINCT_BUNDLES; b++) bundles.push(encodeEntryBundle(distinct.slice(b * TILE_WIDTH, (b + 1) * TILE_WIDTH)));
  for (let b = 0; b * TILE_WIDTH < n; b++) {
    const width = Math.min(TILE_WIDTH, n - b * TILE_WIDTH);
    const full = bundles[b % DISTINCT_BUNDLES] as Buffer;
    const bytes = width === TILE_WIDTH ? full : encodeEntryBundle(Array.from({ length: width }, (_v, i) => distinct[(b * TILE_WIDTH + i) % distinct.length] as Buffer));
    files.set(formatEntryBundlePath({ index: b, width }), bytes);
  }
  for (const tile of tilesOfTree(n)) {
    const hashes = Array.from({ length: tile.width }, (_v, i) => tree.hash(TILE_HEIGHT * tile.level, tile.index * TILE_WIDTH + i));
    files.set(formatHashTilePath(tile), encodeHashTile(hashes));
  }
  const { signerKey, verifierKey } = generateNoteKeyPair('bench.example/log');
  files.set('checkpoint', signCheckpoint({ origin: 'bench.example/log', size: n, rootHash: tree.rootAt(n), extensions: [] }, parseSignerKey(signerKey)));
  // A fresh copy per read, as a file or HTTP source returns one.
  const source: TileSource = { read: (path) => Promise.resolve(files.has(path) ? Buffer.from(files.get(path) as Buffer) : undefined) };
  return { source, verifierKey, files };
}

/** The served log written to a fresh directory, as `kuraban log export` leaves one for `kuraban log verify --dir`. */
function writeServedLog(files: ReadonlyMap<string, Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kuraban-bench-verify-'));
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  return dir;
}

/**
 * `kuraban log verify` on a served log of `n` entries: checkpoint signature, every bundle hashed, every
 * tile compared, the root. `directory`: the log on disk (in the page cache, as just written), read as
 * `verify --dir` reads it, with its default checkers that read their own bundles (this thread and
 * child processes, bundle-checkers.ts; their start-up is timed); `memory`: the log handed over from
 * memory, read on the main thread and hashed on `hashThreads` worker threads (0: on the main thread).
 */
export async function fullVerification(n: number, how: { readonly source: 'directory' } | { readonly source: 'memory'; readonly hashThreads: number }): Promise<NotedFigure> {
  const served = buildServedLog(n);
  const dir = how.source === 'directory' ? writeServedLog(served.files) : undefined;
  try {
    const source = dir === undefined ? served.source : directoryTileSource(dir);
    const threads = how.source === 'memory' ? how.hashThreads : 0;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const verified = await verifyLog({ source, verifier: parseVerifierKey(served.verifierKey), ...(how.source === 'memory' ? { hashThreads: threads } : {}) });
    const seconds = (performance.now() - t0) / 1000;
    const note = cpuNote(n, process.cpuUsage(cpu0));
    if (verified.size !== n) throw new Error('verified the wrong size');
    const name =
      how.source === 'directory'
        ? `verify --dir: whole log on disk (verifyLog, directory source, ${defaultHashThreads()} checkers reading their own bundles: this thread and child processes)`
        : `verify: whole log from memory (verifyLog, in-memory source, ${threads === 0 ? 'hashing on the main thread' : `hashing on ${threads} worker threads`})`;
    return { name, records: n, seconds, perSecond: n / seconds, cpuNote: how.source === 'directory' ? `${note} (this process only; the child processes' CPU is not counted)` : note };
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The log: appending and integrating through the store; recomputing a tree from every entry (what
 * `kuraban log verify` does per entry); inclusion-proof generation and verification on a tree of
 * `proofTreeSize` leaves built here.
 */
/**
 * Append and integrate through the store (SQLite): entries appended in transactions of 1,000 (as a
 * 1,000-record batch writes them), integrated by the same integration the server runs every second,
 * signed checkpoint included. Sustained rate over `total` entries.
 */
async function appendAndIntegrate(total: number): Promise<NotedFigure> {
  const dir = mkdtempSync(join(tmpdir(), 'kuraban-bench-log-'));
  try {
    const location = { dataDir: dir, keyFile: join(dir, 'root.key') };
    await initVault(location);
    const state = await openVault(location, { sealWorkers: 0 });
    if (state.sealed) throw new Error(state.reason);
    const { vault } = state;
    await vault.tenants.create('999999', 'bench town');
    const audit = localAudit();
    const perTx = 1000;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < total; i += perTx) {
      const batch = Array.from({ length: perTx }, (_v, j) => i + j).flatMap((k) =>
        auditEntries(audit, '999999', 'record.read', { collection: 'residents', records: [`01a20254-c2bc-7398-94f5-${String(k).padStart(12, '0')}`], subjects: [`p${k.toString(36)}`], fields: ['family_name'] }, 'ok', vault.clock()),
      );
      await vault.accessLog.record(...batch);
      if ((i / perTx) % 8 === 7) await vault.accessLog.integrate('999999'); // every ~8,000 entries, as a busy second would
    }
    await vault.accessLog.integrate('999999');
    const seconds = (performance.now() - t0) / 1000;
    const note = cpuNote(total, process.cpuUsage(cpu0));
    await vault.close();
    await state.store.close();
    return { name: 'append and integrate (SQLite, signed checkpoints)', records: total, seconds, perSecond: total / seconds, cpuNote: note };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function logScenario(options: ScenarioOptions & { proofTreeSize?: number }): Promise<ScenarioResult> {
  const figures: Figure[] = [];
  const n = options.records;
  const appendTotal = Math.min(n, 200_000);
  options.log(`  append and integrate, ${appendTotal} entries …`);
  const appended = await appendAndIntegrate(appendTotal);
  options.log(`  append and integrate: ${Math.round(appended.perSecond).toLocaleString('en')} entries/s; ${appended.cpuNote}`);
  options.log(`  full verification (verifyLog over a served log: signature, every bundle hashed, every tile compared, root), ${n} entries …`);
  const verification = await fullVerification(n, { source: 'directory' });
  figures.push(verification);
  options.log(`  full verification: ${Math.round(verification.perSecond).toLocaleString('en')} entries/s (${verification.name}); ${verification.cpuNote}`);
  const threaded = await fullVerification(n, { source: 'memory', hashThreads: defaultHashThreads() });
  options.log(`  full verification from memory, ${defaultHashThreads()} hashing threads: ${Math.round(threaded.perSecond).toLocaleString('en')} entries/s; ${threaded.cpuNote}`);
  const inline = await fullVerification(n, { source: 'memory', hashThreads: 0 });
  options.log(`  full verification from memory, one thread: ${Math.round(inline.perSecond).toLocaleString('en')} entries/s; ${inline.cpuNote}`);

  const entries = Array.from({ length: 100_000 }, (_v, i) => entry(i));
  const size = options.proofTreeSize ?? 10_000_000;
  options.log(`  building a ${size}-leaf tree for proofs …`);
  const big = new MemoryTree();
  for (let i = 0; i < size; i++) big.append(leafHash(entries[i % entries.length] as Buffer));
  const bigRoot = rootAt(size, big);
  const samples = 10_000;
  const indexes = Array.from({ length: samples }, (_v, i) => Math.floor(((i * 2654435761) % 2 ** 32) / 2 ** 32 * size));
  let t0 = performance.now();
  const proofs = indexes.map((i) => inclusionProof(i, size, big));
  let seconds = (performance.now() - t0) / 1000;
  figures.push({ name: `inclusion proof generation at ${size} leaves`, records: samples, seconds, perSecond: samples / seconds });
  t0 = performance.now();
  indexes.forEach((idx, k) => verifyInclusion(idx, size, leafHash(entries[idx % entries.length] as Buffer), proofs[k] as Buffer[], bigRoot));
  seconds = (performance.now() - t0) / 1000;
  figures.push({ name: `inclusion proof verification at ${size} leaves`, records: samples, seconds, perSecond: samples / seconds });
  const proofMs = 1000 / (figures[1] as Figure).perSecond;
  figures.push(appended, threaded, inline);
  const ratios: Ratio[] = [{ name: 'ms per inclusion proof (generation)', value: proofMs, target: '≤ 1 ms' }];
  return {
    scenario: 'log',
    figures,
    ratios,
    targets: [
      { name: 'append and integrate ≥ 50,000 entries/s', met: appended.perSecond >= 50_000 },
      { name: 'full verification ≥ 1,000,000 entries/s', met: (figures[0] as Figure).perSecond >= 1_000_000 },
      { name: `inclusion proof ≤ 1 ms at ${size} entries`, met: proofMs <= 1 },
    ],
    notes: [
      'full verification is verifyLog (what `kuraban log verify --dir` runs) over a whole log written to a directory just before (so in the page cache): checkpoint signature, every entry bundle read, parsed and hashed, every hash tile read, recomputed and compared, the root; the checkers\' start-up included. The two from-memory figures hand the same log over without file reads, for comparison',
    ],
  };
}
