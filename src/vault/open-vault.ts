import { KurabanError, isKurabanError } from '../errors/index.js';
import { createKeyFile, openKeyFileProvider, openPkcs11Provider, Keyring, type RootKeyProvider } from '../keys/index.js';
import { openStore, type Store } from '../store/index.js';
import { createVault, type Vault } from './vault.js';
import type { SealWorkerMemory } from './sealer.js';
import { DEFAULT_RESIDENCY_CONFIG, type ResidencyConfig } from './residency.js';

export interface VaultLocation {
  readonly dataDir: string;
  readonly databaseUrl?: string | undefined;
  readonly keyFile: string;
  readonly passphrase?: string | undefined;
  /** Where the root key lives: the key file (default) or a PKCS#11 token. */
  readonly keyProvider?: 'file' | 'pkcs11' | undefined;
  readonly pkcs11?: Pkcs11Location | undefined;
  /** Production mode: a key file must be passphrase-protected (no clear root key on disk). */
  readonly production?: boolean | undefined;
  /** Where the store and the root key provider are (registered location ids or declarations); default `local` for both. */
  readonly residency?: ResidencyConfig | undefined;
  /** SQLite: the writing connection's page cache in MiB (see StoreLocation.sqliteCacheMiB). */
  readonly sqliteCacheMiB?: number | undefined;
  /** SQLite: background checkpoints during bulk loads (see StoreLocation.sqliteBackgroundCheckpoints). */
  readonly sqliteBackgroundCheckpoints?: boolean | undefined;
}

export interface Pkcs11Location {
  readonly library: string;
  readonly tokenLabel: string;
  readonly keyLabel: string;
  readonly pin?: string | undefined;
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
  /** Their nursery size (see VaultDeps.sealWorkerMemory). */
  readonly sealWorkerMemory?: SealWorkerMemory | undefined;
  /** Host in new tenants' log origins (see VaultDeps.logHost). */
  readonly logHost?: string | undefined;
  /** Access-log integration interval in ms (see VaultDeps.logIntervalMs). */
  readonly logIntervalMs?: number | undefined;
  /**
   * Open even when the configured store or key location breaks a collection's residency rule (the
   * commands that fix the registry or the rules). Otherwise such a vault opens sealed, saying why.
   */
  readonly residencyRepair?: boolean | undefined;
}

export async function openVault(location: VaultLocation, options: OpenOptions = {}): Promise<VaultState> {
  const store = openStore(location);
  await store.migrate();
  return openWithStore(store, location, options);
}

/**
 * The root key provider a location names. The unseal secret is the key file's passphrase or the
 * token's PIN. Throws KEY_FILE_INVALID / KEY_PROVIDER_UNAVAILABLE with a reason (never the secret).
 */
export async function openRootKeyProvider(location: VaultLocation, secret?: string): Promise<RootKeyProvider> {
  if (location.keyProvider === 'pkcs11') {
    const p = location.pkcs11;
    if (!p) throw new KurabanError('CONFIG_INVALID', 'PKCS#11 provider needs KURABAN_PKCS11_LIBRARY and KURABAN_PKCS11_TOKEN');
    const pin = secret ?? p.pin;
    if (pin === undefined) throw new KurabanError('KEY_PROVIDER_UNAVAILABLE', 'the token PIN is not set; run `kuraban unseal`');
    return openPkcs11Provider({ library: p.library, tokenLabel: p.tokenLabel, keyLabel: p.keyLabel, pin });
  }
  const provider = await openKeyFileProvider(location.keyFile, secret ?? location.passphrase);
  if (location.production && provider.kind === 'file' && !provider.protected) {
    provider.close();
    throw new KurabanError('KEY_FILE_INVALID', 'production mode refuses a key file holding the root key in clear; protect it with a passphrase or use a PKCS#11 token');
  }
  return provider;
}

/** Opens the vault over an open store: any key problem leaves it sealed with the reason. */
export async function openWithStore(store: Store, location: VaultLocation, options: OpenOptions = {}, secret?: string): Promise<VaultState> {
  let provider: RootKeyProvider;
  try {
    provider = await openRootKeyProvider(location, secret);
  } catch (e) {
    if (isKurabanError(e)) return { sealed: true, reason: e.message, store };
    throw e;
  }
  let reason: string | undefined;
  try {
    reason = await bindRootKey(store, provider);
  } catch (e) {
    // A token that fails while the check value is verified: sealed, not a crash.
    if (!isKurabanError(e)) throw e;
    reason = e.message;
  }
  if (reason !== undefined) {
    provider.close();
    return { sealed: true, reason, store };
  }
  const vault = createVault({
    store,
    provider,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.sealWorkers !== undefined ? { sealWorkers: options.sealWorkers } : {}),
    ...(options.sealWorkerMemory !== undefined ? { sealWorkerMemory: options.sealWorkerMemory } : {}),
    logHost: options.logHost,
    logIntervalMs: options.logIntervalMs,
  });
  // Where the store and key provider are configured must satisfy every collection's rules: else sealed.
  const violation = await vault.residency.applyConfiguration(location.residency ?? DEFAULT_RESIDENCY_CONFIG).catch(async (e: unknown) => {
    await vault.close();
    throw e;
  });
  if (violation !== undefined && !options.residencyRepair) {
    await vault.close();
    return { sealed: true, reason: `${violation.code}: ${violation.message}`, store };
  }
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
