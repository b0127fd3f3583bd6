/** Runs `kuraban` commands in-process against a temporary vault, with captured streams. */
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/program.js';
import type { CliIo } from '../../src/cli/io.js';
import { createTempVault, RESIDENT_SCHEMA, type Backend, type TempVault } from '../helpers/temp-vault.js';

export const TENANT = '131016';
export const COLLECTION = 'residents';

/** The compiled CLI entry point, next to this file's compiled form (any outDir). */
export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Captured {
  readonly io: CliIo;
  stdout(): string;
  stderr(): string;
}

class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  columns?: number;
  constructor(readonly isTTY: boolean, columns?: number) {
    super();
    if (columns !== undefined) this.columns = columns;
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export function captureIo(options: { stdin?: string; stderrTTY?: boolean; stdinTTY?: boolean } = {}): Captured {
  const stdout = new Sink(false);
  const stderr = options.stderrTTY ? new Sink(true, 100) : new Sink(false);
  const stdin = Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin, 'utf8')]);
  if (options.stdinTTY) Object.assign(stdin, { isTTY: true });
  return { io: { env: {}, stdout, stderr, stdin }, stdout: () => stdout.text(), stderr: () => stderr.text() };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The global options that point a command at `tv`'s store and key file. */
export function vaultArgs(tv: TempVault): string[] {
  return ['--data-dir', tv.dir, ...(tv.location.databaseUrl ? ['--database-url', tv.location.databaseUrl] : [])];
}

export async function kuraban(tv: TempVault, args: readonly string[], options: Parameters<typeof captureIo>[0] = {}): Promise<CliResult> {
  const c = captureIo(options);
  const code = await runCli(['node', 'kuraban', ...vaultArgs(tv), ...args], c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

/** A temp vault with tenant TENANT and the resident collection(s) named. */
export async function residentVault(backend: Backend = 'sqlite', collections: readonly string[] = [COLLECTION]): Promise<TempVault> {
  const tv = await createTempVault(backend);
  await tv.vault.tenants.create(TENANT, 'Test City');
  for (const c of collections) await tv.vault.collections.create(TENANT, c, RESIDENT_SCHEMA);
  return tv;
}

/** The single JSON line a command printed on stdout. */
export function summaryOf(r: CliResult): Record<string, unknown> {
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one summary line on stdout, got ${lines.length}: ${r.stderr}`);
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

/** Every record of a collection, ordered by a field value, as plain objects for deepEqual. */
export async function allRecords(tv: TempVault, collection = COLLECTION): Promise<Array<{ subjectId: string | null; fields: Record<string, unknown> }>> {
  const out: Array<{ subjectId: string | null; fields: Record<string, unknown> }> = [];
  for await (const r of tv.vault.records.scan(TENANT, collection)) out.push({ subjectId: r.subjectId, fields: { ...r.fields } });
  return out;
}

/** NDJSON text → objects. */
export function ndjson(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}
