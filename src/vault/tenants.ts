import { KurabanError } from '../errors/index.js';
import { EMPTY_ROOT } from '../ledger/index.js';
import { isCleanText } from '../schema/index.js';
import type { Keyring } from '../keys/index.js';
import type { Store, StoreOps, TenantRow } from '../store/index.js';
import type { AccessLog } from './access-log.js';
import { auditEntries, type Audit } from './audit.js';
import { TENANT_ID_PATTERN } from './identifiers.js';

export type Tenant = TenantRow;

export interface TenantsDeps {
  readonly store: Store;
  readonly keyring: Keyring;
  readonly clock: () => Date;
  /** Host part of each tenant's log origin `<host>/kuraban/<tenant>`; default DEFAULT_LOG_HOST. */
  readonly logHost?: string;
  /** Where audited changes append their log entry (in the change's transaction). */
  readonly accessLog?: AccessLog;
  /** Writes the tenant's first policy version (the default) with the tenant. */
  readonly installPolicy?: (tx: StoreOps, tenantId: string, createdBy: string) => Promise<void>;
}

export const DEFAULT_LOG_HOST = 'kuraban.local';
/** A log host: a DNS name or address, optionally with a port (it becomes part of a note key name). */
export const LOG_HOST_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?$/;

/** A tenant's log origin (c2sp.org/tlog-checkpoint line 1, and the log key's name). */
export function logOrigin(host: string, tenantId: string): string {
  return `${host}/kuraban/${tenantId}`;
}

/** Tenants: one organisation each (a municipality, keyed by its local-government code), with its own key. */
export class Tenants {
  constructor(private readonly deps: TenantsDeps) {}

  async create(id: string, name: string, audit?: Audit): Promise<Tenant> {
    const problems = [];
    if (typeof id !== 'string' || !TENANT_ID_PATTERN.test(id)) problems.push({ field: 'id', reason: 'invalid_tenant_id' });
    if (typeof name !== 'string' || name.trim().length === 0 || name.length > 200 || !isCleanText(name)) problems.push({ field: 'name', reason: 'invalid_name' });
    if (problems.length > 0) throw new KurabanError('REQUEST_INVALID', 'invalid tenant', { details: problems });
    const row: TenantRow = { id, name, createdAt: this.deps.clock().toISOString() };
    await this.deps.store.transaction(async (tx) => {
      await tx.insertTenant(row);
      await this.deps.keyring.createTenantKey(tx, id);
      // The tenant's access log: its own Ed25519 key, wrapped by the tenant key, created with it.
      const origin = logOrigin(this.deps.logHost ?? DEFAULT_LOG_HOST, id);
      const verifierKey = await this.deps.keyring.createLogKey(tx, id, origin);
      await tx.insertLogState({ tenantId: id, origin, verifierKey, size: 0, root: Buffer.from(EMPTY_ROOT) });
      await this.deps.installPolicy?.(tx, id, audit?.principal.id ?? 'kuraban');
      // The tenant's first entry records its own creation.
      if (audit && this.deps.accessLog) await this.deps.accessLog.append(tx, ...auditEntries(audit, id, 'tenant.create', {}, 'ok', this.deps.clock()));
    });
    return row;
  }

  async get(id: string): Promise<Tenant> {
    return this.require(id);
  }

  async list(): Promise<Tenant[]> {
    return this.deps.store.listTenants();
  }

  async require(id: string, ops: StoreOps = this.deps.store): Promise<Tenant> {
    const row = typeof id === 'string' && TENANT_ID_PATTERN.test(id) ? await ops.getTenant(id) : undefined;
    if (!row) throw new KurabanError('TENANT_NOT_FOUND');
    return row;
  }
}
