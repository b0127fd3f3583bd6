import type { FastifyRequest } from 'fastify';
import { isIP } from 'node:net';
import type { ErrorCode } from '../errors/index.js';
import type { LogAction } from '../ledger/index.js';
import type { Audit, Touched, Vault } from '../vault/index.js';
import { NAME_PATTERN } from '../schema/index.js';
import { auditEntries, COLLECTION_NAME_PATTERN, TENANT_ID_PATTERN } from '../vault/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The access-log action a route performs; every route that touches a tenant declares one. */
    auditAction?: LogAction;
  }
}

/** A purpose is an identifier from the tenant's list, shaped like a field name. */
const PURPOSE = NAME_PATTERN;

/** Log step of the route pipeline: who (the authenticated principal), which request, from where. */
export function auditOf(request: FastifyRequest): Audit {
  const principal = request.principal;
  if (!principal) throw new Error('auditOf before authentication');
  const purpose = request.headers['kuraban-purpose'];
  return {
    principal: { id: principal.id, auth: principal.kind === 'oidc' ? 'oidc' : 'api-key' },
    requestId: request.id,
    client: isIP(request.ip) !== 0 ? request.ip : null,
    ...(typeof purpose === 'string' && PURPOSE.test(purpose) ? { purpose } : {}),
  };
}

function actionOf(request: FastifyRequest): LogAction {
  const action = request.routeOptions.config.auditAction;
  if (!action) throw new Error(`route ${request.routeOptions.url ?? '?'} declares no auditAction`);
  return action;
}

/** Reads: the entry is stored before the response leaves; if it cannot be, the read fails (fail closed). */
export async function logRead(request: FastifyRequest, vault: Vault, tenantId: string, touched: Touched): Promise<void> {
  await vault.accessLog.record(...auditEntries(auditOf(request), tenantId, actionOf(request), touched, 'ok', vault.clock()));
}

/**
 * Refusals are entries too (outcome = the error code), in the log of the tenant the request named —
 * if that tenant exists and the caller was authenticated. Best effort: the request already failed.
 */
export async function logRefusal(request: FastifyRequest, vault: Vault, code: ErrorCode): Promise<void> {
  const tenantId = (request.params as { tenant?: unknown } | undefined)?.tenant;
  const action = request.routeOptions?.config?.auditAction;
  if (!request.principal || !action || typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId)) return;
  if (!(await vault.store.getTenant(tenantId))) return;
  const collection = (request.params as { collection?: unknown }).collection;
  const touched: Touched = typeof collection === 'string' && COLLECTION_NAME_PATTERN.test(collection) ? { collection } : {};
  await vault.accessLog.record(...auditEntries(auditOf(request), tenantId, action, touched, code, vault.clock()));
}
