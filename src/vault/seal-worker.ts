import { parentPort } from 'node:worker_threads';
import { sealColumns, transferables, type SealJob } from './seal-batch.js';
import { reviveJob, zeroJobKeys } from './sealer.js';

/** Worker thread entry: seals one batch per message and answers with its columns, the byte buffers transferred. */
parentPort?.on('message', (msg: { id: number; job: SealJob }) => {
  const job = reviveJob(msg.job);
  try {
    const sealed = sealColumns(job);
    parentPort?.postMessage({ id: msg.id, sealed }, transferables(sealed));
  } catch (e) {
    parentPort?.postMessage({ id: msg.id, error: (e as Error).name });
  } finally {
    zeroJobKeys(job);
  }
});
