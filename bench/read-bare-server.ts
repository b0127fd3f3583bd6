/**
 * The read scenario's baseline: a bare Fastify server, in its own process, answering the same URLs
 * with the same JSON bytes Kuraban gave, from memory — no authentication, policy, decryption, store
 * or log.
 *   node dist/bench/read-bare-server.js <answers.json> <port>
 * answers.json: { "get": { "<path>": "<body>" }, "search": { "<atena_number>": "<body>" } }
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const [file = '', portText = '0'] = process.argv.slice(2);
const answers = JSON.parse(readFileSync(file, 'utf8')) as { get: Record<string, string>; search: Record<string, string> };
const get = new Map(Object.entries(answers.get).map(([k, v]) => [k, Buffer.from(v)]));
const search = new Map(Object.entries(answers.search).map(([k, v]) => [k, Buffer.from(v)]));
const app = Fastify({ logger: false });
const base = '/v1/tenants/:tenant/collections/:collection/records';
app.get(`${base}/:id`, async (request, reply) => {
  const body = get.get(request.url);
  if (body === undefined) return reply.code(404).send({ error: 'not found' });
  return reply.type('application/json; charset=utf-8').send(body);
});
app.post<{ Body: { where?: { atena_number?: string } } }>(`${base}/search`, async (request, reply) => {
  const body = search.get(request.body.where?.atena_number ?? '');
  if (body === undefined) return reply.code(404).send({ error: 'not found' });
  return reply.type('application/json; charset=utf-8').send(body);
});
app.get('/readyz', async () => ({ ready: true }));
await app.listen({ host: '127.0.0.1', port: Number(portText) });
const stop = async () => {
  await app.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
