import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KurabanError } from '../../errors/index.js';
import { MAX_BATCH, MAX_SEARCH_LIMIT, type RecordInput, type VaultRecord } from '../../vault/index.js';
import { requireTenantAccess } from '../auth.js';
import { auditOf, logRead } from '../audit.js';
import type { RouteContext } from '../context.js';
import { collectionParam, record, recordIdParam, recordInput, tenantIdParam } from '../schemas.js';

type CollectionParams = { tenant: string; collection: string };
type RecordParams = CollectionParams & { id: string };

const collectionParams = { type: 'object', properties: { tenant: tenantIdParam, collection: collectionParam }, required: ['tenant', 'collection'] } as const;
const recordParams = {
  type: 'object',
  properties: { tenant: tenantIdParam, collection: collectionParam, id: recordIdParam },
  required: ['tenant', 'collection', 'id'],
} as const;

/** Present: the record's listed properties only. */
const present = (r: VaultRecord) => ({ id: r.id, subjectId: r.subjectId, version: r.version, createdAt: r.createdAt, updatedAt: r.updatedAt, fields: r.fields });

/** The record version from If-Match: a strong ETag "<version>" (RFC 9110 §13.1.1). */
function ifMatchVersion(request: FastifyRequest, required: boolean): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined) {
    if (required) throw new KurabanError('PRECONDITION_REQUIRED');
    return undefined;
  }
  const m = typeof header === 'string' ? /^"([1-9][0-9]{0,14})"$/.exec(header.trim()) : null;
  if (!m) throw new KurabanError('REQUEST_INVALID', 'If-Match must be the record ETag, e.g. "3"', { details: [{ field: 'If-Match', reason: 'invalid_etag' }] });
  return Number(m[1]);
}

export function recordRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const base = '/v1/tenants/:tenant/collections/:collection/records';

  app.post<{ Params: CollectionParams; Body: RecordInput }>(
    base,
    {
      config: { auditAction: 'record.create' },
      schema: {
        summary: "Create a record, encrypted under its subject's key (or the collection's)",
        tags: ['records'],
        params: collectionParams,
        body: recordInput,
        response: { 201: record },
      },
    },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireTenantAccess(principal, request.params.tenant);
      const created = await vault.records.create(request.params.tenant, request.params.collection, request.body, auditOf(request));
      return reply.code(201).header('etag', `"${created.version}"`).send(present(created));
    },
  );

  app.post<{ Params: CollectionParams; Body: { records: RecordInput[] } }>(
    `${base}/batch`,
    {
      config: { auditAction: 'record.create' },
      bodyLimit: ctx.config.batchBodyLimit,
      schema: {
        summary: `Create up to ${MAX_BATCH} records at once: all are written, or none`,
        tags: ['records'],
        params: collectionParams,
        body: {
          type: 'object',
          properties: { records: { type: 'array', items: recordInput, minItems: 1 } },
          required: ['records'],
          additionalProperties: false,
        },
        response: {
          201: {
            type: 'object',
            properties: {
              created: { type: 'integer' },
              records: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, version: { type: 'integer' } }, required: ['id', 'version'] } },
            },
            required: ['created', 'records'],
          },
        },
      },
    },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireTenantAccess(principal, request.params.tenant);
      const result = await vault.records.createMany(request.params.tenant, request.params.collection, request.body.records, {
        mode: 'atomic',
        audit: auditOf(request),
      });
      return reply.code(201).send({ created: result.created.length, records: result.created.map((c) => ({ id: c.id, version: c.version })) });
    },
  );

  app.post<{ Params: CollectionParams; Body: { where: Record<string, unknown>; limit?: number; after?: string } }>(
    `${base}/search`,
    {
      config: { auditAction: 'record.search' },
      schema: {
        summary: 'Equality search on searchable fields (AND). Terms go in the body, never in the URL.',
        tags: ['records'],
        params: collectionParams,
        body: {
          type: 'object',
          properties: {
            where: { type: 'object', minProperties: 1, maxProperties: 20, description: 'field → value; all must match' },
            limit: { type: 'integer', minimum: 1, maximum: MAX_SEARCH_LIMIT, default: 100 },
            after: { ...recordIdParam, description: 'Cursor: the "next" value of the previous page' },
          },
          required: ['where'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: { records: { type: 'array', items: record }, next: { type: 'string' } },
            required: ['records'],
          },
        },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireTenantAccess(principal, request.params.tenant);
      const { where, limit, after } = request.body;
      const found = await vault.records.search(request.params.tenant, request.params.collection, where, { limit: limit ?? 100, after });
      await logRead(request, vault, request.params.tenant, {
        collection: request.params.collection,
        records: found.records.map((r) => r.id),
        subjects: found.records.map((r) => r.subjectId),
        fields: [...Object.keys(where), ...found.records.flatMap((r) => Object.keys(r.fields))],
      });
      return { records: found.records.map(present), ...(found.next ? { next: found.next } : {}) };
    },
  );

  app.get<{ Params: RecordParams }>(
    `${base}/:id`,
    { config: { auditAction: 'record.read' }, schema: { summary: 'Read a record', tags: ['records'], params: recordParams, response: { 200: record } } },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireTenantAccess(principal, request.params.tenant);
      const found = await vault.records.get(request.params.tenant, request.params.collection, request.params.id);
      await logRead(request, vault, request.params.tenant, {
        collection: request.params.collection,
        records: [found.id],
        subjects: [found.subjectId],
        fields: Object.keys(found.fields),
      });
      return reply.header('etag', `"${found.version}"`).send(present(found));
    },
  );

  app.put<{ Params: RecordParams; Body: RecordInput }>(
    `${base}/:id`,
    {
      config: { auditAction: 'record.update' },
      schema: {
        summary: 'Replace a record. Requires If-Match: "<version>" (optimistic concurrency).',
        tags: ['records'],
        params: recordParams,
        headers: { type: 'object', properties: { 'if-match': { type: 'string', description: 'The record ETag, e.g. "1"' } } },
        body: recordInput,
        response: { 200: record },
      },
    },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireTenantAccess(principal, request.params.tenant);
      const expected = ifMatchVersion(request, true) as number;
      const updated = await vault.records.update(request.params.tenant, request.params.collection, request.params.id, expected, request.body, auditOf(request));
      return reply.header('etag', `"${updated.version}"`).send(present(updated));
    },
  );

  app.delete<{ Params: RecordParams }>(
    `${base}/:id`,
    {
      config: { auditAction: 'record.delete' },
      schema: {
        summary: 'Delete a record (If-Match optional)',
        tags: ['records'],
        params: recordParams,
        headers: { type: 'object', properties: { 'if-match': { type: 'string' } } },
        response: { 204: { type: 'null', description: 'Deleted' } },
      },
    },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireTenantAccess(principal, request.params.tenant);
      await vault.records.delete(request.params.tenant, request.params.collection, request.params.id, ifMatchVersion(request, false), auditOf(request));
      return reply.code(204).send();
    },
  );
}

