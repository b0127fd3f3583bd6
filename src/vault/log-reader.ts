import { KurabanError } from '../errors/index.js';
import {
  EMPTY_ROOT,
  HASH_BYTES,
  NoteError,
  TILE_HEIGHT,
  TILE_WIDTH,
  TileError,
  consistencyProofPlan,
  decodeLogEntry,
  encodeEntryBundle,
  inclusionProofPlan,
  nodeHash,
  parseCheckpoint,
  parseNote,
  parseTilePath,
  proofFromPlan,
  tileLevelHashCount,
  type LogEntry,
  type NodeId,
  type NodeSource,
  type ProofPlan,
} from '../ledger/index.js';
import type { Store } from '../store/index.js';

export interface LogReaderDeps {
  readonly store: Store;
}

/** The newest signed checkpoint of a tenant's log, with what it says. */
export interface LogHead {
  readonly origin: string;
  readonly verifierKey: string;
  /** Tree size of the checkpoint (0 before the first integration, when there is no checkpoint). */
  readonly size: number;
  readonly rootHash: Buffer;
  /** The signed note exactly as stored, or undefined before the first integration. */
  readonly checkpoint: Buffer | undefined;
}

/** A file of the tlog-tiles layout: a hash tile or an entry bundle, full or partial. */
export interface LogFile {
  readonly kind: 'hash' | 'entries';
  /** Full tiles and bundles never change; partial ones are replaced by wider ones. */
  readonly full: boolean;
  readonly bytes: Buffer;
}

export interface SubjectEntry {
  readonly index: number;
  readonly entry: LogEntry;
  /** RFC 6962 inclusion proof of the entry in the tree of the head's size. */
  readonly proof: readonly Buffer[];
}

export interface SubjectEntries {
  readonly head: LogHead;
  readonly entries: readonly SubjectEntry[];
  /** The `after` of the next page, when there may be more. */
  readonly next: number | undefined;
}

export const MAX_SUBJECT_ENTRIES = 1000;

/**
 * The access log's read side: what `/log/<tenant>/…` serves, proofs, and "who read my data". Reads
 * only the store (never keys): every answer is bounded by the newest stored checkpoint, so nothing
 * is served about entries no checkpoint covers. It vouches for nothing — it serves stored bytes as
 * they are (a damaged row is served damaged), and verifiers check them against the signed root.
 */
export class LogReader {
  constructor(private readonly deps: LogReaderDeps) {}

  /** Whether the log may be read without a key; TENANT_NOT_FOUND when the tenant has no log. */
  async isPublic(tenantId: string): Promise<boolean> {
    const flag = await this.deps.store.getLogPublic(tenantId);
    if (flag === undefined) throw new KurabanError('TENANT_NOT_FOUND', 'tenant has no access log');
    return flag;
  }

  /** Makes the tenant's log readable by anyone (true) or restricted (false). */
  async setPublic(tenantId: string, isPublic: boolean): Promise<void> {
    if (!(await this.deps.store.setLogPublic(tenantId, isPublic))) throw new KurabanError('TENANT_NOT_FOUND', 'tenant has no access log');
  }

  /** The log's origin and public verifier key (`name+hexid+base64`). */
  async verifierKey(tenantId: string): Promise<{ origin: string; verifierKey: string }> {
    const state = await this.deps.store.getLogState(tenantId);
    if (!state) throw new KurabanError('TENANT_NOT_FOUND', 'tenant has no access log');
    return { origin: state.origin, verifierKey: state.verifierKey };
  }

  /** The newest checkpoint and what it commits to. */
  async head(tenantId: string): Promise<LogHead> {
    const { origin, verifierKey } = await this.verifierKey(tenantId);
    const stored = await this.deps.store.getLogCheckpoint(tenantId);
    if (!stored) return { origin, verifierKey, size: 0, rootHash: Buffer.from(EMPTY_ROOT), checkpoint: undefined };
    let size: number;
    let rootHash: Buffer;
    try {
      const cp = parseCheckpoint(parseNote(stored.note).text);
      size = cp.size;
      rootHash = Buffer.from(cp.rootHash);
    } catch (cause) {
      if (cause instanceof NoteError) throw new KurabanError('STORE_UNAVAILABLE', 'the stored access log checkpoint is damaged', { cause });
      throw cause;
    }
    if (size !== stored.size) throw new KurabanError('STORE_UNAVAILABLE', 'the stored access log checkpoint is damaged');
    return { origin, verifierKey, size, rootHash, checkpoint: stored.note };
  }

  /**
   * A tile or bundle by its tlog-tiles path (`tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`) as of
   * the newest checkpoint. A path that does not parse is REQUEST_INVALID; one outside that tree, or
   * whose rows are missing, LOG_NOT_FOUND. A partial path is served as the first W hashes (entries)
   * of the stored tile (bundle), which is what it held at every size where it was W wide.
   */
  async file(tenantId: string, path: string, head?: LogHead): Promise<LogFile> {
    let parsed;
    try {
      parsed = parseTilePath(path);
    } catch (cause) {
      if (cause instanceof TileError) throw new KurabanError('REQUEST_INVALID', 'not a tile path', { cause, details: [{ field: 'path', reason: cause.reason }] });
      throw cause;
    }
    const { size } = head ?? (await this.head(tenantId));
    const level = parsed.kind === 'hash' ? parsed.level : 0;
    const full = parsed.width === TILE_WIDTH;
    // The tile exists in the tree iff the tree has its last hash: (N·256 + W) hashes at its level.
    if (tileLevelHashCount(level, size) < parsed.index * TILE_WIDTH + parsed.width) throw new KurabanError('LOG_NOT_FOUND', 'not in the log');
    if (parsed.kind === 'hash') {
      const [row] = await this.deps.store.getLogTiles(tenantId, [{ level, index: parsed.index }]);
      const bytes = parsed.width * HASH_BYTES;
      if (!row || row.hashes.length < bytes) throw new KurabanError('LOG_NOT_FOUND', 'not in the log');
      return { kind: 'hash', full, bytes: Buffer.from(row.hashes.subarray(0, bytes)) };
    }
    const first = parsed.index * TILE_WIDTH;
    const rows = await this.deps.store.getLogEntryRange(tenantId, first, first + parsed.width);
    // Served as stored, up to the first missing index: a verifier then names that index.
    const entries: Buffer[] = [];
    for (const r of rows) {
      if (r.index !== first + entries.length) break;
      entries.push(r.entry);
    }
    if (entries.length === 0) throw new KurabanError('LOG_NOT_FOUND', 'not in the log');
    return { kind: 'entries', full, bytes: encodeEntryBundle(entries) };
  }

  /** RFC 6962 inclusion proof of entry `index` in the tree of `size` entries (size ≤ the newest checkpoint's). */
  async inclusionProof(tenantId: string, index: number, size: number, head?: LogHead): Promise<Buffer[]> {
    const h = head ?? (await this.head(tenantId));
    requireRange(size <= h.size, 'size', 'beyond_checkpoint');
    requireRange(index < size, 'index', 'not_below_size');
    const plan = inclusionProofPlan(index, size);
    return proofFromPlan(plan, await this.nodes(tenantId, [plan]));
  }

  /** RFC 6962 consistency proof from the tree of `from` entries to that of `to` (0 < from ≤ to ≤ newest). */
  async consistencyProof(tenantId: string, from: number, to: number, head?: LogHead): Promise<Buffer[]> {
    const h = head ?? (await this.head(tenantId));
    requireRange(to <= h.size, 'to', 'beyond_checkpoint');
    requireRange(from >= 1, 'from', 'empty_tree');
    requireRange(from <= to, 'from', 'above_to');
    const plan = consistencyProofPlan(from, to);
    return proofFromPlan(plan, await this.nodes(tenantId, [plan]));
  }

  /**
   * "Who read my data": the entries naming `subjectId` in the newest checkpoint's tree, oldest first,
   * each with its inclusion proof in that tree. Pages by index (`after`).
   */
  async entriesForSubject(tenantId: string, subjectId: string, options: { after?: number; limit?: number } = {}): Promise<SubjectEntries> {
    const head = await this.head(tenantId);
    const limit = Math.min(options.limit ?? MAX_SUBJECT_ENTRIES, MAX_SUBJECT_ENTRIES);
    const indexes = await this.deps.store.listLogSubjectIndexes(tenantId, subjectId, {
      below: head.size,
      ...(options.after === undefined ? {} : { after: options.after }),
      limit: limit + 1,
    });
    const page = indexes.slice(0, limit);
    const plans = page.map((i) => inclusionProofPlan(i, head.size));
    const nodes = await this.nodes(tenantId, plans);
    const entries: SubjectEntry[] = [];
    for (const [k, index] of page.entries()) {
      const [row] = await this.deps.store.getLogEntryRange(tenantId, index, index + 1);
      if (!row) throw new KurabanError('STORE_UNAVAILABLE', 'an indexed access log entry is missing');
      let entry: LogEntry;
      try {
        entry = decodeLogEntry(row.entry);
      } catch (cause) {
        throw new KurabanError('STORE_UNAVAILABLE', 'a stored access log entry is damaged', { cause });
      }
      // The index table is a convenience, not evidence: keep only entries that really name the subject.
      if (!entry.subjects.includes(subjectId)) throw new KurabanError('STORE_UNAVAILABLE', 'the access log subject index is damaged');
      entries.push({ index, entry, proof: proofFromPlan(plans[k] as ProofPlan, nodes) });
    }
    return { head, entries, next: indexes.length > limit ? page[page.length - 1] : undefined };
  }

  /**
   * A NodeSource over the few tiles the plans touch, fetched in one batch. A node at level 8·L + r is the
   * root of 2^r consecutive hashes of one tile at tile level L.
   */
  private async nodes(tenantId: string, plans: readonly ProofPlan[]): Promise<NodeSource> {
    const wanted = new Map<string, { level: number; index: number }>();
    for (const plan of plans) {
      for (const element of plan) {
        for (const id of element) {
          const t = tileOf(id);
          wanted.set(`${t.level}/${t.index}`, t);
        }
      }
    }
    const rows = await this.deps.store.getLogTiles(tenantId, [...wanted.values()]);
    const tiles = new Map(rows.map((r) => [`${r.level}/${r.index}`, r.hashes]));
    return {
      hash(level: number, index: number): Uint8Array {
        const t = tileOf({ level, index });
        const bytes = tiles.get(`${t.level}/${t.index}`);
        const span = 2 ** (level % TILE_HEIGHT);
        const start = (index * span) % TILE_WIDTH;
        if (bytes === undefined || bytes.length < (start + span) * HASH_BYTES) {
          throw new KurabanError('STORE_UNAVAILABLE', 'an access log tile is missing or short');
        }
        let layer: Buffer[] = [];
        for (let i = 0; i < span; i += 1) layer.push(bytes.subarray((start + i) * HASH_BYTES, (start + i + 1) * HASH_BYTES));
        while (layer.length > 1) {
          const up: Buffer[] = [];
          for (let i = 0; i < layer.length; i += 2) up.push(nodeHash(layer[i] as Buffer, layer[i + 1] as Buffer));
          layer = up;
        }
        return layer[0] as Buffer;
      },
    };
  }
}

/** The tile holding node (level, index): tile level ⌊level/8⌋, at hash position index·2^(level mod 8). */
function tileOf(id: NodeId): { level: number; index: number } {
  const tileLevel = Math.floor(id.level / TILE_HEIGHT);
  const position = id.index * 2 ** (id.level % TILE_HEIGHT);
  return { level: tileLevel, index: Math.floor(position / TILE_WIDTH) };
}

function requireRange(ok: boolean, field: string, reason: string): void {
  if (!ok) throw new KurabanError('REQUEST_INVALID', `${field} is out of range for this log`, { details: [{ field, reason }] });
}
