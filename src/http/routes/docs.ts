import type { FastifyInstance } from 'fastify';
import { ERROR_CODES } from '../../errors/index.js';

/** The machine-readable OpenAPI document and a self-contained human page built from it (no CDN). */
export function docsRoutes(app: FastifyInstance, openapi: () => Record<string, unknown>): void {
  app.get('/openapi.json', async (_req, reply) => reply.type('application/json').send(openapi()));
  app.get('/docs', async (_req, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(renderDocs(openapi())));
}

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderDocs(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<string, Record<string, { summary?: string; tags?: string[]; requestBody?: unknown; parameters?: unknown[] }>>;
  const ops: string[] = [];
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = op.requestBody
        ? `<details><summary>Request body</summary><pre>${esc(JSON.stringify((op.requestBody as { content: { 'application/json': { schema: unknown } } }).content['application/json'].schema, null, 2))}</pre></details>`
        : '';
      ops.push(`<section><h3><code class="m">${esc(method.toUpperCase())}</code> <code>${esc(path)}</code></h3><p>${esc(op.summary ?? '')}</p>${body}</section>`);
    }
  }
  const errors = Object.entries(ERROR_CODES)
    .map(([code, e]) => `<tr id="error-${esc(code)}"><td><code>${esc(code)}</code></td><td>${e.status}</td><td>${esc(e.title)}</td></tr>`)
    .join('');
  const info = doc.info as { title: string; description: string; version: string };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)} API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:0 .2em}
.m{font-weight:bold}section{border-top:1px solid #ddd;padding:.3rem 0}pre{background:#f7f7f7;padding:.5rem;overflow:auto}table{border-collapse:collapse}td{border-bottom:1px solid #eee;padding:.2rem .6rem}</style>
</head><body><h1>${esc(info.title)} API <small>${esc(info.version)}</small></h1><p>${esc(info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Authenticate with <code>Authorization: Bearer kbn_…</code>.</p>
<h2>Operations</h2>${ops.join('\n')}
<h2 id="errors">Errors</h2><table><tr><th>code</th><th>status</th><th>meaning</th></tr>${errors}</table></body></html>`;
}
