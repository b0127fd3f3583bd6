/** API keys: issuing (format, hashed storage, role/tenant rules, names) and authenticating (one error for every failure). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { authenticateApiKey, issueApiKey, type IssueOptions } from '../../src/policy/api-keys.js';
import type { ApiKeyRow } from '../../src/store/index.js';
import { rejectsWithCode } from '../helpers/errors.js';

const NOW = new Date('2025-04-01T09:00:00.000Z');
const KEY_FORMAT = /^kbn_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** The two store operations API keys use, in memory. */
class MemoryApiKeys {
  readonly rows = new Map<string, ApiKeyRow>();
  readonly inserted: ApiKeyRow[] = [];
  async insertApiKey(row: ApiKeyRow): Promise<void> {
    if (this.rows.has(row.id)) throw new Error('duplicate id');
    this.rows.set(row.id, row);
    this.inserted.push(row);
  }
  async getApiKey(id: string): Promise<ApiKeyRow | undefined> {
    return this.rows.get(id);
  }
  update(id: string, change: Partial<ApiKeyRow>): void {
    const r = this.rows.get(id);
    assert.ok(r);
    this.rows.set(id, { ...r, ...change });
  }
}

const opts = (o: Partial<IssueOptions> = {}): IssueOptions => ({ name: 'ops team', role: 'admin', tenantId: null, now: NOW, ...o });

/** The one answer to every failed authentication, as an outsider sees it. */
async function failure(store: MemoryApiKeys, presented: string, now = NOW): Promise<string> {
  const e = await rejectsWithCode(() => authenticateApiKey(store, presented, now), 'UNAUTHENTICATED');
  return JSON.stringify({ name: e.name, code: e.code, message: e.message, details: e.details });
}

describe('issueApiKey', () => {
  test('returns kbn_<16 hex>_<43 base64url> and stores only a SHA-256 of the secret', async () => {
    const store = new MemoryApiKeys();
    const issued = await issueApiKey(store, opts({ expiresAt: '2026-01-01T00:00:00.000Z' }));
    const m = KEY_FORMAT.exec(issued.key);
    assert.ok(m, issued.key);
    const [, id, secret] = m as unknown as [string, string, string];
    assert.equal(Buffer.from(secret, 'base64url').length, 32, '256-bit secret');
    assert.equal(issued.id, id);
    assert.deepEqual(
      { name: issued.name, role: issued.role, tenantId: issued.tenantId, createdAt: issued.createdAt, expiresAt: issued.expiresAt },
      { name: 'ops team', role: 'admin', tenantId: null, createdAt: NOW.toISOString(), expiresAt: '2026-01-01T00:00:00.000Z' },
    );
    assert.equal(store.inserted.length, 1);
    const row = store.inserted[0] as ApiKeyRow;
    assert.deepEqual(
      { ...row, secretHash: row.secretHash.toString('hex') },
      {
        id,
        tenantId: null,
        name: 'ops team',
        role: 'admin',
        roles: [],
        duties: [],
        secretHash: createHash('sha256').update(secret, 'utf8').digest('hex'),
        createdAt: NOW.toISOString(),
        expiresAt: '2026-01-01T00:00:00.000Z',
        revokedAt: null,
      },
    );
    // Nothing in the stored row is the key or its secret, in any usual encoding.
    const stored = JSON.stringify({ ...row, hex: row.secretHash.toString('hex'), b64: row.secretHash.toString('base64'), raw: row.secretHash.toString('latin1') });
    for (const s of [issued.key, secret, Buffer.from(secret, 'base64url').toString('hex'), Buffer.from(secret, 'base64url').toString('base64')]) {
      assert.ok(!stored.includes(s));
    }
  });

  test('each key is new: different ids and secrets', async () => {
    const store = new MemoryApiKeys();
    const keys = await Promise.all(Array.from({ length: 20 }, () => issueApiKey(store, opts())));
    assert.equal(new Set(keys.map((k) => k.id)).size, 20);
    assert.equal(new Set(keys.map((k) => k.key.slice(21))).size, 20);
  });

  test('admin keys cannot be bound to a tenant; tenant keys need one (REQUEST_INVALID, nothing stored)', async () => {
    const store = new MemoryApiKeys();
    await rejectsWithCode(() => issueApiKey(store, opts({ role: 'admin', tenantId: '131016' })), 'REQUEST_INVALID');
    await rejectsWithCode(() => issueApiKey(store, opts({ role: 'tenant', tenantId: null })), 'REQUEST_INVALID');
    assert.equal(store.inserted.length, 0);
    const t = await issueApiKey(store, opts({ role: 'tenant', tenantId: '131016', roles: ['clerk', 'auditor'], duties: ['juki'] }));
    assert.equal(t.tenantId, '131016');
    assert.equal(store.rows.get(t.id)?.tenantId, '131016');
    assert.deepEqual(store.rows.get(t.id)?.roles, ['auditor', 'clerk'], 'stored sorted');
    assert.deepEqual(t.duties, ['juki']);
  });

  test('tenant keys hold 1 to 20 valid policy roles; admin keys none (they are the operator)', async () => {
    const store = new MemoryApiKeys();
    for (const roles of [undefined, [], ['Clerk'], ['clerk', 'clerk'], ['a b'], Array.from({ length: 21 }, (_, i) => `r${i}`)]) {
      const e = await rejectsWithCode(() => issueApiKey(store, opts({ role: 'tenant', tenantId: '131016', ...(roles ? { roles } : {}) })), 'REQUEST_INVALID');
      assert.deepEqual(e.details, [{ field: 'roles', reason: 'invalid_roles' }], JSON.stringify(roles));
    }
    await rejectsWithCode(() => issueApiKey(store, opts({ role: 'tenant', tenantId: '131016', roles: ['clerk'], duties: ['X'] })), 'REQUEST_INVALID');
    await rejectsWithCode(() => issueApiKey(store, opts({ roles: ['clerk'] })), 'REQUEST_INVALID');
    assert.equal(store.inserted.length, 0);
    const admin = await issueApiKey(store, opts());
    assert.deepEqual((await authenticateApiKey(store, admin.key, NOW)).roles, ['operator']);
  });

  test('names with NUL, other control characters or unpaired surrogates, blank or over 100 characters are refused', async () => {
    const store = new MemoryApiKeys();
    for (const name of ['ops\u0000team', 'a\u0007b', 'x\uD800', '\uDC00y', 'lone \uD83D end', '', '   ', 'n'.repeat(101)]) {
      const e = await rejectsWithCode(() => issueApiKey(store, opts({ name })), 'REQUEST_INVALID');
      assert.deepEqual(e.details, [{ field: 'name', reason: 'invalid_name' }]);
      assert.ok(!e.message.includes(name) || name === '', 'the refused name is not echoed');
    }
    assert.equal(store.inserted.length, 0);
    // Japanese text, a paired surrogate (emoji) and exactly 100 characters are fine.
    for (const name of ['住民課 窓口 🔑', 'n'.repeat(100), 'tab\tand\nnewline']) await issueApiKey(store, opts({ name }));
    assert.equal(store.inserted.length, 3);
  });
});

describe('authenticateApiKey', () => {
  test('accepts the issued key and answers with its principal', async () => {
    const store = new MemoryApiKeys();
    const admin = await issueApiKey(store, opts());
    const tenant = await issueApiKey(store, opts({ name: 'city', role: 'tenant', tenantId: '131016', roles: ['clerk'], duties: ['juki'] }));
    assert.deepEqual(await authenticateApiKey(store, admin.key, NOW), { kind: 'api-key', id: admin.id, name: 'ops team', role: 'admin', tenantId: null, roles: ['operator'], duties: [], mfa: false });
    assert.deepEqual(await authenticateApiKey(store, tenant.key, NOW), { kind: 'api-key', id: tenant.id, name: 'city', role: 'tenant', tenantId: '131016', roles: ['clerk'], duties: ['juki'], mfa: false });
  });

  test('a wrong secret, an unknown id and malformed keys all fail with the same UNAUTHENTICATED error', async () => {
    const store = new MemoryApiKeys();
    const { key, id } = await issueApiKey(store, opts());
    const secret = key.slice(21);
    const flipped = secret.slice(0, 10) + (secret[10] === 'A' ? 'B' : 'A') + secret.slice(11);
    const otherId = id.slice(0, 15) + (id[15] === '0' ? '1' : '0');
    const shapes = new Set<string>();
    for (const presented of [
      `kbn_${id}_${flipped}`, // wrong secret
      `kbn_${otherId}_${secret}`, // unknown id
      `kbn_${id}_${secret.slice(1)}`, // secret too short
      `kbn_${id}_${secret}A`, // too long
      `kbn_${id.toUpperCase()}_${secret}`, // id not lower-case hex
      `${key}\n`,
      ` ${key}`,
      `KBN_${id}_${secret}`,
      secret,
      '',
      'kbn__',
    ]) {
      shapes.add(await failure(store, presented));
    }
    assert.equal(shapes.size, 1, [...shapes].join('\n'));
    // The key itself still works.
    assert.equal((await authenticateApiKey(store, key, NOW)).id, id);
  });

  test('a revoked key fails the same way', async () => {
    const store = new MemoryApiKeys();
    const { key, id } = await issueApiKey(store, opts());
    const unknown = await failure(store, `kbn_${'f'.repeat(16)}_${key.slice(21)}`);
    store.update(id, { revokedAt: '2025-03-31T00:00:00.000Z' });
    assert.equal(await failure(store, key), unknown);
  });

  test('an expired key fails the same way, from the moment it expires', async () => {
    const store = new MemoryApiKeys();
    const { key } = await issueApiKey(store, opts({ expiresAt: '2025-04-01T10:00:00.000Z' }));
    const unknown = await failure(store, `kbn_${'f'.repeat(16)}_${key.slice(21)}`);
    assert.ok(await authenticateApiKey(store, key, new Date('2025-04-01T09:59:59.999Z')));
    assert.equal(await failure(store, key, new Date('2025-04-01T10:00:00.000Z')), unknown);
    assert.equal(await failure(store, key, new Date('2026-04-01T00:00:00.000Z')), unknown);
  });
});
