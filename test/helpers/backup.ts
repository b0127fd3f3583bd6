/** Shared pieces of the backup tests (test/backup/backup-restore.test.ts, test/cli/backup-crash.test.ts). */
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { restoreBackup, type RestoreResult } from '../../src/backup/index.js';
import { ARCHIVE_MAGIC, readArchive } from '../../src/backup/archive.js';
import { createKeyFile, openKeyFileProvider, type RootKeyProvider } from '../../src/keys/index.js';
import { BACKUP_TABLES, openStore, type RawRow, type Store } from '../../src/store/index.js';
import { openWithStore, type Vault, type VaultLocation } from '../../src/vault/index.js';
import { openRawDb } from './raw-db.js';
import { tempLocation, type Backend } from './temp-vault.js';

/** The root key bytes of a clear (development) key file. */
export function rootKeyOf(keyFile: string): Buffer {
  const json = JSON.parse(readFileSync(keyFile, 'utf8')) as { key?: unknown };
  if (typeof json.key !== 'string') throw new Error('not a clear key file');
  return Buffer.from(json.key, 'base64');
}

/**
 * A new, EMPTY location to restore into: a migrated store that has never been opened as a vault
 * (no root key binding, no admin key), with a copy of `keyFile` (or a new key file: another root key).
 */
export interface RestoreTarget {
  readonly backend: Backend;
  readonly location: VaultLocation;
  readonly store: Store;
  /** restoreBackup with this location's key file (or the given provider). */
  restore(paths: { readonly data: string; readonly keys: string }, provider?: RootKeyProvider): Promise<RestoreResult>;
  /** Opens the vault over the store (closed by cleanup). */
  open(): Promise<Vault>;
  /** Every backup table (and kuraban_meta), rows normalised and sorted: for "nothing changed". */
  dump(): Promise<Record<string, string[]>>;
  cleanup(): Promise<void>;
}

export async function restoreTarget(backend: Backend, keyFile: string | 'new-key'): Promise<RestoreTarget> {
  const loc = await tempLocation(backend);
  if (keyFile === 'new-key') {
    await createKeyFile(loc.location.keyFile);
  } else {
    copyFileSync(keyFile, loc.location.keyFile);
    chmodSync(loc.location.keyFile, 0o600);
  }
  const store = openStore(loc.location);
  await store.migrate();
  const vaults: Vault[] = [];
  return {
    backend,
    location: loc.location,
    store,
    async restore(paths, provider) {
      const p = provider ?? (await openKeyFileProvider(loc.location.keyFile));
      try {
        return await restoreBackup(store, p, paths);
      } finally {
        if (!provider) p.close();
      }
    },
    async open() {
      const state = await openWithStore(store, loc.location, { sealWorkers: 0 });
      if (state.sealed) throw new Error(`restored vault is sealed: ${state.reason}`);
      vaults.push(state.vault);
      return state.vault;
    },
    dump: () => dumpTables(loc.location),
    async cleanup() {
      for (const v of vaults) await v.close();
      await store.close();
      await loc.cleanup();
    },
  };
}

/** The tables a backup carries plus kuraban_meta, every row as sorted JSON (bytes as hex; log_pending without its id). */
export async function dumpTables(location: VaultLocation): Promise<Record<string, string[]>> {
  const raw = await openRawDb(location);
  try {
    const out: Record<string, string[]> = {};
    const tables = ['kuraban_meta', ...BACKUP_TABLES.keys.map(([t]) => t), ...BACKUP_TABLES.data.map(([t]) => t)];
    for (const t of tables) {
      const rows = await raw.all(`select * from ${t}`);
      out[t] = rows
        .map((r) => {
          const entries = Object.entries(r).filter(([k]) => !(t === 'log_pending' && k === 'id'));
          entries.sort(([a], [b]) => (a < b ? -1 : 1));
          return JSON.stringify(entries.map(([k, v]) => [k, Buffer.isBuffer(v) ? `hex:${v.toString('hex')}` : v]));
        })
        .sort();
    }
    return out;
  } finally {
    await raw.close();
  }
}

/** Where an archive's parts are: the header JSON and each length-prefixed frame (start of prefix, end of frame). */
export interface ArchiveLayout {
  readonly headerStart: number;
  readonly headerEnd: number;
  readonly frames: ReadonlyArray<{ readonly start: number; readonly end: number }>;
}

export function archiveLayout(bytes: Buffer): ArchiveLayout {
  if (!bytes.subarray(0, ARCHIVE_MAGIC.length).equals(ARCHIVE_MAGIC)) throw new Error('not an archive');
  const headerStart = ARCHIVE_MAGIC.length + 4;
  const headerEnd = headerStart + bytes.readUInt32BE(ARCHIVE_MAGIC.length);
  const frames: Array<{ start: number; end: number }> = [];
  let at = headerEnd;
  while (at < bytes.length) {
    const end = at + 4 + bytes.readUInt32BE(at);
    frames.push({ start: at, end });
    at = end;
  }
  if (at !== bytes.length) throw new Error('archive does not end on a frame boundary');
  return { headerStart, headerEnd, frames };
}

/** The same archive with its header JSON replaced by `edit(header)` (length prefix fixed up). */
export function withHeader(bytes: Buffer, edit: (h: Record<string, unknown>) => Record<string, unknown>): Buffer {
  const { headerStart, headerEnd } = archiveLayout(bytes);
  const header = JSON.parse(bytes.subarray(headerStart, headerEnd).toString('utf8')) as Record<string, unknown>;
  const next = Buffer.from(JSON.stringify(edit(header)), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(next.length, 0);
  return Buffer.concat([ARCHIVE_MAGIC, len, next, bytes.subarray(headerEnd)]);
}

/** Every (table, row) of an archive, decrypted and authenticated with `provider`. */
export async function archiveRows(path: string, provider: RootKeyProvider): Promise<Array<{ table: string; row: RawRow }>> {
  const file = await openFile(path, 'r');
  try {
    const out: Array<{ table: string; row: RawRow }> = [];
    for await (const r of readArchive(file, provider)) out.push(r);
    return out;
  } finally {
    await file.close();
  }
}
