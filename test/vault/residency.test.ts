/**
 * Residency enforcement on both backends: every enforcement point (collection creation, rule
 * changes, backup writes, the configured store and key locations at open) refuses a violating action
 * with RESIDENCY_VIOLATION naming the rule, logs the refusal with the location, and leaves nothing
 * behind (no collection row or key, no backup directory or file); and the data map follows the
 * configuration.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { KurabanError } from '../../src/errors/index.js';
import { decodeLogEntry, type LogEntry } from '../../src/ledger/index.js';
import type { Location } from '../../src/residency/index.js';
import { localAudit, openVault, type Vault, type VaultLocation } from '../../src/vault/index.js';
import { BACKENDS, createTempVault, RESIDENT_SCHEMA, type TempVault } from '../helpers/temp-vault.js';

const T = '131016';
const TOKYO_DB = { id: 'tokyo-db', country: 'JP', region: 'JP-Tokyo', provider: 'self-hosted', operator: 'chiyoda-city', jurisdiction: 'JP', holds: ['ciphertext'] };
const CITY_HSM = { id: 'city-hsm', country: 'JP', region: 'JP-Tokyo', provider: 'on-prem-hsm', operator: 'chiyoda-city', jurisdiction: 'JP', holds: ['keys'] };
const OSAKA_BACKUP = { id: 'osaka-backup', country: 'JP', region: 'JP-Osaka', provider: 'sakura', operator: 'chiyoda-city', jurisdiction: 'JP', holds: ['ciphertext'] };
const US_BACKUP = { id: 'us-backup', country: 'US', region: 'US-Virginia', provider: 'aws', operator: 'vendor', jurisdiction: 'US', holds: ['ciphertext'] };
const TOKYO_OSAKA_OWN_HSM = { ciphertext: { countries: ['JP'], regions: ['JP-Tokyo', 'JP-Osaka'] }, keys: { locations: ['city-hsm'] } };

async function rejectsWith(p: Promise<unknown>, code: string, field?: string): Promise<KurabanError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof KurabanError, `expected a KurabanError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (field !== undefined) assert.deepEqual(caught.details.map((d) => d.field), [field]);
  return caught;
}

async function logOf(vault: Vault, tenant: string): Promise<LogEntry[]> {
  const { size } = await vault.accessLog.integrate(tenant);
  return (await vault.store.getLogEntryRange(tenant, 0, size)).map((e) => decodeLogEntry(e.entry));
}

for (const backend of BACKENDS) {
  describe(`residency enforcement (${backend})`, () => {
    let tv: TempVault;
    let root: string;
    const located = (store: string | Location, keys: string | Location): VaultLocation => ({ ...tv.location, residency: { store, keys } });

    beforeEach(async () => {
      tv = await createTempVault(backend);
      root = mkdtempSync(join(tmpdir(), 'kuraban-residency-'));
      await tv.vault.tenants.create(T, '千代田区', localAudit());
    });
    afterEach(async () => {
      await tv.cleanup();
      rmSync(root, { recursive: true, force: true });
    });

    test('the default configuration records this machine as `local` for the store and keys', async () => {
      const { store, keys } = await tv.vault.residency.configured();
      assert.equal(store.id, 'local');
      assert.equal(keys.id, 'local');
      assert.deepEqual(store.holds, ['ciphertext', 'keys']);
    });

    test('collection creation: refused while the store is not where the rules allow; no collection, no keys; the refusal is logged with the location', async () => {
      const e = await rejectsWith(tv.vault.residency.createCollection(T, 'juminhyo', RESIDENT_SCHEMA, TOKYO_OSAKA_OWN_HSM, localAudit()), 'RESIDENCY_VIOLATION', 'ciphertext.regions');
      assert.match(e.message, /juminhyo/);
      await rejectsWith(tv.vault.collections.get(T, 'juminhyo'), 'COLLECTION_NOT_FOUND');
      assert.equal((await tv.store.listCollections(T)).length, 0);
      assert.equal((await tv.store.listResidency(T)).length, 0);
      assert.equal((await tv.store.listWrappedKeys({ tenantId: T, kind: 'collection' })).length, 0, 'no collection key was made');
      const refused = (await logOf(tv.vault, T)).filter((x) => x.outcome === 'RESIDENCY_VIOLATION');
      assert.deepEqual(
        refused.map((x) => [x.action, x.collection, x.location]),
        [['collection.create', 'juminhyo', 'local']],
      );
    });

    test('collection creation succeeds where the rules hold; rules are stored beside it and can change only to rules that hold', async () => {
      await tv.vault.residency.addLocation(TOKYO_DB, localAudit());
      await tv.vault.residency.addLocation(CITY_HSM, localAudit());
      const state = await openVault(located('tokyo-db', 'city-hsm'), { sealWorkers: 0 });
      assert.equal(state.sealed, false, state.sealed ? state.reason : '');
      if (state.sealed) return;
      try {
        const v = state.vault;
        await v.residency.createCollection(T, 'juminhyo', RESIDENT_SCHEMA, TOKYO_OSAKA_OWN_HSM, localAudit());
        const c = await v.collections.get(T, 'juminhyo');
        assert.deepEqual(await v.residency.rulesOf(c), TOKYO_OSAKA_OWN_HSM);
        // Keys anywhere but the city HSM: refused, the old rules stay.
        await rejectsWith(v.residency.setRules(T, 'juminhyo', { keys: { locations: ['other-hsm'] } }, localAudit()), 'RESIDENCY_VIOLATION', 'keys.locations');
        assert.deepEqual(await v.residency.rulesOf(c), TOKYO_OSAKA_OWN_HSM);
        await v.residency.setRules(T, 'juminhyo', { ciphertext: { countries: ['JP'] } }, localAudit());
        assert.deepEqual(await v.residency.rulesOf(c), { ciphertext: { countries: ['JP'] } });
        // A location the rules name cannot be removed; the configured ones neither.
        await v.residency.setRules(T, 'juminhyo', TOKYO_OSAKA_OWN_HSM, localAudit());
        await rejectsWith(v.residency.removeLocation('city-hsm', localAudit()), 'LOCATION_IN_USE');
        await rejectsWith(v.residency.removeLocation('tokyo-db', localAudit()), 'LOCATION_IN_USE');
        // Re-declaring the store's location somewhere the rules forbid is refused too.
        await rejectsWith(v.residency.updateLocation('tokyo-db', { ...TOKYO_DB, region: 'JP-Fukuoka' }, localAudit()), 'RESIDENCY_VIOLATION', 'ciphertext.regions');
        assert.equal((await v.residency.getLocation('tokyo-db')).region, 'JP-Tokyo');
      } finally {
        await state.vault.close();
      }
    });

    test('backup: a location that fails a rule, is not registered, or does not hold ciphertext gets nothing, not even a directory', async () => {
      await tv.vault.residency.addLocation(TOKYO_DB, localAudit());
      await tv.vault.residency.addLocation(CITY_HSM, localAudit());
      await tv.vault.residency.addLocation(US_BACKUP, localAudit());
      await tv.vault.residency.addLocation(OSAKA_BACKUP, localAudit());
      const state = await openVault(located('tokyo-db', 'city-hsm'), { sealWorkers: 0 });
      if (state.sealed) assert.fail(state.reason);
      try {
        const v = state.vault;
        await v.residency.createCollection(T, 'juminhyo', RESIDENT_SCHEMA, TOKYO_OSAKA_OWN_HSM, localAudit());
        await v.records.create(T, 'juminhyo', { subjectId: 'P-1', fields: { family_name: '山田', given_name: '太郎' } }, localAudit());
        const to = (name: string, location: string) => v.backup({ dataDir: join(root, name, 'data'), keysDir: join(root, name, 'keys'), location }, localAudit());
        await rejectsWith(to('us', 'us-backup'), 'RESIDENCY_VIOLATION', 'ciphertext.countries');
        await rejectsWith(to('nowhere', 'jp-east-9'), 'LOCATION_NOT_FOUND');
        await rejectsWith(to('hsm', 'city-hsm'), 'RESIDENCY_VIOLATION', 'location.holds');
        assert.deepEqual(readdirSync(root), [], 'nothing was created at a refused destination');
        const refused = (await logOf(v, T)).filter((x) => x.action === 'backup.create');
        assert.deepEqual(
          refused.map((x) => [x.outcome, x.location ?? null]),
          [
            ['RESIDENCY_VIOLATION', 'us-backup'],
            ['LOCATION_NOT_FOUND', null],
            ['RESIDENCY_VIOLATION', 'city-hsm'],
          ],
        );
        assert.equal((await v.residency.dataMap(T)).lastBackup, null, 'refused backups are not in the map');
        const ok = await to('osaka', 'osaka-backup');
        assert.ok(existsSync(ok.data.path) && existsSync(ok.keys.path));
        const map = await v.residency.dataMap(T);
        assert.equal(map.lastBackup?.location.id, 'osaka-backup');
        assert.equal(map.lastBackup?.pair, ok.pair);
        assert.equal((await logOf(v, T)).filter((x) => x.action === 'backup.create' && x.outcome === 'ok')[0]?.location, 'osaka-backup');
      } finally {
        await state.vault.close();
      }
    });

    test('open: a store or key location that breaks a rule seals the vault with the rule named; the data map follows the configuration', async () => {
      for (const l of [TOKYO_DB, CITY_HSM, US_BACKUP]) await tv.vault.residency.addLocation(l, localAudit());
      const ok = await openVault(located('tokyo-db', 'city-hsm'), { sealWorkers: 0 });
      if (ok.sealed) assert.fail(ok.reason);
      await ok.vault.residency.createCollection(T, 'juminhyo', RESIDENT_SCHEMA, TOKYO_OSAKA_OWN_HSM, localAudit());
      const before = await ok.vault.residency.dataMap(T);
      await ok.vault.close();
      assert.equal(before.store.id, 'tokyo-db');
      assert.equal(before.keys.id, 'city-hsm');
      assert.equal(before.keys.operator, 'chiyoda-city');
      assert.equal(before.compliant, true);

      // The store moved to a US location: sealed, saying which rule.
      const moved = await openVault(located('us-backup', 'city-hsm'), { sealWorkers: 0 });
      assert.equal(moved.sealed, true);
      if (moved.sealed) assert.match(moved.reason, /RESIDENCY_VIOLATION.*juminhyo.*ciphertext\.countries/);
      // Keys on the laptop key file (`local`) instead of the HSM: sealed too.
      const keysMoved = await openVault(located('tokyo-db', 'local'), { sealWorkers: 0 });
      assert.equal(keysMoved.sealed, true);
      if (keysMoved.sealed) assert.match(keysMoved.reason, /keys\.locations/);
      // A location nobody registered: sealed.
      const unknown = await openVault(located('nowhere', 'city-hsm'), { sealWorkers: 0 });
      assert.equal(unknown.sealed, true);
      if (unknown.sealed) assert.match(unknown.reason, /LOCATION_NOT_FOUND/);

      // The repair mode opens it anyway, and the map shows the new configuration and the violation.
      const repair = await openVault(located('us-backup', 'city-hsm'), { sealWorkers: 0, residencyRepair: true });
      if (repair.sealed) assert.fail(repair.reason);
      try {
        const map = await repair.vault.residency.dataMap(T);
        assert.equal(map.store.id, 'us-backup');
        assert.equal(map.compliant, false);
        assert.deepEqual(map.collections[0]?.ciphertext.violation, { collection: 'juminhyo', rule: 'ciphertext.countries' });
        const log = await logOf(repair.vault, T);
        assert.ok(log.some((x) => x.action === 'location.configure' && x.location === 'us-backup'), 'the configuration change is logged');
        assert.ok(log.some((x) => x.action === 'residency.check' && x.outcome === 'RESIDENCY_VIOLATION' && x.location === 'us-backup'), 'the refusal at open is logged');
      } finally {
        await repair.vault.close();
      }
    });

    test('a declaration in the configuration registers (and updates) the location, logged', async () => {
      const declared = { ...TOKYO_DB, holds: ['ciphertext', 'keys'] } as unknown as Location;
      const a = await openVault(located(declared, declared), { sealWorkers: 0 });
      if (a.sealed) assert.fail(a.reason);
      assert.equal((await a.vault.residency.configured()).store.region, 'JP-Tokyo');
      await a.vault.close();
      const b = await openVault(located({ ...declared, region: 'JP-Osaka' }, { ...declared, region: 'JP-Osaka' }), { sealWorkers: 0 });
      if (b.sealed) assert.fail(b.reason);
      try {
        assert.equal((await b.vault.residency.getLocation('tokyo-db')).region, 'JP-Osaka');
        const actions = (await logOf(b.vault, T)).filter((x) => x.location === 'tokyo-db').map((x) => x.action);
        assert.deepEqual(actions, ['location.create', 'location.configure', 'location.configure', 'location.update']);
      } finally {
        await b.vault.close();
      }
    });
  });
}
