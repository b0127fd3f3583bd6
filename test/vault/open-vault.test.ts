import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createKeyFile } from '../../src/keys/index.js';
import { initVault, openVault, type VaultLocation, type VaultState } from '../../src/vault/index.js';
import { BACKENDS, RESIDENT_SCHEMA, tempLocation, type TempLocation } from '../helpers/temp-vault.js';
import { openRawDb } from '../helpers/raw-db.js';
import { rejectsWithCode } from '../helpers/errors.js';
import { once } from '../helpers/once.js';

const FAST = { N: 1024, r: 8, p: 1 } as const;
const PASSPHRASE = 'a long enough passphrase';

async function closeState(state: VaultState): Promise<void> {
  if (!state.sealed) await state.vault.close();
  await state.store.close();
}

for (const backend of BACKENDS) {
  describe(`openVault (${backend})`, () => {
    let loc: TempLocation | undefined;
    let location: VaultLocation;
    let recordId: string;
    let n = 0;
    const variant = (body: string | Buffer, mode = 0o600) => {
      const p = join((loc as TempLocation).dir, `variant-${++n}.key`);
      writeFileSync(p, body, { mode });
      return p;
    };

    beforeEach(once(async () => {
      loc = await tempLocation(backend);
      location = { ...loc.location, passphrase: PASSPHRASE };
      await createKeyFile(location.keyFile, { passphrase: PASSPHRASE, scrypt: FAST });
      const state = await openVault(location);
      assert.equal(state.sealed, false, state.sealed ? state.reason : '');
      try {
        if (state.sealed) return;
        await state.vault.tenants.create('city', 'City');
        await state.vault.collections.create('city', 'residents', RESIDENT_SCHEMA);
        recordId = (await state.vault.records.create('city', 'residents', { subjectId: 'P-1', fields: { family_name: '山田', given_name: '太郎' } })).id;
      } finally {
        await closeState(state);
      }
    }));
    after(async () => {
      await loc?.cleanup();
    });

    /** Opens with `over`, expects it sealed with a reason matching `why`, and that no row changed. */
    async function expectSealed(over: Partial<VaultLocation>, why: RegExp): Promise<string> {
      const raw = await openRawDb(location);
      try {
        const before = await raw.snapshot();
        const state = await openVault({ ...location, ...over });
        try {
          assert.equal(state.sealed, true, 'expected a sealed vault');
          if (!state.sealed) return '';
          assert.match(state.reason, why);
          assert.ok(!('vault' in state));
        } finally {
          await closeState(state);
        }
        assert.deepEqual(await raw.snapshot(), before, 'a sealed open touched data');
        return (state as { reason: string }).reason;
      } finally {
        await raw.close();
      }
    }

    test('the right key file and passphrase open it and read what was written', async () => {
      const state = await openVault(location);
      try {
        assert.equal(state.sealed, false);
        if (state.sealed) return;
        assert.equal((await state.vault.records.get('city', 'residents', recordId)).fields.family_name, '山田');
      } finally {
        await closeState(state);
      }
    });

    test('no passphrase / a wrong passphrase → sealed, saying so', async () => {
      await expectSealed({ passphrase: undefined }, /passphrase/);
      await expectSealed({ passphrase: PASSPHRASE + ' ' }, /passphrase does not open/);
    });

    test('a damaged key file (truncated JSON, bad base64, flipped wrapped byte) → sealed, saying it is damaged', async () => {
      const text = readFileSync(location.keyFile, 'utf8');
      await expectSealed({ keyFile: variant(text.slice(0, text.length - 20)) }, /damaged: not JSON/);
      const body = JSON.parse(text);
      await expectSealed({ keyFile: variant(JSON.stringify({ ...body, wrappedKey: `!${body.wrappedKey.slice(1)}` })) }, /damaged/);
      const w = Buffer.from(body.wrappedKey, 'base64');
      w[w.length - 1] = (w[w.length - 1] as number) ^ 1;
      await expectSealed({ keyFile: variant(JSON.stringify({ ...body, wrappedKey: w.toString('base64') })) }, /damaged|passphrase does not open/);
    });

    test('a key file readable by group or others → sealed, saying to chmod it', async () => {
      const p = variant(readFileSync(location.keyFile), 0o640);
      assert.equal(statSync(p).mode & 0o777, 0o640);
      await expectSealed({ keyFile: p }, /readable by group or others/);
      await expectSealed({ keyFile: variant(readFileSync(location.keyFile), 0o604) }, /readable by group or others/);
    });

    test('a missing key file → sealed, saying so', async () => {
      await expectSealed({ keyFile: join((loc as TempLocation).dir, 'absent.key') }, /not found/);
    });

    test("another vault's key file → sealed: it does not belong to this vault; with a flipped key byte it is damaged", async () => {
      const other = join((loc as TempLocation).dir, `other-${++n}.key`);
      const otherId = await createKeyFile(other);
      const reason = await expectSealed({ keyFile: other, passphrase: undefined }, /does not belong to this vault/);
      assert.ok(reason.includes(otherId));
      const body = JSON.parse(readFileSync(other, 'utf8'));
      const key = Buffer.from(body.key, 'base64');
      key[5] = (key[5] as number) ^ 0x10;
      const reason2 = await expectSealed({ keyFile: variant(JSON.stringify({ ...body, key: key.toString('base64') })), passphrase: undefined }, /does not match its id/);
      assert.ok(!reason2.includes(body.key.slice(0, 10)));
    });

    test('a stored check value that the key does not open → sealed', async () => {
      const raw = await openRawDb(location);
      try {
        const [row] = await raw.all(`select value from kuraban_meta where key = 'root_check'`);
        const original = row?.value as string;
        const b = Buffer.from(original, 'base64');
        b[b.length - 1] = (b[b.length - 1] as number) ^ 1;
        await raw.run(`update kuraban_meta set value = ? where key = 'root_check'`, [b.toString('base64')]);
        try {
          await expectSealed({}, /check value failed/);
        } finally {
          await raw.run(`update kuraban_meta set value = ? where key = 'root_check'`, [original]);
        }
      } finally {
        await raw.close();
      }
      const state = await openVault(location);
      assert.equal(state.sealed, false);
      await closeState(state);
    });
  });
}

describe('initVault', () => {
  test('writes a 0600 key file, binds it, issues an admin key; refuses to run twice and changes nothing then', async () => {
    const loc = await tempLocation('sqlite');
    try {
      const { keyId, adminKey } = await initVault(loc.location);
      assert.equal(statSync(loc.location.keyFile).mode & 0o777, 0o600);
      assert.match(adminKey, /^kbn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      const keyBefore = readFileSync(loc.location.keyFile);
      const raw = await openRawDb(loc.location);
      try {
        const before = await raw.snapshot();
        assert.deepEqual((await raw.all(`select value from kuraban_meta where key = 'root_key_id'`)).map((r) => r.value), [keyId]);
        await rejectsWithCode(() => initVault(loc.location), 'KEY_FILE_EXISTS');
        assert.deepEqual(readFileSync(loc.location.keyFile), keyBefore);
        assert.deepEqual(await raw.snapshot(), before);
      } finally {
        await raw.close();
      }
      const state = await openVault(loc.location);
      try {
        assert.equal(state.sealed, false);
        if (!state.sealed) assert.equal((await state.vault.authenticate(adminKey)).role, 'admin');
      } finally {
        await closeState(state);
      }
    } finally {
      await loc.cleanup();
    }
  });
});
