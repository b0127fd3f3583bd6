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

/**
 * The RFC 8785 bytes of an entry, after checking every field; LogEntryError names the first bad field.
 * Every string of a checked entry is printable ASCII, so its UTF-8 bytes are its latin1 bytes.
 */
export function encodeLogEntry(entry: LogEntry): Buffer {
  const bytes = Buffer.from(entryJson(checkedFields(entry)), 'latin1');
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
 * The subject ids of entry bytes, read from their `"subjects":[…]` member alone instead of decoding the
 * whole entry (which costs ten times as much). In the canonical form no string holds a `"`, so the
 * sequence `,"subjects":[` can only be that member's start, and its list ends at the first `]` (subject ids
 * hold none). Each id is checked against the subject pattern, so the result is always a list of valid
 * ids — but the rest of the bytes is NOT checked: use it only on bytes known to be encodeLogEntry's output
 * (the access log compares each queued entry with the leaf hash computed when it was encoded).
 * Throws LogEntryError('subjects') when there is no such member or an id is invalid.
 */
export function logEntrySubjects(bytes: Uint8Array): string[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const start = text.indexOf(SUBJECTS_MEMBER);
  const from = start + SUBJECTS_MEMBER.length;
  const end = start < 0 ? -1 : text.indexOf(']', from);
  const inside = end < 0 ? '' : text.slice(from, end);
  if (end < 0 || (inside !== '' && !(inside.startsWith('"') && inside.endsWith('"')))) throw new LogEntryError('subjects');
  const subjects = stringList(inside);
  for (const s of subjects) if (!SUBJECT.test(s)) throw new LogEntryError('subjects');
  return subjects;
}
const SUBJECTS_MEMBER = ',"subjects":[';

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
 * (§3.2.2.2) — which for a string of printable ASCII without `"` or `\` is the string between quotes.
 * Every string of a checked entry is such a string (each field's pattern or closed set admits nothing
 * else, and an IP address as isIP accepts it neither), so no string is escaped: `e` must come from
 * checkedFields. test/ledger/log-entry.test.ts checks the result against canonicalJson.
 */
function entryJson(e: LogEntry): string {
  return (
    `{"action":"${e.action}","client":${e.client === null ? 'null' : `"${e.client}"`},` +
    `"collection":${e.collection === null ? 'null' : `"${e.collection}"`},` +
    (e.count === undefined ? '' : `"count":${String(e.count)},`) +
    `"fields":${strs(e.fields)},` +
    (e.location === undefined ? '' : `"location":"${e.location}",`) +
    `"outcome":"${e.outcome}",` +
    `"principal":{"auth":"${e.principal.auth}","id":"${e.principal.id}"},` +
    (e.purpose === undefined ? '' : `"purpose":"${e.purpose}",`) +
    `"records":${strs(e.records)},"requestId":"${e.requestId}","subjects":${strs(e.subjects)},` +
    `"tenant":"${e.tenant}","time":"${e.time}","v":${String(e.v)}}`
  );
}

function strs(list: readonly string[]): string {
  return list.length === 0 ? '[]' : `["${list.join('","')}"]`;
}

/** A frozen copy of `entry` holding only the known fields, each checked; throws LogEntryError. */
export function checkLogEntry(entry: LogEntry): LogEntry {
  const out = checkedFields(entry);
  Object.freeze(out.principal);
  Object.freeze(out.records);
  Object.freeze(out.subjects);
  Object.freeze(out.fields);
  return Object.freeze(out);
}

/**
 * A copy of `entry` holding only the known fields, each read once and checked (lists copied), not yet
 * frozen: what checkLogEntry freezes and encodeLogEntry writes. Throws LogEntryError.
 */
function checkedFields(entry: LogEntry): LogEntry {
  if (typeof entry !== 'object' || entry === null) throw new LogEntryError('entry');
  for (const k of Object.keys(entry)) if (!ENTRY_KEYS.has(k)) throw new LogEntryError(k);
  // Each member read once: what is checked is what is copied (and written).
  const { v, time, tenant, principal: p, action, collection, purpose, count, location, outcome, requestId, client } = entry;
  if (v !== LOG_ENTRY_VERSION) throw new LogEntryError('v');
  if (time !== lastValidTime) {
    if (!matches(TIME, time) || Number.isNaN(Date.parse(time))) throw new LogEntryError('time');
    lastValidTime = time; // entries of one request or batch share their time: parse it once
  }
  if (!matches(TENANT, tenant)) throw new LogEntryError('tenant');
  if (typeof p !== 'object' || p === null) throw new LogEntryError('principal');
  for (const k of Object.keys(p)) if (k !== 'id' && k !== 'auth') throw new LogEntryError('principal');
  const { id, auth } = p;
  if (!matches(PRINCIPAL, id)) throw new LogEntryError('principal.id');
  if (!AUTH_METHOD_SET.has(auth)) throw new LogEntryError('principal.auth');
  if (!ACTION_SET.has(action)) throw new LogEntryError('action');
  if (collection !== null && !matches(NAME, collection)) throw new LogEntryError('collection');
  const records = list(entry.records, UUID, 'records');
  const subjects = list(entry.subjects, SUBJECT, 'subjects');
  const fields = list(entry.fields, NAME, 'fields');
  if (purpose !== undefined && !matches(NAME, purpose)) throw new LogEntryError('purpose');
  if (count !== undefined && (!Number.isSafeInteger(count) || count < 0)) throw new LogEntryError('count');
  if (location !== undefined && !matches(LOCATION, location)) throw new LogEntryError('location');
  if (!matches(OUTCOME, outcome)) throw new LogEntryError('outcome');
  if (!matches(REQUEST_ID, requestId)) throw new LogEntryError('requestId');
  if (client !== null && (typeof client !== 'string' || isIP(client) === 0)) throw new LogEntryError('client');
  const out: { -readonly [K in keyof LogEntry]: LogEntry[K] } = { v, time, tenant, principal: { id, auth }, action, collection, records, subjects, fields, outcome, requestId, client };
  if (purpose !== undefined) out.purpose = purpose;
  if (count !== undefined) out.count = count;
  if (location !== undefined) out.location = location;
  return out;
}

/** The last time string found valid (a pure check, remembered: consecutive entries mostly share one). */
let lastValidTime = '';

function matches(pattern: RegExp, value: unknown): value is string {
  return typeof value === 'string' && pattern.test(value);
}

/** A copy of the list (read once), every element checked against `pattern`. */
function list(values: unknown, pattern: RegExp, field: string): readonly string[] {
  if (!Array.isArray(values)) throw new LogEntryError(field);
  const out = (values as unknown[]).slice();
  for (const v of out) if (!matches(pattern, v)) throw new LogEntryError(field);
  return out as string[];
}
