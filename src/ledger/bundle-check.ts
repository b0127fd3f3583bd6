import { readBundleAndTile } from './bundle-reads.js';
import { toRemoteError, type BundleJobItem, type CheckedReply, type RemoteCheckedBundle } from './bundle-checker-protocol.js';
import { checkBundle } from './tile-hasher.js';
import type { TileSource, TileSourceLocation } from './tile-source.js';
import { reusingDirectoryTileSource, tileSourceAt } from './tile-sources.js';

/**
 * What a bundle checker does (bundle-checkers.ts), in this thread or in a child process
 * (bundle-check-agent.ts): opens a log location, then for each batch reads each bundle and its level-0
 * tile and checks them in order with checkBundle, which consumes the bytes (they are this checker's own
 * reads). It answers with roots and results only, and stops a batch at the first bundle that fails.
 *
 * Batches are checked one after the other. A directory is read with blocking calls into reused buffers
 * (reusingDirectoryTileSource), one bundle at a time: a read's bytes live until the next read. Over HTTP
 * every read of a batch starts at once (each its own buffer) to hide the latency: 16 bundles and their
 * tiles, so at most 32 requests in flight per checker.
 */
export class BundleChecker {
  readonly #source: TileSource;
  /** A directory is read into reused buffers (reusingDirectoryTileSource): one bundle read at a time, each hashed before the next. */
  readonly #readsReuseBuffers: boolean;
  /** The batch being checked. */
  #previous: Promise<unknown> = Promise.resolve();

  constructor(location: TileSourceLocation) {
    this.#readsReuseBuffers = location.kind === 'directory';
    this.#source = location.kind === 'directory' ? reusingDirectoryTileSource(location.dir) : tileSourceAt(location);
  }

  check(id: number, bundles: readonly BundleJobItem[]): Promise<CheckedReply> {
    const run = this.#previous.then(() => this.#check(id, bundles));
    this.#previous = run;
    return run;
  }

  async #check(id: number, bundles: readonly BundleJobItem[]): Promise<CheckedReply> {
    const checked: RemoteCheckedBundle[] = [];
    const source = this.#source;
    try {
      const reads = this.#readsReuseBuffers ? [] : bundles.map((b) => readBundleAndTile(source, b.index, b.width));
      // Every read is observed, even after a failure ends the batch.
      for (const r of reads) r.catch(() => {});
      for (let k = 0; k < bundles.length; k++) {
        const b = bundles[k] as BundleJobItem;
        const item = await (this.#readsReuseBuffers ? readBundleAndTile(source, b.index, b.width) : (reads[k] as (typeof reads)[number]));
        const result = checkBundle(item.bundle, item.tile, item.entries, item.hashed);
        // A copy: a reused buffer's bytes do not outlive the next read.
        checked.push({ entries: item.entries, result, ...(b.wantTile ? { tile: Uint8Array.prototype.slice.call(item.tile) } : {}) });
        if (result.kind !== 'ok') break;
      }
      return { type: 'checked', id, checked };
    } catch (e) {
      return { type: 'checked', id, checked, error: toRemoteError(e) };
    }
  }
}
