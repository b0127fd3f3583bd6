import { KurabanError, type ErrorDetail } from '../errors/index.js';
import { isCountryCode, isJurisdictionCode } from './countries.js';
import { LOCATION_ID_PATTERN, PARTY_PATTERN, REGION_PATTERN, type Location, type LocationHold } from './location.js';

/**
 * Where one kind of thing (ciphertext, or keys) may be. Each list that is present must match the
 * location (they AND together); an absent list allows anything. An empty list allows nothing.
 */
export interface PlaceRule {
  /** ISO 3166-1 alpha-2 countries. */
  readonly countries?: readonly string[];
  /** Regions, e.g. JP-Tokyo, JP-Osaka (compared without regard to case); a location with no region fails. */
  readonly regions?: readonly string[];
  readonly providers?: readonly string[];
  /** Laws that may govern the operator (ISO 3166-1 alpha-2, or EU). */
  readonly jurisdictions?: readonly string[];
  /** Named locations, e.g. the municipality's own HSM. */
  readonly locations?: readonly string[];
}

/**
 * A collection's residency rules. `ciphertext` governs every place its records are, in any form:
 * the store, backups, and plaintext exports. `keys` governs where the root key provider is.
 */
export interface ResidencyRules {
  readonly ciphertext?: PlaceRule;
  readonly keys?: PlaceRule;
}

export type RuleKind = keyof ResidencyRules;
export const RULE_KINDS: readonly RuleKind[] = ['ciphertext', 'keys'];
const RULE_LISTS = ['countries', 'regions', 'providers', 'jurisdictions', 'locations'] as const;
type RuleList = (typeof RULE_LISTS)[number];
const MAX_LIST = 64;

/** A failed rule: which collection, which rule (e.g. `ciphertext.regions`) — never the location's values. */
export interface Violation {
  readonly collection: string | null;
  /** `ciphertext.regions`, `keys.locations`, … or `location.holds` (the location does not hold that kind). */
  readonly rule: string;
}

const VALID: Record<RuleList, (v: unknown) => boolean> = {
  countries: isCountryCode,
  regions: (v) => typeof v === 'string' && REGION_PATTERN.test(v),
  providers: (v) => typeof v === 'string' && PARTY_PATTERN.test(v),
  jurisdictions: isJurisdictionCode,
  locations: (v) => typeof v === 'string' && LOCATION_ID_PATTERN.test(v),
};

/** Parses rules (REQUEST_INVALID with the bad paths, never the values). */
export function parseResidencyRules(input: unknown): ResidencyRules {
  const problems: ErrorDetail[] = [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(input)) throw new KurabanError('REQUEST_INVALID', 'residency rules must be an object', { details: [{ field: 'residency', reason: 'not_an_object' }] });
  const out: Record<string, PlaceRule> = {};
  for (const k of Object.keys(input)) if (!(RULE_KINDS as readonly string[]).includes(k)) problems.push({ field: `residency.${k}`, reason: 'unknown_property' });
  for (const kind of RULE_KINDS) {
    const rule = input[kind];
    if (rule === undefined) continue;
    if (!isObject(rule)) {
      problems.push({ field: `residency.${kind}`, reason: 'not_an_object' });
      continue;
    }
    const parsed: Partial<Record<RuleList, readonly string[]>> = {};
    for (const k of Object.keys(rule)) if (!(RULE_LISTS as readonly string[]).includes(k)) problems.push({ field: `residency.${kind}.${k}`, reason: 'unknown_property' });
    for (const list of RULE_LISTS) {
      const values = rule[list];
      if (values === undefined) continue;
      if (!Array.isArray(values) || values.length > MAX_LIST || values.some((v) => !VALID[list](v))) {
        problems.push({ field: `residency.${kind}.${list}`, reason: 'invalid_list' });
        continue;
      }
      parsed[list] = Object.freeze([...new Set(values as string[])]);
    }
    out[kind] = Object.freeze(parsed);
  }
  if (problems.length > 0) throw new KurabanError('REQUEST_INVALID', 'residency rules are invalid', { details: problems });
  return Object.freeze(out);
}

/** Whether the rules say anything at all. */
export function hasRules(rules: ResidencyRules): boolean {
  return RULE_KINDS.some((k) => rules[k] !== undefined);
}

/**
 * The first rule of `kind` the location fails, or undefined when it satisfies all of them. A location
 * used for a kind of thing must also declare that it holds it (`location.holds`).
 */
export function checkPlace(rules: ResidencyRules, kind: RuleKind, location: Location, hold: LocationHold, collection: string | null): Violation | undefined {
  if (!location.holds.includes(hold)) return { collection, rule: 'location.holds' };
  const rule = rules[kind];
  if (!rule) return undefined;
  const fails: Record<RuleList, (allowed: readonly string[]) => boolean> = {
    countries: (a) => !a.includes(location.country),
    regions: (a) => location.region === null || !a.some((r) => r.toLowerCase() === (location.region as string).toLowerCase()),
    providers: (a) => !a.includes(location.provider),
    jurisdictions: (a) => !a.includes(location.jurisdiction),
    locations: (a) => !a.includes(location.id),
  };
  for (const list of RULE_LISTS) {
    const allowed = rule[list];
    if (allowed !== undefined && fails[list](allowed)) return { collection, rule: `${kind}.${list}` };
  }
  return undefined;
}

/** RESIDENCY_VIOLATION naming the collection and the rule (never a location's attribute values). */
export function violationError(v: Violation, what: string): KurabanError {
  const where = v.collection === null ? '' : `collection ${v.collection}: `;
  const message =
    v.rule === 'location.holds' ? `${where}${what} is refused: the location is not declared to hold this kind of data` : `${where}${what} is refused by residency rule ${v.rule}`;
  return new KurabanError('RESIDENCY_VIOLATION', message, { details: [{ field: v.rule, reason: 'residency_violation' }] });
}
