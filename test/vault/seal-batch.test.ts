/**
 * sealBatch(job), by hand: a job built here (no vault, no store) and every row it returns checked
 * against independent recomputation — decryption, key unwrapping, blind indexes, encoded digests.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { blindIndex, openWrappedKey, KEY_WRAP_FORMAT_KW } from '../../src/crypto/index.js';
import { wrappedKeyAad, type DataKey } from '../../src/keys/index.js';
import { normaliseForIndex, parseCollectionSchema, type FieldDef, type RecordValues } from '../../src/schema/index.js';
import { decodeIndexDigests } from '../../src/store/index-digests.js';
import type { IndexRow } from '../../src/store/index.js';
import { decryptRecord } from '../../src/vault/record-crypto.js';
import { sealBatch, type RecordInput, type SealJob, type SealOutput } from '../../src/vault/seal-batch.js';
import { reasons } from '../helpers/errors.js';
import { RESIDENT_SCHEMA } from '../helpers/temp-vault.js';

const TENANT = '131016';
const COLLECTION_ID = 'col-0001';
const NOW = '2025-04-01T09:00:00.000Z';
const SCHEMA = parseCollectionSchema(RESIDENT_SCHEMA);
const key32 = () => randomBytes(32);

/** Personal values that must never appear in a rejection. */
const SECRET_A = 'Yamada-SECRET-4711';
const SECRET_B = 'Hanako-SECRET-0815';
const SECRET_C = '京都市-SECRET-住所';

interface Keys {
  readonly indexKeys: Array<[string, Buffer]>;
  readonly collectionKey: DataKey;
  readonly tenantKey: DataKey;
  readonly existing: DataKey;
}

function makeKeys(): Keys {
  return {
    indexKeys: SCHEMA.fields.filter((f) => f.searchable || f.unique).map((f) => [f.name, key32()]),
    collectionKey: { version: 3, key: key32() },
    tenantKey: { version: 1, key: key32() },
    existing: { version: 2, key: key32() },
  };
}

function makeJob(keys: Keys, inputs: readonly RecordInput[], extra: Partial<SealJob> = {}): SealJob {
  return {
    tenantId: TENANT,
    collectionId: COLLECTION_ID,
    fields: SCHEMA.fields,
    indexKeys: keys.indexKeys,
    collectionKey: keys.collectionKey,
    tenantKey: keys.tenantKey,
    subjectKeys: [['P-existing', keys.existing]],
    inputs,
    ids: inputs.map(() => randomUUID()),
    version: 1,
    now: NOW,
    returnValues: false,
    ...extra,
  };
}

/** A mixed batch: valid and invalid, with and without subjects, a new subject appearing twice. */
const INPUTS: readonly RecordInput[] = [
  /* 0 */ {
    fields: {
      family_name: 'ＹＡＭＡＤＡ\u3000 Taro ',
      given_name: 'Taro',
      kana: 'ヤマダ',
      resident_no: 'R-0001',
      birth_date: '1980-02-03',
      income: '001200.50',
      household_size: 3,
      status: 'active',
      verified: true,
      address: { postal_code: '100-0001', line1: 'Chiyoda 1-1' },
    },
  },
  /* 1 */ { subjectId: 'P-new', fields: { family_name: 'Sato', given_name: 'Ichiro', resident_no: 'R-0002' } },
  /* 2 */ { subjectId: 'bad subject!', fields: { family_name: SECRET_A, given_name: 'x' } },
  /* 3 */ { subjectId: 'P-existing', fields: { family_name: 'Suzuki', given_name: 'Jiro', kana: null, income: 7 } },
  /* 4 */ { fields: { family_name: SECRET_A, given_name: 'x', nickname: SECRET_B, 'Not A Field Name': SECRET_C } },
  /* 5 */ { subjectId: 'P-new', fields: { family_name: 'Sato', given_name: 'Hanako', birth_date: '1982-12-31' } },
  /* 6 */ { subjectId: null, fields: { family_name: SECRET_A, address: { line1: SECRET_C } } },
  /* 7 */ { subjectId: 'P-other', fields: { family_name: 'Tanaka', given_name: 'Saburo', status: 'moved_out', verified: false } },
  /* 8 */ null as unknown as RecordInput,
  /* 9 */ { subjectId: '', fields: { family_name: 'Ok', given_name: 'Ok', household_size: SECRET_B } },
  /* 10 */ { subjectId: undefined, fields: { family_name: 'Ito', given_name: 'Shiro' } },
];

/** The canonical values each valid input must decrypt to (decimals canonical, nulls and absent optionals omitted). */
const CANONICAL: Record<number, RecordValues> = {
  0: {
    family_name: 'ＹＡＭＡＤＡ\u3000 Taro ',
    given_name: 'Taro',
    kana: 'ヤマダ',
    resident_no: 'R-0001',
    birth_date: '1980-02-03',
    income: '1200.5',
    household_size: 3,
    status: 'active',
    verified: true,
    address: { postal_code: '100-0001', line1: 'Chiyoda 1-1' },
  },
  1: { family_name: 'Sato', given_name: 'Ichiro', resident_no: 'R-0002' },
  3: { family_name: 'Suzuki', given_name: 'Jiro', income: '7' },
  5: { family_name: 'Sato', given_name: 'Hanako', birth_date: '1982-12-31' },
  7: { family_name: 'Tanaka', given_name: 'Saburo', status: 'moved_out', verified: false },
  10: { family_name: 'Ito', given_name: 'Shiro' },
};
const VALID = [0, 1, 3, 5, 7, 10];

function fieldDef(name: string): FieldDef {
  const f = SCHEMA.fields.find((x) => x.name === name);
  assert.ok(f, name);
  return f;
}

/** A new subject key, as a reader gets it: its row unwrapped under the tenant key. */
function newKeyOf(out: SealOutput, keys: Keys, subjectId: string): DataKey {
  const row = out.newKeys.find((k) => k.scopeId === subjectId);
  assert.ok(row, `a new key row for ${subjectId}`);
  return { version: row.version, key: openWrappedKey(keys.tenantKey.key, row.wrapped, wrappedKeyAad(TENANT, 'subject', subjectId, row.version)) };
}

function keyFor(out: SealOutput, keys: Keys, subjectId: string | null): DataKey {
  if (subjectId === null) return keys.collectionKey;
  if (subjectId === 'P-existing') return keys.existing;
  return newKeyOf(out, keys, subjectId);
}

/** Every byte sealBatch's output holds (each typed array's whole underlying buffer), to look for a secret in. */
function allBytesOf(value: unknown, seen = new Set<unknown>()): Buffer[] {
  if (value === null || typeof value !== 'object' || seen.has(value)) return [];
  seen.add(value);
  if (ArrayBuffer.isView(value)) return [Buffer.from(value.buffer)];
  return Object.values(value).flatMap((v) => allBytesOf(v, seen));
}

/** The index rows a record must have, recomputed from its canonical values. */
function expectedIndexRows(keys: Keys, recordId: string, values: RecordValues): IndexRow[] {
  const rows: IndexRow[] = [];
  for (const [name, k] of keys.indexKeys) {
    const v = values[name];
    if (v === undefined) continue;
    const f = fieldDef(name);
    rows.push({ collectionId: COLLECTION_ID, field: name, digest: blindIndex(k, normaliseForIndex(f, v)), recordId, unique: f.unique });
  }
  return rows;
}

describe('sealBatch', () => {
  const keys = makeKeys();
  const job = makeJob(keys, INPUTS);
  const out = sealBatch(job);

  test('one record row per valid input, in input order, positions pointing at the input index', () => {
    assert.deepEqual(out.positions, VALID);
    assert.equal(out.records.length, VALID.length);
    out.records.forEach((r, k) => {
      const i = VALID[k] as number;
      assert.equal(r.id, job.ids[i]);
      assert.equal(r.tenantId, TENANT);
      assert.equal(r.collectionId, COLLECTION_ID);
      assert.equal(r.version, 1);
      assert.equal(r.createdAt, NOW);
      assert.equal(r.updatedAt, NOW);
      assert.equal(r.subjectId, (INPUTS[i] as RecordInput).subjectId ?? null);
    });
  });

  test('invalid inputs are rejected with their index and reasons, and never their values', () => {
    assert.deepEqual(
      out.rejected.map((r) => r.index),
      [2, 4, 6, 8, 9],
    );
    const byIndex = new Map(out.rejected.map((r) => [r.index, reasons(r.problems)]));
    assert.deepEqual(byIndex.get(2), ['|subjectId|invalid_subject_id']);
    // The caller-chosen key that does not look like a field name is not echoed.
    assert.deepEqual(byIndex.get(4), ['|nickname|unknown_field', '||unknown_field']);
    assert.deepEqual(byIndex.get(6), ['|given_name|required']);
    assert.deepEqual(byIndex.get(8), ['||record_not_object']);
    assert.deepEqual(byIndex.get(9), ['|household_size|expected_integer', '|subjectId|invalid_subject_id']);
    const text = JSON.stringify(out.rejected);
    for (const secret of [SECRET_A, SECRET_B, SECRET_C, 'Not A Field Name', 'bad subject!']) assert.ok(!text.includes(secret), `rejection leaks ${secret}`);
    // No rejected input left an index row or a key behind.
    const rejectedIds = new Set(out.rejected.map((r) => job.ids[r.index]));
    assert.ok(out.index.every((row) => !rejectedIds.has(row.recordId)));
  });

  test('a subject key in subjectKeys is reused; each new subject gets exactly one new key, however often it appears', () => {
    assert.deepEqual(
      out.newKeys.map((k) => k.scopeId),
      ['P-new', 'P-other'],
    );
    for (const k of out.newKeys) {
      assert.equal(k.tenantId, TENANT);
      assert.equal(k.kind, 'subject');
      assert.equal(k.version, 1);
      assert.equal(k.createdAt, NOW);
    }
    const [pNew, pOther] = ['P-new', 'P-other'].map((s) => newKeyOf(out, keys, s).key);
    assert.equal(pNew?.length, 32);
    assert.ok(!pNew?.equals(pOther as Buffer), 'two subjects, two different keys');
    const bySubject = (s: string | null) => out.records.filter((r) => r.subjectId === s);
    assert.deepEqual(
      bySubject('P-existing').map((r) => r.keyVersion),
      [2],
    );
    assert.deepEqual(
      bySubject('P-new').map((r) => r.keyVersion),
      [1, 1],
    );
    assert.deepEqual(
      bySubject(null).map((r) => r.keyVersion),
      [3, 3],
      'records without a subject use the collection key',
    );
  });

  test('each ciphertext decrypts, under the key its subject (or the collection) should use, to exactly the canonical values', () => {
    out.records.forEach((r, k) => {
      const i = VALID[k] as number;
      const key = keyFor(out, keys, r.subjectId);
      const binding = { tenantId: TENANT, collectionId: COLLECTION_ID, recordId: r.id, version: 1, subjectId: r.subjectId, keyVersion: key.version };
      assert.deepEqual(decryptRecord(key.key, r.ciphertext, binding), CANONICAL[i]);
    });
    // Both records of P-new are under the same (one) new key.
    const pNew = newKeyOf(out, keys, 'P-new').key;
    for (const r of out.records.filter((x) => x.subjectId === 'P-new')) {
      assert.ok(decryptRecord(pNew, r.ciphertext, { tenantId: TENANT, collectionId: COLLECTION_ID, recordId: r.id, version: 1, subjectId: 'P-new', keyVersion: 1 }));
    }
  });

  test('a new subject key leaves sealBatch only wrapped: its clear bytes are nowhere in the output', () => {
    const bytes = allBytesOf(out);
    assert.ok(bytes.length >= 4, 'the output holds ciphertexts, digests, encoded entries and wrapped keys');
    for (const s of ['P-new', 'P-other']) {
      const clear = newKeyOf(out, keys, s).key;
      for (const b of bytes) assert.equal(b.indexOf(clear), -1, `${s}'s clear key in an output buffer`);
    }
    // The check can see a key: the existing subject key, which the job carried, is found in the job.
    assert.ok(allBytesOf(job).some((b) => b.indexOf(keys.existing.key) >= 0));
  });

  test('a new subject key unwraps under the tenant key, bound to its tenant, kind, subject and version', () => {
    for (const [n, row] of out.newKeys.entries()) {
      assert.equal(row.wrapped[0], KEY_WRAP_FORMAT_KW, 'new subject keys are wrapped in format 2 (batched AES-KW)');
      const unwrapped = openWrappedKey(keys.tenantKey.key, row.wrapped, wrappedKeyAad(TENANT, 'subject', row.scopeId, 1));
      // It is the key the subject's records are sealed under.
      for (const r of out.records.filter((x) => x.subjectId === row.scopeId)) {
        assert.ok(decryptRecord(unwrapped, r.ciphertext, { tenantId: TENANT, collectionId: COLLECTION_ID, recordId: r.id, version: 1, subjectId: row.scopeId, keyVersion: 1 }));
      }
      // Bound to the subject: the other subject's AAD does not open it.
      const other = out.newKeys[1 - n]?.scopeId as string;
      assert.throws(() => openWrappedKey(keys.tenantKey.key, row.wrapped, wrappedKeyAad(TENANT, 'subject', other, 1)));
    }
  });

  test('blind-index rows equal blindIndex(fieldKey, normaliseForIndex(field, value)) for indexed fields present', () => {
    const expected = out.records.flatMap((r, k) => expectedIndexRows(keys, r.id, CANONICAL[VALID[k] as number] as RecordValues));
    assert.deepEqual(out.index, expected);
    // Normalisation really happened: full-width letters and the ideographic space folded, ends trimmed.
    const familyKey = keys.indexKeys.find(([f]) => f === 'family_name')?.[1] as Buffer;
    const row0 = out.index.find((r) => r.recordId === job.ids[0] && r.field === 'family_name');
    assert.ok(row0?.digest.equals(blindIndex(familyKey, 'YAMADA Taro')));
    // given_name is neither searchable nor unique: never indexed.
    assert.ok(out.index.every((r) => r.field !== 'given_name'));
    assert.deepEqual(
      out.index.filter((r) => r.unique).map((r) => r.field),
      ['resident_no', 'resident_no'],
    );
  });

  test("each record's indexDigests decodes to exactly that record's index rows", () => {
    for (const r of out.records) {
      assert.ok(r.indexDigests);
      const decoded = decodeIndexDigests(r.indexDigests, COLLECTION_ID, r.id);
      assert.deepEqual(
        decoded,
        out.index.filter((row) => row.recordId === r.id),
      );
    }
    const last = out.records.at(-1);
    assert.equal(last?.indexDigests?.length, 3 + 'family_name'.length + 16, 'record 10 has one indexed field');
  });

  test('returnValues controls values: absent when false, canonical values in record order when true', () => {
    assert.equal(out.values, undefined);
    assert.ok(!('values' in out));
    const withValues = sealBatch({ ...job, returnValues: true });
    assert.deepEqual(
      withValues.values,
      VALID.map((i) => CANONICAL[i]),
    );
  });

  test('the job is not consumed: its keys stay intact and a second run creates fresh keys and ciphertexts', () => {
    const again = sealBatch(job);
    assert.deepEqual(again.positions, out.positions);
    assert.deepEqual(again.index, out.index, 'blind indexes are deterministic');
    assert.ok(!newKeyOf(again, keys, 'P-new').key.equals(newKeyOf(out, keys, 'P-new').key), 'a new subject key is random each time');
    assert.ok(!again.records[0]?.ciphertext.equals(out.records[0]?.ciphertext as Buffer), 'fresh nonce');
    const r = again.records[0];
    assert.ok(r);
    assert.deepEqual(decryptRecord(keys.collectionKey.key, r.ciphertext, { tenantId: TENANT, collectionId: COLLECTION_ID, recordId: r.id, version: 1, subjectId: null, keyVersion: 3 }), CANONICAL[0]);
  });

  test('the job version goes into the rows and the binding; a new subject key still starts at version 1', () => {
    const k = makeKeys();
    const j = makeJob(k, [{ subjectId: 'P-7', fields: { family_name: 'A', given_name: 'B' } }], { version: 4 });
    const o = sealBatch(j);
    const r = o.records[0];
    assert.ok(r);
    assert.equal(r.version, 4);
    assert.equal(r.keyVersion, 1);
    assert.equal(o.newKeys[0]?.version, 1);
    const key = newKeyOf(o, k, 'P-7').key;
    const binding = { tenantId: TENANT, collectionId: COLLECTION_ID, recordId: r.id, version: 4, subjectId: 'P-7', keyVersion: 1 };
    assert.deepEqual(decryptRecord(key, r.ciphertext, binding), { family_name: 'A', given_name: 'B' });
    assert.throws(() => decryptRecord(key, r.ciphertext, { ...binding, version: 1 }));
  });

  test('a record over the size limit is rejected as record_too_large, without its value', () => {
    const big = parseCollectionSchema({ fields: [1, 2, 3].map((n) => ({ name: `text_${n}`, type: 'string', maxLength: 100_000 })) });
    const value = '𠮷'.repeat(30_000) + SECRET_A; // 4 UTF-8 bytes each: three fields ≈ 360 KB > 256 KiB
    const k = makeKeys();
    const o = sealBatch(
      makeJob(k, [{ fields: { text_1: 'small' } }, { fields: { text_1: value, text_2: value, text_3: value } }], {
        fields: big.fields,
        indexKeys: [],
        subjectKeys: [],
      }),
    );
    assert.deepEqual(o.positions, [0]);
    assert.deepEqual(o.rejected, [{ index: 1, problems: [{ reason: 'record_too_large' }] }]);
  });

  test('a batch needing no collection key may go without one; a record without a subject then fails loudly', () => {
    const k = makeKeys();
    const o = sealBatch(makeJob(k, [{ subjectId: 'P-1', fields: { family_name: 'A', given_name: 'B' } }], { collectionKey: null }));
    assert.equal(o.records.length, 1);
    assert.throws(() => sealBatch(makeJob(k, [{ fields: { family_name: 'A', given_name: 'B' } }], { collectionKey: null })), /collection key missing/);
  });

  test('an all-invalid batch: no records, no index rows, no keys', () => {
    const k = makeKeys();
    const o = sealBatch(makeJob(k, [{ subjectId: 'P-x', fields: {} }, { fields: { family_name: 1 } }]));
    assert.deepEqual(
      [o.records, o.index, o.newKeys, o.positions],
      [[], [], [], []],
    );
    assert.deepEqual(
      o.rejected.map((r) => r.index),
      [0, 1],
    );
  });
});
