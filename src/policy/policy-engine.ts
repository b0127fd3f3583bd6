/**
 * The Cedar policy engine: validates a tenant's policy set against CEDAR_SCHEMA and decides, per
 * request, what a principal may do. Pure: no HTTP, no database, no environment.
 *
 * Semantics are Cedar's (https://docs.cedarpolicy.com/auth/authorization.html, "Request
 * authorization"): default deny (no satisfied permit → deny), and a satisfied `forbid` overrides
 * every `permit`. Cedar skips a policy whose evaluation errors ("Policies that result in errors
 * aren't included in the authorization decision", https://docs.cedarpolicy.com/schema/schema.html);
 * for a `permit` that is a deny. For a `forbid` Kuraban fails closed instead: an erroring forbid
 * denies, so a guard that could not be evaluated never opens access.
 *
 * Two rules are enforced in code whatever the policies say:
 * - reading, searching, tokenizing or detokenizing a field whose classification is not `public`
 *   requires a declared purpose (purpose null, or "", → withheld / denied);
 * - a request the schema does not allow (e.g. `read` on a collection) is denied without asking Cedar.
 *
 * Decisions are cached per engine; an engine belongs to one (tenant, policy version), so a policy
 * change means a new engine and an empty cache.
 */

import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { createRequire } from 'node:module';
import type * as Cedar from '@cedar-policy/cedar-wasm/nodejs';
import { KurabanError } from '../errors/index.js';
import { ACTION_RESOURCE_TYPE, CEDAR_NAMESPACE, CEDAR_SCHEMA, POLICY_ACTIONS, type PolicyAction } from './cedar-schema.js';

// Node 20's V8 (11.3) aborts the whole process ("Fatal error … unreachable code" in
// Deoptimizer::DoComputeBuiltinContinuation) when an optimised frame that inlined a JS→Wasm call
// is lazily deoptimised while that Wasm call runs. With cedar-wasm it happens after a few thousand
// decisions (test "survives the V8 JS→Wasm inlining crash"). Turning off only that inlining avoids
// it, at a cost of nanoseconds against tens of microseconds per Cedar decision.
setFlagsFromString('--no-turbo-inline-js-wasm-calls');

/**
 * cedar-wasm, loaded on first use (its CommonJS build compiles the Wasm module synchronously): the
 * module costs ~16 MiB of resident memory, which processes that never decide a policy — `kuraban
 * import`, `backup`, `export` and the like — need not carry.
 */
let cedarModule: typeof Cedar | undefined;
function cedar(): typeof Cedar {
  return (cedarModule ??= createRequire(import.meta.url)('@cedar-policy/cedar-wasm/nodejs') as typeof Cedar);
}

/** Loads cedar-wasm now (a server does, so that its first request does not wait for the Wasm module to compile). */
export function loadPolicyEngine(): void {
  cedar();
}

export interface PolicyPrincipal {
  readonly kind: 'user' | 'service' | 'operator';
  readonly id: string;
  readonly roles: readonly string[];
  readonly duties: readonly string[];
  readonly mfa: boolean;
}

export interface FieldInfo {
  readonly name: string;
  readonly classification: 'public' | 'personal' | 'sensitive' | 'my-number';
  readonly type: string;
}

export interface CollectionInfo {
  readonly name: string;
  readonly fields: readonly FieldInfo[];
}

export type FieldAccess = 'clear' | 'masked' | 'withheld';

/**
 * Why a policy set was rejected. `reason`: `syntax` (does not parse), `template` (templates with
 * slots are not supported), `duplicate-id` (two policies share an id), `validation` (strict
 * validation against the schema failed: unknown action, attribute or entity type, type error),
 * `impossible` (the policy can never apply, e.g. an action with a resource type it does not take),
 * `suspicious` (another validator warning: BIDI control characters, or a string mixing scripts
 * beyond Latin + Han + Hiragana + Katakana, e.g. Latin with Cyrillic look-alikes).
 * `message` is Cedar's text (policies hold no field values). `policy` is the policy's `@id`
 * annotation, else Cedar's positional id `policyN` (N counts from 0 in the text); `line` is the
 * 1-based line in the submitted text when known.
 */
export interface PolicyProblem {
  readonly policy?: string;
  readonly reason: string;
  readonly message: string;
  readonly line?: number;
}

export type PolicyValidation = { ok: true; policies: number } | { ok: false; problems: PolicyProblem[] };

// ---------------------------------------------------------------------------------------------
// Parsing and validation

interface ParsedPolicy {
  readonly id: string;
  readonly text: string;
  readonly effect: 'permit' | 'forbid';
  /** Actions the scope admits; null = any action (`action` unconstrained). */
  readonly actions: ReadonlySet<string> | null;
}

type Analysis = { ok: true; policies: readonly ParsedPolicy[] } | { ok: false; problems: PolicyProblem[] };

const ACTION_TYPE = `${CEDAR_NAMESPACE}::Action`;
const SCHEMA_NAME = 'kuraban-schema-v1';

/** Line (1-based) of a UTF-8 byte offset: Cedar's source locations are byte offsets. */
function lineFinder(text: string): (byteOffset: number) => number {
  const utf8 = Buffer.from(text, 'utf8');
  const starts = [0];
  for (let i = 0; i < utf8.length; i++) if (utf8[i] === 0x0a) starts.push(i + 1);
  return (byteOffset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= byteOffset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

function describeError(e: Cedar.DetailedError, withLabel: boolean): string {
  const label = withLabel ? e.sourceLocations?.find((l) => l.label)?.label : undefined;
  let m = e.message;
  if (label) m += `: ${label}`;
  if (e.help) m += ` (${e.help})`;
  return m;
}

function problem(reason: string, message: string, policy?: string, line?: number): PolicyProblem {
  return { ...(policy === undefined ? {} : { policy }), reason, message, ...(line === undefined ? {} : { line }) };
}

/** The action ids a policy's scope admits (no action groups exist in the schema, so `in` = one of). */
function scopeActions(scope: Cedar.ActionConstraint): ReadonlySet<string> | null {
  const uidId = (u: Cedar.EntityUidJson): string => ('__entity' in u ? u.__entity.id : u.id);
  if (scope.op === 'All') return null;
  if (scope.op === '==') return 'entity' in scope ? new Set([uidId(scope.entity)]) : null;
  return new Set('entity' in scope ? [uidId(scope.entity)] : scope.entities.map(uidId));
}

const JAPANESE_SCRIPTS = /^[\p{Script=Latin}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Common}\p{Script=Inherited}]*$/u;

/** Cedar's "string `"…"` contains mixed scripts" warning about a string written in the Japanese scripts only. */
function isJapaneseMixedScriptWarning(message: string): boolean {
  const m = /string `"(.*)"` contains mixed scripts$/su.exec(message);
  return m !== null && JAPANESE_SCRIPTS.test(m[1] as string);
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

function analyse(text: string): Analysis {
  if (typeof text !== 'string') return { ok: false, problems: [problem('syntax', 'policy text must be a string')] };
  const lineOf = lineFinder(text);
  const parts = safe(() => cedar().policySetTextToParts(text));
  if (parts === undefined) return { ok: false, problems: [problem('syntax', 'policy set could not be parsed')] };
  if (parts.type === 'failure') {
    const problems: PolicyProblem[] = [];
    for (const e of parts.errors) {
      for (const d of [e, ...(e.related ?? [])]) {
        const at = d.sourceLocations?.[0];
        problems.push(problem('syntax', describeError(d, true), undefined, at === undefined ? undefined : lineOf(at.start)));
      }
    }
    return { ok: false, problems };
  }
  if (parts.policy_templates.length > 0) {
    return {
      ok: false,
      problems: parts.policy_templates.map((t) => {
        const json = safe(() => cedar().templateToJson(t));
        const id = json?.type === 'success' ? json.json.annotations?.['id'] : undefined;
        const at = text.indexOf(t);
        return problem('template', 'policy templates (?principal / ?resource slots) are not supported: write static policies', id || undefined,
          at < 0 ? undefined : lineOf(Buffer.byteLength(text.slice(0, at))));
      }),
    };
  }

  // policySetTextToParts returns the policies sorted by Cedar's positional id ("policy0",
  // "policy1", "policy10", …, sorted as strings); undo that sort to get the text order back.
  const n = parts.policies.length;
  const sortedIds = Array.from({ length: n }, (_, i) => `policy${i}`).sort();
  const inOrder: string[] = new Array<string>(n);
  parts.policies.forEach((p, i) => {
    inOrder[Number((sortedIds[i] as string).slice('policy'.length))] = p;
  });

  const problems: PolicyProblem[] = [];
  const parsed: (ParsedPolicy & { byteOffset: number | undefined; index: number })[] = [];
  const seen = new Set<string>();
  let cursor = 0; // in UTF-16 units, and the same position in UTF-8 bytes
  let cursorBytes = 0;
  for (let index = 0; index < n; index++) {
    const policyText = inOrder[index] as string;
    // Each part is an exact slice of the submitted text, in order: find it to report line numbers.
    const at = text.indexOf(policyText, cursor);
    const byteOffset = at < 0 ? undefined : cursorBytes + Buffer.byteLength(text.slice(cursor, at));
    if (at >= 0 && byteOffset !== undefined) {
      cursor = at + policyText.length;
      cursorBytes = byteOffset + Buffer.byteLength(policyText);
    }
    const line = byteOffset === undefined ? undefined : lineOf(byteOffset);
    const json = safe(() => cedar().policyToJson(policyText));
    if (json === undefined || json.type !== 'success') {
      problems.push(problem('syntax', json?.type === 'failure' ? json.errors.map((e) => describeError(e, true)).join('; ') : 'policy could not be parsed', `policy${index}`, line));
      continue;
    }
    const annotated = json.json.annotations?.['id'];
    const id = annotated !== undefined && annotated !== '' ? annotated : `policy${index}`;
    if (seen.has(id)) {
      problems.push(problem('duplicate-id', `policy id \`${id}\` is used by more than one policy`, id, line));
      continue;
    }
    seen.add(id);
    parsed.push({ id, text: policyText, effect: json.json.effect, actions: scopeActions(json.json.action), byteOffset, index });
  }
  if (problems.length > 0) return { ok: false, problems };
  if (parsed.length === 0) return { ok: true, policies: [] };

  const staticPolicies: Record<string, string> = {};
  for (const p of parsed) staticPolicies[p.id] = p.text;
  const answer = safe(() => cedar().validate({ schema: CEDAR_SCHEMA, policies: { staticPolicies }, validationSettings: { mode: 'strict' } }));
  if (answer === undefined) return { ok: false, problems: [problem('validation', 'policy set could not be validated')] };
  if (answer.type === 'failure') return { ok: false, problems: answer.errors.map((e) => problem('validation', describeError(e, false))) };

  const byId = new Map(parsed.map((p) => [p.id, p]));
  const located = (policyId: string, e: Cedar.DetailedError): number | undefined => {
    const p = byId.get(policyId);
    if (p?.byteOffset === undefined) return undefined;
    return lineOf(p.byteOffset + (e.sourceLocations?.[0]?.start ?? 0));
  };
  const found: (PolicyProblem & { order: number })[] = [];
  for (const v of answer.validationErrors) {
    found.push({ ...problem('validation', describeError(v.error, false), v.policyId, located(v.policyId, v.error)), order: byId.get(v.policyId)?.index ?? n });
  }
  // Warnings reject the set too (https://docs.cedarpolicy.com/policies/validation.html): an
  // "impossible" policy never applies — most often a forbid the author believes protects something —
  // and BIDI characters or confusable scripts can make a policy read differently from how it
  // evaluates. Japanese text mixes scripts as a matter of course ("DV支援", "窓口A"): a string that
  // mixes only Latin, Han, Hiragana and Katakana is accepted.
  for (const v of answer.validationWarnings) {
    if (isJapaneseMixedScriptWarning(v.error.message)) continue;
    const reason = /impossible|unable to find an applicable action/.test(v.error.message) ? 'impossible' : 'suspicious';
    found.push({ ...problem(reason, describeError(v.error, false), v.policyId, located(v.policyId, v.error)), order: byId.get(v.policyId)?.index ?? n });
  }
  if (found.length > 0) {
    // Cedar reports in no stable order; sort by position in the text, then message.
    found.sort((a, b) => a.order - b.order || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
    return { ok: false, problems: found.map(({ order: _order, ...p }) => p) };
  }
  return { ok: true, policies: parsed.map(({ id, text: t, effect, actions }) => ({ id, text: t, effect, actions })) };
}

/**
 * Parses a policy set and validates it against CEDAR_SCHEMA in strict mode
 * (https://docs.cedarpolicy.com/policies/validation.html). An empty text is valid: 0 policies,
 * everything denied.
 */
export function validatePolicySet(text: string): PolicyValidation {
  const a = analyse(text);
  return a.ok ? { ok: true, policies: a.policies.length } : { ok: false, problems: a.problems };
}

// ---------------------------------------------------------------------------------------------
// Requests

const PRINCIPAL_TYPE: Readonly<Record<PolicyPrincipal['kind'], string>> = {
  user: `${CEDAR_NAMESPACE}::User`,
  service: `${CEDAR_NAMESPACE}::ServiceAccount`,
  operator: `${CEDAR_NAMESPACE}::Operator`,
};

const uid = (type: string, id: string): Cedar.TypeAndId => ({ type: `${CEDAR_NAMESPACE}::${type}`, id });

function principalEntity(p: PolicyPrincipal): Cedar.EntityJson {
  return {
    uid: { type: PRINCIPAL_TYPE[p.kind], id: p.id },
    attrs: { mfa: p.mfa === true },
    parents: [...p.roles.map((r) => uid('Role', r)), ...p.duties.map((d) => uid('Duty', d))],
  };
}

/** "" is no purpose: the context cannot tell them apart. */
const normalisePurpose = (purpose: string | null): string | null => (purpose === null || purpose === '' ? null : purpose);

function requestContext(p: PolicyPrincipal, purpose: string | null): Cedar.Context {
  return { purpose: purpose ?? '', hasPurpose: purpose !== null, mfa: p.mfa === true };
}

function fieldEntity(collection: string, f: FieldInfo): Cedar.EntityJson {
  return {
    uid: uid('Field', `${collection}.${f.name}`),
    attrs: { name: f.name, collection, classification: f.classification, type: f.type },
    parents: [uid('Collection', collection)],
  };
}

function principalKey(p: PolicyPrincipal): string {
  return JSON.stringify([p.kind, p.id, [...p.roles].sort(), [...p.duties].sort(), p.mfa === true]);
}

const fingerprints = new WeakMap<CollectionInfo, string>();

/** A short digest of what the engine sees of a collection: a changed field set is another cache key. */
function collectionFingerprint(c: CollectionInfo): string {
  const memo = fingerprints.get(c);
  if (memo !== undefined) return memo;
  // Length-prefixed, so that no two shapes give the same text (and cheaper than JSON.stringify).
  const part = (s: string): string => `${s.length}:${s}`;
  let text = part(c.name);
  for (const f of c.fields) text += part(f.name) + part(f.classification) + part(f.type);
  const digest = createHash('sha256').update(text).digest('base64url');
  // Only frozen shapes (the vault deep-freezes its schemas) may be remembered by identity.
  if (Object.isFrozen(c) && Object.isFrozen(c.fields) && c.fields.every((f) => Object.isFrozen(f))) fingerprints.set(c, digest);
  return digest;
}

let schemaPrepared = false;
const preparedSets = new Set<string>();

function prepareSchema(): void {
  if (schemaPrepared) return;
  const r = cedar().preparseSchema(SCHEMA_NAME, CEDAR_SCHEMA);
  if (r.type !== 'success') throw new Error(`Cedar schema does not parse: ${r.errors.map((e) => e.message).join('; ')}`);
  schemaPrepared = true;
}

/**
 * Registers the policy set in cedar-wasm's preparsed store under a digest of its content, so equal
 * policy sets share one entry. cedar-wasm has no call to drop an entry: the store grows by one per
 * distinct policy text loaded in this process.
 */
function preparePolicySet(policies: readonly ParsedPolicy[]): string {
  const staticPolicies: Record<string, string> = {};
  for (const p of policies) staticPolicies[p.id] = p.text;
  const id = `kuraban-policies:${createHash('sha256').update(JSON.stringify(policies.map((p) => [p.id, p.text]))).digest('base64url')}`;
  if (preparedSets.has(id)) return id;
  const r = cedar().preparsePolicySet(id, { staticPolicies });
  if (r.type !== 'success') throw new Error(`policy set does not parse: ${r.errors.map((e) => e.message).join('; ')}`);
  preparedSets.add(id);
  return id;
}

// ---------------------------------------------------------------------------------------------
// The engine

type CacheValue = boolean | readonly (readonly [string, FieldAccess])[];

export interface PolicyEngineOptions {
  readonly tenantId: string;
  readonly version: number;
  readonly text: string;
  /** Decision cache entries (default 10,000; 0 disables the cache). */
  readonly cacheSize?: number;
  /**
   * Tests: evaluate with the preparsed schema so that Cedar checks every request, entity and
   * context against it, and throw when one does not conform. Off by default: the engine builds
   * every request itself, and schema checking costs about a third more per decision.
   */
  readonly checkRequests?: boolean;
}

export interface PolicyEngineStats {
  readonly hits: number;
  readonly misses: number;
  /** Cedar evaluations performed (each miss costs one or more). */
  readonly evaluations: number;
}

export type PolicyResource = { readonly collection: string } | { readonly tenant: true } | { readonly log: true };

export class PolicyEngine {
  readonly tenantId: string;
  readonly version: number;
  /** Number of policies in the set. */
  readonly policyCount: number;
  readonly #setId: string | null;
  readonly #forbids: ReadonlySet<string>;
  /** Actions some permit can apply to; null = a permit applies to any action. */
  readonly #permitActions: ReadonlySet<string> | null;
  readonly #cacheSize: number;
  readonly #checkRequests: boolean;
  readonly #cache = new Map<string, CacheValue>();
  #hits = 0;
  #misses = 0;
  #evaluations = 0;

  constructor(options: PolicyEngineOptions) {
    if (typeof options.tenantId !== 'string' || options.tenantId === '') throw new TypeError('tenantId must be a non-empty string');
    if (!Number.isSafeInteger(options.version)) throw new TypeError('version must be an integer');
    const cacheSize = options.cacheSize ?? 10_000;
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) throw new RangeError('cacheSize must be a non-negative integer');
    const a = analyse(options.text);
    if (!a.ok) {
      // At most 50 problems; a policy id is named only when it looks like one (it is caller text).
      throw new KurabanError('POLICY_INVALID', 'the policy set does not validate against the Kuraban Cedar schema', {
        details: a.problems.slice(0, 50).map((p) => ({ ...(p.policy !== undefined && /^[A-Za-z0-9_.:-]{1,100}$/.test(p.policy) ? { field: p.policy } : {}), ...(p.line === undefined ? {} : { line: p.line }), reason: p.reason })),
      });
    }
    this.tenantId = options.tenantId;
    this.version = options.version;
    this.policyCount = a.policies.length;
    this.#cacheSize = cacheSize;
    this.#checkRequests = options.checkRequests === true;
    this.#forbids = new Set(a.policies.filter((p) => p.effect === 'forbid').map((p) => p.id));
    const permits = a.policies.filter((p) => p.effect === 'permit');
    this.#permitActions = permits.some((p) => p.actions === null) ? null : new Set(permits.flatMap((p) => [...(p.actions ?? [])]));
    // No permit at all: every decision is deny, Cedar need not be asked.
    this.#setId = permits.length === 0 ? null : preparePolicySet(a.policies);
    if (this.#checkRequests) prepareSchema();
  }

  get stats(): PolicyEngineStats {
    return { hits: this.#hits, misses: this.#misses, evaluations: this.#evaluations };
  }

  /** Collection/tenant/log level: create, update, delete, export (resource = collection name), manage-policy, manage-schema, manage-keys (tenant), read-log (log). */
  isAllowed(p: PolicyPrincipal, action: PolicyAction, resource: PolicyResource, purpose: string | null): boolean {
    const expected = POLICY_ACTIONS.includes(action) ? ACTION_RESOURCE_TYPE[action] : undefined;
    let entity: Cedar.EntityJson;
    let scope: string;
    if ('collection' in resource && expected === 'Collection') {
      entity = { uid: uid('Collection', resource.collection), attrs: {}, parents: [] };
      scope = `c:${resource.collection}`;
    } else if ('tenant' in resource && resource.tenant === true && expected === 'Tenant') {
      entity = { uid: uid('Tenant', this.tenantId), attrs: {}, parents: [] };
      scope = 't';
    } else if ('log' in resource && resource.log === true && expected === 'Log') {
      entity = { uid: uid('Log', this.tenantId), attrs: {}, parents: [] };
      scope = 'l';
    } else {
      return false; // the schema does not let this action take this resource
    }
    const purp = normalisePurpose(purpose);
    const key = JSON.stringify([principalKey(p), action, scope, purp]);
    const cached = this.#lookup(key);
    if (typeof cached === 'boolean') return cached;
    const allowed = this.#decide(principalEntity(p), action, entity, requestContext(p, purp));
    this.#store(key, allowed);
    return allowed;
  }

  /**
   * Per field: 'clear' if `read` (or `search` when action is 'search') is allowed, else 'masked' if
   * `read-masked` is allowed (read only), else 'withheld'. Whatever the policies say, with no
   * declared purpose every field whose classification is not 'public' is 'withheld'.
   */
  fieldAccess(p: PolicyPrincipal, collection: CollectionInfo, action: 'read' | 'search', purpose: string | null): ReadonlyMap<string, FieldAccess> {
    const purp = normalisePurpose(purpose);
    const key = JSON.stringify([principalKey(p), action, `f:${collectionFingerprint(collection)}`, purp]);
    const cached = this.#lookup(key);
    if (cached !== undefined && typeof cached !== 'boolean') return new Map(cached);
    const principal = principalEntity(p);
    const context = requestContext(p, purp);
    const entries = collection.fields.map((f): readonly [string, FieldAccess] => {
      if (purp === null && f.classification !== 'public') return [f.name, 'withheld'];
      const resource = fieldEntity(collection.name, f);
      if (this.#decide(principal, action, resource, context)) return [f.name, 'clear'];
      if (action === 'read' && this.#decide(principal, 'read-masked', resource, context)) return [f.name, 'masked'];
      return [f.name, 'withheld'];
    });
    this.#store(key, entries);
    return new Map(entries);
  }

  /**
   * One field-level action (read, read-masked, search, tokenize, detokenize) on one field, with the
   * same purpose rule as fieldAccess: no declared purpose → denied unless the field is public.
   */
  fieldAllowed(p: PolicyPrincipal, action: 'read' | 'read-masked' | 'search' | 'tokenize' | 'detokenize', collection: string, field: FieldInfo, purpose: string | null): boolean {
    if (!POLICY_ACTIONS.includes(action) || ACTION_RESOURCE_TYPE[action] !== 'Field') return false;
    const purp = normalisePurpose(purpose);
    if (purp === null && field.classification !== 'public') return false;
    const key = JSON.stringify([principalKey(p), action, 'fa', collection, field.name, field.classification, field.type, purp]);
    const cached = this.#lookup(key);
    if (typeof cached === 'boolean') return cached;
    const allowed = this.#decide(principalEntity(p), action, fieldEntity(collection, field), requestContext(p, purp));
    this.#store(key, allowed);
    return allowed;
  }

  /** Row condition: `read-record` on a Record of that collection with those flags. */
  recordAllowed(p: PolicyPrincipal, collection: string, flags: readonly string[], purpose: string | null): boolean {
    const purp = normalisePurpose(purpose);
    const set = [...new Set(flags)].sort();
    const key = JSON.stringify([principalKey(p), 'read-record', `r:${collection}`, set, purp]);
    const cached = this.#lookup(key);
    if (typeof cached === 'boolean') return cached;
    const resource: Cedar.EntityJson = { uid: uid('Record', `${collection}#record`), attrs: { flags: set }, parents: [uid('Collection', collection)] };
    const allowed = this.#decide(principalEntity(p), 'read-record', resource, requestContext(p, purp));
    this.#store(key, allowed);
    return allowed;
  }

  /**
   * One Cedar decision. Never throws: a failed call is a deny. The request goes to the preparsed
   * policy set without the schema: the engine builds every entity and context itself, in the shape
   * the schema declares (checkRequests makes Cedar verify that, in the tests), and the schema has no
   * action groups, so evaluation needs nothing from it.
   */
  #decide(principal: Cedar.EntityJson, action: PolicyAction, resource: Cedar.EntityJson, context: Cedar.Context): boolean {
    // Default deny: with no permit that can apply to the action, no request is allowed.
    if (this.#setId === null || (this.#permitActions !== null && !this.#permitActions.has(action))) return false;
    this.#evaluations++;
    let answer: Cedar.AuthorizationAnswer;
    try {
      answer = cedar().statefulIsAuthorized({
        principal: principal.uid,
        action: { type: ACTION_TYPE, id: action },
        resource: resource.uid,
        context,
        entities: [principal, resource],
        preparsedPolicySetId: this.#setId,
        ...(this.#checkRequests ? { preparsedSchemaName: SCHEMA_NAME, validateRequest: true } : {}),
      });
    } catch (e) {
      if (this.#checkRequests) throw e;
      return false;
    }
    if (answer.type !== 'success') {
      if (this.#checkRequests) throw new Error(`request does not conform: ${answer.errors.map((e) => e.message).join('; ')}`);
      return false;
    }
    const { decision, diagnostics } = answer.response;
    // An erroring forbid denies (fail closed); an erroring permit simply does not permit.
    if (diagnostics.errors.some((e) => this.#forbids.has(e.policyId))) return false;
    return decision === 'allow';
  }

  #lookup(key: string): CacheValue | undefined {
    const v = this.#cache.get(key);
    if (v === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    // Least recently used goes first: a hit moves the entry to the end of the insertion order.
    this.#cache.delete(key);
    this.#cache.set(key, v);
    return v;
  }

  #store(key: string, value: CacheValue): void {
    if (this.#cacheSize === 0) return;
    this.#cache.set(key, value);
    while (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.keys().next();
      if (oldest.done === true) break;
      this.#cache.delete(oldest.value);
    }
  }
}
