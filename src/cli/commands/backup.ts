import type { Command } from 'commander';
import { restoreBackup } from '../../backup/index.js';
import { KurabanError } from '../../errors/index.js';
import { openStore } from '../../store/index.js';
import { auditEntries, localAudit, openRootKeyProvider, openWithStore } from '../../vault/index.js';
import { configFrom, vaultLocation, withVault, type CliIo, type GlobalOptions } from '../io.js';

export function registerBackupCommands(program: Command, io: CliIo): void {
  const config = () => configFrom(io, program.opts<GlobalOptions>());

  program
    .command('backup')
    .description('Write an encrypted data archive and, separately, an encrypted key archive (never a clear key) of one consistent snapshot')
    .requiredOption('--out <dir>', 'directory for the data archive')
    .option('--keys-out <dir>', 'directory for the key archive (default: --out); keep key backups apart, with their own retention')
    .option('--location <id>', 'the registered location (kuraban location list) the directories are in, recorded in both archives; it must hold ciphertext and satisfy every collection\'s residency rules; env KURABAN_BACKUP_LOCATION (default local)')
    .action(async (opts: { out: string; keysOut?: string; location?: string }) => {
      const cfg = config();
      await withVault(cfg, async (vault) => {
        const result = await vault.backup({ dataDir: opts.out, keysDir: opts.keysOut ?? opts.out, location: opts.location ?? cfg.backupLocation }, localAudit());
        io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      });
    });

  program
    .command('restore')
    .description('Restore a backup into an EMPTY vault that has the same root key (key file or token); all or nothing')
    .requiredOption('--data <file>', 'the data archive (.data.kbk)')
    .requiredOption('--keys <file>', 'the key archive of the same backup (.keys.kbk)')
    .action(async (opts: { data: string; keys: string }) => {
      const cfg = config();
      const location = vaultLocation(cfg);
      const store = openStore(location);
      try {
        await store.migrate();
        const provider = await openRootKeyProvider(location);
        let result;
        try {
          result = await restoreBackup(store, provider, { data: opts.data, keys: opts.keys });
        } finally {
          provider.close();
        }
        // The restored vault must open with this root key; its logs record the restore.
        const state = await openWithStore(store, location, { sealWorkers: 0 });
        if (state.sealed) throw new KurabanError('BACKUP_INVALID', `restored vault does not open: ${state.reason}`);
        try {
          const audit = localAudit();
          for (const t of await store.listTenants()) await state.vault.accessLog.record(...auditEntries(audit, t.id, 'backup.restore', {}, 'ok', state.vault.clock()));
          await state.vault.accessLog.integrateAll();
        } finally {
          await state.vault.close();
        }
        io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } finally {
        await store.close();
      }
    });
}
