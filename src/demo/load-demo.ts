import { readFileSync } from 'node:fs';
import { KurabanError } from '../errors/index.js';
import { SCHEMA_TEMPLATES } from '../schema/index.js';
import type { Audit, RecordInput, Vault } from '../vault/index.js';
import { DEMO_MAX_RESIDENTS, DEMO_TENANT, generateResidents, type DemoPerson } from './residents.js';

export const DEMO_COLLECTIONS = { residents: 'juminhyo', tax: 'kojin_juminzei', nhi: 'kokuho' } as const;
export const DEMO_DEFAULT_RESIDENTS = 10_000;

/** The municipal role templates the demo runs under (policies/ at the package root; docs/policies.md). */
const POLICIES = new URL('../../../policies/', import.meta.url);
export function municipalPolicy(): { text: string; purposes: string[] } {
  const text = readFileSync(new URL('municipal.cedar', POLICIES), 'utf8');
  const purposes = readFileSync(new URL('municipal.purposes', POLICIES), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return { text, purposes };
}
const BATCH = 2000;

export interface DemoLoadOptions {
  readonly seed: string;
  readonly residents: number;
  readonly audit: Audit;
  /** Called after each batch with the persons written so far. */
  readonly onProgress?: (persons: number) => void;
}

export interface DemoLoadResult {
  readonly tenantId: string;
  readonly tenantName: string;
  readonly residents: number;
  readonly taxRecords: number;
  readonly nhiRecords: number;
  /** Service-account keys of the demo (shown once): the tenant's administrator, and a counter clerk (窓口). */
  readonly tenantKey: string;
  readonly clerkKey: string;
  readonly policyVersion: number;
}

/**
 * Creates the fictional municipality 架空市: the tenant, its three template collections, a tenant
 * API key, and N synthetic residents with their tax and NHI records (linked by subject id),
 * streamed in batches of 2,000 persons. Every record goes through the same validation, encryption
 * and access log as any import. Fails if the tenant exists (the demo is loaded once).
 */
export async function loadDemo(vault: Vault, o: DemoLoadOptions): Promise<DemoLoadResult> {
  if (!Number.isSafeInteger(o.residents) || o.residents < 1 || o.residents > DEMO_MAX_RESIDENTS) {
    throw new KurabanError('REQUEST_INVALID', `residents must be from 1 to ${DEMO_MAX_RESIDENTS}`, { details: [{ field: 'residents', reason: 'out_of_range' }] });
  }
  const tenant = await vault.tenants.create(DEMO_TENANT.id, DEMO_TENANT.name, o.audit);
  await vault.collections.create(tenant.id, DEMO_COLLECTIONS.residents, SCHEMA_TEMPLATES.juminhyo.schema, o.audit);
  await vault.collections.create(tenant.id, DEMO_COLLECTIONS.tax, SCHEMA_TEMPLATES['kojin-juminzei'].schema, o.audit);
  await vault.collections.create(tenant.id, DEMO_COLLECTIONS.nhi, SCHEMA_TEMPLATES.kokuho.schema, o.audit);
  // The municipal role templates, and one key for the administrator and one for a counter clerk.
  const policy = municipalPolicy();
  const pushed = await vault.policies.push(tenant.id, policy.text, policy.purposes, o.audit);
  const key = await vault.issueApiKey({ name: 'demo administrator', role: 'tenant', tenantId: tenant.id, roles: ['administrator'] }, o.audit);
  const clerk = await vault.issueApiKey({ name: 'demo counter clerk', role: 'tenant', tenantId: tenant.id, roles: ['clerk'] }, o.audit);

  let persons = 0;
  let tax = 0;
  let nhi = 0;
  let batch: DemoPerson[] = [];
  const flush = async () => {
    const residents: RecordInput[] = [];
    const taxes: RecordInput[] = [];
    const nhis: RecordInput[] = [];
    for (const p of batch) {
      residents.push({ subjectId: p.subjectId, fields: p.juminhyo });
      if (p.tax) taxes.push({ subjectId: p.subjectId, fields: p.tax });
      if (p.nhi) nhis.push({ subjectId: p.subjectId, fields: p.nhi });
    }
    // 'atomic': generated data must be valid; a rejected record is a bug, not something to skip.
    const options = { mode: 'atomic', audit: o.audit } as const;
    await vault.records.createMany(tenant.id, DEMO_COLLECTIONS.residents, residents, options);
    if (taxes.length > 0) await vault.records.createMany(tenant.id, DEMO_COLLECTIONS.tax, taxes, options);
    if (nhis.length > 0) await vault.records.createMany(tenant.id, DEMO_COLLECTIONS.nhi, nhis, options);
    persons += batch.length;
    tax += taxes.length;
    nhi += nhis.length;
    batch = [];
    o.onProgress?.(persons);
  };
  for (const p of generateResidents({ seed: o.seed, residents: o.residents })) {
    batch.push(p);
    if (batch.length === BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  return { tenantId: tenant.id, tenantName: tenant.name, residents: persons, taxRecords: tax, nhiRecords: nhi, tenantKey: key.key, clerkKey: clerk.key, policyVersion: pushed.version };
}
