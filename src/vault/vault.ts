import { availableParallelism } from 'node:os';
import { Keyring, type RootKeyProvider } from '../keys/index.js';
import { issueApiKey, authenticateApiKey, type IssuedApiKey, type IssueOptions, type Principal } from '../policy/index.js';
import type { Store } from '../store/index.js';
import { AccessLog, Integrator } from './access-log.js';
import { LogReader } from './log-reader.js';
import { auditEntries, type Audit } from './audit.js';
import { Collections } from './collections.js';
import { createRecordIdGenerator } from './record-id.js';
import { Records } from './records.js';
import { inlineSealer, workerSealer, type SealWorkerMemory } from './sealer.js';
import { LOG_HOST_PATTERN, Tenants } from './tenants.js';
import { Policies } from './policies.js';
import { KurabanError } from '../errors/index.js';
import { Erasure } from './erasure.js';
import { createBackup, type BackupOptions, type BackupResult } from '../backup/index.js';
import { KeyAdmin } from './key-admin.js';
import { Tokens } from './tokens.js';
import { Residency } from './residency.js';
import { AccessReports } from './access-reports.js';

export interface VaultDeps {
  readonly store: Store;
  readonly provider: RootKeyProvider;
  readonly clock?: () => Date;
  readonly keyCacheEntries?: number;
  /** Worker threads that seal large batches; 0 seals inline. Default: one less than the cores, at most 4. */
  readonly sealWorkers?: number;
  /** Their nursery size (sealer.ts): 'large' by default; 'small' where peak memory is bounded (`kuraban import`). */
  readonly sealWorkerMemory?: SealWorkerMemory;
  /** Host in each new tenant's log origin `<host>/kuraban/<tenant>`; default `kuraban.local`. */
  readonly logHost?: string | undefined;
  /** Access-log integration interval (the Integrator's, once started). Default 1000 ms. */
  readonly logIntervalMs?: number | undefined;
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
  /** Tokenise and detokenise values of tokenised fields (docs/tokens.md). */
  readonly tokens: Tokens;
  /** Each tenant's Cedar policies and purposes, versioned, with their engines. */
  readonly policies: Policies;
  /** The access log: append entries in a change's transaction, integrate into the signed tree. */
  readonly accessLog: AccessLog;
  /** Integrates the access log every logIntervalMs once started (`serve` starts it); stopped by close(). */
  readonly integrator: Integrator;
  /** The access log's read side: tiles, proofs, entries by subject. */
  readonly logReader: LogReader;
  /** Rotation of root, tenant and data keys; re-wrapping, re-encryption, retirement. */
  readonly keys: KeyAdmin;
  /** Erasing a person (crypto-shredding), with a receipt from the access log. */
  readonly erasure: Erasure;
  /** Locations, residency rules and their enforcement, the data map (docs/residency.md). */
  readonly residency: Residency;
  /** Who can beside who did, per collection and period (docs/residency.md). */
  readonly reports: AccessReports;
  readonly clock: () => Date;
  /** Issues an API key; a tenant key's issuance is an entry in that tenant's log (same transaction). */
  issueApiKey(options: Omit<IssueOptions, 'now'>, audit?: Audit): Promise<IssuedApiKey>;
  /** Revokes a key; false if unknown or already revoked. A tenant key's revocation is logged there. */
  revokeApiKey(id: string, audit?: Audit): Promise<boolean>;
  /**
   * Rotates a key: a new key (new id and secret) with the same name, tenant, roles, duties and expiry,
   * and the old one revoked, in one transaction (logged as api_key.rotate). API_KEY_NOT_FOUND if the
   * key is unknown, revoked or expired.
   */
  rotateApiKey(id: string, audit?: Audit): Promise<IssuedApiKey>;
  authenticate(presented: string): Promise<Principal>;
  /**
   * Writes a data archive and a key archive of one consistent snapshot (src/backup), logged as
   * backup.create in every tenant's log; the archives' headers record the destination location,
   * which must be registered and allowed by every collection's residency rules (checked before
   * anything is created there: RESIDENCY_VIOLATION / LOCATION_NOT_FOUND).
   */
  backup(options: Omit<BackupOptions, 'now'>, audit: Audit): Promise<BackupResult>;
  /** Forgets all unwrapped keys. */
  seal(): void;
  /** Seals and stops the sealing workers. */
  close(): Promise<void>;
}

export function createVault(deps: VaultDeps): Vault {
  const clock = deps.clock ?? (() => new Date());
  const newId = createRecordIdGenerator(() => clock().getTime());
  const keyring = new Keyring({ provider: deps.provider, clock, ...(deps.keyCacheEntries ? { cacheEntries: deps.keyCacheEntries } : {}) });
  if (deps.logHost !== undefined && !LOG_HOST_PATTERN.test(deps.logHost)) throw new KurabanError('CONFIG_INVALID', 'log host must be a host name, optionally with a port');
  const accessLog = new AccessLog({ store: deps.store, keyring });
  const policies = new Policies({ store: deps.store, clock, accessLog });
  const tenants = new Tenants({
    store: deps.store,
    keyring,
    clock,
    accessLog,
    installPolicy: (tx, id, by) => policies.installDefault(tx, id, by),
    ...(deps.logHost !== undefined ? { logHost: deps.logHost } : {}),
  });
  const integrator = new Integrator(accessLog, deps.logIntervalMs !== undefined ? { intervalMs: deps.logIntervalMs } : {});
  const collections = new Collections({ store: deps.store, keyring, tenants, clock, newId, accessLog });
  const workers = deps.sealWorkers ?? defaultSealWorkers();
  const sealer = workers > 0 ? workerSealer(workers, deps.sealWorkerMemory) : inlineSealer();
  const tokens = new Tokens({ store: deps.store, keyring, collections, clock, accessLog });
  const records = new Records({ store: deps.store, keyring, collections, sealer, clock, newId, accessLog, tokens });
  const logReader = new LogReader({ store: deps.store });
  const residency = new Residency({ store: deps.store, accessLog, collections, tenants, clock, keyProviderKind: deps.provider.kind });
  return Object.freeze({
    residency,
    reports: new AccessReports({ store: deps.store, tenants, collections, policies, logReader, clock }),
    store: deps.store,
    keyring,
    tenants,
    collections,
    records,
    tokens,
    policies,
    accessLog,
    integrator,
    clock,
    issueApiKey: (options: Omit<IssueOptions, 'now'>, audit?: Audit) =>
      deps.store.transaction(async (tx) => {
        const issued = await issueApiKey(tx, { ...options, now: clock() });
        if (audit && issued.tenantId !== null) await accessLog.append(tx, ...auditEntries(audit, issued.tenantId, 'api_key.create', {}, 'ok', clock()));
        return issued;
      }),
    revokeApiKey: (id: string, audit?: Audit) =>
      deps.store.transaction(async (tx) => {
        const key = await tx.getApiKey(id);
        const done = key !== undefined && (await tx.revokeApiKey(id, clock().toISOString()));
        if (done && audit && key.tenantId !== null) await accessLog.append(tx, ...auditEntries(audit, key.tenantId, 'api_key.revoke', {}, 'ok', clock()));
        return done;
      }),
    rotateApiKey: (id: string, audit?: Audit) =>
      deps.store.transaction(async (tx) => {
        const old = await tx.getApiKey(id);
        const now = clock();
        if (!old || old.revokedAt !== null || (old.expiresAt !== null && Date.parse(old.expiresAt) <= now.getTime())) throw new KurabanError('API_KEY_NOT_FOUND');
        const issued = await issueApiKey(tx, {
          name: old.name,
          role: old.role as IssueOptions['role'],
          tenantId: old.tenantId,
          ...(old.role === 'tenant' ? { roles: old.roles, duties: old.duties } : {}),
          expiresAt: old.expiresAt,
          now,
        });
        if (!(await tx.revokeApiKey(id, now.toISOString()))) throw new KurabanError('API_KEY_NOT_FOUND');
        if (audit && old.tenantId !== null) await accessLog.append(tx, ...auditEntries(audit, old.tenantId, 'api_key.rotate', {}, 'ok', now));
        return issued;
      }),
    authenticate: (presented: string) => authenticateApiKey(deps.store, presented, clock()),
    backup: async (options: Omit<BackupOptions, 'now'>, audit: Audit) => {
      const location = await residency.checkBackup(options.location, audit);
      const result = await createBackup(deps.store, deps.provider, { ...options, now: clock() });
      const tenants = await deps.store.listTenants();
      await deps.store.transaction(async (tx) => {
        for (const t of tenants) await accessLog.append(tx, ...auditEntries(audit, t.id, 'backup.create', { location: location.id }, 'ok', clock()));
      });
      await residency.recordBackup(location, result.pair, new Date(result.createdAt));
      return result;
    },
    seal: () => keyring.seal(),
    close: async () => {
      await integrator.stop();
      keyring.seal();
      await sealer.close();
    },
    logReader,
    keys: new KeyAdmin({ store: deps.store, keyring, collections, accessLog, clock }),
    erasure: new Erasure({ store: deps.store, keyring, accessLog, logReader, clock }),
  });
}
