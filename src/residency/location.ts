import { KurabanError, type ErrorDetail } from '../errors/index.js';
import { isCountryCode, isJurisdictionCode } from './countries.js';

/** What a location may hold: encrypted records and digests, root/tenant keys, or plaintext (an export). */
export const LOCATION_HOLDS = ['ciphertext', 'keys', 'plaintext'] as const;
export type LocationHold = (typeof LOCATION_HOLDS)[number];

/**
 * A place data or keys can be: the primary store, a backup target, an export destination, a key
 * provider. Every attribute is an operator's declaration, recorded (and logged) as given; residency
 * rules are checked against it. No attribute is a personal value.
 */
export interface Location {
  /** Lower-case identifier, e.g. `tokyo-db`, `city-hsm`. */
  readonly id: string;
  /** ISO 3166-1 alpha-2 country where it physically is, e.g. JP. */
  readonly country: string;
  /** `<country>-<Name>` (e.g. JP-Tokyo, JP-Osaka), or null when not declared. */
  readonly region: string | null;
  /** Who provides the infrastructure (e.g. `self-hosted`, `aws`, `sakura`). */
  readonly provider: string;
  /** Who operates it (e.g. the municipality, an integrator). */
  readonly operator: string;
  /** The law that governs the operator: ISO 3166-1 alpha-2 (or EU). */
  readonly jurisdiction: string;
  readonly holds: readonly LocationHold[];
  /** Free description for people (never checked against a rule). */
  readonly description: string;
}

export const LOCATION_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Region: the country code, a hyphen, then a name (ASCII letters, digits, hyphens). */
export const REGION_PATTERN = /^([A-Z]{2})-[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
/** Provider and operator names: identifiers, so they compare exactly and never carry free text. */
export const PARTY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/;
const DESCRIPTION_MAX = 200;

/** Parses and checks a location; REQUEST_INVALID naming the bad fields (never echoing values). */
export function parseLocation(input: unknown): Location {
  const problems: ErrorDetail[] = [];
  const o = (typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {}) as Record<string, unknown>;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) problems.push({ reason: 'not_an_object' });
  for (const k of Object.keys(o)) {
    if (!['id', 'country', 'region', 'provider', 'operator', 'jurisdiction', 'holds', 'description'].includes(k)) problems.push({ field: k, reason: 'unknown_property' });
  }
  const id = o.id;
  if (typeof id !== 'string' || !LOCATION_ID_PATTERN.test(id)) problems.push({ field: 'id', reason: 'invalid_location_id' });
  const country = o.country;
  if (!isCountryCode(country)) problems.push({ field: 'country', reason: 'not_iso_3166_1_alpha2' });
  const region = o.region ?? null;
  if (region !== null) {
    const m = typeof region === 'string' ? REGION_PATTERN.exec(region) : null;
    if (!m) problems.push({ field: 'region', reason: 'invalid_region' });
    else if (m[1] !== country) problems.push({ field: 'region', reason: 'region_not_in_country' });
  }
  for (const f of ['provider', 'operator'] as const) if (typeof o[f] !== 'string' || !PARTY_PATTERN.test(o[f] as string)) problems.push({ field: f, reason: 'invalid_name' });
  if (!isJurisdictionCode(o.jurisdiction)) problems.push({ field: 'jurisdiction', reason: 'not_iso_3166_1_alpha2' });
  const holds = o.holds;
  if (!Array.isArray(holds) || holds.length === 0 || holds.some((h) => !(LOCATION_HOLDS as readonly unknown[]).includes(h))) problems.push({ field: 'holds', reason: 'invalid_holds' });
  const description = o.description ?? '';
  if (typeof description !== 'string' || description.length > DESCRIPTION_MAX || /[\u0000-\u001f\u007f]/.test(description)) problems.push({ field: 'description', reason: 'invalid_description' });
  if (problems.length > 0) throw new KurabanError('REQUEST_INVALID', 'location is invalid', { details: problems });
  return Object.freeze({
    id: id as string,
    country: country as string,
    region: region as string | null,
    provider: o.provider as string,
    operator: o.operator as string,
    jurisdiction: o.jurisdiction as string,
    holds: Object.freeze(LOCATION_HOLDS.filter((h) => (holds as unknown[]).includes(h))),
    description: description as string,
  });
}

/** Whether two locations declare the same thing. */
export function sameLocation(a: Location, b: Location): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The location a fresh laptop install declares for its own store and key file: this machine, run by
 * the organisation itself, in Japan under Japanese law, region not declared. A collection rule that
 * names regions or providers refuses it until the operator declares the real location
 * (docs/residency.md).
 */
export const DEFAULT_LOCATION: Location = Object.freeze({
  id: 'local',
  country: 'JP',
  region: null,
  provider: 'self-hosted',
  operator: 'self',
  jurisdiction: 'JP',
  holds: Object.freeze(['ciphertext', 'keys'] as LocationHold[]),
  description: 'this machine (default; declare the real location: docs/residency.md)',
});
