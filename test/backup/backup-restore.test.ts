/**
 * Backup and restore (src/backup) on both backends, and across them: a round trip that reads back
 * identically (records, searches, access logs, API keys) and keeps working; archives that hold no
 * clear key and no clear value; restores that fail as BACKUP_INVALID and write nothing (another root
 * key, damage, truncation, archives of different runs, a non-empty target); the location in both
 * headers; erasure against older data backups; and a backup taken while another vault instance writes.
 */
import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setImmediate } from 'node:timers/promises';
import { basename, dirname, join } from 'node:path';
import { readArchiveHeader, restoreBackup, type BackupResult } from '../../src/backup/index.js';
import { open, openWrappedKey, seal } from '../../src/crypto/index.js';
import { openKeyFileProvider, wrappedKeyAad, type RootKeyProvider } from '../../src/keys/index.js';
import { decodeLogEntry, parseVerifierKey, verifyCheckpoint } from '../../src/ledger/index.js';
import { auditEntries, localAudit, type Vault, type VaultRecord } from '../../src/vault/index.js';
import { archiveLayout, archiveRows, dumpTables, restoreTarget, rootKeyOf, withHeader, type RestoreTarget } from '../helpers/backup.js';
import { rejectsWithCode, rejectsWithDecryptionFailure } from '../helpers/errors.js';
import { openOther } from '../helpers/key-rotation.js';
import { once } from '../helpers/once.js';
import { syntheticMyNumber } from '../helpers/japanese-ids.js';
import { BACKENDS, createTempVault, RESIDENT_SCHEMA, type Backend, type TempVault } from '../helpers/temp-vault.js';

const A = 'bk-town-a';
const B = 'bk-town-b';
const BENEFITS_SCHEMA = {
  fields: [
    { name: 'program', type: 'string', required: true, searchable: true },
    { name: 'note', type: 'string' },
  ],
} as const;
const LOCATION = 'jp-east-1';
const BULK = 2100; // more records than one backup page (2000), and ~4x that in blind-index rows

/** Values that must never appear in clear in an archive (MJ+ characters: a surrogate pair, an IVS). */
const SECRET_VALUES = ['𠮷野', '葛󠄀城', '秘密のメモ𠮷', 'R-A-0001-秘', '架空県架空市本町１－２－３'];

/** Every tenant, collection, record (scan order), and log head, as plain data for deepEqual. */
async function summaryOf(vault: Vault, tenants: readonly string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { tenants: await vault.tenants.list() };
  for (const t of tenants) {
    const collections = await vault.collections.list(t);
    out[`${t}/collections`] = collections;
    for (const c of collections) {
      const recs: VaultRecord[] = [];
      for await (const r of vault.records.scan(t, c.name, 500)) recs.push(r);
      out[`${t}/${c.name}`] = recs;
    }
    const head = await vault.logReader.head(t);
    out[`${t}/log`] = { ...head, rootHash: head.rootHash.toString('hex'), checkpoint: head.checkpoint?.toString('utf8') };
  }
  return out;
}

/** A provider that claims `keyId` but holds another key (a forged or mixed-up key file). */
function impostorProvider(keyId: string): RootKeyProvider {
  const key = randomBytes(32);
  return {
    kind: 'test',
    keyId,
    protected: true,
    wrap: async (k, aad) => seal(key, k, aad),
    unwrap: async (w, aad) => open(key, w, aad),
    close: () => key.fill(0),
  };
}

function otherBackend(b: Backend): Backend | undefined {
  const other: Backend = b === 'sqlite' ? 'postgres' : 'sqlite';
  return BACKENDS.includes(other) ? other : undefined;
}

const TOKEN_SCHEMA = { fields: [{ name: 'my_number', type: 'my-number', token: 'format-preserving' }, { name: 'memo', type: 'string', token: 'random' }] } as const;
const TOKEN_MY_NUMBER = syntheticMyNumber(31);

for (const backend of BACKENDS) {
  describe(`backup and restore (${backend})`, () => {
    let src: TempVault;
    let root: string;
    let backupA: BackupResult;
    let backupB: BackupResult;
    let expected: Record<string, unknown>;
    let dumpAtBackup: Record<string, string[]>;
    let pendingAtBackup: number;
    const hand: Record<string, { tenant: string; collection: string; id: string; subjectId: string | null; residentNo?: string }> = {};
    let tenantKey: string;
    let revokedKey: string;
    let tokens: Record<string, string>;
    const cleanups: Array<() => Promise<void>> = [];

    async function target(keyFile: string | 'new-key' = src.location.keyFile, onBackend: Backend = backend): Promise<RestoreTarget> {
      const t = await restoreTarget(onBackend, keyFile);
      cleanups.push(() => t.cleanup());
      return t;
    }

    async function backupTo(name: string, location = LOCATION): Promise<BackupResult> {
      return src.vault.backup({ dataDir: join(root, name, 'data'), keysDir: join(root, name, 'keys'), location }, localAudit());
    }

    beforeEach(
      once(async () => {
        root = mkdtempSync(join(tmpdir(), 'kuraban-backup-'));
        src = await createTempVault(backend);
        const { vault } = src;
        const audit = localAudit();
        // Backups go to registered locations only (docs/residency.md).
        await vault.residency.addLocation({ id: LOCATION, country: 'JP', region: 'JP-Tokyo', provider: 'self-hosted', operator: 'kakuu-city', jurisdiction: 'JP', holds: ['ciphertext'] }, audit);
        await vault.tenants.create(A, '架空市', audit);
        await vault.tenants.create(B, '見本町', audit);
        await vault.collections.create(A, 'residents', RESIDENT_SCHEMA, audit);
        await vault.collections.create(A, 'benefits', BENEFITS_SCHEMA, audit);
        await vault.collections.create(B, 'residents', RESIDENT_SCHEMA, audit);
        const put = async (key: string, tenant: string, collection: string, subjectId: string | null, fields: Record<string, unknown>) => {
          const r = await vault.records.create(tenant, collection, { subjectId, fields }, audit);
          hand[key] = { tenant, collection, id: r.id, subjectId, ...(typeof fields.resident_no === 'string' ? { residentNo: fields.resident_no } : {}) };
        };
        await put('yoshino', A, 'residents', 'P-1', {
          family_name: '𠮷野',
          given_name: '葛󠄀城',
          kana: 'ヨシノ',
          resident_no: 'R-A-0001-秘',
          birth_date: '1980-02-03',
          income: '1234.5',
          household_size: 3,
          status: 'active',
          verified: true,
          address: { postal_code: '100-0001', line1: '架空県架空市本町１－２－３' },
        });
        await put('takahashi', A, 'residents', null, { family_name: '髙橋', given_name: '一郎', resident_no: 'R-A-0002' });
        await put('yamazaki', A, 'residents', 'P-2', { family_name: '山﨑', given_name: '花子', kana: 'ヤマザキ', resident_no: 'R-A-0003', status: 'moved_out' });
        await put('erase-res', A, 'residents', 'P-ERASE', { family_name: '消去野', given_name: '次郎', resident_no: 'R-A-ERASE' });
        await put('erase-ben', A, 'benefits', 'P-ERASE', { program: '児童手当', note: '消える' });
        await put('benefit', A, 'benefits', 'P-1', { program: '児童手当', note: '秘密のメモ𠮷' });
        await put('benefit-nosubj', A, 'benefits', null, { program: '生活保護' });
        await put('b-katsuragi', B, 'residents', 'P-1', { family_name: '葛󠄀城', given_name: '𠮷子', resident_no: 'R-B-0001' });
        await put('b-plain', B, 'residents', null, { family_name: '佐藤', given_name: '三郎', resident_no: 'R-B-0002' });
        for (let start = 0; start < BULK; start += 1000) {
          const inputs = [];
          for (let i = start; i < Math.min(BULK, start + 1000); i++) {
            inputs.push({ subjectId: i % 4 === 0 ? `S-${i}` : null, fields: { family_name: `姓${i % 50}`, given_name: `名${i}`, kana: 'タナカ', resident_no: `R-BULK-${i}`, birth_date: '1990-01-01' } });
          }
          const res = await vault.records.createMany(A, 'residents', inputs, { mode: 'atomic', audit });
          assert.equal(res.created.length, inputs.length);
        }
        // Tokens (docs/tokens.md): a record's, and a value tokenised on its own; both must resolve after a restore.
        await vault.collections.create(B, 'legacy', TOKEN_SCHEMA, audit);
        const legacy = await vault.records.create(B, 'legacy', { subjectId: 'P-1', fields: { my_number: TOKEN_MY_NUMBER, memo: '窓口メモ' } }, audit);
        const [standalone] = await vault.tokens.tokenize(B, 'legacy', 'memo', ['単独の値'], { audit });
        tokens = { ...(legacy.tokens ?? {}), standalone: standalone as string };
        tenantKey = (await vault.issueApiKey({ name: 'clerk key', role: 'tenant', tenantId: A, roles: ['clerk'] }, audit)).key;
        const revoked = await vault.issueApiKey({ name: 'old key', role: 'tenant', tenantId: B, roles: ['clerk'] }, audit);
        assert.equal(await vault.revokeApiKey(revoked.id, audit), true);
        revokedKey = revoked.key;
        await vault.accessLog.integrateAll();
        // An entry stays pending (not yet integrated): the backup carries it too.
        await vault.accessLog.record(...auditEntries(audit, A, 'record.read', { collection: 'residents', records: [hand.yoshino?.id as string], subjects: ['P-1'] }, 'ok', new Date()));
        pendingAtBackup = 1;
        expected = await summaryOf(vault, [A, B]);
        dumpAtBackup = await dumpTables(src.location);
        backupA = await backupTo('a');
        backupB = await backupTo('b');
      }),
    );
    after(async () => {
      for (const c of cleanups.reverse()) await c();
      await src?.cleanup();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    const pathsA = () => ({ data: backupA.data.path, keys: backupA.keys.path });

    /** The restored vault reads as the source did at the backup, and keeps working. */
    async function assertRestoredVault(t: RestoreTarget, how: { sameBackend: boolean; ownCheck?: boolean }): Promise<void> {
      if (how.sameBackend) {
        // A target opened before the restore keeps its own root_check (another wrap of the same check value).
        const noCheck = (d: Record<string, string[]>) => (how.ownCheck ? { ...d, kuraban_meta: d.kuraban_meta?.filter((r) => !r.includes('"root_check"')) } : d);
        assert.deepEqual(noCheck(await t.dump()), noCheck(dumpAtBackup), 'every backed-up row, byte for byte');
      }
      const vault = await t.open();
      assert.deepEqual(await summaryOf(vault, [A, B]), expected, 'tenants, collections, every record (list), log heads');
      for (const h of Object.values(hand)) {
        const want = (expected[`${h.tenant}/${h.collection}`] as VaultRecord[]).find((r) => r.id === h.id);
        assert.ok(want);
        assert.deepEqual(await vault.records.get(h.tenant, h.collection, h.id), want, 'get');
        if (h.residentNo !== undefined) {
          const hits = await vault.records.search(h.tenant, h.collection, { resident_no: h.residentNo }, { limit: 10 });
          assert.deepEqual(hits.records, [want], `search by unique resident_no ${h.residentNo}`);
        }
      }
      const yoshino = await vault.records.search(A, 'residents', { family_name: '𠮷野' }, { limit: 10 });
      assert.deepEqual(yoshino.records.map((r) => r.id), [hand.yoshino?.id]);
      assert.deepEqual(Buffer.from(yoshino.records[0]?.fields.given_name as string), Buffer.from('葛󠄀城'), 'IVS kept byte for byte');
      const bulk = await vault.records.search(A, 'residents', { resident_no: `R-BULK-${BULK - 1}` }, { limit: 10 });
      assert.equal(bulk.records.length, 1, 'a record on the last backup page is found');
      assert.equal((await vault.records.search(A, 'residents', { family_name: '姓7' }, { limit: 1000 })).records.length, BULK / 50);
      // The checkpoints still verify under each tenant's published verifier key.
      for (const tenant of [A, B]) {
        const head = await vault.logReader.head(tenant);
        assert.ok(head.checkpoint);
        verifyCheckpoint(head.checkpoint, parseVerifierKey(head.verifierKey), head.origin);
      }
      // Tokens resolve: FF1 (registry row + token key), a random record token (through the record), a vaulted one.
      assert.deepEqual((await vault.tokens.detokenize(B, 'legacy', 'my_number', [tokens.my_number])).values, [TOKEN_MY_NUMBER]);
      assert.deepEqual((await vault.tokens.detokenize(B, 'legacy', 'memo', [tokens.memo, tokens.standalone])).values, ['窓口メモ', '単独の値']);
      // API keys: the admin and tenant keys authenticate; the revoked one still does not.
      assert.equal((await vault.authenticate(src.adminKey)).role, 'admin');
      assert.equal((await vault.authenticate(tenantKey)).tenantId, A);
      await rejectsWithCode(() => vault.authenticate(revokedKey), 'UNAUTHENTICATED');
      // New writes: a new subject, an existing subject (its restored key), a unique value already taken.
      const audit = localAudit();
      const fresh = await vault.records.create(A, 'residents', { subjectId: 'P-NEW', fields: { family_name: '新野', given_name: '四郎', resident_no: 'R-A-NEW' } }, audit);
      const again = await vault.records.create(A, 'benefits', { subjectId: 'P-1', fields: { program: '再申請' } }, audit);
      await rejectsWithCode(() => vault.records.create(A, 'residents', { fields: { family_name: '重複', given_name: '五郎', resident_no: 'R-A-0002' } }), 'UNIQUE_VIOLATION');
      assert.equal((await vault.records.search(A, 'residents', { resident_no: 'R-A-NEW' }, { limit: 10 })).records[0]?.id, fresh.id);
      assert.equal((await vault.records.get(A, 'benefits', again.id)).fields.program, '再申請');
      assert.equal((await vault.records.get(A, 'benefits', hand.benefit?.id as string)).fields.note, '秘密のメモ𠮷', 'the subject key was reused, old records still open');
      assert.equal((await vault.store.listWrappedKeys({ tenantId: A, kind: 'subject', scopeId: 'P-1' })).length, 1, 'no second key for P-1');
      // The access log goes on from the restored tree: the pending entry and the new ones integrate.
      const before = (expected[`${A}/log`] as { size: number }).size;
      const integrated = await vault.accessLog.integrate(A);
      assert.equal(integrated.size, before + pendingAtBackup + 2);
      const entries = await vault.store.getLogEntryRange(A, before, integrated.size);
      assert.deepEqual(
        entries.map((e) => decodeLogEntry(e.entry).action),
        ['record.read', 'record.create', 'record.create'],
      );
    }

    test('round trip into a new, empty location with a copy of the key file: everything reads back identically and keeps working', async () => {
      const t = await target();
      assert.equal(await t.store.isEmpty(), true);
      const result = await t.restore(pathsA());
      assert.equal(result.pair, backupA.pair);
      assert.equal(result.location, LOCATION);
      const nonZero = (rows: Record<string, number>) => Object.fromEntries(Object.entries(rows).filter(([k, n]) => n > 0 && k !== 'kuraban_meta'));
      assert.deepEqual(nonZero(result.rows), nonZero({ ...backupA.data.rows, ...backupA.keys.rows }));
      assert.equal(backupA.data.rows.records, BULK + 10);
      await assertRestoredVault(t, { sameBackend: true });
    });

    const other = otherBackend(backend);
    test(`restores across backends (${backend} → ${other ?? 'none configured'})`, { skip: other === undefined }, async () => {
      const t = await target(src.location.keyFile, other as Backend);
      await t.restore(pathsA());
      await assertRestoredVault(t, { sameBackend: false });
    });

    test('restore into an empty location already opened (bound) with a copy of the same key file', async () => {
      // An empty vault "that has the same root key": opening it bound the store to that key
      // (root_key_id and a freshly wrapped root_check) but wrote no tenant, key, log or API key.
      const t = await target();
      await t.open();
      assert.equal(await t.store.isEmpty(), true);
      assert.equal(await t.store.getMeta('root_key_id'), backupA.rootKeyId);
      await t.restore(pathsA());
      await assertRestoredVault(t, { sameBackend: true, ownCheck: true });
    });

    test('archives hold no clear key and no clear value, not even inside their encrypted frames', async () => {
      const { vault, store } = src;
      const keys: Array<[string, Buffer]> = [['root key', rootKeyOf(src.location.keyFile)]];
      for (const tenant of [A, B]) {
        const tk = await vault.keyring.tenantWrappingKey(store, tenant);
        keys.push([`${tenant} tenant key`, tk.key]);
        for (const row of await store.listWrappedKeys({ tenantId: tenant })) {
          if (row.kind === 'tenant' || row.wrapped.length === 0) continue; // an erased subject's tombstone holds no key
          if (row.kind === 'subject' && !/^P-|^S-(0|4|8|2096)$/.test(row.scopeId)) continue; // a sample of the many subject keys
          assert.equal(row.wrappedBy, tk.version);
          keys.push([`${tenant} ${row.kind} key ${row.scopeId}`, openWrappedKey(tk.key, row.wrapped, wrappedKeyAad(tenant, row.kind, row.scopeId, row.version))]);
        }
        for (const c of await vault.collections.list(tenant)) {
          for (const f of c.schema.fields) if (f.searchable || f.unique) keys.push([`${tenant} ${c.name}.${f.name} index key`, await vault.keyring.fieldIndexKey(store, tenant, c.id, f.name)]);
        }
      }
      assert.ok(keys.length >= 25, `${keys.length} keys checked`);
      assert.ok(keys.some(([n]) => n.includes('subject key P-ERASE')) && keys.some(([n]) => n.includes('log key')) && keys.some(([n]) => n.includes('index key')));
      for (const [, k] of keys) assert.equal(k.length, 32);

      const provider = await openKeyFileProvider(src.location.keyFile);
      try {
        for (const [kind, path] of [['data', backupA.data.path], ['keys', backupA.keys.path]] as const) {
          const file = readFileSync(path);
          const rows = await archiveRows(path, provider);
          assert.ok(rows.length > 0);
          // Everything the archive holds once decrypted: bytes values, and text (with bytes as base64 and hex too).
          const bytes = Buffer.concat(rows.flatMap(({ row }) => Object.values(row).filter((v): v is Buffer => Buffer.isBuffer(v))));
          const text = rows
            .map(({ table, row }) => JSON.stringify([table, Object.entries(row).map(([c, v]) => [c, Buffer.isBuffer(v) ? [v.toString('base64'), v.toString('hex')] : v])]))
            .join('\n');
          for (const [name, k] of keys) {
            for (const enc of [k.toString('base64'), k.toString('base64url'), k.toString('hex'), k.toString('hex').toUpperCase()]) {
              assert.equal(file.indexOf(Buffer.from(enc, 'latin1')), -1, `${kind} archive file holds the ${name} (${enc.length} chars)`);
              assert.ok(!text.includes(enc), `${kind} archive content holds the ${name}`);
            }
            assert.equal(file.indexOf(k), -1, `${kind} archive file holds the raw ${name}`);
            assert.equal(bytes.indexOf(k), -1, `${kind} archive content holds the raw ${name}`);
          }
          for (const v of SECRET_VALUES) {
            for (const enc of [Buffer.from(v, 'utf8'), Buffer.from(v, 'utf16le'), Buffer.from(v, 'utf16le').swap16()]) {
              assert.equal(file.indexOf(enc), -1, `${kind} archive file holds ${v}`);
              assert.equal(bytes.indexOf(enc), -1, `${kind} archive content holds ${v}`);
            }
            assert.ok(!text.includes(v), `${kind} archive content holds ${v} in clear`);
          }
        }
        // The key archive holds wrapped keys only; the data archive no key row at all.
        const tablesOf = async (p: string) => new Set((await archiveRows(p, provider)).map((r) => r.table));
        assert.deepEqual([...(await tablesOf(backupA.keys.path))].sort(), ['kuraban_meta', 'wrapped_keys']);
        assert.ok(!(await tablesOf(backupA.data.path)).has('wrapped_keys'));
      } finally {
        provider.close();
      }
    });

    test('another root key: BACKUP_INVALID and the target stays empty', async () => {
      const t = await target('new-key');
      const empty = await t.dump();
      await rejectsWithCode(() => t.restore(pathsA()), 'BACKUP_INVALID');
      // A provider that claims the right key id but holds another key: the archive key does not unwrap.
      await rejectsWithCode(() => t.restore(pathsA(), impostorProvider(backupA.rootKeyId)), 'BACKUP_INVALID');
      assert.equal(await t.store.isEmpty(), true);
      assert.deepEqual(await t.store.listTenants(), []);
      assert.equal(await t.store.getMeta('root_key_id'), undefined);
      assert.deepEqual(await t.dump(), empty);
    });

    test('a refused restore leaves no archive file open', { skip: !existsSync('/proc/self/fd') && 'needs /proc/self/fd' }, async () => {
      const t = await target();
      const openFiles = () => readdirSync('/proc/self/fd').map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      });
      const archiveFds = () => openFiles().filter((p) => p === backupA.data.path || p === backupA.keys.path);
      assert.deepEqual(archiveFds(), []);
      for (const paths of [
        { data: backupA.data.path, keys: join(root, 'no-such.keys.kbk') },
        { data: join(root, 'no-such.data.kbk'), keys: backupA.keys.path },
        { data: backupA.data.path, keys: backupB.keys.path },
        { data: backupA.keys.path, keys: backupA.data.path },
      ]) {
        await rejectsWithCode(() => t.restore(paths), 'BACKUP_INVALID');
        assert.deepEqual(archiveFds(), [], `archive files still open after refusing ${basename(paths.data)} + ${basename(paths.keys)}`);
      }
    });

    test('damaged, truncated, spliced, mixed or swapped archives: BACKUP_INVALID and nothing is written; then the same target restores', async () => {
      const t = await target();
      const empty = await t.dump();
      const dir = join(root, 'damaged');
      mkdirSync(dir, { recursive: true });
      const data = readFileSync(backupA.data.path);
      const keys = readFileSync(backupA.keys.path);
      const dl = archiveLayout(data);
      const kl = archiveLayout(keys);
      assert.ok(dl.frames.length >= 2, 'rows frame(s) and the final frame');
      const last = dl.frames[dl.frames.length - 1] as { start: number; end: number };
      const first = dl.frames[0] as { start: number; end: number };
      const flip = (b: Buffer, at: number) => {
        const c = Buffer.from(b);
        c[at] = (c[at] as number) ^ 0x01;
        return c;
      };
      let n = 0;
      const file = (bytes: Buffer) => {
        const p = join(dir, `case-${++n}.kbk`);
        writeFileSync(p, bytes);
        return p;
      };
      const dataA = backupA.data.path;
      const keysA = backupA.keys.path;
      const cases: Array<[string, { data: string; keys: string }]> = [
        ['one byte flipped in the middle of the data archive', { data: file(flip(data, Math.floor(data.length / 2))), keys: keysA }],
        ['one byte flipped in the data archive final frame', { data: file(flip(data, last.end - 3)), keys: keysA }],
        ['one byte flipped in the middle of the key archive', { data: dataA, keys: file(flip(keys, Math.floor((kl.headerEnd + keys.length) / 2))) }],
        ['data header location edited (same length)', { data: file(withHeader(data, (h) => ({ ...h, location: 'us-east-1' }))), keys: keysA }],
        ['data archive without its final frame', { data: file(data.subarray(0, last.start)), keys: keysA }],
        ['data archive minus its last 5 bytes', { data: file(data.subarray(0, data.length - 5)), keys: keysA }],
        ['data archive cut inside a length prefix', { data: file(data.subarray(0, last.start + 2)), keys: keysA }],
        ['data archive cut after its header', { data: file(data.subarray(0, dl.headerEnd)), keys: keysA }],
        ['key archive without its final frame', { data: dataA, keys: file(keys.subarray(0, (kl.frames[kl.frames.length - 1] as { start: number }).start)) }],
        ['data archive with its first frame removed', { data: file(Buffer.concat([data.subarray(0, first.start), data.subarray(first.end)])), keys: keysA }],
        ['data archive with two frames swapped', { data: file(Buffer.concat([data.subarray(0, first.start), data.subarray(last.start, last.end), data.subarray(first.end, last.start), data.subarray(first.start, first.end)])), keys: keysA }],
        ['data archive with a byte after its final frame', { data: file(Buffer.concat([data, Buffer.from([0])])), keys: keysA }],
        ['an empty file as the data archive', { data: file(Buffer.alloc(0)), keys: keysA }],
        ['a key archive that does not exist', { data: dataA, keys: join(dir, 'missing.keys.kbk') }],
        ['data archive of backup A with the key archive of backup B', { data: dataA, keys: backupB.keys.path }],
        ['data archive of backup B with the key archive of backup A', { data: backupB.data.path, keys: keysA }],
        ['data archive of B with its header claiming the pair of A', { data: file(withHeader(readFileSync(backupB.data.path), (h) => ({ ...h, pair: backupA.pair }))), keys: keysA }],
        ['arguments swapped (keys as data)', { data: keysA, keys: dataA }],
        ['the data archive given twice', { data: dataA, keys: dataA }],
      ];
      for (const [what, paths] of cases) {
        await rejectsWithCode(() => t.restore(paths), 'BACKUP_INVALID').catch((e: unknown) => {
          throw new Error(`${what}: ${String(e)}`);
        });
        assert.equal(await t.store.isEmpty(), true, `${what}: target still empty`);
        assert.deepEqual(await t.dump(), empty, `${what}: nothing written`);
      }
      // Failed attempts left nothing behind: the same target takes the good pair.
      await t.restore(pathsA());
      const vault = await t.open();
      assert.deepEqual(await summaryOf(vault, [A, B]), expected);
    });

    test('restore into a vault that is not empty: BACKUP_INVALID and nothing changes there', async () => {
      const before = await dumpTables(src.location);
      await rejectsWithCode(() => restoreInto(src, pathsA()), 'BACKUP_INVALID');
      assert.deepEqual(await dumpTables(src.location), before, 'the live vault is unchanged');
      // A vault that already holds this very backup.
      const t = await target();
      await t.restore(pathsA());
      const restored = await t.dump();
      await rejectsWithCode(() => t.restore(pathsA()), 'BACKUP_INVALID');
      await rejectsWithCode(() => t.restore({ data: backupB.data.path, keys: backupB.keys.path }), 'BACKUP_INVALID');
      assert.deepEqual(await t.dump(), restored);
    });

    async function restoreInto(tv: TempVault, paths: { data: string; keys: string }) {
      const provider = await openKeyFileProvider(tv.location.keyFile);
      try {
        return await restoreBackup(tv.store, provider, paths);
      } finally {
        provider.close();
      }
    }

    test('both archive headers carry the location given; files are 0600, apart, and whole; backup.create is logged in every tenant', async () => {
      await src.vault.residency.addLocation({ id: 'jp-west-2', country: 'JP', region: 'JP-Osaka', provider: 'self-hosted', operator: 'kakuu-city', jurisdiction: 'JP', holds: ['ciphertext'] }, localAudit());
      const sizes = await Promise.all([A, B].map(async (t) => (await src.vault.accessLog.integrate(t)).size));
      const result = await backupTo('located', 'jp-west-2');
      assert.equal(result.location, 'jp-west-2');
      const headers = [];
      for (const [kind, path] of [['data', result.data.path], ['keys', result.keys.path]] as const) {
        const fh = await openFile(path, 'r');
        try {
          const { header } = await readArchiveHeader(fh);
          headers.push(header);
          assert.equal(header.kind, kind);
          assert.equal(header.location, 'jp-west-2');
          assert.equal(header.pair, result.pair);
          assert.equal(header.rootKeyId, result.rootKeyId);
          assert.equal(header.createdAt, result.createdAt);
        } finally {
          await fh.close();
        }
        assert.equal(statSync(path).mode & 0o077, 0, `${kind} archive is private`);
        assert.ok(!readdirSync(dirname(path)).some((f) => f.endsWith('.partial')), 'no .partial left');
        assert.match(basename(path), new RegExp(`^kuraban-\\d{8}T\\d{6}Z-${result.pair.slice(0, 8)}\\.${kind}\\.kbk$`));
      }
      assert.notEqual(headers[0]?.id, headers[1]?.id);
      assert.equal(dirname(result.data.path), join(root, 'located', 'data'));
      assert.equal(dirname(result.keys.path), join(root, 'located', 'keys'));
      assert.equal(result.rootKeyId, JSON.parse(readFileSync(src.location.keyFile, 'utf8')).keyId);
      for (const [i, t] of [A, B].entries()) {
        const after = await src.vault.accessLog.integrate(t);
        const entries = await src.store.getLogEntryRange(t, sizes[i] as number, after.size);
        assert.deepEqual(entries.map((e) => decodeLogEntry(e.entry).action), ['backup.create'], `${t}: one backup.create entry`);
      }
    });

    test('erasure against backups: a pre-erasure data archive does not pair with a post-erasure key archive, and its rows do not open in the live vault', async () => {
      const { vault, store } = src;
      const ids = [
        ['residents', hand['erase-res']?.id as string],
        ['benefits', hand['erase-ben']?.id as string],
      ] as const;
      const before = await backupTo('pre-erasure');
      const receipt = await vault.erasure.erase(A, 'P-ERASE', localAudit());
      assert.equal(receipt.recordsRemoved, 2);
      assert.equal(receipt.keysDestroyed, 1);
      const afterErasure = await backupTo('post-erasure');

      // The pair rule is what stops mixing: a data archive only restores with the key archive of the
      // same run. Without it, an old data archive plus a current key archive would look like a
      // backup — here the erased subject's key is missing from the key archive, so such a mix
      // could never have opened those rows anyway, but the restore refuses it outright.
      const t = await target();
      await rejectsWithCode(() => t.restore({ data: before.data.path, keys: afterErasure.keys.path }), 'BACKUP_INVALID');
      assert.equal(await t.store.isEmpty(), true);
      const provider = await openKeyFileProvider(src.location.keyFile);
      // Usable key rows (an erasure may leave an empty tombstone row that holds no key).
      const subjectKeys = async (p: string) =>
        (await archiveRows(p, provider)).filter((r) => r.table === 'wrapped_keys' && r.row.kind === 'subject' && r.row.scope_id === 'P-ERASE' && Buffer.isBuffer(r.row.wrapped) && r.row.wrapped.length > 0).length;
      try {
        assert.equal(await subjectKeys(before.keys.path), 1, 'the old key archive still holds the key');
        assert.equal(await subjectKeys(afterErasure.keys.path), 0, 'the new key archive does not');
      } finally {
        provider.close();
      }

      // The actual property: restore the old backup in full elsewhere (readable there, with the OLD key archive)…
      const x = await target();
      await x.restore({ data: before.data.path, keys: before.keys.path });
      const xv = await x.open();
      for (const [c, id] of ids) assert.equal((await xv.records.get(A, c, id)).subjectId, 'P-ERASE');
      // …then copy the erased subject's record rows from it into the live store: they do not open there.
      const rows = await x.store.listSubjectRecords(A, 'P-ERASE');
      assert.equal(rows.length, 2);
      await store.insertRecords(rows, []);
      try {
        for (const [c, id] of ids) await rejectsWithDecryptionFailure(() => vault.records.get(A, c, id));
        const fresh = await openOther(src.location);
        try {
          for (const [c, id] of ids) await rejectsWithDecryptionFailure(() => fresh.vault.records.get(A, c, id));
        } finally {
          await fresh.close();
        }
      } finally {
        await store.deleteSubjectRecords(A, 'P-ERASE');
      }
      // And the post-erasure backup restores without them.
      const y = await target();
      await y.restore({ data: afterErasure.data.path, keys: afterErasure.keys.path });
      const yv = await y.open();
      for (const [c, id] of ids) await rejectsWithCode(() => yv.records.get(A, c, id), 'RECORD_NOT_FOUND');
      assert.deepEqual((await y.store.listWrappedKeys({ tenantId: A, kind: 'subject', scopeId: 'P-ERASE' })).filter((k) => k.wrapped.length > 0), []);
      assert.equal((await yv.records.get(A, 'residents', hand.yoshino?.id as string)).fields.family_name, '𠮷野');
    });

    test('backup while another vault instance writes: the snapshot is consistent (whole batches, a prefix of them, every subject key present)', async () => {
      const base = new Set<string>();
      for await (const r of src.vault.records.scan(A, 'residents', 1000)) base.add(r.id);
      const writer = await openOther(src.location);
      const batches: string[][] = [];
      const waiters: Array<() => void> = [];
      let stop = false;
      let failure: unknown;
      const SIZE = 100;
      const loop = (async () => {
        try {
          for (let b = 0; !stop; b++) {
            const inputs = Array.from({ length: SIZE }, (_, i) => {
              const k = b * SIZE + i;
              return { subjectId: k % 2 === 0 ? `W-${k}` : null, fields: { family_name: `書込${k % 10}`, given_name: `名${k}`, resident_no: `R-W-${k}` } };
            });
            const res = await writer.vault.records.createMany(A, 'residents', inputs, { mode: 'atomic' });
            batches.push(res.created.map((c) => c.id));
            for (const w of waiters.splice(0)) w();
            // SQLite calls are synchronous: without a turn of the event loop between batches this
            // in-process writer would starve the backup's file I/O (another process would not).
            await setImmediate();
          }
        } catch (e) {
          failure = e;
          for (const w of waiters.splice(0)) w();
        }
      })();
      const nextBatch = () => new Promise<void>((resolve) => waiters.push(resolve));
      let result: BackupResult;
      let doneAtBackupEnd: number;
      try {
        await nextBatch();
        result = await backupTo('while-writing');
        doneAtBackupEnd = batches.length;
        await nextBatch();
        await nextBatch();
      } finally {
        stop = true;
        await loop;
        await writer.close();
      }
      assert.equal(failure, undefined, `the writer failed: ${String(failure)}`);
      assert.ok(batches.length > doneAtBackupEnd + 1);

      // The archives themselves: every record's key (collection or subject, at its version) is in the key archive.
      const provider = await openKeyFileProvider(src.location.keyFile);
      try {
        const keyRows = (await archiveRows(result.keys.path, provider)).filter((r) => r.table === 'wrapped_keys').map((r) => r.row);
        const have = new Set(keyRows.filter((k) => Buffer.isBuffer(k.wrapped) && k.wrapped.length > 0).map((k) => `${String(k.tenant_id)}|${String(k.kind)}|${String(k.scope_id)}|${Number(k.version)}`));
        const recordRows = (await archiveRows(result.data.path, provider)).filter((r) => r.table === 'records').map((r) => r.row);
        assert.equal(recordRows.length, result.data.rows.records);
        for (const r of recordRows) {
          const need = r.subject_id === null ? `${String(r.tenant_id)}|collection|${String(r.collection_id)}|${Number(r.key_version)}` : `${String(r.tenant_id)}|subject|${String(r.subject_id)}|${Number(r.key_version)}`;
          assert.ok(have.has(need), `record ${String(r.id)} needs ${need}, which the key archive lacks`);
        }
      } finally {
        provider.close();
      }

      // The restored vault reads every record the data archive holds.
      const t = await target();
      const restored = await t.restore({ data: result.data.path, keys: result.keys.path });
      assert.equal(restored.rows.records, result.data.rows.records);
      const vault = await t.open();
      let read = 0;
      for (const tenant of [A, B]) for (const c of await vault.collections.list(tenant)) for await (const _ of vault.records.scan(tenant, c.name, 1000)) read++;
      assert.equal(read, result.data.rows.records, 'every record in the archive decrypts');
      const ids = new Set<string>();
      for await (const r of vault.records.scan(A, 'residents', 1000)) ids.add(r.id);
      const present = batches.map((batch) => batch.filter((id) => ids.has(id)).length);
      assert.ok(present.every((p) => p === 0 || p === SIZE), `whole batches only: ${present.join(',')}`);
      const k = present.filter((p) => p === SIZE).length;
      assert.deepEqual(present, [...Array(k).fill(SIZE), ...Array(present.length - k).fill(0)], 'the batches in the backup are a prefix of those written');
      assert.ok(k >= 1 && k <= doneAtBackupEnd, `batches in the backup (${k}) between the first and those done when it returned (${doneAtBackupEnd})`);
      assert.equal(ids.size, base.size + k * SIZE, 'and nothing else');
      for (const id of base) assert.ok(ids.has(id));
    });
  });
}
