import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The SoftHSM2 PKCS#11 module the tests load (Debian/Ubuntu path of the softhsm2 package). CI installs it (see .ci/run). */
export const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

const HOW_TO_INSTALL = 'SoftHSM2 is required: apt-get install -y softhsm2 opensc (the .ci/run script does this)';

export interface TestToken {
  readonly tokenLabel: string;
  readonly pin: string;
  readonly soPin: string;
}

export interface ImportOptions {
  /** CKA_SENSITIVE (pkcs11-tool --sensitive); default true. */
  readonly sensitive?: boolean;
  /** CKA_EXTRACTABLE (pkcs11-tool --extractable); default false. */
  readonly extractable?: boolean;
}

export interface SoftHsm {
  readonly library: string;
  /** The softhsm2.conf this process uses (also in process.env.SOFTHSM2_CONF). */
  readonly conf: string;
  /** Initialises a new token in a free slot with random PINs. */
  newToken(label?: string): Promise<TestToken>;
  /** `softhsm2-util --delete-token`: the token and every object in it are gone. */
  deleteToken(tokenLabel: string): Promise<void>;
  /** Writes a known AES key into the token with another tool (OpenSC's pkcs11-tool), as an operator would. */
  importAesKey(tokenLabel: string, pin: string, keyLabel: string, keyBytes: Buffer, options?: ImportOptions): Promise<void>;
}

let instance: SoftHsm | undefined;

/**
 * The process-wide throwaway SoftHSM2: one temp token directory and softhsm2.conf per test process,
 * removed at exit; tokens are told apart by label. SoftHSM2 reads SOFTHSM2_CONF and its token
 * directory at C_Initialize, so call this before anything in the process initialises the module.
 * Note: a module already initialised in this process does not see tokens created afterwards (SoftHSM2
 * 2.6 never rescans); tokens made while a provider is open become visible once every provider has
 * been closed, because the last close finalises the module. Fails (never skips) without SoftHSM2.
 */
export function softHsm(): SoftHsm {
  if (instance) return instance;
  const missing = [SOFTHSM_LIBRARY].filter((p) => !existsSync(p)).concat(['softhsm2-util', 'pkcs11-tool'].filter((t) => !onPath(t)));
  if (missing.length > 0) throw new Error(`${HOW_TO_INSTALL}; missing: ${missing.join(', ')}`);

  const dir = mkdtempSync(join(tmpdir(), 'kuraban-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`, { mode: 0o600 });
  process.env['SOFTHSM2_CONF'] = conf;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const env = { ...process.env, SOFTHSM2_CONF: conf };

  /** Runs a tool; on failure reports its stderr but not its arguments (they hold PINs). */
  const run = (tool: string, args: readonly string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile(tool, args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${tool} ${args[0] ?? ''} failed (${String(err.code ?? err.signal)}): ${stderr.trim() || stdout.trim()}`));
        else resolve(stdout);
      });
    });

  let keyFiles = 0;
  instance = {
    library: SOFTHSM_LIBRARY,
    conf,
    async newToken(label = `kuraban-${randomBytes(6).toString('hex')}`) {
      const token = { tokenLabel: label, pin: randomBytes(8).toString('hex'), soPin: randomBytes(8).toString('hex') };
      await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', token.pin, '--so-pin', token.soPin]);
      return token;
    },
    async deleteToken(tokenLabel) {
      await run('softhsm2-util', ['--delete-token', '--token', tokenLabel]);
    },
    async importAesKey(tokenLabel, pin, keyLabel, keyBytes, options = {}) {
      const file = join(dir, `key-${++keyFiles}.bin`);
      writeFileSync(file, keyBytes, { mode: 0o600 });
      try {
        const args = ['--module', SOFTHSM_LIBRARY, '--token-label', tokenLabel, '--login', '--pin', pin];
        args.push('--write-object', file, '--type', 'secrkey', '--key-type', `AES:${keyBytes.length}`, '--label', keyLabel);
        args.push('--usage-decrypt'); // for secret keys: CKA_ENCRYPT and CKA_DECRYPT
        if (options.sensitive ?? true) args.push('--sensitive');
        if (options.extractable ?? false) args.push('--extractable');
        await run('pkcs11-tool', args);
      } finally {
        rmSync(file, { force: true });
      }
    },
  };
  return instance;
}

function onPath(tool: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((d) => {
    if (d === '') return false;
    try {
      accessSync(join(d, tool), fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
