import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';

/**
 * Worker thread of checkpointer.ts: its own connection to the database file, running a PASSIVE WAL
 * checkpoint every `intervalMs` (it copies committed pages into the database file and never waits
 * for, or blocks, the writer or readers). Stops when told to, closing its connection.
 */
const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new BetterSqlite3(path, { fileMustExist: true });
db.pragma('busy_timeout = 0');
db.pragma('cache_size = -256'); // it copies pages from the WAL; nothing it reads is worth caching
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or closing: the writer's own automatic checkpoint is the backstop.
  }
}, intervalMs);
parentPort?.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
