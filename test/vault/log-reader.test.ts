import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  computeHashTile,
  decodeLogEntry,
  encodeEntryBundle,
  formatEntryBundlePath,
  formatHashTilePath,
  leafHash,
  MemoryTree,
  openCheckpoint,
  parseVerifierKey,
  tilesOfTree,
  verifyConsistency,
  verifyInclusion,
  type LogEntry,
} from '../../src/ledger/index.js';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { rejectsWithCode } from '../helpers/errors.js';
import { testLogEntry } from '../helpers/log-entries.js';

const TENANT = 'log-reader-city';

function entry(n: number, subjects: readonly string[]): LogEntry {
  return testLogEntry(TENANT, n, { subjects: [...subjects], fields: ['family_name'] });
}

/** Subject of entry n: every third entry names p-a, every fifth p-b, some both. */
function subjectsOf(n: number): string[] {
  return [...(n % 3 === 0 ? ['p-a'] : []), ...(n % 5 === 0 ? ['p-b'] : []), `p-${n}`];
}

for (const backend of BACKENDS) {
  describe(`LogReader (${backend})`, () => {
    let tv: TempVault;
    const sizes: number[] = [];
    before(async () => {
      tv = await createTempVault(backend);
      await tv.vault.tenants.create(TENANT, 'Log Reader City');
      // Several integrations, crossing a full level-0 tile: 1, 40, 300 appended entries.
      let n = 0;
      for (const batch of [1, 40, 259]) {
        for (let i = 0; i < batch; i += 1, n += 1) await tv.vault.accessLog.record(entry(n, subjectsOf(n)));
        await tv.vault.integrator.integrateNow();
        sizes.push((await tv.vault.logReader.head(TENANT)).size);
      }
    });
    after(async () => tv.cleanup());

    async function stored(): Promise<{ entries: Buffer[]; tree: MemoryTree }> {
      const entries = await tv.store.getLogEntries(TENANT, 0, 1_000_000);
      const tree = new MemoryTree();
      for (const e of entries) tree.append(leafHash(e));
      return { entries, tree };
    }

    test('the head is the newest signed checkpoint, over every stored entry', async () => {
      const head = await tv.vault.logReader.head(TENANT);
      const { entries, tree } = await stored();
      assert.ok(head.size >= 300);
      assert.equal(head.size, entries.length);
      assert.ok(head.checkpoint);
      const opened = openCheckpoint(head.checkpoint, { origin: head.origin, verifiers: parseVerifierKey(head.verifierKey) });
      assert.equal(opened.checkpoint.size, head.size);
      assert.deepEqual(head.rootHash, tree.rootAt());
      assert.deepEqual(await tv.vault.logReader.verifierKey(TENANT), { origin: head.origin, verifierKey: head.verifierKey });
    });

    test('every tile and bundle of the tree is byte-equal to what the ledger computes, full and partial', async () => {
      const { entries } = await stored();
      const leaves = entries.map((e) => leafHash(e));
      for (const size of [...sizes, entries.length]) {
        for (const tile of tilesOfTree(size)) {
          const got = await tv.vault.logReader.file(TENANT, formatHashTilePath(tile));
          assert.deepEqual(got.bytes, computeHashTile(leaves, tile), formatHashTilePath(tile));
          assert.equal(got.full, tile.width === 256);
          if (tile.level === 0) {
            const bundle = await tv.vault.logReader.file(TENANT, formatEntryBundlePath(tile));
            assert.deepEqual(bundle.bytes, encodeEntryBundle(entries.slice(tile.index * 256, tile.index * 256 + tile.width)));
          }
        }
      }
    });

    test('tiles beyond the tree are LOG_NOT_FOUND; malformed paths REQUEST_INVALID', async () => {
      const { size } = await tv.vault.logReader.head(TENANT);
      const width = size % 256;
      await rejectsWithCode(() => tv.vault.logReader.file(TENANT, `tile/0/001.p/${width + 1}`), 'LOG_NOT_FOUND');
      await rejectsWithCode(() => tv.vault.logReader.file(TENANT, 'tile/0/001'), 'LOG_NOT_FOUND');
      await rejectsWithCode(() => tv.vault.logReader.file(TENANT, 'tile/entries/002.p/1'), 'LOG_NOT_FOUND');
      await rejectsWithCode(() => tv.vault.logReader.file(TENANT, 'tile/1/000.p/2'), 'LOG_NOT_FOUND');
      await rejectsWithCode(() => tv.vault.logReader.file(TENANT, 'tile/5/x999/x999/x999/x999/999'), 'LOG_NOT_FOUND');
      for (const bad of ['tile/0/000.p/0', 'tile/0/000.p/256', 'tile/0/000.p/007', 'tile/00/000', 'tile/64/000', 'tile/0/x000/001', 'tile/0/1', 'tile/0/x9999999/000', 'tile/0/x999/x999/x999/x999/x999/999', 'tile/entries/..', 'tile/0/000.p/']) {
        await rejectsWithCode(() => tv.vault.logReader.file(TENANT, bad), 'REQUEST_INVALID');
      }
      await rejectsWithCode(() => tv.vault.logReader.file('no-such-tenant', 'tile/0/000'), 'TENANT_NOT_FOUND');
    });

    test('inclusion and consistency proofs from stored tiles verify for every size the log had', async () => {
      const { entries, tree } = await stored();
      const head = await tv.vault.logReader.head(TENANT);
      for (const size of [1, 2, 3, 41, 255, 256, 257, ...sizes, head.size]) {
        for (const index of new Set([0, 1, Math.floor(size / 2), size - 2, size - 1].filter((i) => i >= 0 && i < size))) {
          const proof = await tv.vault.logReader.inclusionProof(TENANT, index, size);
          verifyInclusion(index, size, leafHash(entries[index] as Buffer), proof, tree.rootAt(size));
        }
        for (const to of [size, head.size]) {
          const proof = await tv.vault.logReader.consistencyProof(TENANT, size, to);
          verifyConsistency(size, to, proof, tree.rootAt(size), tree.rootAt(to));
        }
      }
      await rejectsWithCode(() => tv.vault.logReader.inclusionProof(TENANT, 0, head.size + 1), 'REQUEST_INVALID');
      await rejectsWithCode(() => tv.vault.logReader.inclusionProof(TENANT, 5, 5), 'REQUEST_INVALID');
      await rejectsWithCode(() => tv.vault.logReader.consistencyProof(TENANT, 0, 5), 'REQUEST_INVALID');
      await rejectsWithCode(() => tv.vault.logReader.consistencyProof(TENANT, 6, 5), 'REQUEST_INVALID');
      await rejectsWithCode(() => tv.vault.logReader.consistencyProof(TENANT, 1, head.size + 1), 'REQUEST_INVALID');
    });

    test('who read my data: exactly the entries naming the subject, each proved in the newest checkpoint', async () => {
      const { entries, tree } = await stored();
      for (const subject of ['p-a', 'p-b', 'p-7', 'p-none']) {
        const expected = entries.flatMap((e, i) => (decodeLogEntry(e).subjects.includes(subject) ? [i] : []));
        const found = await tv.vault.logReader.entriesForSubject(TENANT, subject);
        assert.deepEqual(found.entries.map((e) => e.index), expected, subject);
        assert.equal(found.next, undefined);
        for (const e of found.entries) {
          assert.ok(e.entry.subjects.includes(subject));
          verifyInclusion(e.index, found.head.size, leafHash(entries[e.index] as Buffer), [...e.proof], tree.rootAt());
          assert.deepEqual(found.head.rootHash, tree.rootAt());
        }
      }
      // Paging by index.
      const all = (await tv.vault.logReader.entriesForSubject(TENANT, 'p-a')).entries.map((e) => e.index);
      const paged: number[] = [];
      let after: number | undefined;
      for (;;) {
        const page = await tv.vault.logReader.entriesForSubject(TENANT, 'p-a', { limit: 7, ...(after === undefined ? {} : { after }) });
        paged.push(...page.entries.map((e) => e.index));
        if (page.next === undefined) break;
        after = page.next;
      }
      assert.deepEqual(paged, all);
    });

    test('entries not yet integrated are not found; after integration they are', async () => {
      await tv.vault.accessLog.record(entry(9999, ['p-late']));
      assert.equal((await tv.vault.logReader.entriesForSubject(TENANT, 'p-late')).entries.length, 0);
      await tv.vault.integrator.integrateNow();
      const found = await tv.vault.logReader.entriesForSubject(TENANT, 'p-late');
      assert.equal(found.entries.length, 1);
      assert.equal(found.entries[0]?.index, found.head.size - 1);
    });

    test('visibility: restricted by default, settable, TENANT_NOT_FOUND for a tenant without a log', async () => {
      assert.equal(await tv.vault.logReader.isPublic(TENANT), false);
      await tv.vault.logReader.setPublic(TENANT, true);
      assert.equal(await tv.vault.logReader.isPublic(TENANT), true);
      await tv.vault.logReader.setPublic(TENANT, false);
      assert.equal(await tv.vault.logReader.isPublic(TENANT), false);
      await rejectsWithCode(() => tv.vault.logReader.isPublic('nobody'), 'TENANT_NOT_FOUND');
      await rejectsWithCode(() => tv.vault.logReader.setPublic('nobody', true), 'TENANT_NOT_FOUND');
    });
  });
}
