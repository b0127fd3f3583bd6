import { KurabanError } from '../errors/index.js';
import {
  appendPackedToTiles,
  appendToTiles,
  decodeLogEntry,
  encodeLogEntry,
  formatVerifierKey,
  HASH_BYTES,
  leafHashInto,
  LogEntryError,
  rightEdgeTiles,
  signCheckpoint,
  type LogEntry,
} from '../ledger/index.js';
import type { Keyring } from '../keys/index.js';
import type { Store, StoreOps } from '../store/index.js';

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
   * Queues entries inside `tx`, the transaction of the change they record. An entry that does not
   * encode (a field that is not an identifier) throws INTERNAL, failing the whole transaction.
   */
  async append(tx: StoreOps, ...entries: readonly LogEntry[]): Promise<void> {
    const byTenant = new Map<string, Buffer[]>();
    for (const e of entries) {
      let bytes: Buffer;
      try {
        bytes = encodeLogEntry(e);
      } catch (cause) {
        if (cause instanceof LogEntryError) throw new KurabanError('INTERNAL', cause.message, { cause });
        throw cause;
      }
      const list = byTenant.get(e.tenant) ?? [];
      list.push(bytes);
      byTenant.set(e.tenant, list);
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
      const leaves = Buffer.allocUnsafe(pending.length * HASH_BYTES);
      pending.forEach((p, i) => leafHashInto(p.entry, leaves, i * HASH_BYTES));
      const growth = appendPackedToTiles(state.size, tiles, leaves);
      await tx.insertLogEntries(tenantId, state.size, pending.map((p) => p.entry));
      await tx.insertLogSubjects(tenantId, subjectRows(state.size, pending.map((p) => p.entry)));
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
      const ids = pending.map((p) => p.id);
      if ((await tx.deleteLogPending(tenantId, ids)) !== ids.length) {
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
 * The log_subjects rows for entries integrated at consecutive indexes from `firstIndex`: one per
 * distinct subject an entry names. A pending entry that does not decode was damaged in storage: the
 * integration stops rather than sign it.
 */
function subjectRows(firstIndex: number, entries: readonly Buffer[]): Array<{ subjectId: string; index: number }> {
  const rows: Array<{ subjectId: string; index: number }> = [];
  entries.forEach((bytes, i) => {
    let subjects: readonly string[];
    try {
      subjects = decodeLogEntry(bytes).subjects;
    } catch (cause) {
      if (cause instanceof LogEntryError) throw new KurabanError('STORE_UNAVAILABLE', 'a queued access log entry is damaged', { cause });
      throw cause;
    }
    for (const subjectId of new Set(subjects)) rows.push({ subjectId, index: firstIndex + i });
  });
  return rows;
}
