import { Option, type Command } from 'commander';
import { configFrom, readJsonFile, withVault, type CliIo, type GlobalOptions } from '../io.js';
import { KurabanError } from '../../errors/index.js';
import { SCHEMA_TEMPLATES, SCHEMA_TEMPLATE_NAMES, type SchemaTemplateName } from '../../schema/index.js';
import { localAudit } from '../../vault/index.js';

export function registerCollectionCommands(program: Command, io: CliIo): void {
  const collection = program.command('collection').description('Manage collections and their schemas');
  collection
    .command('create')
    .description('Create a collection from a schema file: {"name": "...", "fields": [...]} (name may also be given by --name), or from a municipal template')
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--schema <file>', 'JSON schema file')
    .addOption(new Option('--template <name>', 'a schema template: juminhyo (住民基本台帳), kojin-juminzei (個人住民税), kokuho (国民健康保険)').choices(SCHEMA_TEMPLATE_NAMES))
    .option('--name <name>', 'collection name (overrides the file; with --template, defaults to the template name with "_" for "-")')
    .option('--residency <file>', 'JSON residency rules: where its ciphertext and keys may be (docs/residency.md)')
    .action(async (opts: { tenant: string; schema?: string; template?: SchemaTemplateName; name?: string; residency?: string }) => {
      if ((opts.schema === undefined) === (opts.template === undefined)) {
        throw new KurabanError('REQUEST_INVALID', 'give either --schema FILE or --template NAME', { details: [{ reason: 'schema_or_template' }] });
      }
      let fields: unknown;
      let name: string;
      if (opts.template !== undefined) {
        fields = SCHEMA_TEMPLATES[opts.template].schema.fields;
        name = opts.name ?? opts.template.replaceAll('-', '_');
      } else {
        const file = readJsonFile(opts.schema as string) as { name?: unknown; fields?: unknown };
        fields = file?.fields;
        name = opts.name ?? (typeof file?.name === 'string' ? file.name : '');
      }
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        const rules = opts.residency !== undefined ? readJsonFile(opts.residency) : undefined;
        const c =
          rules !== undefined
            ? await vault.residency.createCollection(opts.tenant, name, { fields }, rules, localAudit())
            : await vault.collections.create(opts.tenant, name, { fields }, localAudit());
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
