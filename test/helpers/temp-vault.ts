import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initVault, openVault, type Vault, type VaultLocation } from '../../src/vault/index.js';
import type { Store } from '../../src/store/index.js';
import { createThrowawayDatabase } from './postgres.js';

export type Backend = 'sqlite' | 'postgres';

/** Both backends, unless KURABAN_TEST_BACKENDS narrows them for a quick local run (CI runs both). */
export const BACKENDS: readonly Backend[] = (process.env.KURABAN_TEST_BACKENDS?.split(',') as Backend[] | undefined) ?? ['sqlite', 'postgres'];

export interface TempVault {
  readonly vault: Vault;
  readonly store: Store;
  readonly location: VaultLocation;
  readonly dir: string;
  readonly adminKey: string;
  /** Closes the vault and removes its files and database. */
  cleanup(): Promise<void>;
}

export interface TempLocation {
  readonly location: VaultLocation;
  readonly dir: string;
  cleanup(): Promise<void>;
}

/** A fresh, empty location (temp dir, and a throwaway database on PostgreSQL). */
export async function tempLocation(backend: Backend): Promise<TempLocation> {
  const dir = mkdtempSync(join(tmpdir(), 'kuraban-test-'));
  const db = backend === 'postgres' ? await createThrowawayDatabase() : undefined;
  const location: VaultLocation = { dataDir: dir, keyFile: join(dir, 'root.key'), databaseUrl: db?.url };
  return {
    location,
    dir,
    async cleanup() {
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An initialised, open vault on the given backend. */
export async function createTempVault(backend: Backend = 'sqlite', options: { clock?: () => Date } = {}): Promise<TempVault> {
  const loc = await tempLocation(backend);
  const { adminKey } = await initVault(loc.location);
  const state = await openVault(loc.location, options);
  if (state.sealed) throw new Error(`test vault unexpectedly sealed: ${state.reason}`);
  const { vault } = state;
  return {
    vault,
    store: state.store,
    location: loc.location,
    dir: loc.dir,
    adminKey,
    async cleanup() {
      await vault.close();
      await state.store.close();
      await loc.cleanup();
    },
  };
}

/** A small resident-like schema used across tests. */
export const RESIDENT_SCHEMA = {
  fields: [
    { name: 'family_name', type: 'string', required: true, searchable: true },
    { name: 'given_name', type: 'string', required: true },
    { name: 'kana', type: 'string', searchable: true },
    { name: 'resident_no', type: 'string', unique: true },
    { name: 'birth_date', type: 'date', searchable: true },
    { name: 'income', type: 'decimal', classification: 'sensitive' },
    { name: 'household_size', type: 'integer', minimum: 1, maximum: 50, classification: 'public' },
    { name: 'status', type: 'enum', values: ['active', 'moved_out'], classification: 'public' },
    { name: 'verified', type: 'boolean', classification: 'public' },
    { name: 'address', type: 'object', fields: [{ name: 'postal_code', type: 'string' }, { name: 'line1', type: 'string' }] },
  ],
} as const;
