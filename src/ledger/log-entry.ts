import { isIP } from 'node:net';
import type { ErrorCode } from '../errors/index.js';
import { canonicalJsonBytes, isCanonicalJson } from './canonical-json.js';
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
const ENTRY_KEYS = new Set(['v', 'time', 'tenant', 'principal', 'action', 'collection', 'records', 'subjects', 'fields', 'purpose', 'count', 'location', 'outcome', 'requestId', 'client']);

/** The RFC 8785 bytes of an entry, after checking every field; LogEntryError names the first bad field. */
export function encodeLogEntry(entry: LogEntry): Buffer {
  const clean = checkLogEntry(entry);
  const bytes = canonicalJsonBytes(clean);
  if (bytes.length > MAX_ENTRY_BYTES) throw new LogEntryError('size');
  return bytes;
}

/** Parses and checks entry bytes; refuses anything that is not exactly what encodeLogEntry writes. */
export function decodeLogEntry(bytes: Uint8Array): LogEntry {
  if (bytes.length > MAX_ENTRY_BYTES || !isCanonicalJson(bytes)) throw new LogEntryError('encoding');
  return checkLogEntry(JSON.parse(Buffer.from(bytes).toString('utf8')) as LogEntry);
}

/** A frozen copy of `entry` holding only the known fields, each checked; throws LogEntryError. */
export function checkLogEntry(entry: LogEntry): LogEntry {
  if (typeof entry !== 'object' || entry === null) throw new LogEntryError('entry');
  for (const k of Object.keys(entry)) if (!ENTRY_KEYS.has(k)) throw new LogEntryError(k);
  if (entry.v !== LOG_ENTRY_VERSION) throw new LogEntryError('v');
  if (!matches(TIME, entry.time) || Number.isNaN(Date.parse(entry.time))) throw new LogEntryError('time');
  if (!matches(TENANT, entry.tenant)) throw new LogEntryError('tenant');
  const p = entry.principal;
  if (typeof p !== 'object' || p === null || Object.keys(p).some((k) => k !== 'id' && k !== 'auth')) throw new LogEntryError('principal');
  if (!matches(PRINCIPAL, p.id)) throw new LogEntryError('principal.id');
  if (!(LOG_AUTH_METHODS as readonly string[]).includes(p.auth)) throw new LogEntryError('principal.auth');
  if (!(LOG_ACTIONS as readonly string[]).includes(entry.action)) throw new LogEntryError('action');
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
  return Object.freeze({
    v: LOG_ENTRY_VERSION,
    time: entry.time,
    tenant: entry.tenant,
    principal: Object.freeze({ id: p.id, auth: p.auth }),
    action: entry.action,
    collection: entry.collection,
    records,
    subjects,
    fields,
    ...(entry.purpose !== undefined ? { purpose: entry.purpose } : {}),
    ...(entry.count !== undefined ? { count: entry.count } : {}),
    ...(entry.location !== undefined ? { location: entry.location } : {}),
    outcome: entry.outcome,
    requestId: entry.requestId,
    client: entry.client,
  });
}

function matches(pattern: RegExp, value: unknown): value is string {
  return typeof value === 'string' && pattern.test(value);
}

function list(values: unknown, pattern: RegExp, field: string): readonly string[] {
  if (!Array.isArray(values)) throw new LogEntryError(field);
  for (const v of values) if (!matches(pattern, v)) throw new LogEntryError(field);
  return Object.freeze([...(values as string[])]);
}
