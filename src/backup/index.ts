export { createBackup } from './backup.js';
export type { BackupOptions, BackupResult } from './backup.js';
export { restoreBackup } from './restore.js';
export type { RestoreResult } from './restore.js';
export { readArchiveHeader, ARCHIVE_FORMAT } from './archive.js';
export type { ArchiveHeader, ArchiveKind } from './archive.js';
