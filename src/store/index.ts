export { openStore } from './open-store.js';
export type { StoreLocation } from './open-store.js';
export { openSqliteStore } from './sqlite/open.js';
export type { SqliteOptions } from './sqlite/open.js';
export { openPostgresStore } from './postgres/open.js';
export type { PostgresOptions } from './postgres/open.js';
export type { Store, StoreOps, StoreTx, Dialect, RawRow, BackupTable, SnapshotReader } from './store.js';
export { BACKUP_TABLES } from './store.js';
export { encodeIndexDigests } from './index-digests.js';
export type {
  TenantRow,
  CollectionRow,
  WrappedKeyRow,
  WrappedKeyKind,
  RecordRow,
  IndexRow,
  IndexTerm,
  ApiKeyRow,
  PolicyRow,
  ImportJobRow,
  KeyJobRow,
  ReencryptRow,
  LogStateRow,
  LogPendingEntry,
  LogPendingRow,
  LogTileRow,
  TokenRow,
  FoundTokenRow,
  TokenRegistryScope,
  LocationRow,
  ResidencyRow,
  TransferRow,
} from './rows.js';
