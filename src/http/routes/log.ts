import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KurabanError } from '../../errors/index.js';
import { MAX_TREE_SIZE } from '../../ledger/index.js';
import { MAX_SUBJECT_ENTRIES, SUBJECT_ID_PATTERN, type LogHead, type Vault } from '../../vault/index.js';
import { requireAdmin } from '../auth.js';
import { authoriseTenant, requireAllowed } from '../authorise.js';
import type { RouteContext } from '../context.js';
import { tenantIdParam } from '../schemas.js';

/**
 * The access log, read side. c2sp.org/tlog-tiles under `/log/<tenant>/` (checkpoint, hash tiles, entry
 * bundles) and JSON under `/v1/tenants/<tenant>/log` (head, proofs, entries by subject).
 *
 * Who may read: a public log (PUT …/log/visibility, administrators) anyone, without a key; a restricted
 * one (the default) administrators and the tenant's own keys. Tenant keys, because "who read my data" is
 * answered to residents by the tenant's own services, which hold tenant keys, not vault-wide admin keys —
 * and a tenant key can already read every record of its tenant, which says more than ids and times do.
 * The policy issue adds auditors. An unknown tenant is treated as restricted, so anonymous callers
 * cannot probe which tenants exist. The read routes declare `log.read` so that a refusal of an
 * authenticated caller is an entry like on every tenant route (http/audit.ts logRefusal); a
 * successful read of the log itself is not logged.
 */

/** tlog-tiles: full tiles and bundles never change. */
const IMMUTABLE = 'max-age=31536000, immutable';
/** The checkpoint and partial tiles move on every integration (about every second): a few seconds at most. */
const SHORT = 'max-age=5';

const tenantParams = { type: 'object', properties: { tenant: tenantIdParam }, required: ['tenant'] } as const;
/**
 * Query values arrive as text and the app does not coerce types: a decimal integer without leading
 * zeros, at most 16 digits; `toCount` then checks it is at most MAX_TREE_SIZE.
 */
const sizeInteger = { type: 'string', pattern: '^(?:0|[1-9][0-9]{0,15})$' } as const;
const base64Hash = { type: 'string', contentEncoding: 'base64' } as const;
const proofSchema = { type: 'array', items: base64Hash } as const;
/** Subject ids are pseudonymous handles (vault/identifiers.ts SUBJECT_ID_PATTERN), never personal values. */
const subjectParam = { type: 'string', pattern: SUBJECT_ID_PATTERN.source } as const;

function toCount(value: string, field: string, min = 0): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n > MAX_TREE_SIZE || n < min) {
    throw new KurabanError('REQUEST_INVALID', `${field} is out of range`, { details: [{ field, reason: 'out_of_range' }] });
  }
  return n;
}

const b64 = (bufs: readonly Uint8Array[]) => bufs.map((b) => Buffer.from(b).toString('base64'));

/** Authenticate and authorise a log read; returns the vault and whether the log is public. */
async function authoriseRead(ctx: RouteContext, request: FastifyRequest, tenantId: string): Promise<{ vault: Vault; isPublic: boolean }> {
  const vault = ctx.vault();
  let isPublic = false;
  try {
    isPublic = await vault.logReader.isPublic(tenantId);
  } catch (e) {
    if (!(e instanceof KurabanError && e.code === 'TENANT_NOT_FOUND')) throw e;
  }
  if (isPublic) return { vault, isPublic };
  const { principal } = await ctx.authenticate(request);
  // Tenant isolation, then the tenant's policy: `read-log` (auditors, administrators, the operator by default).
  requireAllowed(await authoriseTenant(vault, principal, request, tenantId), 'read-log', { log: true });
  await vault.logReader.isPublic(tenantId); // TENANT_NOT_FOUND, now that the caller may know
  return { vault, isPublic };
}

function cacheControl(reply: FastifyReply, isPublic: boolean, lifetime: string): FastifyReply {
  return reply.header('cache-control', `${isPublic ? 'public' : 'private'}, ${lifetime}`);
}

export function logRoutes(app: FastifyInstance, ctx: RouteContext): void {
  // ---- c2sp.org/tlog-tiles ----
  app.get<{ Params: { tenant: string } }>(
    '/log/:tenant/checkpoint',
    {
      config: { auditAction: 'log.read' },
      schema: {
        summary: "The tenant's newest signed checkpoint (c2sp.org/tlog-checkpoint)",
        tags: ['log'],
        params: tenantParams,
        response: { 200: { type: 'string', contentMediaType: 'text/plain; charset=utf-8', description: 'The signed note' } },
      },
    },
    async (request, reply) => {
      const { vault, isPublic } = await authoriseRead(ctx, request, request.params.tenant);
      const head = await vault.logReader.head(request.params.tenant);
      if (head.checkpoint === undefined) throw new KurabanError('LOG_NOT_FOUND', 'the log has no checkpoint yet');
      return cacheControl(reply, isPublic, SHORT).type('text/plain; charset=utf-8').send(head.checkpoint);
    },
  );

  app.get<{ Params: { tenant: string; '*': string } }>(
    '/log/:tenant/tile/*',
    {
      config: { auditAction: 'log.read' },
      schema: {
        summary: 'A hash tile tile/<L>/<N>[.p/<W>] or entry bundle tile/entries/<N>[.p/<W>] (c2sp.org/tlog-tiles)',
        tags: ['log'],
        params: { type: 'object', properties: { tenant: tenantIdParam, '*': { type: 'string', maxLength: 200, description: 'After tile/: <L>/<N>[.p/<W>] or entries/<N>[.p/<W>] (may contain /)' } }, required: ['tenant', '*'] },
        response: { 200: { type: 'string', contentMediaType: 'application/octet-stream', description: 'Hash tile or entry bundle bytes' } },
      },
    },
    async (request, reply) => {
      const { vault, isPublic } = await authoriseRead(ctx, request, request.params.tenant);
      const file = await vault.logReader.file(request.params.tenant, `tile/${request.params['*']}`);
      return cacheControl(reply, isPublic, file.full ? IMMUTABLE : SHORT).type('application/octet-stream').send(file.bytes);
    },
  );

  // ---- JSON ----
  const head = {
    type: 'object',
    properties: {
      origin: { type: 'string' },
      verifierKey: { type: 'string', description: 'name+hexid+base64 (Go note verifier key)' },
      public: { type: 'boolean' },
      size: { type: 'integer' },
      rootHash: base64Hash,
      checkpoint: { type: ['string', 'null'], description: 'The signed checkpoint text; null before the first entry' },
    },
    required: ['origin', 'verifierKey', 'public', 'size', 'rootHash', 'checkpoint'],
  } as const;
  const presentHead = (h: LogHead, isPublic: boolean) => ({
    origin: h.origin,
    verifierKey: h.verifierKey,
    public: isPublic,
    size: h.size,
    rootHash: h.rootHash.toString('base64'),
    checkpoint: h.checkpoint === undefined ? null : h.checkpoint.toString('utf8'),
  });

  app.get<{ Params: { tenant: string } }>(
    '/v1/tenants/:tenant/log',
    { config: { auditAction: 'log.read' }, schema: { summary: "The access log's origin, verifier key and newest checkpoint", tags: ['log'], params: tenantParams, response: { 200: head } } },
    async (request) => {
      const { vault, isPublic } = await authoriseRead(ctx, request, request.params.tenant);
      return presentHead(await vault.logReader.head(request.params.tenant), isPublic);
    },
  );

  app.put<{ Params: { tenant: string }; Body: { public: boolean } }>(
    '/v1/tenants/:tenant/log/visibility',
    {
      schema: {
        summary: 'Make the access log readable by anyone (public) or by administrators and the tenant only (default)',
        tags: ['log'],
        params: tenantParams,
        body: { type: 'object', properties: { public: { type: 'boolean' } }, required: ['public'], additionalProperties: false },
        response: { 200: { type: 'object', properties: { public: { type: 'boolean' } }, required: ['public'] } },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireAdmin(principal);
      await vault.logReader.setPublic(request.params.tenant, request.body.public);
      return { public: request.body.public };
    },
  );

  app.get<{ Params: { tenant: string }; Querystring: { index: string; size: string } }>(
    '/v1/tenants/:tenant/log/proof/inclusion',
    {
      config: { auditAction: 'log.read' },
      schema: {
        summary: 'RFC 6962 inclusion proof of entry `index` in the tree of `size` entries',
        tags: ['log'],
        params: tenantParams,
        querystring: { type: 'object', properties: { index: sizeInteger, size: sizeInteger }, required: ['index', 'size'], additionalProperties: false },
        response: { 200: { type: 'object', properties: { index: { type: 'integer' }, size: { type: 'integer' }, proof: proofSchema }, required: ['index', 'size', 'proof'] } },
      },
    },
    async (request) => {
      const { vault } = await authoriseRead(ctx, request, request.params.tenant);
      const index = toCount(request.query.index, 'index');
      const size = toCount(request.query.size, 'size', 1);
      return { index, size, proof: b64(await vault.logReader.inclusionProof(request.params.tenant, index, size)) };
    },
  );

  app.get<{ Params: { tenant: string }; Querystring: { from: string; to: string } }>(
    '/v1/tenants/:tenant/log/proof/consistency',
    {
      config: { auditAction: 'log.read' },
      schema: {
        summary: 'RFC 6962 consistency proof from the tree of `from` entries to that of `to`',
        tags: ['log'],
        params: tenantParams,
        querystring: {
          type: 'object',
          properties: { from: sizeInteger, to: sizeInteger },
          required: ['from', 'to'],
          additionalProperties: false,
        },
        response: { 200: { type: 'object', properties: { from: { type: 'integer' }, to: { type: 'integer' }, proof: proofSchema }, required: ['from', 'to', 'proof'] } },
      },
    },
    async (request) => {
      const { vault } = await authoriseRead(ctx, request, request.params.tenant);
      const from = toCount(request.query.from, 'from', 1);
      const to = toCount(request.query.to, 'to', 1);
      return { from, to, proof: b64(await vault.logReader.consistencyProof(request.params.tenant, from, to)) };
    },
  );

  app.get<{ Params: { tenant: string; subject: string }; Querystring: { after?: string; limit?: string } }>(
    '/v1/tenants/:tenant/log/subjects/:subject',
    {
      config: { auditAction: 'log.read' },
      schema: {
        summary: 'Who read my data: the entries naming a subject (pseudonymous id), each with its inclusion proof in the newest checkpoint',
        tags: ['log'],
        params: { type: 'object', properties: { tenant: tenantIdParam, subject: subjectParam }, required: ['tenant', 'subject'] },
        querystring: {
          type: 'object',
          properties: { after: sizeInteger, limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$', description: `1…${MAX_SUBJECT_ENTRIES}, default 100` } },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              checkpoint: { type: ['string', 'null'] },
              size: { type: 'integer' },
              rootHash: base64Hash,
              entries: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { index: { type: 'integer' }, entry: { type: 'object', additionalProperties: true }, proof: proofSchema },
                  required: ['index', 'entry', 'proof'],
                },
              },
              next: { type: 'integer' },
            },
            required: ['checkpoint', 'size', 'rootHash', 'entries'],
          },
        },
      },
    },
    async (request) => {
      const { vault } = await authoriseRead(ctx, request, request.params.tenant);
      const after = request.query.after === undefined ? undefined : toCount(request.query.after, 'after');
      const limit = request.query.limit === undefined ? 100 : toCount(request.query.limit, 'limit', 1);
      if (limit > MAX_SUBJECT_ENTRIES) throw new KurabanError('REQUEST_INVALID', 'limit is out of range', { details: [{ field: 'limit', reason: 'out_of_range' }] });
      const found = await vault.logReader.entriesForSubject(request.params.tenant, request.params.subject, {
        ...(after === undefined ? {} : { after }),
        limit,
      });
      return {
        checkpoint: found.head.checkpoint === undefined ? null : found.head.checkpoint.toString('utf8'),
        size: found.head.size,
        rootHash: found.head.rootHash.toString('base64'),
        entries: found.entries.map((e) => ({ index: e.index, entry: e.entry, proof: b64(e.proof) })),
        ...(found.next === undefined ? {} : { next: found.next }),
      };
    },
  );
}
