/**
 * "Keys on our HSM" with a real PKCS#11 token (SoftHSM2): a vault whose root key is in the token,
 * with the store and the token declared in the configuration; a collection whose keys may only be
 * in the city's HSM; the data map names the token's location and operator; and the same store opened
 * with the key provider declared anywhere else stays sealed, naming the rule.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPkcs11RootKey } from '../../src/keys/index.js';
import { parseLocation } from '../../src/residency/index.js';
import { localAudit, openVault, type VaultLocation } from '../../src/vault/index.js';
import { softHsm, type TestToken } from '../helpers/softhsm.js';
import { RESIDENT_SCHEMA, tempLocation, type TempLocation } from '../helpers/temp-vault.js';

const T = '131016';
const TOKYO_DB = parseLocation({ id: 'tokyo-db', country: 'JP', region: 'JP-Tokyo', provider: 'gov-cloud-a', operator: 'chiyoda-city', jurisdiction: 'JP', holds: ['ciphertext'] });
const CITY_HSM = parseLocation({ id: 'city-hsm', country: 'JP', region: 'JP-Tokyo', provider: 'on-prem-hsm', operator: 'chiyoda-city-it', jurisdiction: 'JP', holds: ['keys'] });
const RULES = { ciphertext: { countries: ['JP'], regions: ['JP-Tokyo', 'JP-Osaka'] }, keys: { locations: ['city-hsm'] } };

describe('residency with the root key in a PKCS#11 token (SoftHSM2)', () => {
  let loc: TempLocation;
  let token: TestToken;
  let location: VaultLocation;

  before(async () => {
    const hsm = softHsm();
    token = await hsm.newToken();
    loc = await tempLocation('sqlite');
    await createPkcs11RootKey({ library: hsm.library, tokenLabel: token.tokenLabel, keyLabel: 'kuraban-root', pin: token.pin });
    location = {
      ...loc.location,
      keyProvider: 'pkcs11',
      pkcs11: { library: hsm.library, tokenLabel: token.tokenLabel, keyLabel: 'kuraban-root', pin: token.pin },
      residency: { store: TOKYO_DB, keys: CITY_HSM },
    };
  });
  after(async () => {
    await loc?.cleanup();
  });

  test('keys only on the city HSM: allowed there, mapped with its operator; declared anywhere else, the vault stays sealed', async () => {
    const state = await openVault(location, { sealWorkers: 0 });
    if (state.sealed) assert.fail(state.reason);
    try {
      await state.vault.tenants.create(T, '千代田区', localAudit());
      await state.vault.residency.createCollection(T, 'juminhyo', RESIDENT_SCHEMA, RULES, localAudit());
      await state.vault.records.create(T, 'juminhyo', { subjectId: 'P-1', fields: { family_name: '山田', given_name: '太郎' } }, localAudit());
      const map = await state.vault.residency.dataMap(T);
      assert.equal(map.keys.id, 'city-hsm');
      assert.equal(map.keys.providerKind, 'pkcs11');
      assert.equal(map.keys.operator, 'chiyoda-city-it');
      assert.equal(map.collections[0]?.keys.violation, null);
      assert.equal(map.compliant, true);
    } finally {
      await state.vault.close();
      await state.store.close();
    }
    // The same token, but the configuration says the key provider is on the laptop default.
    const moved = await openVault({ ...location, residency: { store: TOKYO_DB, keys: 'local' } }, { sealWorkers: 0 });
    try {
      assert.equal(moved.sealed, true);
      if (moved.sealed) assert.match(moved.reason, /^RESIDENCY_VIOLATION: collection juminhyo: the key provider at location local is refused by residency rule keys\.locations$/);
    } finally {
      if (!moved.sealed) await moved.vault.close();
      await moved.store.close();
    }
  });
});
