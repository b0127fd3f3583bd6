import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type RequestSpec } from 'autocannon';
import { loadConfig } from '../../src/config/index.js';
import { DEMO_TENANT, generateResidents, loadDemo } from '../../src/demo/index.js';
import { initVault, localAudit, openVault } from '../../src/vault/index.js';
import { CLI, runNode, type ChildResult } from '../child.js';
import { openLoop } from '../open-loop.js';
import { latency, sequence, type Latency } from '../stats.js';
import type { Figure, Ratio, ScenarioOptions, ScenarioResult } from '../types.js';

/**
 * Reads over HTTP (issue: "single-record reads and searches with policy, decryption and logging,
 * against a bare Fastify server returning the same JSON from memory").
 *
 * The demo municipality 架空市 (loadDemo: tenant 999997, the municipal policies, a counter clerk's
 * key) with min(--records, 20,000) residents is loaded in process, then served by a real
 * `kuraban serve` process. A pool of 2,000 readable residents (every tenth, DV-flagged rows left
 * out) is read once through Kuraban; those answers become the bare server's: a Fastify process
 * serving the same URLs with the same bytes from memory. autocannon (in this process) then drives
 * each server, the two taking turns, for
 *
 * - GET …/juminhyo/records/:id as the clerk, Kuraban-Purpose: counter (random ids from the pool);
 * - POST …/juminhyo/records/search {"where":{"atena_number":…}} as the clerk (random pool members);
 *
 * at saturation (autocannon, 10 connections, closed loop, 15 s) and at fixed rates of 200, 500 and
 * 1,000 req/s (10 s each, bench/open-loop.ts: evenly spaced, open loop — autocannon's overallRate
 * sends each connection's share of a second in one burst, which is not a fixed rate).
 * In Kuraban every request is authenticated (API key), authorised (Cedar policy, masks), decrypted,
 * and written to the access log; the scenario checks a sample answer is masked and that the log grew
 * by at least the number of answered requests.
 */

const COLLECTION = 'juminhyo';
const PURPOSE = 'counter';
const MAX_RESIDENTS = 20_000;
const POOL = 2000;
/** autocannon connections at saturation. */
const CONNECTIONS = 10;
const SATURATION_SECONDS = 15;
const RATE_SECONDS = 10;
const RATES = [200, 500, 1000];
const WARMUP_SECONDS = 3;
const BARE = fileURLToPath(new URL('../read-bare-server.js', import.meta.url));

interface Run {
  readonly server: 'kuraban' | 'bare';
  readonly kind: 'get' | 'search';
  readonly rate: number | 'saturation';
  readonly generator: string;
  readonly seconds: number;
  readonly requests: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly throughput: number;
  /** Saturation: each response's own time (request written → response read). Fixed rates: from the intended send time. Sub-millisecond. */
  readonly latencyMs: Latency;
  /** Fixed rates: from the actual send to the response. */
  readonly serviceMs?: Latency;
  /** Saturation: autocannon's own histogram (whole milliseconds). */
  readonly autocannonMs?: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

const f2 = (x: number) => x.toFixed(2);
const randomPort = () => 20000 + Math.floor(Math.random() * 20000);

async function waitReady(base: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${base} did not become ready`);
}

export async function readScenario(options: ScenarioOptions): Promise<ScenarioResult & { runs: Run[]; setup: Record<string, unknown> }> {
  const residents = Math.min(options.records, MAX_RESIDENTS);
  const dir = mkdtempSync(join(tmpdir(), 'kuraban-bench-read-'));
  const stops: Array<() => void> = [];
  const servers: Array<Promise<ChildResult>> = [];
  try {
    // --- data, in process
    options.log(`  loading the demo municipality with ${residents} residents (loadDemo: juminhyo, kojin_juminzei, kokuho) …`);
    const location = { dataDir: dir, keyFile: join(dir, 'root.key') };
    await initVault(location);
    const opened = await openVault(location, { sealWorkers: loadConfig(process.env).sealWorkers });
    if (opened.sealed) throw new Error(opened.reason);
    const t0 = performance.now();
    const demo = await loadDemo(opened.vault, { seed: 'bench-read', residents, audit: localAudit() });
    const loadSeconds = (performance.now() - t0) / 1000;
    // The pool: every tenth resident that a clerk may read (DV-flagged rows are refused to a clerk).
    const pool: Array<{ id: string; atena: string }> = [];
    let dv = 0;
    let k = 0;
    for (const p of generateResidents({ seed: 'bench-read', residents })) {
      if (k++ % Math.max(1, Math.floor(residents / POOL)) !== 0 || pool.length >= POOL) continue;
      if (p.juminhyo['dv_support'] === true) {
        dv++;
        continue;
      }
      const atena = p.juminhyo['atena_number'] as string;
      const found = await opened.vault.records.search(DEMO_TENANT.id, COLLECTION, { atena_number: atena }, { limit: 1 });
      pool.push({ id: (found.records[0] as { id: string }).id, atena });
    }
    await opened.vault.accessLog.integrate(DEMO_TENANT.id);
    await opened.vault.close();
    await opened.store.close();
    options.log(`  loaded in ${loadSeconds.toFixed(1)} s; pool of ${pool.length} readable residents (${dv} DV-flagged left out)`);

    // --- the Kuraban server
    const kPort = randomPort();
    servers.push(runNode([CLI, '--data-dir', dir, 'serve', '--port', String(kPort)], { env: { KURABAN_LOG_LEVEL: 'warn' }, onSpawn: (s) => stops.push(s) }));
    const kBase = `http://127.0.0.1:${kPort}`;
    await waitReady(kBase);
    const recordsPath = `/v1/tenants/${DEMO_TENANT.id}/collections/${COLLECTION}/records`;
    const clerk = { authorization: `Bearer ${demo.clerkKey}`, 'kuraban-purpose': PURPOSE };
    const searchBody = (atena: string) => JSON.stringify({ where: { atena_number: atena } });
    const logSize = async () => {
      const r = await fetch(`${kBase}/v1/tenants/${DEMO_TENANT.id}/log`, { headers: { authorization: `Bearer ${demo.tenantKey}`, 'kuraban-purpose': 'audit' } });
      if (!r.ok) throw new Error(`log head: ${r.status} ${await r.text()}`);
      return ((await r.json()) as { size: number }).size;
    };

    // --- the answers, read once through Kuraban (also a warm-up), become the bare server's
    options.log(`  reading the pool once through Kuraban (${pool.length} GETs, ${pool.length} searches) …`);
    const answers = { get: {} as Record<string, string>, search: {} as Record<string, string> };
    for (const p of pool) {
      const g = await fetch(`${kBase}${recordsPath}/${p.id}`, { headers: clerk });
      const gb = await g.text();
      if (g.status !== 200) throw new Error(`GET ${p.id}: ${g.status} ${gb.slice(0, 300)}`);
      answers.get[`${recordsPath}/${p.id}`] = gb;
      const s = await fetch(`${kBase}${recordsPath}/search`, { method: 'POST', headers: { ...clerk, 'content-type': 'application/json' }, body: searchBody(p.atena) });
      const sb = await s.text();
      if (s.status !== 200) throw new Error(`search ${p.atena}: ${s.status} ${sb.slice(0, 300)}`);
      answers.search[p.atena] = sb;
    }
    const sample = JSON.parse(answers.get[`${recordsPath}/${(pool[0] as { id: string }).id}`] as string) as { fields: Record<string, unknown>; masked?: string[]; withheld?: string[] };
    const sampleSearch = JSON.parse(answers.search[(pool[0] as { atena: string }).atena] as string) as { records: Array<{ masked?: string[] }> };
    if (!sample.masked?.length || !sample.withheld?.length) throw new Error(`the clerk's answer is not masked: ${JSON.stringify(sample).slice(0, 300)}`);
    if (sampleSearch.records.length !== 1 || !sampleSearch.records[0]?.masked?.length) throw new Error('the search answer is not one masked record');
    options.log(`  sample answer: ${Object.keys(sample.fields).length} fields, masked ${sample.masked.join(', ')}; withheld ${sample.withheld.join(', ')}`);
    const answersFile = join(dir, 'answers.json');
    writeFileSync(answersFile, JSON.stringify(answers));

    // --- the bare server
    const bPort = randomPort();
    servers.push(runNode([BARE, answersFile, String(bPort)], { onSpawn: (s) => stops.push(s) }));
    const bBase = `http://127.0.0.1:${bPort}`;
    await waitReady(bBase);

    // --- load
    const bases = { kuraban: kBase, bare: bBase };
    let sentOk = 0;
    const run = async (server: 'kuraban' | 'bare', kind: 'get' | 'search', rate: number | 'saturation', seconds: number, record: boolean): Promise<Run> => {
      const order = sequence(pool.length, 1 << 16, kind === 'get' ? 0x2545f491 : 0x68e31da4);
      let next = 0;
      const pick = () => pool[order[next++ & 0xffff] as number] as { id: string; atena: string };
      let result: Run;
      if (rate === 'saturation') {
        // Closed loop: autocannon, CONNECTIONS connections each sending its next request when the last is answered.
        const request: RequestSpec =
          kind === 'get'
            ? { method: 'GET', headers: clerk, setupRequest: (r: RequestSpec) => ({ ...r, path: `${recordsPath}/${pick().id}` }) }
            : {
                method: 'POST',
                path: `${recordsPath}/search`,
                headers: { ...clerk, 'content-type': 'application/json' },
                setupRequest: (r: RequestSpec) => ({ ...r, body: searchBody(pick().atena) }),
              };
        const instance = autocannon({ url: bases[server], connections: CONNECTIONS, duration: seconds, timeout: 10, requests: [request] });
        const ms: number[] = [];
        instance.on('response', (_c: unknown, status: number, _bytes: number, time: number) => {
          if (status >= 200 && status < 300) ms.push(time);
        });
        const r = await instance;
        result = {
          server,
          kind,
          rate,
          generator: `autocannon, ${CONNECTIONS} connections`,
          seconds: r.duration,
          requests: r['2xx'] + r.non2xx,
          ok: r['2xx'],
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          throughput: r['2xx'] / r.duration,
          latencyMs: latency(ms),
          autocannonMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
        };
      } else {
        // Open loop at a fixed rate (bench/open-loop.ts): latency from each request's intended send time.
        const r = await openLoop(bases[server], rate, seconds, () =>
          kind === 'get'
            ? { method: 'GET', path: `${recordsPath}/${pick().id}`, headers: clerk }
            : { method: 'POST', path: `${recordsPath}/search`, headers: { ...clerk, 'content-type': 'application/json' }, body: searchBody(pick().atena) },
        );
        result = {
          server,
          kind,
          rate,
          generator: 'open loop (bench/open-loop.ts), evenly spaced',
          seconds: r.seconds,
          requests: r.sent,
          ok: r.ok,
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: 0,
          throughput: r.ok / r.seconds,
          latencyMs: latency(r.latencyMs),
          serviceMs: latency(r.serviceMs),
        };
      }
      if (server === 'kuraban') sentOk += result.ok;
      if (record) {
        const l = result.latencyMs;
        options.log(
          `    ${server.padEnd(7)} ${kind.padEnd(6)} ${String(rate).padEnd(10)} ${Math.round(result.throughput).toString().padStart(6)} req/s   p50 ${f2(l.p50)} ms   p99 ${f2(l.p99)} ms   non-2xx ${result.non2xx}, errors ${result.errors}`,
        );
      }
      return result;
    };

    const logBefore = await logSize();
    const tLoad = performance.now();
    options.log(`  warm-up: ${WARMUP_SECONDS} s at saturation per server and kind …`);
    for (const kind of ['get', 'search'] as const) for (const server of ['kuraban', 'bare'] as const) await run(server, kind, 'saturation', WARMUP_SECONDS, false);
    const runs: Run[] = [];
    options.log(`  measuring: saturation (${CONNECTIONS} connections, ${SATURATION_SECONDS} s, autocannon) and open loop at ${RATES.join(', ')} req/s (${RATE_SECONDS} s each), Kuraban and bare taking turns …`);
    for (const kind of ['get', 'search'] as const) {
      for (const rate of ['saturation', ...RATES] as const) {
        for (const server of ['kuraban', 'bare'] as const) runs.push(await run(server, kind, rate, rate === 'saturation' ? SATURATION_SECONDS : RATE_SECONDS, true));
      }
    }
    const loadSeconds2 = (performance.now() - tLoad) / 1000;
    await new Promise((r) => setTimeout(r, 2500)); // the integrator turns pending entries into a checkpoint every second
    const logAfter = await logSize();
    const grew = logAfter - logBefore;
    options.log(`  access log: ${logBefore} → ${logAfter} entries (+${grew}); Kuraban answered ${sentOk} requests with 2xx`);
    if (grew < sentOk) throw new Error(`the access log grew by ${grew}, fewer than the ${sentOk} answered reads`);

    // --- results
    const find = (server: string, kind: string, rate: number | 'saturation') => runs.find((r) => r.server === server && r.kind === kind && r.rate === rate) as Run;
    const figures: Figure[] = runs.map((r) => ({
      name: `${r.server === 'kuraban' ? 'Kuraban' : 'bare Fastify'} ${r.kind === 'get' ? 'GET record' : 'search atena_number'} @ ${r.rate === 'saturation' ? `saturation (${CONNECTIONS} conn.)` : `${r.rate} req/s`}; p50 ${f2(r.latencyMs.p50)} / p99 ${f2(r.latencyMs.p99)} ms`,
      records: r.ok,
      seconds: r.seconds,
      perSecond: r.throughput,
    }));
    const ratios: Ratio[] = [];
    for (const kind of ['get', 'search'] as const) {
      const label = kind === 'get' ? 'GET record' : 'search';
      const ks = find('kuraban', kind, 'saturation');
      const bs = find('bare', kind, 'saturation');
      ratios.push({ name: `${label}: Kuraban / bare throughput at saturation`, value: ks.throughput / bs.throughput });
      ratios.push({ name: `${label}: Kuraban req/s at saturation`, value: ks.throughput }, { name: `${label}: bare req/s at saturation`, value: bs.throughput });
      for (const rate of ['saturation', ...RATES] as const) {
        const kr = find('kuraban', kind, rate);
        const br = find('bare', kind, rate);
        const at = rate === 'saturation' ? 'saturation' : `${rate} req/s`;
        ratios.push({ name: `${label} @ ${at}: p50 ms Kuraban`, value: kr.latencyMs.p50 }, { name: `${label} @ ${at}: p50 ms bare`, value: br.latencyMs.p50 });
        ratios.push({ name: `${label} @ ${at}: p99 ms Kuraban`, value: kr.latencyMs.p99 }, { name: `${label} @ ${at}: p99 ms bare`, value: br.latencyMs.p99 });
      }
    }
    const failed = runs.reduce((a, r) => a + r.non2xx + r.errors, 0);
    return {
      scenario: 'read',
      figures,
      ratios,
      targets: [{ name: 'no errors or non-2xx answers under load', met: failed === 0 }],
      notes: [
        `data: loadDemo with ${residents} residents (${demo.taxRecords} tax and ${demo.nhiRecords} NHI records besides), municipal policies, the demo's counter clerk key; reads pick randomly (fixed xorshift sequence) among a pool of ${pool.length} readable juminhyo records`,
        `Kuraban: \`kuraban serve\` in its own process (SQLite, KURABAN_LOG_LEVEL=warn, access log integrated every second); each request authenticated, authorised by the Cedar policy (the clerk sees ${sample.masked.length} fields masked, ${sample.withheld.length} withheld), decrypted and logged — the access log grew by ${grew} entries for ${sentOk} answered requests`,
        'bare: Fastify in its own process answering the same URLs with the same JSON bytes from memory (no auth, policy, store, crypto or log)',
        `load, in the bench process (it shares the 2 cores with the servers): saturation = autocannon, ${CONNECTIONS} connections, closed loop, ${SATURATION_SECONDS} s; fixed rates = an open-loop generator (bench/open-loop.ts, node:http keep-alive) sending evenly spaced requests for ${RATE_SECONDS} s — autocannon's overallRate sends each connection's share of a second in one burst; ${WARMUP_SECONDS} s warm-up per server and kind; Kuraban and bare take turns`,
        "latencies are sub-millisecond: at saturation each response's own time (request written → response read), at fixed rates from the request's intended send time (queueing included); autocannon's own whole-ms histogram and the fixed rates' service times are in the JSON",
      ],
      runs,
      setup: { residents, pool: pool.length, dvLeftOut: dv, loadSeconds, loadRunSeconds: loadSeconds2, logBefore, logAfter, connections: CONNECTIONS, rates: RATES },
    };
  } finally {
    for (const s of stops) s();
    await Promise.allSettled(servers);
    rmSync(dir, { recursive: true, force: true });
  }
}
