import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CommanderError, type Command } from 'commander';
import {
  HASH_BYTES,
  LogUrlError,
  formatEntryBundlePath,
  formatHashTilePath,
  tilesOfTree,
  NoteError,
  VerifyError,
  directoryTileSource,
  httpTileSource,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  verifyCheckpoint,
  verifyLog,
} from '../../ledger/index.js';
import type { NoteVerifier, PreviousTree, TileSource, VerifyErrorReason } from '../../ledger/index.js';
import { configFrom, withVault, type CliIo, type GlobalOptions } from '../io.js';
import { SUBJECT_ID_PATTERN, type LogReader } from '../../vault/index.js';

/**
 * `kuraban log verify` and `kuraban log verify-checkpoint`: a verifier for any C2SP tlog-tiles log. They
 * use only the ledger core — never the vault, store or server — so they audit a log they do not run.
 * `kuraban log export` and `kuraban log who-read` read this vault's own log (vault/log-reader.ts).
 * Exit codes: 0 verified, 1 the log (or checkpoint) failed verification, 2 usage or I/O error.
 */
export const EXIT_VERIFIED = 0;
export const EXIT_VERIFY_FAILED = 1;
export const EXIT_USAGE = 2;

/** Failures that say nothing about the log: our own input or the network. */
const IO_REASONS: ReadonlySet<VerifyErrorReason> = new Set(['FETCH_FAILED', 'STATE_INVALID', 'CHECKER_FAILED']);

interface VerifyOptions {
  url?: string;
  dir?: string;
  key: string;
  origin?: string;
  state?: string;
  header: string[];
  timeout: string;
}

export function registerLogCommands(program: Command, io: CliIo): void {
  const log = program.command('log').description('Verify transparency logs (C2SP tlog-tiles), this vault\'s or any other');
  log
    .command('export')
    .description('Write a tenant\'s log as static C2SP tlog-tiles files (checkpoint, tile/…, verifier.key) for any web server')
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--dir <dir>', 'an empty or new directory')
    .action(async (opts: { tenant: string; dir: string }) => {
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        const written = await exportLog(vault.logReader, opts.tenant, opts.dir, io);
        io.stdout.write(`${JSON.stringify(written)}\n`);
      });
    });
  log
    .command('who-read')
    .description('Print the entries naming a subject (a pseudonymous id), each with its inclusion proof, as NDJSON: first the checkpoint line')
    .requiredOption('--tenant <id>', 'tenant id')
    .argument('<subject>', 'subject id (a pseudonymous handle, not a personal value)')
    .action(async (subject: string, opts: { tenant: string }) => {
      if (!SUBJECT_ID_PATTERN.test(subject)) fail(io, EXIT_USAGE, 'the subject is not a subject id');
      await withVault(configFrom(io, program.opts<GlobalOptions>()), async (vault) => {
        let after: number | undefined;
        let first = true;
        for (;;) {
          const page = await vault.logReader.entriesForSubject(opts.tenant, subject, after === undefined ? {} : { after });
          if (first) {
            const h = page.head;
            const line = { origin: h.origin, verifierKey: h.verifierKey, size: h.size, rootHash: h.rootHash.toString('base64'), checkpoint: h.checkpoint?.toString('utf8') ?? null };
            io.stdout.write(`${JSON.stringify(line)}\n`);
            first = false;
          }
          for (const e of page.entries) {
            io.stdout.write(`${JSON.stringify({ index: e.index, size: page.head.size, entry: e.entry, proof: e.proof.map((p) => p.toString('base64')) })}\n`);
          }
          if (page.next === undefined) return;
          after = page.next;
        }
      });
    });
  const usageExit = (e: CommanderError): never => {
    throw e.exitCode === 0 ? e : new CommanderError(EXIT_USAGE, e.code, e.message);
  };
  log
    .command('verify')
    .description('Fetch a log\'s checkpoint, entries and tiles; recompute and check everything; compare with --state')
    .option('--url <url>', 'log prefix URL, e.g. http://127.0.0.1:8420/log/131016/')
    .option('--dir <dir>', 'directory holding the log (checkpoint, tile/…)')
    .requiredOption('--key <vkey>', 'verifier key name+hexid+base64')
    .option('--origin <origin>', 'expected checkpoint origin (default: the key name)')
    .option('--state <file>', 'JSON state from the previous run; checked, then replaced after success')
    .option('--header <header>', "extra HTTP header 'Name: value' (repeatable; never printed)", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--timeout <seconds>', 'per-request HTTP timeout', '30')
    .exitOverride(usageExit)
    .action(async (opts: VerifyOptions) => {
      await verifyCommand(io, opts);
    });
  log
    .command('verify-checkpoint')
    .description('Verify one signed checkpoint file (- for standard input)')
    .argument('<file>', 'signed checkpoint')
    .requiredOption('--key <vkey>', 'verifier key name+hexid+base64')
    .option('--origin <origin>', 'expected checkpoint origin (default: the key name)')
    .exitOverride(usageExit)
    .action(async (file: string, opts: { key: string; origin?: string }) => {
      const verifier = parseKey(io, opts.key);
      let bytes: Buffer;
      try {
        bytes = file === '-' ? await readAll(io.stdin) : await readFile(file);
      } catch {
        fail(io, EXIT_USAGE, `cannot read ${file}`);
      }
      try {
        const cp = verifyCheckpoint(bytes, verifier, opts.origin ?? verifier.name);
        io.stdout.write(`${JSON.stringify({ origin: cp.origin, size: cp.size, root: cp.rootHash.toString('base64') })}\n`);
      } catch (e) {
        if (e instanceof VerifyError) fail(io, EXIT_VERIFY_FAILED, describe(e));
        throw e;
      }
    });
}

async function verifyCommand(io: CliIo, opts: VerifyOptions): Promise<void> {
  if ((opts.url === undefined) === (opts.dir === undefined)) fail(io, EXIT_USAGE, 'give exactly one of --url and --dir');
  const verifier = parseKey(io, opts.key);
  const origin = opts.origin ?? verifier.name;
  const timeout = Number(opts.timeout);
  if (!/^[0-9]+(?:\.[0-9]+)?$/.test(opts.timeout) || !(timeout > 0) || timeout > 3600) fail(io, EXIT_USAGE, '--timeout must be a number of seconds in (0, 3600]');
  const headers = parseHeaders(io, opts.header);
  if (opts.dir !== undefined && opts.header.length > 0) fail(io, EXIT_USAGE, '--header applies to --url only');

  let source: TileSource;
  if (opts.url !== undefined) {
    try {
      source = httpTileSource({ url: opts.url, headers, timeoutMs: Math.round(timeout * 1000) });
    } catch (e) {
      if (e instanceof LogUrlError) fail(io, EXIT_USAGE, e.message);
      throw e;
    }
  } else {
    source = directoryTileSource(opts.dir as string);
  }

  const previous = opts.state === undefined ? undefined : await readState(io, opts.state, origin);
  try {
    const result = await verifyLog({ source, verifier, origin, ...(previous === undefined ? {} : { previous }) });
    if (opts.state !== undefined) {
      const state = { origin: result.origin, size: result.size, root: result.root.toString('base64'), checkpoint: result.checkpointText };
      try {
        await writeFileAtomic(opts.state, `${JSON.stringify(state, null, 2)}\n`);
      } catch {
        fail(io, EXIT_USAGE, `the log verified, but the state file ${opts.state} could not be written`);
      }
    }
    io.stdout.write(`${JSON.stringify({ origin: result.origin, size: result.size, root: result.root.toString('base64') })}\n`);
  } catch (e) {
    if (e instanceof VerifyError) fail(io, IO_REASONS.has(e.reason) ? EXIT_USAGE : EXIT_VERIFY_FAILED, describe(e));
    throw e;
  }
}

function describe(e: VerifyError): string {
  return `${e.reason}: ${e.message}${e.firstBadIndex === undefined ? '' : `; first bad index: ${e.firstBadIndex}`}`;
}

/** Prints one line to stderr and ends the command with `code` (runCli returns a CommanderError's exit code). */
function fail(io: CliIo, code: number, message: string): never {
  io.stderr.write(`kuraban: ${message}\n`);
  throw new CommanderError(code, 'kuraban.log', message);
}

function parseKey(io: CliIo, text: string): NoteVerifier {
  try {
    return parseVerifierKey(text.trim());
  } catch (e) {
    if (e instanceof NoteError) fail(io, EXIT_USAGE, `--key is not a verifier key (${e.reason})`);
    throw e;
  }
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `Name: value` pairs; messages name the header, never its value (it is usually a credential). */
function parseHeaders(io: CliIo, list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list) {
    const colon = h.indexOf(':');
    const name = colon < 0 ? '' : h.slice(0, colon).trim();
    const value = colon < 0 ? '' : h.slice(colon + 1).trim();
    if (!HEADER_NAME.test(name) || /[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) fail(io, EXIT_USAGE, "a --header is not of the form 'Name: value'");
    out[name] = value;
  }
  return out;
}

/**
 * The state file of the previous run, `{origin, size, root, checkpoint}`; none yet is a first run. The
 * recorded fields must agree with the recorded checkpoint, and the origin with the one being verified.
 */
async function readState(io: CliIo, file: string, origin: string): Promise<PreviousTree | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    fail(io, EXIT_USAGE, `cannot read the state file ${file}`);
  }
  const bad = (why: string): never => fail(io, EXIT_USAGE, `STATE_INVALID: the state file ${file} ${why}`);
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    return bad('is not JSON');
  }
  if (state === null || typeof state !== 'object' || Array.isArray(state)) return bad('is not a JSON object');
  const s = state as Record<string, unknown>;
  if (typeof s['origin'] !== 'string' || typeof s['size'] !== 'number' || typeof s['root'] !== 'string' || typeof s['checkpoint'] !== 'string') {
    return bad('lacks origin, size, root or checkpoint');
  }
  if (!Number.isSafeInteger(s['size']) || s['size'] < 0) return bad('has an invalid size');
  const root = Buffer.from(s['root'], 'base64');
  if (root.length !== HASH_BYTES || root.toString('base64') !== s['root']) return bad('has an invalid root');
  try {
    const cp = parseCheckpoint(parseNote(s['checkpoint']).text);
    if (cp.origin !== s['origin'] || cp.size !== s['size'] || !cp.rootHash.equals(root)) return bad('does not match its own checkpoint');
  } catch (e) {
    if (e instanceof NoteError) return bad('holds a malformed checkpoint');
    throw e;
  }
  if (s['origin'] !== origin) return bad('is for another origin');
  return { size: s['size'], root };
}

/** Write to a temporary file in the same directory, flush it, then rename over `file`. */
async function writeFileAtomic(file: string, data: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o644);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

/**
 * Writes the log of the newest checkpoint: `checkpoint`, every full and partial hash tile and entry
 * bundle of its tree, and `verifier.key` (one line). Files are 0644, directories 0755; a directory that
 * already holds anything is refused, so an export never mixes with another.
 */
async function exportLog(reader: LogReader, tenantId: string, dir: string, io: CliIo): Promise<{ tenant: string; size: number; files: number }> {
  let existing: string[] = [];
  try {
    existing = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') fail(io, EXIT_USAGE, `cannot read ${dir}`);
  }
  if (existing.length > 0) fail(io, EXIT_USAGE, `${dir} is not empty`);
  const head = await reader.head(tenantId);
  if (head.checkpoint === undefined) fail(io, EXIT_USAGE, 'the log has no checkpoint yet: nothing to export');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  let files = 0;
  const put = async (path: string, bytes: Uint8Array | string): Promise<void> => {
    const file = join(dir, path);
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    const handle = await open(file, 'wx', 0o644);
    try {
      await handle.writeFile(bytes);
    } finally {
      await handle.close();
    }
    await chmod(file, 0o644); // whatever the umask: a web server must be able to read it
    files += 1;
  };
  for (const tile of tilesOfTree(head.size)) {
    await put(formatHashTilePath(tile), (await reader.file(tenantId, formatHashTilePath(tile), head)).bytes);
    if (tile.level === 0) await put(formatEntryBundlePath(tile), (await reader.file(tenantId, formatEntryBundlePath(tile), head)).bytes);
  }
  await put('verifier.key', `${head.verifierKey}\n`);
  // The checkpoint last: a reader of a half-written export finds no checkpoint rather than missing tiles.
  await put('checkpoint', head.checkpoint);
  return { tenant: tenantId, size: head.size, files };
}
