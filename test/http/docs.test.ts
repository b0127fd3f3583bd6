/** /openapi.json (valid OpenAPI 3.1, complete) and /docs (a self-contained page of every operation and error code). */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES } from '../../src/errors/index.js';
import { openHarness, type Harness } from './harness.js';

interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
  parameters: Array<{ name: string; in: string; required: boolean }>;
  requestBody?: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { $ref?: string; description?: string; content?: Record<string, unknown> }>;
  security?: unknown[];
}
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { responses: { Problem: { description: string } }; schemas: Record<string, { required?: string[] }> };
}

/** Routes the document describes and routes it leaves out on purpose: itself and its rendering. */
const NOT_IN_DOCUMENT = new Set(['GET /openapi.json', 'GET /docs']);
/** Wildcard routes (the access log's tile/…), documented with the path parameter {path}. */
const WILDCARD_ROUTES = ['GET /log/:tenant/tile/*'];

/**
 * Every method+path the app serves, read from Fastify's route tree (`printRoutes`), HEAD excepted.
 * Each tree line is `<4-char indent per level><segment> (<METHODS>)`.
 */
function registeredRoutes(app: FastifyInstance): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│├└─\s]*)(\/\S*)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = Math.floor((m[1] ?? '').length / 4);
    stack.length = depth;
    stack.push(m[2] as string);
    const path = stack.join('').replace(/^\/\//, '/');
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      if (method !== 'HEAD') out.add(`${method} ${path}`);
    }
  }
  return out;
}

let h: Harness;
let doc: OpenApiDoc;
before(async () => {
  h = await openHarness();
  const res = await h.call({ method: 'GET', url: '/openapi.json', key: null });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  doc = res.json() as OpenApiDoc;
});
after(async () => {
  await h.close();
});

const operations = () => Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));

describe('/openapi.json', () => {
  test('is a valid OpenAPI 3.1 document', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2)?.slice(0, 3000));
    assert.equal(validator.version, '3.1');
  });

  test('describes every route the app serves, with its method, and nothing it does not serve', () => {
    const routes = registeredRoutes(h.app);
    // printRoutes cannot show a wildcard under a parametric prefix (it prints a bare `*`): ask the router.
    for (const r of WILDCARD_ROUTES) {
      const [method, url] = r.split(' ') as [string, string];
      assert.ok(h.app.hasRoute({ method: method as 'GET', url }), `${r} is served`);
      routes.add(r);
    }
    assert.ok(routes.size >= 17, `the route tree was read (${[...routes].join(', ')})`);
    for (const r of ['POST /v1/tenants', 'PUT /v1/tenants/:tenant/collections/:collection/records/:id', 'DELETE /v1/api-keys/:id', 'GET /healthz']) {
      assert.ok(routes.has(r), `parsed ${r}`);
    }
    const documented = new Set(operations().map(({ path, method }) => `${method.toUpperCase()} ${path.replace(/\{([A-Za-z_]+)\}/g, ':$1')}`));
    // A trailing wildcard route is documented with the path parameter {path}.
    const served = new Set([...routes].filter((r) => !NOT_IN_DOCUMENT.has(r)).map((r) => r.replace(/\/\*$/, '/:path')));
    assert.deepEqual([...served].filter((r) => !documented.has(r)), [], 'served but not documented');
    assert.deepEqual([...documented].filter((r) => !served.has(r)), [], 'documented but not served');
    for (const r of NOT_IN_DOCUMENT) assert.ok(routes.has(r), `${r} is served`);
  });

  test('operations have unique ids, summaries, and declare exactly their path parameters', () => {
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      assert.ok(op.operationId && !ids.has(op.operationId), `unique operationId for ${where}`);
      ids.add(op.operationId);
      assert.ok(op.summary.length > 0, `summary for ${where}`);
      const inPath = [...path.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => m[1]).sort();
      const declared = op.parameters.filter((p) => p.in === 'path').map((p) => p.name).sort();
      assert.deepEqual(declared, inPath, `path parameters of ${where}`);
      for (const p of op.parameters.filter((x) => x.in === 'path')) assert.equal(p.required, true);
    }
  });

  test('write operations declare their JSON request body; PUT and DELETE of a record declare If-Match', () => {
    for (const { path, method, op } of operations()) {
      // Action endpoints (POST …/rotate, …/erase, /v1/sys/seal) take no body.
      if ((method === 'post' && !/\/(rotate|erase|seal)$/.test(path)) || method === 'put' || method === 'patch') {
        assert.ok(op.requestBody?.content['application/json'], `${method} ${path} has a JSON body`);
      } else {
        assert.equal(op.requestBody, undefined, `${method} ${path} has no body`);
      }
    }
    const record = doc.paths['/v1/tenants/{tenant}/collections/{collection}/records/{id}'];
    assert.ok(record);
    for (const m of ['put', 'delete']) assert.ok(record[m]?.parameters.some((p) => p.in === 'header' && p.name === 'if-match'), `${m} declares if-match`);
    const tenantBody = doc.paths['/v1/tenants']?.post?.requestBody?.content['application/json']?.schema;
    assert.equal(tenantBody?.additionalProperties, false, 'the body schema is the one the server enforces');
  });

  test('data operations need a bearer key and document problem answers; health is public', () => {
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      assert.equal(op.responses.default?.$ref, '#/components/responses/Problem', `${where} default is a problem`);
      if (path === '/healthz' || path === '/readyz' || path === '/v1/sys/unseal') {
        assert.deepEqual(op.security, [], `${where} is public`);
        assert.equal(op.responses['503']?.$ref, '#/components/responses/Problem');
      } else {
        assert.equal(op.security, undefined, `${where} uses the document's bearer security`);
        for (const status of ['400', '401', '403', '503']) assert.equal(op.responses[status]?.$ref, '#/components/responses/Problem', `${where} ${status}`);
      }
      assert.ok(Object.keys(op.responses).some((s) => /^2\d\d$/.test(s)), `${where} documents its success`);
    }
    for (const code of Object.keys(ERROR_CODES)) assert.ok(doc.components.responses.Problem.description.includes(code), `Problem lists ${code}`);
    assert.deepEqual(doc.components.schemas.Problem?.required, ['type', 'title', 'status', 'code']);
  });

  test('every documented problem status exists in the error table', () => {
    const statuses = new Set(Object.values(ERROR_CODES).map((e) => String(e.status)));
    for (const { op } of operations()) {
      for (const [status, r] of Object.entries(op.responses)) {
        if (r.$ref === '#/components/responses/Problem' && status !== 'default') assert.ok(statuses.has(status), `status ${status} has codes`);
      }
    }
  });
});

describe('/docs', () => {
  test('is a self-contained HTML page listing every operation and every error code, each error addressable', async () => {
    const res = await h.call({ method: 'GET', url: '/docs', key: null });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
    const html = res.payload;
    assert.ok(html.startsWith('<!doctype html>'));
    assert.ok(!/<script|\bsrc=|https?:\/\//i.test(html), 'no scripts and no external resources');
    for (const { path, method, op } of operations()) {
      assert.ok(html.includes(`<code class="m">${method.toUpperCase()}</code> <code>${path}</code>`), `${method} ${path} is listed`);
      assert.ok(html.includes(op.summary.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)), `the summary of ${method} ${path} is shown`);
    }
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      const row = new RegExp(`<tr id="error-${code}"><td><code>${code}</code></td><td>${spec.status}</td>`);
      assert.match(html, row, `${code} is listed with its status`);
    }
    // A problem's `type` is /docs#error-<CODE>: that anchor exists on this page.
    const problem = (await h.call({ method: 'GET', url: '/nope' })).json() as { type: string };
    assert.ok(html.includes(`id="${problem.type.split('#')[1]}"`));
  });
});
