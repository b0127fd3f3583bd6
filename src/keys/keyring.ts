import { randomBytes } from 'node:crypto';
import { aadEncoder, AES_256_KEY_BYTES, encodeAad, hkdfSha256, openWrappedKey, openWrappedKeys, seal } from '../crypto/index.js';
import { KurabanError } from '../errors/index.js';
import { ED25519_KEY_BYTES, formatVerifierKey, isValidKeyName, noteSignerFromSeed, type NoteSigner } from '../ledger/index.js';
import { KeyCache } from './key-cache.js';
import type { RootKeyProvider } from './root-key-provider.js';

/** The subset of storage the keyring needs (structurally the store's own methods; no import of store/). */
export type WrappedKeyKind = 'tenant' | 'collection' | 'index' | 'subject' | 'log' | 'token';
export interface WrappedKey {
  readonly tenantId: string;
  readonly kind: WrappedKeyKind;
  readonly scopeId: string;
  readonly version: number;
  readonly wrapped: Buffer;
  readonly createdAt: string;
  /** Version of the tenant key that wraps it (0 for tenant keys: the root key wraps those). */
  readonly wrappedBy: number;
}
export interface KeyStoreOps {
  getWrappedKey(tenantId: string, kind: WrappedKeyKind, scopeId: string, version?: number): Promise<WrappedKey | undefined>;
  getLatestWrappedKeys(tenantId: string, kind: WrappedKeyKind, scopeIds: readonly string[]): Promise<WrappedKey[]>;
  /** Returns how many rows were inserted (fewer than given when `ignoreExisting` skipped some). */
  insertWrappedKeys(rows: readonly WrappedKey[], ignoreExisting: boolean): Promise<number>;
  listWrappedKeys(filter: { readonly tenantId: string | null; readonly kind?: WrappedKeyKind; readonly scopeId?: string }): Promise<WrappedKey[]>;
  listWrappedKeysWrappedBelow(tenantId: string, below: number, limit: number): Promise<WrappedKey[]>;
  rewrapKeys(rows: ReadonlyArray<{ readonly row: WrappedKey; readonly fromWrappedBy: number }>): Promise<number>;
  /** Present inside a transaction: keys created or read there are cached only once it commits. */
  onCommit?(fn: () => void): void;
}

export interface DataKey {
  readonly version: number;
  readonly key: Buffer;
}

export interface KeyringOptions {
  readonly provider: RootKeyProvider;
  readonly clock?: () => Date;
  /** Unwrapped keys held in memory at most (tenant, data and derived index keys together). */
  readonly cacheEntries?: number;
}

const WRAPPED_KEY_AAD = 'kuraban/wrapped-key/v1';
const BLIND_INDEX_INFO = 'kuraban/blind-index/v1';
const TOKEN_LOOKUP_INFO = 'kuraban/token-lookup/v1';
const FIRST_VERSION = 1;
/** `wrapped_by` of tenant key rows: the root key wraps them, not a tenant key version. */
const ROOT_WRAPPED = 0;

/** What the store holds for some subjects: their current keys, and for erased subjects the version their next key must take. */
export interface StoredSubjectKeys {
  readonly existing: Map<string, DataKey>;
  readonly nextVersions: Map<string, number>;
}

/**
 * The key hierarchy (see NOTES.md): root (provider) → tenant key → collection, index and subject
 * keys. Every wrap binds (tenant, kind, scope, version) as AAD, so a wrapped key moved to another
 * row does not unwrap.
 */
export class Keyring {
  private readonly provider: RootKeyProvider;
  private readonly clock: () => Date;
  private readonly cache: KeyCache;

  constructor(options: KeyringOptions) {
    this.provider = options.provider;
    this.clock = options.clock ?? (() => new Date());
    this.cache = new KeyCache(options.cacheEntries ?? 20_000);
  }

  get rootKeyId(): string {
    return this.provider.keyId;
  }

  /** A wrapped check value: proves at unseal time that the provider holds this store's root key. */
  async createRootCheck(): Promise<string> {
    return (await this.provider.wrap(Buffer.alloc(32), rootCheckAad())).toString('base64');
  }

  async verifyRootCheck(check: string): Promise<boolean> {
    try {
      const plain = await this.provider.unwrap(Buffer.from(check, 'base64'), rootCheckAad());
      return plain.length === 32 && plain.every((b) => b === 0);
    } catch {
      return false;
    }
  }

  async createTenantKey(ops: KeyStoreOps, tenantId: string): Promise<void> {
    const key = randomBytes(AES_256_KEY_BYTES);
    const wrapped = await this.provider.wrap(key, wrapAad(tenantId, 'tenant', tenantId, FIRST_VERSION));
    key.fill(0);
    await ops.insertWrappedKeys([this.row(tenantId, 'tenant', tenantId, FIRST_VERSION, wrapped, ROOT_WRAPPED)], false);
  }

  /** A collection's data key (for records without a subject) and its index key (for blind indexes). */
  async createCollectionKeys(ops: KeyStoreOps, tenantId: string, collectionId: string): Promise<void> {
    const tenantKey = await this.currentTenantKey(ops, tenantId);
    const rows = (['collection', 'index'] as const).map((kind) => {
      const key = randomBytes(AES_256_KEY_BYTES);
      const wrapped = seal(tenantKey.key, key, wrapAad(tenantId, kind, collectionId, FIRST_VERSION));
      key.fill(0);
      return this.row(tenantId, kind, collectionId, FIRST_VERSION, wrapped, tenantKey.version);
    });
    await ops.insertWrappedKeys(rows, false);
  }

  /**
   * The tenant's access-log key: a 32-byte Ed25519 seed (RFC 8032 §5.1.5) from the CSPRNG, wrapped
   * under the tenant key as kind 'log', scope = tenant, version 1. Its note key name is the log's
   * origin. Returns the public verifier key text (`name+hexid+base64`, c2sp.org/signed-note).
   */
  async createLogKey(ops: KeyStoreOps, tenantId: string, origin: string): Promise<string> {
    if (!isValidKeyName(origin)) throw new KurabanError('REQUEST_INVALID', 'invalid log origin');
    const tenantKey = await this.currentTenantKey(ops, tenantId);
    const seed = randomBytes(ED25519_KEY_BYTES);
    try {
      const signer = noteSignerFromSeed(origin, seed);
      const wrapped = seal(tenantKey.key, seed, wrapAad(tenantId, 'log', tenantId, FIRST_VERSION));
      await ops.insertWrappedKeys([this.row(tenantId, 'log', tenantId, FIRST_VERSION, wrapped, tenantKey.version)], false);
      return formatVerifierKey(origin, signer.publicKey);
    } finally {
      seed.fill(0);
    }
  }

  /**
   * A note signer for the tenant's log (key name = `origin`). The seed is kept only in the key cache
   * (zeroed on eviction and seal) like every unwrapped key; the signer holds a node:crypto KeyObject,
   * so callers should make one per integration rather than keep it. DECRYPTION_FAILED when the
   * tenant has no log key.
   */
  async logSigner(ops: KeyStoreOps, tenantId: string, origin: string): Promise<NoteSigner> {
    const seed = await this.dataKey(ops, tenantId, 'log', tenantId);
    return noteSignerFromSeed(origin, seed.key);
  }

  /** The current data key of a collection, or a given version for reading older records. */
  async collectionKey(ops: KeyStoreOps, tenantId: string, collectionId: string, version?: number): Promise<DataKey> {
    return this.dataKey(ops, tenantId, 'collection', collectionId, version);
  }

  /** A subject's data key at a version (for reading). DECRYPTION_FAILED if the key is gone. */
  async subjectKey(ops: KeyStoreOps, tenantId: string, subjectId: string, version: number): Promise<DataKey> {
    return this.dataKey(ops, tenantId, 'subject', subjectId, version);
  }

  /**
   * The current keys of those subjects that already have one (cache, then store); subjects without
   * a key are absent from the map. Batch sealing uses the two halves (cachedSubjectKeys, then
   * storedSubjectKeys, vault/records.ts): new keys are made by the sealer and inserted with the
   * records, and a concurrent creation is detected by the insert count.
   */
  async existingSubjectKeys(ops: KeyStoreOps, tenantId: string, subjectIds: readonly string[]): Promise<Map<string, DataKey>> {
    const { existing, missing } = this.cachedSubjectKeys(tenantId, subjectIds);
    for (const [s, k] of (await this.storedSubjectKeys(ops, tenantId, missing)).existing) existing.set(s, k);
    return existing;
  }

  /** For batch sealing: the subjects' current keys that the cache holds, and the (distinct) subjects it does not. */
  cachedSubjectKeys(tenantId: string, subjectIds: readonly string[]): { existing: Map<string, DataKey>; missing: string[] } {
    const existing = new Map<string, DataKey>();
    const missing: string[] = [];
    for (const s of new Set(subjectIds)) {
      const latest = this.cache.get(latestId(tenantId, 'subject', s))?.readUInt32BE(0);
      const key = latest === undefined ? undefined : this.cachedKey(cacheId(tenantId, 'subject', s, latest));
      if (latest !== undefined && key) existing.set(s, { version: latest, key });
      else missing.push(s);
    }
    return { existing, missing };
  }

  /**
   * For batch sealing: the store's word on subjects the cache does not hold — the current keys of
   * those that have one, and for erased subjects (whose newest row is an erasure tombstone) the
   * version their new key must take: above every destroyed version, so that a process still caching
   * a destroyed key can never pass it off as the new one. Both maps empty: none has a key row.
   */
  async storedSubjectKeys(ops: KeyStoreOps, tenantId: string, subjectIds: readonly string[]): Promise<StoredSubjectKeys> {
    const existing = new Map<string, DataKey>();
    const nextVersions = new Map<string, number>();
    if (subjectIds.length === 0) return { existing, nextVersions };
    const rows = await ops.getLatestWrappedKeys(tenantId, 'subject', subjectIds);
    // Keys are opened together per wrapping tenant-key version (openWrappedKeys: one AES-KW pass over
    // all of them instead of a cipher object per key).
    const byWrapper = new Map<number, Array<(typeof rows)[number]>>();
    for (const row of rows) {
      if (isTombstone(row)) {
        nextVersions.set(row.scopeId, row.version + 1);
        continue;
      }
      let group = byWrapper.get(row.wrappedBy);
      if (!group) byWrapper.set(row.wrappedBy, (group = []));
      group.push(row);
    }
    for (const [wrappedBy, group] of byWrapper) {
      const tenantKey = await this.tenantKey(ops, tenantId, wrappedBy);
      const keys = openWrappedKeys(
        tenantKey.key,
        group.map((row) => row.wrapped),
        (i) => wrapAad(tenantId, 'subject', (group[i] as (typeof group)[number]).scopeId, (group[i] as (typeof group)[number]).version),
      );
      for (let i = 0; i < group.length; i++) {
        const row = group[i] as (typeof group)[number];
        const key = keys[i] as Buffer;
        existing.set(row.scopeId, { version: row.version, key });
        this.remember(ops, tenantId, 'subject', row.scopeId, row.version, key);
      }
    }
    return { existing, nextVersions };
  }

  /** The tenant key that wraps the tenant's data keys (for sealing new subject keys in a batch). */
  async tenantWrappingKey(ops: KeyStoreOps, tenantId: string): Promise<DataKey> {
    return this.tenantKey(ops, tenantId);
  }


  /** The per-field blind-index key: HKDF-SHA-256 from the collection's index key (never from a data key). */
  async fieldIndexKey(ops: KeyStoreOps, tenantId: string, collectionId: string, field: string): Promise<Buffer> {
    const id = `${tenantId}\0bi\0${collectionId}\0${field}`;
    const cached = this.cachedKey(id);
    if (cached) return cached;
    const indexKey = await this.dataKey(ops, tenantId, 'index', collectionId, FIRST_VERSION);
    // Deterministic: a concurrent caller deriving the same key stores the same bytes.
    const derived = hkdfSha256(indexKey.key, Buffer.alloc(0), `${BLIND_INDEX_INFO}\0${collectionId}\0${field}`);
    this.cache.set(id, Buffer.from(derived));
    return derived;
  }

  /**
   * A collection's token key (kind 'token', docs/tokens.md): the given version, or the newest —
   * created at version 1 the first time a collection tokenises. Field token keys are derived from it
   * (tokens/token-keys.ts); it rotates by version like a data key, and tokens keep their version.
   */
  async tokenKey(ops: KeyStoreOps, tenantId: string, collectionId: string, version?: number): Promise<DataKey> {
    if (version !== undefined) return this.dataKey(ops, tenantId, 'token', collectionId, version);
    const latest = this.cache.get(latestId(tenantId, 'token', collectionId))?.readUInt32BE(0);
    if (latest !== undefined || (await ops.getWrappedKey(tenantId, 'token', collectionId))) return this.dataKey(ops, tenantId, 'token', collectionId);
    const tenantKey = await this.currentTenantKey(ops, tenantId);
    const key = randomBytes(AES_256_KEY_BYTES);
    try {
      const wrapped = seal(tenantKey.key, key, wrapAad(tenantId, 'token', collectionId, FIRST_VERSION));
      // Two first tokenisations at once: one row wins, both then read it.
      await ops.insertWrappedKeys([this.row(tenantId, 'token', collectionId, FIRST_VERSION, wrapped, tenantKey.version)], true);
    } finally {
      key.fill(0);
    }
    return this.dataKey(ops, tenantId, 'token', collectionId, FIRST_VERSION);
  }

  /** A new version of a collection's token key: new tokens use it at once, older tokens keep theirs. */
  async rotateTokenKey(ops: KeyStoreOps, tenantId: string, collectionId: string): Promise<number> {
    await this.tokenKey(ops, tenantId, collectionId);
    return this.newDataKeyVersion(ops, tenantId, 'token', collectionId);
  }

  /**
   * The key that turns a token into its look-up hash (HKDF-SHA-256 from the collection's index key,
   * which never rotates): a token is found whatever key version made it.
   */
  async tokenLookupKey(ops: KeyStoreOps, tenantId: string, collectionId: string, field: string): Promise<Buffer> {
    const id = `${tenantId}\0tl\0${collectionId}\0${field}`;
    const cached = this.cachedKey(id);
    if (cached) return cached;
    const indexKey = await this.dataKey(ops, tenantId, 'index', collectionId, FIRST_VERSION);
    const derived = hkdfSha256(indexKey.key, Buffer.alloc(0), `${TOKEN_LOOKUP_INFO}\0${collectionId}\0${field}`);
    this.cache.set(id, Buffer.from(derived));
    return derived;
  }

  // ── Rotation (NOTES.md "Rotation"). Each step runs inside the caller's transaction. ──────────

  /**
   * Root rotation: re-wraps every tenant key version (all tenants) under `next`, a provider holding
   * the new root key. Records, data keys and index keys are not touched. Returns the new root check
   * value; the caller stores it with the new root key id in the same transaction.
   */
  async rewrapTenantKeysUnder(ops: KeyStoreOps, next: RootKeyProvider): Promise<{ rewrapped: number; rootCheck: string }> {
    const rows = await ops.listWrappedKeys({ tenantId: null, kind: 'tenant' });
    const changed: Array<{ row: WrappedKey; fromWrappedBy: number }> = [];
    for (const row of rows) {
      const aad = wrapAad(row.tenantId, 'tenant', row.scopeId, row.version);
      const key = await this.provider.unwrap(row.wrapped, aad);
      try {
        changed.push({ row: { ...row, wrapped: await next.wrap(key, aad) }, fromWrappedBy: row.wrappedBy });
      } finally {
        key.fill(0);
      }
    }
    if ((await ops.rewrapKeys(changed)) !== changed.length) throw new KurabanError('KEY_ROTATION_INVALID', 'tenant keys changed during root rotation; run it again');
    return { rewrapped: changed.length, rootCheck: (await next.wrap(Buffer.alloc(32), rootCheckAad())).toString('base64') };
  }

  /** A new tenant key version, wrapped by the root key; new data keys are wrapped by it at once. */
  async rotateTenantKey(ops: KeyStoreOps, tenantId: string): Promise<number> {
    const current = await ops.getWrappedKey(tenantId, 'tenant', tenantId);
    if (!current) throw new KurabanError('TENANT_NOT_FOUND', 'tenant has no key');
    const version = current.version + 1;
    const key = randomBytes(AES_256_KEY_BYTES);
    try {
      const wrapped = await this.provider.wrap(key, wrapAad(tenantId, 'tenant', tenantId, version));
      await ops.insertWrappedKeys([this.row(tenantId, 'tenant', tenantId, version, wrapped, ROOT_WRAPPED)], false);
      this.remember(ops, tenantId, 'tenant', tenantId, version, key);
    } finally {
      key.fill(0);
    }
    return version;
  }

  /**
   * Moves up to `limit` of a tenant's key rows from older tenant key versions to the newest one:
   * unwrap under the version that wrapped each row, wrap under the newest, compare-and-set. Returns
   * how many rows moved (0 when none are left).
   */
  async rewrapBatch(ops: KeyStoreOps, tenantId: string, limit: number): Promise<number> {
    const target = await this.currentTenantKey(ops, tenantId);
    const rows = await ops.listWrappedKeysWrappedBelow(tenantId, target.version, limit);
    const changed: Array<{ row: WrappedKey; fromWrappedBy: number }> = [];
    for (const row of rows) {
      if (isTombstone(row)) {
        changed.push({ row: { ...row, wrappedBy: target.version }, fromWrappedBy: row.wrappedBy });
        continue;
      }
      const parent = await this.tenantKey(ops, tenantId, row.wrappedBy);
      const aad = wrapAad(tenantId, row.kind, row.scopeId, row.version);
      const key = openWrappedKey(parent.key, row.wrapped, aad);
      changed.push({ row: { ...row, wrapped: seal(target.key, key, aad), wrappedBy: target.version }, fromWrappedBy: row.wrappedBy });
      key.fill(0);
    }
    return ops.rewrapKeys(changed);
  }

  /** A new version of a collection's data key (wrapped by the newest tenant key); new writes use it at once. */
  async rotateCollectionKey(ops: KeyStoreOps, tenantId: string, collectionId: string): Promise<number> {
    return this.newDataKeyVersion(ops, tenantId, 'collection', collectionId);
  }

  /** A new version of a subject's data key (re-encryption moves the subject's records to it). */
  async rotateSubjectKey(ops: KeyStoreOps, tenantId: string, subjectId: string): Promise<DataKey> {
    const version = await this.newDataKeyVersion(ops, tenantId, 'subject', subjectId);
    return this.dataKey(ops, tenantId, 'subject', subjectId, version);
  }

  /** Forgets cached key versions of a scope and its newest-version pointer (erasure, retirement, a stale write). */
  forget(tenantId: string, kind: WrappedKeyKind, scopeId: string, versions: readonly number[]): void {
    for (const v of versions) this.cache.delete(cacheId(tenantId, kind, scopeId, v));
    this.cache.delete(latestId(tenantId, kind, scopeId));
  }

  private async newDataKeyVersion(ops: KeyStoreOps, tenantId: string, kind: 'collection' | 'subject' | 'token', scopeId: string): Promise<number> {
    const current = await ops.getWrappedKey(tenantId, kind, scopeId);
    if (!current && kind === 'collection') throw new KurabanError('COLLECTION_NOT_FOUND');
    const version = (current?.version ?? 0) + 1;
    const tenantKey = await this.currentTenantKey(ops, tenantId);
    const key = randomBytes(AES_256_KEY_BYTES);
    const wrapped = seal(tenantKey.key, key, wrapAad(tenantId, kind, scopeId, version));
    await ops.insertWrappedKeys([this.row(tenantId, kind, scopeId, version, wrapped, tenantKey.version)], false);
    this.remember(ops, tenantId, kind, scopeId, version, key);
    key.fill(0);
    return version;
  }

  /** Forgets every unwrapped key (zeroed) and closes the provider. */
  seal(): void {
    this.cache.clear();
    this.provider.close();
  }

  /**
   * A copy of a cached key. The cache zeroes the keys it evicts, and any later cache access may
   * evict: a caller holding the cache's own buffer across an await could find it zeroed and
   * encrypt or index under an all-zero key. Callers own what they are handed.
   */
  private cachedKey(id: string): Buffer | undefined {
    const key = this.cache.get(id);
    return key && Buffer.from(key);
  }

  /**
   * The newest tenant key version as the STORE has it (not the cache): what a new key row must be
   * wrapped by. Another process may have rotated and retired the version this one cached; a key row
   * wrapped by a retired version could never be opened again.
   */
  private async currentTenantKey(ops: KeyStoreOps, tenantId: string): Promise<DataKey> {
    const row = await ops.getWrappedKey(tenantId, 'tenant', tenantId);
    if (!row) throw new KurabanError('TENANT_NOT_FOUND', 'tenant has no key');
    const key = await this.tenantKey(ops, tenantId, row.version);
    this.remember(ops, tenantId, 'tenant', tenantId, row.version, key.key);
    return key;
  }

  /** The tenant key: its newest version (which wraps new keys), or the version that wraps a given row. */
  private async tenantKey(ops: KeyStoreOps, tenantId: string, version?: number): Promise<DataKey> {
    const v = version ?? this.cache.get(latestId(tenantId, 'tenant', tenantId))?.readUInt32BE(0);
    if (v !== undefined) {
      const key = this.cachedKey(cacheId(tenantId, 'tenant', tenantId, v));
      if (key) return { version: v, key };
    }
    const row = await ops.getWrappedKey(tenantId, 'tenant', tenantId, v);
    if (!row) {
      // A retired tenant key version is as gone as an erased key: the row it wrapped cannot be opened.
      if (version !== undefined) throw new KurabanError('DECRYPTION_FAILED', 'decryption operation failed');
      throw new KurabanError('TENANT_NOT_FOUND', 'tenant has no key');
    }
    const key = await this.provider.unwrap(row.wrapped, wrapAad(tenantId, 'tenant', tenantId, row.version));
    this.remember(ops, tenantId, 'tenant', tenantId, row.version, key, version === undefined);
    return { version: row.version, key };
  }

  private async dataKey(ops: KeyStoreOps, tenantId: string, kind: WrappedKeyKind, scopeId: string, version?: number): Promise<DataKey> {
    const v = version ?? this.cache.get(latestId(tenantId, kind, scopeId))?.readUInt32BE(0);
    if (v !== undefined) {
      const key = this.cachedKey(cacheId(tenantId, kind, scopeId, v));
      if (key) return { version: v, key };
    }
    const row = await ops.getWrappedKey(tenantId, kind, scopeId, v);
    // A missing key (never created, or destroyed by erasure) is indistinguishable from a bad one.
    if (!row) throw new KurabanError('DECRYPTION_FAILED', 'decryption operation failed');
    const tenantKey = await this.tenantKey(ops, tenantId, row.wrappedBy);
    const key = openWrappedKey(tenantKey.key, row.wrapped, wrapAad(tenantId, kind, scopeId, row.version));
    this.remember(ops, tenantId, kind, scopeId, row.version, key, version === undefined);
    return { version: row.version, key };
  }

  private remember(ops: KeyStoreOps, tenantId: string, kind: WrappedKeyKind, scopeId: string, version: number, key: Buffer, isLatest = true): void {
    // Copied now: the caller may zero its buffer before the transaction commits.
    const copy = Buffer.from(key);
    const put = () => {
      this.cache.set(cacheId(tenantId, kind, scopeId, version), copy);
      if (isLatest) {
        const v = Buffer.alloc(4);
        v.writeUInt32BE(version, 0);
        this.cache.set(latestId(tenantId, kind, scopeId), v);
      }
    };
    if (ops.onCommit) ops.onCommit(put);
    else put();
  }

  private row(tenantId: string, kind: WrappedKeyKind, scopeId: string, version: number, wrapped: Buffer, wrappedBy: number): WrappedKey {
    return { tenantId, kind, scopeId, version, wrapped, createdAt: this.clock().toISOString(), wrappedBy };
  }
}

/** The AAD of a wrapped key: its tenant, kind, scope and version. Exported for batch sealing off-thread. */
export function wrappedKeyAad(tenantId: string, kind: WrappedKeyKind, scopeId: string, version: number): Buffer {
  return wrapAad(tenantId, kind, scopeId, version);
}

/**
 * wrappedKeyAad for many keys of one tenant and kind (a batch's new subject keys): `(scopeId, version) => AAD`,
 * byte for byte the same as wrappedKeyAad; each returned view is valid until the next call.
 */
export function wrappedKeyAadEncoder(tenantId: string, kind: WrappedKeyKind): (scopeId: string, version: number) => Buffer {
  const encode = aadEncoder(WRAPPED_KEY_AAD, [tenantId, kind]);
  return (scopeId, version) => encode(scopeId, version);
}

function wrapAad(tenantId: string, kind: WrappedKeyKind, scopeId: string, version: number): Buffer {
  return encodeAad(WRAPPED_KEY_AAD, [tenantId, kind, scopeId, version]);
}

/**
 * An erasure tombstone: a subject key row with no key (empty `wrapped`), left by erasure at a version
 * above every destroyed one. It opens nothing (reading it is DECRYPTION_FAILED like any missing key)
 * and makes the subject's next key take a fresh version number.
 */
export function isTombstone(row: { readonly wrapped: Buffer }): boolean {
  return row.wrapped.length === 0;
}

function rootCheckAad(): Buffer {
  return encodeAad('kuraban/root-check/v1', []);
}

function cacheId(tenantId: string, kind: string, scopeId: string, version: number): string {
  return `${tenantId}\0${kind}\0${scopeId}\0${version}`;
}

function latestId(tenantId: string, kind: string, scopeId: string): string {
  return `${tenantId}\0${kind}\0${scopeId}\0latest`;
}
