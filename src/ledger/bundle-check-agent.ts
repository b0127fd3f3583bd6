import { BundleChecker } from './bundle-check.js';
import type { BundleCheckerReply, BundleCheckerRequest } from './bundle-checker-protocol.js';

/** A bundle checker in a child process (bundle-checkers.ts): a BundleChecker (bundle-check.ts) behind the IPC channel. */
let checker: BundleChecker | undefined;

function reply(message: BundleCheckerReply): void {
  process.send?.(message);
}

process.on('message', (request: BundleCheckerRequest) => {
  if (request.type === 'open') {
    checker = new BundleChecker(request.location);
    reply({ type: 'ready' });
    return;
  }
  if (checker === undefined) {
    reply({ type: 'checked', id: request.id, checked: [], error: { name: 'NoLocation' } });
    return;
  }
  void checker.check(request.id, request.bundles).then(reply);
});
// The parent gone: nothing more to do.
process.on('disconnect', () => process.exit(0));
