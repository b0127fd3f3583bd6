import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import { KurabanError } from '../errors/index.js';
import { loadPolicyEngine } from '../policy/index.js';
import type { VaultState } from '../vault/index.js';
import { createRouteContext } from './context.js';
import { createAuthenticator } from './auth.js';
import { logRefusal } from './audit.js';
import { registerJsonBody } from './json-body.js';
import { collectOpenApi } from './openapi.js';
import { fromFrameworkError, sendProblem } from './problem.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { collectionRoutes } from './routes/collections.js';
import { docsRoutes } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes, sysRoutes, type VaultControl } from './routes/keys.js';
import { logRoutes } from './routes/log.js';
import { policyRoutes } from './routes/policies.js';
import { recordRoutes } from './routes/records.js';
import { tokenRoutes } from './routes/tokens.js';
import { tenantRoutes } from './routes/tenants.js';
import { residencyRoutes } from './routes/residency.js';

export interface AppOptions {
  readonly config: Config;
  /** The vault as it is now (open or sealed); read on every request. */
  readonly state: () => VaultState;
  /** Log to stdout (server) or not at all (tests). */
  readonly logger?: boolean;
  /** Where log lines go when `logger` is on (default stdout); lets tests read what would be logged. */
  readonly logStream?: { write(line: string): void };
  /** Seal and unseal at run time (the server's VaultHost); without it /v1/sys/* answer ROUTE_NOT_FOUND. */
  readonly control?: VaultControl;
}

/** On every answer: which request it was, never sniffed, never cached unless the route said otherwise. */
function setCommonHeaders(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // A route that chose its own caching (the access log's tiles) keeps it; everything else is no-store.
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  return reply.header('kuraban-request-id', request.id).header('x-content-type-options', 'nosniff');
}

/**
 * The Fastify app. A request's path: parse body (UTF-8, JSON) → route schema → authenticate →
 * authorise → vault → present; any failure becomes one RFC 9457 problem. Logs carry method, route,
 * status and request id — never bodies, headers or values.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  loadPolicyEngine(); // every request may decide a policy: compile cedar-wasm before the first one
  const app = Fastify({
    logger: options.logger
      ? {
          level: options.config.logLevel,
          serializers: {
            req: (req) => ({ id: req.id, method: req.method, route: req.routeOptions?.url ?? 'unmatched' }),
            res: (res) => ({ statusCode: res.statusCode }),
          },
          ...(options.logStream ? { stream: options.logStream } : {}),
        }
      : false,
    bodyLimit: options.config.bodyLimit,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Bad percent-encoding and over-long params: a problem, not Fastify's reply that quotes the URL.
    // (These replies bypass onSend hooks, so they set the common headers themselves.)
    frameworkErrors: (error, request, reply) => sendProblem(setCommonHeaders(request, reply), request, fromFrameworkError(error)),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
  });
  app.addHook('onSend', async (request, reply) => {
    setCommonHeaders(request, reply);
  });
  registerJsonBody(app);
  app.setErrorHandler(async (error, request, reply) => {
    let err = fromFrameworkError(error);
    if (err.code === 'KEY_PROVIDER_UNAVAILABLE') {
      // The token went away under a running server: seal (zero every key) rather than fail request by request.
      request.log.error({ code: err.code }, 'root key provider failed; sealing the vault');
      await options.control?.seal(`root key provider failed: ${err.message}`).catch(() => undefined);
      err = new KurabanError('VAULT_SEALED', `vault is sealed: root key provider failed: ${err.message}`);
    }
    if (err.code === 'INTERNAL') request.log.error({ err: { type: (error as Error).name, code: (error as { code?: string }).code } }, 'internal error');
    try {
      const state = options.state();
      // A residency refusal was logged by the residency service itself, with the location.
      if (!state.sealed && err.code !== 'RESIDENCY_VIOLATION') await logRefusal(request, state.vault, err.code);
    } catch {
      // The request has already failed; its refusal entry is best effort.
      request.log.warn({ code: err.code }, 'refusal not logged');
    }
    return sendProblem(reply, request, err);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, request, new KurabanError('ROUTE_NOT_FOUND')));

  const openapi = collectOpenApi(app);
  const ctx = createRouteContext(options.config, options.state, createAuthenticator(options.config, app.log));
  healthRoutes(app, ctx);
  tenantRoutes(app, ctx);
  collectionRoutes(app, ctx);
  recordRoutes(app, ctx);
  tokenRoutes(app, ctx);
  apiKeyRoutes(app, ctx);
  logRoutes(app, ctx);
  policyRoutes(app, ctx);
  residencyRoutes(app, ctx);
  keyRoutes(app, ctx);
  sysRoutes(app, ctx, options.control);
  docsRoutes(app, openapi);
  await app.ready();
  return app;
}
