import type { FastifyInstance } from 'fastify';
import { KurabanError } from '../../errors/index.js';
import type { RouteContext } from '../context.js';

/** Liveness says whether the vault is sealed (and why); readiness fails while sealed or without storage. */
export function healthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness, and whether the vault is sealed',
        tags: ['health'],
        response: {
          200: {
            type: 'object',
            properties: { status: { type: 'string', enum: ['ok', 'sealed'] }, sealed: { type: 'boolean' }, reason: { type: 'string' } },
            required: ['status', 'sealed'],
          },
        },
      },
    },
    async () => {
      const s = ctx.state();
      return s.sealed ? { status: 'sealed', sealed: true, reason: s.reason } : { status: 'ok', sealed: false };
    },
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: unsealed and storage reachable',
        tags: ['health'],
        response: { 200: { type: 'object', properties: { status: { type: 'string' }, store: { type: 'string' } }, required: ['status'] } },
      },
    },
    async () => {
      const s = ctx.state();
      if (s.sealed) throw new KurabanError('VAULT_SEALED', `vault is sealed: ${s.reason}`);
      await s.store.ping();
      return { status: 'ready', store: s.store.dialect };
    },
  );
}
