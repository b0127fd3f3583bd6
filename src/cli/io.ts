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

export function vaultLocation(config: Config): VaultLocation {
  return {
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
  options: { residencyRepair?: boolean; sealWorkerMemory?: SealWorkerMemory; sqliteCacheMiB?: number } = {},
): Promise<T> {
  const location = vaultLocation(config);
  const state = await openVault(options.sqliteCacheMiB !== undefined ? { ...location, sqliteCacheMiB: options.sqliteCacheMiB } : location, {
    sealWorkers: config.sealWorkers,
    ...(options.sealWorkerMemory ? { sealWorkerMemory: options.sealWorkerMemory } : {}),
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
