import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { generateResidents, type DemoPerson } from '../../src/demo/index.js';
import { SCHEMA_TEMPLATES } from '../../src/schema/index.js';
import { initVault, localAudit, openVault, type RecordInput } from '../../src/vault/index.js';
import { latency, percentile, sequence, type Latency } from '../stats.js';
import type { Figure, Ratio, ScenarioOptions, ScenarioResult } from '../types.js';

/**
 * Search scaling (issue: "blind-index search latency at 10,000 and at N records").
 *
 * In process, no HTTP: one SQLite vault, one tenant, a `juminhyo` collection from the 住民基本台帳
 * template (42 fields), synthetic residents from the demo generator. Equality searches through
 * vault.records.search — validate and normalise the term, HMAC it under the field's index key,
 * look up the digest, decrypt the hits and check them again — first at 10,000 records, then after
 * the same collection has grown to N:
 *
 * - `atena_number` (宛名番号): a unique field, one hit per search;
 * - `name_kana` (氏名フリガナ): a searchable field with repeated values, up to 100 hits (one page).
 *
 * The terms are drawn from the first 10,000 residents, so every search has at least one hit at both
 * sizes (and the same terms are searched at both sizes). At N a name_kana term has more hits than at
 * 10,000: its latency includes decrypting them (the mean hit count is reported).
 */

const TENANT = '999997';
const COLLECTION = 'juminhyo';
const BASE = 10_000;
const SEARCHES = 2000;
const WARMUP = 300;
const BATCH = 2000;
const LIMIT = 100;

interface FieldLatency extends Latency {
  readonly meanHits: number;
  readonly p99Hits: number;
  readonly maxHits: number;
  /** The searches that found exactly one record: the index lookup without the cost of decrypting more hits. */
  readonly oneHit: Latency;
}

const f3 = (x: number) => x.toFixed(3);

export interface SearchScalingResult extends ScenarioResult {
  readonly latencyMs: Record<string, Record<string, FieldLatency>>;
  readonly setup: Record<string, unknown>;
}

export async function searchScalingScenario(options: ScenarioOptions): Promise<SearchScalingResult> {
  const n = Math.max(BASE, options.records);
  const dir = mkdtempSync(join(tmpdir(), 'kuraban-bench-search-'));
  try {
    const location = { dataDir: dir, keyFile: join(dir, 'root.key') };
    await initVault(location);
    const opened = await openVault(location, { sealWorkers: loadConfig(process.env).sealWorkers });
    if (opened.sealed) throw new Error(opened.reason);
    const { vault } = opened;
    const audit = localAudit();
    await vault.tenants.create(TENANT, 'bench town', audit);
    await vault.collections.create(TENANT, COLLECTION, SCHEMA_TEMPLATES.juminhyo.schema, audit);

    const people = generateResidents({ seed: 'bench-search-scaling', residents: n });
    const kana: string[] = [];
    const atena: string[] = [];
    let loaded = 0;
    /** Writes residents until `upTo` are stored: batches of 2,000, sealing of batch k+1 overlapping the write of batch k (as ingest does). */
    const grow = async (upTo: number) => {
      const batchOf = (): RecordInput[] => {
        const out: RecordInput[] = [];
        while (loaded + out.length < upTo && out.length < BATCH) {
          const p = people.next().value as DemoPerson;
          if (kana.length < BASE) {
            if (typeof p.juminhyo['name_kana'] === 'string') kana.push(p.juminhyo['name_kana']);
            atena.push(p.juminhyo['atena_number'] as string);
          }
          out.push({ subjectId: p.subjectId, fields: p.juminhyo });
        }
        return out;
      };
      const opts = { mode: 'atomic' as const, audit };
      let first = batchOf();
      let next = first.length > 0 ? await vault.records.prepareMany(TENANT, COLLECTION, first, opts) : undefined;
      let lastLog = performance.now();
      while (next !== undefined) {
        const current = next;
        loaded += first.length;
        first = batchOf();
        next = first.length > 0 ? await vault.records.prepareMany(TENANT, COLLECTION, first, opts) : undefined;
        await vault.records.commitPrepared(current);
        if (performance.now() - lastLog > 15_000) {
          options.log(`    … ${loaded.toLocaleString('en')} records`);
          lastLog = performance.now();
        }
      }
      await vault.accessLog.integrate(TENANT);
    };

    const measure = async (label: string): Promise<Record<string, FieldLatency>> => {
      const count = await vault.records.count(TENANT, COLLECTION);
      options.log(`  searching at ${count.toLocaleString('en')} records: ${SEARCHES} × name_kana, ${SEARCHES} × atena_number (interleaved) after ${WARMUP} warm-up each …`);
      const kanaOrder = sequence(kana.length, SEARCHES + WARMUP, 0x2545f491);
      const atenaOrder = sequence(atena.length, SEARCHES + WARMUP, 0x9e3779b9);
      const ms: Record<string, number[]> = { name_kana: [], atena_number: [] };
      const hits: Record<string, number[]> = { name_kana: [], atena_number: [] };
      for (let i = 0; i < SEARCHES + WARMUP; i++) {
        for (const [field, value] of [
          ['name_kana', kana[kanaOrder[i] as number] as string],
          ['atena_number', atena[atenaOrder[i] as number] as string],
        ] as const) {
          const t0 = performance.now();
          const found = await vault.records.search(TENANT, COLLECTION, { [field]: value }, { limit: LIMIT });
          const t = performance.now() - t0;
          if (found.records.length === 0) throw new Error(`search ${field} = ${value} found nothing`);
          if (i >= WARMUP) {
            (ms[field] as number[]).push(t);
            (hits[field] as number[]).push(found.records.length);
          }
        }
      }
      const out: Record<string, FieldLatency> = {};
      for (const field of ['name_kana', 'atena_number']) {
        const l = latency(ms[field] as number[]);
        const h = hits[field] as number[];
        const sortedHits = [...h].sort((a, b) => a - b);
        const oneHit = latency((ms[field] as number[]).filter((_t, i) => h[i] === 1));
        const fl: FieldLatency = { ...l, meanHits: h.reduce((a, b) => a + b, 0) / h.length, p99Hits: percentile(sortedHits, 99), maxHits: sortedHits[sortedHits.length - 1] as number, oneHit };
        out[field] = fl;
        options.log(
          `    ${label} ${field.padEnd(13)} p50 ${f3(l.p50)} ms   p90 ${f3(l.p90)} ms   p99 ${f3(l.p99)} ms   (hits mean ${fl.meanHits.toFixed(1)}, p99 ${fl.p99Hits}, max ${fl.maxHits}; one-hit searches: ${oneHit.samples}, p50 ${f3(oneHit.p50)} ms, p99 ${f3(oneHit.p99)} ms)`,
        );
      }
      return out;
    };

    options.log(`  loading ${BASE.toLocaleString('en')} residents (juminhyo template) …`);
    let t0 = performance.now();
    await grow(BASE);
    const baseLoad = (performance.now() - t0) / 1000;
    const atBase = await measure('10k');
    options.log(`  growing to ${n.toLocaleString('en')} residents …`);
    t0 = performance.now();
    await grow(n);
    const growLoad = (performance.now() - t0) / 1000;
    options.log(`  loaded ${(n - BASE).toLocaleString('en')} more in ${growLoad.toFixed(1)} s (${Math.round((n - BASE) / growLoad).toLocaleString('en')} records/s)`);
    const atN = await measure(n >= 1000 ? `${Math.round(n / 1000)}k` : String(n));
    await vault.close();
    await opened.store.close();

    const figures: Figure[] = [];
    for (const [size, lat] of [
      [BASE, atBase],
      [n, atN],
    ] as const) {
      for (const field of ['atena_number', 'name_kana']) {
        const l = lat[field] as FieldLatency;
        // records = searches; seconds = their summed latency; perSecond = sequential searches per second.
        figures.push({ name: `search ${field} at ${size.toLocaleString('en')} records (sequential, in process)`, records: l.samples, seconds: (l.mean * l.samples) / 1000, perSecond: 1000 / l.mean });
      }
    }
    figures.push({ name: `load ${BASE.toLocaleString('en')} residents`, records: BASE, seconds: baseLoad, perSecond: BASE / baseLoad });
    figures.push({ name: `grow to ${n.toLocaleString('en')} residents`, records: n - BASE, seconds: growLoad, perSecond: (n - BASE) / growLoad });
    const ratios: Ratio[] = [];
    for (const field of ['atena_number', 'name_kana']) {
      const a = atBase[field] as FieldLatency;
      const b = atN[field] as FieldLatency;
      ratios.push(
        { name: `${field}: p50 ms at 10k`, value: a.p50 },
        { name: `${field}: p50 ms at ${n}`, value: b.p50 },
        { name: `${field}: p99 ms at 10k`, value: a.p99 },
        { name: `${field}: p99 ms at ${n}`, value: b.p99 },
        { name: `${field}: p50 at ${n} / p50 at 10k`, value: b.p50 / a.p50 },
        { name: `${field}: p99 at ${n} / p99 at 10k`, value: b.p99 / a.p99 },
      );
      if (field === 'name_kana') ratios.push({ name: `${field}, one-hit searches: p50 at ${n} / p50 at 10k`, value: b.oneHit.p50 / a.oneHit.p50 });
    }
    return {
      scenario: 'search-scaling',
      figures,
      ratios,
      targets: [],
      notes: [
        `in process (vault.records.search, no HTTP, no policy), SQLite; ${SEARCHES} searches per field and size, atena_number and name_kana interleaved, after ${WARMUP} warm-up searches each; limit ${LIMIT}`,
        `terms drawn from the first ${BASE.toLocaleString('en')} residents (same terms at both sizes); name_kana mean hits: ${(atBase['name_kana'] as FieldLatency).meanHits.toFixed(1)} at 10k, ${(atN['name_kana'] as FieldLatency).meanHits.toFixed(1)} at ${n} — its latency includes decrypting every hit`,
        `N = ${n} (--records; default 1,000,000: the growth to 1M is most of the scenario's time — about 400 s at ~2,500 records/s on a 2-core VM, 42-field records with up to 9 blind indexes each)`,
      ],
      latencyMs: { '10000': atBase, [String(n)]: atN },
      setup: { base: BASE, records: n, searches: SEARCHES, warmup: WARMUP, limit: LIMIT, loadSeconds: { base: baseLoad, grow: growLoad } },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
