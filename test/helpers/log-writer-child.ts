/**
 * A second Kuraban process for the access-log tests: opens the vault at the location given as JSON
 * in argv[2], appends argv[4] entries for tenant argv[3] (one transaction per entry, integrating
 * every 50), integrates what is left and exits. Run with no arguments (as the test runner may), it
 * does nothing.
 */
import { openVault, type VaultLocation } from '../../src/vault/index.js';
import type { LogEntry } from '../../src/ledger/index.js';

const [locationJson, tenantId, countText, tag] = process.argv.slice(2);
if (locationJson !== undefined && tenantId !== undefined && countText !== undefined && tag !== undefined) {
  const location = JSON.parse(locationJson) as VaultLocation;
  const state = await openVault(location, { sealWorkers: 0 });
  if (state.sealed) throw new Error(`child vault sealed: ${state.reason}`);
  const { vault } = state;
  const count = Number(countText);
  for (let i = 0; i < count; i++) {
    const entry: LogEntry = {
      v: 1,
      time: new Date().toISOString(),
      tenant: tenantId,
      principal: { id: `child-${tag}`, auth: 'api-key' },
      action: 'record.read',
      collection: 'residents',
      records: [],
      subjects: [`s-${tag}-${i}`],
      fields: ['family_name'],
      outcome: 'ok',
      requestId: `${tag}-${i}`,
      client: '127.0.0.1',
    };
    await vault.store.transaction((tx) => vault.accessLog.append(tx, entry));
    if (i % 50 === 49) await vault.accessLog.integrate(tenantId);
  }
  await vault.accessLog.integrate(tenantId);
  await vault.close();
  await state.store.close();
}
