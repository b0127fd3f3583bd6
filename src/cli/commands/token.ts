import { open, readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { KurabanError } from '../../errors/index.js';
import { valueFromText } from '../../schema/index.js';
import { auditEntries, localAudit, MAX_TOKENS_PER_CALL, type Vault } from '../../vault/index.js';
import { configFrom, readStdin, withVault, type CliIo, type GlobalOptions } from '../io.js';

interface TokenOptions {
  tenant: string;
  collection: string;
  field: string;
  in?: string;
  out?: string;
  subject?: string;
}

const HELP = `
One item per line, in and out, in the same order: a legacy column goes through unchanged in shape.
Values are personal data, so they are read from --in FILE or standard input, never from arguments.

  cut -d, -f3 legacy.csv | kuraban token tokenize --tenant 131016 --collection residents --field my_number > tokens.txt
  kuraban token detokenize --tenant 131016 --collection residents --field my_number --in tokens.txt --out numbers.txt

Each call of up to ${MAX_TOKENS_PER_CALL.toLocaleString('en')} lines is one access-log entry (with the count). The
CLI acts as the local operator (it holds the root key); over HTTP, detokenisation is governed by the
tenant's policies (action detokenize, with a declared purpose). See docs/tokens.md.
`;

async function readLines(io: CliIo, file: string | undefined): Promise<string[]> {
  let text: string;
  if (file !== undefined && file !== '-') {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await readFile(file));
    } catch {
      throw new KurabanError('REQUEST_INVALID', `cannot read ${file} as UTF-8`, { details: [{ reason: 'unreadable_input' }] });
    }
  } else {
    if ((io.stdin as { isTTY?: boolean }).isTTY === true && file === undefined) {
      throw new KurabanError('REQUEST_INVALID', 'pass --in FILE, or pipe the lines on standard input', { details: [{ reason: 'no_input' }] });
    }
    text = await readStdin(io.stdin);
  }
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function chunked<T>(items: readonly string[], fn: (chunk: readonly string[], offset: number) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < items.length; i += MAX_TOKENS_PER_CALL) out.push(...(await fn(items.slice(i, i + MAX_TOKENS_PER_CALL), i)));
  return out;
}

/** Problem details name the input line (1-based) instead of the index within a call. */
function atLine<T>(offset: number, fn: () => Promise<T>): Promise<T> {
  return fn().catch((e: unknown) => {
    if (e instanceof KurabanError && e.details) {
      throw new KurabanError(e.code, e.message, { details: e.details.map((d) => { const { index, ...rest } = d; return index === undefined ? d : { ...rest, line: offset + index + 1 }; }) });
    }
    throw e;
  });
}

async function fieldOf(vault: Vault, opts: TokenOptions) {
  const c = await vault.collections.get(opts.tenant, opts.collection);
  const field = c.schema.fields.find((f) => f.name === opts.field);
  if (!field) throw new KurabanError('TOKEN_INVALID', 'no such field', { details: [{ reason: 'unknown_field' }] });
  return field;
}

export function registerTokenCommands(program: Command, io: CliIo): void {
  const token = program.command('token').description('Tokenise values of tokenised fields and resolve tokens back (docs/tokens.md)');
  const common = (c: Command) =>
    c
      .requiredOption('--tenant <id>', 'tenant id')
      .requiredOption('--collection <name>', 'collection name')
      .requiredOption('--field <name>', 'a tokenised field')
      .option('--in <file>', 'one item per line (default: standard input; "-" is standard input)')
      .addHelpText('after', HELP);

  common(token.command('tokenize').description('Print one token per input value'))
    .option('--subject <id>', 'the person the values are about: erasing them revokes these tokens')
    .action(async (opts: TokenOptions) => {
      const lines = await readLines(io, opts.in);
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        const field = await fieldOf(vault, opts);
        const tokens = await chunked(lines, (chunk, offset) =>
          atLine(offset, () =>
            vault.tokens.tokenize(opts.tenant, opts.collection, opts.field, chunk.map((l) => valueFromText(field, l) ?? l), {
              audit: localAudit(),
              ...(opts.subject !== undefined ? { subjectId: opts.subject } : {}),
            }),
          ),
        );
        io.stdout.write(tokens.map((t) => `${t}\n`).join(''));
      });
    });

  common(token.command('detokenize').description('Print the value of each input token (PLAINTEXT personal data)'))
    .option('--out <file>', 'write the values to this new file (mode 0600) instead of standard output')
    .action(async (opts: TokenOptions) => {
      const lines = await readLines(io, opts.in);
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        const audit = localAudit();
        const values = await chunked(lines, async (chunk, offset) => {
          const result = await atLine(offset, () => vault.tokens.detokenize(opts.tenant, opts.collection, opts.field, chunk));
          const touched = { collection: opts.collection, records: result.records, subjects: result.subjects, fields: [opts.field], count: chunk.length };
          await vault.accessLog.record(...auditEntries(audit, opts.tenant, 'token.detokenize', touched, 'ok', vault.clock()));
          return result.values;
        });
        const text = values.map((v) => `${typeof v === 'string' ? v : JSON.stringify(v)}\n`).join('');
        if (opts.out === undefined) {
          io.stdout.write(text);
          return;
        }
        let handle;
        try {
          handle = await open(opts.out, 'wx', 0o600); // refuse to overwrite; no symlink followed
        } catch {
          throw new KurabanError('REQUEST_INVALID', `cannot create ${opts.out} (it may exist already)`, { details: [{ reason: 'output_exists_or_unwritable' }] });
        }
        try {
          await handle.writeFile(text, 'utf8');
        } finally {
          await handle.close();
        }
        io.stderr.write(`kuraban token: WARNING: wrote PLAINTEXT personal data to ${opts.out} (mode 0600); protect it and delete it when done\n`);
      });
    });

  token
    .command('rotate')
    .description("Rotate a collection's token key: new tokens use the new version; issued tokens keep resolving")
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--collection <name>', 'collection name')
    .action(async (opts: { tenant: string; collection: string }) => {
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        const version = await vault.keys.rotateTokens(opts.tenant, opts.collection, localAudit());
        io.stdout.write(`${JSON.stringify({ kind: 'token', collection: opts.collection, version })}\n`);
      });
    });
}
