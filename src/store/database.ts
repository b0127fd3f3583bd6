import type { Generated } from 'kysely';

/**
 * The tables, as Kysely sees them. Both backends have the same columns; binary columns are BLOB in
 * SQLite and BYTEA in PostgreSQL, timestamps are ISO-8601 UTC text (sortable, identical on both),
 * booleans are integers 0/1. No column ever holds a personal value or a key in clear:
 * `ciphertext` and `wrapped` are AES-256-GCM blobs, `digest` is a truncated HMAC.
 */
export interface Database {
  kuraban_meta: { key: string; value: string };
  tenants: { id: string; name: string; created_at: string };
  collections: {
    id: string;
    tenant_id: string;
    name: string;
    schema_json: string;
    schema_version: number;
    created_at: string;
    updated_at: string;
  };
  wrapped_keys: {
    tenant_id: string;
    kind: string;
    scope_id: string;
    version: number;
    wrapped: Buffer;
    created_at: string;
    /** The parent key version that wraps this row (tenant key version; 0 for tenant keys). */
    wrapped_by: Generated<number>;
  };
  key_jobs: {
    id: string;
    tenant_id: string;
    kind: string;
    scope_id: string;
    target_version: number;
    state: string;
    done: number;
    total: number;
    cursor: string | null;
    started_at: string;
    updated_at: string;
  };
  records: {
    collection_id: string;
    id: string;
    tenant_id: string;
    subject_id: string | null;
    version: number;
    key_version: number;
    ciphertext: Buffer;
    /** This record's blind-index entries (see index-digests.ts), to remove them by key. */
    index_digests: Buffer;
    created_at: string;
    updated_at: string;
  };
  blind_index: {
    digest: Buffer;
    record_id: string;
    uniq: number;
  };
  api_keys: {
    id: string;
    tenant_id: string | null;
    name: string;
    role: string;
    roles: string;
    duties: string;
    secret_hash: Buffer;
    created_at: string;
    expires_at: string | null;
    revoked_at: string | null;
  };
  policies: {
    tenant_id: string;
    version: number | string;
    policy_text: string;
    purposes: string;
    created_at: string;
    created_by: string;
  };
  import_jobs: {
    id: string;
    tenant_id: string;
    collection_id: string;
    lines_done: number;
    rows_imported: number;
    rows_rejected: number;
    status: string;
    updated_at: string;
  };
  /** Access-log entries (RFC 8785 JSON, ids and names only) waiting for the integrator. */
  log_pending: { id: Generated<number | string>; tenant_id: string; entry: Buffer; leaf_check: number | string | null };
  /** Integrated entries; idx is the leaf index (bigint on PostgreSQL, read back as a string). */
  log_entries: { tenant_id: string; idx: number | string; entry: Buffer; leaf_check: number | string | null };
  /** Hash tiles (c2sp.org/tlog-tiles): full tiles, and the latest partial tile of each level. */
  log_tiles: { tenant_id: string; level: number; tile_index: number | string; width: number; hashes: Buffer };
  /** Signed checkpoints (c2sp.org/tlog-checkpoint), one per integration. */
  log_checkpoints: { tenant_id: string; size: number | string; note: Buffer };
  /** Per tenant: the log's origin, its public verifier key, and the integrated size and root. */
  log_state: { tenant_id: string; origin: string; verifier_key: string; size: number | string; root: Buffer; public_log: Generated<number> };
  /** Which integrated entries name a subject (migration 0003): written in the integration transaction. */
  log_subjects: { tenant_id: string; subject_id: string; idx: number | string };
  /** Issued tokens (migration 0006): look-up hash → what the token stands for; never a token or a clear value. */
  tokens: {
    collection_id: string;
    field: string;
    token_hash: Buffer;
    /** The record id for a record's token; '' for a value tokenised on its own. */
    ref: string;
    tenant_id: string;
    kind: string;
    key_version: number;
    subject_id: string | null;
    value_ct: Buffer | null;
    created_at: string;
  };
  /** Residency (migration 0007): declared locations, per-collection rules, backups and exports written. */
  locations: {
    id: string;
    country: string;
    region: string | null;
    provider: string;
    operator: string;
    jurisdiction: string;
    holds: string;
    description: string;
    created_at: string;
    updated_at: string;
  };
  collection_residency: { collection_id: string; tenant_id: string; rules_json: string; updated_at: string };
  data_transfers: {
    id: string;
    tenant_id: string;
    collection_id: string | null;
    kind: string;
    location_id: string;
    records: number | string | null;
    detail: string;
    created_at: string;
  };
  kuraban_migration_probe?: { id: Generated<number> };
}
