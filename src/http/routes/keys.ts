import type { FastifyInstance } from 'fastify';
import { KurabanError } from '../../errors/index.js';
import { SUBJECT_ID_PATTERN } from '../../vault/index.js';
import { auditOf, logRead } from '../audit.js';
import { authoriseTenant, requireAllowed } from '../authorise.js';
import type { RouteContext } from '../context.js';
import { collectionParam, tenantIdParam } from '../schemas.js';

const tenantParams = { type: 'object', properties: { tenant: tenantIdParam }, required: ['tenant'] } as const;
const subjectParams = {
  type: 'object',
  properties: { tenant: tenantIdParam, subject: { type: 'string', pattern: SUBJECT_ID_PATTERN.source, description: "The vault's pseudonymous subject id (never a My Number or a name)" } },
  required: ['tenant', 'subject'],
} as const;

const collectionParams = { type: 'object', properties: { tenant: tenantIdParam, collection: collectionParam }, required: ['tenant', 'collection'] } as const;
const rotated = { type: 'object', properties: { kind: { type: 'string', enum: ['tenant', 'collection'] }, version: { type: 'integer' } }, required: ['kind', 'version'] } as const;

const receipt = {
  type: 'object',
  properties: {
    tenant: { type: 'string' },
    subject: { type: 'string' },
    erasedAt: { type: 'string' },
    keysDestroyed: { type: 'integer' },
    recordsRemoved: { type: 'integer' },
    tokensRevoked: { type: 'integer' },
    log: {
      type: 'object',
      properties: {
        origin: { type: 'string' },
        verifierKey: { type: 'string' },
        index: { type: 'integer' },
        entry: { type: 'string', description: 'The entry bytes, base64; leaf hash SHA-256(0x00 ‖ entry) (RFC 6962 §2.1)' },
        checkpoint: { type: 'string', description: 'Signed checkpoint (C2SP tlog-checkpoint) the proof is against' },
        treeSize: { type: 'integer' },
        inclusionProof: { type: 'array', items: { type: 'string' } },
      },
      required: ['origin', 'verifierKey', 'index', 'entry', 'checkpoint', 'treeSize', 'inclusionProof'],
    },
  },
  required: ['tenant', 'subject', 'erasedAt', 'keysDestroyed', 'recordsRemoved', 'tokensRevoked', 'log'],
} as const;

/**
 * Erasing a person and the tenant's keys. All need `manage-keys` on the tenant. Long jobs
 * (re-wrapping, re-encryption) run from the CLI (`kuraban keys …`), which resumes and throttles.
 */
export function keyRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: { tenant: string; subject: string } }>(
    '/v1/tenants/:tenant/subjects/:subject/erase',
    {
      config: { auditAction: 'subject.erase' },
      schema: {
        summary: "Erase a person: destroy their data key, remove their records and index entries; returns the erasure receipt (log entry with inclusion proof)",
        tags: ['keys'],
        params: subjectParams,
        response: { 200: receipt },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      const a = await authoriseTenant(vault, principal, request, request.params.tenant);
      requireAllowed(a, 'manage-keys', { tenant: true });
      return vault.erasure.erase(request.params.tenant, request.params.subject, auditOf(request));
    },
  );

  app.get<{ Params: { tenant: string } }>(
    '/v1/tenants/:tenant/keys',
    {
      config: { auditAction: 'tenant.read' },
      schema: {
        summary: "The tenant's key versions, what each still protects, and key jobs",
        tags: ['keys'],
        params: tenantParams,
        response: {
          200: {
            type: 'object',
            properties: {
              tenantId: { type: 'string' },
              tenantKey: {
                type: 'object',
                properties: { current: { type: 'integer' }, versions: { type: 'array', items: { type: 'object', properties: { version: { type: 'integer' }, wraps: { type: 'integer' } } } } },
              },
              collections: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    name: { type: 'string' },
                    current: { type: 'integer' },
                    versions: { type: 'array', items: { type: 'object', properties: { version: { type: 'integer' }, records: { type: 'integer' } } } },
                    tokenKeys: { type: 'array', items: { type: 'object', properties: { version: { type: 'integer' }, tokens: { type: 'integer' } } } },
                  },
                },
              },
              subjectKeys: { type: 'integer' },
              jobs: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    kind: { type: 'string' },
                    scopeId: { type: 'string' },
                    targetVersion: { type: 'integer' },
                    state: { type: 'string' },
                    done: { type: 'integer' },
                    total: { type: 'integer' },
                    startedAt: { type: 'string' },
                    updatedAt: { type: 'string' },
                  },
                },
              },
            },
            required: ['tenantId', 'tenantKey', 'collections', 'subjectKeys', 'jobs'],
          },
        },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      const a = await authoriseTenant(vault, principal, request, request.params.tenant);
      requireAllowed(a, 'manage-keys', { tenant: true });
      const status = await vault.keys.status(request.params.tenant);
      await logRead(request, vault, request.params.tenant, {});
      return status;
    },
  );

  app.post<{ Params: { tenant: string } }>(
    '/v1/tenants/:tenant/keys/rotate',
    {
      config: { auditAction: 'key.rotate_tenant' },
      schema: {
        summary: 'Rotate the tenant key: new keys are wrapped by the new version at once; `kuraban keys rewrap` moves the existing ones',
        tags: ['keys'],
        params: tenantParams,
        response: { 200: rotated },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      const a = await authoriseTenant(vault, principal, request, request.params.tenant);
      requireAllowed(a, 'manage-keys', { tenant: true });
      await vault.tenants.require(request.params.tenant);
      return { kind: 'tenant', version: await vault.keys.rotateTenant(request.params.tenant, auditOf(request)) };
    },
  );

  app.post<{ Params: { tenant: string; collection: string } }>(
    '/v1/tenants/:tenant/collections/:collection/keys/rotate',
    {
      config: { auditAction: 'key.rotate_data' },
      schema: {
        summary: "Rotate a collection's data key: new writes use the new version at once; `kuraban keys reencrypt` moves existing records",
        tags: ['keys'],
        params: collectionParams,
        response: { 200: rotated },
      },
    },
    async (request) => {
      const { vault, principal } = await ctx.authenticate(request);
      const a = await authoriseTenant(vault, principal, request, request.params.tenant);
      requireAllowed(a, 'manage-keys', { tenant: true });
      return { kind: 'collection', version: await vault.keys.rotateCollection(request.params.tenant, request.params.collection, auditOf(request)) };
    },
  );
}

/** The operator's switch: seal and unseal the running vault. */
export interface VaultControl {
  unseal(secret: string | undefined): Promise<unknown>;
  seal(reason: string): Promise<void>;
}

const UNSEAL_FAILURES = 5;
const UNSEAL_WINDOW_MS = 5 * 60_000;

/**
 * POST /v1/sys/unseal needs no API key — while sealed none can be checked against a policy, and the
 * passphrase or PIN is itself the proof — but failures are counted per source address and locked
 * out (AUTH_LOCKED). The secret is never logged or echoed. POST /v1/sys/seal needs an operator key.
 */
export function sysRoutes(app: FastifyInstance, ctx: RouteContext, control: VaultControl | undefined): void {
  const failures = new Map<string, number[]>();
  app.post<{ Body: { secret?: string } }>(
    '/v1/sys/unseal',
    {
      schema: {
        summary: 'Unseal the vault with the key file passphrase or the token PIN',
        tags: ['health'],
        body: { type: 'object', properties: { secret: { type: 'string', minLength: 1, maxLength: 1024 } }, additionalProperties: false },
        response: { 200: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] }, sealed: { type: 'boolean' } }, required: ['status', 'sealed'] } },
      },
    },
    async (request) => {
      if (!control) throw new KurabanError('ROUTE_NOT_FOUND');
      const source = request.ip;
      const now = Date.now();
      const recent = (failures.get(source) ?? []).filter((t) => now - t < UNSEAL_WINDOW_MS);
      if (recent.length >= UNSEAL_FAILURES) throw new KurabanError('AUTH_LOCKED', 'too many failed unseal attempts from this address; wait and try again');
      if (!ctx.state().sealed) return { status: 'ok', sealed: false };
      try {
        await control.unseal(request.body?.secret);
      } catch (e) {
        failures.set(source, [...recent, now]);
        throw e;
      }
      failures.delete(source);
      return { status: 'ok', sealed: false };
    },
  );

  app.post(
    '/v1/sys/seal',
    {
      schema: {
        summary: 'Seal the vault: every unwrapped key is zeroed; data routes answer VAULT_SEALED until unsealed',
        tags: ['health'],
        response: { 200: { type: 'object', properties: { status: { type: 'string', enum: ['sealed'] }, sealed: { type: 'boolean' } }, required: ['status', 'sealed'] } },
      },
    },
    async (request) => {
      if (!control) throw new KurabanError('ROUTE_NOT_FOUND');
      const { principal } = await ctx.authenticate(request);
      if (principal.role !== 'admin') throw new KurabanError('FORBIDDEN', 'sealing the vault needs an operator key');
      await control.seal('sealed by an operator');
      return { status: 'sealed', sealed: true };
    },
  );
}
