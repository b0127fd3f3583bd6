import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { KurabanError, isKurabanError } from '../errors/index.js';
import { apiKeyIdOf, createOidcVerifier, Lockout, oidcRefusalReason, parseOidcConfig, type OidcVerifier, type Principal } from '../policy/index.js';
import { auditEntries, TENANT_ID_PATTERN, type Vault } from '../vault/index.js';
import type { Config } from '../config/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Everything authentication needs besides the vault: the OIDC issuers (if any) and the lockout. */
export interface Authenticator {
  authenticate(request: FastifyRequest, vault: Vault): Promise<Principal>;
}

/**
 * `Authorization: Bearer <credential>`: an API key (`kbn_…`) or, when issuers are configured, an
 * OIDC JWT. Every failure is UNAUTHENTICATED with one message. Failures are counted per (principal,
 * client address); past the limit the pair is locked (AUTH_LOCKED) for the configured time, and the
 * lock is written to the access log of the tenant concerned (the key's tenant, or the tenant in the path).
 */
export function createAuthenticator(config: Config, log: FastifyBaseLogger): Authenticator {
  const issuers = parseOidcConfig(config.oidcIssuers);
  const oidc: OidcVerifier | null = issuers.length > 0 ? createOidcVerifier(issuers) : null;
  const lockout = new Lockout({ maxFailures: config.lockoutFailures, windowMs: config.lockoutWindowSeconds * 1000, lockMs: config.lockoutSeconds * 1000, clock: () => Date.now() });

  async function logLock(request: FastifyRequest, vault: Vault, principalKey: string, keyId: string | null): Promise<void> {
    let tenantId: string | null = null;
    if (keyId !== null) tenantId = (await vault.store.getApiKey(keyId))?.tenantId ?? null;
    const pathTenant = (request.params as { tenant?: unknown } | undefined)?.tenant;
    if (tenantId === null && typeof pathTenant === 'string' && TENANT_ID_PATTERN.test(pathTenant) && (await vault.store.getTenant(pathTenant))) tenantId = pathTenant;
    log.warn({ event: 'auth.lock', principal: principalKey, requestId: request.id }, 'authentication locked for a principal and source');
    if (tenantId === null) return;
    const audit = { principal: { id: principalKey, auth: keyId !== null ? 'api-key' : 'oidc' } as const, requestId: request.id, client: request.ip || null };
    await vault.accessLog.record(...auditEntries(audit, tenantId, 'auth.lock', {}, 'AUTH_LOCKED', vault.clock()));
  }

  return {
    async authenticate(request, vault) {
      const header = request.headers.authorization;
      // The scheme name is case-insensitive (RFC 9110 §11.1).
      const m = typeof header === 'string' ? /^Bearer ([!-~]{1,16384})$/i.exec(header) : null;
      if (!m) throw new KurabanError('UNAUTHENTICATED', 'send Authorization: Bearer <API key or token>');
      const credential = m[1] as string;
      const keyId = apiKeyIdOf(credential);
      const principalKey = keyId ?? oidc?.unverifiedSubjectKey(credential) ?? 'unknown';
      const source = request.ip || 'unknown';
      if (lockout.lockedFor(principalKey, source) > 0) throw new KurabanError('AUTH_LOCKED', 'too many failed attempts; try again later');
      try {
        let principal: Principal;
        if (keyId !== null || oidc === null || !oidc.looksLikeJwt(credential)) {
          principal = await vault.authenticate(credential);
        } else {
          const u = await oidc.verify(credential);
          principal = { kind: 'oidc', id: u.id, name: 'oidc user', role: 'user', tenantId: u.tenantId, roles: u.roles, duties: u.duties, mfa: u.mfa };
        }
        lockout.success(principalKey, source);
        request.principal = principal;
        return principal;
      } catch (e) {
        if (isKurabanError(e) && e.code === 'UNAUTHENTICATED') {
          const reason = oidcRefusalReason(e);
          if (reason) log.info({ event: 'auth.refused', reason, requestId: request.id }, 'token refused');
          if (lockout.failure(principalKey, source).justLocked) await logLock(request, vault, principalKey, keyId);
        }
        throw e;
      }
    },
  };
}

export function requireAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new KurabanError('FORBIDDEN', 'administrators only');
}
