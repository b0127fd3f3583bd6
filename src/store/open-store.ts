import { join } from 'node:path';
import { openPostgresStore } from './postgres/open.js';
import { openSqliteStore } from './sqlite/open.js';
import type { Store } from './store.js';

export interface StoreLocation {
  /** When set, PostgreSQL; otherwise SQLite at `<dataDir>/kuraban.db`. */
  readonly databaseUrl?: string | undefined;
  readonly dataDir: string;
  /** SQLite: the writing connection's page cache in MiB (default 16; `kuraban import` takes 8 to bound its memory). */
  readonly sqliteCacheMiB?: number | undefined;
  /** SQLite: checkpoint on a background thread during bulk loads (default true; `kuraban serve` turns it off). */
  readonly sqliteBackgroundCheckpoints?: boolean | undefined;
}

export function openStore(location: StoreLocation): Store {
  if (location.databaseUrl) return openPostgresStore({ url: location.databaseUrl });
  return openSqliteStore({ path: join(location.dataDir, 'kuraban.db'), ...(location.sqliteCacheMiB !== undefined ? { cacheMiB: location.sqliteCacheMiB } : {}),
    ...(location.sqliteBackgroundCheckpoints !== undefined ? { backgroundCheckpoints: location.sqliteBackgroundCheckpoints } : {}),
  });
}
