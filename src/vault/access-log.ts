import { KurabanError } from '../errors/index.js';
import {
  appendPackedToTiles,
  appendToTiles,
  decodeLogEntry,
  encodeLogEntry,
  formatVerifierKey,
  HASH_BYTES,
  leafHashInto,
  logEntrySubjects,
  LogEntryError,
  rightEdgeTiles,
  signCheckpoint,
  type LogEntry,
} from '../ledger/index.js';
import type { Keyring } from '../keys/index.js';
import type { LogPendingEntry, LogPendingRow, Store, StoreOps } from '../store/index.js';

export interface AccessLogDeps {
  readonly store: Store;
  readonly keyring: Keyring;
  /** Most pending entries moved per integration transaction (a bigger backlog takes several). Default 4096. */
  readonly batchSize?: number;
}

export interface Integration {
  readonly tenantId: string;
  /** Entries integrated by this call (0: nothing was pending). */
  readonly integrated: number;
  /** Tree size after the call. */
  readonly size: number;
}

export const DEFAULT_LOG_BATCH = 4096;
/** A queued entry's check: the first 6 bytes (48 bits, a safe integer) of its leaf hash (migration 0008). */
const LEAF_CHECK_BYTES = 6;
const leafScratch = Buffer.alloc(HASH_BYTES);
export const DEFAULT_INTEGRATION_INTERVAL_MS = 1000;

/**
 * The access log's write side (sequencing rules in src/ledger/NOTES.md). `append` queues an entry in
 * the caller's transaction, so the entry commits exactly when the change it records does; `integrate`
 * moves queued entries into the tenant's RFC 6962 tree, one integrator per tenant at a time, in one
 * transaction that also updates the tiles and the state and stores a signed checkpoint — a crash at
 * any point leaves the old state or the new one.
 */
export class AccessLog {
  private readonly batchSize: number;

  constructor(private readonly deps: AccessLogDeps) {
    this.batchSize = deps.batchSize ?? DEFAULT_LOG_BATCH;
  }

  /**
   * Queues entries inside `tx`, the transaction of the change they record, each with the first 48 bits
   * of its leaf hash (computed here from the encoded bytes, checked again at integration). An entry that does not
   * encode (a field that is not an identifier) throws INTERNAL, failing the whole transaction.
   */
  async append(tx: StoreOps, ...entries: readonly LogEntry[]): Promise<void> {
    const byTenant = new Map<string, LogPendingEntry[]>();
    for (const e of entries) {
      let bytes: Buffer;
      try {
        bytes = encodeLogEntry(e);
      } catch (cause) {
        if (cause instanceof LogEntryError) throw new KurabanError('INTERNAL', cause.message, { cause });
        throw cause;
      }
      let list = byTenant.get(e.tenant);
      if (list === undefined) byTenant.set(e.tenant, (list = []));
      leafHashInto(bytes, leafScratch, 0);
      const subjects = e.subjects.length < 2 ? e.subjects : [...new Set(e.subjects)];
      list.push({ entry: bytes, leafCheck: leafScratch.readUIntBE(0, LEAF_CHECK_BYTES), subjects });
    }
    for (const [tenantId, list] of byTenant) await tx.appendLogPending(tenantId, list);
  }

  /** For reads: queues entries in their own short transaction; await it before the response leaves. */
  async record(...entries: readonly LogEntry[]): Promise<void> {
    await this.deps.store.transaction((tx) => this.append(tx, ...entries));
  }

  /** Integrates everything pending for the tenant (in batches); returns the last integration. */
  async integrate(tenantId: string): Promise<Integration> {
    let total = 0;
    for (;;) {
      const step = await this.integrateBatch(tenantId);
      total += step.integrated;
      if (step.integrated < this.batchSize) return { tenantId, integrated: total, size: step.size };
    }
  }

  /** Integrates every tenant that has pending entries. */
  async integrateAll(): Promise<Integration[]> {
    const out: Integration[] = [];
    for (const tenantId of await this.deps.store.listLogPendingTenants()) out.push(await this.integrate(tenantId));
    return out;
  }

  /** The tenant's log origin and public verifier key (`name+hexid+base64`), to serve and print. */
  async verifierKey(tenantId: string): Promise<{ origin: string; verifierKey: string }> {
    const state = await this.deps.store.getLogState(tenantId);
    if (!state) throw new KurabanError('TENANT_NOT_FOUND', 'tenant has no access log');
    return { origin: state.origin, verifierKey: state.verifierKey };
  }

  /** The newest signed checkpoint (a C2SP signed note), or undefined before the first integration. */
  async latestCheckpoint(tenantId: string): Promise<Buffer | undefined> {
    return (await this.deps.store.getLogCheckpoint(tenantId))?.note;
  }

  private async integrateBatch(tenantId: string): Promise<Integration> {
    const { keyring } = this.deps;
    return this.deps.store.transaction(async (tx) => {
      await tx.lockLog(tenantId);
      const state = await tx.getLogState(tenantId);
      if (!state) throw new KurabanError('TENANT_NOT_FOUND', 'tenant has no access log');
      const pending = await tx.listLogPending(tenantId, this.batchSize);
      if (pending.length === 0) return { tenantId, integrated: 0, size: state.size };
      const edge = await tx.getLogTiles(tenantId, rightEdgeTiles(state.size));
      const tiles = edge.map((t) => ({ level: t.level, index: t.index, width: t.width, bytes: t.hashes }));
      // The stored right edge must reproduce the stored root, or the log's storage is damaged: stop.
      if (!appendToTiles(state.size, tiles, []).root.equals(state.root)) {
        throw new KurabanError('STORE_UNAVAILABLE', 'access log tiles do not match the log root');
      }
      // Entries already placed at their index (SQLite) come first and must run on from the log's size;
      // queued ones (PostgreSQL) take the indexes after them.
      let placed = 0;
      while (placed < pending.length && (pending[placed] as LogPendingRow).index !== null) {
        if ((pending[placed] as LogPendingRow).index !== state.size + placed) throw new KurabanError('STORE_UNAVAILABLE', 'access log entries are out of sequence');
        placed++;
      }
      const queued = pending.slice(placed);
      const leaves = Buffer.allocUnsafe(pending.length * HASH_BYTES);
      const subjects = checkPending(pending, placed, state.size, leaves);
      const growth = appendPackedToTiles(state.size, tiles, leaves);
      if (queued.length > 0) {
        await tx.insertLogEntries(tenantId, state.size + placed, queued.map((p) => p.entry));
        await tx.insertLogSubjects(tenantId, subjects);
      }
      await tx.putLogTiles(tenantId, growth.tiles.map((t) => ({ level: t.level, index: t.index, width: t.width, hashes: t.bytes })));
      const signer = await keyring.logSigner(tx, tenantId, state.origin);
      if (formatVerifierKey(signer.name, signer.publicKey) !== state.verifierKey) {
        throw new KurabanError('DECRYPTION_FAILED', 'decryption operation failed');
      }
      const note = signCheckpoint({ origin: state.origin, size: growth.size, rootHash: growth.root, extensions: [] }, signer);
      await tx.insertLogCheckpoint(tenantId, growth.size, note);
      // Belt and braces behind the lock: the state moves only from the size this integration read.
      if (!(await tx.updateLogState(tenantId, state.size, growth.size, growth.root))) {
        throw new KurabanError('STORE_UNAVAILABLE', 'access log state changed during integration');
      }
      const ids = queued.map((p) => p.id as number);
      if (ids.length > 0 && (await tx.deleteLogPending(tenantId, ids)) !== ids.length) {
        throw new KurabanError('STORE_UNAVAILABLE', 'access log entries were integrated twice');
      }
      return { tenantId, integrated: pending.length, size: growth.size };
    });
  }
}

export interface IntegratorOptions {
  /** Delay between integration rounds. Default 1000 ms (the latency bound). */
  readonly intervalMs?: number;
  /** Told about a failed round (the next round retries). Errors carry no personal values. */
  readonly onError?: (e: unknown) => void;
}

/**
 * Runs AccessLog.integrateAll every `intervalMs` (rounds never overlap; timers are unref'd so they
 * keep no process alive). Any number of processes may run one on the same database: the per-tenant
 * lock makes them take turns.
 */
export class Integrator {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  readonly intervalMs: number;

  constructor(
    private readonly log: AccessLog,
    private readonly options: IntegratorOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? DEFAULT_INTEGRATION_INTERVAL_MS;
    if (!Number.isInteger(this.intervalMs) || this.intervalMs < 1) throw new KurabanError('CONFIG_INVALID', 'log integration interval must be a positive integer of milliseconds');
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops the timer and waits for a round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One round now (tests, shutdown): integrates every tenant with pending entries. */
  async integrateNow(): Promise<Integration[]> {
    while (this.running) await this.running;
    const round = this.log.integrateAll();
    this.running = round.catch(() => undefined).finally(() => {
      this.running = undefined;
    });
    return round;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.integrateNow()
        .catch((e: unknown) => this.options.onError?.(e))
        .finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }
}

/**
 * Hashes the pending entries, to be integrated at consecutive indexes from `firstIndex`, into `leaves`
 * (packed) and returns the log_subjects rows (one per distinct subject an entry names) of all but the
 * first `placed`, which were indexed when they were placed (SQLite). An entry damaged in storage is
 * refused before anything is signed (STORE_UNAVAILABLE): its leaf hash must start with the check
 * written with it (48 bits: a change to the bytes since they were encoded goes unnoticed with odds of
 * 2^-48), and a queued entry's subject ids are then read from its bytes without decoding the rest
 * (logEntrySubjects); an entry written before migration 0008 has no check and is decoded in full.
 */
function checkPending(pending: readonly LogPendingRow[], placed: number, firstIndex: number, leaves: Buffer): Array<{ subjectId: string; index: number }> {
  const rows: Array<{ subjectId: string; index: number }> = [];
  for (let i = 0; i < pending.length; i++) {
    const { entry, leafCheck } = pending[i] as LogPendingRow;
    const at = i * HASH_BYTES;
    leafHashInto(entry, leaves, at);
    let subjects: readonly string[];
    try {
      if (leafCheck === null) subjects = decodeLogEntry(entry).subjects;
      else if (leaves.readUIntBE(at, LEAF_CHECK_BYTES) !== leafCheck) throw new LogEntryError('leaf');
      else subjects = i < placed ? [] : logEntrySubjects(entry);
    } catch (cause) {
      if (cause instanceof LogEntryError) throw new KurabanError('STORE_UNAVAILABLE', 'a queued access log entry is damaged', { cause });
      throw cause;
    }
    if (i < placed) continue;
    if (subjects.length === 1) rows.push({ subjectId: subjects[0] as string, index: firstIndex + i });
    else for (const subjectId of new Set(subjects)) rows.push({ subjectId, index: firstIndex + i });
  }
  return rows;
}
