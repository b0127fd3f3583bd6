import type { FastifyInstance } from 'fastify';
import { auditOf, logRead } from '../audit.js';
import type { RouteContext } from '../context.js';
import { requireAdmin } from '../auth.js';
import { authoriseTenant } from '../authorise.js';
import { TEXT_PATTERN, tenant, tenantIdParam } from '../schemas.js';
import type { Tenant } from '../../vault/index.js';

const present = (t: Tenant) => ({ id: t.id, name: t.name, createdAt: t.createdAt });

export function tenantRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Body: { id: string; name: string } }>(
    '/v1/tenants',
    {
      config: { auditAction: 'tenant.create' },
      schema: {
        summary: 'Create a tenant (an organisation, e.g. a municipality) with its own tenant key',
        tags: ['tenants'],
        body: {
          type: 'object',
          properties: { id: tenantIdParam, name: { type: 'string', minLength: 1, maxLength: 200, pattern: TEXT_PATTERN } },
          required: ['id', 'name'],
          additionalProperties: false,
        },
        response: { 201: tenant },
      },
    },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireAdmin(principal);
      const created = await vault.tenants.create(request.body.id, request.body.name, auditOf(request));
      return reply.code(201).send(present(created));
    },
  );

  app.get(
    '/v1/tenants',
    {
      schema: {
        summary: 'List tenants (administrators: all; tenant keys: their own)',
        tags: ['tenants'],
        response: { 200: { type: 'object', properties: { tenants: { type: 'array', items: tenant } }, required: ['tenants'] } },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      const all = await vault.tenants.list();
      const visible = principal.role === 'admin' ? all : all.filter((t) => t.id === principal.tenantId);
      return { tenants: visible.map(present) };
    },
  );

  app.get<{ Params: { tenant: string } }>(
    '/v1/tenants/:tenant',
    {
      config: { auditAction: 'tenant.read' },
      schema: {
        summary: 'Get a tenant',
        tags: ['tenants'],
        params: { type: 'object', properties: { tenant: tenantIdParam }, required: ['tenant'] },
        response: { 200: tenant },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      await authoriseTenant(vault, principal, request, request.params.tenant);
      const tenant = await vault.tenants.get(request.params.tenant);
      await logRead(request, vault, tenant.id, {});
      return present(tenant);
    },
  );
}
