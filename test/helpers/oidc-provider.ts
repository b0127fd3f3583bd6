/**
 * A real OpenID Provider (`oidc-provider`) for tests, inside the test process, on 127.0.0.1 with an
 * ephemeral port. It issues JWT access tokens (RFC 9068) through the client credentials grant with
 * resource indicators (RFC 8707): every persona is a client of its own, and `extraTokenClaims` adds
 * that persona's claims (tenant, roles, duties, amr, acr, …) to the tokens it gets.
 * Signing keys are generated per provider, in memory; tokens are fetched over HTTP from the
 * provider's own token endpoint, found through its discovery document.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

/** The claims one persona's tokens carry. `unknown` so that tests can also ask for malformed claims. */
export interface PersonaClaims {
  /** The `kuraban_tenant` claim; left out of the token when undefined. */
  readonly tenant?: unknown;
  readonly roles?: unknown;
  readonly duties?: unknown;
  readonly amr?: unknown;
  readonly acr?: unknown;
  /** Any further claims (under their own names). */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Access token lifetime in seconds (default 600). */
  readonly ttlSeconds?: number;
}

export type SigningAlg = 'ES256' | 'RS256' | 'PS256' | 'EdDSA';

export interface StartOptions {
  /** Persona name (also its client_id) → the claims of its tokens. */
  readonly personas: Readonly<Record<string, PersonaClaims>>;
  /** Resource indicators (and so `aud` values) the provider issues tokens for. */
  readonly audiences: readonly string[];
  readonly alg?: SigningAlg;
}

export interface TokenRequest {
  /** Whose token (a persona of StartOptions). */
  readonly persona: string;
  /** The resource indicator, so the `aud`; default: the first of StartOptions.audiences. */
  readonly audience?: string;
  /** Ask for a DPoP-bound token (RFC 9449): it carries `cnf.jkt`. */
  readonly dpop?: boolean;
}

export interface TestOidcProvider {
  /** e.g. http://127.0.0.1:38123 */
  readonly issuer: string;
  readonly jwksUri: string;
  /** A fresh access token from the provider's token endpoint (client credentials grant). */
  token(request: TokenRequest): Promise<string>;
  close(): Promise<void>;
}

// --- the small part of oidc-provider's API used here (it ships no types) ---

interface ProviderClientMetadata {
  readonly client_id: string;
  readonly client_secret: string;
  readonly grant_types: readonly string[];
  readonly response_types: readonly string[];
  readonly redirect_uris: readonly string[];
  readonly token_endpoint_auth_method: string;
}

interface ProviderToken {
  readonly clientId?: string;
}

interface ProviderClient {
  readonly clientId: string;
}

interface ResourceServerInfo {
  readonly audience: string;
  readonly scope: string;
  readonly accessTokenFormat: 'jwt';
  readonly accessTokenTTL?: number;
  readonly jwt: { readonly sign: { readonly alg: string } };
}

interface AdapterPayload {
  readonly [key: string]: unknown;
}

interface Adapter {
  upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void>;
  find(id: string): Promise<AdapterPayload | undefined>;
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
  findByUid(uid: string): Promise<AdapterPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

interface ProviderConfiguration {
  readonly adapter: new (name: string) => Adapter;
  readonly clients: readonly ProviderClientMetadata[];
  readonly jwks: { readonly keys: readonly JWK[] };
  readonly clientDefaults: { readonly id_token_signed_response_alg: string };
  readonly enabledJWA: { readonly idTokenSigningAlgValues: readonly string[] };
  readonly features: {
    readonly devInteractions: { readonly enabled: boolean };
    readonly clientCredentials: { readonly enabled: boolean };
    readonly introspection: { readonly enabled: boolean };
    readonly revocation: { readonly enabled: boolean };
    readonly resourceIndicators: {
      readonly enabled: boolean;
      defaultResource(ctx: unknown, client: ProviderClient, oneOf?: string): Promise<string | undefined>;
      useGrantedResource(ctx: unknown, source: unknown): Promise<boolean>;
      getResourceServerInfo(ctx: unknown, resourceIndicator: string, client: ProviderClient): Promise<ResourceServerInfo>;
    };
  };
  readonly ttl: { ClientCredentials(ctx: unknown, token: ProviderToken, client: ProviderClient): number };
  extraTokenClaims(ctx: unknown, token: ProviderToken): Promise<Record<string, unknown> | undefined>;
}

interface Provider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}

interface OidcProviderModule {
  readonly Provider: new (issuer: string, configuration: ProviderConfiguration) => Provider;
  readonly errors: { readonly InvalidTarget: new (description?: string) => Error };
}

/** A per-provider in-memory adapter (oidc-provider's own is process-wide and warns that it is). */
function memoryAdapter(): new (name: string) => Adapter {
  const store = new Map<string, AdapterPayload>();
  return class MemoryAdapter implements Adapter {
    constructor(private readonly name: string) {}
    private key(id: string): string {
      return `${this.name}:${id}`;
    }
    async upsert(id: string, payload: AdapterPayload): Promise<void> {
      store.set(this.key(id), payload);
    }
    async find(id: string): Promise<AdapterPayload | undefined> {
      return store.get(this.key(id));
    }
    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return [...store.values()].find((p) => p['userCode'] === userCode);
    }
    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return [...store.values()].find((p) => p['uid'] === uid);
    }
    async consume(id: string): Promise<void> {
      const p = store.get(this.key(id));
      if (p) store.set(this.key(id), { ...p, consumed: Math.floor(Date.now() / 1000) });
    }
    async destroy(id: string): Promise<void> {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const [k, p] of store) if (p['grantId'] === grantId) store.delete(k);
    }
  };
}

async function loadOidcProvider(): Promise<OidcProviderModule> {
  // A non-literal specifier: the package has no type declarations, its shape is declared above.
  const specifier: string = 'oidc-provider';
  return (await import(specifier)) as OidcProviderModule;
}

/** An ephemeral signing key pair as a private JWK with `kid`, `alg` and `use`. */
export async function signingJwk(alg: SigningAlg): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  return { ...(await exportJWK(privateKey)), kid: randomBytes(8).toString('hex'), alg, use: 'sig' };
}

export async function startOidcProvider(options: StartOptions): Promise<TestOidcProvider> {
  const { Provider, errors } = await loadOidcProvider();
  const alg = options.alg ?? 'ES256';
  const audiences = [...options.audiences];
  if (audiences.length === 0) throw new Error('at least one audience');
  const personas = new Map(Object.entries(options.personas));
  const secrets = new Map([...personas.keys()].map((name) => [name, randomBytes(24).toString('base64url')]));

  // Listen first: the issuer URL needs the port, the provider needs the issuer.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const claimsOf = (clientId: string | undefined): Record<string, unknown> => {
    const p = clientId === undefined ? undefined : personas.get(clientId);
    if (!p) return {};
    const claims: Record<string, unknown> = { ...p.extra };
    if (p.tenant !== undefined) claims['kuraban_tenant'] = p.tenant;
    if (p.roles !== undefined) claims['roles'] = p.roles;
    if (p.duties !== undefined) claims['duties'] = p.duties;
    if (p.amr !== undefined) claims['amr'] = p.amr;
    if (p.acr !== undefined) claims['acr'] = p.acr;
    return claims;
  };

  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    clients: [...personas.keys()].map((name) => ({
      client_id: name,
      client_secret: secrets.get(name) as string,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    jwks: { keys: [await signingJwk(alg)] },
    clientDefaults: { id_token_signed_response_alg: alg },
    enabledJWA: { idTokenSigningAlgValues: [alg] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? audiences[0],
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (!audiences.includes(resourceIndicator)) throw new errors.InvalidTarget();
          return { audience: resourceIndicator, scope: 'api', accessTokenFormat: 'jwt', jwt: { sign: { alg } } };
        },
      },
    },
    ttl: { ClientCredentials: (_ctx, token) => personas.get(token.clientId ?? '')?.ttlSeconds ?? 600 },
    extraTokenClaims: async (_ctx, token) => claimsOf(token.clientId),
  });
  handler = provider.callback();

  const discovery = await getJson(`${issuer}/.well-known/openid-configuration`);
  const tokenEndpoint = discovery['token_endpoint'];
  const jwksUri = discovery['jwks_uri'];
  if (typeof tokenEndpoint !== 'string' || typeof jwksUri !== 'string') throw new Error('discovery document without token_endpoint or jwks_uri');

  return {
    issuer,
    jwksUri,
    async token({ persona, audience = audiences[0] as string, dpop = false }: TokenRequest): Promise<string> {
      const secret = secrets.get(persona);
      if (secret === undefined) throw new Error(`no persona ${persona}`);
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
      if (dpop) headers['dpop'] = await dpopProof(tokenEndpoint);
      const res = await fetch(tokenEndpoint, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: persona, client_secret: secret, resource: audience, scope: 'api' }),
      });
      const body = (await res.json()) as Record<string, unknown>;
      if (res.status !== 200 || typeof body['access_token'] !== 'string') {
        throw new Error(`token endpoint answered ${res.status}: ${String(body['error'])} ${String(body['error_description'])}`);
      }
      const expectedType = dpop ? 'DPoP' : 'Bearer';
      if (body['token_type'] !== expectedType) throw new Error(`unexpected token_type ${String(body['token_type'])}`);
      return body['access_token'];
    },
    async close(): Promise<void> {
      handler = undefined;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A DPoP proof (RFC 9449) for a POST to `url`, from a fresh key. */
async function dpopProof(url: string): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return new SignJWT({ htm: 'POST', htu: url, jti: randomBytes(16).toString('base64url') })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
    .setIssuedAt()
    .sign(privateKey);
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}
