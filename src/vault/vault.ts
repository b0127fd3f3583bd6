import { availableParallelism } from 'node:os';
import { Keyring, type RootKeyProvider } from '../keys/index.js';
import { issueApiKey, authenticateApiKey, type IssuedApiKey, type IssueOptions, type Principal } from '../policy/index.js';
import type { Store } from '../store/index.js';
import { Collections } from './collections.js';
import { createRecordIdGenerator } from './record-id.js';
import { Records } from './records.js';
import { inlineSealer, workerSealer } from './sealer.js';
import { Tenants } from './tenants.js';

export interface VaultDeps {
  readonly store: Store;
  readonly provider: RootKeyProvider;
  readonly clock?: () => Date;
  readonly keyCacheEntries?: number;
  /** Worker threads that seal large batches; 0 seals inline. Default: one less than the cores, at most 4. */
  readonly sealWorkers?: number;
}

export function defaultSealWorkers(): number {
  return Math.max(0, Math.min(4, availableParallelism() - 1));
}

/** An unsealed vault: the domain services over one store and one root key provider. */
export interface Vault {
  readonly store: Store;
  readonly keyring: Keyring;
  readonly tenants: Tenants;
  readonly collections: Collections;
  readonly records: Records;
  readonly clock: () => Date;
  issueApiKey(options: Omit<IssueOptions, 'now'>): Promise<IssuedApiKey>;
  authenticate(presented: string): Promise<Principal>;
  /** Forgets all unwrapped keys. */
  seal(): void;
  /** Seals and stops the sealing workers. */
  close(): Promise<void>;
}

export function createVault(deps: VaultDeps): Vault {
  const clock = deps.clock ?? (() => new Date());
  const newId = createRecordIdGenerator(() => clock().getTime());
  const keyring = new Keyring({ provider: deps.provider, clock, ...(deps.keyCacheEntries ? { cacheEntries: deps.keyCacheEntries } : {}) });
  const tenants = new Tenants({ store: deps.store, keyring, clock });
  const collections = new Collections({ store: deps.store, keyring, tenants, clock, newId });
  const workers = deps.sealWorkers ?? defaultSealWorkers();
  const sealer = workers > 0 ? workerSealer(workers) : inlineSealer();
  const records = new Records({ store: deps.store, keyring, collections, sealer, clock, newId });
  return Object.freeze({
    store: deps.store,
    keyring,
    tenants,
    collections,
    records,
    clock,
    issueApiKey: (options: Omit<IssueOptions, 'now'>) => issueApiKey(deps.store, { ...options, now: clock() }),
    authenticate: (presented: string) => authenticateApiKey(deps.store, presented, clock()),
    seal: () => keyring.seal(),
    close: async () => {
      keyring.seal();
      await sealer.close();
    },
  });
}
