import type { Command } from 'commander';
import { configFrom, withVault, type CliIo, type GlobalOptions } from '../io.js';
import { localAudit } from '../../vault/index.js';

export function registerTenantCommands(program: Command, io: CliIo): void {
  const tenant = program.command('tenant').description('Manage tenants (organisations)');
  tenant
    .command('create')
    .description('Create a tenant with its own tenant key')
    .requiredOption('--id <id>', 'tenant id, e.g. a local-government code such as 131016')
    .requiredOption('--name <name>', 'display name')
    .action(async (opts: { id: string; name: string }) => {
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        const t = await vault.tenants.create(opts.id, opts.name, localAudit());
        // The tenant's access-log verifier key: what auditors need to check its log.
        const log = await vault.accessLog.verifierKey(t.id);
        io.stdout.write(`${JSON.stringify({ ...t, log })}\n`);
      });
    });
  tenant
    .command('list')
    .description('List tenants')
    .action(async () => {
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        for (const t of await vault.tenants.list()) io.stdout.write(`${JSON.stringify(t)}\n`);
      });
    });
}
