import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyFile, Keyring, openKeyFileProvider, type KeyStoreOps, type RootKeyProvider } from '../../src/keys/index.js';
import { rejectsWithCode, rejectsWithDecryptionFailure } from '../helpers/errors.js';

type Row = Parameters<KeyStoreOps['insertWrappedKeys']>[0][number];

/** The in-memory stand-in for the keyring's view of storage, with the store's semantics. */
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

  test('subject keys: one per subject, created once, found again by later writers and readers', async () => {
    const ops = new MemoryKeyStore();
    const ring = new Keyring({ provider });
    await tenantWithCollection(ops, ring);
    const first = await ring.subjectKeysForWrite(ops, 't1', ['S-1', 'S-2', 'S-1']);
    assert.deepEqual([...first.keys()].sort(), ['S-1', 'S-2']);
    assert.notDeepEqual(first.get('S-1')?.key, first.get('S-2')?.key);
    assert.equal([...ops.rows.keys()].filter((k) => k.includes('|subject|')).length, 2);
    const again = await new Keyring({ provider }).subjectKeysForWrite(ops, 't1', ['S-2', 'S-3']);
    assert.deepEqual(again.get('S-2')?.key, first.get('S-2')?.key);
    assert.equal([...ops.rows.keys()].filter((k) => k.includes('|subject|')).length, 3);
    assert.deepEqual((await new Keyring({ provider }).subjectKey(ops, 't1', 'S-1', 1)).key, first.get('S-1')?.key);
  });

  test('subject keys: a writer that loses the race to create a key uses the stored one', async () => {
    const ops = new MemoryKeyStore();
    await tenantWithCollection(ops, new Keyring({ provider }));
    const winner = await new Keyring({ provider }).subjectKeysForWrite(ops, 't1', ['S-9']);
    // The loser read before the winner inserted: it sees no key, makes one, and its insert is ignored.
    const staleOps: KeyStoreOps = {
      getWrappedKey: (...a) => ops.getWrappedKey(...a),
      insertWrappedKeys: (...a) => ops.insertWrappedKeys(...a),
      getLatestWrappedKeys: (() => {
        let calls = 0;
        return async (...a: Parameters<KeyStoreOps['getLatestWrappedKeys']>) => (calls++ === 0 ? [] : ops.getLatestWrappedKeys(...a));
      })(),
    };
    const loser = await new Keyring({ provider }).subjectKeysForWrite(staleOps, 't1', ['S-9']);
    assert.deepEqual(loser.get('S-9')?.key, winner.get('S-9')?.key);
    assert.equal([...ops.rows.keys()].filter((k) => k.includes('|subject|')).length, 1);
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
        const keys = await ring.subjectKeysForWrite(ops, 't1', batch);
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
