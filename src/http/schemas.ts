/**
 * JSON Schemas of the API (JSON Schema 2020-12 subset that Ajv draft-07 and OpenAPI 3.1 both read).
 * Request schemas reject unknown properties; response schemas are the presenters: only the
 * properties listed here leave the server.
 */
import { FIELD_TYPES, CLASSIFICATIONS, FOLDS, MASKS, NAME_PATTERN, TOKEN_FORMATS, TOKEN_KINDS } from '../schema/index.js';
import { COLLECTION_NAME_PATTERN, TENANT_ID_PATTERN } from '../vault/index.js';

/**
 * Free text (names, descriptions, enum values): no U+0000, which PostgreSQL text cannot hold, and no
 * unpaired surrogate, which cannot survive UTF-8 storage (Ajv compiles patterns with the u flag, so
 * a paired surrogate is one code point outside this class).
 */
export const TEXT_PATTERN = '^[^\\u0000\\uD800-\\uDFFF]*$';

export const tenantIdParam = { type: 'string', pattern: TENANT_ID_PATTERN.source, description: 'Tenant id, e.g. a local-government code' } as const;
export const collectionParam = { type: 'string', pattern: COLLECTION_NAME_PATTERN.source } as const;
export const recordIdParam = { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', description: 'UUIDv7' } as const;

export const errorDetail = {
  type: 'object',
  properties: {
    field: { type: 'string' },
    index: { type: 'integer' },
    line: { type: 'integer' },
    reason: { type: 'string' },
  },
  required: ['reason'],
} as const;

export const problem = {
  type: 'object',
  description: 'RFC 9457 problem details',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    instance: { type: 'string' },
    errors: { type: 'array', items: errorDetail },
  },
  required: ['type', 'title', 'status', 'code'],
} as const;

export const tenant = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' } },
  required: ['id', 'name', 'createdAt'],
} as const;

export const fieldDefinition = {
  type: 'object',
  description: 'A declared field. Objects nest through "fields" (up to 3 levels); searchable/unique only on top-level scalar fields.',
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN.source },
    type: { type: 'string', enum: [...FIELD_TYPES] },
    required: { type: 'boolean', default: false },
    classification: { type: 'string', enum: [...CLASSIFICATIONS], description: "Default per type: personal for most, my-number for 'my-number' (which cannot be declared lower)" },
    searchable: { type: 'boolean', default: false },
    unique: { type: 'boolean', default: false },
    description: { type: 'string', maxLength: 500, pattern: TEXT_PATTERN },
    label: { type: 'string', maxLength: 100, pattern: TEXT_PATTERN, description: 'Display label, e.g. the Japanese column name a CSV header may use (氏名)' },
    mask: { type: 'string', enum: [...MASKS], description: 'What a masked view shows: last4, year, initial or redact (default per type)' },
    fold: { type: 'array', items: { type: 'string', enum: [...FOLDS] }, description: 'string and kana: search folds (kana, dash, kanji, space); see docs/japanese-data.md' },
    maxLength: { type: 'integer', minimum: 1 },
    minimum: { type: 'integer' },
    maximum: { type: 'integer' },
    precision: { type: 'integer', minimum: 1, maximum: 38 },
    scale: { type: 'integer', minimum: 0, maximum: 38 },
    values: { type: 'array', items: { type: 'string', pattern: TEXT_PATTERN } },
    token: { type: 'string', enum: [...TOKEN_KINDS], description: 'Top-level scalar fields: writes answer with a token for the value — random (vaulted), deterministic (joins) or format-preserving (NIST FF1); see docs/tokens.md' },
    tokenFormat: { type: 'string', enum: [...TOKEN_FORMATS], description: "string fields with token format-preserving: the values' alphabet" },
    // additionalProperties: true, or the response serialiser writes every nested definition as {}.
    fields: { type: 'array', items: { type: 'object', additionalProperties: true, description: 'A nested field definition, same shape' } },
  },
  required: ['name', 'type'],
} as const;

export const collection = {
  type: 'object',
  properties: {
    tenantId: { type: 'string' },
    name: { type: 'string' },
    schemaVersion: { type: 'integer' },
    fields: { type: 'array', items: fieldDefinition },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
  required: ['tenantId', 'name', 'schemaVersion', 'fields'],
} as const;

export const recordInput = {
  type: 'object',
  properties: {
    subjectId: {
      type: ['string', 'null'],
      description: "Pseudonymous id of the person the record is about (never a My Number). The record is encrypted under that person's key.",
    },
    fields: { type: 'object', description: 'Field values, as declared by the collection schema' },
  },
  required: ['fields'],
  additionalProperties: false,
} as const;

export const record = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    subjectId: { type: ['string', 'null'] },
    version: { type: 'integer' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    fields: { type: 'object', additionalProperties: true, description: 'Clear values, and masked ones (null when the mask is redact); withheld fields are left out' },
    masked: { type: 'array', items: { type: 'string' }, description: 'Fields shown masked' },
    withheld: { type: 'array', items: { type: 'string' }, description: 'Fields the record has that this principal may not see for this purpose' },
    tokens: { type: 'object', additionalProperties: { type: 'string' }, description: 'On writes: the token of each tokenised field that has a value (docs/tokens.md)' },
  },
  required: ['id', 'subjectId', 'version', 'fields'],
} as const;

export const apiKey = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', enum: ['admin', 'tenant'] },
    tenantId: { type: ['string', 'null'] },
    roles: { type: 'array', items: { type: 'string' } },
    duties: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string' },
    expiresAt: { type: ['string', 'null'] },
    revokedAt: { type: ['string', 'null'] },
  },
  required: ['id', 'name', 'role', 'tenantId'],
} as const;

