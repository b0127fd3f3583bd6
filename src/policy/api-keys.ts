import { createHash, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../crypto/index.js';
import { KurabanError } from '../errors/index.js';
import { isCleanText } from '../schema/index.js';
import type { ApiKeyRow, StoreOps } from '../store/index.js';

/**
 * API keys: `kbn_<16 hex id>_<43 base64url secret>`. The secret has 256 bits of entropy, so a
 * SHA-256 of it is a safe stored verifier (no slow hash needed); the clear key is shown once.
 * Roles for now: `admin` (every tenant; tenant null) and `tenant` (everything inside one tenant).
 * The policy issue replaces roles with Cedar policies.
 */
export type ApiKeyRole = 'admin' | 'tenant';

export interface Principal {
  readonly kind: 'api-key';
  readonly id: string;
  readonly name: string;
  readonly role: ApiKeyRole;
  /** null for administrators: not bound to a tenant. */
  readonly tenantId: string | null;
}

export interface IssuedApiKey {
  readonly id: string;
  /** The whole key. Returned once, never stored. */
  readonly key: string;
  readonly name: string;
  readonly role: ApiKeyRole;
  readonly tenantId: string | null;
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
  readonly expiresAt?: string | null;
  readonly now: Date;
}

export async function issueApiKey(ops: Pick<StoreOps, 'insertApiKey'>, options: IssueOptions): Promise<IssuedApiKey> {
  if (typeof options.name !== 'string' || options.name.trim() === '' || options.name.length > 100 || !isCleanText(options.name)) {
    throw new KurabanError('REQUEST_INVALID', 'invalid key name', { details: [{ field: 'name', reason: 'invalid_name' }] });
  }
  if (options.role === 'admin' && options.tenantId !== null) throw new KurabanError('REQUEST_INVALID', 'admin keys are not bound to a tenant');
  if (options.role === 'tenant' && options.tenantId === null) throw new KurabanError('REQUEST_INVALID', 'tenant keys need a tenant');
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
    secretHash: hashSecret(secret),
    createdAt: options.now.toISOString(),
    // Stored in one form (UTC, ISO 8601) so that expiry compares the same way everywhere.
    expiresAt: expiresMs === undefined ? null : new Date(expiresMs).toISOString(),
    revokedAt: null,
  };
  await ops.insertApiKey(row);
  return { id, key: `kbn_${id}_${secret}`, name: row.name, role: options.role, tenantId: row.tenantId, createdAt: row.createdAt, expiresAt: row.expiresAt };
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
  return { kind: 'api-key', id: row.id, name: row.name, role: row.role as ApiKeyRole, tenantId: row.tenantId };
}

/** The public view of a stored key (never its hash). */
export function presentApiKey(row: ApiKeyRow) {
  return { id: row.id, name: row.name, role: row.role, tenantId: row.tenantId, createdAt: row.createdAt, expiresAt: row.expiresAt, revokedAt: row.revokedAt };
}
