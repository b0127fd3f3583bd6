import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BundleChecker } from './bundle-check.js';
import type { BundleCheckerReply, BundleCheckerRequest, BundleJobItem, CheckedReply } from './bundle-checker-protocol.js';
import type { TileSourceLocation } from './tile-source.js';
import { VerifyError } from './verify-error.js';

/**
 * Checkers that read their own entry bundles (bundle-check.ts): the verifier gives them bundle indexes
 * and the log's location, they read each bundle and its level-0 tile and hash them, and only results —
 * 32-byte roots, a tile where the verifier needs one — come back. One checker is this thread; every
 * other is a child process (bundle-check-agent.ts).
 *
 * Why processes, not threads: node:crypto's one-shot `hash` does not run in parallel on two threads of
 * one process. Measured 2026-12-03 on this project's 2-core machine, a loop of one 273-byte leaf and one
 * 65-byte node hash: 0.56–0.58 µs per pair on one thread; 1.15–1.17 µs per pair on EACH of two worker
 * threads of one process (no gain at all); 0.56–0.58 µs on each of two processes (twice the throughput).
 * The serialisation is inside the process (OpenSSL 3.0's digest set-up on every call is the likely
 * place). So one hashing thread per process: this one (which also walks the levels above the bundles,
 * 1/256 of the work) and one in each child.
 *
 * Why they read for themselves: sending bundles over a pipe cost more than the parallelism gained
 * (measured earlier: 0.45–0.78M entries/s through the children's stdin). The verifier's source must
 * therefore name a location another process can open (a directory, or an HTTP prefix with its headers).
 * A child process takes ~120 ms to start (Node ~90, modules ~20); this thread starts at once and hashes
 * while the children boot, and a checker gets work only once it says it is ready.
 */

export interface BundleCheckers {
  /** Bundles per batch (16: 4,096 entries, ~3 ms of hashing, against one message each way). */
  readonly batchBundles: number;
  /** Batches worth keeping in flight: two per checker, so each reads its next batch while hashing one. */
  readonly depth: number;
  /** Checks one batch on the least busy ready checker (waiting for the first to be ready). */
  check(bundles: readonly BundleJobItem[]): Promise<CheckedReply>;
  close(): Promise<void>;
}

export const CHECKER_BATCH_BUNDLES = 16;

/** The common face of the checker in this thread and of a child process. */
interface Channel {
  send(message: BundleCheckerRequest): void;
  onMessage(listener: (reply: BundleCheckerReply) => void): void;
  onFailure(listener: (e: Error) => void): void;
  stop(): Promise<void>;
}

/**
 * The checker in this thread: each message is handled on a later turn of the event loop, and a batch
 * (blocking reads and hashing, ~4 ms for 16 bundles) runs in one go, so replies arrive as from a process.
 */
function localChannel(): Channel {
  let checker: BundleChecker | undefined;
  let listener: ((reply: BundleCheckerReply) => void) | undefined;
  let failure: ((e: Error) => void) | undefined;
  let stopped = false;
  return {
    send: (m) =>
      setImmediate(() => {
        if (stopped) return;
        try {
          if (m.type === 'open') {
            checker = new BundleChecker(m.location);
            listener?.({ type: 'ready' });
          } else if (checker !== undefined) {
            void checker.check(m.id, m.bundles).then((r) => {
              if (!stopped) listener?.(r);
            });
          }
        } catch (e) {
          failure?.(new VerifyError('CHECKER_FAILED', `the checker in this thread failed (${e instanceof Error ? e.name : typeof e})`));
        }
      }),
    onMessage: (l) => {
      listener = l;
    },
    onFailure: (l) => {
      failure = l;
    },
    stop: async () => {
      stopped = true;
    },
  };
}

function processChannel(entry: URL): Channel {
  // No inherited flags (a test runner's, an inspector's); stdout unused; stderr shared for a crash report.
  const child = fork(fileURLToPath(entry), [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let stopping = false;
  return {
    send: (m) => child.send(m),
    onMessage: (l) => child.on('message', l),
    onFailure: (l) => {
      child.on('error', (e) => l(new VerifyError('CHECKER_FAILED', `a checker process could not run (${(e as NodeJS.ErrnoException).code ?? e.name})`)));
      child.on('exit', (code, signal) => {
        if (!stopping) l(new VerifyError('CHECKER_FAILED', `a checker process exited (${signal ?? code})`));
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

/** Starts `count` checkers opening `location`: this thread, and `count − 1` child processes. */
export function startBundleCheckers(count: number, location: TileSourceLocation): BundleCheckers {
  if (!Number.isInteger(count) || count < 1) throw new RangeError('bundle checkers: at least one');
  const entry = new URL('./bundle-check-agent.js', import.meta.url);
  interface Slot {
    readonly channel: Channel;
    busy: number;
    ready: boolean;
    gone: Error | undefined;
  }
  const slots: Slot[] = [];
  const pending = new Map<number, { resolve: (r: CheckedReply) => void; reject: (e: unknown) => void; slot: Slot }>();
  let readyWaiters: Array<() => void> = [];
  const wakeWaiters = (): void => {
    const waiters = readyWaiters;
    readyWaiters = [];
    for (const w of waiters) w();
  };
  let nextId = 0;
  let closing = false;

  for (let c = 0; c < count; c++) {
    const slot: Slot = { channel: c === 0 ? localChannel() : processChannel(entry), busy: 0, ready: false, gone: undefined };
    slots.push(slot);
    slot.channel.onMessage((reply) => {
      if (reply.type === 'ready') {
        slot.ready = true;
        wakeWaiters();
        return;
      }
      const p = pending.get(reply.id);
      if (p === undefined) return;
      pending.delete(reply.id);
      slot.busy--;
      p.resolve(reply);
    });
    slot.channel.onFailure((e) => {
      slot.gone ??= e;
      for (const [id, p] of pending) {
        if (p.slot === slot) {
          pending.delete(id);
          p.reject(slot.gone);
        }
      }
      wakeWaiters(); // check() fails as soon as any checker is gone: those waiting for one to be ready learn it now
    });
    slot.channel.send({ type: 'open', location });
  }

  const leastBusyReady = (): Slot | undefined => {
    let best: Slot | undefined;
    for (const s of slots) if (s.ready && s.gone === undefined && (best === undefined || s.busy < best.busy)) best = s;
    return best;
  };

  return {
    batchBundles: CHECKER_BATCH_BUNDLES,
    depth: 2 * count,
    async check(bundles) {
      for (;;) {
        if (closing) throw new RangeError('bundle checkers closed');
        const gone = slots.find((s) => s.gone !== undefined)?.gone;
        if (gone !== undefined) throw gone;
        const slot = leastBusyReady();
        if (slot !== undefined) {
          const id = nextId++;
          slot.busy++;
          return new Promise<CheckedReply>((resolve, reject) => {
            pending.set(id, { resolve, reject, slot });
            slot.channel.send({ type: 'check', id, bundles });
          });
        }
        await new Promise<void>((resolve) => readyWaiters.push(resolve));
      }
    },
    async close() {
      closing = true;
      await Promise.all(slots.map((s) => s.channel.stop()));
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new Error('bundle checkers closed'));
      }
      wakeWaiters();
    },
  };
}
