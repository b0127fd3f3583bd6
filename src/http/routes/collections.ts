import type { FastifyInstance } from 'fastify';
import { auditOf, logRead } from '../audit.js';
import type { RouteContext } from '../context.js';
import { authoriseTenant, requireAllowed } from '../authorise.js';
import { TEXT_PATTERN, collection, collectionParam, fieldDefinition, tenantIdParam } from '../schemas.js';
import type { Collection } from '../../vault/index.js';
import { KurabanError } from '../../errors/index.js';
import { SCHEMA_TEMPLATES, SCHEMA_TEMPLATE_NAMES, type SchemaTemplateName } from '../../schema/index.js';
import { residencyRulesSchema } from './residency.js';

const present = (c: Collection) => ({
  tenantId: c.tenantId,
  name: c.name,
  schemaVersion: c.schemaVersion,
  fields: c.schema.fields,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
});

const params = { type: 'object', properties: { tenant: tenantIdParam }, required: ['tenant'] } as const;
const collectionParams = { type: 'object', properties: { tenant: tenantIdParam, collection: collectionParam }, required: ['tenant', 'collection'] } as const;

export function collectionRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: { tenant: string }; Body: { name: string; fields?: unknown[]; template?: SchemaTemplateName; residency?: unknown } }>(
    '/v1/tenants/:tenant/collections',
    {
      config: { auditAction: 'collection.create' },
      schema: {
        summary: 'Create a collection with a declared schema, or from a template (juminhyo, kojin-juminzei, kokuho); its data and index keys are created with it',
        tags: ['collections'],
        params,
        body: {
          type: 'object',
          properties: {
            name: collectionParam,
            fields: { type: 'array', items: fieldDefinition, minItems: 1, maxItems: 200 },
            template: { type: 'string', enum: SCHEMA_TEMPLATE_NAMES, description: 'A municipal schema template instead of fields' },
            residency: { ...residencyRulesSchema, description: 'Residency rules (docs/residency.md); the store and key provider must satisfy them, else RESIDENCY_VIOLATION' },
          },
          required: ['name'],
          additionalProperties: false,
        },
        response: { 201: collection },
      },
    },
    async (request, reply) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireAllowed(await authoriseTenant(vault, principal, request, request.params.tenant), 'manage-schema', { tenant: true });
      const { fields, template } = request.body;
      if ((fields === undefined) === (template === undefined)) {
        throw new KurabanError('REQUEST_INVALID', 'give either "fields" or "template"', { details: [{ reason: 'fields_or_template' }] });
      }
      const schema = template !== undefined ? SCHEMA_TEMPLATES[template].schema : { fields };
      const { residency } = request.body;
      const created =
        residency !== undefined
          ? await vault.residency.createCollection(request.params.tenant, request.body.name, schema, residency, auditOf(request))
          : await vault.collections.create(request.params.tenant, request.body.name, schema, auditOf(request));
      return reply.code(201).send(present(created));
    },
  );

  app.get<{ Params: { tenant: string } }>(
    '/v1/tenants/:tenant/collections',
    {
      config: { auditAction: 'collection.list' },
      schema: {
        summary: 'List collections',
        tags: ['collections'],
        params,
        response: { 200: { type: 'object', properties: { collections: { type: 'array', items: collection } }, required: ['collections'] } },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      await authoriseTenant(vault, principal, request, request.params.tenant);
      const list = await vault.collections.list(request.params.tenant);
      await logRead(request, vault, request.params.tenant, {});
      return { collections: list.map(present) };
    },
  );

  app.get<{ Params: { tenant: string; collection: string } }>(
    '/v1/tenants/:tenant/collections/:collection',
    { config: { auditAction: 'collection.read' }, schema: { summary: 'Get a collection and its schema', tags: ['collections'], params: collectionParams, response: { 200: collection } } },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      await authoriseTenant(vault, principal, request, request.params.tenant);
      const found = await vault.collections.get(request.params.tenant, request.params.collection);
      await logRead(request, vault, request.params.tenant, { collection: found.name });
      return present(found);
    },
  );

  app.patch<{ Params: { tenant: string; collection: string }; Body: { schemaVersion?: number; addFields?: unknown[]; addEnumValues?: Record<string, unknown[]> } }>(
    '/v1/tenants/:tenant/collections/:collection',
    {
      config: { auditAction: 'collection.update' },
      schema: {
        summary: 'Evolve a schema: add optional fields, add enum values. Stored records are not rewritten.',
        tags: ['collections'],
        params: collectionParams,
        body: {
          type: 'object',
          properties: {
            schemaVersion: { type: 'integer', minimum: 1, description: 'If given, the change applies only to this schema version' },
            addFields: { type: 'array', items: fieldDefinition, maxItems: 200 },
            addEnumValues: {
              type: 'object',
              propertyNames: fieldDefinition.properties.name,
              additionalProperties: { type: 'array', items: { type: 'string', pattern: TEXT_PATTERN } },
            },
          },
          additionalProperties: false,
        },
        response: { 200: collection },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      requireAllowed(await authoriseTenant(vault, principal, request, request.params.tenant), 'manage-schema', { tenant: true });
      const { schemaVersion, addFields, addEnumValues } = request.body;
      const evolved = await vault.collections.evolve(
        request.params.tenant,
        request.params.collection,
        { ...(addFields ? { addFields } : {}), ...(addEnumValues ? { addEnumValues } : {}) },
        schemaVersion,
        auditOf(request),
      );
      return present(evolved);
    },
  );
}
