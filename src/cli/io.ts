import { readFileSync } from 'node:fs';
import { loadConfig, type Config, type ConfigOverrides } from '../config/index.js';
import { KurabanError } from '../errors/index.js';
import { openVault, type SealWorkerMemory, type Vault, type VaultLocation, type VaultState } from '../vault/index.js';

/** The process around a command: streams and environment, passed in so commands are testable. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stdin: NodeJS.ReadableStream;
}

export interface GlobalOptions {
  dataDir?: string;
  databaseUrl?: string;
  keyFile?: string;
  passphraseFile?: string;
  pinFile?: string;
}

export function configFrom(io: CliIo, g: GlobalOptions, extra: ConfigOverrides = {}): Config {
  const overrides: ConfigOverrides = { ...extra };
  if (g.dataDir !== undefined) overrides.dataDir = g.dataDir;
  if (g.databaseUrl !== undefined) overrides.databaseUrl = g.databaseUrl;
  if (g.keyFile !== undefined) overrides.keyFile = g.keyFile;
  const passphraseFile = g.passphraseFile ?? io.env.KURABAN_PASSPHRASE_FILE;
  if (passphraseFile !== undefined) overrides.passphrase = readSecretFile(passphraseFile);
  const pinFile = g.pinFile ?? io.env.KURABAN_PKCS11_PIN_FILE;
  if (pinFile !== undefined) overrides.pkcs11Pin = readSecretFile(pinFile);
  return loadConfig(io.env, overrides);
}

/** A passphrase or PIN file: its text without one trailing newline. */
export function readSecretFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch {
    throw new KurabanError('CONFIG_INVALID', `cannot read the secret file ${path}`);
  }
}

/**
 * What a long-running command's process spends its two cores and its memory on, and the settings
 * that suit it (measured in docs/benchmarks.md, 2026-12-03). Other commands, and in-process callers,
 * keep the defaults: a 64 MB sealing nursery, a 16 MiB SQLite page cache, background checkpoints.
 */
export type Workload = 'server' | 'import';
const WORKLOADS: Readonly<Record<Workload, { readonly location: Partial<VaultLocation>; readonly sealWorkerMemory: SealWorkerMemory }>> = {
  // The server's main thread (parsing JSON, writing) is the slower side: a larger sealing nursery buys
  // nothing (sealer.ts), and a checkpoint thread only takes the sealing worker's core (HTTP batch
  // ingest measured 1–6 % slower with it; store/sqlite/checkpointer.ts).
  server: { location: { sqliteBackgroundCheckpoints: false }, sealWorkerMemory: 'small' },
  // Peak RSS under 300 MB at 1,000,000 rows: a small sealing nursery and half the page cache.
  import: { location: { sqliteCacheMiB: 8 }, sealWorkerMemory: 'small' },
};

/** The sealing workers' nursery for a workload (openVault / VaultHost.open take it with the location). */
export function workloadSealWorkerMemory(workload: Workload | undefined): { sealWorkerMemory?: SealWorkerMemory } {
  return workload === undefined ? {} : { sealWorkerMemory: WORKLOADS[workload].sealWorkerMemory };
}

export function vaultLocation(config: Config, workload?: Workload): VaultLocation {
  return {
    ...(workload === undefined ? {} : WORKLOADS[workload].location),
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    keyFile: config.keyFile,
    passphrase: config.passphrase,
    keyProvider: config.keyProvider,
    production: config.mode === 'production',
    residency: { store: config.storeLocation, keys: config.keyLocation },
    pkcs11:
      config.pkcs11Library !== undefined && config.pkcs11Token !== undefined
        ? { library: config.pkcs11Library, tokenLabel: config.pkcs11Token, keyLabel: config.pkcs11KeyLabel, pin: config.pkcs11Pin }
        : undefined,
  };
}

/** Opens the vault for a one-shot command, runs `fn`, closes it. A sealed vault is an error here. */
export async function withVault<T>(
  config: Config,
  fn: (vault: Vault, state: VaultState) => Promise<T>,
  options: { residencyRepair?: boolean; workload?: Workload } = {},
): Promise<T> {
  const state = await openVault(vaultLocation(config, options.workload), {
    sealWorkers: config.sealWorkers,
    ...workloadSealWorkerMemory(options.workload),
    logHost: config.logHost,
    logIntervalMs: config.logIntervalMs,
    ...(options.residencyRepair ? { residencyRepair: true } : {}),
  });
  try {
    if (state.sealed) throw new KurabanError('VAULT_SEALED', `vault is sealed: ${state.reason}`);
    return await fn(state.vault, state);
  } finally {
    if (!state.sealed) await state.vault.close();
    await state.store.close();
  }
}

export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new KurabanError('REQUEST_INVALID', `cannot read ${path}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new KurabanError('REQUEST_INVALID', `${path} is not valid JSON`);
  }
}

export async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new KurabanError('REQUEST_INVALID', 'standard input is not valid UTF-8');
  }
}
