import { parentPort } from 'node:worker_threads';
import { hashBundle, transferable, type BundleJob, type BundleReply } from './bundle-hasher.js';

/** Worker thread entry: hashes one entry bundle per message; buffers go both ways by transfer. */
parentPort?.on('message', (job: BundleJob) => {
  let reply: BundleReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const result = hashBundle(Buffer.from(job.bytes), job.width, job.hashed);
    if (result.ok) {
      const leaves = transferable(result.leaves);
      const root = result.root === undefined ? undefined : transferable(result.root);
      transfer.push(leaves, ...(root === undefined ? [] : [root]));
      reply = { id: job.id, ok: true, leaves, root };
    } else {
      reply = { id: job.id, ok: false, complete: result.complete, trailing: result.trailing };
    }
  } catch (e) {
    reply = { id: job.id, error: (e as Error).name };
  }
  parentPort?.postMessage(reply, transfer);
});
