/** Shared pieces of the key-rotation tests (test/vault/key-rotation.test.ts, test/cli/keys-crash.test.ts). */
import assert from 'node:assert/strict';
import { openVault, type Vault, type VaultLocation } from '../../src/vault/index.js';
import type { Store } from '../../src/store/index.js';

/** A second vault over the same location, as another process would open it: its own, empty key cache. */
export interface OtherVault {
  readonly vault: Vault;
  readonly store: Store;
  close(): Promise<void>;
}

export async function openOther(location: VaultLocation): Promise<OtherVault> {
  const state = await openVault(location, { sealWorkers: 0 });
  if (state.sealed) {
    await state.store.close();
    throw new Error(`vault unexpectedly sealed: ${state.reason}`);
  }
  return {
    vault: state.vault,
    store: state.store,
    async close() {
      await state.vault.close();
      await state.store.close();
    },
  };
}

/** What each record must decrypt to: id → subject and fields as written. */
export type Expected = Map<string, { readonly subjectId: string | null; readonly fields: Record<string, unknown> }>;

/** Every record of the collection decrypts to exactly what was written, and there are no others. */
export async function assertAllReadable(vault: Vault, tenant: string, collection: string, expected: Expected, label = ''): Promise<void> {
  const seen = new Set<string>();
  for await (const r of vault.records.scan(tenant, collection, 500)) {
    const want = expected.get(r.id);
    assert.ok(want, `${label} unexpected record ${r.id}`);
    assert.equal(r.subjectId, want.subjectId, `${label} subject of ${r.id}`);
    assert.deepEqual({ ...r.fields }, want.fields, `${label} fields of ${r.id}`);
    seen.add(r.id);
  }
  assert.equal(seen.size, expected.size, `${label} every record read`);
}

/** A fresh vault (no cached keys) reads every record. */
export async function assertFreshVaultReads(location: VaultLocation, tenant: string, collection: string, expected: Expected, label = 'fresh vault:'): Promise<void> {
  const other = await openOther(location);
  try {
    await assertAllReadable(other.vault, tenant, collection, expected, label);
  } finally {
    await other.close();
  }
}

/** A small schema: one searchable field, one unique field, one plain field. */
export const ROTATION_SCHEMA = {
  fields: [
    { name: 'family_name', type: 'string', required: true, searchable: true },
    { name: 'given_name', type: 'string', required: true },
    { name: 'resident_no', type: 'string', unique: true },
  ],
} as const;

/** The fields of record n (distinct per n and per tag). */
export function fieldsOf(tag: string, n: number): Record<string, unknown> {
  return { family_name: `F-${tag}-${n % 7}`, given_name: `G-${tag}-${n}`, resident_no: `R-${tag}-${n}` };
}

/**
 * Creates records (createMany, batches of 1000) in `collection`: `subjectOf(i)` gives each one's
 * subject (null: collection-keyed). Adds them to `expected` and returns their ids in order.
 */
export async function writeRecords(
  vault: Vault,
  tenant: string,
  collection: string,
  tag: string,
  count: number,
  subjectOf: (i: number) => string | null,
  expected: Expected,
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 1000) {
    const inputs = [];
    for (let i = start; i < Math.min(count, start + 1000); i++) inputs.push({ subjectId: subjectOf(i), fields: fieldsOf(tag, i) });
    const res = await vault.records.createMany(tenant, collection, inputs, { mode: 'atomic' });
    assert.equal(res.created.length, inputs.length);
    for (const c of res.created) {
      const input = inputs[c.index] as { subjectId: string | null; fields: Record<string, unknown> };
      expected.set(c.id, { subjectId: input.subjectId, fields: input.fields });
      ids.push(c.id);
    }
  }
  return ids;
}
