import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open as openFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KurabanError } from '../errors/index.js';
import type { RootKeyProvider } from '../keys/index.js';
import { BACKUP_TABLES, type BackupTable, type RawRow, type SnapshotReader, type Store } from '../store/index.js';
import { ArchiveWriter, type ArchiveKind } from './archive.js';

export interface BackupOptions {
  /** Directory for the data archive. */
  readonly dataDir: string;
  /** Directory for the key archive: keep it apart from data backups, with its own (shorter) retention. */
  readonly keysDir: string;
  /** Where these directories are (e.g. jp-east-1); recorded in both archives. */
  readonly location: string;
  readonly now: Date;
}

export interface BackupResult {
  readonly pair: string;
  readonly createdAt: string;
  readonly location: string;
  readonly rootKeyId: string;
  readonly data: { readonly path: string; readonly rows: Record<string, number> };
  readonly keys: { readonly path: string; readonly rows: Record<string, number> };
}

const PAGE = 2000;

/**
 * Writes the data archive and the key archive of one consistent snapshot. Both are written to
 * `.partial` files and synced, and renamed only when both are whole: a backup killed midway leaves
 * no archive that looks whole (and a truncated one fails its final-frame check anyway).
 */
export async function createBackup(store: Store, provider: RootKeyProvider, options: BackupOptions): Promise<BackupResult> {
  const pair = randomUUID();
  const createdAt = options.now.toISOString();
  const stamp = createdAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  await mkdir(options.keysDir, { recursive: true, mode: 0o700 });
  const paths = {
    data: join(options.dataDir, `kuraban-${stamp}-${pair.slice(0, 8)}.data.kbk`),
    keys: join(options.keysDir, `kuraban-${stamp}-${pair.slice(0, 8)}.keys.kbk`),
  };
  return store.snapshot(async (reader) => {
    const rootKeyId = await reader.getMeta('root_key_id');
    if (rootKeyId !== provider.keyId) throw new KurabanError('BACKUP_INVALID', 'the open root key is not this vault’s');
    const meta = { pair, createdAt, location: options.location };
    try {
      const keyRows = await writeArchive(paths.keys, provider, { ...meta, kind: 'keys' }, reader, BACKUP_TABLES.keys.map(([t]) => t), true);
      const dataRows = await writeArchive(paths.data, provider, { ...meta, kind: 'data' }, reader, BACKUP_TABLES.data.map(([t]) => t), false);
      // Both are whole: only now do they take their names (a kill before this leaves only .partial files).
      await rename(`${paths.data}.partial`, paths.data);
      await rename(`${paths.keys}.partial`, paths.keys);
      return { pair, createdAt, location: options.location, rootKeyId: provider.keyId, data: { path: paths.data, rows: dataRows }, keys: { path: paths.keys, rows: keyRows } };
    } catch (e) {
      await rm(`${paths.keys}.partial`, { force: true });
      await rm(`${paths.data}.partial`, { force: true });
      throw e;
    }
  });
}

async function writeArchive(
  path: string,
  provider: RootKeyProvider,
  meta: { kind: ArchiveKind; pair: string; createdAt: string; location: string },
  reader: SnapshotReader,
  tables: readonly BackupTable[],
  withRootMeta: boolean,
): Promise<Record<string, number>> {
  const partial = `${path}.partial`;
  const file = await openFile(partial, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  let ok = false;
  try {
    const writer = await ArchiveWriter.create(file, provider, meta);
    if (withRootMeta) {
      // The key archive carries what binds the store to its root key (both are wrapped/derived values, never the key).
      const rows = [];
      // …and where the store and key provider were configured (residency; a restore re-records its own at open).
      for (const key of ['root_key_id', 'root_check', 'store_location', 'key_location']) {
        const value = await reader.getMeta(key);
        if (value !== undefined) rows.push({ key, value });
      }
      await writer.add('kuraban_meta', rows);
    }
    for (const table of tables) {
      let after: RawRow | undefined;
      for (;;) {
        const rows = await reader.readPage(table, after, PAGE);
        await writer.add(table, rows);
        if (rows.length < PAGE) break;
        after = rows[rows.length - 1];
      }
    }
    const counts = await writer.finish();
    await file.close();
    ok = true;
    return counts;
  } finally {
    if (!ok) {
      await file.close().catch(() => undefined);
      await rm(partial, { force: true });
    }
  }
}
