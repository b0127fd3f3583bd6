import { KurabanError } from '../errors/index.js';
import type { Keyring } from '../keys/index.js';
import { evolveSchema, parseCollectionSchema, type CollectionSchema, type SchemaChange } from '../schema/index.js';
import type { CollectionRow, Store, StoreOps, StoreTx } from '../store/index.js';
import type { AccessLog } from './access-log.js';
import { auditEntries, type Audit } from './audit.js';
import { COLLECTION_NAME_PATTERN } from './identifiers.js';
import type { Tenants } from './tenants.js';

export interface Collection {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly schema: CollectionSchema;
  readonly schemaVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface CollectionsDeps {
  readonly store: Store;
  readonly keyring: Keyring;
  readonly tenants: Tenants;
  readonly clock: () => Date;
  readonly newId: () => string;
  /** Where audited changes append their log entry (in the change's transaction). */
  readonly accessLog: AccessLog;
}

/** Collections: a typed set of records inside one tenant, with a declared, evolvable schema. */
export class Collections {
  /**
   * Collections by id and schema version: the schema is parsed once per version, and get() returns
   * the same frozen object while the row is unchanged, so what is memoised per Collection object
   * (the policy view in http/authorise.ts, the engine's decision-cache key) is found again.
   */
  private readonly known = new Map<string, Collection>();

  constructor(private readonly deps: CollectionsDeps) {}

  /** `alsoInTx` runs inside the creating transaction (residency rules are stored beside the collection). */
  async create(tenantId: string, name: string, schemaInput: unknown, audit?: Audit, alsoInTx?: (tx: StoreTx, row: CollectionRow) => Promise<void>): Promise<Collection> {
    await this.deps.tenants.require(tenantId);
    if (typeof name !== 'string' || !COLLECTION_NAME_PATTERN.test(name)) {
      throw new KurabanError('REQUEST_INVALID', `collection name must match ${COLLECTION_NAME_PATTERN.source}`, { details: [{ field: 'name', reason: 'invalid_name' }] });
    }
    const schema = parseCollectionSchema(schemaInput);
    const now = this.deps.clock().toISOString();
    const row: CollectionRow = {
      id: this.deps.newId(),
      tenantId,
      name,
      schemaJson: JSON.stringify(schema),
      schemaVersion: 1,
      createdAt: now,
      updatedAt: now,
    };
    await this.deps.store.transaction(async (tx) => {
      await tx.insertCollection(row);
      await this.deps.keyring.createCollectionKeys(tx, tenantId, row.id);
      if (audit) await this.log(tx, audit, tenantId, 'collection.create', name, schema);
      if (alsoInTx) await alsoInTx(tx, row);
    });
    return this.fromRow(row);
  }

  async get(tenantId: string, name: string, ops: StoreOps = this.deps.store): Promise<Collection> {
    const row = typeof name === 'string' && COLLECTION_NAME_PATTERN.test(name) ? await ops.getCollection(tenantId, name) : undefined;
    if (!row) {
      await this.deps.tenants.require(tenantId, ops);
      throw new KurabanError('COLLECTION_NOT_FOUND');
    }
    return this.fromRow(row);
  }

  async list(tenantId: string): Promise<Collection[]> {
    await this.deps.tenants.require(tenantId);
    const rows = await this.deps.store.listCollections(tenantId);
    return rows.map((r) => this.fromRow(r));
  }

  /** Applies an additive change; `expectedVersion`, when given, must be the current schema version. */
  async evolve(tenantId: string, name: string, change: SchemaChange, expectedVersion?: number, audit?: Audit): Promise<Collection> {
    const current = await this.get(tenantId, name);
    if (expectedVersion !== undefined && expectedVersion !== current.schemaVersion) throw new KurabanError('VERSION_CONFLICT');
    const schema = evolveSchema(current.schema, change);
    const now = this.deps.clock().toISOString();
    const ok = await this.deps.store.transaction(async (tx) => {
      const done = await tx.updateCollectionSchema(current.id, JSON.stringify(schema), current.schemaVersion, now);
      if (done && audit) await this.log(tx, audit, tenantId, 'collection.update', name, schema);
      return done;
    });
    if (!ok) throw new KurabanError('VERSION_CONFLICT', 'the schema changed concurrently; read it again');
    return { ...current, schema, schemaVersion: current.schemaVersion + 1, updatedAt: now };
  }

  private async log(tx: StoreOps, audit: Audit, tenantId: string, action: 'collection.create' | 'collection.update', name: string, schema: CollectionSchema): Promise<void> {
    const entries = auditEntries(audit, tenantId, action, { collection: name, fields: schema.fields.map((f) => f.name) }, 'ok', this.deps.clock());
    await this.deps.accessLog.append(tx, ...entries);
  }

  private fromRow(row: CollectionRow): Collection {
    const cacheKey = `${row.id}@${row.schemaVersion}`;
    const known = this.known.get(cacheKey);
    if (known && known.tenantId === row.tenantId && known.name === row.name && known.createdAt === row.createdAt && known.updatedAt === row.updatedAt) return known;
    const collection: Collection = Object.freeze({
      id: row.id,
      tenantId: row.tenantId,
      name: row.name,
      schema: known?.schema ?? parseCollectionSchema(JSON.parse(row.schemaJson)),
      schemaVersion: row.schemaVersion,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    });
    if (this.known.size > 1000) this.known.clear();
    this.known.set(cacheKey, collection);
    return collection;
  }
}
