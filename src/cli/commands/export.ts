import { once } from 'node:events';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { Option, type Command } from 'commander';
import { KurabanError } from '../../errors/index.js';
import { cellText, csvRecord, ndjsonRecord, SUBJECT_ID_COLUMN } from '../../import/index.js';
import type { Vault } from '../../vault/index.js';
import { configFrom, withVault, type CliIo, type GlobalOptions } from '../io.js';
import { auditEntries, localAudit, MAX_IDS_PER_ENTRY, type VaultRecord } from '../../vault/index.js';
import { hasRules, type Location } from '../../residency/index.js';

/** An export without --location (allowed only when the collection has no rules) is recorded as going to this undeclared place. */
const UNSPECIFIED = 'unspecified';

interface ExportOptions {
  tenant: string;
  collection: string;
  format: 'ndjson' | 'csv';
  out?: string;
  location?: string;
}

const HELP = `
The output is PLAINTEXT personal data, outside the vault's encryption, access control and log.
Write it only where it is protected, and delete it when it is no longer needed. With --out the
file is created with mode 0600 and an existing file is never overwritten.

  ndjson   one {"id", "subjectId", "version", "fields"} per line
  csv      header id,subject_id,version,<fields in schema order>; objects as JSON; an absent
           value is an empty cell. Cells are quoted per RFC 4180 and never altered: a
           spreadsheet may evaluate cells that begin with = + - @ as formulas.

Both formats import back with kuraban import (ids and versions are not kept).

--location names the registered location (kuraban location list) the file goes to. It must be
declared to hold plaintext and satisfy the collection's residency rules (its ciphertext rules:
data may be only where they allow, in any form), or nothing is written. A collection with
residency rules exports only with --location. Each export is recorded for the data map.
`;

/** Output is buffered up to this many characters per write, so the stream's backpressure applies per chunk. */
const WRITE_CHUNK = 64 * 1024;

export function registerExportCommand(program: Command, io: CliIo): void {
  program
    .command('export')
    .description('Write every record of a collection as NDJSON or CSV (plaintext personal data)')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--collection <name>', 'collection name')
    .addOption(new Option('--format <format>', 'output format').choices(['ndjson', 'csv']).default('ndjson'))
    .option('--out <file>', 'write to this new file (mode 0600, never overwritten) instead of standard output')
    .option('--location <id>', "the registered location the output goes to; checked against the collection's residency rules before anything is written")
    .addHelpText('after', HELP)
    .action(async (opts: ExportOptions) => {
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        // The collection is checked before a file is created.
        const collection = await vault.collections.get(opts.tenant, opts.collection);
        const fieldNames = collection.schema.fields.map((f) => f.name);
        // Residency: the destination is checked (and a refusal logged) before a file is created.
        let destination: Location | undefined;
        if (opts.location !== undefined) destination = await vault.residency.checkExport(opts.tenant, opts.collection, opts.location, localAudit());
        else if (hasRules(await vault.residency.rulesOf(collection))) {
          await vault.accessLog.record(...auditEntries(localAudit(), opts.tenant, 'record.export', { collection: collection.name }, 'RESIDENCY_VIOLATION', vault.clock()));
          throw new KurabanError('RESIDENCY_VIOLATION', `collection ${collection.name}: export is refused by residency rule export.location (give --location, a registered location the rules allow)`, {
            details: [{ field: 'export.location', reason: 'residency_violation' }],
          });
        }
        let handle: FileHandle | undefined;
        if (opts.out !== undefined) {
          try {
            handle = await open(opts.out, 'wx', 0o600); // O_CREAT | O_EXCL: refuse to overwrite, and no symlink is followed
          } catch (e) {
            const exists = (e as NodeJS.ErrnoException).code === 'EEXIST';
            throw new KurabanError('REQUEST_INVALID', exists ? `${opts.out} exists; export never overwrites a file` : `cannot create ${opts.out}`, {
              details: [{ reason: exists ? 'out_exists' : 'out_unwritable' }],
            });
          }
        }
        const where = opts.out ?? 'standard output';
        io.stderr.write(`kuraban export: WARNING: writing PLAINTEXT personal data to ${where}${handle ? ' (mode 0600)' : ''}; protect it and delete it when done\n`);
        const out = handle ? handle.createWriteStream() : io.stdout;
        try {
          const count = await writeRecords(vault, opts, fieldNames, out);
          if (handle) {
            (out as NodeJS.WritableStream).end();
            await finished(out as NodeJS.WritableStream);
          }
          await vault.residency.recordExport(opts.tenant, opts.collection, destination?.id ?? UNSPECIFIED, count, opts.format, vault.clock());
          io.stderr.write(`kuraban export: ${count} records written to ${where}\n`);
        } catch (e) {
          if (handle && opts.out !== undefined) {
            // A partial copy of personal data is not left behind.
            (out as NodeJS.WritableStream & { destroy(): void }).destroy();
            await handle.close().catch(() => undefined);
            await unlink(opts.out).catch(() => undefined);
          }
          throw e;
        }
      });
    });
}

async function writeRecords(vault: Vault, opts: ExportOptions, fieldNames: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  let buffered = '';
  const write = async (s: string, force = false) => {
    buffered += s;
    if (buffered.length < WRITE_CHUNK && !force) return;
    const chunk = buffered;
    buffered = '';
    if (!out.write(chunk)) await once(out, 'drain');
  };
  if (opts.format === 'csv') await write(csvRecord(['id', SUBJECT_ID_COLUMN, 'version', ...fieldNames]));
  let count = 0;
  // Every exported record is in the log (`record.export`), a page at a time, before it is written out.
  const audit = localAudit();
  let page: VaultRecord[] = [];
  const flushPage = async () => {
    if (page.length === 0) return;
    const touched = { collection: opts.collection, records: page.map((r) => r.id), subjects: page.map((r) => r.subjectId), fields: fieldNames };
    await vault.accessLog.record(...auditEntries(audit, opts.tenant, 'record.export', touched, 'ok', vault.clock()));
    for (const r of page) {
      await write(opts.format === 'csv' ? csvRecord([r.id, r.subjectId ?? '', String(r.version), ...fieldNames.map((n) => cellText(r.fields[n]))]) : ndjsonRecord(r));
      count++;
    }
    page = [];
  };
  for await (const r of vault.records.scan(opts.tenant, opts.collection)) {
    page.push(r);
    if (page.length >= MAX_IDS_PER_ENTRY) await flushPage();
  }
  await flushPage();
  if (buffered.length > 0) await write('', true);
  return count;
}
