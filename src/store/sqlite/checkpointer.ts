import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the writing thread. In WAL mode every commit appends the pages it changed to
 * the WAL, and a checkpoint copies them back into the database file (fsyncing both). The writer's own
 * automatic checkpoint (`wal_autocheckpoint`, open.ts) does that inside a commit, so every ~40,000
 * pages one commit of the ingest took 200–430 ms instead of ~17 (16 % of the writing thread at
 * 600,000 records). A second thread with its own connection runs PASSIVE checkpoints every 250 ms
 * instead: they never block the writer or readers, and when the writer's automatic checkpoint comes
 * due it finds nearly every page already copied (it stays as the backstop, and it is what resets the
 * WAL).
 *
 * It pays where the writing thread is the slower one and the other core has room: 1,000,000 records
 * in process, interleaved runs on 2 cores (2026-12-03): 20,621, 20,464, 20,687 and 22,186 records/s
 * with it against 18,981, 20,291, 20,543 and 20,454 without; `kuraban import`: 17,253 against 15,551.
 * Before the sealing worker's nursery was enlarged (sealer.ts), the sealing worker needed that core,
 * and the same change gained nothing; over HTTP, where the main thread (JSON parsing) is the slower
 * side, it still does not (600,000 records: 12,930 and 14,122 with it, 13,799 and 14,319 without), so
 * `kuraban serve` turns it off. Started on the first bulk insert of a file store, so short-lived
 * stores (commands, tests) never start a thread.
 */
export const BACKGROUND_CHECKPOINT_MS = 250;
/** A records insert at least this large starts the checkpointer: a bulk load is under way. */
export const BACKGROUND_CHECKPOINT_MIN_ROWS = 256;
/** A stopping worker gets this long to close its connection before it is terminated. */
const STOP_TIMEOUT_MS = 5000;

export interface BackgroundCheckpointer {
  /** Stops the thread; resolves when it has closed its connection (or been terminated). */
  stop(): Promise<void>;
}

export function startBackgroundCheckpointer(path: string, intervalMs: number = BACKGROUND_CHECKPOINT_MS): BackgroundCheckpointer {
  const worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
    workerData: { path, intervalMs },
    resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
  });
  worker.unref(); // a store left open must not keep the process alive
  let exited = false;
  const exit = once(worker, 'exit').then(
    () => {
      exited = true;
    },
    () => {
      exited = true;
    },
  );
  worker.on('error', () => {}); // its failure only means checkpoints are left to the writer
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        if (exited) return;
        worker.postMessage('stop');
        const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
        await exit;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
