import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import { buildApp } from '../../src/http/index.js';
import { myNumberCheckDigit, parseCollectionSchema, type FieldDef } from '../../src/schema/index.js';
import { deterministicTokens, fieldTokenKeys, fpeToken } from '../../src/tokens/index.js';
import { initVault, localAudit, openVault, type Vault } from '../../src/vault/index.js';
import { latency, type Latency } from '../stats.js';
import type { Figure, Ratio, ScenarioOptions, ScenarioResult } from '../types.js';

/**
 * Issue 6's speed targets (SQLite, one process):
 *
 * - in process: ≥ 100,000 tokenisations/s for deterministic tokens and ≥ 30,000/s for FF1 12-digit
 *   (My Number) tokens — measured through `vault.tokens.tokenize` in calls of 10,000 values, with
 *   everything a call does: validation, the token, its registry row (look-up hash) and the call's
 *   access-log entry, in one transaction;
 * - over HTTP: a batch of 1,000 detokenisations at p50 ≤ 20 ms — real sockets (the server listens on
 *   loopback, fetch sends one request at a time), policy, registry look-up, decryption and the log
 *   entry included.
 *
 * Baselines in the same run: the token codec alone (no registry, no log), a bare HMAC-SHA-256 per
 * value (what a naive pseudonymiser costs), and a bare Fastify server answering a detokenise request
 * of the same size with the same bytes from memory.
 */
const TENANT = '999996';
const COLLECTION = 'legacy';
const CALL = 10_000;
const HTTP_BATCH = 1000;
const HTTP_REQUESTS = 200;
const HTTP_WARMUP = 20;
const TARGET_DET = 100_000;
const TARGET_FF1 = 30_000;
const TARGET_HTTP_P50_MS = 20;
const SCHEMA = {
  fields: [
    { name: 'my_number', type: 'my-number', token: 'format-preserving' },
    { name: 'family_name', type: 'string', token: 'deterministic' },
    { name: 'note', type: 'string', token: 'random' },
  ],
} as const;

const myNumber = (i: number): string => {
  const body = `8${String(i).padStart(10, '0')}`;
  return `${body}${myNumberCheckDigit(body)}`;
};
const familyName = (i: number): string => `山田${i}`;

/** The result, wall seconds, and CPU µs of the whole process (all threads) over the call. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number, number]> {
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  const r = await fn();
  const used = process.cpuUsage(cpu);
  return [r, Number(process.hrtime.bigint() - t) / 1e9, used.user + used.system];
}

async function tokenizeAll(vault: Vault, field: string, values: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < values.length; i += CALL) out.push(...(await vault.tokens.tokenize(TENANT, COLLECTION, field, values.slice(i, i + CALL), { audit: localAudit() })));
  return out;
}

async function detokenizeAll(vault: Vault, field: string, tokens: readonly string[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < tokens.length; i += CALL) n += (await vault.tokens.detokenize(TENANT, COLLECTION, field, tokens.slice(i, i + CALL))).values.length;
  return n;
}

async function postLatency(url: string, headers: Record<string, string>, bodies: readonly string[]): Promise<Latency & { cpuMsPerRequest: number }> {
  const ms: number[] = [];
  let cpuMicros = 0;
  for (let i = 0; i < bodies.length; i++) {
    const cpu = process.cpuUsage();
    const t = process.hrtime.bigint();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: bodies[i] as string });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`bench request failed: ${res.status} ${text.slice(0, 200)}`);
    if (i >= HTTP_WARMUP) {
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
      const used = process.cpuUsage(cpu);
      cpuMicros += used.user + used.system;
    }
  }
  return { ...latency(ms), cpuMsPerRequest: cpuMicros / 1000 / Math.max(1, ms.length) };
}

export async function tokensScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const nDet = Math.min(o.records, 200_000);
  const nFf1 = Math.min(o.records, 100_000);
  const nRandom = Math.min(o.records, 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'kuraban-bench-tokens-'));
  const figures: Figure[] = [];
  const ratios: Ratio[] = [];
  const notes: string[] = [];
  const targets: Array<{ name: string; met: boolean }> = [];
  const location = { dataDir: dir, keyFile: join(dir, 'root.key') };
  const { adminKey } = await initVault(location);
  const state = await openVault(location, { sealWorkers: 0 });
  if (state.sealed) throw new Error('bench vault sealed');
  const { vault } = state;
  const app = await buildApp({ config: loadConfig({}, { dataDir: dir, keyFile: location.keyFile, logLevel: 'warn' }), state: () => state });
  const bare = Fastify({ logger: false, bodyLimit: 32 * 1024 * 1024 });
  try {
    await vault.tenants.create(TENANT, 'bench', localAudit());
    await vault.collections.create(TENANT, COLLECTION, SCHEMA, localAudit());
    const fig = (name: string, n: number, s: number, cpuMicros: number) => {
      const f = { name, records: n, seconds: s, perSecond: n / s };
      figures.push(f);
      const cpu = `CPU ${(cpuMicros / n).toFixed(2)} µs per value (process, all threads)`;
      notes.push(`${name}: ${cpu}`);
      o.log(`  ${name}: ${Math.round(f.perSecond).toLocaleString('en')}/s; ${cpu}`);
      return f;
    };
    notes.push(`load average at the start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

    // Baselines: the codec alone and a bare HMAC per value, on the same values.
    const fields = parseCollectionSchema(SCHEMA).fields;
    const scope = (f: FieldDef) => ({ tenantId: TENANT, collectionId: '0190abcd-ef00-7000-8000-000000000001', field: f });
    const detScope = scope(fields[1] as FieldDef);
    const ff1Scope = scope(fields[0] as FieldDef);
    const detKeys = fieldTokenKeys(detScope, { version: 1, key: randomBytes(32) });
    const ff1Keys = fieldTokenKeys(ff1Scope, { version: 1, key: randomBytes(32) });
    const detValues = Array.from({ length: nDet }, (_v, i) => familyName(i));
    const ff1Values = Array.from({ length: nFf1 }, (_v, i) => myNumber(i));
    const hmacKey = randomBytes(32);
    const [, sHmac, cHmac] = await timed(async () => {
      for (const v of detValues) createHmac('sha256', hmacKey).update(v).digest();
    });
    const bareHmac = fig('baseline: bare HMAC-SHA-256 per value (no token, no storage)', nDet, sHmac, cHmac);
    const [, sDetCodec, cDetCodec] = await timed(async () => {
      for (let i = 0; i < detValues.length; i += CALL) deterministicTokens(detScope, detKeys, detValues.slice(i, i + CALL));
    });
    const detCodec = fig('baseline: deterministic token codec alone (tks: HMAC-SHA-256 SIV, AES-256-CTR; calls of 10,000; no registry)', nDet, sDetCodec, cDetCodec);
    const [, sFf1Codec, cFf1Codec] = await timed(async () => {
      for (const v of ff1Values) fpeToken(ff1Scope, ff1Keys, v);
    });
    const ff1Codec = fig('baseline: FF1 My Number codec alone (no registry)', nFf1, sFf1Codec, cFf1Codec);

    // Through the vault: tokenise (registry rows + log entry per call), then detokenise.
    const [detTokens, sDet, cDet] = await timed(() => tokenizeAll(vault, 'family_name', detValues));
    const det = fig('vault.tokens.tokenize, deterministic', nDet, sDet, cDet);
    const [ff1Tokens, sFf1, cFf1] = await timed(() => tokenizeAll(vault, 'my_number', ff1Values));
    const ff1 = fig('vault.tokens.tokenize, FF1 12-digit My Number', nFf1, sFf1, cFf1);
    const randomValues = Array.from({ length: nRandom }, (_v, i) => `メモ${i}`);
    const [randomTokens, sRandom, cRandom] = await timed(() => tokenizeAll(vault, 'note', randomValues));
    fig('vault.tokens.tokenize, random (value sealed in the registry)', nRandom, sRandom, cRandom);
    const [, sDetD, cDetD] = await timed(() => detokenizeAll(vault, 'family_name', detTokens));
    fig('vault.tokens.detokenize, deterministic', nDet, sDetD, cDetD);
    const [, sFf1D, cFf1D] = await timed(() => detokenizeAll(vault, 'my_number', ff1Tokens));
    fig('vault.tokens.detokenize, FF1', nFf1, sFf1D, cFf1D);
    const [, sRandomD, cRandomD] = await timed(() => detokenizeAll(vault, 'note', randomTokens));
    fig('vault.tokens.detokenize, random', nRandom, sRandomD, cRandomD);

    ratios.push({ name: 'deterministic tokenize (vault) / codec alone', value: det.perSecond / detCodec.perSecond });
    ratios.push({ name: 'deterministic tokenize (vault) / bare HMAC', value: det.perSecond / bareHmac.perSecond });
    ratios.push({ name: 'FF1 tokenize (vault) / codec alone', value: ff1.perSecond / ff1Codec.perSecond });
    ratios.push({ name: 'deterministic tokenize (vault) / target 100,000/s', value: det.perSecond / TARGET_DET, target: '≥ 1' });
    ratios.push({ name: 'FF1 tokenize (vault) / target 30,000/s', value: ff1.perSecond / TARGET_FF1, target: '≥ 1' });
    targets.push({ name: `≥ ${TARGET_DET.toLocaleString('en')} deterministic tokenisations/s in process (${Math.round(det.perSecond).toLocaleString('en')})`, met: det.perSecond >= TARGET_DET });
    targets.push({ name: `≥ ${TARGET_FF1.toLocaleString('en')} FF1 12-digit tokenisations/s in process (${Math.round(ff1.perSecond).toLocaleString('en')})`, met: ff1.perSecond >= TARGET_FF1 });

    // Over HTTP: batches of 1,000 detokenisations, one request at a time.
    await app.listen({ host: '127.0.0.1', port: 0 });
    const kAddr = app.server.address();
    if (kAddr === null || typeof kAddr === 'string') throw new Error('no address');
    const cannedByField = new Map<string, string>();
    bare.post('/detokenize/:field', async (request, reply) => {
      const field = (request.params as { field: string }).field;
      return reply.header('content-type', 'application/json; charset=utf-8').send(cannedByField.get(field));
    });
    await bare.listen({ host: '127.0.0.1', port: 0 });
    const bAddr = bare.server.address();
    if (bAddr === null || typeof bAddr === 'string') throw new Error('no address');
    const headers = { authorization: `Bearer ${adminKey}`, 'kuraban-purpose': 'administration' };
    for (const [field, tokens, values] of [['my_number', ff1Tokens, ff1Values], ['family_name', detTokens, detValues], ['note', randomTokens, randomValues]] as const) {
      const bodies = Array.from({ length: HTTP_REQUESTS + HTTP_WARMUP }, (_v, i) => {
        const from = (i * HTTP_BATCH) % Math.max(1, tokens.length - HTTP_BATCH);
        return JSON.stringify({ field, tokens: tokens.slice(from, from + HTTP_BATCH) });
      });
      cannedByField.set(field, JSON.stringify({ field, values: values.slice(0, HTTP_BATCH) }));
      const k = await postLatency(`http://127.0.0.1:${kAddr.port}/v1/tenants/${TENANT}/collections/${COLLECTION}/tokens/detokenize`, headers, bodies);
      const b = await postLatency(`http://127.0.0.1:${bAddr.port}/detokenize/${field}`, {}, bodies);
      o.log(`  HTTP detokenize ×${HTTP_BATCH} (${field}): p50 ${k.p50.toFixed(2)} ms, p90 ${k.p90.toFixed(2)}, p99 ${k.p99.toFixed(2)}; CPU ${k.cpuMsPerRequest.toFixed(2)} ms per request; bare Fastify p50 ${b.p50.toFixed(2)} ms`);
      notes.push(`HTTP detokenize ×${HTTP_BATCH} (${field}): CPU ${k.cpuMsPerRequest.toFixed(2)} ms per request (server and client, one process)`);
      figures.push({ name: `HTTP detokenize batch of ${HTTP_BATCH} (${field}), p50 ${k.p50.toFixed(2)} ms / p99 ${k.p99.toFixed(2)} ms`, records: k.samples * HTTP_BATCH, seconds: (k.mean * k.samples) / 1000, perSecond: (HTTP_BATCH * 1000) / k.mean });
      figures.push({ name: `baseline: bare Fastify, same request and answer bytes (${field}), p50 ${b.p50.toFixed(2)} ms`, records: b.samples * HTTP_BATCH, seconds: (b.mean * b.samples) / 1000, perSecond: (HTTP_BATCH * 1000) / b.mean });
      ratios.push({ name: `HTTP detokenize p50 (${field}) / 20 ms target`, value: k.p50 / TARGET_HTTP_P50_MS, target: '≤ 1' });
      ratios.push({ name: `HTTP detokenize p50 (${field}) / bare Fastify p50`, value: k.p50 / b.p50 });
      targets.push({ name: `HTTP batch of ${HTTP_BATCH} detokenisations (${field}) at p50 ≤ ${TARGET_HTTP_P50_MS} ms (${k.p50.toFixed(2)} ms)`, met: k.p50 <= TARGET_HTTP_P50_MS });
    }
    notes.push(`in-process calls of ${CALL.toLocaleString('en')} values; every call writes its registry rows and one access-log entry in one transaction (SQLite)`);
    notes.push('HTTP: server and client (fetch) in one process on loopback, one request in flight, admin key, purpose administration');
  } finally {
    await app.close();
    await bare.close();
    await vault.close();
    await state.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { scenario: 'tokens', figures, ratios, targets, notes };
}
