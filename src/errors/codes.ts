/**
 * The closed set of stable error codes. A code, once released, is never reused for another meaning
 * and never removed; docs/errors.md documents each one (a test checks it).
 * `status` is the HTTP status the API answers with; CLI commands exit non-zero with the same code.
 */
export const ERROR_CODES = {
  // request shape
  MALFORMED_JSON: { status: 400, title: 'Request body is not valid JSON' },
  INVALID_UTF8: { status: 400, title: 'Request body is not valid UTF-8' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  BODY_TOO_LARGE: { status: 413, title: 'Request body is too large' },
  REQUEST_INVALID: { status: 400, title: 'Request does not match the expected shape' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  // authentication and authorisation
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Not allowed for this principal' },
  POLICY_DENIED: { status: 403, title: "Denied by the tenant's policy" },
  PURPOSE_UNKNOWN: { status: 400, title: "Purpose of use is not in the tenant's list" },
  AUTH_LOCKED: { status: 429, title: 'Locked after repeated failed authentication' },
  POLICY_INVALID: { status: 422, title: 'Policy set does not validate' },
  // tenants, collections, schemas
  TENANT_NOT_FOUND: { status: 404, title: 'Tenant not found' },
  TENANT_EXISTS: { status: 409, title: 'Tenant already exists' },
  COLLECTION_NOT_FOUND: { status: 404, title: 'Collection not found' },
  COLLECTION_EXISTS: { status: 409, title: 'Collection already exists' },
  SCHEMA_INVALID: { status: 422, title: 'Collection schema is invalid' },
  SCHEMA_CHANGE_REJECTED: { status: 422, title: 'Schema change is not an allowed evolution' },
  // records
  RECORD_INVALID: { status: 422, title: 'Record does not match the collection schema' },
  RECORD_NOT_FOUND: { status: 404, title: 'Record not found' },
  UNIQUE_VIOLATION: { status: 409, title: 'A unique field already holds this value' },
  VERSION_CONFLICT: { status: 412, title: 'Record version does not match' },
  PRECONDITION_REQUIRED: { status: 428, title: 'If-Match with the record version is required' },
  BATCH_TOO_LARGE: { status: 413, title: 'Batch has too many records' },
  SEARCH_INVALID: { status: 422, title: 'Search is not valid for this collection' },
  API_KEY_NOT_FOUND: { status: 404, title: 'API key not found' },
  // tokens
  TOKEN_INVALID: { status: 422, title: 'Token request is not valid for this field' },
  TOKEN_NOT_FOUND: { status: 404, title: 'Token not known to this vault' },
  // access log
  LOG_NOT_FOUND: { status: 404, title: 'Not in the access log' },
  // keys and integrity
  VAULT_SEALED: { status: 503, title: 'Vault is sealed' },
  DECRYPTION_FAILED: { status: 500, title: 'Decryption operation failed' },
  KEY_FILE_INVALID: { status: 500, title: 'Key file is missing, damaged or locked' },
  KEY_FILE_EXISTS: { status: 409, title: 'A key file already exists' },
  KEY_PROVIDER_UNAVAILABLE: { status: 503, title: 'Root key provider is unavailable' },
  KEY_EXISTS: { status: 409, title: 'A key with that label already exists' },
  KEY_ROTATION_INVALID: { status: 409, title: 'Key rotation step is not possible now' },
  SUBJECT_NOT_FOUND: { status: 404, title: 'Subject has no data in this tenant' },
  BACKUP_INVALID: { status: 422, title: 'Backup archive is damaged, incomplete or for another key' },
  // residency
  RESIDENCY_VIOLATION: { status: 403, title: "Refused by a collection's residency rule" },
  LOCATION_NOT_FOUND: { status: 404, title: 'Location is not registered' },
  LOCATION_EXISTS: { status: 409, title: 'A location with that id already exists' },
  LOCATION_IN_USE: { status: 409, title: 'Location is in use' },
  // import
  IMPORT_INVALID: { status: 400, title: 'Import source or options are invalid' },
  // infrastructure
  STORE_UNAVAILABLE: { status: 503, title: 'Storage is unavailable' },
  CONFIG_INVALID: { status: 500, title: 'Configuration is invalid' },
  INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}
