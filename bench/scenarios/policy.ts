import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import { generateResidents } from '../../src/demo/index.js';
import { buildApp } from '../../src/http/index.js';
import { PolicyEngine, type CollectionInfo, type FieldAccess, type PolicyEngineStats, type PolicyPrincipal } from '../../src/policy/index.js';
import { SCHEMA_TEMPLATES } from '../../src/schema/index.js';
import { initVault, localAudit, openVault, Policies, type ActivePolicy, type RecordInput, type Vault, type VaultState } from '../../src/vault/index.js';
import { latency, percentile, sequence, type Latency } from '../stats.js';
import type { Figure, Ratio, ScenarioOptions, ScenarioResult } from '../types.js';

/**
 * Cost of policy evaluation on an authorised single-record read over HTTP (issue 4: "at most 0.2 ms
 * more at p50 than the same read with policy evaluation switched off, measured in one run").
 *
 * One SQLite vault, one tenant, a collection of the 住民基本台帳 template (42 fields), a dozen
 * municipal policies (clerk with per-field purpose conditions, masks, a DV forbid, …), a service
 * account with role `clerk`, and a few thousand synthetic residents. Every variant is the same
 * Fastify app (`app.inject`, no socket) answering GET …/records/:id with Kuraban-Purpose, over the
 * same sequence of record ids; variants are interleaved (rounds, and turns of 100 reads within a
 * round) so that the VM's slow spells hit all of them alike:
 *
 * - on — the app as shipped;
 * - off — the same app serving a copy of the vault whose `policies` is BenchAllowAllPolicies: one
 *   constant ActivePolicy whose engine allows everything without a decision (every field clear);
 * - off, same answers — the same, but the engine returns the field results the real policies give
 *   (computed once), so responses are byte-for-byte those of `on`: isolates the decision cost from
 *   masking and from the size of the answer.
 *
 * Then, not the target: the first read after a policy push (new version, empty decision cache).
 */

const TENANT = '999997';
const COLLECTION = 'juminhyo';
const PURPOSE = 'counter';
const MAX_RECORDS = 5000;
const ROUNDS = 7;
const PER_ROUND = 1500;
/** Reads per turn within a round (the variants alternate every SLICE reads). */
const SLICE = 100;
const WARMUP = 3000;
const COLD_SAMPLES = 25;
const TARGET_MS = 0.2;

/**
 * A realistic municipal policy set for the resident register (13 policies). Used unless
 * policies/municipal.cedar exists (then that file is measured instead).
 */
export const BENCH_POLICIES = `// Bench policy set: a municipality's resident register.
@id("administrators")
permit (principal in Kuraban::Role::"administrator", action, resource);

@id("operator-log")
permit (principal in Kuraban::Role::"operator", action in [Kuraban::Action::"read-log", Kuraban::Action::"manage-keys"], resource);

// 窓口: clerks read and search personal and public fields for counter work and certificates.
@id("clerk-read")
permit (principal in Kuraban::Role::"clerk", action in [Kuraban::Action::"read", Kuraban::Action::"search"], resource in Kuraban::Collection::"juminhyo")
  when { (context.purpose == "counter" || context.purpose == "resident_certificate") && (resource.classification == "personal" || resource.classification == "public") };

// 本籍・筆頭者 only for a certificate that asks for them.
@id("clerk-honseki")
permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read", resource in Kuraban::Collection::"juminhyo")
  when { context.purpose == "resident_certificate" && ["honseki", "hittosha"].contains(resource.name) };

// Everything else a clerk sees masked, with a declared purpose.
@id("clerk-masked")
permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read-masked", resource in Kuraban::Collection::"juminhyo")
  when { context.hasPurpose };

@id("clerk-rows")
permit (principal in Kuraban::Role::"clerk", action == Kuraban::Action::"read-record", resource in Kuraban::Collection::"juminhyo")
  when { context.hasPurpose };

@id("clerk-write")
permit (principal in Kuraban::Role::"clerk", action in [Kuraban::Action::"create", Kuraban::Action::"update"], resource == Kuraban::Collection::"juminhyo")
  when { context.purpose == "counter" };

// 個人番号: only the my-number duty, with MFA, for my-number affairs.
@id("my-number-duty")
permit (principal in Kuraban::Duty::"my-number-affairs", action == Kuraban::Action::"read", resource)
  when { resource.classification == "my-number" && context.purpose == "my_number_affairs" && context.mfa };

@id("my-number-guard")
forbid (principal, action in [Kuraban::Action::"read", Kuraban::Action::"read-masked", Kuraban::Action::"search"], resource)
  when { resource.classification == "my-number" }
  unless { principal in Kuraban::Duty::"my-number-affairs" && context.mfa && context.purpose == "my_number_affairs" };

// 支援措置 (DV): flagged rows and the DV fields only for DV officers.
@id("dv-rows")
forbid (principal, action == Kuraban::Action::"read-record", resource)
  when { resource.flags.contains("dv_support") }
  unless { principal in Kuraban::Role::"dv-officer" };

@id("dv-fields")
forbid (principal, action in [Kuraban::Action::"read", Kuraban::Action::"read-masked", Kuraban::Action::"search"], resource)
  when { resource.name == "dv_support" || resource.name == "dv_support_until" }
  unless { principal in Kuraban::Role::"dv-officer" };

@id("dv-officer")
permit (principal in Kuraban::Role::"dv-officer", action in [Kuraban::Action::"read", Kuraban::Action::"read-masked", Kuraban::Action::"read-record"], resource in Kuraban::Collection::"juminhyo")
  when { context.purpose == "dv_support" };

@id("tax-export")
permit (principal in Kuraban::Duty::"tax-assessment", action == Kuraban::Action::"export", resource == Kuraban::Collection::"kojin_juminzei");
`;
const BENCH_PURPOSES = ['administration', 'counter', 'resident_certificate', 'my_number_affairs', 'dv_support', 'tax_assessment'];

/**
 * policies/municipal.cedar (from the repository root or the working directory), if it exists, with
 * its purposes (policies/municipal.purposes, one per line) when that exists too.
 */
function municipalPolicies(): { text: string; file: string; purposes: string[] | null } | null {
  const candidates = [fileURLToPath(new URL('../../../policies/', import.meta.url)), join(process.cwd(), 'policies')];
  for (const d of candidates) {
    const file = join(d, 'municipal.cedar');
    if (!existsSync(file)) continue;
    const pf = join(d, 'municipal.purposes');
    const purposes = existsSync(pf) ? readFileSync(pf, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')) : null;
    return { text: readFileSync(file, 'utf8'), file, purposes };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// "Policy off", built in the bench only: subclasses of the real classes (so type-checked against
// them), served through a copy of the vault object. Nothing in src/ can switch policies off.

/** An engine that allows everything without asking Cedar. `fixed`: answer these field results instead of "all clear". */
class BenchAllowAllEngine extends PolicyEngine {
  readonly #clear = new Map<string, ReadonlyMap<string, FieldAccess>>();

  constructor(
    tenantId: string,
    private readonly fixed: ReadonlyMap<string, FieldAccess> | null,
  ) {
    super({ tenantId, version: 0, text: 'permit (principal, action, resource);', cacheSize: 0 });
  }

  override isAllowed(): boolean {
    return true;
  }

  override fieldAccess(_p: PolicyPrincipal, collection: CollectionInfo): ReadonlyMap<string, FieldAccess> {
    if (this.fixed !== null) return this.fixed;
    let m = this.#clear.get(collection.name);
    if (m === undefined) {
      m = new Map(collection.fields.map((f) => [f.name, 'clear'] as const));
      this.#clear.set(collection.name, m);
    }
    return m;
  }

  override fieldAllowed(): boolean {
    return true;
  }

  override recordAllowed(): boolean {
    return true;
  }
}

/** Policies whose active() is one constant: no store read, no version check, no engine build. */
class BenchAllowAllPolicies extends Policies {
  readonly #active: ActivePolicy;

  constructor(vault: Vault, active: ActivePolicy) {
    super({ store: vault.store, clock: vault.clock, accessLog: vault.accessLog });
    this.#active = active;
  }

  override async active(): Promise<ActivePolicy> {
    return this.#active;
  }
}

function withPolicies(vault: Vault, policies: Policies): Vault {
  // createVault returns a frozen object; a copy with another `policies` serves the same store and keys.
  return Object.freeze({ ...vault, policies });
}

// ---------------------------------------------------------------------------------------------

const f3 = (x: number) => x.toFixed(3);

export interface PolicyScenarioResult extends ScenarioResult {
  readonly latencyMs: Record<string, Latency & { readonly rounds: readonly Latency[] }>;
  readonly coldMs: Latency & { readonly second: Latency };
  readonly cache: { readonly warm: PolicyEngineStats; readonly perRequest: { readonly lookups: number; readonly hits: number } };
  readonly setup: Record<string, unknown>;
}

export async function policyScenario(options: ScenarioOptions): Promise<PolicyScenarioResult> {
  const n = Math.min(options.records, MAX_RECORDS);
  const dir = mkdtempSync(join(tmpdir(), 'kuraban-bench-policy-'));
  try {
    const location = { dataDir: dir, keyFile: join(dir, 'root.key') };
    await initVault(location);
    const opened = await openVault(location, { sealWorkers: 0 });
    if (opened.sealed) throw new Error(opened.reason);
    const { vault } = opened;
    const audit = localAudit();

    // --- the tenant, its collection, policies, a clerk key and N residents
    options.log(`  setting up: tenant, ${COLLECTION} collection (template), ${n} residents …`);
    await vault.tenants.create(TENANT, 'bench town', audit);
    await vault.collections.create(TENANT, COLLECTION, SCHEMA_TEMPLATES.juminhyo.schema, audit);
    const municipal = municipalPolicies();
    const policyText = municipal?.text ?? BENCH_POLICIES;
    const purposes = [...new Set([...(municipal?.purposes ?? BENCH_PURPOSES), PURPOSE])];
    await vault.policies.push(TENANT, policyText, purposes, audit);
    const clerk = await vault.issueApiKey({ name: 'bench clerk', role: 'tenant', tenantId: TENANT, roles: ['clerk'] }, audit);
    const ids: string[] = [];
    let batch: RecordInput[] = [];
    let dv = 0;
    const flush = async () => {
      const r = await vault.records.createMany(TENANT, COLLECTION, batch, { mode: 'atomic' });
      batch.forEach((input, i) => {
        // Authorised reads only: rows under the DV forbid would be refused to a clerk.
        if ((input.fields as Record<string, unknown>)['dv_support'] === true) dv++;
        else ids.push((r.created[i] as { id: string }).id);
      });
      batch = [];
    };
    for (const p of generateResidents({ seed: 'bench-policy', residents: n })) {
      batch.push({ subjectId: p.subjectId, fields: p.juminhyo });
      if (batch.length === 1000) await flush();
    }
    if (batch.length > 0) await flush();
    await vault.accessLog.integrate(TENANT);

    // --- one app; the state it serves is switched between variants
    let current: VaultState = opened;
    const config = loadConfig({}, { dataDir: dir, keyFile: location.keyFile, logLevel: 'warn', lockoutFailures: 1_000_000 });
    const app: FastifyInstance = await buildApp({ config, state: () => current });
    const headers = { authorization: `Bearer ${clerk.key}`, 'kuraban-purpose': PURPOSE };
    const url = (id: string) => `/v1/tenants/${TENANT}/collections/${COLLECTION}/records/${id}`;
    const get = async (id: string) => {
      const t0 = performance.now();
      const res = await app.inject({ method: 'GET', url: url(id), headers });
      const ms = performance.now() - t0;
      if (res.statusCode !== 200) throw new Error(`GET ${id}: ${res.statusCode} ${res.payload.slice(0, 300)}`);
      return { ms, body: res.payload };
    };

    // The real policies' field results for this principal, computed once, for "off, same answers".
    const firstBody = (await get(ids[0] as string)).body;
    const first = JSON.parse(firstBody) as { masked?: string[]; withheld?: string[] };
    const active = await vault.policies.active(TENANT);
    const collection = await vault.collections.get(TENANT, COLLECTION);
    const info: CollectionInfo = { name: collection.name, fields: collection.schema.fields.map((f) => ({ name: f.name, classification: f.classification, type: f.type })) };
    const asClerk: PolicyPrincipal = { kind: 'service', id: clerk.id, roles: ['clerk'], duties: [], mfa: false };
    const fixed = new Map(active.engine.fieldAccess(asClerk, info, 'read', PURPOSE));
    const counts = { clear: 0, masked: 0, withheld: 0 };
    for (const v of fixed.values()) counts[v]++;
    if (counts.masked + counts.withheld === 0 || first.masked === undefined) throw new Error('the policies mask nothing: the bench would not measure policy work');
    const offActive = (engine: PolicyEngine): ActivePolicy => ({ row: active.row, engine, purposes: active.purposes });
    const offState: VaultState = { sealed: false, store: opened.store, vault: withPolicies(vault, new BenchAllowAllPolicies(vault, offActive(new BenchAllowAllEngine(TENANT, null)))) };
    const sameState: VaultState = { sealed: false, store: opened.store, vault: withPolicies(vault, new BenchAllowAllPolicies(vault, offActive(new BenchAllowAllEngine(TENANT, fixed)))) };
    // Check the variants answer as intended: off discloses everything, "same answers" what on does.
    current = offState;
    const offBody = JSON.parse((await get(ids[0] as string)).body) as { masked?: string[]; withheld?: string[] };
    if (offBody.masked !== undefined || offBody.withheld !== undefined) throw new Error('policy off still masks or withholds');
    current = sameState;
    if ((await get(ids[0] as string)).body !== firstBody) throw new Error('"off, same answers" does not answer as policy on does');
    const variants: Array<{ name: string; state: VaultState }> = [
      { name: 'on', state: opened },
      { name: 'off', state: offState },
      { name: 'off, same answers', state: sameState },
    ];

    const order = sequence(ids.length, PER_ROUND);
    const warm = sequence(ids.length, WARMUP, 0x1234567);
    options.log(`  warm-up: ${WARMUP} reads per variant, interleaved …`);
    // Interleaved in chunks, so that the JIT has seen every variant before anything is measured.
    for (let c = 0; c < WARMUP; c += 250) {
      for (const v of variants) {
        current = v.state;
        for (const i of warm.slice(c, c + 250)) await get(ids[i] as string);
      }
    }
    const statsBefore = active.engine.stats;
    const samples = new Map<string, number[][]>(variants.map((v) => [v.name, []]));
    options.log(`  ${ROUNDS} rounds × ${PER_ROUND} reads per variant, taking turns every ${SLICE} reads …`);
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate who goes first, so no variant always follows the same one.
      // Within a round the variants take turns every SLICE reads, so a slow spell of the VM lands on all of them.
      const rotated = variants.map((_v, k) => variants[(k + r) % variants.length] as (typeof variants)[number]);
      const round = new Map<string, number[]>(variants.map((v) => [v.name, []]));
      for (let s = 0; s < PER_ROUND; s += SLICE) {
        for (const v of rotated) {
          current = v.state;
          const ms = round.get(v.name) as number[];
          for (const i of order.slice(s, s + SLICE)) ms.push((await get(ids[i] as string)).ms);
        }
      }
      for (const v of variants) samples.get(v.name)?.push(round.get(v.name) as number[]);
      const line = variants.map((v) => `${v.name} ${f3(latency(samples.get(v.name)?.[r] ?? []).p50)}`).join(', ');
      options.log(`    round ${r + 1}: p50 ms — ${line}`);
    }
    const statsAfter = active.engine.stats;
    if ((await vault.policies.active(TENANT)) !== active) throw new Error('the active policy changed during the measurement');
    const onRequests = ROUNDS * PER_ROUND;
    const lookups = statsAfter.hits + statsAfter.misses - statsBefore.hits - statsBefore.misses;
    const hits = statsAfter.hits - statsBefore.hits;

    // --- cold: the first read after a push (new version → new engine, empty cache). The policy
    // ids change with each push, so cedar-wasm parses a new set, as after a real change.
    options.log(`  cold: ${COLD_SAMPLES} × (push a policy version, then read) …`);
    current = opened;
    const cold: number[] = [];
    const second: number[] = [];
    for (let k = 0; k < COLD_SAMPLES; k++) {
      const text = `${policyText}\n@id("bench-push-${k}")\npermit (principal in Kuraban::Role::"bench-${k}", action == Kuraban::Action::"read-log", resource);\n`;
      await vault.policies.push(TENANT, text, purposes, audit);
      const id = ids[order[k] as number] as string;
      cold.push((await get(id)).ms);
      second.push((await get(ids[order[k + 1] as number] as string)).ms);
    }
    const coldEngine = (await vault.policies.active(TENANT)).engine;

    await app.close();
    await vault.close();
    await opened.store.close();

    // --- results
    const lat = Object.fromEntries(
      variants.map((v) => {
        const rounds = samples.get(v.name) ?? [];
        return [v.name, { ...latency(rounds.flat()), rounds: rounds.map(latency) }];
      }),
    ) as Record<string, Latency & { rounds: Latency[] }>;
    const on = lat['on'] as Latency & { rounds: Latency[] };
    const off = lat['off'] as Latency & { rounds: Latency[] };
    const same = lat['off, same answers'] as Latency & { rounds: Latency[] };
    const diff = on.p50 - off.p50;
    const diffSame = on.p50 - same.p50;
    const roundDiffs = on.rounds.map((x, r) => x.p50 - (off.rounds[r] as Latency).p50).sort((a, b) => a - b);
    const medianRoundDiff = percentile(roundDiffs, 50);
    const coldLat = { ...latency(cold), second: latency(second) };

    options.log('');
    options.log(`  policies: ${municipal ? municipal.file : 'bench set'} (${active.engine.policyCount} policies), purpose "${PURPOSE}"; clerk sees ${counts.clear} fields clear, ${counts.masked} masked, ${counts.withheld} withheld of ${fixed.size}`);
    options.log(`  records: ${n} (${dv} DV-flagged rows left out of the read sequence)`);
    for (const v of variants) {
      const l = lat[v.name] as Latency;
      options.log(`  ${v.name.padEnd(18)} p50 ${f3(l.p50)} ms   p90 ${f3(l.p90)} ms   p99 ${f3(l.p99)} ms   (${l.samples} reads)`);
    }
    options.log(`  p50 on − p50 off: ${f3(diff)} ms (target ≤ ${TARGET_MS} ms); ratio on/off ${(on.p50 / off.p50).toFixed(3)}`);
    options.log(`  median over rounds of (p50 on − p50 off): ${f3(medianRoundDiff)} ms; per round: ${on.rounds.map((x, r) => f3(x.p50 - (off.rounds[r] as Latency).p50)).join(', ')}`);
    options.log(`  p50 on − p50 off (same answers): ${f3(diffSame)} ms — the decisions alone, without masking / answer-size differences`);
    options.log(`  decision cache during the measured rounds: ${hits} hits, ${lookups - hits} misses (${(lookups / onRequests).toFixed(2)} lookups per read); engine totals ${JSON.stringify(statsAfter)}`);
    options.log(`  cold (first read after a push): p50 ${f3(coldLat.p50)} ms, p90 ${f3(coldLat.p90)} ms, max ${f3(Math.max(...cold))} ms; the read after it p50 ${f3(coldLat.second.p50)} ms; new engine ${JSON.stringify(coldEngine.stats)}`);

    const met = diff <= TARGET_MS;
    const figures: Figure[] = variants.map((v) => {
      const all = (samples.get(v.name) ?? []).flat();
      const seconds = all.reduce((a, b) => a + b, 0) / 1000;
      return { name: `GET one record, policy ${v.name} (sequential app.inject)`, records: all.length, seconds, perSecond: all.length / seconds };
    });
    figures.push({ name: 'GET one record, first after a policy push', records: cold.length, seconds: cold.reduce((a, b) => a + b, 0) / 1000, perSecond: cold.length / (cold.reduce((a, b) => a + b, 0) / 1000) });
    const ratios: Ratio[] = [
      { name: 'p50 ms, policy on', value: on.p50 },
      { name: 'p50 ms, policy off', value: off.p50 },
      { name: 'p50 on − p50 off (ms)', value: diff, target: `≤ ${TARGET_MS} ms` },
      { name: 'p50 on / p50 off', value: on.p50 / off.p50 },
      { name: 'median over rounds of p50 on − p50 off (ms)', value: medianRoundDiff },
      { name: 'p50 on − p50 off, same answers (ms)', value: diffSame },
      { name: 'p90 on − p90 off (ms)', value: on.p90 - off.p90 },
      { name: 'p99 on − p99 off (ms)', value: on.p99 - off.p99 },
      { name: 'decision cache hit rate (measured rounds)', value: lookups === 0 ? NaN : hits / lookups },
      { name: 'p50 ms, first read after a policy push', value: coldLat.p50 },
    ];
    return {
      scenario: 'policy',
      figures,
      ratios,
      targets: [{ name: `authorised single-record read over HTTP: p50 with policy ≤ p50 without + ${TARGET_MS} ms`, met }],
      notes: [
        `${ROUNDS} rounds of ${PER_ROUND} sequential reads per variant, the variants taking turns every ${SLICE} reads, after ${WARMUP} interleaved warm-up reads each; the same id sequence for every variant; in-process app.inject (no socket); SQLite; every read also writes its access-log entry (in every variant)`,
        'off = the same app serving a copy of the vault whose policies are bench-only subclasses (BenchAllowAllPolicies / BenchAllowAllEngine) that allow everything without a decision; nothing in src/ can switch policies off',
        '"off, same answers" returns the field results the real policies give (computed once): isolates decision cost from masking and answer size',
        `cold = the first read after kuraban policy push (new version: policy set parsed and validated, cedar-wasm set prepared, empty decision cache); ${COLD_SAMPLES} samples`,
      ],
      latencyMs: lat,
      coldMs: coldLat,
      cache: { warm: { hits, misses: lookups - hits, evaluations: statsAfter.evaluations - statsBefore.evaluations }, perRequest: { lookups: lookups / onRequests, hits: hits / onRequests } },
      setup: {
        records: n,
        readable: ids.length,
        dvRows: dv,
        policies: municipal ? municipal.file : 'bench/scenarios/policy.ts BENCH_POLICIES',
        policyCount: active.engine.policyCount,
        policySha256: createHash('sha256').update(policyText).digest('hex'),
        purposes,
        purpose: PURPOSE,
        fieldResults: counts,
        rounds: ROUNDS,
        perRound: PER_ROUND,
        warmup: WARMUP,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
