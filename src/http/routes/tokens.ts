import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KurabanError } from '../../errors/index.js';
import { MAX_TOKENS_PER_CALL, policyView, type Collection } from '../../vault/index.js';
import { auditOf, logRead } from '../audit.js';
import { authoriseTenant, recordFlags, requireAllowed, type TenantAccess } from '../authorise.js';
import type { RouteContext } from '../context.js';
import { collectionParam, tenantIdParam } from '../schemas.js';

type Params = { tenant: string; collection: string };
const params = { type: 'object', properties: { tenant: tenantIdParam, collection: collectionParam }, required: ['tenant', 'collection'] } as const;
const fieldName = { type: 'string', minLength: 1, maxLength: 63, description: 'A tokenised field of the collection' } as const;

/** `tokenize` / `detokenize` on the field, for the declared purpose (no purpose: only public fields). */
function requireFieldAction(a: TenantAccess, c: Collection, field: string, action: 'tokenize' | 'detokenize'): void {
  const info = policyView(c).fields.find((f) => f.name === field);
  if (info === undefined) return; // the vault answers TOKEN_INVALID (unknown field)
  if (!a.policy.engine.fieldAllowed(a.as, action, c.name, info, a.purpose)) {
    throw new KurabanError('POLICY_DENIED', a.purpose === null ? `${action} on a personal field requires a declared purpose (Kuraban-Purpose)` : `the tenant's policy does not allow ${action} on this field for this purpose`, {
      details: [{ field: info.name, reason: a.purpose === null ? 'purpose_required' : `${action}_not_allowed` }],
    });
  }
}

/** Authenticate → tenant isolation and purpose → the collection (for its fields). */
async function access(ctx: RouteContext, request: FastifyRequest<{ Params: Params }>) {
  const { vault, principal } = await ctx.authenticate(request);
  const a = await authoriseTenant(vault, principal, request, request.params.tenant);
  return { a, vault, collection: await vault.collections.get(request.params.tenant, request.params.collection) };
}

/**
 * Tokens (docs/tokens.md): authenticate → validate → authorise (tokenize / detokenize on the field,
 * row conditions for records) → act (vault.tokens) → log (one entry per call, with the token count)
 * → present (tokens or values, in the order sent).
 */
export function tokenRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const base = '/v1/tenants/:tenant/collections/:collection/tokens';

  app.post<{ Params: Params; Body: { field: string; values: unknown[]; subjectId?: string } }>(
    `${base}/tokenize`,
    {
      config: { auditAction: 'token.tokenize' },
      bodyLimit: ctx.config.batchBodyLimit,
      schema: {
        summary: `Tokenise up to ${MAX_TOKENS_PER_CALL} values of a tokenised field (outside any record)`,
        tags: ['tokens'],
        params,
        body: {
          type: 'object',
          properties: {
            field: fieldName,
            values: { type: 'array', minItems: 1, items: {}, description: "Values of the field's type" },
            subjectId: { type: 'string', description: 'The person the values are about: erasing them revokes these tokens' },
          },
          required: ['field', 'values'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: { field: { type: 'string' }, tokens: { type: 'array', items: { type: 'string' } } },
            required: ['field', 'tokens'],
          },
        },
      },
    },
    async (request) => {
      const { a, vault, collection } = await access(ctx, request);
      requireFieldAction(a, collection, request.body.field, 'tokenize');
      const { field, values, subjectId } = request.body;
      const tokens = await vault.tokens.tokenize(a.tenantId, collection.name, field, values, { audit: auditOf(request), ...(subjectId !== undefined ? { subjectId } : {}) });
      return { field, tokens };
    },
  );

  app.post<{ Params: Params; Body: { field: string; tokens: unknown[] } }>(
    `${base}/detokenize`,
    {
      config: { auditAction: 'token.detokenize' },
      bodyLimit: ctx.config.batchBodyLimit,
      schema: {
        summary: `Resolve up to ${MAX_TOKENS_PER_CALL} tokens of a field back to their values: all, or an error`,
        tags: ['tokens'],
        params,
        body: {
          type: 'object',
          properties: { field: fieldName, tokens: { type: 'array', minItems: 1, items: {} } },
          required: ['field', 'tokens'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: { field: { type: 'string' }, values: { type: 'array', items: {}, description: 'In the order of the tokens' } },
            required: ['field', 'values'],
          },
        },
      },
    },
    async (request) => {
      const { a, vault, collection } = await access(ctx, request);
      requireFieldAction(a, collection, request.body.field, 'detokenize');
      const { field, tokens } = request.body;
      const result = await vault.tokens.detokenize(a.tenantId, collection.name, field, tokens, {
        rowAllowed: (values) => a.policy.engine.recordAllowed(a.as, collection.name, recordFlags(collection, values), a.purpose),
      });
      await logRead(request, vault, a.tenantId, { collection: collection.name, records: result.records, subjects: result.subjects, fields: [field], count: tokens.length });
      return { field, values: result.values };
    },
  );

  app.post<{ Params: Params }>(
    `${base}/rotate`,
    {
      config: { auditAction: 'key.rotate_token' },
      schema: {
        summary: "Rotate a collection's token key: new tokens use the new version; issued tokens keep resolving",
        tags: ['tokens', 'keys'],
        params,
        response: { 200: { type: 'object', properties: { kind: { type: 'string' }, version: { type: 'integer' } }, required: ['kind', 'version'] } },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      const a = await authoriseTenant(vault, principal, request, request.params.tenant);
      requireAllowed(a, 'manage-keys', { tenant: true });
      return { kind: 'token', version: await vault.keys.rotateTokens(a.tenantId, request.params.collection, auditOf(request)) };
    },
  );
}
