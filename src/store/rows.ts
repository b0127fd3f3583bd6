/** Row shapes crossing the storage interface. Plain data, no behaviour. */

export interface TenantRow {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

export interface CollectionRow {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly schemaJson: string;
  readonly schemaVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** kind: 'tenant' (wrapped by the root key) | 'collection' | 'index' | 'subject' | 'log' (wrapped by the tenant key). */
export type WrappedKeyKind = 'tenant' | 'collection' | 'index' | 'subject' | 'log' | 'token';

export interface WrappedKeyRow {
  readonly tenantId: string;
  readonly kind: WrappedKeyKind;
  readonly scopeId: string;
  readonly version: number;
  readonly wrapped: Buffer;
  readonly createdAt: string;
  /** The version of the parent key that wraps it: the tenant key's for data keys; 0 for tenant keys (root-wrapped). */
  readonly wrappedBy: number;
}

/** An issued token (src/tokens/NOTES.md): its look-up hash and what it stands for. */
export interface TokenRow {
  readonly collectionId: string;
  readonly field: string;
  readonly tokenHash: Buffer;
  /** The record whose field it stands for, or null for a value tokenised on its own. */
  readonly recordId: string | null;
  readonly tenantId: string;
  readonly kind: 'random' | 'deterministic' | 'format-preserving';
  readonly keyVersion: number;
  readonly subjectId: string | null;
  /** Random tokens made outside a record: the value, sealed under the field's token value key. */
  readonly valueCt: Buffer | null;
  readonly createdAt: string;
}

/** Which registry rows a look-up may find: one field of one collection, of one tenant and token kind. */
export interface TokenRegistryScope {
  readonly tenantId: string;
  readonly collectionId: string;
  readonly field: string;
  readonly kind: TokenRow['kind'];
}

/** A registry row found for a look-up hash: `at` is the position of that hash in the request. */
export interface FoundTokenRow {
  readonly at: number;
  readonly recordId: string | null;
  readonly keyVersion: number;
  readonly subjectId: string | null;
  readonly valueCt: Buffer | null;
}

/** One record moved to another key version (re-encryption): compare-and-set on version and key version. */
export interface ReencryptRow {
  readonly id: string;
  readonly version: number;
  readonly fromKeyVersion: number;
  readonly toKeyVersion: number;
  readonly ciphertext: Buffer;
}

/** A resumable key job: re-wrapping a tenant's keys under a new tenant key, or re-encrypting records. */
export interface KeyJobRow {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: 'rewrap' | 'reencrypt';
  /** rewrap: the tenant id; reencrypt: the collection id, or '*subjects' for subject keys. */
  readonly scopeId: string;
  readonly targetVersion: number;
  readonly state: 'running' | 'done';
  readonly done: number;
  readonly total: number;
  /** Where a job that walks ids resumes (the subject rotation: the last subject done). */
  readonly cursor: string | null;
  readonly startedAt: string;
  readonly updatedAt: string;
}

export interface RecordRow {
  readonly collectionId: string;
  readonly id: string;
  readonly tenantId: string;
  readonly subjectId: string | null;
  readonly version: number;
  readonly keyVersion: number;
  readonly ciphertext: Buffer;
  /**
   * This record's index entries, encoded (encodeIndexDigests), when the writer has them ready;
   * otherwise the store encodes them from the index rows it is given.
   */
  readonly indexDigests?: Buffer;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface IndexRow {
  readonly collectionId: string;
  readonly field: string;
  readonly digest: Buffer;
  readonly recordId: string;
  readonly unique: boolean;
}

export interface IndexTerm {
  readonly field: string;
  readonly digest: Buffer;
}

export interface ApiKeyRow {
  readonly id: string;
  readonly tenantId: string | null;
  readonly name: string;
  readonly role: string;
  /** Service accounts: the roles and duties policies see (names). */
  readonly roles: readonly string[];
  readonly duties: readonly string[];
  readonly secretHash: Buffer;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
}

/** One version of a tenant's policy set: Cedar text and the purposes of use it allows. */
export interface PolicyRow {
  readonly tenantId: string;
  readonly version: number;
  readonly text: string;
  readonly purposes: readonly string[];
  readonly createdAt: string;
  /** The principal id that pushed it (never a personal value). */
  readonly createdBy: string;
}

export interface ImportJobRow {
  readonly id: string;
  readonly tenantId: string;
  readonly collectionId: string;
  readonly linesDone: number;
  readonly rowsImported: number;
  readonly rowsRejected: number;
  readonly status: 'running' | 'done';
  readonly updatedAt: string;
}

/** A tenant's access log: its origin, public verifier key (`name+hexid+base64`), integrated size and root. */
export interface LogStateRow {
  readonly tenantId: string;
  readonly origin: string;
  readonly verifierKey: string;
  readonly size: number;
  readonly root: Buffer;
}

/**
 * A log entry to append: its bytes, the first 48 bits of their RFC 6962 leaf hash (computed when they
 * were encoded) and the distinct subject ids it names (for log_subjects).
 */
export interface LogPendingEntry {
  readonly entry: Buffer;
  readonly leafCheck: number;
  readonly subjects: readonly string[];
}

/**
 * A log entry waiting for integration: either already placed at its index (`index`, beyond the log's
 * size; SQLite) or queued in log_pending (`id`, which orders a tenant's queued entries). `leafCheck` is
 * null for entries written before migration 0008.
 */
export type LogPendingRow =
  | { readonly index: number; readonly id: null; readonly entry: Buffer; readonly leafCheck: number | null }
  | { readonly index: null; readonly id: number; readonly entry: Buffer; readonly leafCheck: number | null };

/** A stored hash tile (`hashes` = `width` × 32 bytes). */
export interface LogTileRow {
  readonly level: number;
  readonly index: number;
  readonly width: number;
  readonly hashes: Buffer;
}

/** A declared location (residency); `holds` is a JSON array of 'ciphertext' | 'keys' | 'plaintext'. */
export interface LocationRow {
  readonly id: string;
  readonly country: string;
  readonly region: string | null;
  readonly provider: string;
  readonly operator: string;
  readonly jurisdiction: string;
  readonly holds: string;
  readonly description: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ResidencyRow {
  readonly collectionId: string;
  readonly tenantId: string;
  readonly rulesJson: string;
  readonly updatedAt: string;
}

/** A backup or plaintext export written, and where: what the data map shows. */
export interface TransferRow {
  readonly id: string;
  readonly tenantId: string;
  /** The collection exported; null for a backup (it holds the whole tenant). */
  readonly collectionId: string | null;
  readonly kind: 'backup' | 'export';
  readonly locationId: string;
  /** Records written (exports); null when not counted. */
  readonly records: number | null;
  /** Backup pair id, or the export format. */
  readonly detail: string;
  readonly createdAt: string;
}
