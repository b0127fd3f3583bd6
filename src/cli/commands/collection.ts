import type { Command } from 'commander';
import { configFrom, readJsonFile, withVault, type CliIo, type GlobalOptions } from '../io.js';
import { localAudit } from '../../vault/index.js';

export function registerCollectionCommands(program: Command, io: CliIo): void {
  const collection = program.command('collection').description('Manage collections and their schemas');
  collection
    .command('create')
    .description('Create a collection from a schema file: {"name": "...", "fields": [...]} (name may also be given by --name)')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--schema <file>', 'JSON schema file')
    .option('--name <name>', 'collection name (overrides the file)')
    .action(async (opts: { tenant: string; schema: string; name?: string }) => {
      const file = readJsonFile(opts.schema) as { name?: unknown; fields?: unknown };
      const name = opts.name ?? (typeof file?.name === 'string' ? file.name : '');
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        const c = await vault.collections.create(opts.tenant, name, { fields: file?.fields }, localAudit());
        io.stdout.write(`${JSON.stringify({ tenantId: c.tenantId, name: c.name, schemaVersion: c.schemaVersion, fields: c.schema.fields.length })}\n`);
      });
    });
  collection
    .command('list')
    .description('List collections of a tenant')
    .requiredOption('--tenant <id>', 'tenant id')
    .action(async (opts: { tenant: string }) => {
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        for (const c of await vault.collections.list(opts.tenant)) {
          io.stdout.write(`${JSON.stringify({ name: c.name, schemaVersion: c.schemaVersion, fields: c.schema.fields.map((f) => f.name) })}\n`);
        }
      });
    });
}
