import type { Command } from 'commander';
import { KurabanError } from '../../errors/index.js';
import { ndjsonRecord } from '../../import/index.js';
import { MAX_SEARCH_LIMIT } from '../../vault/index.js';
import { configFrom, readJsonFile, readStdin, withVault, type CliIo, type GlobalOptions } from '../io.js';
import { auditEntries, localAudit } from '../../vault/index.js';

interface SearchCommandOptions {
  tenant: string;
  collection: string;
  whereFile?: string;
  limit: string;
  after?: string;
}

const HELP = `
The search is a JSON object of field names and the values they must equal (all must match),
for fields declared searchable or unique:

  {"family_name": "山田", "birth_date": "1980-04-01"}

The values are personal data, so they are read from --where-file or standard input and are
never accepted as command-line arguments: arguments are visible to every user of the machine
(ps, /proc) and are kept in shell history. Prefer a file you delete afterwards, or a pipe from a
program; do not type the values into an echo command.

Examples:
  kuraban search --tenant 131016 --collection residents --where-file where.json
  kuraban search --tenant 131016 --collection residents < where.json

Matching records are printed as NDJSON ({"id", "subjectId", "version", "fields"}). When there
are more than --limit, standard error says which --after id continues.
`;

export function registerSearchCommand(program: Command, io: CliIo): void {
  program
    .command('search')
    .description('Find records by exact value of searchable fields; the search values come from a file or standard input')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--collection <name>', 'collection name')
    .option('--where-file <file>', 'JSON object of field values to match (default: standard input; "-" is standard input)')
    .option('--limit <n>', `at most this many records, 1 to ${MAX_SEARCH_LIMIT}`, '100')
    .option('--after <id>', 'continue after this record id (printed when there are more results)')
    .addHelpText('after', HELP)
    .action(async (opts: SearchCommandOptions) => {
      const limit = /^\d{1,6}$/.test(opts.limit) ? Number(opts.limit) : Number.NaN;
      if (!(limit >= 1 && limit <= MAX_SEARCH_LIMIT)) {
        throw new KurabanError('REQUEST_INVALID', `--limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}`, { details: [{ field: 'limit', reason: 'out_of_range' }] });
      }
      const where = await readWhere(io, opts.whereFile);
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        const result = await vault.records.search(opts.tenant, opts.collection, where, { limit, after: opts.after });
        const touched = {
          collection: opts.collection,
          records: result.records.map((r) => r.id),
          subjects: result.records.map((r) => r.subjectId),
          fields: [...Object.keys(where as object), ...result.records.flatMap((r) => Object.keys(r.fields))],
        };
        await vault.accessLog.record(...auditEntries(localAudit(), opts.tenant, 'record.search', touched, 'ok', vault.clock()));
        for (const r of result.records) io.stdout.write(ndjsonRecord(r));
        if (result.next !== undefined) io.stderr.write(`kuraban search: more results; continue with --after ${result.next}\n`);
      });
    });
}

async function readWhere(io: CliIo, file: string | undefined): Promise<unknown> {
  if (file !== undefined && file !== '-') return readJsonFile(file);
  if ((io.stdin as { isTTY?: boolean }).isTTY === true && file === undefined) {
    // Typing the values at a terminal would work, but it is easy to mistake for a hang.
    throw new KurabanError('REQUEST_INVALID', 'pass --where-file FILE, or pipe the JSON object on standard input', { details: [{ reason: 'no_where' }] });
  }
  const text = await readStdin(io.stdin);
  try {
    return JSON.parse(text);
  } catch {
    throw new KurabanError('REQUEST_INVALID', 'standard input is not valid JSON', { details: [{ reason: 'malformed_json' }] });
  }
}
