import type { Migration, MigrationProvider } from 'kysely';
import type { Dialect } from '../store.js';
import { initialSchema } from './0001-initial.js';
import { accessLogSchema } from './0002-access-log.js';
import { logSubjectsSchema } from './0003-log-subjects.js';
import { policiesSchema } from './0004-policies.js';
import { keyRotationSchema } from './0005-key-rotation.js';
import { tokensSchema } from './0006-tokens.js';
import { residencySchema } from './0007-residency.js';
import { logLeafCheckSchema } from './0008-log-leaf-check.js';
import { tokensRowidSchema } from './0009-tokens-rowid.js';

/**
 * Versioned migrations, applied in name order by Kysely's Migrator under a lock (PostgreSQL: Kysely's
 * advisory lock; SQLite: the backend's BEGIN IMMEDIATE around the whole run). A released migration is
 * never edited: a change is a new file with the next number.
 */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001-initial': initialSchema(dialect),
    '0002-access-log': accessLogSchema(dialect),
    '0003-log-subjects': logSubjectsSchema(dialect),
    '0004-policies': policiesSchema(dialect),
    '0005-key-rotation': keyRotationSchema(dialect),
    '0006-tokens': tokensSchema(dialect),
    '0007-residency': residencySchema(dialect),
    '0008-log-leaf-check': logLeafCheckSchema(dialect),
    '0009-tokens-rowid': tokensRowidSchema(dialect),
  };
  return { getMigrations: async () => migrations };
}
