import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KurabanError } from '../../errors/index.js';
import { applyMask } from '../../schema/index.js';
import { MAX_BATCH, MAX_SEARCH_LIMIT, policyView, type Collection, type RecordInput, type VaultRecord } from '../../vault/index.js';
import { auditOf, logRead } from '../audit.js';
import { authoriseTenant, maskedAndWithheld, presentFields, presentRecord, recordFlags, requireAllowed, requireSearchable, type TenantAccess } from '../authorise.js';
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

/**
 * Present a written record: its listed properties, fields as this principal may read them (no row
 * condition: they just wrote it), and the tokens of the fields it may see at least masked — a token
 * of a withheld field (kept from the stored record by a PUT) is not handed out.
 */
function presentWritten(a: TenantAccess, c: Collection, r: VaultRecord) {
  const access = a.policy.engine.fieldAccess(a.as, policyView(c), 'read', a.purpose);
  const p = presentFields(c, r.fields, access);
  const tokens = r.tokens ? Object.fromEntries(Object.entries(r.tokens).filter(([f]) => (access.get(f) ?? 'withheld') !== 'withheld')) : {};
  return { id: r.id, subjectId: r.subjectId, version: r.version, createdAt: r.createdAt, updatedAt: r.updatedAt, fields: p.fields, ...maskedAndWithheld(p), ...(Object.keys(tokens).length > 0 ? { tokens } : {}) };
}

/** Row conditions hold for changes too: a record the principal may not read, it may not overwrite or delete. */
async function requireRowAccess(a: TenantAccess, c: Collection, id: string): Promise<VaultRecord> {
  const current = await a.vault.records.get(a.tenantId, c.name, id);
  if (!a.policy.engine.recordAllowed(a.as, c.name, recordFlags(c, current.fields), a.purpose)) {
    throw new KurabanError('POLICY_DENIED', "this record is under a row condition of the tenant's policy");
  }
  return current;
}

/**
 * A PUT replaces the record, but a principal cannot change what it cannot see: every field it reads
 * masked or not at all keeps its stored value when the request leaves it out, sends null, or sends
 * back the masked view; any other value for such a field is POLICY_DENIED (`not_writable`). So a
 * clerk who sends back what it read neither erases 本籍 nor stores "架*" as a name.
 */
function keepHiddenFields(a: TenantAccess, c: Collection, current: VaultRecord, input: RecordInput): RecordInput {
  const sent = input.fields;
  if (typeof sent !== 'object' || sent === null || Array.isArray(sent)) return input; // validation reports it
  const access = a.policy.engine.fieldAccess(a.as, policyView(c), 'read', a.purpose);
  const merged: Record<string, unknown> = { ...(sent as Record<string, unknown>) };
  const problems: Array<{ field: string; reason: string }> = [];
  for (const f of c.schema.fields) {
    const how = access.get(f.name) ?? 'withheld';
    if (how === 'clear') continue;
    const stored = current.fields[f.name];
    const value = merged[f.name];
    const unchanged = value === undefined || value === null || (how === 'masked' && stored !== undefined && JSON.stringify(value) === JSON.stringify(applyMask(f, stored)));
    if (!unchanged) problems.push({ field: f.name, reason: 'not_writable' });
    else if (stored === undefined) delete merged[f.name];
    else merged[f.name] = stored;
  }
  if (problems.length > 0) throw new KurabanError('POLICY_DENIED', 'fields this principal cannot read in clear cannot be changed by it', { details: problems });
  return { ...input, fields: merged };
}

/** Authenticate → tenant isolation and purpose → the collection (for its schema). */
async function access(ctx: RouteContext, request: FastifyRequest<{ Params: CollectionParams }>) {
  const { vault, principal } = await ctx.authenticate(request);
  const a = await authoriseTenant(vault, principal, request, request.params.tenant);
  const collection = await vault.collections.get(request.params.tenant, request.params.collection);
  return { a, vault, collection };
}

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
      const { a, vault, collection } = await access(ctx, request);
      requireAllowed(a, 'create', { collection: collection.name });
      const created = await vault.records.create(request.params.tenant, request.params.collection, request.body, auditOf(request));
      return reply.code(201).header('etag', `"${created.version}"`).send(presentWritten(a, collection, created));
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
              records: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { id: { type: 'string' }, version: { type: 'integer' }, tokens: { type: 'object', additionalProperties: { type: 'string' } } },
                  required: ['id', 'version'],
                },
              },
            },
            required: ['created', 'records'],
          },
        },
      },
    },
    async (request, reply) => {
      const { a, vault, collection } = await access(ctx, request);
      requireAllowed(a, 'create', { collection: collection.name });
      const result = await vault.records.createMany(request.params.tenant, request.params.collection, request.body.records, {
        mode: 'atomic',
        audit: auditOf(request),
      });
      return reply.code(201).send({ created: result.created.length, records: result.created.map((c) => ({ id: c.id, version: c.version, ...(c.tokens ? { tokens: c.tokens } : {}) })) });
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
            properties: {
              records: { type: 'array', items: record },
              next: { type: 'string' },
              refused: { type: 'integer', description: "Matches left out by a row condition of the tenant's policy (e.g. DV support measures)" },
            },
            required: ['records'],
          },
        },
      },
    },
    async (request) => {
      const { a, vault, collection } = await access(ctx, request);
      const { where, limit, after } = request.body;
      requireSearchable(a, collection, where);
      const found = await vault.records.search(request.params.tenant, request.params.collection, where, { limit: limit ?? 100, after });
      const read = a.policy.engine.fieldAccess(a.as, policyView(collection), 'read', a.purpose);
      const shown = found.records.map((r) => ({ r, p: presentRecord(a, collection, r, read) }));
      const visible = shown.filter((x) => x.p !== null);
      const refused = shown.length - visible.length;
      await logRead(request, vault, request.params.tenant, {
        collection: request.params.collection,
        records: visible.map((x) => x.r.id),
        subjects: visible.map((x) => x.r.subjectId),
        fields: [...Object.keys(where), ...visible.flatMap((x) => x.p?.disclosed ?? [])],
      });
      return { records: visible.map((x) => x.p?.body), ...(found.next ? { next: found.next } : {}), ...(refused > 0 ? { refused } : {}) };
    },
  );

  app.get<{ Params: RecordParams }>(
    `${base}/:id`,
    { config: { auditAction: 'record.read' }, schema: { summary: 'Read a record', tags: ['records'], params: recordParams, response: { 200: record } } },
    async (request, reply) => {
      const { a, vault, collection } = await access(ctx, request);
      const found = await vault.records.get(request.params.tenant, request.params.collection, request.params.id);
      const shown = presentRecord(a, collection, found, a.policy.engine.fieldAccess(a.as, policyView(collection), 'read', a.purpose));
      if (shown === null) throw new KurabanError('POLICY_DENIED', "this record is under a row condition of the tenant's policy");
      await logRead(request, vault, request.params.tenant, {
        collection: request.params.collection,
        records: [found.id],
        subjects: [found.subjectId],
        fields: shown.disclosed,
      });
      return reply.header('etag', `"${found.version}"`).send(shown.body);
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
      const { a, vault, collection } = await access(ctx, request);
      requireAllowed(a, 'update', { collection: collection.name });
      const expected = ifMatchVersion(request, true) as number;
      const current = await requireRowAccess(a, collection, request.params.id);
      const input = keepHiddenFields(a, collection, current, request.body);
      const updated = await vault.records.update(request.params.tenant, request.params.collection, request.params.id, expected, input, auditOf(request));
      return reply.header('etag', `"${updated.version}"`).send(presentWritten(a, collection, updated));
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
      const { a, vault, collection } = await access(ctx, request);
      requireAllowed(a, 'delete', { collection: collection.name });
      await requireRowAccess(a, collection, request.params.id);
      await vault.records.delete(request.params.tenant, request.params.collection, request.params.id, ifMatchVersion(request, false), auditOf(request));
      return reply.code(204).send();
    },
  );
}

