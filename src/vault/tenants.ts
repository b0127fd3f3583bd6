import { KurabanError } from '../errors/index.js';
import { isCleanText } from '../schema/index.js';
import type { Keyring } from '../keys/index.js';
import type { Store, StoreOps, TenantRow } from '../store/index.js';
import { TENANT_ID_PATTERN } from './identifiers.js';

export type Tenant = TenantRow;

export interface TenantsDeps {
  readonly store: Store;
  readonly keyring: Keyring;
  readonly clock: () => Date;
}

/** Tenants: one organisation each (a municipality, keyed by its local-government code), with its own key. */
export class Tenants {
  constructor(private readonly deps: TenantsDeps) {}

  async create(id: string, name: string): Promise<Tenant> {
    const problems = [];
    if (typeof id !== 'string' || !TENANT_ID_PATTERN.test(id)) problems.push({ field: 'id', reason: 'invalid_tenant_id' });
    if (typeof name !== 'string' || name.trim().length === 0 || name.length > 200 || !isCleanText(name)) problems.push({ field: 'name', reason: 'invalid_name' });
    if (problems.length > 0) throw new KurabanError('REQUEST_INVALID', 'invalid tenant', { details: problems });
    const row: TenantRow = { id, name, createdAt: this.deps.clock().toISOString() };
    await this.deps.store.transaction(async (tx) => {
      await tx.insertTenant(row);
      await this.deps.keyring.createTenantKey(tx, id);
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
