import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { KurabanError } from '../../errors/index.js';
import { initVault } from '../../vault/index.js';
import { configFrom, vaultLocation, type CliIo, type GlobalOptions } from '../io.js';

/** A configured location's id (a declaration or an id). */
function locationName(l: string | { readonly id: string }): string {
  return typeof l === 'string' ? l : l.id;
}

export function registerInitCommand(program: Command, io: CliIo): void {
  program
    .command('init')
    .description('Create a new vault: a root key file (mode 0600), the store, and one admin API key (printed once)')
    .option('--protect', 'protect the key file with the passphrase from --passphrase-file or KURABAN_PASSPHRASE (scrypt)')
    .action(async (opts: { protect?: boolean }) => {
      const config = configFrom(io, program.opts<GlobalOptions>());
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      const passphrase = opts.protect ? config.passphrase : undefined;
      if (opts.protect && passphrase === undefined) throw new KurabanError('CONFIG_INVALID', '--protect needs a passphrase (--passphrase-file or KURABAN_PASSPHRASE)');
      const result = await initVault(vaultLocation(config), { passphrase });
      io.stdout.write(
        [
          `Kuraban vault initialised in ${config.databaseUrl ? 'PostgreSQL' : config.dataDir}`,
          `root key file: ${config.keyFile} (key id ${result.keyId}${passphrase ? ', passphrase-protected' : ', UNPROTECTED: development only'})`,
          `locations: store at ${locationName(config.storeLocation)}, root key at ${locationName(config.keyLocation)}${config.storeLocation === 'local' || config.keyLocation === 'local' ? ' (local: this machine, region not declared; see docs/residency.md)' : ''}`,
          '',
          'Admin API key (shown once; store it now):',
          `  ${result.adminKey}`,
          '',
        ].join('\n'),
      );
    });
}
