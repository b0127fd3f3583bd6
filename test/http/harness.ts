/**
 * In-process HTTP harness: one app over one temporary SQLite vault, plus the assertions every route
 * test shares (problem+json shape, no personal value echoed, server still answering).
 */
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig, type ConfigOverrides } from '../../src/config/index.js';
import { ERROR_CODES, type ErrorCode } from '../../src/errors/index.js';
import { buildApp } from '../../src/http/index.js';
import { openVault, type VaultState } from '../../src/vault/index.js';
import { createTempVault, RESIDENT_SCHEMA, type TempVault } from '../helpers/temp-vault.js';

/** A personal-looking value that must never come back in a response, a header or a log line. */
export const SECRET = 'ヤマダ秘密123';
/** SQL and shell metacharacters that must be stored and returned byte for byte. */
export const METACHARACTERS: readonly string[] = [
  "'; DROP TABLE records; --",
  '$(touch /tmp/x)',
  '`rm -rf /`',
  '%00',
  '" OR 1=1 --',
  '\\x00\\\\; <script>&amp;</script> | && >; ${PATH}',
];

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A syntactically valid UUIDv7 that no record has. */
export const ABSENT_ID = '0190abcd-ef00-7000-8000-00000000000f';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Call {
  readonly method: Method;
  readonly url: string;
  /** A JS value is sent as JSON; a string or Buffer is sent as is. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Bearer key; `null` sends no Authorization header. Default: the admin key. */
  readonly key?: string | null;
  /**
   * Kuraban-Purpose; `null` sends none. Default: `administration`, the purpose every tenant starts
   * with, so tests about other things read personal fields as an administrator would.
   */
  readonly purpose?: string | null;
}

export const DEFAULT_PURPOSE = 'administration';

export interface Harness {
  readonly app: FastifyInstance;
  readonly tv: TempVault;
  /** The state the app serves, read on every request: swap `current` (e.g. to sealed), or set `failWith` to make reading it throw. */
  readonly state: { current: VaultState; failWith?: Error | undefined };
  readonly adminKey: string;
  /** A tenant, collection and record made at start, read by `assertStillServing`. */
  readonly base: { tenant: string; collection: string; recordId: string; family: string };
  call(c: Call): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly config?: ConfigOverrides;
  readonly logStream?: { write(line: string): void };
  /** The vault's clock (API key expiry, timestamps). */
  readonly clock?: () => Date;
}

export async function openHarness(options: HarnessOptions = {}): Promise<Harness> {
  const tv = await createTempVault();
  const opened = await openVault(tv.location, options.clock ? { clock: options.clock } : {});
  assert.equal(opened.sealed, false, 'the test vault opens');
  const state: Harness['state'] = { current: opened };
  // Failed-authentication lockout off by default (tests send many bad keys from one address); its own tests lower it.
  const config = loadConfig({}, { dataDir: tv.dir, keyFile: tv.location.keyFile, logLevel: 'info', lockoutFailures: 1000, ...options.config });
  const app = await buildApp({
    config,
    state: () => {
      if (state.failWith) throw state.failWith;
      return state.current;
    },
    ...(options.logStream ? { logger: true, logStream: options.logStream } : {}),
  });
  const call = (c: Call) => inject(app, c, c.key === undefined ? tv.adminKey : c.key);
  const base = { tenant: 'base-tenant', collection: 'residents', recordId: '', family: '山田' };
  await expectStatus(call({ method: 'POST', url: '/v1/tenants', body: { id: base.tenant, name: 'Base' } }), 201);
  await expectStatus(call({ method: 'POST', url: `/v1/tenants/${base.tenant}/collections`, body: { name: base.collection, ...RESIDENT_SCHEMA } }), 201);
  const rec = await expectStatus(
    call({ method: 'POST', url: `/v1/tenants/${base.tenant}/collections/${base.collection}/records`, body: { fields: { family_name: base.family, given_name: '太郎' } } }),
    201,
  );
  base.recordId = (rec.json() as { id: string }).id;
  return {
    app,
    tv,
    state,
    adminKey: tv.adminKey,
    base,
    call,
    async close() {
      await app.close();
      if (!opened.sealed) await opened.vault.close();
      await opened.store.close();
      await tv.cleanup();
    },
  };
}

export function inject(app: FastifyInstance, c: Call, key: string | null): Promise<LightMyRequestResponse> {
  const purpose = c.purpose === undefined ? DEFAULT_PURPOSE : c.purpose;
  const headers: Record<string, string> = {
    ...(key === null ? {} : { authorization: `Bearer ${key}` }),
    ...(purpose === null ? {} : { 'kuraban-purpose': purpose }),
    ...c.headers,
  };
  let payload: string | Buffer | undefined;
  if (typeof c.body === 'string' || Buffer.isBuffer(c.body)) payload = c.body;
  else if (c.body !== undefined) payload = JSON.stringify(c.body);
  if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  return app.inject({ method: c.method, url: c.url, headers, ...(payload === undefined ? {} : { payload }) });
}

async function expectStatus(p: Promise<LightMyRequestResponse>, status: number): Promise<LightMyRequestResponse> {
  const res = await p;
  assert.equal(res.statusCode, status, `expected ${status}, got ${res.statusCode}: ${res.payload}`);
  return res;
}

export { expectStatus };

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance: string;
  errors?: Array<{ field?: string; index?: number; reason: string }>;
}

/** Asserts an RFC 9457 problem with Kuraban's code, and returns its body. */
export function assertProblem(res: LightMyRequestResponse, code: ErrorCode, message = ''): ProblemBody {
  const spec = ERROR_CODES[code];
  const where = `${message} (got ${res.statusCode} ${res.payload.slice(0, 300)})`;
  assert.equal(res.statusCode, spec.status, `status for ${code} ${where}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json(;|$)/, `content-type for ${code} ${where}`);
  const body = res.json() as ProblemBody;
  assert.equal(body.code, code, `code ${where}`);
  assert.equal(body.status, spec.status, `body status ${where}`);
  assert.equal(body.title, spec.title, `title ${where}`);
  assert.equal(body.type, `/docs#error-${code}`, `type ${where}`);
  assert.equal(typeof body.detail, 'string');
  const requestId = res.headers['kuraban-request-id'];
  assert.match(String(requestId), UUID, 'every answer carries its request id');
  assert.equal(body.instance, `urn:kuraban:request:${String(requestId)}`, 'instance names this request');
  if (body.errors !== undefined) {
    assert.ok(Array.isArray(body.errors) && body.errors.length > 0, 'errors[] is omitted rather than empty');
    for (const e of body.errors) assert.equal(typeof e.reason, 'string', 'each detail has a reason');
  }
  return body;
}

/** Asserts the problem's errors[] holds an entry with these properties. */
export function assertDetail(body: ProblemBody, expected: { field?: string; reason?: string | RegExp; index?: number }): void {
  const errors = body.errors ?? [];
  const hit = errors.some(
    (e) =>
      (expected.field === undefined || e.field === expected.field) &&
      (expected.index === undefined || e.index === expected.index) &&
      (expected.reason === undefined || (typeof expected.reason === 'string' ? e.reason === expected.reason : expected.reason.test(e.reason))),
  );
  assert.ok(hit, `expected a detail ${JSON.stringify(expected, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v))} in ${JSON.stringify(errors)}`);
}

/** The value (and its usual encodings) appears nowhere in the response body or headers. */
export function assertNoLeak(res: LightMyRequestResponse, value: string = SECRET): void {
  const forms = new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), Buffer.from(value).toString('base64'), Buffer.from(value, 'utf8').toString('latin1')]);
  const headers = JSON.stringify(res.headers);
  for (const f of forms) {
    assert.ok(!res.payload.includes(f), `response body echoes a personal value: ${res.payload.slice(0, 300)}`);
    assert.ok(!headers.includes(f), `response headers echo a personal value: ${headers}`);
  }
}

/** After a bad request the server still answers: liveness and a real decrypting read. */
export async function assertStillServing(h: Harness): Promise<void> {
  const health = await h.call({ method: 'GET', url: '/healthz', key: null });
  assert.equal(health.statusCode, 200);
  assert.equal((health.json() as { status: string }).status, 'ok');
  const read = await h.call({ method: 'GET', url: `/v1/tenants/${h.base.tenant}/collections/${h.base.collection}/records/${h.base.recordId}` });
  assert.equal(read.statusCode, 200, `a normal read still works: ${read.payload}`);
  assert.equal((read.json() as { fields: { family_name: string } }).fields.family_name, h.base.family);
}

/** One bad request: the expected problem, nothing personal echoed, and the server unharmed. */
export async function assertRefused(h: Harness, c: Call, code: ErrorCode, leak: string = SECRET): Promise<ProblemBody> {
  const res = await h.call(c);
  const body = assertProblem(res, code, `${c.method} ${c.url}`);
  assertNoLeak(res, leak);
  await assertStillServing(h);
  return body;
}

export const recordsUrl = (tenant: string, collection: string) => `/v1/tenants/${tenant}/collections/${collection}/records`;

export interface IssuedKey {
  id: string;
  key: string;
  name: string;
  role: 'admin' | 'tenant';
  tenantId: string | null;
  roles?: string[];
  duties?: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** Issues an API key through the API (as the admin). Tenant keys default to the tenant's `administrator` role. */
export async function issueKey(h: Harness, body: { name: string; role: 'admin' | 'tenant'; tenantId?: string; roles?: string[]; duties?: string[]; expiresAt?: string }): Promise<IssuedKey> {
  const withRoles = body.role === 'tenant' && body.roles === undefined ? { ...body, roles: ['administrator'] } : body;
  const res = await expectStatus(h.call({ method: 'POST', url: '/v1/api-keys', body: withRoles }), 201);
  return res.json() as IssuedKey;
}

/** Creates a tenant through the API (as the admin). */
export async function createTenant(h: Harness, id: string, name = `Tenant ${id}`): Promise<void> {
  await expectStatus(h.call({ method: 'POST', url: '/v1/tenants', body: { id, name } }), 201);
}

/** Creates a collection through the API (as the admin). */
export async function createCollection(h: Harness, tenant: string, name: string, schema: { fields: readonly unknown[] } = RESIDENT_SCHEMA): Promise<void> {
  await expectStatus(h.call({ method: 'POST', url: `/v1/tenants/${tenant}/collections`, body: { name, ...schema } }), 201);
}
