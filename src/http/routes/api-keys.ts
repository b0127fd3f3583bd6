import type { FastifyInstance } from 'fastify';
import { KurabanError } from '../../errors/index.js';
import { MAX_ROLES, ROLE_NAME_PATTERN, presentApiKey } from '../../policy/index.js';
import { requireAdmin } from '../auth.js';
import { auditOf } from '../audit.js';
import type { RouteContext } from '../context.js';
import { TEXT_PATTERN, apiKey, tenantIdParam } from '../schemas.js';

export function apiKeyRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Body: { name: string; role: 'admin' | 'tenant'; tenantId?: string; roles?: string[]; duties?: string[]; expiresAt?: string } }>(
    '/v1/api-keys',
    {
      schema: {
        summary: 'Issue an API key (administrators). The key is in this response only; the vault keeps a hash.',
        tags: ['api-keys'],
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100, pattern: TEXT_PATTERN },
            role: { type: 'string', enum: ['admin', 'tenant'] },
            tenantId: tenantIdParam,
            roles: { type: 'array', items: { type: 'string', pattern: ROLE_NAME_PATTERN.source }, maxItems: MAX_ROLES, description: "Tenant keys (service accounts): the policy roles they hold, at least one (e.g. clerk). Admin keys hold the operator role." },
            duties: { type: 'array', items: { type: 'string', pattern: ROLE_NAME_PATTERN.source }, maxItems: MAX_ROLES, description: 'Tenant keys: duties (事務分掌) policies may name' },
            expiresAt: { type: 'string', format: 'date-time' },
          },
          required: ['name', 'role'],
          additionalProperties: false,
        },
        response: { 201: { ...apiKey, properties: { ...apiKey.properties, key: { type: 'string', description: 'Shown once' } } } },
      },
    },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireAdmin(principal);
      const { name, role, tenantId, expiresAt, roles, duties } = request.body;
      if (role === 'tenant') {
        if (tenantId === undefined) throw new KurabanError('REQUEST_INVALID', 'tenant keys need tenantId', { details: [{ field: 'tenantId', reason: 'required' }] });
        await vault.tenants.require(tenantId);
      } else if (tenantId !== undefined) {
        // Never drop it silently: the caller meant a key limited to one tenant, and would get one for all.
        throw new KurabanError('REQUEST_INVALID', 'admin keys are not bound to a tenant', { details: [{ field: 'tenantId', reason: 'not_for_admin' }] });
      }
      if (expiresAt !== undefined && !(Date.parse(expiresAt) > vault.clock().getTime())) {
        throw new KurabanError('REQUEST_INVALID', 'expiresAt must be in the future', { details: [{ field: 'expiresAt', reason: 'not_in_future' }] });
      }
      const issued = await vault.issueApiKey(
        {
          name,
          role,
          tenantId: role === 'tenant' ? (tenantId as string) : null,
          ...(roles !== undefined ? { roles } : {}),
          ...(duties !== undefined ? { duties } : {}),
          expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
        },
        auditOf(request),
      );
      return reply.code(201).send({ ...issued, revokedAt: null });
    },
  );

  app.get(
    '/v1/api-keys',
    {
      schema: {
        summary: 'List API keys (administrators); never their secrets',
        tags: ['api-keys'],
        response: { 200: { type: 'object', properties: { apiKeys: { type: 'array', items: apiKey } }, required: ['apiKeys'] } },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireAdmin(principal);
      return { apiKeys: (await vault.store.listApiKeys()).map(presentApiKey) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/api-keys/:id',
    {
      schema: {
        summary: 'Revoke an API key (administrators)',
        tags: ['api-keys'],
        params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9a-f]{16}$' } }, required: ['id'] },
        response: { 204: { type: 'null', description: 'Revoked' } },
      },
    },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireAdmin(principal);
      const ok = await vault.revokeApiKey(request.params.id, auditOf(request));
      if (!ok) throw new KurabanError('API_KEY_NOT_FOUND');
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/api-keys/:id/rotate',
    {
      schema: {
        summary: 'Rotate an API key (administrators): a new key with the same name, tenant, roles and expiry; the old one is revoked at once',
        tags: ['api-keys'],
        params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9a-f]{16}$' } }, required: ['id'] },
        response: { 201: { ...apiKey, properties: { ...apiKey.properties, key: { type: 'string', description: 'Shown once' } } } },
      },
    },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireAdmin(principal);
      const issued = await vault.rotateApiKey(request.params.id, auditOf(request));
      return reply.code(201).send({ ...issued, revokedAt: null });
    },
  );
}
