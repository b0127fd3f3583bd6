import type { FastifyInstance } from 'fastify';
import { KurabanError } from '../../errors/index.js';
import { LOCATION_HOLDS, renderAccessReportHtml, renderDataMapHtml, type AccessReport } from '../../residency/index.js';
import { auditOf, logRead } from '../audit.js';
import { requireAdmin } from '../auth.js';
import { authoriseTenant, requireAllowed, type TenantAccess } from '../authorise.js';
import type { RouteContext } from '../context.js';
import { collectionParam, tenantIdParam } from '../schemas.js';

const ID = { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', description: 'Location id' } as const;
const names = { type: 'array', items: { type: 'string' }, maxItems: 64 } as const;

export const locationSchema = {
  type: 'object',
  properties: {
    id: ID,
    country: { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2 country where it physically is' },
    region: { type: ['string', 'null'], maxLength: 66, description: 'e.g. JP-Tokyo, JP-Osaka; null when not declared' },
    provider: { type: 'string', maxLength: 63, description: 'Who provides the infrastructure' },
    operator: { type: 'string', maxLength: 63, description: 'Who operates it' },
    jurisdiction: { type: 'string', pattern: '^[A-Z]{2}$', description: 'The law that governs the operator (ISO 3166-1 alpha-2, or EU)' },
    holds: { type: 'array', items: { type: 'string', enum: [...LOCATION_HOLDS] }, minItems: 1, maxItems: 3 },
    description: { type: 'string', maxLength: 200 },
  },
  required: ['id', 'country', 'provider', 'operator', 'jurisdiction', 'holds'],
  additionalProperties: false,
} as const;

const locationOut = { ...locationSchema, required: [...locationSchema.required, 'region', 'description'] } as const;

const placeRule = {
  type: 'object',
  properties: { countries: names, regions: names, providers: names, jurisdictions: names, locations: names },
  additionalProperties: false,
} as const;

export const residencyRulesSchema = {
  type: 'object',
  description: 'Where the collection may live: each list present must match (they AND); ciphertext rules also govern backups and plaintext exports',
  properties: { ciphertext: placeRule, keys: placeRule },
  additionalProperties: false,
} as const;

const tenantParams = { type: 'object', properties: { tenant: tenantIdParam }, required: ['tenant'] } as const;
const collectionParams = { type: 'object', properties: { tenant: tenantIdParam, collection: collectionParam }, required: ['tenant', 'collection'] } as const;
const period = {
  type: 'object',
  properties: {
    from: { type: 'string', format: 'date-time', description: 'Start of the period (ISO-8601, included)' },
    to: { type: 'string', format: 'date-time', description: 'End of the period (ISO-8601, excluded)' },
  },
  required: ['from', 'to'],
  additionalProperties: false,
} as const;
const html = { type: 'string', contentMediaType: 'text/html; charset=utf-8', description: 'A self-contained HTML report (no script, no external asset)' } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

/** The data map and access reports: those who manage policies, and auditors (read-log). */
function requireReportReader(a: TenantAccess): void {
  const e = a.policy.engine;
  if (!e.isAllowed(a.as, 'manage-policy', { tenant: true }, a.purpose) && !e.isAllowed(a.as, 'read-log', { log: true }, a.purpose)) {
    throw new KurabanError('POLICY_DENIED', 'the data map and access reports need manage-policy or read-log');
  }
}

/** A report page: self-contained, so the strictest policy holds (no script, nothing fetched). */
const HTML_HEADERS = { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" };

export function residencyRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get(
    '/v1/locations',
    { schema: { summary: 'The registry of locations (where stores, backups, exports and key providers are), and where the store and key provider are configured', tags: ['residency'], response: { 200: { type: 'object', properties: { locations: { type: 'array', items: locationOut }, store: ID, keys: ID }, required: ['locations', 'store', 'keys'] } } } },
    async (request) => {
      const { vault } = await ctx.authenticate(request);
      const configured = await vault.residency.configured();
      return { locations: await vault.residency.listLocations(), store: configured.store.id, keys: configured.keys.id };
    },
  );

  app.post<{ Body: Record<string, unknown> }>(
    '/v1/locations',
    { schema: { summary: 'Register a location (administrators); an entry in every tenant log', tags: ['residency'], body: locationSchema, response: { 201: locationOut } } },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireAdmin(principal);
      return reply.code(201).send(await vault.residency.addLocation(request.body, auditOf(request)));
    },
  );

  app.put<{ Params: { id: string }; Body: Record<string, unknown> }>(
    '/v1/locations/:id',
    {
      schema: {
        summary: "Replace a location's declaration (administrators). If the store or key provider is there, the new declaration must satisfy every collection's rules",
        tags: ['residency'],
        params: { type: 'object', properties: { id: ID }, required: ['id'] },
        body: { ...locationSchema, required: ['country', 'provider', 'operator', 'jurisdiction', 'holds'] },
        response: { 200: locationOut },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireAdmin(principal);
      if (request.body.id !== undefined && request.body.id !== request.params.id) throw new KurabanError('REQUEST_INVALID', 'the id cannot change', { details: [{ field: 'id', reason: 'id_mismatch' }] });
      return vault.residency.updateLocation(request.params.id, request.body, auditOf(request));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/locations/:id',
    {
      schema: {
        summary: 'Remove a location nothing uses (administrators)',
        tags: ['residency'],
        params: { type: 'object', properties: { id: ID }, required: ['id'] },
        response: { 204: { type: 'null', description: 'Removed' } },
      },
    },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireAdmin(principal);
      await vault.residency.removeLocation(request.params.id, auditOf(request));
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { tenant: string; collection: string } }>(
    '/v1/tenants/:tenant/collections/:collection/residency',
    { config: { auditAction: 'collection.read' }, schema: { summary: "A collection's residency rules", tags: ['residency'], params: collectionParams, response: { 200: { type: 'object', properties: { rules: residencyRulesSchema }, required: ['rules'] } } } },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      await authoriseTenant(vault, principal, request, request.params.tenant);
      const c = await vault.collections.get(request.params.tenant, request.params.collection);
      const rules = await vault.residency.rulesOf(c);
      await logRead(request, vault, request.params.tenant, { collection: c.name });
      return { rules };
    },
  );

  app.put<{ Params: { tenant: string; collection: string }; Body: { rules: unknown } }>(
    '/v1/tenants/:tenant/collections/:collection/residency',
    {
      config: { auditAction: 'residency.update' },
      schema: {
        summary: "Replace a collection's residency rules; they must hold where its ciphertext and keys are now (else RESIDENCY_VIOLATION)",
        tags: ['residency'],
        params: collectionParams,
        body: { type: 'object', properties: { rules: residencyRulesSchema }, required: ['rules'], additionalProperties: false },
        response: { 200: { type: 'object', properties: { rules: residencyRulesSchema }, required: ['rules'] } },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireAllowed(await authoriseTenant(vault, principal, request, request.params.tenant), 'manage-schema', { tenant: true });
      return { rules: await vault.residency.setRules(request.params.tenant, request.params.collection, request.body.rules, auditOf(request)) };
    },
  );

  app.get<{ Params: { tenant: string } }>(
    '/v1/tenants/:tenant/map',
    {
      config: { auditAction: 'map.read' },
      schema: {
        summary: "The tenant's data map: each collection's ciphertext and key locations and operators, rules, records by classification, last backup, plaintext exports",
        tags: ['residency'],
        params: tenantParams,
        response: {
          200: {
            type: 'object',
            properties: {
              tenant: anyObject,
              generatedAt: { type: 'string' },
              store: anyObject,
              keys: anyObject,
              collections: { type: 'array', items: anyObject },
              recordsByClassification: anyObject,
              lastBackup: { anyOf: [anyObject, { type: 'null' }] },
              compliant: { type: 'boolean' },
            },
            required: ['tenant', 'generatedAt', 'store', 'keys', 'collections', 'recordsByClassification', 'lastBackup', 'compliant'],
          },
        },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireReportReader(await authoriseTenant(vault, principal, request, request.params.tenant));
      const map = await vault.residency.dataMap(request.params.tenant);
      await logRead(request, vault, request.params.tenant, {});
      return map;
    },
  );

  app.get<{ Params: { tenant: string } }>(
    '/v1/tenants/:tenant/map/html',
    { config: { auditAction: 'map.read' }, schema: { summary: 'The data map as a self-contained HTML report', tags: ['residency'], params: tenantParams, response: { 200: html } } },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireReportReader(await authoriseTenant(vault, principal, request, request.params.tenant));
      const map = await vault.residency.dataMap(request.params.tenant);
      await logRead(request, vault, request.params.tenant, {});
      return reply.headers(HTML_HEADERS).send(renderDataMapHtml(map));
    },
  );

  const report = async (request: { params: { tenant: string; collection: string }; query: { from: string; to: string } } & Parameters<typeof auditOf>[0]): Promise<AccessReport> => {
    const { vault, principal } = await ctx.authenticate(request);
    requireReportReader(await authoriseTenant(vault, principal, request, request.params.tenant));
    const r = await vault.reports.collectionReport(request.params.tenant, request.params.collection, { from: new Date(request.query.from), to: new Date(request.query.to) });
    await logRead(request, vault, request.params.tenant, { collection: r.collection });
    return r;
  };

  app.get<{ Params: { tenant: string; collection: string }; Querystring: { from: string; to: string } }>(
    '/v1/tenants/:tenant/collections/:collection/access/report',
    {
      config: { auditAction: 'report.read' },
      schema: {
        summary: 'Access report for a period: who can (policy) beside who did (log), counts of records and subjects read, My Number reads, night and holiday reads, per-subject reads with inclusion proofs',
        tags: ['residency'],
        params: collectionParams,
        querystring: period,
        response: {
          200: {
            type: 'object',
            properties: {
              format: { type: 'string' },
              tenant: anyObject,
              collection: { type: 'string' },
              period: anyObject,
              generatedAt: { type: 'string' },
              fields: { type: 'array', items: anyObject },
              whoCan: anyObject,
              whoDid: { type: 'array', items: anyObject },
              totals: anyObject,
              flagged: { type: 'array', items: anyObject },
              subjects: { type: 'array', items: anyObject },
              log: anyObject,
            },
            required: ['format', 'tenant', 'collection', 'period', 'whoCan', 'whoDid', 'totals', 'flagged', 'subjects', 'log'],
          },
        },
      },
    },
    async (request) => report(request),
  );

  app.get<{ Params: { tenant: string; collection: string }; Querystring: { from: string; to: string } }>(
    '/v1/tenants/:tenant/collections/:collection/access/report/html',
    { config: { auditAction: 'report.read' }, schema: { summary: 'The access report as a self-contained HTML page an auditor can keep and read without the vault', tags: ['residency'], params: collectionParams, querystring: period, response: { 200: html } } },
    async (request, reply) => reply.headers(HTML_HEADERS).send(renderAccessReportHtml(await report(request))),
  );
}
