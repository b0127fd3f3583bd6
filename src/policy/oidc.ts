import { createHash } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { KurabanError, type ErrorDetail } from '../errors/index.js';

/**
 * OpenID Connect bearer tokens: JWTs (typically RFC 9068 access tokens) signed by a configured
 * issuer with an asymmetric key published in its JWKS. A verified token becomes an `OidcPrincipal`:
 * a user of one tenant, with roles and duties, and whether the sign-in was multi-factor.
 *
 * Every refusal is the same `UNAUTHENTICATED` error with the same message (`OIDC_REFUSED_MESSAGE`),
 * whatever failed, so the answer tells a caller nothing. Why it failed is kept for the server's
 * own log as the error's `cause`, an `OidcRefusal` holding only a reason code (`oidcRefusalReason`
 * reads it). Neither ever holds the token or a claim value: the sub may be an e-mail address.
 *
 * Multi-factor rule (RFC 8176 `amr` values): the sign-in counts as multi-factor when
 *  - `amr` contains `mfa`, or
 *  - `amr` holds methods of at least two different factor kinds — something known (`pwd`, `pin`,
 *    `kba`), something held (`otp`, `hwk`, `swk`, `sc`, `sms`, `tel`, `pop`), something one is
 *    (`fpt`, `face`, `iris`, `retina`, `vbm`) — e.g. `pwd`+`otp`, `pin`+`hwk`, `hwk`+`fpt`, or
 *  - `amr` contains a value the issuer's `mfaAmr` lists (none by default; e.g. `hwk` where the
 *    issuer's hardware keys always verify the user), or
 *  - `acr` is one of the issuer's `mfaAcr` values (none by default).
 * A single method alone (`otp`, `hwk`, `swk`, `sc`, `pwd`, …) is one factor, so not multi-factor;
 * risk signals and context (`rba`, `geo`, `user`, `mca`, `wia`) are not factors.
 */

/** One trusted issuer. */
export interface OidcIssuerConfig {
  /** Compared exactly with the token's `iss`. https (http only for 127.0.0.1, ::1 and localhost). */
  readonly issuer: string;
  /** The `aud` value tokens must carry to be for Kuraban. */
  readonly audience: string;
  /** Default: the `jwks_uri` of `${issuer}/.well-known/openid-configuration`, fetched once and cached. */
  readonly jwksUri?: string;
  /** The claim naming the user's tenant. Default `kuraban_tenant`. Not allowed together with `tenant`. */
  readonly tenantClaim?: string;
  /** An issuer dedicated to one tenant: every user it signs in belongs to it (no tenant claim is read). */
  readonly tenant?: string;
  /** Default `roles`: an array of names. */
  readonly rolesClaim?: string;
  /** Default `duties`: an array of names. */
  readonly dutiesClaim?: string;
  /** Further `amr` values that on their own mean multi-factor (see the rule above). Default none. */
  readonly mfaAmr?: readonly string[];
  /** `acr` values that mean multi-factor. Default none. */
  readonly mfaAcr?: readonly string[];
}

export interface OidcPrincipal {
  readonly kind: 'user';
  /** `oidc_` + the first 16 hex digits of SHA-256(issuer + '\n' + sub): never the sub itself. */
  readonly id: string;
  readonly issuer: string;
  readonly tenantId: string;
  readonly roles: readonly string[];
  readonly duties: readonly string[];
  readonly mfa: boolean;
  /** ISO 8601 (UTC), from `exp`. */
  readonly expiresAt: string;
}

export interface OidcVerifierOptions {
  /** Leeway for `exp`, `nbf` and `iat`, in seconds (0–300). Default 30. */
  readonly clockToleranceSeconds?: number;
  /** Time limit for fetching discovery documents and JWKS, in ms (100–60,000). Default 5,000. */
  readonly fetchTimeoutMs?: number;
}

export interface OidcVerifier {
  /** The principal of a valid token, or UNAUTHENTICATED (always with `OIDC_REFUSED_MESSAGE`). */
  verify(token: string): Promise<OidcPrincipal>;
  /** Whether a bearer credential has the shape of a signed JWT (so it is not, say, an API key). Checks nothing else. */
  looksLikeJwt(token: string): boolean;
  /**
   * For lockout: the principal id the token's unverified `iss` and `sub` would give (the same as
   * `OidcPrincipal.id`, so a later success clears it), or null when the token does not name a
   * configured issuer and a subject. Never trust it for anything but counting failures.
   */
  unverifiedSubjectKey(token: string): string | null;
}

/** Why a token was refused: a stable code, never a value. */
export type OidcRefusalReason =
  | 'token_malformed'
  | 'token_too_long'
  | 'algorithm_not_allowed'
  | 'token_type_not_allowed'
  | 'issuer_unknown'
  | 'jwks_unavailable'
  | 'key_unknown'
  | 'signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'claim_missing'
  | 'claims_malformed'
  | 'tenant_missing'
  | 'token_bound'
  | 'token_invalid';

/** The `cause` of every OIDC refusal: the reason code, for the server's log and metrics. */
export class OidcRefusal extends Error {
  readonly reason: OidcRefusalReason;
  constructor(reason: OidcRefusalReason) {
    super(`OIDC token refused: ${reason}`);
    this.name = 'OidcRefusal';
    this.reason = reason;
  }
}

export const OIDC_REFUSED_MESSAGE = 'invalid, expired or unacceptable bearer token';

/** The reason behind an OIDC refusal, or undefined for any other error. */
export function oidcRefusalReason(e: unknown): OidcRefusalReason | undefined {
  return e instanceof KurabanError && e.code === 'UNAUTHENTICATED' && e.cause instanceof OidcRefusal ? e.cause.reason : undefined;
}

/** Asymmetric JWS algorithms only: never `none`, never HS* (a shared secret would let any holder mint tokens). */
export const OIDC_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
]);

const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;
const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_NAMES = 64;
const MAX_SUB_LENGTH = 255;
const MAX_DISCOVERY_BYTES = 512 * 1024;
const DISCOVERY_RETRY_MS = 10_000;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** `typ` values of tokens meant as bearer credentials; others (logout+jwt, dpop+jwt, …) are refused. */
const BEARER_TYPES = new Set(['jwt', 'at+jwt']);

const KNOWLEDGE = new Set(['pwd', 'pin', 'kba']);
const POSSESSION = new Set(['otp', 'hwk', 'swk', 'sc', 'sms', 'tel', 'pop']);
const INHERENCE = new Set(['fpt', 'face', 'iris', 'retina', 'vbm']);

/** The multi-factor rule described at the top of this file. */
export function isMultiFactor(amr: readonly string[], acr: string | undefined, config: Pick<OidcIssuerConfig, 'mfaAmr' | 'mfaAcr'> = {}): boolean {
  if (amr.includes('mfa')) return true;
  if (config.mfaAmr?.some((v) => amr.includes(v))) return true;
  if (acr !== undefined && config.mfaAcr?.includes(acr)) return true;
  const kinds = [KNOWLEDGE, POSSESSION, INHERENCE].filter((kind) => amr.some((v) => kind.has(v))).length;
  return kinds >= 2;
}

/** `oidc_` + 16 hex digits of SHA-256(issuer + '\n' + sub). */
export function oidcPrincipalId(issuer: string, sub: string): string {
  return `oidc_${createHash('sha256').update(`${issuer}\n${sub}`, 'utf8').digest('hex').slice(0, 16)}`;
}

// ---------------------------------------------------------------------------------------------
// Configuration

const CONFIG_KEYS = new Set(['issuer', 'audience', 'jwksUri', 'tenantClaim', 'tenant', 'rolesClaim', 'dutiesClaim', 'mfaAmr', 'mfaAcr']);
/** Claims with a fixed meaning that cannot also name a tenant, roles or duties. */
const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'cnf', 'amr', 'acr', 'azp', 'scope', 'client_id']);
const MAX_ISSUERS = 100;
const CONFIG_MESSAGE = 'invalid OpenID Connect issuer configuration';

/** https, or http on a loopback host; no credentials, no fragment (and for issuers, no query). */
function acceptableUrl(s: string, allowQuery: boolean): boolean {
  if (s.length > 2048) return false;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  const loopback = u.hostname === '127.0.0.1' || u.hostname === '[::1]' || u.hostname === 'localhost';
  if (!(u.protocol === 'https:' || (u.protocol === 'http:' && loopback))) return false;
  if (u.username !== '' || u.password !== '' || s.includes('#')) return false;
  return allowQuery || !s.includes('?');
}

const isPlainText = (s: unknown, max: number): s is string => typeof s === 'string' && s.length > 0 && s.length <= max && /^[!-~]+$/.test(s);

/**
 * Validates the trusted issuers (a JSON array of `OidcIssuerConfig` objects), strictly: unknown
 * properties, wrong types, bad URLs, duplicate issuers are all CONFIG_INVALID, with every problem in
 * `details` ({ index, field, reason }). Returns frozen copies.
 */
export function parseOidcConfig(json: unknown): OidcIssuerConfig[] {
  const problems: ErrorDetail[] = [];
  if (!Array.isArray(json)) {
    throw new KurabanError('CONFIG_INVALID', CONFIG_MESSAGE, { details: [{ reason: 'expected_array' }] });
  }
  if (json.length > MAX_ISSUERS) problems.push({ reason: 'too_many_issuers' });
  const seen = new Set<string>();
  const out: OidcIssuerConfig[] = [];
  json.forEach((item: unknown, index) => {
    const bad = (field: string | undefined, reason: string): void => {
      problems.push(field === undefined ? { index, reason } : { index, field, reason });
    };
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return bad(undefined, 'expected_object');
    const o = item as Record<string, unknown>;
    for (const key of Object.keys(o)) if (!CONFIG_KEYS.has(key)) bad(/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(key) ? key : undefined, 'unknown_property');
    const get = (key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);

    const issuer = get('issuer');
    if (typeof issuer !== 'string' || !acceptableUrl(issuer, false)) bad('issuer', 'invalid_url');
    else if (seen.has(issuer)) bad('issuer', 'duplicate_issuer');
    else seen.add(issuer);
    const audience = get('audience');
    if (!isPlainText(audience, 2048)) bad('audience', 'invalid_audience');
    const jwksUri = get('jwksUri');
    if (jwksUri !== undefined && (typeof jwksUri !== 'string' || !acceptableUrl(jwksUri, true))) bad('jwksUri', 'invalid_url');

    const claimName = (field: string): string | undefined => {
      const v = get(field);
      if (v === undefined) return undefined;
      if (!isPlainText(v, 256)) bad(field, 'invalid_claim_name');
      else if (RESERVED_CLAIMS.has(v)) bad(field, 'reserved_claim');
      else return v;
      return undefined;
    };
    const tenantClaim = claimName('tenantClaim');
    const rolesClaim = claimName('rolesClaim');
    const dutiesClaim = claimName('dutiesClaim');
    const tenant = get('tenant');
    if (tenant !== undefined && (typeof tenant !== 'string' || !TENANT_ID.test(tenant))) bad('tenant', 'invalid_tenant_id');
    if (tenant !== undefined && get('tenantClaim') !== undefined) bad('tenantClaim', 'not_with_tenant');

    const list = (field: string, max: number): string[] | undefined => {
      const v = get(field);
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || v.length > 32 || !v.every((x: unknown) => isPlainText(x, max))) {
        bad(field, 'invalid_list');
        return undefined;
      }
      return [...new Set(v as string[])];
    };
    const mfaAmr = list('mfaAmr', 64);
    const mfaAcr = list('mfaAcr', 512);

    if (typeof issuer === 'string' && typeof audience === 'string') {
      out.push(
        Object.freeze({
          issuer,
          audience,
          ...(typeof jwksUri === 'string' ? { jwksUri } : {}),
          ...(tenantClaim !== undefined ? { tenantClaim } : {}),
          ...(typeof tenant === 'string' ? { tenant } : {}),
          ...(rolesClaim !== undefined ? { rolesClaim } : {}),
          ...(dutiesClaim !== undefined ? { dutiesClaim } : {}),
          ...(mfaAmr !== undefined ? { mfaAmr: Object.freeze(mfaAmr) } : {}),
          ...(mfaAcr !== undefined ? { mfaAcr: Object.freeze(mfaAcr) } : {}),
        }),
      );
    }
  });
  if (problems.length > 0) throw new KurabanError('CONFIG_INVALID', CONFIG_MESSAGE, { details: problems });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Verification

function refuse(reason: OidcRefusalReason): KurabanError {
  return new KurabanError('UNAUTHENTICATED', OIDC_REFUSED_MESSAGE, { cause: new OidcRefusal(reason) });
}

/**
 * jose errors → reason codes. The jose error itself is dropped: claim validation errors carry the
 * whole claims set (`payload`), which must not reach a log.
 */
function reasonOf(e: unknown): OidcRefusalReason {
  if (e instanceof OidcRefusal) return e.reason;
  if (e instanceof joseErrors.JWTExpired) return 'token_expired';
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.reason === 'missing') return 'claim_missing';
    if (e.claim === 'iss') return 'issuer_mismatch';
    if (e.claim === 'aud') return 'audience_mismatch';
    if (e.claim === 'nbf' || (e.claim === 'iat' && e.reason === 'check_failed')) return 'token_not_yet_valid';
    if (e.claim === 'typ') return 'token_type_not_allowed';
    return 'claims_malformed';
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature_invalid';
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm_not_allowed';
  if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid || e instanceof joseErrors.JOSENotSupported) return 'token_malformed';
  return 'token_invalid';
}

interface UnverifiedToken {
  readonly header: { readonly alg?: unknown; readonly typ?: unknown };
  readonly payload: JWTPayload;
}

/** Parses a compact JWS without verifying it, or throws an OidcRefusal. */
function decodeUnverified(token: unknown): UnverifiedToken {
  if (typeof token !== 'string') throw new OidcRefusal('token_malformed');
  if (token.length > MAX_TOKEN_LENGTH) throw new OidcRefusal('token_too_long');
  if (!JWS_COMPACT.test(token)) throw new OidcRefusal('token_malformed');
  try {
    return { header: decodeProtectedHeader(token), payload: decodeJwt(token) };
  } catch {
    throw new OidcRefusal('token_malformed');
  }
}

const own = (o: object, key: string): unknown => (Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined);

/** An optional array of names: absent → [], otherwise every entry must be a valid name. */
function names(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > MAX_NAMES || !v.every((x: unknown) => typeof x === 'string' && NAME.test(x))) {
    throw new OidcRefusal('claims_malformed');
  }
  return [...new Set(v as string[])];
}

function amrOf(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > 32 || !v.every((x: unknown) => typeof x === 'string' && x.length <= 64)) throw new OidcRefusal('claims_malformed');
  return v as string[];
}

function validateOptions(options: OidcVerifierOptions): { clockTolerance: number; fetchTimeoutMs: number } {
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 5000;
  const details: ErrorDetail[] = [];
  if (!Number.isInteger(clockTolerance) || clockTolerance < 0 || clockTolerance > 300) details.push({ field: 'clockToleranceSeconds', reason: 'out_of_range' });
  if (!Number.isInteger(fetchTimeoutMs) || fetchTimeoutMs < 100 || fetchTimeoutMs > 60_000) details.push({ field: 'fetchTimeoutMs', reason: 'out_of_range' });
  if (details.length > 0) throw new KurabanError('CONFIG_INVALID', 'invalid OpenID Connect verifier options', { details });
  return { clockTolerance, fetchTimeoutMs };
}

/** One issuer's keys: its JWKS (found through discovery unless configured), fetched lazily. */
class IssuerKeys {
  private jwks: JWTVerifyGetKey | undefined;
  private discovery: Promise<JWTVerifyGetKey> | undefined;
  private failedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: OidcIssuerConfig,
    private readonly fetchTimeoutMs: number,
  ) {
    if (config.jwksUri !== undefined) this.jwks = this.remote(config.jwksUri);
  }

  /** A key resolver for jwtVerify that turns every JWKS problem into an OidcRefusal. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const jwks = this.jwks ?? (await this.discover());
    try {
      return await jwks(header, token);
    } catch (e) {
      if (e instanceof joseErrors.JWKSNoMatchingKey || e instanceof joseErrors.JWKSMultipleMatchingKeys) throw new OidcRefusal('key_unknown');
      throw new OidcRefusal('jwks_unavailable');
    }
  };

  private remote(uri: string): JWTVerifyGetKey {
    return createRemoteJWKSet(new URL(uri), { timeoutDuration: this.fetchTimeoutMs });
  }

  /** Fetches the discovery document once (concurrent callers share it); after a failure, retries at most every 10 s. */
  private discover(): Promise<JWTVerifyGetKey> {
    if (this.discovery) return this.discovery;
    if (Date.now() - this.failedAt < DISCOVERY_RETRY_MS) return Promise.reject(new OidcRefusal('jwks_unavailable'));
    const p = this.fetchJwksUri().then(
      (uri) => {
        this.jwks = this.remote(uri);
        return this.jwks;
      },
      () => {
        this.failedAt = Date.now();
        this.discovery = undefined;
        throw new OidcRefusal('jwks_unavailable');
      },
    );
    this.discovery = p;
    return p;
  }

  private async fetchJwksUri(): Promise<string> {
    const url = `${this.config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(this.fetchTimeoutMs) });
    if (res.status !== 200) throw new Error('discovery: unexpected status');
    const text = await res.text();
    if (text.length > MAX_DISCOVERY_BYTES) throw new Error('discovery: document too large');
    const doc: unknown = JSON.parse(text);
    if (typeof doc !== 'object' || doc === null) throw new Error('discovery: not an object');
    // OpenID Connect Discovery §4.3: the document must name exactly the issuer it was fetched for.
    if (own(doc, 'issuer') !== this.config.issuer) throw new Error('discovery: issuer mismatch');
    const jwksUri = own(doc, 'jwks_uri');
    if (typeof jwksUri !== 'string' || !acceptableUrl(jwksUri, true)) throw new Error('discovery: bad jwks_uri');
    return jwksUri;
  }
}

/** A verifier for tokens of the given issuers (validated again here: CONFIG_INVALID when wrong). */
export function createOidcVerifier(issuers: readonly OidcIssuerConfig[], options: OidcVerifierOptions = {}): OidcVerifier {
  const configs = parseOidcConfig(issuers as unknown);
  const { clockTolerance, fetchTimeoutMs } = validateOptions(options);
  const byIssuer = new Map(configs.map((c) => [c.issuer, { config: c, keys: new IssuerKeys(c, fetchTimeoutMs) }]));

  async function verifyOrThrow(token: string): Promise<OidcPrincipal> {
    const { header, payload: unverified } = decodeUnverified(token);
    if (typeof header.alg !== 'string' || !OIDC_ALGORITHMS.includes(header.alg)) throw new OidcRefusal('algorithm_not_allowed');
    if (header.typ !== undefined && (typeof header.typ !== 'string' || !BEARER_TYPES.has(header.typ.toLowerCase().replace(/^application\//, '')))) {
      throw new OidcRefusal('token_type_not_allowed');
    }
    const entry = typeof unverified.iss === 'string' ? byIssuer.get(unverified.iss) : undefined;
    if (!entry) throw new OidcRefusal('issuer_unknown');
    const { config } = entry;

    const { payload } = await jwtVerify(token, entry.keys.getKey, {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: [...OIDC_ALGORITHMS],
      requiredClaims: ['exp', 'iat', 'sub'],
      clockTolerance,
    });

    const nowSeconds = Date.now() / 1000;
    const { sub, exp, iat } = payload;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH) throw new OidcRefusal('claims_malformed');
    if (typeof exp !== 'number' || typeof iat !== 'number' || !Number.isFinite(exp * 1000) || Math.abs(exp * 1000) > 8.64e15) {
      throw new OidcRefusal('claims_malformed');
    }
    if (iat > nowSeconds + clockTolerance) throw new OidcRefusal('token_not_yet_valid');
    // Sender-constrained tokens (DPoP, mTLS) are only safe with their proof, which a bearer check cannot see.
    if (own(payload, 'cnf') !== undefined) throw new OidcRefusal('token_bound');

    let tenantId: string;
    if (config.tenant !== undefined) {
      tenantId = config.tenant;
    } else {
      const claimed = own(payload, config.tenantClaim ?? 'kuraban_tenant');
      if (claimed === undefined || claimed === null || claimed === '') throw new OidcRefusal('tenant_missing');
      if (typeof claimed !== 'string' || !TENANT_ID.test(claimed)) throw new OidcRefusal('claims_malformed');
      tenantId = claimed;
    }
    const roles = names(own(payload, config.rolesClaim ?? 'roles'));
    const duties = names(own(payload, config.dutiesClaim ?? 'duties'));
    const amr = amrOf(own(payload, 'amr'));
    const acr = own(payload, 'acr');
    if (acr !== undefined && (typeof acr !== 'string' || acr.length > 512)) throw new OidcRefusal('claims_malformed');

    return Object.freeze({
      kind: 'user',
      id: oidcPrincipalId(config.issuer, sub),
      issuer: config.issuer,
      tenantId,
      roles: Object.freeze(roles),
      duties: Object.freeze(duties),
      mfa: isMultiFactor(amr, acr, config),
      expiresAt: new Date(exp * 1000).toISOString(),
    });
  }

  return {
    async verify(token: string): Promise<OidcPrincipal> {
      try {
        return await verifyOrThrow(token);
      } catch (e) {
        throw refuse(reasonOf(e));
      }
    },

    looksLikeJwt(token: string): boolean {
      try {
        const { header } = decodeUnverified(token);
        return typeof header.alg === 'string';
      } catch {
        return false;
      }
    },

    unverifiedSubjectKey(token: string): string | null {
      try {
        const { payload } = decodeUnverified(token);
        const { iss, sub } = payload;
        if (typeof iss !== 'string' || !byIssuer.has(iss)) return null;
        if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUB_LENGTH) return null;
        return oidcPrincipalId(iss, sub);
      } catch {
        return null;
      }
    },
  };
}
