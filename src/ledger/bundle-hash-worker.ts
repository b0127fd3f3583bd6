import { parentPort } from 'node:worker_threads';
import { checkBatch, type BundleBatchJob, type BundleBatchReply } from './bundle-hasher.js';

/** Worker thread entry: checks one batch of entry bundles per message (the bytes arrive by transfer). */
parentPort?.on('message', (job: BundleBatchJob) => {
  let reply: BundleBatchReply;
  try {
    reply = { id: job.id, results: checkBatch(job) };
  } catch (e) {
    reply = { id: job.id, error: (e as Error).name };
  }
  parentPort?.postMessage(reply);
});
