import type { FastifyInstance, RouteOptions } from 'fastify';
import { ERROR_CODES } from '../errors/index.js';
import { apiKey, collection, fieldDefinition, problem, record, recordInput, tenant } from './schemas.js';

interface RouteSchema {
  summary?: string;
  tags?: string[];
  params?: { properties?: Record<string, unknown>; required?: string[] };
  headers?: { properties?: Record<string, unknown> };
  querystring?: { properties?: Record<string, unknown>; required?: string[] };
  body?: unknown;
  response?: Record<string, unknown>;
}

/**
 * OpenAPI 3.1 (https://spec.openapis.org/oas/v3.1.0) built from the routes' own JSON Schemas, so the
 * document cannot drift from what the server validates. Collects routes as they are registered.
 */
export function collectOpenApi(app: FastifyInstance): () => Record<string, unknown> {
  const routes: Array<{ method: string; url: string; schema: RouteSchema }> = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as RouteSchema | undefined;
    if (!schema || route.url === '/openapi.json' || route.url === '/docs') return;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method: method.toLowerCase(), url: route.url, schema });
    }
  });
  let cached: Record<string, unknown> | undefined;
  return () => (cached ??= build(routes));
}

function build(routes: ReadonlyArray<{ method: string; url: string; schema: RouteSchema }>): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, url, schema } of routes) {
    // A trailing wildcard (the access log's tile/…) is documented as the parameter {path}.
    const path = url.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\/\*$/, '/{path}');
    const parameters: unknown[] = [];
    for (const [name, s] of Object.entries(schema.params?.properties ?? {})) {
      parameters.push({ name: name === '*' ? 'path' : name, in: 'path', required: true, schema: s });
    }
    for (const [name, s] of Object.entries(schema.querystring?.properties ?? {})) {
      parameters.push({ name, in: 'query', required: schema.querystring?.required?.includes(name) ?? false, schema: s });
    }
    for (const [name, s] of Object.entries(schema.headers?.properties ?? {})) {
      parameters.push({ name, in: 'header', required: false, schema: s });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, s] of Object.entries(schema.response ?? {})) {
      const desc = (s as { description?: string }).description ?? 'Success';
      const media = (s as { contentMediaType?: string }).contentMediaType ?? 'application/json';
      responses[status] = (s as { type?: string }).type === 'null' ? { description: desc } : { description: desc, content: { [media]: { schema: s } } };
    }
    // Unseal is public: while sealed no API key can be checked; the passphrase or PIN is the proof.
    const isPublic = url === '/healthz' || url === '/readyz' || url === '/v1/sys/unseal';
    const problemStatuses =
      url === '/v1/sys/unseal' ? ['400', '429', '503'] : isPublic ? ['503'] : ['400', '401', '403', '404', '409', '412', '413', '415', '422', '428', '503'];
    for (const st of problemStatuses) {
      responses[st] ??= { $ref: '#/components/responses/Problem' };
    }
    responses.default ??= { $ref: '#/components/responses/Problem' };
    const op: Record<string, unknown> = {
      operationId: `${method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: schema.summary ?? '',
      tags: schema.tags ?? [],
      parameters,
      responses,
      ...(isPublic ? { security: [] } : {}),
    };
    if (schema.body) op.requestBody = { required: true, content: { 'application/json': { schema: schema.body } } };
    paths[path] = { ...(paths[path] ?? {}), [method]: op };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kuraban',
      version: '0.1.0',
      description:
        'A self-hosted vault for personal data. Every error is an RFC 9457 problem with a stable `code`. Personal values never appear in URLs: search terms go in request bodies.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }],
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: kbn_<id>_<secret>' } },
      schemas: { Problem: problem, Tenant: tenant, Collection: collection, FieldDefinition: fieldDefinition, RecordInput: recordInput, Record: record, ApiKey: apiKey },
      responses: {
        Problem: {
          description: `Problem details (RFC 9457). Codes: ${Object.keys(ERROR_CODES).join(', ')}`,
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
    },
  };
}

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the OpenAPI operation and the docs page. */
    summary?: string;
    tags?: string[];
  }
}
