import { parentPort } from 'node:worker_threads';
import { sealBatch, type SealJob } from './seal-batch.js';
import { pack, reviveJob, zeroJobKeys } from './sealer.js';

/** Worker thread entry: seals one batch per message and answers with packed, transferred buffers. */
parentPort?.on('message', (msg: { id: number; job: SealJob }) => {
  const job = reviveJob(msg.job);
  try {
    const { packed, transfer } = pack(sealBatch(job), job);
    parentPort?.postMessage({ id: msg.id, packed }, transfer);
  } catch (e) {
    parentPort?.postMessage({ id: msg.id, error: (e as Error).name });
  } finally {
    zeroJobKeys(job);
  }
});
