import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { rejectsWithCode } from '../helpers/errors.js';
import { once } from '../helpers/once.js';

let seq = 0;
const tenantId = () => `t${++seq}-${randomBytes(4).toString('hex')}`;

for (const backend of BACKENDS) {
  describe(`tenants (${backend})`, () => {
    let tv: TempVault | undefined;
    beforeEach(once(async () => {
      tv = await createTempVault(backend);
    }));
    after(async () => {
      await tv?.cleanup();
    });

    test('create, get, list; each tenant gets its own wrapped key; duplicates and bad ids refused', async () => {
      assert.ok(tv);
      const { vault } = tv;
      const t = tenantId();
      const made = await vault.tenants.create(t, '千代田区');
      assert.deepEqual(await vault.tenants.get(t), made);
      assert.ok((await vault.tenants.list()).some((x) => x.id === t));
      const key = await tv.store.getWrappedKey(t, 'tenant', t);
      assert.equal(key?.version, 1);
      assert.equal(key?.wrapped.length, 32 + 29);
      await rejectsWithCode(() => vault.tenants.create(t, 'again'), 'TENANT_EXISTS');
      assert.equal((await vault.tenants.get(t)).name, '千代田区');
      assert.deepEqual((await tv.store.getWrappedKey(t, 'tenant', t))?.wrapped, key?.wrapped, 'the failed create did not replace the key');
      for (const id of ['A', 'x', '-abc', 'a_b', 'a'.repeat(64)]) await rejectsWithCode(() => vault.tenants.create(id, 'n'), 'REQUEST_INVALID');
      for (const name of ['', '   ', 'x'.repeat(201)]) await rejectsWithCode(() => vault.tenants.create(tenantId(), name), 'REQUEST_INVALID');
      await rejectsWithCode(() => vault.tenants.get('131016'), 'TENANT_NOT_FOUND');
      await vault.tenants.create('131016', '千代田区');
    });
  });
}
