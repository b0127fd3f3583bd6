/**
 * Sealers: pack/unpack (the worker's transfer format), the worker sealer against the inline one,
 * concurrency and ordering, the inline threshold, and that a sealer never holds the process open.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openWrappedKey } from '../../src/crypto/index.js';
import { wrappedKeyAad, type DataKey } from '../../src/keys/index.js';
import { parseCollectionSchema } from '../../src/schema/index.js';
import { decryptRecord } from '../../src/vault/record-crypto.js';
import { sealColumns, transferables, unpack, type RecordInput, type SealedColumns, type SealJob, type SealOutput } from '../../src/vault/seal-batch.js';
import { inlineSealer, workerSealer, WORKER_MIN_BATCH } from '../../src/vault/sealer.js';
import { RESIDENT_SCHEMA } from '../helpers/temp-vault.js';

const TENANT = '131016';
const COLLECTION_ID = 'col-0001';
const NOW = '2025-04-01T09:00:00.000Z';
const SCHEMA = parseCollectionSchema(RESIDENT_SCHEMA);

const KEYS = {
  indexKeys: SCHEMA.fields.filter((f) => f.searchable || f.unique).map((f) => [f.name, randomBytes(32)] as const),
  collectionKey: { version: 2, key: randomBytes(32) } as DataKey,
  tenantKey: { version: 1, key: randomBytes(32) } as DataKey,
  existing: { version: 5, key: randomBytes(32) } as DataKey,
};

/** Input i: mostly valid; every 17th invalid; subjects new (repeated), existing, or none. */
function input(i: number, tag = ''): RecordInput {
  if (i % 17 === 16) return { subjectId: 'P-new-1', fields: { family_name: `F${i}`, unknown_thing: 'x' } };
  const subjectId = i % 5 === 0 ? `P-new-${i % 3}` : i % 7 === 0 ? 'P-existing' : null;
  return {
    subjectId,
    fields: { family_name: `Ｆamily ${tag}${i}`, given_name: `G${i}`, resident_no: `R-${tag}${i}`, birth_date: '1990-01-02', income: `${i}.50`, household_size: (i % 50) + 1 },
  };
}

function makeJob(inputs: readonly RecordInput[], extra: Partial<SealJob> = {}): SealJob {
  return {
    tenantId: TENANT,
    collectionId: COLLECTION_ID,
    fields: SCHEMA.fields,
    indexKeys: KEYS.indexKeys,
    collectionKey: KEYS.collectionKey,
    tenantKey: KEYS.tenantKey,
    subjectKeys: [['P-existing', KEYS.existing]],
    inputs,
    ids: inputs.map(() => randomUUID()),
    version: 1,
    now: NOW,
    returnValues: false,
    ...extra,
  };
}

const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('hex'));

/** Every row of an output as plain comparable data (bytes as hex). */
function rowsOf(o: SealOutput) {
  return {
    records: o.records.map((r) => ({ ...r, ciphertext: hex(r.ciphertext), indexDigests: hex(r.indexDigests) })),
    index: o.index.map((r) => ({ ...r, digest: hex(r.digest) })),
    newKeys: o.newKeys.map((k) => ({ ...k, wrapped: hex(k.wrapped) })),
    rejected: o.rejected,
    positions: o.positions,
  };
}

/** The same, without what is random each run (ciphertexts, wrapped keys). */
function deterministicRowsOf(o: SealOutput) {
  const r = rowsOf(o);
  return {
    ...r,
    records: r.records.map(({ ciphertext: _c, ...rest }) => rest),
    newKeys: r.newKeys.map(({ wrapped: _w, ...rest }) => rest),
  };
}

/** The new subject keys of an output, unwrapped under the tenant key (as a reader gets them). */
function newKeysOf(o: SealOutput): Map<string, DataKey> {
  return new Map(o.newKeys.map((k) => [k.scopeId, { version: k.version, key: openWrappedKey(KEYS.tenantKey.key, k.wrapped, wrappedKeyAad(TENANT, 'subject', k.scopeId, k.version)) }]));
}

/** Decrypts every record of an output with the keys it should be under (new subject keys unwrapped from its own rows). */
function decryptAll(o: SealOutput): unknown[] {
  const material = newKeysOf(o);
  return o.records.map((r) => {
    const key = r.subjectId === null ? KEYS.collectionKey : r.subjectId === 'P-existing' ? KEYS.existing : material.get(r.subjectId);
    assert.ok(key, `key for ${r.subjectId}`);
    return decryptRecord(key.key, r.ciphertext, { tenantId: TENANT, collectionId: COLLECTION_ID, recordId: r.id, version: r.version, subjectId: r.subjectId, keyVersion: key.version });
  });
}

/** What a postMessage with a transfer list does to sealed columns. */
function throughTransfer(sealed: SealedColumns): SealedColumns {
  return structuredClone(sealed, { transfer: transferables(sealed) });
}

describe('sealColumns / unpack', () => {
  test('columns sent by transfer unpack to the same rows, bytes as Buffers, usable as they are', () => {
    const job = makeJob(Array.from({ length: 40 }, (_, i) => input(i)));
    const sealed = sealColumns(job);
    const before = rowsOf(unpack(sealed, job));
    assert.ok(before.records.length > 0 && before.newKeys.length > 0 && before.rejected.length > 0 && before.index.length > 0, 'a batch with every kind of row');
    const back = unpack(throughTransfer(sealed), job);
    assert.deepEqual(rowsOf(back), before);
    for (const r of back.records) {
      assert.ok(Buffer.isBuffer(r.ciphertext));
      assert.ok(Buffer.isBuffer(r.indexDigests));
    }
    for (const r of back.index) assert.ok(Buffer.isBuffer(r.digest));
    for (const k of back.newKeys) assert.ok(Buffer.isBuffer(k.wrapped));
    assert.equal(decryptAll(back).length, before.records.length);
  });

  test('an empty batch, and one with only rejections', () => {
    const none = makeJob([]);
    assert.deepEqual(rowsOf(unpack(throughTransfer(sealColumns(none)), none)), { records: [], index: [], newKeys: [], rejected: [], positions: [] });
    const bad = makeJob([input(16), { fields: null }]);
    const back = unpack(throughTransfer(sealColumns(bad)), bad);
    assert.deepEqual(rowsOf(back), { records: [], index: [], newKeys: [], rejected: back.rejected, positions: [] });
    assert.deepEqual(
      back.rejected.map((x) => x.index),
      [0, 1],
    );
  });

  for (const n of [1, 3, 30]) {
    test(`the transferred buffers are ArrayBuffers of their own, exactly each byte column's size (never Node's Buffer pool; ${n} records)`, () => {
      // Small Buffers (ciphertexts of short records, 16-byte digests) would be slices of the shared pool.
      const sealed = sealColumns(makeJob(Array.from({ length: n }, (_, i) => input(i * 5))));
      const arrays = [sealed.ciphertexts, sealed.indexDigests, sealed.digests, sealed.wrapped];
      const transfer = transferables(sealed);
      assert.equal(transfer.length, arrays.length);
      assert.equal(new Set(transfer).size, transfer.length, 'no ArrayBuffer listed twice');
      arrays.forEach((a, i) => {
        assert.equal(transfer[i], a.buffer);
        assert.equal(a.byteOffset, 0);
        assert.equal(transfer[i]?.byteLength, a.byteLength, 'the transferred buffer holds nothing but this column');
      });
      const sizes = arrays.map((a) => a.byteLength);
      throughTransfer(sealed);
      // Transferred, so detached here: the sender cannot keep (or leak) the bytes.
      assert.deepEqual(
        arrays.map((a) => a.byteLength),
        [0, 0, 0, 0],
      );
      assert.ok(sizes.every((s) => s > 0));
    });
  }

  test("a record row takes its id and subject from the job's input; unpacked against another job, its rows do not open", () => {
    const job = makeJob(Array.from({ length: 20 }, (_, i) => input(i)));
    const sealed = sealColumns(job);
    const rows = unpack(sealed, job);
    rows.records.forEach((r, i) => {
      const at = rows.positions[i] as number;
      assert.equal(r.id, job.ids[at]);
      assert.equal(r.subjectId, job.inputs[at]?.subjectId ?? null);
    });
    // Every new key row names the subject of a record sealed under it.
    const subjects = new Set(rows.records.map((r) => r.subjectId));
    assert.ok(rows.newKeys.length > 0 && rows.newKeys.every((k) => subjects.has(k.scopeId)));
    // Other ids: the AAD binds each ciphertext to its record id, so the rebuilt rows fail closed.
    const other = unpack(sealed, { ...job, ids: job.ids.map(() => randomUUID()) });
    assert.throws(() => decryptAll(other), (e: Error) => (e as { code?: string }).code === 'DECRYPTION_FAILED');
  });
});

describe("workerSealer(1, 'small')", () => {
  // `kuraban import` seals in workers with a small nursery (bounded memory): same output, only GC differs.
  const sealer = workerSealer(1, 'small');
  after(async () => {
    await sealer.close();
  });

  test('seals a batch exactly as the inline sealer does', async () => {
    const job = makeJob(Array.from({ length: 300 }, (_, i) => input(i)));
    const [viaWorker, viaInline] = [await sealer.seal(job), await inlineSealer().seal(job)];
    assert.ok(viaInline.records.length > 250);
    assert.deepEqual(deterministicRowsOf(viaWorker), deterministicRowsOf(viaInline));
    assert.deepEqual(decryptAll(viaWorker), decryptAll(viaInline));
  });
});

describe('workerSealer(1)', () => {
  const sealer = workerSealer(1);
  after(async () => {
    await sealer.close();
  });

  test('seals a batch of ≥ WORKER_MIN_BATCH records exactly as the inline sealer does', async () => {
    const inputs = Array.from({ length: 300 }, (_, i) => input(i));
    const job = makeJob(inputs);
    const viaWorker = await sealer.seal(job);
    const viaInline = await inlineSealer().seal(job);
    assert.ok(viaInline.records.length > 250 && viaInline.rejected.length > 10 && viaInline.newKeys.length === 3);
    assert.deepEqual(deterministicRowsOf(viaWorker), deterministicRowsOf(viaInline));
    assert.deepEqual(decryptAll(viaWorker), decryptAll(viaInline));
    // Random parts are really each side's own.
    const [w, i] = [newKeysOf(viaWorker), newKeysOf(viaInline)];
    assert.ok(w.size === 3 && [...w].every(([s, k]) => !k.key.equals(i.get(s)?.key as Buffer)));
    // The job's keys on this side were copied to the worker, not zeroed here.
    assert.ok(KEYS.tenantKey.key.some((b) => b !== 0) && KEYS.collectionKey.key.some((b) => b !== 0) && KEYS.existing.key.some((b) => b !== 0));
  });

  test('several batches at once: each answer belongs to its own batch, and they arrive in order', async () => {
    const jobs = ['a', 'b', 'c'].map((tag) => makeJob(Array.from({ length: 260 }, (_, i) => input(i, tag))));
    const arrival: number[] = [];
    const outs = await Promise.all(
      jobs.map((j, n) =>
        sealer.seal(j).then((o) => {
          arrival.push(n);
          return o;
        }),
      ),
    );
    assert.deepEqual(arrival, [0, 1, 2]);
    outs.forEach((o, n) => {
      const job = jobs[n] as SealJob;
      assert.deepEqual(
        o.records.map((r) => r.id),
        o.positions.map((p) => job.ids[p]),
      );
      assert.equal(o.records.length + o.rejected.length, 260);
      const values = decryptAll(o) as Array<{ resident_no: string }>;
      assert.deepEqual(
        values.map((v) => v.resident_no),
        o.positions.map((p) => `R-${'abc'[n]}${p}`),
      );
    });
  });

  test(`below ${WORKER_MIN_BATCH} records a batch is sealed inline, from ${WORKER_MIN_BATCH} on a worker (told apart by how a failure surfaces)`, async () => {
    // A record without a subject and no collection key: sealBatch throws. Inline, that error itself
    // surfaces; from a worker, only "sealing worker failed: <name>".
    const failing = (n: number) => makeJob(Array.from({ length: n }, (_, i) => ({ fields: { family_name: `F${i}`, given_name: 'G' } })), { collectionKey: null });
    await assert.rejects(sealer.seal(failing(WORKER_MIN_BATCH - 1)), { message: 'sealBatch: collection key missing' });
    await assert.rejects(sealer.seal(failing(WORKER_MIN_BATCH)), (e: Error) => /^sealing worker failed/.test(e.message) && !/collection key missing/.test(e.message));
    // The worker survives a failed batch.
    const ok = await sealer.seal(makeJob(Array.from({ length: WORKER_MIN_BATCH }, (_, i) => input(i))));
    assert.equal(ok.records.length + ok.rejected.length, WORKER_MIN_BATCH);
  });
});

describe('the process lifetime', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kuraban-sealer-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const script = join(dir, 'child.mjs');
  writeFileSync(
    script,
    `
import { randomBytes, randomUUID } from 'node:crypto';
import { workerSealer } from ${JSON.stringify(new URL('../../src/vault/sealer.js', import.meta.url).href)};
import { parseCollectionSchema } from ${JSON.stringify(new URL('../../src/schema/index.js', import.meta.url).href)};
const schema = parseCollectionSchema({ fields: [{ name: 'a', type: 'string', required: true, searchable: true }] });
const inputs = Array.from({ length: 300 }, (_, i) => ({ subjectId: i % 2 ? 'S-' + (i % 7) : null, fields: { a: 'v' + i } }));
const job = {
  tenantId: 't1', collectionId: 'c1', fields: schema.fields, indexKeys: [['a', randomBytes(32)]],
  collectionKey: { version: 1, key: randomBytes(32) }, tenantKey: { version: 1, key: randomBytes(32) }, subjectKeys: [],
  inputs, ids: inputs.map(() => randomUUID()), version: 1, now: new Date(0).toISOString(), returnValues: false,
};
const sealer = workerSealer(1);
const mode = process.argv[2];
if (mode === 'close') {
  const o = await sealer.seal(job);
  await sealer.close();
  console.log('sealed ' + o.records.length);
} else if (mode === 'idle') {
  const o = await sealer.seal(job);
  console.log('sealed ' + o.records.length);
} else {
  // Nothing but the pending batch keeps this process alive.
  sealer.seal(job).then((o) => console.log('sealed ' + o.records.length));
}
`,
  );

  function runChild(mode: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      // A generous limit: reaching it means the process was held open, which is the failure looked for.
      execFile(process.execPath, [script, mode], { timeout: 20_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: string }) | null;
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
      });
    });
  }

  for (const [mode, what] of [
    ['close', 'after close() the process exits'],
    ['idle', 'an idle worker does not hold the process open, even without close()'],
    ['pending', 'a pending batch keeps the process alive until it is sealed, then lets it exit'],
  ] as const) {
    test(what, async () => {
      const r = await runChild(mode);
      assert.equal(r.signal, null, `the process had to be killed (held open): ${r.stderr}`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'sealed 300');
    });
  }
});
