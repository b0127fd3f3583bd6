/** `kuraban token`: a legacy 12-digit My Number column tokenised and back, line for line; errors by line; rotation. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { myNumberCheckDigit } from '../../src/schema/index.js';
import { syntheticMyNumber } from '../helpers/japanese-ids.js';
import { createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { kuraban } from './harness.js';

const T = '131016';
const C = 'legacy';

describe('kuraban token', () => {
  let tv: TempVault;
  let dir: string;
  const common = ['--tenant', T, '--collection', C, '--field', 'my_number'];
  before(async () => {
    tv = await createTempVault('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'kuraban-token-'));
    await tv.vault.tenants.create(T, '千代田区');
    const schema = join(dir, 'schema.json');
    writeFileSync(schema, JSON.stringify({ fields: [{ name: 'my_number', type: 'my-number', token: 'format-preserving' }, { name: 'name', type: 'string' }] }));
    const r = await kuraban(tv, ['collection', 'create', '--tenant', T, '--name', C, '--schema', schema]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await tv.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a 12-digit column of 10,050 My Numbers becomes 12-digit tokens that fail the check digit, and comes back exactly', async () => {
    const numbers = Array.from({ length: 10_050 }, (_v, i) => syntheticMyNumber(i));
    const input = join(dir, 'numbers.txt');
    writeFileSync(input, `${numbers.join('\n')}\n`);
    const tok = await kuraban(tv, ['token', 'tokenize', ...common, '--in', input]);
    assert.equal(tok.code, 0, tok.stderr);
    const tokens = tok.stdout.trimEnd().split('\n');
    assert.equal(tokens.length, numbers.length);
    for (const [i, t] of tokens.entries()) {
      assert.match(t, /^\d{12}$/, `line ${i + 1}`);
      assert.notEqual(Number(t[11]), myNumberCheckDigit(t.slice(0, 11)), `line ${i + 1}: a token passes the My Number check digit`);
      assert.notEqual(t, numbers[i]);
    }
    assert.ok(!tok.stdout.includes(numbers[0] as string));
    const tokFile = join(dir, 'tokens.txt');
    writeFileSync(tokFile, tok.stdout);
    const out = join(dir, 'back.txt');
    const back = await kuraban(tv, ['token', 'detokenize', ...common, '--in', tokFile, '--out', out]);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stderr, /PLAINTEXT/);
    assert.equal(readFileSync(out, 'utf8'), `${numbers.join('\n')}\n`);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    // Standard input works too, and --out never overwrites.
    const piped = await kuraban(tv, ['token', 'detokenize', ...common], { stdin: `${tokens[5]}\n` });
    assert.equal(piped.stdout, `${numbers[5]}\n`);
    const again = await kuraban(tv, ['token', 'detokenize', ...common, '--in', tokFile, '--out', out]);
    assert.notEqual(again.code, 0);
  });

  test('bad lines are named by line number, never echoed; nothing is printed', async () => {
    const good = syntheticMyNumber(1);
    const secret = '987654321098';
    const r = await kuraban(tv, ['token', 'tokenize', ...common], { stdin: `${good}\n${secret}\n` });
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /TOKEN_INVALID/);
    assert.match(r.stderr, /line[^0-9]*2/);
    assert.ok(!r.stderr.includes(secret));
    const d = await kuraban(tv, ['token', 'detokenize', ...common], { stdin: `${good}\n` });
    assert.notEqual(d.code, 0);
    assert.match(d.stderr, /TOKEN_INVALID/, 'a real My Number is not a token');
    assert.equal(d.stdout, '');
  });

  test('rotate: issued tokens keep resolving, new ones differ; every call is logged', async () => {
    const n = syntheticMyNumber(42);
    const first = (await kuraban(tv, ['token', 'tokenize', ...common], { stdin: `${n}\n` })).stdout.trim();
    const rot = await kuraban(tv, ['token', 'rotate', '--tenant', T, '--collection', C]);
    assert.equal(rot.code, 0, rot.stderr);
    assert.deepEqual(JSON.parse(rot.stdout), { kind: 'token', collection: C, version: 2 });
    const second = (await kuraban(tv, ['token', 'tokenize', ...common], { stdin: `${n}\n` })).stdout.trim();
    assert.notEqual(second, first);
    const back = await kuraban(tv, ['token', 'detokenize', ...common], { stdin: `${first}\n${second}\n` });
    assert.equal(back.stdout, `${n}\n${n}\n`);
    const help = await kuraban(tv, ['token', 'tokenize', '--help']);
    assert.match(help.stdout, /never from arguments/);
  });
});
