import type { Command } from 'commander';
import { KurabanError } from '../../errors/index.js';
import { DEMO_DEFAULT_RESIDENTS, DEMO_MAX_RESIDENTS, loadDemo, type DemoLoadResult } from '../../demo/index.js';
import { localAudit, type Vault } from '../../vault/index.js';
import { configFrom, withVault, type CliIo, type GlobalOptions } from '../io.js';

export const DEMO_DEFAULT_SEED = 'kakuu-shi';

/** Loads the demo with progress on standard error; shared by `kuraban demo` and `kuraban start`. */
export async function runDemo(vault: Vault, io: CliIo, residents: number, seed: string): Promise<DemoLoadResult> {
  const started = Date.now();
  let last = 0;
  const result = await loadDemo(vault, {
    seed,
    residents,
    audit: localAudit(),
    onProgress: (n) => {
      if (Date.now() - last < 2000 && n < residents) return;
      last = Date.now();
      io.stderr.write(`kuraban demo: ${n.toLocaleString('en')} / ${residents.toLocaleString('en')} residents\n`);
    },
  });
  io.stderr.write(`kuraban demo: 架空市 (tenant ${result.tenantId}) loaded in ${((Date.now() - started) / 1000).toFixed(1)} s: ${result.residents} residents, ${result.taxRecords} tax and ${result.nhiRecords} NHI records\n`);
  return result;
}

export function registerDemoCommand(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('Create the demo municipality 架空市 (tenant 999997) with synthetic residents, tax and NHI records')
    .option('--residents <n>', `number of residents, 100 to ${DEMO_MAX_RESIDENTS.toLocaleString('en')}`, String(DEMO_DEFAULT_RESIDENTS))
    .option('--seed <seed>', 'generator seed: the same seed gives the same residents', DEMO_DEFAULT_SEED)
    .action(async (opts: { residents: string; seed: string }) => {
      const residents = /^\d{1,8}$/.test(opts.residents) ? Number(opts.residents) : Number.NaN;
      if (!(residents >= 100 && residents <= DEMO_MAX_RESIDENTS)) {
        throw new KurabanError('REQUEST_INVALID', `--residents must be from 100 to ${DEMO_MAX_RESIDENTS}`, { details: [{ field: 'residents', reason: 'out_of_range' }] });
      }
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        const r = await runDemo(vault, io, residents, opts.seed);
        // The keys are shown once, here; `start` saves them to files instead.
        io.stdout.write(`${JSON.stringify(r)}\n`);
      });
    });
}
