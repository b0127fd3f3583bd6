import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPkcs11RootKey } from '../../src/keys/index.js';
import { initVault, localAudit, openVault, type Vault, type VaultLocation, type VaultState } from '../../src/vault/index.js';
import { RESIDENT_BENCH_SCHEMA, resident } from '../residents.js';
import { latency, sequence } from '../stats.js';
import type { Figure, Ratio, ScenarioOptions, ScenarioResult } from '../types.js';

/**
 * Issue 5's speed targets, each against a baseline measured in the same run (SQLite, in process):
 *
 * - ingest with per-subject keys (every record has its own subject, so every record gets a new
 *   subject key, wrapped by the tenant key and stored with it) vs ingest under the collection key
 *   only: target ratio ≥ 0.9. Two vaults, batches of 1,000 alternating between them.
 * - reads through the PKCS#11 provider (SoftHSM2) vs the key file, after warm-up (unwrapped keys in
 *   the bounded cache): target ratio ≥ 0.9. Same records in both vaults, same read sequence,
 *   alternating turns.
 * - re-encryption after a collection key rotation (`keys reencrypt`'s code path): target ≥ 20,000
 *   records/s; shown against the plain ingest rate of the same records.
 */
const TENANT = '999998';
const BATCH = 1000;
const WARM_UP = 10_000;
/** Records of each kind per round of the alternating ingest measurement. */
const ROUND = 2 * BATCH;
const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so';

async function newVault(dir: string, extra: Partial<VaultLocation> = {}): Promise<{ state: VaultState & { sealed: false }; location: VaultLocation }> {
  mkdirSync(dir, { recursive: true });
  const location: VaultLocation = { dataDir: dir, keyFile: join(dir, 'root.key'), ...extra };
  if (extra.keyProvider !== 'pkcs11') await initVault(location);
  const state = await openVault(location, { sealWorkers: 1 });
  if (state.sealed) throw new Error(`bench vault sealed: ${state.reason}`);
  await state.vault.tenants.create(TENANT, 'bench', localAudit());
  for (const name of ['by_subject', 'by_collection', 'for_known']) await state.vault.collections.create(TENANT, name, { ...RESIDENT_BENCH_SCHEMA }, localAudit());
  return { state, location };
}

function inputs(from: number, n: number, withSubject: boolean) {
  return Array.from({ length: n }, (_, k) => {
    const r = resident(from + k);
    return withSubject ? { subjectId: r.subjectId, fields: r.fields } : { fields: r.fields };
  });
}

async function ingestRound(vault: Vault, collection: string, from: number, n: number, withSubject: boolean): Promise<number> {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i += BATCH) await vault.records.createMany(TENANT, collection, inputs(from + i, Math.min(BATCH, n - i), withSubject), { mode: 'atomic' });
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/**
 * `rounds` rounds of two measurements, which one goes first alternating (so neither always meets a
 * warmer or colder cache); the seconds of each, summed.
 */
async function alternating(rounds: number, first: (r: number) => Promise<number>, second: (r: number) => Promise<number>): Promise<[number, number, number[]]> {
  let a = 0;
  let b = 0;
  const pairs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let x: number;
    let y: number;
    if (r % 2 === 0) {
      x = await first(r);
      y = await second(r);
    } else {
      y = await second(r);
      x = await first(r);
    }
    a += x;
    b += y;
    pairs.push(y / x);
  }
  return [a, b, pairs];
}

function softHsmToken(dir: string): { library: string; tokenLabel: string; pin: string } | undefined {
  if (!existsSync(SOFTHSM)) return undefined;
  const conf = join(dir, 'softhsm2.conf');
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { recursive: true });
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  const pin = '246813579';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'kuraban-bench', '--pin', pin, '--so-pin', '1357924680'], { stdio: 'ignore' });
  return { library: SOFTHSM, tokenLabel: 'kuraban-bench', pin };
}

export async function keysScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const figures: Figure[] = [];
  const ratios: Ratio[] = [];
  const targets: Array<{ name: string; met: boolean }> = [];
  const notes: string[] = [];
  const root = mkdtempSync(join(tmpdir(), 'kuraban-bench-keys-'));
  try {
    // ── 1. ingest: per-subject keys vs collection key ───────────────────────────────────────
    const n = Math.min(options.records, 200_000);
    const a = await newVault(join(root, 'ingest'));
    // Short rounds (two batches of each kind, alternating): the store's periodic heavy moments (a
    // checkpoint, a major collection) then fall on both kinds alike. With rounds of 20,000 they fell
    // on one kind or the other depending on where the round boundaries lay, and moved the ratio by
    // ±0.05 from run to run (2026-12-03: 0.86–0.87 after a 30,000-record warm-up, 0.92–0.96 after a
    // 10,000-record one, while the typical batch of each kind cost the same in both).
    const per = ROUND;
    const rounds = Math.max(2, Math.floor(n / per));
    // Warm-up: 10,000 records each. With 2,000, the first measured round of per-subject keys ran
    // ~40 % slower than the later ones (its code not yet optimised; 2026-12-03: 1,085–1,139 ms against
    // 819–864 ms for the same 20,000 records after a 10,000-record warm-up), a start-up cost that
    // counted against per-subject keys alone, since they ran first.
    await ingestRound(a.state.vault, 'by_subject', 10_000_000, WARM_UP, true);
    await ingestRound(a.state.vault, 'by_collection', 10_000_000, WARM_UP, false);
    const [subjectSeconds, collectionSeconds, pairs] = await alternating(
      rounds,
      (r) => ingestRound(a.state.vault, 'by_subject', r * per, per, true),
      (r) => ingestRound(a.state.vault, 'by_collection', r * per, per, false),
    );
    const total = rounds * per;
    figures.push({ name: 'ingest, collection key only', records: total, seconds: collectionSeconds, perSecond: total / collectionSeconds });
    figures.push({ name: 'ingest, a new subject key per record', records: total, seconds: subjectSeconds, perSecond: total / subjectSeconds });
    const ingestRatio = collectionSeconds / subjectSeconds;
    ratios.push({ name: 'per-subject keys / collection key (ingest rate)', value: ingestRatio, target: '≥ 0.9' });
    targets.push({ name: `ingest with per-subject keys within 10 % of collection keys only (${(ingestRatio * 100).toFixed(1)} %)`, met: ingestRatio >= 0.9 });
    const sorted = [...pairs].sort((x, y) => x - y);
    const at = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number).toFixed(2);
    notes.push(`per-subject / collection, round by round (${rounds} rounds of ${per} records each): median ${at(0.5)}, quartiles ${at(0.25)}–${at(0.75)}`);

    // For information (no target): new records about people who already have a key, not in the
    // key cache (the keys written above are not cached) — their keys are looked up and unwrapped per
    // batch. Alternating with more collection-key rounds, as above.
    const knownRounds = Math.min(rounds, 40);
    const [knownSeconds, moreCollectionSeconds] = await alternating(
      knownRounds,
      (r) => ingestRound(a.state.vault, 'for_known', r * per, per, true),
      (r) => ingestRound(a.state.vault, 'by_collection', (rounds + r) * per, per, false),
    );
    const knownTotal = knownRounds * per;
    figures.push({ name: 'ingest, people who already have a key (not cached)', records: knownTotal, seconds: knownSeconds, perSecond: knownTotal / knownSeconds });
    ratios.push({ name: 'existing subject keys / collection key (ingest rate; for information)', value: moreCollectionSeconds / knownSeconds });

    // ── 2. re-encryption ────────────────────────────────────────────────────────────────────
    const vault = a.state.vault;
    await vault.keys.rotateCollection(TENANT, 'by_collection', localAudit());
    const t = process.hrtime.bigint();
    const job = await vault.keys.reencrypt(TENANT, 'by_collection', localAudit(), { batch: 2000 });
    const reSeconds = Number(process.hrtime.bigint() - t) / 1e9;
    figures.push({ name: 'keys reencrypt (collection key v1 → v2)', records: job.done, seconds: reSeconds, perSecond: job.done / reSeconds });
    ratios.push({ name: 're-encryption / ingest (collection key), records/s', value: job.done / reSeconds / (total / collectionSeconds) });
    targets.push({ name: `re-encryption ≥ 20,000 records/s (${Math.round(job.done / reSeconds)})`, met: job.done / reSeconds >= 20_000 });
    await vault.close();
    await a.state.store.close();

    // ── 3. reads: PKCS#11 vs key file, warm ─────────────────────────────────────────────────
    const token = softHsmToken(root);
    if (!token) {
      notes.push('reads through PKCS#11: skipped, SoftHSM2 is not installed (apt-get install softhsm2)');
    } else {
      await createPkcs11RootKey({ ...token, keyLabel: 'kuraban-root' });
      const readers = [
        { name: 'key file', ...(await newVault(join(root, 'file'))) },
        { name: 'PKCS#11 (SoftHSM2)', ...(await newVault(join(root, 'hsm'), { keyProvider: 'pkcs11', pkcs11: { ...token, keyLabel: 'kuraban-root' } })) },
      ];
      const m = Math.min(options.records, 5000);
      const ids: string[][] = [];
      for (const r of readers) {
        const created = await r.state.vault.records.createMany(TENANT, 'by_subject', inputs(0, m, true), { mode: 'atomic' });
        ids.push(created.created.map((c) => c.id));
      }
      const seq = sequence(m, 60_000);
      const samples: number[][] = [[], []];
      for (let i = 0; i < m; i++) for (const [k, r] of readers.entries()) await r.state.vault.records.get(TENANT, 'by_subject', ids[k]?.[i] as string); // warm-up: every key cached
      const SLICE = 500;
      for (let s = 0; s < seq.length; s += SLICE) {
        for (const [k, r] of (s / SLICE) % 2 === 0 ? readers.entries() : [...readers.entries()].reverse()) {
          const started = process.hrtime.bigint();
          for (let j = s; j < s + SLICE && j < seq.length; j++) await r.state.vault.records.get(TENANT, 'by_subject', ids[k]?.[seq[j] as number] as string);
          samples[k]?.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
      }
      const secs = samples.map((x) => x.reduce((p, c) => p + c, 0) / 1000);
      for (const [k, r] of readers.entries()) {
        figures.push({ name: `warm reads, ${r.name}`, records: seq.length, seconds: secs[k] as number, perSecond: seq.length / (secs[k] as number) });
        const l = latency((samples[k] as number[]).map((ms) => ms / SLICE));
        notes.push(`${r.name}: mean ${l.mean.toFixed(4)} ms per read (turns of ${SLICE})`);
      }
      const readRatio = (secs[0] as number) / (secs[1] as number);
      ratios.push({ name: 'PKCS#11 / key file (warm read rate)', value: readRatio, target: '≥ 0.9' });
      targets.push({ name: `reads through PKCS#11 within 10 % of the key file after warm-up (${(readRatio * 100).toFixed(1)} %)`, met: readRatio >= 0.9 });
      for (const r of readers) {
        await r.state.vault.close();
        await r.state.store.close();
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { scenario: 'keys', figures, ratios, targets, notes };
}
