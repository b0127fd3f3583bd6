import { randomUUID } from 'node:crypto';
import { KurabanError, isKurabanError } from '../errors/index.js';
import {
  DEFAULT_LOCATION,
  checkPlace,
  hasRules,
  parseLocation,
  parseResidencyRules,
  sameLocation,
  violationError,
  type Location,
  type LocationHold,
  type ResidencyRules,
  type RuleKind,
  type Violation,
  type DataMap,
  type DataMapCollection,
} from '../residency/index.js';
import { CLASSIFICATIONS, type Classification } from '../schema/index.js';
import type { LocationRow, Store, StoreOps, TransferRow } from '../store/index.js';
import type { LogAction } from '../ledger/index.js';
import type { AccessLog } from './access-log.js';
import { auditEntries, localAudit, type Audit, type Touched } from './audit.js';
import type { Collection, Collections } from './collections.js';
import type { Tenants } from './tenants.js';

/** Where the vault's own store and root key provider are: a registered location id, or a declaration to register. */
export interface ResidencyConfig {
  readonly store: string | Location;
  readonly keys: string | Location;
}

export const DEFAULT_RESIDENCY_CONFIG: ResidencyConfig = Object.freeze({ store: DEFAULT_LOCATION.id, keys: DEFAULT_LOCATION.id });

export interface ResidencyDeps {
  readonly store: Store;
  readonly accessLog: AccessLog;
  readonly collections: Collections;
  readonly tenants: Tenants;
  readonly clock: () => Date;
  /** The root key provider's kind (file, pkcs11): shown in the data map beside the key location. */
  readonly keyProviderKind: string;
}

const META_STORE = 'store_location';
const META_KEYS = 'key_location';

/**
 * Locations, residency rules and their enforcement, and the data map (docs/residency.md). Every
 * registry change is an entry in every tenant's log (a location serves them all); every refusal is
 * an entry (outcome RESIDENCY_VIOLATION, with the location) before the error is thrown, and the
 * check always runs before anything is written to the place.
 */
export class Residency {
  constructor(private readonly deps: ResidencyDeps) {}

  // ---- the registry -------------------------------------------------------------------------

  async listLocations(): Promise<Location[]> {
    return (await this.deps.store.listLocations()).map(fromRow);
  }

  async getLocation(id: string, ops: StoreOps = this.deps.store): Promise<Location> {
    const row = typeof id === 'string' ? await ops.getLocation(id) : undefined;
    if (!row) throw new KurabanError('LOCATION_NOT_FOUND', 'location is not registered; add it with `kuraban location add`', { details: [{ field: 'location', reason: 'not_registered' }] });
    return fromRow(row);
  }

  async addLocation(input: unknown, audit: Audit): Promise<Location> {
    const location = parseLocation(input);
    const now = this.deps.clock().toISOString();
    await this.deps.store.transaction(async (tx) => {
      await tx.insertLocation(toRow(location, now, now));
      await this.logAll(tx, audit, 'location.create', { location: location.id });
    });
    return location;
  }

  /**
   * Replaces a location's declaration. If the store or key provider is configured there, the new
   * declaration must still satisfy every collection's rules (RESIDENCY_VIOLATION otherwise; change the
   * rules first — an explicit, logged decision).
   */
  async updateLocation(id: string, input: unknown, audit: Audit): Promise<Location> {
    const current = await this.getLocation(id);
    const location = parseLocation({ ...(typeof input === 'object' && input !== null ? input : {}), id: current.id });
    const configured = await this.configuredIds();
    const uses: Array<{ kind: RuleKind; hold: LocationHold }> = [];
    if (configured.store === id) uses.push({ kind: 'ciphertext', hold: 'ciphertext' });
    if (configured.keys === id) uses.push({ kind: 'keys', hold: 'keys' });
    for (const use of uses) {
      const v = await this.firstViolation(null, use.kind, location, use.hold);
      if (v) await this.refuse(v.tenantId, v.violation, 'location.update', location.id, audit, 'changing this location');
    }
    const now = this.deps.clock().toISOString();
    await this.deps.store.transaction(async (tx) => {
      const row = await tx.getLocation(id);
      if (!row) throw new KurabanError('LOCATION_NOT_FOUND');
      await tx.updateLocation(toRow(location, row.createdAt, now));
      await this.logAll(tx, audit, 'location.update', { location: location.id });
    });
    return location;
  }

  /** Removes a location nothing depends on: not the store's or key provider's, not named by a rule. */
  async removeLocation(id: string, audit: Audit): Promise<void> {
    await this.getLocation(id);
    const configured = await this.configuredIds();
    if (configured.store === id || configured.keys === id) throw new KurabanError('LOCATION_IN_USE', 'the store or key provider is configured to this location');
    for (const r of await this.deps.store.listResidency(null)) {
      const rules = parseResidencyRules(JSON.parse(r.rulesJson));
      if (rules.ciphertext?.locations?.includes(id) || rules.keys?.locations?.includes(id)) throw new KurabanError('LOCATION_IN_USE', 'a collection rule names this location');
    }
    await this.deps.store.transaction(async (tx) => {
      if (!(await tx.deleteLocation(id))) throw new KurabanError('LOCATION_NOT_FOUND');
      await this.logAll(tx, audit, 'location.delete', { location: id });
    });
  }

  // ---- the vault's own store and key provider -----------------------------------------------

  /** The locations the store and key provider are configured to (as last recorded at open). */
  async configured(): Promise<{ store: Location; keys: Location }> {
    const ids = await this.configuredIds();
    return { store: await this.getLocation(ids.store), keys: await this.getLocation(ids.keys) };
  }

  /**
   * At every open: registers declared locations (or the default `local`), records where the store and
   * key provider are (a change is a `location.configure` entry in every tenant's log), then checks
   * every collection's rules against them. Returns the error that must seal the vault, if any.
   */
  async applyConfiguration(config: ResidencyConfig): Promise<KurabanError | undefined> {
    const audit = localAudit();
    let store: Location;
    let keys: Location;
    try {
      store = await this.resolveConfigured(config.store, audit);
      keys = await this.resolveConfigured(config.keys, audit);
    } catch (e) {
      if (isKurabanError(e)) return new KurabanError(e.code, `${e.message} (KURABAN_STORE_LOCATION / KURABAN_KEY_LOCATION)`, { details: e.details });
      throw e;
    }
    for (const [key, loc] of [
      [META_STORE, store],
      [META_KEYS, keys],
    ] as const) {
      const was = await this.deps.store.setMetaIfAbsent(key, loc.id);
      if (was !== loc.id) {
        await this.deps.store.transaction(async (tx) => {
          if (!(await tx.replaceMeta(key, was, loc.id))) throw new KurabanError('STORE_UNAVAILABLE', 'the configured location changed concurrently');
          await this.logAll(tx, audit, 'location.configure', { location: loc.id });
        });
      }
    }
    for (const use of [
      { kind: 'ciphertext', location: store, hold: 'ciphertext', what: 'the store' },
      { kind: 'keys', location: keys, hold: 'keys', what: 'the key provider' },
    ] as const) {
      const v = await this.firstViolation(null, use.kind, use.location, use.hold);
      if (v) {
        try {
          await this.refuse(v.tenantId, v.violation, 'residency.check', use.location.id, audit, `${use.what} at location ${use.location.id}`);
        } catch (e) {
          return e as KurabanError;
        }
      }
    }
    return undefined;
  }

  // ---- rules ------------------------------------------------------------------------------------

  async rulesOf(collection: Collection, ops: StoreOps = this.deps.store): Promise<ResidencyRules> {
    const row = await ops.getResidency(collection.id);
    return row ? parseResidencyRules(JSON.parse(row.rulesJson)) : {};
  }

  /**
   * Creates a collection with residency rules: the store and key provider must satisfy them
   * (RESIDENCY_VIOLATION, logged, and no collection), and the rules are stored in the same transaction.
   */
  async createCollection(tenantId: string, name: string, schemaInput: unknown, rulesInput: unknown, audit: Audit): Promise<Collection> {
    const rules = parseResidencyRules(rulesInput);
    await this.deps.tenants.require(tenantId);
    await this.requireHere(tenantId, name, rules, 'collection.create', audit);
    return this.deps.collections.create(tenantId, name, schemaInput, audit, async (tx, row) => {
      await tx.putResidency({ collectionId: row.id, tenantId, rulesJson: JSON.stringify(rules), updatedAt: row.createdAt });
      await this.deps.accessLog.append(tx, ...auditEntries(audit, tenantId, 'residency.update', { collection: name }, 'ok', this.deps.clock()));
    });
  }

  /** Replaces a collection's rules; they must hold where its ciphertext and keys are now. */
  async setRules(tenantId: string, name: string, rulesInput: unknown, audit: Audit): Promise<ResidencyRules> {
    const rules = parseResidencyRules(rulesInput);
    const collection = await this.deps.collections.get(tenantId, name);
    await this.requireHere(tenantId, name, rules, 'residency.update', audit);
    await this.deps.store.transaction(async (tx) => {
      await tx.putResidency({ collectionId: collection.id, tenantId, rulesJson: JSON.stringify(rules), updatedAt: this.deps.clock().toISOString() });
      await this.deps.accessLog.append(tx, ...auditEntries(audit, tenantId, 'residency.update', { collection: name }, 'ok', this.deps.clock()));
    });
    return rules;
  }

  // ---- enforcement at writes to other places ---------------------------------------------------

  /**
   * Before a backup is written: the location must be registered, hold ciphertext, and satisfy every
   * collection's ciphertext rules (the archives hold every tenant's ciphertext and wrapped keys).
   */
  async checkBackup(locationId: string, audit: Audit): Promise<Location> {
    const location = await this.requireRegistered(locationId, null, null, 'backup.create', audit);
    const v = await this.firstViolation(null, 'ciphertext', location, 'ciphertext');
    if (v) await this.refuse(v.tenantId, v.violation, 'backup.create', location.id, audit, 'backup');
    return location;
  }

  /** Records a backup written to `location` in every tenant (what the data map shows). */
  async recordBackup(location: Location, pair: string, at: Date): Promise<void> {
    const tenants = await this.deps.store.listTenants();
    const rows: TransferRow[] = tenants.map((t) => ({ id: randomUUID(), tenantId: t.id, collectionId: null, kind: 'backup', locationId: location.id, records: null, detail: pair, createdAt: at.toISOString() }));
    await this.deps.store.transaction((tx) => tx.insertTransfers(rows));
  }

  /** Before a plaintext export: the destination must be registered, hold plaintext, and satisfy the collection's ciphertext rules. */
  async checkExport(tenantId: string, collectionName: string, locationId: string, audit: Audit): Promise<Location> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    const location = await this.requireRegistered(locationId, tenantId, collectionName, 'record.export', audit);
    const v = checkPlace(await this.rulesOf(collection), 'ciphertext', location, 'plaintext', collection.name);
    if (v) await this.refuse(tenantId, v, 'record.export', location.id, audit, 'export');
    return location;
  }

  async recordExport(tenantId: string, collectionName: string, locationId: string, records: number, format: string, at: Date): Promise<void> {
    const collection = await this.deps.collections.get(tenantId, collectionName);
    await this.deps.store.transaction((tx) =>
      tx.insertTransfers([{ id: randomUUID(), tenantId, collectionId: collection.id, kind: 'export', locationId, records, detail: format, createdAt: at.toISOString() }]),
    );
  }

  // ---- the data map -------------------------------------------------------------------------

  async dataMap(tenantId: string): Promise<DataMap> {
    const tenant = await this.deps.tenants.require(tenantId);
    const { store, keys } = await this.configured();
    const known = new Map((await this.listLocations()).map((l) => [l.id, l]));
    const where = (id: string) => known.get(id) ?? { id, unregistered: true as const };
    const transfers = await this.deps.store.listTransfers(tenantId, 10_000);
    const collections: DataMapCollection[] = [];
    const byClass = Object.fromEntries(CLASSIFICATIONS.map((c) => [c, 0])) as Record<Classification, number>;
    for (const c of await this.deps.collections.list(tenantId)) {
      const rules = await this.rulesOf(c);
      const records = await this.deps.store.countRecords(c.id);
      const classifications = Object.fromEntries(
        CLASSIFICATIONS.map((k) => {
          const fields = c.schema.fields.filter((f) => f.classification === k).map((f) => f.name);
          if (fields.length > 0) byClass[k] += records;
          return [k, { fields, records: fields.length > 0 ? records : 0 }];
        }),
      ) as unknown as DataMapCollection["classifications"];
      collections.push({
        name: c.name,
        records,
        classifications,
        rules,
        ciphertext: { location: store, violation: checkPlace(rules, 'ciphertext', store, 'ciphertext', c.name) ?? null },
        keys: { location: keys, violation: checkPlace(rules, 'keys', keys, 'keys', c.name) ?? null, providerKind: this.deps.keyProviderKind },
        exports: transfers
          .filter((t) => t.kind === 'export' && t.collectionId === c.id)
          .map((t) => ({ at: t.createdAt, location: where(t.locationId), records: t.records, format: t.detail })),
      });
    }
    const backup = transfers.find((t) => t.kind === 'backup');
    return {
      tenant: { id: tenant.id, name: tenant.name },
      generatedAt: this.deps.clock().toISOString(),
      store,
      keys: { ...keys, providerKind: this.deps.keyProviderKind },
      collections,
      recordsByClassification: byClass,
      lastBackup: backup ? { at: backup.createdAt, location: where(backup.locationId), pair: backup.detail } : null,
      compliant: collections.every((c) => c.ciphertext.violation === null && c.keys.violation === null),
    };
  }

  // ---- internals ----------------------------------------------------------------------------------

  private async configuredIds(): Promise<{ store: string; keys: string }> {
    return { store: (await this.deps.store.getMeta(META_STORE)) ?? DEFAULT_LOCATION.id, keys: (await this.deps.store.getMeta(META_KEYS)) ?? DEFAULT_LOCATION.id };
  }

  /** A configured location: a declaration is registered (or brought up to date); an id must be registered (`local` is created on first use). */
  private async resolveConfigured(spec: string | Location, audit: Audit): Promise<Location> {
    const declared = typeof spec === 'string' ? (spec === DEFAULT_LOCATION.id ? DEFAULT_LOCATION : undefined) : parseLocation(spec);
    const id = typeof spec === 'string' ? spec : spec.id;
    const row = await this.deps.store.getLocation(id);
    if (row && (declared === undefined || typeof spec === 'string' || sameLocation(fromRow(row), declared))) return fromRow(row);
    if (declared === undefined) throw new KurabanError('LOCATION_NOT_FOUND', `configured location ${id} is not registered; add it with \`kuraban location add\``);
    const now = this.deps.clock().toISOString();
    try {
      await this.deps.store.transaction(async (tx) => {
        if (row) await tx.updateLocation(toRow(declared, row.createdAt, now));
        else await tx.insertLocation(toRow(declared, now, now));
        await this.logAll(tx, audit, row ? 'location.update' : 'location.create', { location: id });
      });
    } catch (e) {
      // Another process registered it first (two nodes starting together): use what is stored.
      if (!(isKurabanError(e) && e.code === 'LOCATION_EXISTS')) throw e;
    }
    return this.getLocation(id);
  }

  /** The first collection (of one tenant, or all) whose `kind` rule the location fails. */
  private async firstViolation(tenantId: string | null, kind: RuleKind, location: Location, hold: LocationHold): Promise<{ tenantId: string; violation: Violation } | undefined> {
    const tenants = tenantId === null ? await this.deps.store.listTenants() : [{ id: tenantId }];
    for (const t of tenants) {
      const ruled = new Map((await this.deps.store.listResidency(t.id)).map((r) => [r.collectionId, r]));
      for (const c of await this.deps.store.listCollections(t.id)) {
        const r = ruled.get(c.id);
        const rules = r ? parseResidencyRules(JSON.parse(r.rulesJson)) : {};
        const v = checkPlace(rules, kind, location, hold, c.name);
        if (v) return { tenantId: t.id, violation: v };
      }
    }
    // With no collection at all, the location must still be declared to hold what goes there.
    if (!location.holds.includes(hold)) return tenants[0] ? { tenantId: tenants[0].id, violation: { collection: null, rule: 'location.holds' } } : { tenantId: '', violation: { collection: null, rule: 'location.holds' } };
    return undefined;
  }

  /** New rules must hold where the store and key provider are now. */
  private async requireHere(tenantId: string, name: string, rules: ResidencyRules, action: LogAction, audit: Audit): Promise<void> {
    if (!hasRules(rules)) return;
    const { store, keys } = await this.configured();
    const v = checkPlace(rules, 'ciphertext', store, 'ciphertext', name) ?? checkPlace(rules, 'keys', keys, 'keys', name);
    if (v) await this.refuse(tenantId, v, action, v.rule.startsWith('keys') ? keys.id : store.id, audit, action === 'collection.create' ? 'creating the collection' : 'changing the rules', name);
  }

  private async requireRegistered(locationId: string, tenantId: string | null, collection: string | null, action: LogAction, audit: Audit): Promise<Location> {
    try {
      return await this.getLocation(locationId);
    } catch (e) {
      if (isKurabanError(e) && e.code === 'LOCATION_NOT_FOUND') {
        const tenants = tenantId !== null ? [tenantId] : (await this.deps.store.listTenants()).map((t) => t.id);
        await this.deps.store.transaction(async (tx) => {
          for (const t of tenants) await this.deps.accessLog.append(tx, ...auditEntries(audit, t, action, { collection }, 'LOCATION_NOT_FOUND', this.deps.clock()));
        });
      }
      throw e;
    }
  }

  /** Logs the refusal (outcome RESIDENCY_VIOLATION, with the location) and throws it. */
  private async refuse(tenantId: string, v: Violation, action: LogAction, locationId: string, audit: Audit, what: string, collection?: string): Promise<never> {
    if (tenantId !== '') {
      const touched: Touched = { collection: v.collection ?? collection ?? null, location: locationId };
      await this.deps.accessLog.record(...auditEntries(audit, tenantId, action, touched, 'RESIDENCY_VIOLATION', this.deps.clock()));
    }
    throw violationError(v, what);
  }

  private async logAll(tx: StoreOps, audit: Audit, action: LogAction, touched: Touched): Promise<void> {
    for (const t of await tx.listTenants()) await this.deps.accessLog.append(tx, ...auditEntries(audit, t.id, action, touched, 'ok', this.deps.clock()));
  }
}

function toRow(l: Location, createdAt: string, updatedAt: string): LocationRow {
  return {
    id: l.id,
    country: l.country,
    region: l.region,
    provider: l.provider,
    operator: l.operator,
    jurisdiction: l.jurisdiction,
    holds: JSON.stringify(l.holds),
    description: l.description,
    createdAt,
    updatedAt,
  };
}

function fromRow(r: LocationRow): Location {
  return parseLocation({
    id: r.id,
    country: r.country,
    region: r.region,
    provider: r.provider,
    operator: r.operator,
    jurisdiction: r.jurisdiction,
    holds: JSON.parse(r.holds) as unknown,
    description: r.description,
  });
}
