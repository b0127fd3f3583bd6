import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { ERROR_CODES, KurabanError, type ErrorCode } from '../../errors/index.js';
import { createKeyFile, createPkcs11RootKey, openKeyFileProvider, openPkcs11Provider, type RootKeyProvider } from '../../keys/index.js';
import { localAudit, type JobOptions } from '../../vault/index.js';
import type { KeyJobRow } from '../../store/index.js';
import { configFrom, readSecretFile, withVault, type CliIo, type GlobalOptions } from '../io.js';

interface JobFlags {
  batch?: string;
  maxRate?: string;
}

function positive(raw: string | undefined, name: string, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new KurabanError('REQUEST_INVALID', `${name} must be an integer from 1 to ${max}`);
  return n;
}

/** Progress on stderr (one line a batch, or in place on a terminal); stops cleanly on SIGINT/SIGTERM, to resume later. */
function jobOptions(io: CliIo, flags: JobFlags): JobOptions & { dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const batch = positive(flags.batch, '--batch', 10_000);
  const maxRate = positive(flags.maxRate, '--max-rate', 10_000_000);
  return {
    ...(batch !== undefined ? { batch } : {}),
    ...(maxRate !== undefined ? { maxRate } : {}),
    signal: controller.signal,
    onProgress: (job: KeyJobRow) => {
      const pct = job.total === 0 ? 100 : Math.min(100, Math.floor((job.done / job.total) * 100));
      io.stderr.write(`${io.stderr.isTTY ? '\r' : ''}kuraban: ${job.kind} ${job.scopeId}: ${job.done}/${job.total} (${pct}%)${job.state === 'done' ? ' done' : ''}${io.stderr.isTTY ? '' : '\n'}`);
    },
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

export function registerKeyCommands(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('Key hierarchy: status, rotation, re-wrapping, re-encryption, retirement (docs/keys.md)');
  const config = () => configFrom(io, program.opts<GlobalOptions>());

  keys
    .command('status')
    .description("A tenant's key versions, what each still protects, and key jobs")
    .requiredOption('--tenant <id>', 'tenant id')
    .action(async (opts: { tenant: string }) => {
      await withVault(config(), async (vault) => {
        io.stdout.write(`${JSON.stringify(await vault.keys.status(opts.tenant), null, 2)}\n`);
      });
    });

  keys
    .command('rotate')
    .description("Rotate a tenant's key (then `keys rewrap`), a collection's data key (then `keys reencrypt`), or every subject key (--subjects: rotates and re-encrypts)")
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--collection <name>', "rotate this collection's data key")
    .option('--subjects', "rotate every subject's data key, re-encrypting their records (resumable)")
    .option('--batch <n>', 'per transaction')
    .option('--max-rate <n>', 'at most this many subjects per second')
    .action(async (opts: { tenant: string; collection?: string; subjects?: boolean } & JobFlags) => {
      if (opts.collection !== undefined && opts.subjects) throw new KurabanError('REQUEST_INVALID', '--collection and --subjects are exclusive');
      await withVault(config(), async (vault) => {
        const audit = localAudit();
        if (opts.subjects) {
          const job = jobOptions(io, opts);
          try {
            io.stdout.write(`${JSON.stringify(await vault.keys.rotateSubjects(opts.tenant, audit, job))}\n`);
          } finally {
            job.dispose();
          }
          return;
        }
        if (opts.collection !== undefined) {
          const version = await vault.keys.rotateCollection(opts.tenant, opts.collection, audit);
          io.stdout.write(`${JSON.stringify({ kind: 'collection', collection: opts.collection, version, next: 'kuraban keys reencrypt' })}\n`);
          return;
        }
        const version = await vault.keys.rotateTenant(opts.tenant, audit);
        io.stdout.write(`${JSON.stringify({ kind: 'tenant', version, next: 'kuraban keys rewrap' })}\n`);
      });
    });

  keys
    .command('rewrap')
    .description("Move a tenant's keys under its newest tenant key (resumable; Ctrl-C stops between batches)")
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--batch <n>', 'key rows per transaction (default 1000)')
    .option('--max-rate <n>', 'at most this many key rows per second')
    .action(async (opts: { tenant: string } & JobFlags) => {
      await withVault(config(), async (vault) => {
        const job = jobOptions(io, opts);
        try {
          io.stdout.write(`${JSON.stringify(await vault.keys.rewrap(opts.tenant, localAudit(), job))}\n`);
        } finally {
          job.dispose();
        }
      });
    });

  keys
    .command('reencrypt')
    .description("Move a collection's records under its newest data key version (resumable, throttled; Ctrl-C stops between batches)")
    .requiredOption('--tenant <id>', 'tenant id')
    .requiredOption('--collection <name>', 'collection')
    .option('--batch <n>', 'records per transaction (default 1000)')
    .option('--max-rate <n>', 'at most this many records per second')
    .action(async (opts: { tenant: string; collection: string } & JobFlags) => {
      await withVault(config(), async (vault) => {
        const job = jobOptions(io, opts);
        try {
          io.stdout.write(`${JSON.stringify(await vault.keys.reencrypt(opts.tenant, opts.collection, localAudit(), job))}\n`);
        } finally {
          job.dispose();
        }
      });
    });

  keys
    .command('retire')
    .description('Destroy an old tenant key version (no --collection) or collection key version once nothing uses it')
    .requiredOption('--tenant <id>', 'tenant id')
    .option('--collection <name>', 'a collection key version (default: a tenant key version)')
    .requiredOption('--version <n>', 'the version to destroy')
    .action(async (opts: { tenant: string; collection?: string; version: string }) => {
      const version = positive(opts.version, '--version', 2 ** 31 - 1) as number;
      await withVault(config(), async (vault) => {
        await vault.keys.retire(opts.tenant, { ...(opts.collection !== undefined ? { collection: opts.collection } : {}), version }, localAudit());
        io.stdout.write(`${JSON.stringify({ retired: opts.collection === undefined ? 'tenant' : 'collection', version })}\n`);
      });
    });

  keys
    .command('rotate-root')
    .description('Re-wrap every tenant key under a new root key (one transaction); then restart Kuraban with the new key')
    .option('--to-key-file <path>', 'a NEW key file to create for the new root key (never overwrites)')
    .option('--to-passphrase-file <path>', 'protect the new key file with this passphrase (scrypt)')
    .option('--to-pkcs11-key-label <label>', 'a key already in the configured token (see `keys create-hsm-key`)')
    .action(async (opts: { toKeyFile?: string; toPassphraseFile?: string; toPkcs11KeyLabel?: string }) => {
      const cfg = config();
      if ((opts.toKeyFile === undefined) === (opts.toPkcs11KeyLabel === undefined)) throw new KurabanError('REQUEST_INVALID', 'give exactly one of --to-key-file and --to-pkcs11-key-label');
      let next: RootKeyProvider;
      if (opts.toKeyFile !== undefined) {
        const passphrase = opts.toPassphraseFile === undefined ? undefined : readSecretFile(opts.toPassphraseFile);
        if (cfg.mode === 'production' && passphrase === undefined) throw new KurabanError('REQUEST_INVALID', 'production mode: protect the new key file (--to-passphrase-file)');
        if (!existsSync(opts.toKeyFile)) await createKeyFile(opts.toKeyFile, { passphrase });
        next = await openKeyFileProvider(opts.toKeyFile, passphrase);
      } else {
        if (cfg.pkcs11Library === undefined || cfg.pkcs11Token === undefined || cfg.pkcs11Pin === undefined) {
          throw new KurabanError('CONFIG_INVALID', 'set KURABAN_PKCS11_LIBRARY, KURABAN_PKCS11_TOKEN and the PIN (--pin-file) for the new key');
        }
        next = await openPkcs11Provider({ library: cfg.pkcs11Library, tokenLabel: cfg.pkcs11Token, keyLabel: opts.toPkcs11KeyLabel as string, pin: cfg.pkcs11Pin });
      }
      try {
        await withVault(cfg, async (vault) => {
          const result = await vault.keys.rotateRoot(next, vault.keyring.rootKeyId, localAudit());
          io.stdout.write(`${JSON.stringify(result)}\n`);
          io.stderr.write(
            `kuraban: root key rotated to ${result.rootKeyId}; restart every Kuraban process with ${opts.toKeyFile !== undefined ? `KURABAN_KEY_FILE=${opts.toKeyFile}` : `KURABAN_PKCS11_KEY_LABEL=${opts.toPkcs11KeyLabel ?? ''}`}. Keep the old key until a backup under the new key exists.\n`,
          );
        });
      } finally {
        next.close();
      }
    });

  keys
    .command('create-hsm-key')
    .description('Generate a root key inside the configured PKCS#11 token (AES-256, sensitive, never extractable)')
    .option('--label <label>', 'CKA_LABEL of the new key (default: KURABAN_PKCS11_KEY_LABEL, kuraban-root)')
    .action(async (opts: { label?: string }) => {
      const cfg = config();
      if (cfg.pkcs11Library === undefined || cfg.pkcs11Token === undefined || cfg.pkcs11Pin === undefined) {
        throw new KurabanError('CONFIG_INVALID', 'set KURABAN_PKCS11_LIBRARY, KURABAN_PKCS11_TOKEN and the PIN (--pin-file or KURABAN_PKCS11_PIN_FILE)');
      }
      const keyLabel = opts.label ?? cfg.pkcs11KeyLabel;
      const keyId = await createPkcs11RootKey({ library: cfg.pkcs11Library, tokenLabel: cfg.pkcs11Token, keyLabel, pin: cfg.pkcs11Pin });
      io.stdout.write(`${JSON.stringify({ token: cfg.pkcs11Token, label: keyLabel, keyId })}\n`);
    });

  const subject = program.command('subject').description("A person's data (by the vault's pseudonymous subject id)");
  subject
    .command('erase')
    .description("Erase a person: destroy their data key, remove their records and index entries; prints the erasure receipt")
    .requiredOption('--tenant <id>', 'tenant id')
    .argument('<subject>', 'subject id')
    .action(async (subjectId: string, opts: { tenant: string }) => {
      await withVault(config(), async (vault) => {
        io.stdout.write(`${JSON.stringify(await vault.erasure.erase(opts.tenant, subjectId, localAudit()), null, 2)}\n`);
      });
    });

  program
    .command('unseal')
    .description('Unseal a running Kuraban server with the key file passphrase (--passphrase-file) or token PIN (--pin-file); else read from standard input')
    .option('--url <url>', 'the server', 'http://127.0.0.1:8420')
    .action(async (opts: { url: string }) => {
      const g = program.opts<GlobalOptions>();
      const cfg = config();
      let secret = cfg.keyProvider === 'pkcs11' ? cfg.pkcs11Pin : cfg.passphrase;
      if (secret === undefined && g.passphraseFile === undefined && g.pinFile === undefined) {
        const chunks: Buffer[] = [];
        for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
        secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      }
      let res: Response;
      try {
        res = await fetch(new URL('/v1/sys/unseal', opts.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(secret ? { secret } : {}),
        });
      } catch {
        throw new KurabanError('STORE_UNAVAILABLE', `no Kuraban server answers at ${opts.url}`);
      }
      const body = (await res.json().catch(() => ({}))) as { code?: string; detail?: string };
      if (!res.ok) {
        const code = typeof body.code === 'string' && Object.hasOwn(ERROR_CODES, body.code) ? (body.code as ErrorCode) : 'VAULT_SEALED';
        throw new KurabanError(code, body.detail ?? 'unseal failed');
      }
      io.stdout.write(`${JSON.stringify(body)}\n`);
    });
}
