import { open as openFile } from 'node:fs/promises';
import { KurabanError } from '../errors/index.js';
import type { RootKeyProvider } from '../keys/index.js';
import { BACKUP_TABLES, type BackupTable, type RawRow, type Store } from '../store/index.js';
import { readArchive, readArchiveHeader, type ArchiveHeader } from './archive.js';

export interface RestoreResult {
  readonly pair: string;
  readonly createdAt: string;
  readonly location: string;
  readonly rows: Record<string, number>;
}

const DATA_TABLES = new Set<string>(BACKUP_TABLES.data.map(([t]) => t));
const KEY_TABLES = new Set<string>(BACKUP_TABLES.keys.map(([t]) => t));
const BATCH = 500;

/**
 * Restores a data archive and its key archive into an EMPTY store, in one transaction: both
 * archives are authenticated frame by frame as they are read, and any failure (another root key,
 * damage, truncation, archives from different runs, a store that is not empty) rolls everything
 * back — nothing is written. The store's root key binding comes from the key archive.
 */
export async function restoreBackup(store: Store, provider: RootKeyProvider, paths: { readonly data: string; readonly keys: string }): Promise<RestoreResult> {
  const data = await openArchive(paths.data);
  let keys: Awaited<ReturnType<typeof openFile>>;
  try {
    keys = await openArchive(paths.keys);
  } catch (e) {
    await data.close();
    throw e;
  }
  try {
    const [dh, kh] = [await header(data, 'data'), await header(keys, 'keys')];
    if (dh.pair !== kh.pair) throw new KurabanError('BACKUP_INVALID', 'the data and key archives are from different backups');
    if (!(await store.isEmpty())) throw new KurabanError('BACKUP_INVALID', 'restore needs an empty vault (no tenants, keys or log)');
    const bound = await store.getMeta('root_key_id');
    if (bound !== undefined && bound !== provider.keyId) throw new KurabanError('BACKUP_INVALID', 'this store is bound to another root key');
    const rows: Record<string, number> = {};
    await store.transaction(async (tx) => {
      const meta: RawRow[] = [];
      for (const [file, allowed] of [
        [keys, KEY_TABLES],
        [data, DATA_TABLES],
      ] as const) {
        let table: string | undefined;
        let batch: RawRow[] = [];
        const flush = async () => {
          if (table !== undefined && batch.length > 0) await store.loadRows(tx, table as BackupTable, batch);
          batch = [];
        };
        for await (const { table: t, row } of readArchive(file, provider)) {
          if (t === 'kuraban_meta' && allowed === KEY_TABLES) {
            meta.push(row);
            continue;
          }
          if (!allowed.has(t)) throw new KurabanError('BACKUP_INVALID', 'archive holds an unexpected table');
          if (t !== table || batch.length >= BATCH) {
            await flush();
            table = t;
          }
          batch.push(row);
          rows[t] = (rows[t] ?? 0) + 1;
        }
        await flush();
      }
      const id = meta.find((m) => m.key === 'root_key_id')?.value;
      const check = meta.find((m) => m.key === 'root_check')?.value;
      if (id !== provider.keyId || typeof check !== 'string') throw new KurabanError('BACKUP_INVALID', 'the key archive does not belong to this root key');
      // A target already opened with the same root key keeps its own check value (both are wraps under that key).
      if ((await tx.setMetaIfAbsent('root_key_id', id)) !== id) throw new KurabanError('BACKUP_INVALID', 'this store is bound to another root key');
      await tx.setMetaIfAbsent('root_check', check);
      // Where the source's store and key provider were (residency); the next open records the target's own.
      for (const key of ['store_location', 'key_location']) {
        const value = meta.find((m) => m.key === key)?.value;
        if (typeof value === 'string') await tx.setMetaIfAbsent(key, value);
      }
    });
    return { pair: dh.pair, createdAt: dh.createdAt, location: dh.location, rows };
  } finally {
    await data.close();
    await keys.close();
  }
}

async function openArchive(path: string) {
  try {
    return await openFile(path, 'r');
  } catch {
    throw new KurabanError('BACKUP_INVALID', `cannot read ${path}`);
  }
}

async function header(file: Awaited<ReturnType<typeof openFile>>, kind: 'data' | 'keys'): Promise<ArchiveHeader> {
  const { header: h } = await readArchiveHeader(file);
  if (h.kind !== kind) throw new KurabanError('BACKUP_INVALID', `expected a ${kind} archive, got a ${h.kind} archive`);
  return h;
}
