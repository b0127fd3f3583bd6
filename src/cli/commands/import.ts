import { extname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Option, type Command } from 'commander';
import { KurabanError } from '../../errors/index.js';
import { createProgress, DEFAULT_BATCH_SIZE, IMPORT_FORMATS, TEXT_ENCODINGS, runImport, type ImportFormat, type TextEncoding } from '../../import/index.js';
import { MAX_BATCH } from '../../vault/index.js';
import { configFrom, withVault, type CliIo, type GlobalOptions } from '../io.js';
import { localAudit } from '../../vault/index.js';

interface ImportCommandOptions {
  tenant: string;
  collection: string;
  format?: ImportFormat;
  rejects?: string;
  batchSize: string;
  encoding?: TextEncoding;
  map: string[];
}

const HELP = `
Formats (UTF-8, a byte order mark tolerated; CSV may also be Shift_JIS, i.e. CP932, with --encoding):
  csv      RFC 4180 with a header row of field names or field labels (the templates label
           their fields in Japanese: 氏名, 生年月日, ...), or any header mapped with
           --map HEADER=FIELD (repeatable). 和暦 dates (昭和60年4月12日, S60.4.12) and
           half-width kana are read as such. A column named subject_id holds the
           record's subject id; columns id and version (as written by kuraban export) are
           skipped. An empty cell is an absent value (CSV cannot carry an empty string; use
           NDJSON for that). Object fields hold JSON. Quoted cells may contain commas, "" for
           a quote, and line breaks. A header column that is not a field fails the import
           before anything is written.
  ndjson   one {"subjectId": "...", "fields": {...}} per line (subjectId optional); blank
           lines are skipped.

Rejected rows are not written and never stop the import: each is listed in the rejects file
as {"line": N, "errors": [{"field": "...", "reason": "..."}]}, where N is the physical line on
which the record starts. The rejects file holds field names and reason codes only, never a
value from the file.

Resuming: each batch commits with the import's progress. If an import is interrupted, run the
same command again: it continues after the last committed batch without duplicating rows. A
file that was fully imported is reported as already imported and nothing is written. The job is
identified by the file's content (SHA-256), size, tenant, collection and format; a changed file
is a new import.

Output: progress on standard error (a bar on a terminal, a line every 2 s otherwise), and one
JSON summary line on standard output: imported, rejected, alreadyDone, resumedFromLine,
seconds, rowsPerSecond, ... The exit status is 0 when the import completed, even with rejects.

Examples:
  kuraban import --tenant 131016 --collection residents residents.csv
  kuraban import --tenant 999997 --collection juminhyo --encoding shift_jis --map 氏名（漢字）=name extract.csv
`;

export function registerImportCommand(program: Command, io: CliIo): void {
  program
    .command('import')
    .description('Import records from a CSV or NDJSON file (streaming, resumable; rejected rows go to a rejects file)')
    .argument('<file>', 'CSV or NDJSON file')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--collection <name>', 'collection name')
    .addOption(new Option('--format <format>', 'file format (default: from the extension: .csv; .ndjson or .jsonl)').choices(IMPORT_FORMATS))
    .option('--rejects <file>', 'where rejected rows are listed, by line number and reason (default: <FILE>.rejects.ndjson)')
    .option('--batch-size <n>', `records per transaction, 1 to ${MAX_BATCH}`, String(DEFAULT_BATCH_SIZE))
    .addOption(new Option('--encoding <encoding>', 'CSV text encoding (default utf-8; shift_jis reads CP932)').choices(TEXT_ENCODINGS))
    .option('--map <header=field>', 'CSV: read the column with this header into this field (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .addHelpText('after', HELP)
    .action(async (file: string, opts: ImportCommandOptions) => {
      const format = opts.format ?? formatFromName(file);
      const batchSize = /^\d{1,6}$/.test(opts.batchSize) ? Number(opts.batchSize) : Number.NaN;
      const rejectsPath = opts.rejects ?? `${file}.rejects.ndjson`;
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        const now = () => performance.now();
        const summary = await runImport(vault, {
          tenantId: opts.tenant,
          collection: opts.collection,
          file,
          format,
          encoding: opts.encoding,
          columns: columnMap(opts.map),
          rejectsPath,
          batchSize,
          progress: createProgress(io.stderr, now),
          now,
          audit: localAudit(),
        });
        if (summary.alreadyDone) {
          io.stderr.write(
            `kuraban import: this file was already imported into ${opts.tenant}/${opts.collection} (${summary.totalImported} imported, ${summary.totalRejected} rejected); nothing written\n`,
          );
        } else {
          if (summary.resumedFromLine !== null) io.stderr.write(`kuraban import: resumed an interrupted import at line ${summary.resumedFromLine}\n`);
          if (summary.ignoredColumns) io.stderr.write(`kuraban import: skipped export columns ${summary.ignoredColumns.join(', ')} (records get new ids)\n`);
          if (summary.totalRejected > 0) io.stderr.write(`kuraban import: ${summary.totalRejected} rows rejected; line numbers and reasons are in ${rejectsPath}\n`);
        }
        io.stdout.write(`${JSON.stringify(summary)}\n`);
      }, { workload: 'import' }); // bounded memory (io.ts)
    });
}

function columnMap(pairs: readonly string[]): Map<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const map = new Map<string, string>();
  for (const p of pairs) {
    const at = p.lastIndexOf('=');
    if (at <= 0 || at === p.length - 1) {
      throw new KurabanError('IMPORT_INVALID', '--map takes HEADER=FIELD', { details: [{ reason: 'invalid_map' }] });
    }
    map.set(p.slice(0, at), p.slice(at + 1));
  }
  return map;
}

function formatFromName(file: string): ImportFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  throw new KurabanError('IMPORT_INVALID', 'cannot tell the format from the file name; pass --format csv or --format ndjson', {
    details: [{ reason: 'unknown_format' }],
  });
}
