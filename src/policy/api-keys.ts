import { createHash, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../crypto/index.js';
import { KurabanError } from '../errors/index.js';
import { isCleanText } from '../schema/index.js';
import type { ApiKeyRow, StoreOps } from '../store/index.js';

/**
 * API keys: `kbn_<16 hex id>_<43 base64url secret>`. The secret has 256 bits of entropy, so a
 * SHA-256 of it is a safe stored verifier (no slow hash needed); the clear key is shown once.
 * Two kinds: `admin` keys belong to the vault's operator (no tenant: they manage tenants, keys and
 * policies, and inside a tenant act as the policy role `operator`); `tenant` keys are service
 * accounts of one tenant, holding the policy roles and duties they were issued with. What either may
 * do inside a tenant is decided by that tenant's Cedar policies (policy/policy-engine.ts).
 */
export type ApiKeyRole = 'admin' | 'tenant';

/** A policy role or duty name, as Cedar entity ids use them. */
export const ROLE_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
export const MAX_ROLES = 20;
/** The policy role an operator (admin) key holds in every tenant. */
export const OPERATOR_ROLE = 'operator';

/** Who is calling, however they authenticated. */
export interface Principal {
  readonly kind: 'api-key' | 'oidc';
  /** Pseudonymous id (key id, or a hash of issuer and subject): what the access log records. */
  readonly id: string;
  readonly name: string;
  /** admin: the operator; tenant: a service account; user: a person signed in through OIDC. */
  readonly role: ApiKeyRole | 'user';
  /** null for operators: not bound to a tenant. */
  readonly tenantId: string | null;
  readonly roles: readonly string[];
  readonly duties: readonly string[];
  /** The authentication showed multiple factors (OIDC amr/acr); API keys never do. */
  readonly mfa: boolean;
}

export interface IssuedApiKey {
  readonly id: string;
  /** The whole key. Returned once, never stored. */
  readonly key: string;
  readonly name: string;
  readonly role: ApiKeyRole;
  readonly tenantId: string | null;
  readonly roles: readonly string[];
  readonly duties: readonly string[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
}

const KEY_PATTERN = /^kbn_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export interface IssueOptions {
  readonly name: string;
  readonly role: ApiKeyRole;
  readonly tenantId: string | null;
  /** Service accounts: at least one policy role; operators: none (they are `operator`). */
  readonly roles?: readonly string[];
  readonly duties?: readonly string[];
  readonly expiresAt?: string | null;
  readonly now: Date;
}

function checkNames(list: unknown, field: 'roles' | 'duties', required: boolean): string[] {
  if (list === undefined && !required) return [];
  if (!Array.isArray(list) || list.length > MAX_ROLES || (required && list.length === 0) || !list.every((r) => typeof r === 'string' && ROLE_NAME_PATTERN.test(r)) || new Set(list).size !== list.length) {
    throw new KurabanError('REQUEST_INVALID', `${field} must be ${required ? '1' : '0'} to ${MAX_ROLES} distinct names (a-z, 0-9, _ and -)`, { details: [{ field, reason: `invalid_${field}` }] });
  }
  return [...(list as string[])].sort();
}

export async function issueApiKey(ops: Pick<StoreOps, 'insertApiKey'>, options: IssueOptions): Promise<IssuedApiKey> {
  if (typeof options.name !== 'string' || options.name.trim() === '' || options.name.length > 100 || !isCleanText(options.name)) {
    throw new KurabanError('REQUEST_INVALID', 'invalid key name', { details: [{ field: 'name', reason: 'invalid_name' }] });
  }
  if (options.role === 'admin' && options.tenantId !== null) throw new KurabanError('REQUEST_INVALID', 'admin keys are not bound to a tenant');
  if (options.role === 'tenant' && options.tenantId === null) throw new KurabanError('REQUEST_INVALID', 'tenant keys need a tenant');
  if (options.role === 'admin' && ((options.roles?.length ?? 0) > 0 || (options.duties?.length ?? 0) > 0)) {
    throw new KurabanError('REQUEST_INVALID', 'admin keys hold the operator role only', { details: [{ field: 'roles', reason: 'not_for_admin' }] });
  }
  const roles = options.role === 'tenant' ? checkNames(options.roles, 'roles', true) : [];
  const duties = options.role === 'tenant' ? checkNames(options.duties, 'duties', false) : [];
  const expiresMs = options.expiresAt == null ? undefined : Date.parse(options.expiresAt);
  if (expiresMs !== undefined && !Number.isFinite(expiresMs)) {
    throw new KurabanError('REQUEST_INVALID', 'expiresAt must be a date-time', { details: [{ field: 'expiresAt', reason: 'invalid_date_time' }] });
  }
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const row: ApiKeyRow = {
    id,
    tenantId: options.tenantId,
    name: options.name,
    role: options.role,
    roles,
    duties,
    secretHash: hashSecret(secret),
    createdAt: options.now.toISOString(),
    // Stored in one form (UTC, ISO 8601) so that expiry compares the same way everywhere.
    expiresAt: expiresMs === undefined ? null : new Date(expiresMs).toISOString(),
    revokedAt: null,
  };
  await ops.insertApiKey(row);
  return { id, key: `kbn_${id}_${secret}`, name: row.name, role: options.role, tenantId: row.tenantId, roles, duties, createdAt: row.createdAt, expiresAt: row.expiresAt };
}

/** Resolves a presented key to its principal, or UNAUTHENTICATED — the same error for every failure. */
export async function authenticateApiKey(ops: Pick<StoreOps, 'getApiKey'>, presented: string, now: Date): Promise<Principal> {
  const m = KEY_PATTERN.exec(presented);
  const row = m ? await ops.getApiKey(m[1] as string) : undefined;
  const expected = row?.secretHash ?? Buffer.alloc(32);
  const given = hashSecret(m ? (m[2] as string) : presented);
  const match = constantTimeEqual(expected, given);
  const expired = row?.expiresAt != null && !(Date.parse(row.expiresAt) > now.getTime());
  if (!m || !row || !match || row.revokedAt !== null || expired) {
    throw new KurabanError('UNAUTHENTICATED', 'invalid, expired or revoked API key');
  }
  return principalOfKey(row);
}

export function principalOfKey(row: ApiKeyRow): Principal {
  const role = row.role as ApiKeyRole;
  return { kind: 'api-key', id: row.id, name: row.name, role, tenantId: row.tenantId, roles: role === 'admin' ? [OPERATOR_ROLE] : row.roles, duties: row.duties, mfa: false };
}

/** The key id of a presented key (the part before the secret), or null: what lockout counts failures against. */
export function apiKeyIdOf(presented: string): string | null {
  return KEY_PATTERN.exec(presented)?.[1] ?? null;
}

/** The public view of a stored key (never its hash). */
export function presentApiKey(row: ApiKeyRow) {
  return { id: row.id, name: row.name, role: row.role, tenantId: row.tenantId, roles: row.roles, duties: row.duties, createdAt: row.createdAt, expiresAt: row.expiresAt, revokedAt: row.revokedAt };
}
