import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { AES_256_KEY_BYTES, encodeAad, open, seal } from '../crypto/index.js';
import { KurabanError } from '../errors/index.js';
import type { RootKeyProvider } from '../keys/index.js';
import type { RawRow } from '../store/index.js';

/**
 * The backup archive format (docs/keys.md "Backups"):
 *
 *   "KURABAN-BACKUP/1\n"
 *   u32 BE length ‖ header (UTF-8 JSON, clear: what it is, where it was written, which root key)
 *   frames: u32 BE length ‖ AES-256-GCM(archive key, rows as JSON lines, AAD = id, sequence, final flag, SHA-256(header))
 *
 * The archive key is random per archive and wrapped by the root key provider (so a restore needs the
 * same root key, and an HSM never lets it out). The last frame is marked final and says how many
 * rows each table holds: a truncated, reordered, spliced or altered archive fails before anything
 * is written. Archives never hold a clear key: data archives hold ciphertext and digests; key
 * archives hold wrapped keys.
 */
export const ARCHIVE_MAGIC = Buffer.from('KURABAN-BACKUP/1\n', 'latin1');
export const ARCHIVE_FORMAT = 'kuraban-backup/1';
const KEY_AAD = 'kuraban/backup-key/v1';
const FRAME_AAD = 'kuraban/backup-frame/v1';
const FRAME_TARGET_BYTES = 1 << 20;
const MAX_FRAME_BYTES = 64 << 20;
const MAX_HEADER_BYTES = 64 << 10;

export type ArchiveKind = 'data' | 'keys';

export interface ArchiveHeader {
  readonly format: typeof ARCHIVE_FORMAT;
  readonly kind: ArchiveKind;
  /** This archive. */
  readonly id: string;
  /** Shared by the data and key archives of one backup run. */
  readonly pair: string;
  readonly createdAt: string;
  /** Where the backup was written (KURABAN_BACKUP_LOCATION); the residency check reads it. */
  readonly location: string;
  readonly rootKeyId: string;
  readonly wrappedKey: string;
}

/** Writes one archive to an open file; `finish` writes the final frame. */
export class ArchiveWriter {
  private pending: string[] = [];
  private pendingBytes = 0;
  private seq = 0;
  private readonly counts = new Map<string, number>();
  private readonly headerHash: string;

  private constructor(
    private readonly file: FileHandle,
    readonly header: ArchiveHeader,
    private readonly key: Buffer,
    headerBytes: Buffer,
  ) {
    this.headerHash = createHash('sha256').update(headerBytes).digest('hex');
  }

  static async create(file: FileHandle, provider: RootKeyProvider, meta: { kind: ArchiveKind; pair: string; createdAt: string; location: string }): Promise<ArchiveWriter> {
    const key = randomBytes(AES_256_KEY_BYTES);
    const id = randomUUID();
    const wrapped = await provider.wrap(key, encodeAad(KEY_AAD, [id, meta.kind, meta.pair]));
    const header: ArchiveHeader = { format: ARCHIVE_FORMAT, ...meta, id, rootKeyId: provider.keyId, wrappedKey: wrapped.toString('base64') };
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    await file.write(ARCHIVE_MAGIC);
    await file.write(u32(headerBytes.length));
    await file.write(headerBytes);
    return new ArchiveWriter(file, header, key, headerBytes);
  }

  async add(table: string, rows: readonly RawRow[]): Promise<void> {
    for (const row of rows) {
      const line = JSON.stringify([table, row], (_k, v: unknown) => (isBytes(v) ? { $b: Buffer.from(v.data).toString('base64') } : v));
      this.pending.push(line);
      this.pendingBytes += line.length + 1;
    }
    this.counts.set(table, (this.counts.get(table) ?? 0) + rows.length);
    if (this.pendingBytes >= FRAME_TARGET_BYTES) await this.flush(false);
  }

  /** The final frame (row counts), then fsync. Returns the counts. */
  async finish(): Promise<Record<string, number>> {
    await this.flush(false);
    const rows = Object.fromEntries(this.counts);
    this.pending.push(JSON.stringify({ end: true, rows }));
    await this.flush(true);
    await this.file.sync();
    this.key.fill(0);
    return rows;
  }

  private async flush(final: boolean): Promise<void> {
    if (this.pending.length === 0) return;
    const plain = Buffer.from(this.pending.join('\n'), 'utf8');
    this.pending = [];
    this.pendingBytes = 0;
    const sealed = seal(this.key, plain, encodeAad(FRAME_AAD, [this.header.id, this.seq++, final ? 1 : 0, this.headerHash]));
    await this.file.write(u32(sealed.length));
    await this.file.write(sealed);
  }
}

/** Node's JSON.stringify turns a Buffer into {type:'Buffer',data:[…]} before the replacer sees it. */
function isBytes(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function invalid(message: string): KurabanError {
  return new KurabanError('BACKUP_INVALID', message);
}

/** Reads an archive's header only (no key needed): what `kuraban backup` listings and the residency check see. */
export async function readArchiveHeader(file: FileHandle): Promise<{ header: ArchiveHeader; headerBytes: Buffer; offset: number }> {
  const magic = await readExactly(file, 0, ARCHIVE_MAGIC.length);
  if (!magic?.equals(ARCHIVE_MAGIC)) throw invalid('not a Kuraban backup archive');
  const len = await readExactly(file, ARCHIVE_MAGIC.length, 4);
  if (!len) throw invalid('archive is truncated');
  const n = len.readUInt32BE(0);
  if (n > MAX_HEADER_BYTES) throw invalid('archive header is damaged');
  const headerBytes = await readExactly(file, ARCHIVE_MAGIC.length + 4, n);
  if (!headerBytes) throw invalid('archive is truncated');
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(headerBytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw invalid('archive header is damaged');
  }
  const str = (k: string) => typeof h[k] === 'string' && (h[k] as string).length > 0;
  if (h.format !== ARCHIVE_FORMAT || (h.kind !== 'data' && h.kind !== 'keys') || !['id', 'pair', 'createdAt', 'location', 'rootKeyId', 'wrappedKey'].every(str)) {
    throw invalid('archive header is damaged or of an unknown format');
  }
  return { header: h as unknown as ArchiveHeader, headerBytes, offset: ARCHIVE_MAGIC.length + 4 + n };
}

/**
 * Reads and authenticates an archive frame by frame, yielding (table, rows). Throws BACKUP_INVALID
 * on any damage, on a missing final frame, or on a root key that does not open it — callers restore
 * inside one transaction so that nothing is written unless the whole archive is good.
 */
export async function* readArchive(file: FileHandle, provider: RootKeyProvider): AsyncGenerator<{ table: string; row: RawRow }, Record<string, number>> {
  const { header, headerBytes, offset: start } = await readArchiveHeader(file);
  if (header.rootKeyId !== provider.keyId) throw invalid(`archive was made under root key ${header.rootKeyId}, not ${provider.keyId}`);
  let key: Buffer;
  try {
    key = await provider.unwrap(Buffer.from(header.wrappedKey, 'base64'), encodeAad(KEY_AAD, [header.id, header.kind, header.pair]));
  } catch (e) {
    if (e instanceof KurabanError && e.code === 'KEY_PROVIDER_UNAVAILABLE') throw e;
    throw invalid('the root key does not open this archive');
  }
  const headerHash = createHash('sha256').update(headerBytes).digest('hex');
  const counts = new Map<string, number>();
  let offset = start;
  try {
    for (let seq = 0; ; seq++) {
      const len = await readExactly(file, offset, 4);
      if (!len) throw invalid('archive is truncated (no final frame)');
      const n = len.readUInt32BE(0);
      if (n > MAX_FRAME_BYTES) throw invalid('archive frame is damaged');
      const sealed = await readExactly(file, offset + 4, n);
      if (!sealed) throw invalid('archive is truncated');
      offset += 4 + n;
      let plain: Buffer | undefined;
      let final = false;
      for (const f of [0, 1]) {
        try {
          plain = open(key, sealed, encodeAad(FRAME_AAD, [header.id, seq, f, headerHash]));
          final = f === 1;
          break;
        } catch {
          // try the other flag; neither authenticating means damage
        }
      }
      if (!plain) throw invalid('archive frame does not authenticate (damaged or altered)');
      const lines = plain.toString('utf8').split('\n');
      for (const [i, line] of lines.entries()) {
        if (final && i === lines.length - 1) {
          const end = JSON.parse(line) as { end?: boolean; rows?: Record<string, number> };
          if (end.end !== true || typeof end.rows !== 'object' || end.rows === null) throw invalid('archive end frame is damaged');
          for (const [t, c] of Object.entries(end.rows)) if ((counts.get(t) ?? 0) !== c) throw invalid(`archive row count of ${t} does not match`);
          if (await readExactly(file, offset, 1)) throw invalid('archive has bytes after its final frame');
          return end.rows;
        }
        const parsed = JSON.parse(line, (_k, v: unknown) => (typeof v === 'object' && v !== null && typeof (v as { $b?: unknown }).$b === 'string' ? Buffer.from((v as { $b: string }).$b, 'base64') : v)) as [string, RawRow];
        counts.set(parsed[0], (counts.get(parsed[0]) ?? 0) + 1);
        yield { table: parsed[0], row: parsed[1] };
      }
      if (final) throw invalid('archive end frame is missing');
    }
  } finally {
    key.fill(0);
  }
}

async function readExactly(file: FileHandle, position: number, length: number): Promise<Buffer | undefined> {
  if (length === 0) return Buffer.alloc(0);
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await file.read(buf, got, length - got, position + got);
    if (bytesRead === 0) return undefined;
    got += bytesRead;
  }
  return buf;
}
