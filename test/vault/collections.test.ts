import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openKeyFileProvider } from '../../src/keys/index.js';
import type { Store } from '../../src/store/index.js';
import { createVault, type Vault } from '../../src/vault/index.js';
import { BACKENDS, createTempVault, RESIDENT_SCHEMA, type TempVault } from '../helpers/temp-vault.js';
import { reasons, rejectsWithCode } from '../helpers/errors.js';
import { once } from '../helpers/once.js';

let seq = 0;
const tenantId = () => `c${++seq}-${randomBytes(4).toString('hex')}`;
const person = (family: string, more: Record<string, unknown> = {}) => ({ family_name: family, given_name: '名', ...more });

for (const backend of BACKENDS) {
  describe(`collections (${backend})`, () => {
    let tv: TempVault | undefined;
    let vault: Vault;

    beforeEach(once(async () => {
      tv = await createTempVault(backend);
      vault = tv.vault;
    }));
    after(async () => {
      await tv?.cleanup();
    });

    async function tenant(): Promise<string> {
      const t = tenantId();
      await vault.tenants.create(t, 'Test City');
      return t;
    }

    test('create, get, list; the parsed schema is kept at version 1', async () => {
      const t = await tenant();
      const c = await vault.collections.create(t, 'residents', RESIDENT_SCHEMA);
      await vault.collections.create(t, 'households', { fields: [{ name: 'size', type: 'integer' }] });
      assert.equal(c.schemaVersion, 1);
      assert.equal(c.tenantId, t);
      const got = await vault.collections.get(t, 'residents');
      assert.deepEqual(got, c);
      assert.equal(got.schema.fields.find((f) => f.name === 'resident_no')?.unique, true);
      assert.deepEqual((await vault.collections.list(t)).map((x) => x.name), ['households', 'residents']);
    });

    test('names, duplicates, missing tenants and collections', async () => {
      const t = await tenant();
      await vault.collections.create(t, 'residents', RESIDENT_SCHEMA);
      await rejectsWithCode(() => vault.collections.create(t, 'residents', RESIDENT_SCHEMA), 'COLLECTION_EXISTS');
      for (const name of ['Residents', '1abc', 'a-b', '', '住民']) await rejectsWithCode(() => vault.collections.create(t, name, RESIDENT_SCHEMA), 'REQUEST_INVALID');
      await rejectsWithCode(() => vault.collections.create('no-such-tenant', 'residents', RESIDENT_SCHEMA), 'TENANT_NOT_FOUND');
      await rejectsWithCode(() => vault.collections.get(t, 'staff'), 'COLLECTION_NOT_FOUND');
      await rejectsWithCode(() => vault.collections.get('no-such-tenant', 'staff'), 'TENANT_NOT_FOUND');
      await rejectsWithCode(() => vault.collections.list('no-such-tenant'), 'TENANT_NOT_FOUND');
    });

    test('an invalid schema is SCHEMA_INVALID with details naming each field and reason, and nothing is created', async () => {
      const t = await tenant();
      const e = await rejectsWithCode(
        () =>
          vault.collections.create(t, 'residents', {
            fields: [
              { name: 'a', type: 'string', colour: 'red' },
              { name: 'a', type: 'string' },
              { name: 'addr', type: 'object', searchable: true, fields: [{ name: 'x', type: 'string' }] },
              { name: 'status', type: 'enum' },
            ],
          }),
        'SCHEMA_INVALID',
      );
      assert.deepEqual(reasons(e.details), ['|addr|not_indexable', '|a|duplicate_name', '|a|unknown_option:colour', '|status|invalid_values']);
      assert.deepEqual(await vault.collections.list(t), []);
    });

    test('evolve: add an optional field and an enum value; records written before still read', async () => {
      const t = await tenant();
      await vault.collections.create(t, 'residents', RESIDENT_SCHEMA);
      const old = await vault.records.create(t, 'residents', { fields: person('旧', { status: 'active' }) });
      const next = await vault.collections.evolve(t, 'residents', { addFields: [{ name: 'email', type: 'string', searchable: true }], addEnumValues: { status: ['deceased'] } }, 1);
      assert.equal(next.schemaVersion, 2);
      assert.equal((await vault.collections.get(t, 'residents')).schemaVersion, 2);
      assert.deepEqual((await vault.records.get(t, 'residents', old.id)).fields, person('旧', { status: 'active' }));
      const fresh = await vault.records.create(t, 'residents', { fields: person('新', { status: 'deceased', email: 'a@example.jp' }) });
      assert.deepEqual((await vault.records.search(t, 'residents', { email: 'a@example.jp' }, { limit: 5 })).records.map((r) => r.id), [fresh.id]);
      // an old record can be updated under the new schema
      const updated = await vault.records.update(t, 'residents', old.id, 1, { fields: person('旧', { status: 'deceased', email: 'b@example.jp' }) });
      assert.equal(updated.version, 2);
      // another vault instance (another process) parses the evolved schema from the store
      assert.ok(tv);
      const other = createVault({ store: tv.store, provider: await openKeyFileProvider(tv.location.keyFile), sealWorkers: 0 });
      try {
        assert.equal((await other.records.get(t, 'residents', fresh.id)).fields.email, 'a@example.jp');
      } finally {
        await other.close();
      }
    });

    test('evolve: refused changes are SCHEMA_CHANGE_REJECTED and leave the schema as it was', async () => {
      const t = await tenant();
      await vault.collections.create(t, 'residents', RESIDENT_SCHEMA);
      const e = await rejectsWithCode(() => vault.collections.evolve(t, 'residents', { addFields: [{ name: 'email', type: 'string', required: true }] }), 'SCHEMA_CHANGE_REJECTED');
      assert.deepEqual(reasons(e.details), ['|email|added_field_must_be_optional']);
      await rejectsWithCode(() => vault.collections.evolve(t, 'residents', { addEnumValues: { verified: ['maybe'] } }), 'SCHEMA_CHANGE_REJECTED');
      await rejectsWithCode(() => vault.collections.evolve(t, 'residents', { addFields: [{ name: 'given_name', type: 'string' }] }), 'SCHEMA_CHANGE_REJECTED');
      await rejectsWithCode(() => vault.collections.evolve(t, 'residents', { addFields: [{ name: 'x', type: 'nope' }] }), 'SCHEMA_INVALID');
      const now = await vault.collections.get(t, 'residents');
      assert.equal(now.schemaVersion, 1);
      assert.equal(now.schema.fields.length, RESIDENT_SCHEMA.fields.length);
      await rejectsWithCode(() => vault.records.create(t, 'residents', { fields: person('x', { email: 'a@b' }) }), 'RECORD_INVALID');
    });

    test('evolve: a stale expected version is VERSION_CONFLICT', async () => {
      const t = await tenant();
      await vault.collections.create(t, 'residents', RESIDENT_SCHEMA);
      await vault.collections.evolve(t, 'residents', { addFields: [{ name: 'a', type: 'string' }] }, 1);
      await rejectsWithCode(() => vault.collections.evolve(t, 'residents', { addFields: [{ name: 'b', type: 'string' }] }, 1), 'VERSION_CONFLICT');
      assert.deepEqual((await vault.collections.get(t, 'residents')).schema.fields.map((f) => f.name).slice(-1), ['a']);
    });

    test('evolve: two concurrent changes from the same version, one wins and the other is VERSION_CONFLICT', async () => {
      const t = await tenant();
      await vault.collections.create(t, 'residents', RESIDENT_SCHEMA);
      assert.ok(tv);
      // Both writers read the schema before either writes: a store whose getCollection waits for both.
      const real = tv.store;
      let arrived = 0;
      let release: () => void = () => {};
      const bothRead = new Promise<void>((r) => (release = r));
      const gated = new Proxy(real, {
        get(target, prop) {
          if (prop === 'getCollection') {
            return async (...args: Parameters<Store['getCollection']>) => {
              const row = await target.getCollection(...args);
              if (++arrived === 2) release();
              await bothRead;
              return row;
            };
          }
          const v = Reflect.get(target, prop, target);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      const racer = createVault({ store: gated, provider: await openKeyFileProvider(tv.location.keyFile), sealWorkers: 0 });
      try {
        const results = await Promise.allSettled([
          racer.collections.evolve(t, 'residents', { addFields: [{ name: 'left', type: 'string' }] }),
          racer.collections.evolve(t, 'residents', { addFields: [{ name: 'right', type: 'string' }] }),
        ]);
        const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<Vault['collections']['evolve']>>> => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1);
        assert.equal(lost.length, 1);
        assert.equal((lost[0]?.reason as { code?: string }).code, 'VERSION_CONFLICT');
        const now = await vault.collections.get(t, 'residents');
        assert.equal(now.schemaVersion, 2);
        const added = now.schema.fields.map((f) => f.name).filter((n) => n === 'left' || n === 'right');
        assert.deepEqual(added, [won[0]?.value.schema.fields.at(-1)?.name], 'exactly the winner\'s change is stored');
      } finally {
        await racer.close();
      }
    });
  });
}
