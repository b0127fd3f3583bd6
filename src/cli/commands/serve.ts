import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config/index.js';
import { buildApp } from '../../http/index.js';
import { openStore } from '../../store/index.js';
import { initVault, VaultHost } from '../../vault/index.js';
import { configFrom, vaultLocation, withVault, workloadSealWorkerMemory, type CliIo, type GlobalOptions } from '../io.js';
import { DEMO_DEFAULT_RESIDENTS } from '../../demo/index.js';
import { DEMO_DEFAULT_SEED, runDemo } from './demo.js';

interface ServeOptions {
  host?: string;
  port?: string;
}

async function serve(config: Config, io: CliIo): Promise<void> {
  const location = vaultLocation(config, 'server');
  const store = openStore(location);
  await store.migrate();
  const host = await VaultHost.open(store, location, {
    sealWorkers: config.sealWorkers,
    ...workloadSealWorkerMemory('server'),
    logHost: config.logHost,
    logIntervalMs: config.logIntervalMs,
    // The access log's integrator: pending entries become signed checkpoints at most logIntervalMs later.
    onOpen: (state) => state.vault.integrator.start(),
  });
  const app = await buildApp({ config, state: () => host.state, logger: true, control: { unseal: (secret) => host.unseal(secret), seal: (reason) => host.seal(reason) } });
  const address = await app.listen({ host: config.host, port: config.port });
  const state = host.state;
  io.stderr.write(
    state.sealed
      ? `kuraban: vault is SEALED (${state.reason}); serving health only at ${address}; ${state.reason.startsWith('RESIDENCY_VIOLATION') || state.reason.startsWith('LOCATION_NOT_FOUND') ? 'declare where the store and key provider really are, or change the rules (docs/residency.md), then restart' : 'unseal with `kuraban unseal`'}\n`
      : `kuraban: serving ${address} (docs: ${address}/docs)\n`,
  );
  const stop = async () => {
    await app.close();
    await host.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function overrides(opts: ServeOptions) {
  return { ...(opts.host ? { host: opts.host } : {}), ...(opts.port ? { port: Number(opts.port) } : {}) };
}

export function registerServeCommands(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('Serve the HTTP API (starts sealed, serving health only, if the root key cannot be opened)')
    .option('--host <host>', 'listen address; env KURABAN_HOST (default 127.0.0.1)')
    .option('--port <port>', 'listen port; env KURABAN_PORT (default 8420)')
    .action(async (opts: ServeOptions) => serve(configFrom(io, program.opts<GlobalOptions>(), overrides(opts)), io));

  program
    .command('start')
    .description(
      'Development quick start: on first run, initialise the data directory (admin key saved to <data-dir>/admin.key, mode 0600) and load the demo municipality 架空市 (tenant key in <data-dir>/demo.key); then serve',
    )
    .option('--host <host>', 'listen address')
    .option('--port <port>', 'listen port')
    .option('--no-demo', 'on first run, do not load the demo municipality')
    .action(async (opts: ServeOptions & { demo: boolean }) => {
      const config = configFrom(io, program.opts<GlobalOptions>(), overrides(opts));
      const adminKeyFile = join(config.dataDir, 'admin.key');
      const demoKeyFile = join(config.dataDir, 'demo.key');
      const clerkKeyFile = join(config.dataDir, 'clerk.key');
      if (!config.databaseUrl && !existsSync(config.keyFile)) {
        mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
        const result = await initVault(vaultLocation(config));
        writeFileSync(adminKeyFile, `${result.adminKey}\n`, { mode: 0o600, flag: 'wx' });
        io.stderr.write(`kuraban: new development vault in ${config.dataDir}; admin API key saved to ${adminKeyFile}\n`);
        if (opts.demo) {
          await withVault(config, async (vault) => {
            const demo = await runDemo(vault, io, DEMO_DEFAULT_RESIDENTS, DEMO_DEFAULT_SEED);
            writeFileSync(demoKeyFile, `${demo.tenantKey}\n`, { mode: 0o600, flag: 'wx' });
            writeFileSync(clerkKeyFile, `${demo.clerkKey}\n`, { mode: 0o600, flag: 'wx' });
          });
        }
      }
      io.stderr.write(`kuraban: admin API key: ${existsSync(adminKeyFile) ? adminKeyFile : '(not stored; use the key printed by init)'}\n`);
      if (existsSync(demoKeyFile)) {
        io.stderr.write(
          `kuraban: demo municipality 架空市 is tenant 999997 (collections juminhyo, kojin_juminzei, kokuho); under the municipal role templates (policies/municipal.cedar); keys: administrator ${demoKeyFile}, counter clerk ${clerkKeyFile}; searches to try: README.md, "The demo municipality"\n`,
        );
      }
      await serve(config, io);
    });
}
