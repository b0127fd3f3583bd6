import { Keyring, type RootKeyProvider } from '../keys/index.js';
import { issueApiKey, authenticateApiKey, type IssuedApiKey, type IssueOptions, type Principal } from '../policy/index.js';
import type { Store } from '../store/index.js';
import { Collections } from './collections.js';
import { createRecordIdGenerator } from './record-id.js';
import { Records } from './records.js';
import { Tenants } from './tenants.js';

export interface VaultDeps {
  readonly store: Store;
  readonly provider: RootKeyProvider;
  readonly clock?: () => Date;
  readonly keyCacheEntries?: number;
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
}

export function createVault(deps: VaultDeps): Vault {
  const clock = deps.clock ?? (() => new Date());
  const newId = createRecordIdGenerator(() => clock().getTime());
  const keyring = new Keyring({ provider: deps.provider, clock, ...(deps.keyCacheEntries ? { cacheEntries: deps.keyCacheEntries } : {}) });
  const tenants = new Tenants({ store: deps.store, keyring, clock });
  const collections = new Collections({ store: deps.store, keyring, tenants, clock, newId });
  const records = new Records({ store: deps.store, keyring, collections, clock, newId });
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
  });
}
