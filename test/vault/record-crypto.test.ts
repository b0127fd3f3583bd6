import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import fc from 'fast-check';
import { openKeyFileProvider } from '../../src/keys/index.js';
import { KurabanError } from '../../src/errors/index.js';
import { normaliseText } from '../../src/schema/index.js';
import { createRecordIdGenerator, createVault, decryptRecord, encryptRecord, type Vault } from '../../src/vault/index.js';
import { BACKENDS, createTempVault, RESIDENT_SCHEMA, type TempVault } from '../helpers/temp-vault.js';
import { openRawDb, sqlitePath, type RawDb, type RawRow } from '../helpers/raw-db.js';
import { DECRYPTION_FAILURE_SHAPE, decryptionFailureShape, kurabanErrorOf } from '../helpers/errors.js';
import { BLOB_REGIONS, flipByte } from '../helpers/tamper.js';
import { once } from '../helpers/once.js';

// ---------------------------------------------------------------------------------------------
// Arbitrary valid records of RESIDENT_SCHEMA, with the canonical values the vault must return.

const SPECIAL = [
  '𠮷', '葛󠄀', '\u3000', '"', "'", '\\', '`', "'; DROP TABLE records; --", '" OR ""="', '$(rm -rf /)', '; cat /etc/passwd |', '%_*?',
  '\u200d', '👨‍👩‍👧', 'ｶﾞｷﾞｸﾞ', 'ＡＢＣ', '\r\n\t', '<script>alert(1)</script>', '${x}', '\uFEFF', 'é', 'e\u0301', '\u00a0', '髙﨑', '①②',
];
const text = (maxParts: number) =>
  fc
    .array(fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ maxLength: 6 })), { maxLength: maxParts })
    .map((parts) => parts.join('').replaceAll('\u0000', ''));

const isoDate = fc
  .tuple(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }))
  .map(([y, m, d]) => {
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] as number;
    return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(Math.min(d, days)).padStart(2, '0')}`;
  });

/** A decimal within the default precision 28 / scale 10, written in some non-canonical way, with its canonical text. */
const decimal = fc
  .record({
    neg: fc.boolean(),
    int: fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }),
    frac: fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 10 }),
    lead: fc.nat(3),
    trail: fc.nat(3),
    plus: fc.boolean(),
  })
  .map(({ neg, int, frac, lead, trail, plus }) => {
    const f = frac.replace(/0+$/, '');
    const body = f.length > 0 ? `${int}.${f}` : `${int}`;
    const canonical = neg && body !== '0' ? `-${body}` : body;
    const sign = neg ? '-' : plus ? '+' : '';
    const written = `${sign}${'0'.repeat(lead)}${int}${frac.length + trail > 0 ? `.${frac}${'0'.repeat(trail)}` : ''}`;
    return { written, canonical };
  });

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 4 });

const residentInput = fc.record(
  {
    family_name: text(10),
    given_name: text(10),
    kana: optional(text(6)),
    resident_no: optional(text(4)),
    birth_date: optional(isoDate),
    income: optional(decimal),
    household_size: optional(fc.integer({ min: 1, max: 50 })),
    status: optional(fc.constantFrom('active', 'moved_out')),
    verified: optional(fc.boolean()),
    address: optional(fc.record({ postal_code: optional(text(3)), line1: optional(text(8)) }, { requiredKeys: [] })),
  },
  { requiredKeys: ['family_name', 'given_name'] },
);
type ResidentInput = typeof residentInput extends fc.Arbitrary<infer T> ? T : never;

let uniqueRun = 0;
/** The JSON a client would send, and what the vault must give back. */
function toInputAndExpected(r: ResidentInput): { input: Record<string, unknown>; expected: Record<string, unknown> } {
  const input: Record<string, unknown> = {};
  const expected: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (k === 'income' && v !== null && v !== undefined) {
      input[k] = (v as { written: string }).written;
      expected[k] = (v as { canonical: string }).canonical;
    } else if (k === 'resident_no' && typeof v === 'string') {
      const unique = `R${++uniqueRun}:${v}`; // the field is unique: keep runs from colliding
      input[k] = unique;
      expected[k] = unique;
    } else if (k === 'address' && v !== null && v !== undefined) {
      const inner = Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== null));
      input[k] = v;
      expected[k] = inner;
    } else {
      input[k] = v;
      if (v !== null && v !== undefined) expected[k] = v;
    }
  }
  return { input, expected };
}

// ---------------------------------------------------------------------------------------------

describe('record encryption binds the ciphertext to where it belongs (AAD)', () => {
  const binding = fc.record({
    tenantId: fc.string({ maxLength: 12 }),
    collectionId: fc.string({ maxLength: 12 }),
    recordId: fc.string({ maxLength: 12 }),
    version: fc.integer({ min: 1, max: 2 ** 31 }),
    subjectId: fc.option(fc.string({ maxLength: 12 }), { nil: null }),
    keyVersion: fc.integer({ min: 1, max: 2 ** 31 }),
  });
  type Binding = typeof binding extends fc.Arbitrary<infer T> ? T : never;
  const components = ['tenantId', 'collectionId', 'recordId', 'version', 'subjectId', 'keyVersion'] as const;

  test('round trip, and a change to any single AAD component fails with the one error', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        binding,
        fc.constantFrom(...components),
        fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: 1, max: 2 ** 31 }), fc.constant(null)),
        (keyBytes, b, which, raw) => {
          const key = Buffer.from(keyBytes);
          const values = { family_name: '山田', n: b.version };
          const ct = encryptRecord(key, values, b);
          assert.deepEqual(decryptRecord(key, ct, b), values);
          let changed: unknown;
          if (which === 'version' || which === 'keyVersion') changed = typeof raw === 'number' ? raw : (b[which] as number) + 1;
          else if (which === 'subjectId') changed = raw === null || typeof raw === 'string' ? raw : String(raw);
          else changed = typeof raw === 'string' ? raw : `${b[which]}x`;
          fc.pre(changed !== b[which]);
          const other = { ...b, [which]: changed } as Binding;
          assert.throws(() => decryptRecord(key, ct, other), (e: unknown) => e instanceof KurabanError && decryptionFailureShape(e) === DECRYPTION_FAILURE_SHAPE);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a subject scope and the collection scope never share an AAD', () => {
    const key = randomBytes(32);
    const b = { tenantId: 't', collectionId: 'c', recordId: 'r', version: 1, subjectId: 'collection', keyVersion: 1 };
    const ct = encryptRecord(key, { a: 1 }, b);
    assert.throws(() => decryptRecord(key, ct, { ...b, subjectId: null }), (e: unknown) => e instanceof KurabanError && e.code === 'DECRYPTION_FAILED');
  });

  test('ciphertext that opens but is not JSON fails the same way', async () => {
    const { seal } = await import('../../src/crypto/index.js');
    const { recordAad } = await import('../../src/vault/index.js');
    const key = randomBytes(32);
    const b = { tenantId: 't', collectionId: 'c', recordId: 'r', version: 1, subjectId: null, keyVersion: 1 };
    const ct = seal(key, Buffer.from('{not json'), recordAad(b));
    assert.throws(() => decryptRecord(key, ct, b), (e: unknown) => e instanceof KurabanError && decryptionFailureShape(e) === DECRYPTION_FAILURE_SHAPE);
  });
});

describe('batch AAD encoders', () => {
  test('recordAadEncoder and wrappedKeyAadEncoder give byte for byte recordAad and wrappedKeyAad', async () => {
    const { recordAad, recordAadEncoder } = await import('../../src/vault/record-crypto.js');
    const { wrappedKeyAad, wrappedKeyAadEncoder } = await import('../../src/keys/index.js');
    const rec = recordAadEncoder('131016', 'col-1');
    const wrap = wrappedKeyAadEncoder('131016', 'subject');
    for (const [recordId, version, subjectId, keyVersion] of [['r1', 1, null, 1], ['r2', 7, 'P-𠮷', 3], ['r3', 2, 'collection', 12]] as const) {
      assert.deepEqual(rec(recordId, version, subjectId, keyVersion), recordAad({ tenantId: '131016', collectionId: 'col-1', recordId, version, subjectId, keyVersion }));
      if (subjectId !== null) assert.deepEqual(wrap(subjectId, keyVersion), wrappedKeyAad('131016', 'subject', subjectId, keyVersion));
    }
  });
});

for (const backend of BACKENDS) {
  describe(`records at rest (${backend})`, () => {
    let tv: TempVault | undefined;
    let vault: Vault;
    let raw: RawDb;

    beforeEach(once(async () => {
      tv = await createTempVault(backend);
      vault = tv.vault;
      raw = await openRawDb(tv.location);
    }));
    after(async () => {
      await raw?.close();
      await tv?.cleanup();
    });

    async function freshVault(): Promise<Vault> {
      assert.ok(tv);
      return createVault({ store: tv.store, provider: await openKeyFileProvider(tv.location.keyFile), sealWorkers: 0 });
    }

    test('property: any valid record reads back as exactly its canonical values, and is found by its name', async () => {
      await vault.tenants.create('roundtrip', 'Round Trip City');
      await vault.collections.create('roundtrip', 'residents', RESIDENT_SCHEMA);
      const written: Array<{ id: string; expected: Record<string, unknown> }> = [];
      await fc.assert(
        fc.asyncProperty(residentInput, fc.option(fc.constantFrom('P-1', 'P-2', 'P-3'), { nil: undefined }), async (r, subjectId) => {
          const { input, expected } = toInputAndExpected(r);
          const made = await vault.records.create('roundtrip', 'residents', { fields: input, ...(subjectId ? { subjectId } : {}) });
          assert.deepEqual(made.fields, expected);
          const got = await vault.records.get('roundtrip', 'residents', made.id);
          assert.deepEqual(got.fields, expected);
          assert.equal(got.subjectId, subjectId ?? null);
          const found = await vault.records.search('roundtrip', 'residents', { family_name: input.family_name }, { limit: 1000 });
          assert.ok(found.records.some((x) => x.id === made.id), 'found by family_name');
          assert.ok(found.records.every((x) => normaliseText(x.fields.family_name as string) === normaliseText(input.family_name as string)));
          written.push({ id: made.id, expected });
        }),
        { numRuns: 100 },
      );
      const reader = await freshVault();
      try {
        for (const w of written) assert.deepEqual((await reader.records.get('roundtrip', 'residents', w.id)).fields, w.expected);
      } finally {
        await reader.close();
      }
    });

    test('the database never holds a personal value in clear (every table, every text and binary column; the SQLite files)', async () => {
      const canaries = ['Zq蔵番Canary𠮷Family', 'CanaryGiven葛󠄀Name', 'ｶﾅﾘｱﾃｽﾄｶﾅ', 'CANARY-RES-99887766', 'Canary Street 1-2-3 蔵番', '987654321.123', '1901-02-03'];
      await vault.tenants.create('plaintext', 'Plaintext City');
      await vault.collections.create('plaintext', 'residents', RESIDENT_SCHEMA);
      const fields = {
        family_name: canaries[0],
        given_name: canaries[1],
        kana: canaries[2],
        resident_no: canaries[3],
        address: { line1: canaries[4] },
        income: canaries[5],
        birth_date: canaries[6],
      };
      const SUBJECT = 'SUBJ-VISIBLE-4242'; // subject ids are pseudonymous handles, stored in clear by design
      const a = await vault.records.create('plaintext', 'residents', { subjectId: SUBJECT, fields });
      const b = await vault.records.create('plaintext', 'residents', { fields: { ...fields, resident_no: `${canaries[3]}-2`, given_name: `${canaries[1]}-2` } });
      await vault.records.update('plaintext', 'residents', b.id, 1, { fields: { ...fields, resident_no: `${canaries[3]}-3`, given_name: `${canaries[1]}-3` } });
      const batch = await vault.records.createMany('plaintext', 'residents', [{ fields: { ...fields, resident_no: `${canaries[3]}-4` } }], { mode: 'skip-invalid' });
      assert.equal(batch.created.length, 1);
      assert.equal((await vault.records.search('plaintext', 'residents', { family_name: canaries[0] }, { limit: 10 })).records.length, 3);
      assert.equal((await vault.records.get('plaintext', 'residents', a.id)).fields.family_name, canaries[0]);
      const needles = [...new Set(canaries.flatMap((c) => [c, c.normalize('NFKC'), normaliseText(c)]))];
      const needleBytes = needles.flatMap((n) => [Buffer.from(n, 'utf8'), Buffer.from(n, 'utf16le')]);
      const leaks = (value: unknown): string[] => {
        if (typeof value === 'string') return needles.filter((n) => value.includes(n));
        if (Buffer.isBuffer(value)) return needleBytes.filter((n) => value.indexOf(n) !== -1).map((n) => n.toString('hex'));
        return [];
      };
      const found: string[] = [];
      let subjectSeen = false;
      for (const table of await raw.tables()) {
        const rows: RawRow[] = await raw.all(`select * from ${table}`);
        for (const row of rows) {
          for (const [col, value] of Object.entries(row)) {
            for (const l of leaks(value)) found.push(`${table}.${col}: ${l}`);
            if (value === SUBJECT) subjectSeen = true;
          }
        }
      }
      assert.ok(subjectSeen, 'the scan sees clear columns (control: the subject id is found)');
      assert.deepEqual(found, []);
      if (backend === 'sqlite') {
        assert.ok(tv);
        const files = [sqlitePath(tv.location), `${sqlitePath(tv.location)}-wal`].filter(existsSync).map((p) => readFileSync(p));
        const all = Buffer.concat(files);
        assert.ok(all.indexOf(Buffer.from(SUBJECT)) !== -1, 'the file scan sees stored bytes (control: the subject id is found)');
        assert.deepEqual(needleBytes.filter((n) => all.indexOf(n) !== -1).map((n) => n.toString('utf8')), []);
      }
    });

    describe('tamper detection: any change to stored bytes or to what they are bound to fails with the one indistinguishable error', () => {
      interface Ref {
        readonly tenant: string;
        readonly collection: string;
        readonly collectionId: string;
        readonly id: string;
      }
      const refs: Record<string, Ref> = {};
      const collectionIds: Record<string, string> = {};
      const newId = createRecordIdGenerator();

      beforeEach(once(async () => {
        for (const t of ['tamper-a', 'tamper-b']) await vault.tenants.create(t, 'Tamper City');
        for (const [t, c] of [['tamper-a', 'residents'], ['tamper-a', 'staff'], ['tamper-b', 'residents']] as const) {
          collectionIds[`${t}/${c}`] = (await vault.collections.create(t, c, RESIDENT_SCHEMA)).id;
        }
        const put = async (name: string, tenant: string, collection: string, subjectId: string | null) => {
          const rec = await vault.records.create(tenant, collection, { subjectId, fields: { family_name: `改ざん${name}`, given_name: '検出', kana: 'カイザン' } });
          refs[name] = { tenant, collection, collectionId: collectionIds[`${tenant}/${collection}`] as string, id: rec.id };
        };
        await put('r1', 'tamper-a', 'residents', 'S1');
        await put('r2', 'tamper-a', 'residents', 'S1');
        await put('r3', 'tamper-a', 'residents', null);
        await put('r4', 'tamper-a', 'staff', 'S1');
        await put('r5', 'tamper-b', 'residents', 'S1');
        await put('r6', 'tamper-a', 'residents', 'S2');
        await put('r7', 'tamper-a', 'residents', null);
      }));

      const ref = (name: string) => refs[name] as Ref;
      const recordRow = async (r: Ref) => (await raw.all(`select * from records where collection_id = ? and id = ?`, [r.collectionId, r.id]))[0] as RawRow;
      const setRecord = (r: Ref, column: string, value: unknown) => raw.run(`update records set ${column} = ? where collection_id = ? and id = ?`, [value, r.collectionId, r.id]);
      const keyRowOf = (which: 'subject' | 'subject2' | 'collection' | 'index' | 'staff' | 'tenant' | 'tenant-b') => {
        const a = 'tamper-a';
        const res = collectionIds['tamper-a/residents'] as string;
        switch (which) {
          case 'subject':
            return [a, 'subject', 'S1'];
          case 'subject2':
            return [a, 'subject', 'S2'];
          case 'collection':
            return [a, 'collection', res];
          case 'index':
            return [a, 'index', res];
          case 'staff':
            return [a, 'collection', collectionIds['tamper-a/staff'] as string];
          case 'tenant':
            return [a, 'tenant', a];
          case 'tenant-b':
            return ['tamper-b', 'tenant', 'tamper-b'];
        }
      };
      const wrappedOf = async (which: Parameters<typeof keyRowOf>[0]) =>
        (await raw.all(`select wrapped from wrapped_keys where tenant_id = ? and kind = ? and scope_id = ? and version = 1`, keyRowOf(which)))[0]?.wrapped as Buffer;
      const setWrapped = (which: Parameters<typeof keyRowOf>[0], wrapped: Buffer) =>
        raw.run(`update wrapped_keys set wrapped = ? where tenant_id = ? and kind = ? and scope_id = ? and version = 1`, [wrapped, ...keyRowOf(which)]);

      type Read = { tenant: string; collection: string; id: string };
      /** `read`: where the tampered record is read; `restored`: where it reads fine again after `undo` (default: `read`). */
      type Applied = { read: Read; undo: () => Promise<unknown>; restored?: Read };
      const readOf = (r: Ref, id = r.id): Read => ({ tenant: r.tenant, collection: r.collection, id });

      const tamper = fc.oneof(
        fc.record({ kind: fc.constant('ciphertext-byte' as const), rec: fc.constantFrom('r1', 'r3', 'r4', 'r5', 'r6'), region: fc.constantFrom(...BLOB_REGIONS), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
        fc.record({ kind: fc.constant('ciphertext-length' as const), rec: fc.constantFrom('r1', 'r3'), cut: fc.nat(), append: fc.boolean() }),
        fc.record({ kind: fc.constant('record-version' as const), rec: fc.constantFrom('r1', 'r3'), to: fc.integer({ min: 2, max: 1000 }) }),
        fc.record({ kind: fc.constant('key-version' as const), rec: fc.constantFrom('r1', 'r3'), copyKey: fc.boolean() }),
        fc.record({ kind: fc.constant('subject-id' as const), change: fc.constantFrom(['r1', 'S2'], ['r1', null], ['r1', 'S-none'], ['r3', 'S1'], ['r6', 'S1']) }),
        fc.record({ kind: fc.constant('record-id' as const), rec: fc.constantFrom('r1', 'r3') }),
        fc.record({ kind: fc.constant('swap-ciphertexts' as const), pair: fc.constantFrom(['r1', 'r2'], ['r3', 'r7']) }),
        fc.record({ kind: fc.constant('other-collection' as const), how: fc.constantFrom('copy', 'move') }),
        fc.record({ kind: fc.constant('other-tenant' as const), how: fc.constantFrom('copy', 'move') }),
        fc.record({ kind: fc.constant('wrapped-key-byte' as const), which: fc.constantFrom('subject', 'collection', 'tenant'), region: fc.constantFrom(...BLOB_REGIONS), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
        fc.record({ kind: fc.constant('wrapped-key-moved' as const), how: fc.constantFrom('subject-swap', 'kind-swap', 'scope-copy', 'tenant-copy') }),
        fc.record({ kind: fc.constant('wrapped-key-version' as const), which: fc.constantFrom('subject', 'collection', 'tenant') }),
      );
      type Tamper = typeof tamper extends fc.Arbitrary<infer T> ? T : never;

      async function apply(t: Tamper): Promise<Applied> {
        switch (t.kind) {
          case 'ciphertext-byte': {
            const r = ref(t.rec);
            const original = (await recordRow(r)).ciphertext as Buffer;
            await setRecord(r, 'ciphertext', flipByte(original, t.region, t.at, t.mask));
            return { read: readOf(r), undo: () => setRecord(r, 'ciphertext', original) };
          }
          case 'ciphertext-length': {
            const r = ref(t.rec);
            const original = (await recordRow(r)).ciphertext as Buffer;
            await setRecord(r, 'ciphertext', t.append ? Buffer.concat([original, Buffer.from([t.cut & 0xff])]) : original.subarray(0, t.cut % original.length));
            return { read: readOf(r), undo: () => setRecord(r, 'ciphertext', original) };
          }
          case 'record-version': {
            const r = ref(t.rec);
            await setRecord(r, 'version', t.to);
            return { read: readOf(r), undo: () => setRecord(r, 'version', 1) };
          }
          case 'key-version': {
            const r = ref(t.rec);
            const row = await recordRow(r);
            const [tenant, kind, scope] = row.subject_id === null ? keyRowOf('collection') : [r.tenant, 'subject', row.subject_id as string];
            if (t.copyKey) {
              const [k] = await raw.all(`select * from wrapped_keys where tenant_id = ? and kind = ? and scope_id = ? and version = 1`, [tenant, kind, scope]);
              await raw.run(`insert into wrapped_keys (tenant_id, kind, scope_id, version, wrapped, created_at) values (?, ?, ?, 2, ?, ?)`, [tenant, kind, scope, k?.wrapped, k?.created_at]);
            }
            await setRecord(r, 'key_version', 2);
            return {
              read: readOf(r),
              undo: async () => {
                await setRecord(r, 'key_version', 1);
                await raw.run(`delete from wrapped_keys where tenant_id = ? and kind = ? and scope_id = ? and version = 2`, [tenant, kind, scope]);
              },
            };
          }
          case 'subject-id': {
            const [name, to] = t.change as [string, string | null];
            const r = ref(name);
            const original = (await recordRow(r)).subject_id;
            await setRecord(r, 'subject_id', to);
            return { read: readOf(r), undo: () => setRecord(r, 'subject_id', original) };
          }
          case 'record-id': {
            const r = ref(t.rec);
            const renamed = newId();
            await setRecord(r, 'id', renamed);
            return { read: readOf(r, renamed), restored: readOf(r), undo: () => raw.run(`update records set id = ? where collection_id = ? and id = ?`, [r.id, r.collectionId, renamed]) };
          }
          case 'swap-ciphertexts': {
            const [x, y] = (t.pair as [string, string]).map(ref) as [Ref, Ref];
            const cx = (await recordRow(x)).ciphertext as Buffer;
            const cy = (await recordRow(y)).ciphertext as Buffer;
            await setRecord(x, 'ciphertext', cy);
            await setRecord(y, 'ciphertext', cx);
            return { read: readOf(x), undo: async () => ((await setRecord(x, 'ciphertext', cx)), await setRecord(y, 'ciphertext', cy)) };
          }
          case 'other-collection':
          case 'other-tenant': {
            // r1 (tamper-a/residents, S1) into r4 (tamper-a/staff, S1) or r5 (tamper-b/residents, S1): same subject id and versions.
            const from = ref('r1');
            const to = ref(t.kind === 'other-collection' ? 'r4' : 'r5');
            if (t.how === 'copy') {
              const original = (await recordRow(to)).ciphertext as Buffer;
              await setRecord(to, 'ciphertext', (await recordRow(from)).ciphertext);
              return { read: readOf(to), undo: () => setRecord(to, 'ciphertext', original) };
            }
            await raw.run(`update records set tenant_id = ?, collection_id = ? where collection_id = ? and id = ?`, [to.tenant, to.collectionId, from.collectionId, from.id]);
            return {
              read: { tenant: to.tenant, collection: to.collection, id: from.id },
              restored: readOf(from),
              undo: () => raw.run(`update records set tenant_id = ?, collection_id = ? where collection_id = ? and id = ?`, [from.tenant, from.collectionId, to.collectionId, from.id]),
            };
          }
          case 'wrapped-key-byte': {
            const original = await wrappedOf(t.which);
            await setWrapped(t.which, flipByte(original, t.region, t.at, t.mask) as Buffer);
            return { read: readOf(ref(t.which === 'subject' ? 'r1' : 'r3')), undo: () => setWrapped(t.which, original) };
          }
          case 'wrapped-key-moved': {
            const [target, source, read] =
              t.how === 'subject-swap'
                ? (['subject', 'subject2', 'r1'] as const)
                : t.how === 'kind-swap'
                  ? (['collection', 'index', 'r3'] as const)
                  : t.how === 'scope-copy'
                    ? (['collection', 'staff', 'r3'] as const)
                    : (['tenant', 'tenant-b', 'r3'] as const);
            const original = await wrappedOf(target);
            await setWrapped(target, await wrappedOf(source));
            return { read: readOf(ref(read)), undo: () => setWrapped(target, original) };
          }
          case 'wrapped-key-version': {
            const key = keyRowOf(t.which);
            await raw.run(`update wrapped_keys set version = 2 where tenant_id = ? and kind = ? and scope_id = ? and version = 1`, key);
            return {
              read: readOf(ref(t.which === 'subject' ? 'r1' : 'r3')),
              undo: () => raw.run(`update wrapped_keys set version = 1 where tenant_id = ? and kind = ? and scope_id = ? and version = 2`, key),
            };
          }
        }
      }

      test('property: every tampering makes the read fail with DECRYPTION_FAILED / "decryption operation failed"; undoing it restores the read', async () => {
        const shapes = new Set<string>();
        const kinds = new Set<string>();
        const read = async (r: Read) => {
          const reader = await freshVault();
          try {
            return await reader.records.get(r.tenant, r.collection, r.id);
          } finally {
            await reader.close();
          }
        };
        await fc.assert(
          fc.asyncProperty(tamper, async (t) => {
            const applied = await apply(t);
            try {
              const e = await kurabanErrorOf(() => read(applied.read));
              shapes.add(decryptionFailureShape(e));
              assert.equal(decryptionFailureShape(e), DECRYPTION_FAILURE_SHAPE, `${JSON.stringify(t)}: ${e.code} ${e.message}`);
            } finally {
              await applied.undo();
            }
            const back = await read(applied.restored ?? applied.read);
            assert.match(back.fields.family_name as string, /^改ざん/);
            kinds.add(t.kind);
          }),
          { numRuns: 150 },
        );
        assert.deepEqual([...shapes], [DECRYPTION_FAILURE_SHAPE], 'one indistinguishable error');
        assert.ok(kinds.size >= 10, `most kinds of tampering were tried (${[...kinds].join(', ')})`);
        // and nothing stayed tampered
        const reader = await freshVault();
        try {
          for (const r of Object.values(refs)) assert.match((await reader.records.get(r.tenant, r.collection, r.id)).fields.family_name as string, /^改ざん/);
        } finally {
          await reader.close();
        }
      });

      test('a vault that already holds the keys in memory still refuses tampered ciphertext', async () => {
        const r = ref('r1');
        await vault.records.get(r.tenant, r.collection, r.id); // warm the cache
        const original = (await recordRow(r)).ciphertext as Buffer;
        for (const region of BLOB_REGIONS) {
          await setRecord(r, 'ciphertext', flipByte(original, region, 5, 0x40));
          try {
            const e = await kurabanErrorOf(() => vault.records.get(r.tenant, r.collection, r.id));
            assert.equal(decryptionFailureShape(e), DECRYPTION_FAILURE_SHAPE, region);
          } finally {
            await setRecord(r, 'ciphertext', original);
          }
        }
        await setRecord(r, 'version', 7);
        try {
          const e = await kurabanErrorOf(() => vault.records.get(r.tenant, r.collection, r.id));
          assert.equal(decryptionFailureShape(e), DECRYPTION_FAILURE_SHAPE);
        } finally {
          await setRecord(r, 'version', 1);
        }
        assert.equal((await vault.records.get(r.tenant, r.collection, r.id)).version, 1);
      });
    });
  });
}
