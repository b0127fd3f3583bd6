import { KurabanError, isKurabanError } from '../errors/index.js';
import { createKeyFile, openKeyFileProvider, Keyring, type RootKeyProvider } from '../keys/index.js';
import { openStore, type Store } from '../store/index.js';
import { createVault, type Vault } from './vault.js';

export interface VaultLocation {
  readonly dataDir: string;
  readonly databaseUrl?: string | undefined;
  readonly keyFile: string;
  readonly passphrase?: string | undefined;
}

/** Either an open vault, or a sealed one that says why. A sealed vault touches no data. */
export type VaultState =
  | { readonly sealed: false; readonly vault: Vault; readonly store: Store }
  | { readonly sealed: true; readonly reason: string; readonly store: Store };

const ROOT_KEY_ID = 'root_key_id';
const ROOT_CHECK = 'root_check';

/**
 * Opens the store (migrating it), then the root key provider, and checks that the provider holds
 * the key this store was created with. Any key problem leaves the vault sealed with a reason.
 */
export interface OpenOptions {
  readonly clock?: () => Date;
  /** Sealing worker threads (see VaultDeps.sealWorkers). */
  readonly sealWorkers?: number | undefined;
  /** Host in new tenants' log origins (see VaultDeps.logHost). */
  readonly logHost?: string | undefined;
  /** Access-log integration interval in ms (see VaultDeps.logIntervalMs). */
  readonly logIntervalMs?: number | undefined;
}

export async function openVault(location: VaultLocation, options: OpenOptions = {}): Promise<VaultState> {
  const store = openStore(location);
  await store.migrate();
  let provider: RootKeyProvider;
  try {
    provider = await openKeyFileProvider(location.keyFile, location.passphrase);
  } catch (e) {
    if (isKurabanError(e)) return { sealed: true, reason: e.message, store };
    throw e;
  }
  const reason = await bindRootKey(store, provider);
  if (reason !== undefined) {
    provider.close();
    return { sealed: true, reason, store };
  }
  const vault = createVault({
    store,
    provider,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.sealWorkers !== undefined ? { sealWorkers: options.sealWorkers } : {}),
    logHost: options.logHost,
    logIntervalMs: options.logIntervalMs,
  });
  return { sealed: false, vault, store };
}

/** First open records the root key's id and a check value; later opens verify both. */
export async function bindRootKey(store: Store, provider: RootKeyProvider): Promise<string | undefined> {
  const keyring = new Keyring({ provider });
  const storedId = await store.setMetaIfAbsent(ROOT_KEY_ID, provider.keyId);
  if (storedId !== provider.keyId) return `root key ${provider.keyId} does not belong to this vault (it expects ${storedId})`;
  const check = await store.setMetaIfAbsent(ROOT_CHECK, await keyring.createRootCheck());
  if (!(await keyring.verifyRootCheck(check))) return 'root key does not open this vault (check value failed)';
  return undefined;
}

export interface InitResult {
  readonly keyId: string;
  readonly adminKey: string;
}

/** `kuraban init`: a new key file (0600, never overwritten), the store's schema, and one admin API key. */
export async function initVault(location: VaultLocation, options: { passphrase?: string | undefined } = {}): Promise<InitResult> {
  const keyId = await createKeyFile(location.keyFile, { passphrase: options.passphrase });
  const state = await openVault({ ...location, passphrase: options.passphrase ?? location.passphrase });
  try {
    if (state.sealed) throw new KurabanError('KEY_FILE_INVALID', state.reason);
    const admin = await state.vault.issueApiKey({ name: 'initial admin', role: 'admin', tenantId: null });
    return { keyId, adminKey: admin.key };
  } finally {
    if (!state.sealed) await state.vault.close();
    await state.store.close();
  }
}
