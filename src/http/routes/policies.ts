import type { FastifyInstance } from 'fastify';
import { KurabanError } from '../../errors/index.js';
import { principalOfKey, roleSubjects, whoCan, type WhoCanSubject } from '../../policy/index.js';
import { auditOf, logRead } from '../audit.js';
import { policyView } from '../../vault/index.js';
import { authoriseTenant, policyPrincipal, requireAllowed, type TenantAccess } from '../authorise.js';
import type { RouteContext } from '../context.js';
import { collectionParam, tenantIdParam } from '../schemas.js';

const tenantParams = { type: 'object', properties: { tenant: tenantIdParam }, required: ['tenant'] } as const;
const collectionParams = { type: 'object', properties: { tenant: tenantIdParam, collection: collectionParam }, required: ['tenant', 'collection'] } as const;
const names = { type: 'array', items: { type: 'string' } } as const;
const accessMap = { type: 'object', additionalProperties: { type: 'string', enum: ['clear', 'masked', 'withheld'] } } as const;

/** Who may see the policy and the who-can report: those who manage policies, and auditors (read-log). */
function requirePolicyReader(a: TenantAccess): void {
  const e = a.policy.engine;
  if (!e.isAllowed(a.as, 'manage-policy', { tenant: true }, a.purpose) && !e.isAllowed(a.as, 'read-log', { log: true }, a.purpose)) {
    throw new KurabanError('POLICY_DENIED', "reading the tenant's policy needs manage-policy or read-log");
  }
}

export function policyRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Params: { tenant: string } }>(
    '/v1/tenants/:tenant/policy',
    {
      config: { auditAction: 'policy.read' },
      schema: {
        summary: "The tenant's active Cedar policy set, its purposes of use and its version history",
        tags: ['policies'],
        params: tenantParams,
        response: {
          200: {
            type: 'object',
            properties: {
              version: { type: 'integer' },
              purposes: names,
              policies: { type: 'string' },
              createdAt: { type: 'string' },
              createdBy: { type: 'string' },
              versions: { type: 'array', items: { type: 'object', properties: { version: { type: 'integer' }, purposes: names, createdAt: { type: 'string' }, createdBy: { type: 'string' } } } },
            },
            required: ['version', 'purposes', 'policies'],
          },
        },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      const a = await authoriseTenant(vault, principal, request, request.params.tenant);
      requirePolicyReader(a);
      await vault.tenants.require(request.params.tenant);
      const row = a.policy.row;
      const versions = await vault.policies.versions(request.params.tenant);
      await logRead(request, vault, request.params.tenant, {});
      return { version: row.version, purposes: row.purposes, policies: row.text, createdAt: row.createdAt, createdBy: row.createdBy, versions };
    },
  );

  app.put<{ Params: { tenant: string }; Body: { policies: string; purposes?: string[] } }>(
    '/v1/tenants/:tenant/policy',
    {
      config: { auditAction: 'policy.update' },
      schema: {
        summary: 'Push a new policy version: validated against the Kuraban Cedar schema first; if it fails, the active version stays',
        tags: ['policies'],
        params: tenantParams,
        body: {
          type: 'object',
          properties: { policies: { type: 'string', description: 'Cedar policy text' }, purposes: { ...names, description: 'The purposes of use (omit to keep the current list)' } },
          required: ['policies'],
          additionalProperties: false,
        },
        response: { 200: { type: 'object', properties: { version: { type: 'integer' }, purposes: names }, required: ['version', 'purposes'] } },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      const a = await authoriseTenant(vault, principal, request, request.params.tenant);
      requireAllowed(a, 'manage-policy', { tenant: true });
      await vault.tenants.require(request.params.tenant);
      const row = await vault.policies.push(request.params.tenant, request.body.policies, request.body.purposes, auditOf(request));
      return { version: row.version, purposes: row.purposes };
    },
  );

  app.get<{ Params: { tenant: string } }>(
    '/v1/tenants/:tenant/purposes',
    {
      config: { auditAction: 'policy.read' },
      schema: { summary: "The tenant's purposes of use (what Kuraban-Purpose may say)", tags: ['policies'], params: tenantParams, response: { 200: { type: 'object', properties: { purposes: names }, required: ['purposes'] } } },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      const a = await authoriseTenant(vault, principal, request, request.params.tenant);
      await vault.tenants.require(request.params.tenant);
      await logRead(request, vault, request.params.tenant, {});
      return { purposes: a.policy.row.purposes };
    },
  );

  app.get<{ Params: { tenant: string; collection: string } }>(
    '/v1/tenants/:tenant/collections/:collection/access',
    {
      config: { auditAction: 'access.read' },
      schema: {
        summary: "Who can access: for each role the policy names and each of the tenant's service accounts, every field's effective access (clear / masked / withheld) per purpose, computed from the active policy",
        tags: ['policies'],
        params: collectionParams,
        response: {
          200: {
            type: 'object',
            properties: {
              policyVersion: { type: 'integer' },
              rows: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    label: { type: 'string' },
                    purpose: { type: ['string', 'null'] },
                    fields: accessMap,
                    search: accessMap,
                    actions: { type: 'object', additionalProperties: { type: 'boolean' } },
                    rowConditions: { type: 'object', additionalProperties: { type: 'boolean' } },
                  },
                },
              },
            },
            required: ['policyVersion', 'rows'],
          },
        },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      const a = await authoriseTenant(vault, principal, request, request.params.tenant);
      requirePolicyReader(a);
      const collection = await vault.collections.get(request.params.tenant, request.params.collection);
      const rows = await accessReport(a, collection);
      await logRead(request, vault, request.params.tenant, { collection: collection.name });
      return { policyVersion: a.policy.row.version, rows };
    },
  );
}

/** The who-can rows for a collection: roles the policy names, then the tenant's live service accounts. */
export async function accessReport(a: TenantAccess, collection: Parameters<typeof policyView>[0]) {
  const subjects: WhoCanSubject[] = roleSubjects(a.policy.row.text);
  const now = a.vault.clock().getTime();
  for (const k of await a.vault.store.listApiKeys(a.tenantId)) {
    if (k.revokedAt !== null || (k.expiresAt !== null && Date.parse(k.expiresAt) <= now)) continue;
    subjects.push({ label: `key:${k.id}`, principal: policyPrincipal(principalOfKey(k)) });
  }
  return whoCan(a.policy.engine, policyView(collection), subjects, [...a.policy.row.purposes]);
}
