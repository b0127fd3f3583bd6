import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { seal } from '../../src/crypto/index.js';
import { createKeyFile, Keyring, openKeyFileProvider, wrappedKeyAad, type KeyStoreOps, type RootKeyProvider } from '../../src/keys/index.js';
import { rejectsWithCode, rejectsWithDecryptionFailure } from '../helpers/errors.js';

type Row = Parameters<KeyStoreOps['insertWrappedKeys']>[0][number];

/** The in-memory stand-in for the keyring's view of storage, with the store's semantics. */
/** Creates subject keys the way batch sealing does: random, wrapped by the tenant key with the subject's AAD. */
async function storeSubjectKeys(ops: KeyStoreOps, ring: Keyring, subjects: readonly string[]): Promise<Map<string, Buffer>> {
  const tenantKey = await ring.tenantWrappingKey(ops, 't1');
  const made = new Map<string, Buffer>();
  const rows = subjects.map((s) => {
    const key = randomBytes(32);
    made.set(s, Buffer.from(key));
    return { tenantId: 't1', kind: 'subject' as const, scopeId: s, version: 1, wrapped: seal(tenantKey.key, key, wrappedKeyAad('t1', 'subject', s, 1)), createdAt: '2025-01-01T00:00:00.000Z', wrappedBy: tenantKey.version };
  });
  if (rows.length > 0) await ops.insertWrappedKeys(rows, false);
  return made;
}

class MemoryKeyStore implements KeyStoreOps {
  readonly rows = new Map<string, Row>();
  private id(r: Pick<Row, 'tenantId' | 'kind' | 'scopeId' | 'version'>) {
    return `${r.tenantId}|${r.kind}|${r.scopeId}|${r.version}`;
  }
  async getWrappedKey(tenantId: string, kind: Row['kind'], scopeId: string, version?: number) {
    const matching = [...this.rows.values()].filter((r) => r.tenantId === tenantId && r.kind === kind && r.scopeId === scopeId);
    if (version !== undefined) return matching.find((r) => r.version === version);
    return matching.sort((a, b) => b.version - a.version)[0];
  }
  async getLatestWrappedKeys(tenantId: string, kind: Row['kind'], scopeIds: readonly string[]) {
    const out: Row[] = [];
    for (const s of new Set(scopeIds)) {
      const r = await this.getWrappedKey(tenantId, kind, s);
      if (r) out.push(r);
    }
    return out;
  }
  async insertWrappedKeys(rows: readonly Row[], ignoreExisting: boolean) {
    if (!ignoreExisting && rows.some((r) => this.rows.has(this.id(r)))) throw new Error('duplicate key row');
    let n = 0;
    for (const r of rows) {
      if (this.rows.has(this.id(r))) continue;
      this.rows.set(this.id(r), { ...r, wrapped: Buffer.from(r.wrapped) });
      n++;
    }
    return n;
  }
  async listWrappedKeys(filter: { tenantId: string | null; kind?: Row['kind']; scopeId?: string }) {
    return [...this.rows.values()].filter(
      (r) => (filter.tenantId === null || r.tenantId === filter.tenantId) && (filter.kind === undefined || r.kind === filter.kind) && (filter.scopeId === undefined || r.scopeId === filter.scopeId),
    );
  }
  async listWrappedKeysWrappedBelow(tenantId: string, below: number, limit: number) {
    return [...this.rows.values()].filter((r) => r.tenantId === tenantId && r.kind !== 'tenant' && r.wrappedBy < below).slice(0, limit);
  }
  async rewrapKeys(rows: ReadonlyArray<{ row: Row; fromWrappedBy: number }>) {
    let n = 0;
    for (const { row, fromWrappedBy } of rows) {
      const have = this.rows.get(this.id(row));
      if (have && have.wrappedBy === fromWrappedBy) {
        this.rows.set(this.id(row), { ...row });
        n++;
      }
    }
    return n;
  }
}

let provider: RootKeyProvider;
let keyFile: string;
const dir = mkdtempSync(join(tmpdir(), 'kuraban-keyring-'));
after(() => rmSync(dir, { recursive: true, force: true }));

before(async () => {
  keyFile = join(dir, 'root.key');
  await createKeyFile(keyFile);
  provider = await openKeyFileProvider(keyFile);
});

async function tenantWithCollection(ops: MemoryKeyStore, ring: Keyring, tenantId = 't1', collectionId = 'c1') {
  await ring.createTenantKey(ops, tenantId);
  await ring.createCollectionKeys(ops, tenantId, collectionId);
}

describe('Keyring', () => {
  test('root check: verifies with the provider that made it, not with another key', async () => {
    const ring = new Keyring({ provider });
    const check = await ring.createRootCheck();
    assert.equal(await ring.verifyRootCheck(check), true);
    const otherFile = join(dir, 'other.key');
    await createKeyFile(otherFile);
    assert.equal(await new Keyring({ provider: await openKeyFileProvider(otherFile) }).verifyRootCheck(check), false);
    assert.equal(await ring.verifyRootCheck('not base64 at all'), false);
    assert.equal(ring.rootKeyId, provider.keyId);
  });

  test('tenant → collection and index keys: stored only wrapped, the same key for every keyring on the same root key', async () => {
    const ops = new MemoryKeyStore();
    const ring = new Keyring({ provider });
    await tenantWithCollection(ops, ring);
    assert.deepEqual([...ops.rows.keys()].sort(), ['t1|collection|c1|1', 't1|index|c1|1', 't1|tenant|t1|1']);
    const k = await ring.collectionKey(ops, 't1', 'c1');
    assert.equal(k.version, 1);
    assert.equal(k.key.length, 32);
    for (const r of ops.rows.values()) assert.equal(r.wrapped.indexOf(k.key), -1);
    const fresh = new Keyring({ provider: await openKeyFileProvider(keyFile) });
    assert.deepEqual((await fresh.collectionKey(ops, 't1', 'c1', 1)).key, k.key);
    const idx = await fresh.fieldIndexKey(ops, 't1', 'c1', 'family_name');
    assert.equal(idx.length, 32);
    assert.notDeepEqual(idx, k.key, 'index keys are not data keys');
    assert.notDeepEqual(idx, await fresh.fieldIndexKey(ops, 't1', 'c1', 'kana'), 'one index key per field');
    assert.deepEqual(idx, await ring.fieldIndexKey(ops, 't1', 'c1', 'family_name'));
  });

  test('a wrapped key moved to another scope, kind, version or tenant does not unwrap', async () => {
    const ops = new MemoryKeyStore();
    const ring = new Keyring({ provider });
    await tenantWithCollection(ops, ring, 't1', 'c1');
    await ring.createCollectionKeys(ops, 't1', 'c2');
    await ring.createTenantKey(ops, 't2');
    await ring.createCollectionKeys(ops, 't2', 'c1');
    const get = (id: string) => ops.rows.get(id) as Row;
    const moves: Array<[string, string]> = [
      ['t1|collection|c1|1', 't1|collection|c2|1'], // scope
      ['t1|index|c1|1', 't1|collection|c1|1'], // kind
      ['t2|collection|c1|1', 't1|collection|c1|1'], // tenant
      ['t2|tenant|t2|1', 't1|tenant|t1|1'], // tenant key under the root key
    ];
    for (const [from, to] of moves) {
      const saved = get(to).wrapped;
      ops.rows.set(to, { ...get(to), wrapped: get(from).wrapped });
      const fresh = new Keyring({ provider });
      await rejectsWithDecryptionFailure(() => fresh.collectionKey(ops, 't1', 'c1', 1).then(() => fresh.fieldIndexKey(ops, 't1', 'c1', 'f')).then(() => fresh.collectionKey(ops, 't1', 'c2', 1)));
      ops.rows.set(to, { ...get(to), wrapped: saved });
    }
    // a row whose version column was changed no longer matches its AAD
    const row = get('t1|collection|c1|1');
    ops.rows.set('t1|collection|c1|2', { ...row, version: 2 });
    await rejectsWithDecryptionFailure(() => new Keyring({ provider }).collectionKey(ops, 't1', 'c1'));
    ops.rows.delete('t1|collection|c1|2');
    await new Keyring({ provider }).collectionKey(ops, 't1', 'c1');
  });

  test('a missing data key fails exactly like a damaged one', async () => {
    const ops = new MemoryKeyStore();
    const ring = new Keyring({ provider });
    await tenantWithCollection(ops, ring);
    await rejectsWithDecryptionFailure(() => ring.collectionKey(ops, 't1', 'nope'));
    await rejectsWithDecryptionFailure(() => ring.subjectKey(ops, 't1', 'S-1', 1));
    await rejectsWithDecryptionFailure(() => ring.collectionKey(ops, 't1', 'c1', 2));
    await rejectsWithCode(() => ring.collectionKey(ops, 'no-tenant', 'c1', 1).then(() => ring.createCollectionKeys(ops, 'no-tenant', 'c9')), 'DECRYPTION_FAILED');
    await rejectsWithCode(() => ring.createCollectionKeys(ops, 'no-tenant', 'c9'), 'TENANT_NOT_FOUND');
  });

  test('subject keys: existing ones are found by later writers and readers; subjects without one are absent', async () => {
    const ops = new MemoryKeyStore();
    const ring = new Keyring({ provider });
    await tenantWithCollection(ops, ring);
    const made = await storeSubjectKeys(ops, ring, ['S-1', 'S-2']);
    const found = await new Keyring({ provider }).existingSubjectKeys(ops, 't1', ['S-1', 'S-3', 'S-2', 'S-1']);
    assert.deepEqual([...found.keys()].sort(), ['S-1', 'S-2']);
    assert.deepEqual(found.get('S-1')?.key, made.get('S-1'));
    assert.notDeepEqual(found.get('S-1')?.key, found.get('S-2')?.key);
    assert.deepEqual((await new Keyring({ provider }).subjectKey(ops, 't1', 'S-2', 1)).key, made.get('S-2'));
    // a subject key wrapped for another subject (row moved) does not unwrap
    const moved = ops.rows.get('t1|subject|S-1|1');
    assert.ok(moved);
    ops.rows.set('t1|subject|S-3|1', { ...moved, scopeId: 'S-3' });
    await rejectsWithDecryptionFailure(() => new Keyring({ provider }).existingSubjectKeys(ops, 't1', ['S-3']));
  });

  test('keys handed out stay intact while the cache evicts (a tiny cache under churn)', async () => {
    const ops = new MemoryKeyStore();
    const ring = new Keyring({ provider, cacheEntries: 4 });
    await tenantWithCollection(ops, ring);
    const subjects = Array.from({ length: 12 }, (_, i) => `S-${i}`);
    const handedOut: Array<[string, Buffer]> = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < subjects.length; i += 3) {
        const batch = subjects.slice(i, i + 5);
        await storeSubjectKeys(ops, ring, batch.filter((x) => !ops.rows.has(`t1|subject|${x}|1`)));
        const keys = await ring.existingSubjectKeys(ops, 't1', batch);
        const c = await ring.collectionKey(ops, 't1', 'c1');
        const f = await ring.fieldIndexKey(ops, 't1', 'c1', `f${i}`);
        for (const [s, k] of keys) handedOut.push([s, k.key]);
        handedOut.push(['collection', c.key], [`index:f${i}`, f]);
      }
    }
    const truth = new Keyring({ provider });
    for (const [what, key] of handedOut) {
      const expected = what === 'collection'
        ? (await truth.collectionKey(ops, 't1', 'c1', 1)).key
        : what.startsWith('index:')
          ? await truth.fieldIndexKey(ops, 't1', 'c1', what.slice(6))
          : (await truth.subjectKey(ops, 't1', what, 1)).key;
      assert.deepEqual(key, expected, `${what}: a key handed out was changed (zeroed?) after it was returned`);
    }
  });

  test('seal() forgets every key: nothing can be unwrapped afterwards', async () => {
    const ops = new MemoryKeyStore();
    const p = await openKeyFileProvider(keyFile);
    const ring = new Keyring({ provider: p });
    await tenantWithCollection(ops, ring);
    await ring.collectionKey(ops, 't1', 'c1');
    ring.seal();
    await rejectsWithCode(() => ring.collectionKey(ops, 't1', 'c1'), 'VAULT_SEALED');
  });
});
