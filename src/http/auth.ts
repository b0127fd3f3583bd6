import type { FastifyRequest } from 'fastify';
import { KurabanError } from '../errors/index.js';
import type { Principal } from '../policy/index.js';
import type { Vault } from '../vault/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Authenticate: `Authorization: Bearer kbn_…`. Anything else is UNAUTHENTICATED, with one message. */
export async function authenticate(request: FastifyRequest, vault: Vault): Promise<Principal> {
  const header = request.headers.authorization;
  // The scheme name is case-insensitive (RFC 9110 §11.1).
  const m = typeof header === 'string' ? /^Bearer ([!-~]{1,200})$/i.exec(header) : null;
  if (!m) throw new KurabanError('UNAUTHENTICATED', 'send Authorization: Bearer <API key>');
  const principal = await vault.authenticate(m[1] as string);
  request.principal = principal;
  return principal;
}

/** Authorise (until Cedar policies arrive): admins everywhere, tenant keys only inside their tenant. */
export function requireTenantAccess(principal: Principal, tenantId: string): void {
  if (principal.role === 'admin') return;
  if (principal.tenantId !== tenantId) throw new KurabanError('FORBIDDEN', 'this key is not for that tenant');
}

export function requireAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new KurabanError('FORBIDDEN', 'administrators only');
}
