import { isIP } from 'node:net';
import type { ErrorCode } from '../errors/index.js';
import { MAX_ENTRY_BYTES } from './entry-bundle.js';

/**
 * One access-log entry: who did what to which records, never a value. Every field is an identifier
 * drawn from a closed set or a narrow pattern (no spaces, no free text, ASCII only), so a name, an
 * address or any other personal value cannot be written into the log by mistake — it does not
 * match. Encoded as RFC 8785 canonical JSON, so the same entry always hashes the same.
 */
export interface LogEntry {
  /** Entry format version. */
  readonly v: typeof LOG_ENTRY_VERSION;
  /** ISO-8601 UTC with milliseconds, as Date#toISOString writes it. */
  readonly time: string;
  readonly tenant: string;
  readonly principal: LogPrincipal;
  readonly action: LogAction;
  /** Collection name, or null for actions outside a collection. */
  readonly collection: string | null;
  /** Record ids (UUIDs) touched. */
  readonly records: readonly string[];
  /** Subject ids (pseudonymous handles) touched. */
  readonly subjects: readonly string[];
  /** Field names touched (read, written or searched on). */
  readonly fields: readonly string[];
  /** The declared purpose, an identifier (e.g. `tax_assessment`), when the caller gave one. */
  readonly purpose?: string;
  /** How many items the call handled when they are not all records (tokens tokenised or detokenised). */
  readonly count?: number;
  /** The location (residency registry id) written to or changed, when the action has one. */
  readonly location?: string;
  /** `ok`, or the stable error code the request failed with. */
  readonly outcome: LogOutcome;
  readonly requestId: string;
  /** The client's IP address (v4 or v6), or null when unknown. */
  readonly client: string | null;
}

export interface LogPrincipal {
  /** The API key id (16 hex digits) or another principal id. */
  readonly id: string;
  /** How it authenticated. */
  readonly auth: LogAuthMethod;
}

export const LOG_ENTRY_VERSION = 1;
/** api-key: an HTTP caller; local: an operator running the CLI on the machine that holds the key. */
export const LOG_AUTH_METHODS = ['api-key', 'local', 'oidc'] as const;
export type LogAuthMethod = (typeof LOG_AUTH_METHODS)[number];

/** The closed set of logged actions. A new action is a new member, never a renamed one. */
export const LOG_ACTIONS = [
  'tenant.create',
  'tenant.read',
  'tenant.list',
  'collection.create',
  'collection.read',
  'collection.list',
  'collection.update',
  'record.create',
  'record.read',
  'record.update',
  'record.delete',
  'record.list',
  'record.search',
  'record.import',
  'record.export',
  'api_key.create',
  'api_key.list',
  'api_key.revoke',
  'api_key.rotate',
  'log.read',
  'policy.read',
  'policy.update',
  'access.read',
  'auth.lock',
  'subject.erase',
  'key.rotate_root',
  'key.rotate_tenant',
  'key.rotate_data',
  'key.rewrap',
  'key.reencrypt',
  'key.retire',
  'backup.create',
  'backup.restore',
  'token.tokenize',
  'token.detokenize',
  'key.rotate_token',
  'location.create',
  'location.update',
  'location.delete',
  'location.configure',
  'residency.update',
  'residency.check',
  'map.read',
  'report.read',
] as const;
export type LogAction = (typeof LOG_ACTIONS)[number];

/** 'ok' or the request's error code. Decoding checks the shape only, so a verifier reads codes added later. */
export type LogOutcome = 'ok' | ErrorCode;

export class LogEntryError extends Error {
  override readonly name = 'LogEntryError';
  constructor(readonly field: string) {
    super(`log entry field ${field} is invalid`);
  }
}

// Patterns of the identifiers (the same as the vault's: vault/identifiers.ts, schema/field.ts, policy/).
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TENANT = /^[a-z0-9][a-z0-9-]{1,62}$/;
const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SUBJECT = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const PRINCIPAL = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Location ids (residency/location.ts LOCATION_ID_PATTERN). */
const LOCATION = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const OUTCOME = /^(?:ok|[A-Z][A-Z0-9_]{0,63})$/;
const ACTION_SET: ReadonlySet<unknown> = new Set(LOG_ACTIONS);
const AUTH_METHOD_SET: ReadonlySet<unknown> = new Set(LOG_AUTH_METHODS);
const ENTRY_KEYS = new Set(['v', 'time', 'tenant', 'principal', 'action', 'collection', 'records', 'subjects', 'fields', 'purpose', 'count', 'location', 'outcome', 'requestId', 'client']);

/** The RFC 8785 bytes of an entry, after checking every field; LogEntryError names the first bad field. */
export function encodeLogEntry(entry: LogEntry): Buffer {
  const bytes = Buffer.from(entryJson(checkLogEntry(entry)), 'utf8');
  if (bytes.length > MAX_ENTRY_BYTES) throw new LogEntryError('size');
  return bytes;
}

/**
 * Parses and checks entry bytes; refuses anything that is not exactly what encodeLogEntry writes.
 *
 * Every string of a valid entry is printable ASCII without `"` or `\`, so its RFC 8785 form has no
 * escape, no whitespace and its members in one fixed order (entryJson). The bytes are therefore read
 * with a strict scanner of exactly that form — which is both the canonical-form check and the parse, at a
 * fraction of JSON.parse plus re-encoding — and the fields are then checked as on encoding. Anything
 * else (another order, whitespace, an escape, a byte outside printable ASCII, a missing or extra member,
 * bytes after the end) is refused: it is either not canonical or not a valid entry.
 */
export function decodeLogEntry(bytes: Uint8Array): LogEntry {
  if (bytes.length > MAX_ENTRY_BYTES) throw new LogEntryError('encoding');
  // latin1: one char per byte, so the pattern's character classes are classes of the bytes themselves.
  const m = CANONICAL_ENTRY.exec(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'));
  if (m === null) throw new LogEntryError('encoding');
  const [, action, client, collection, count, fields, location, outcome, auth, id, purpose, records, requestId, subjects, tenant, time, v] = m as unknown as Array<string | undefined>;
  const parsed = {
    v: Number(v),
    time,
    tenant,
    principal: { id, auth },
    action,
    collection: collection === undefined ? null : collection,
    records: stringList(records),
    subjects: stringList(subjects),
    fields: stringList(fields),
    ...(purpose === undefined ? {} : { purpose }),
    ...(count === undefined ? {} : { count: Number(count) }),
    ...(location === undefined ? {} : { location }),
    outcome,
    requestId,
    client: client === undefined ? null : client,
  };
  return checkLogEntry(parsed as unknown as LogEntry);
}

/**
 * The one canonical form entryJson writes, as a pattern: members in order, no whitespace, strings of
 * printable ASCII without `"` or `\` (so no escapes), the version as a canonical non-negative integer.
 * Groups: action, client, collection, count, fields, location, outcome, auth, id, purpose, records,
 * requestId, subjects, tenant, time, v (a null or an absent optional member is an undefined group; a
 * list is its inside, quotes included). `count`, `location` and `purpose` are optional members.
 */
const S = '[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*';
const LIST = `((?:"${S}"(?:,"${S}")*)?)`;
const CANONICAL_ENTRY = new RegExp(
  `^\\{"action":"(${S})","client":(?:null|"(${S})"),"collection":(?:null|"(${S})"),(?:"count":(0|[1-9][0-9]{0,15}),)?` +
    `"fields":\\[${LIST}\\],(?:"location":"(${S})",)?"outcome":"(${S})","principal":\\{"auth":"(${S})","id":"(${S})"\\},(?:"purpose":"(${S})",)?` +
    `"records":\\[${LIST}\\],"requestId":"(${S})","subjects":\\[${LIST}\\],"tenant":"(${S})","time":"(${S})",` +
    `"v":(0|[1-9][0-9]{0,14})\\}$`,
);

/** The strings of a list's inside (`"a","b"`): none of them holds a quote, so `","` separates them. */
function stringList(inside: string | undefined): string[] {
  return inside === undefined || inside === '' ? [] : inside.slice(1, -1).split('","');
}

/**
 * The RFC 8785 canonical JSON of a checked entry, written directly: members in UTF-16 code-unit order
 * (§3.2.3); the version as Number::toString writes it (§3.2.2.3); strings as QuoteJSONString writes them
 * (§3.2.2.2) — which for a string of printable ASCII without `"` or `\` is the string between quotes,
 * and every string of a checked entry is such an identifier (any other string goes through
 * JSON.stringify, the same rule). test/ledger/log-entry.test.ts checks it against canonicalJson.
 */
function entryJson(e: LogEntry): string {
  return (
    `{"action":${str(e.action)},"client":${e.client === null ? 'null' : str(e.client)},` +
    `"collection":${e.collection === null ? 'null' : str(e.collection)},` +
    (e.count === undefined ? '' : `"count":${String(e.count)},`) +
    `"fields":${strs(e.fields)},` +
    (e.location === undefined ? '' : `"location":${str(e.location)},`) +
    `"outcome":${str(e.outcome)},` +
    `"principal":{"auth":${str(e.principal.auth)},"id":${str(e.principal.id)}},` +
    (e.purpose === undefined ? '' : `"purpose":${str(e.purpose)},`) +
    `"records":${strs(e.records)},"requestId":${str(e.requestId)},"subjects":${strs(e.subjects)},` +
    `"tenant":${str(e.tenant)},"time":${str(e.time)},"v":${String(e.v)}}`
  );
}

/** Printable ASCII except `"` and `\`: QuoteJSONString leaves such a string as it is. */
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function str(s: string): string {
  return PLAIN_STRING.test(s) ? `"${s}"` : JSON.stringify(s);
}

function strs(list: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) out += (i === 0 ? '' : ',') + str(list[i] as string);
  return `${out}]`;
}

/** A frozen copy of `entry` holding only the known fields, each checked; throws LogEntryError. */
export function checkLogEntry(entry: LogEntry): LogEntry {
  if (typeof entry !== 'object' || entry === null) throw new LogEntryError('entry');
  for (const k of Object.keys(entry)) if (!ENTRY_KEYS.has(k)) throw new LogEntryError(k);
  if (entry.v !== LOG_ENTRY_VERSION) throw new LogEntryError('v');
  if (entry.time !== lastValidTime) {
    if (!matches(TIME, entry.time) || Number.isNaN(Date.parse(entry.time))) throw new LogEntryError('time');
    lastValidTime = entry.time; // entries of one request or batch share their time: parse it once
  }
  if (!matches(TENANT, entry.tenant)) throw new LogEntryError('tenant');
  const p = entry.principal;
  if (typeof p !== 'object' || p === null) throw new LogEntryError('principal');
  for (const k of Object.keys(p)) if (k !== 'id' && k !== 'auth') throw new LogEntryError('principal');
  if (!matches(PRINCIPAL, p.id)) throw new LogEntryError('principal.id');
  if (!AUTH_METHOD_SET.has(p.auth)) throw new LogEntryError('principal.auth');
  if (!ACTION_SET.has(entry.action)) throw new LogEntryError('action');
  if (entry.collection !== null && !matches(NAME, entry.collection)) throw new LogEntryError('collection');
  const records = list(entry.records, UUID, 'records');
  const subjects = list(entry.subjects, SUBJECT, 'subjects');
  const fields = list(entry.fields, NAME, 'fields');
  if (entry.purpose !== undefined && !matches(NAME, entry.purpose)) throw new LogEntryError('purpose');
  if (entry.count !== undefined && (!Number.isSafeInteger(entry.count) || entry.count < 0)) throw new LogEntryError('count');
  if (entry.location !== undefined && !matches(LOCATION, entry.location)) throw new LogEntryError('location');
  if (!matches(OUTCOME, entry.outcome)) throw new LogEntryError('outcome');
  if (!matches(REQUEST_ID, entry.requestId)) throw new LogEntryError('requestId');
  if (entry.client !== null && (typeof entry.client !== 'string' || isIP(entry.client) === 0)) throw new LogEntryError('client');
  const principal = Object.freeze({ id: p.id, auth: p.auth });
  const { v, time, tenant, action, collection, purpose, count, location, outcome, requestId, client } = entry;
  const out: { -readonly [K in keyof LogEntry]: LogEntry[K] } = { v, time, tenant, principal, action, collection, records, subjects, fields, outcome, requestId, client };
  if (purpose !== undefined) out.purpose = purpose;
  if (count !== undefined) out.count = count;
  if (location !== undefined) out.location = location;
  return Object.freeze(out);
}

/** The last time string found valid (a pure check, remembered: consecutive entries mostly share one). */
let lastValidTime = '';

function matches(pattern: RegExp, value: unknown): value is string {
  return typeof value === 'string' && pattern.test(value);
}

function list(values: unknown, pattern: RegExp, field: string): readonly string[] {
  if (!Array.isArray(values)) throw new LogEntryError(field);
  for (const v of values) if (!matches(pattern, v)) throw new LogEntryError(field);
  return Object.freeze([...(values as string[])]);
}
