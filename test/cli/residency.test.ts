/**
 * The residency commands: `kuraban location`, `collection create --residency`, `residency set`,
 * `export --location` (refused destinations get no file, not even an empty one), `kuraban map`
 * (table and --json, following the configuration), and `kuraban access report`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import { runCli } from '../../src/cli/program.js';
import type { AccessReport, DataMap } from '../../src/residency/index.js';
import { once } from '../helpers/once.js';
import { BACKENDS, createTempVault, type TempVault } from '../helpers/temp-vault.js';
import { captureIo, vaultArgs, type CliResult } from './harness.js';

const T = '131016';

for (const backend of BACKENDS) {
  describe(`kuraban location / map / export --location (${backend})`, () => {
    let tv: TempVault;
    let dir: string;
    /** Runs the CLI with these environment variables (the configured store and key locations). */
    const run = async (args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => {
      const c = captureIo();
      const code = await runCli(['node', 'kuraban', ...vaultArgs(tv), ...args], { ...c.io, env });
      return { code, stdout: c.stdout(), stderr: c.stderr() };
    };
    const ok = async (args: readonly string[], env: NodeJS.ProcessEnv = {}) => {
      const r = await run(args, env);
      assert.equal(r.code, 0, `kuraban ${args.join(' ')}: ${r.stderr}`);
      return r;
    };
    const CITY = { KURABAN_STORE_LOCATION: 'tokyo-db', KURABAN_KEY_LOCATION: 'city-hsm' };

    beforeEach(
      once(async () => {
        tv = await createTempVault(backend);
        dir = mkdtempSync(join(tmpdir(), 'kuraban-residency-cli-'));
        await tv.vault.tenants.create(T, '千代田区');
        await ok(['location', 'add', 'tokyo-db', '--country', 'JP', '--region', 'JP-Tokyo', '--provider', 'self-hosted', '--operator', 'chiyoda-city', '--jurisdiction', 'JP', '--holds', 'ciphertext']);
        await ok(['location', 'add', 'city-hsm', '--country', 'JP', '--region', 'JP-Tokyo', '--provider', 'on-prem-hsm', '--operator', 'chiyoda-city', '--jurisdiction', 'JP', '--holds', 'keys']);
        await ok(['location', 'add', 'osaka-share', '--country', 'JP', '--region', 'JP-Osaka', '--provider', 'self-hosted', '--operator', 'chiyoda-city', '--jurisdiction', 'JP', '--holds', 'plaintext']);
        await ok(['location', 'add', 'vendor-pc', '--country', 'JP', '--provider', 'laptop', '--operator', 'integrator', '--jurisdiction', 'JP', '--holds', 'plaintext']);
        writeFileSync(join(dir, 'rules.json'), JSON.stringify({ ciphertext: { countries: ['JP'], regions: ['JP-Tokyo', 'JP-Osaka'] }, keys: { locations: ['city-hsm'] } }));
      }),
    );
    after(async () => {
      await tv?.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('collection create --residency: refused on the default laptop configuration, accepted once the store and keys are declared', async () => {
      const refused = await run(['collection', 'create', '--tenant', T, '--template', 'juminhyo', '--residency', join(dir, 'rules.json')]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /RESIDENCY_VIOLATION: collection juminhyo: .*ciphertext\.regions/);
      assert.equal((await run(['collection', 'list', '--tenant', T])).stdout, '', 'no collection was created');
      await ok(['collection', 'create', '--tenant', T, '--template', 'juminhyo', '--residency', join(dir, 'rules.json')], CITY);
      const list = await ok(['location', 'list'], CITY);
      assert.match(list.stdout, /^tokyo-db\tJP\tJP-Tokyo\tself-hosted\tchiyoda-city\tJP\tciphertext\tstore$/m);
      assert.match(list.stdout, /^city-hsm\t.*\tkeys$/m);
    });

    test('without the declared configuration the vault is sealed for data commands, with the rule named', async () => {
      const r = await run(['collection', 'list', '--tenant', T]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /VAULT_SEALED: .*RESIDENCY_VIOLATION.*juminhyo.*ciphertext\.regions/);
    });

    test('export --location: a destination that breaks the rules, is not registered, or is missing gets no file; an allowed one is written and mapped', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['--location', 'vendor-pc'], /RESIDENCY_VIOLATION: collection juminhyo: export is refused by residency rule ciphertext\.regions/],
        [['--location', 'tokyo-db'], /RESIDENCY_VIOLATION: .*not declared to hold/],
        [['--location', 'nowhere'], /LOCATION_NOT_FOUND/],
        [[], /RESIDENCY_VIOLATION: .*export\.location/],
      ];
      for (const [i, [extra, message]] of cases.entries()) {
        const out = join(dir, `refused-${i}.ndjson`);
        const r = await run(['export', '--tenant', T, '--collection', 'juminhyo', '--out', out, ...extra], CITY);
        assert.equal(r.code, 1, `case ${i}`);
        assert.match(r.stderr, message);
        assert.equal(existsSync(out), false, `case ${i}: no file, not even an empty one`);
      }
      assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('refused')), []);
      const out = join(dir, 'allowed.ndjson');
      await ok(['export', '--tenant', T, '--collection', 'juminhyo', '--out', out, '--location', 'osaka-share'], CITY);
      assert.ok(existsSync(out));
      const map = JSON.parse((await ok(['map', '--tenant', T, '--json'], CITY)).stdout) as DataMap;
      const c = map.collections.find((x) => x.name === 'juminhyo');
      assert.deepEqual(c?.exports.map((e) => [e.location.id, e.records, e.format]), [['osaka-share', 0, 'ndjson']]);
    });

    test('kuraban map: the table and --json follow the configuration; --html writes a self-contained page', async () => {
      const table = (await ok(['map', '--tenant', T], CITY)).stdout;
      assert.match(table, /every rule holds/);
      assert.match(table, /ciphertext \(store\): tokyo-db \(JP JP-Tokyo; self-hosted; operator chiyoda-city, JP law\)/);
      assert.match(table, /keys \(file\):\s+city-hsm/);
      assert.match(table, /juminhyo\s+0\s+public,personal,sensitive,my-number\s+tokyo-db ok\s+city-hsm ok/);
      // The same vault with the keys declared on the laptop: the map (opened to repair) shows the violation.
      const moved = JSON.parse((await ok(['map', '--tenant', T, '--json'], { ...CITY, KURABAN_KEY_LOCATION: 'local' })).stdout) as DataMap;
      assert.equal(moved.keys.id, 'local');
      assert.equal(moved.compliant, false);
      assert.deepEqual(moved.collections.find((x) => x.name === 'juminhyo')?.keys.violation, { collection: 'juminhyo', rule: 'keys.locations' });
      const html = join(dir, 'map.html');
      await ok(['map', '--tenant', T, '--html', html], CITY);
      const page = readFileSync(html, 'utf8');
      assert.match(page, /<h1>Data map — 千代田区/);
      assert.ok(!/<link|src=|https?:/i.test(page), 'no external asset');
    });

    test('kuraban access report: JSON and HTML for a period', async () => {
      const out = join(dir, 'report.json');
      const html = join(dir, 'report.html');
      await ok(['access', 'report', '--tenant', T, '--collection', 'juminhyo', '--from', '2020-01-01', '--to', '2100-01-01', '--out', out, '--html', html], CITY);
      const report = JSON.parse(readFileSync(out, 'utf8')) as AccessReport;
      assert.equal(report.collection, 'juminhyo');
      assert.ok(report.whoCan.rows.length > 0);
      // The local operator's export read no record (the collection is empty) but is in the log.
      assert.ok(report.whoDid.some((p) => p.principal === 'local-operator' && (p.actions['record.export'] ?? 0) >= 1));
      assert.match(readFileSync(html, 'utf8'), /Access report — juminhyo/);
      const bad = await run(['access', 'report', '--tenant', T, '--collection', 'juminhyo', '--from', 'yesterday', '--to', '2100-01-01'], CITY);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /REQUEST_INVALID/);
    });
  });
}
