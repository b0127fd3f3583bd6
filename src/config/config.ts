import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { KurabanError, isKurabanError } from '../errors/index.js';
import { LOCATION_ID_PATTERN, parseLocation, type Location } from '../residency/index.js';

/** Every setting Kuraban reads, read once from the environment (and CLI flags), validated, frozen. */
export interface Config {
  /** Where the SQLite store, key file and local state live. KURABAN_DATA_DIR, default ./.kuraban */
  readonly dataDir: string;
  /** PostgreSQL instead of SQLite when set. KURABAN_DATABASE_URL */
  readonly databaseUrl: string | undefined;
  /** The root key file. KURABAN_KEY_FILE, default <dataDir>/root.key */
  readonly keyFile: string;
  /** Unlocks a passphrase-protected key file. KURABAN_PASSPHRASE (prefer KURABAN_PASSPHRASE_FILE) */
  readonly passphrase: string | undefined;
  /** production: no clear root key on disk (the key file must be passphrase-protected, or use PKCS#11). KURABAN_MODE, default development */
  readonly mode: 'development' | 'production';
  /** Where the root key lives. KURABAN_KEY_PROVIDER: file (default) | pkcs11 */
  readonly keyProvider: 'file' | 'pkcs11';
  /** The PKCS#11 module. KURABAN_PKCS11_LIBRARY (e.g. /usr/lib/softhsm/libsofthsm2.so) */
  readonly pkcs11Library: string | undefined;
  /** The token's label. KURABAN_PKCS11_TOKEN */
  readonly pkcs11Token: string | undefined;
  /** The root key's CKA_LABEL in the token. KURABAN_PKCS11_KEY_LABEL, default kuraban-root */
  readonly pkcs11KeyLabel: string;
  /** The user PIN. KURABAN_PKCS11_PIN (prefer KURABAN_PKCS11_PIN_FILE); unset: start sealed, `kuraban unseal` */
  readonly pkcs11Pin: string | undefined;
  /** Where backups are written, named for the residency check (e.g. jp-east-1 or an address). KURABAN_BACKUP_LOCATION, default local */
  readonly backupLocation: string;
  /**
   * Where the store is (residency): a registered location id, or a JSON declaration (or `@file.json`)
   * registered at start. KURABAN_STORE_LOCATION, default `local` (this machine; docs/residency.md).
   */
  readonly storeLocation: string | Location;
  /** Where the root key provider is, likewise. KURABAN_KEY_LOCATION, default `local`. */
  readonly keyLocation: string | Location;
  readonly host: string;
  readonly port: number;
  /** JSON request bodies, except batch writes. KURABAN_BODY_LIMIT, default 1 MiB */
  readonly bodyLimit: number;
  /** Batch create bodies (up to 10,000 records). KURABAN_BATCH_BODY_LIMIT, default 32 MiB */
  readonly batchBodyLimit: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
  /** Worker threads that seal large batches; 0 seals inline. KURABAN_SEAL_WORKERS, default: cores − 1, at most 4. */
  readonly sealWorkers: number | undefined;
  /** Host in each new tenant's log origin `<host>/kuraban/<tenant>`. KURABAN_LOG_HOST, default kuraban.local */
  readonly logHost: string | undefined;
  /** How often pending log entries are integrated into the signed tree. KURABAN_LOG_INTERVAL_MS, default 1000 */
  readonly logIntervalMs: number;
  /**
   * OpenID Connect issuers whose JWTs authenticate users: KURABAN_OIDC_ISSUERS, a JSON array (or
   * `@/path/to/file.json`) of {issuer, audience, jwksUri?, tenant? | tenantClaim?, rolesClaim?,
   * dutiesClaim?, mfaAmr?, mfaAcr?}. Default: none (API keys only). Parsed by policy/oidc.ts.
   */
  readonly oidcIssuers: unknown;
  /** Failed authentications from one source for one principal before a lock. KURABAN_LOCKOUT_FAILURES, default 5 */
  readonly lockoutFailures: number;
  /** The window those failures must fall in. KURABAN_LOCKOUT_WINDOW_SECONDS, default 300 */
  readonly lockoutWindowSeconds: number;
  /** How long a lock lasts. KURABAN_LOCKOUT_SECONDS, default 900 */
  readonly lockoutSeconds: number;
}

export type ConfigOverrides = Partial<{ -readonly [K in keyof Config]: Config[K] }>;

export function loadConfig(env: NodeJS.ProcessEnv, overrides: ConfigOverrides = {}): Config {
  const problems: string[] = [];
  const dataDir = resolve(overrides.dataDir ?? env.KURABAN_DATA_DIR ?? '.kuraban');
  const databaseUrl = overrides.databaseUrl ?? (env.KURABAN_DATABASE_URL || undefined);
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('KURABAN_DATABASE_URL must be a postgres:// URL');
  const keyFileRaw = overrides.keyFile ?? env.KURABAN_KEY_FILE ?? join(dataDir, 'root.key');
  const keyFile = isAbsolute(keyFileRaw) ? keyFileRaw : resolve(keyFileRaw);
  const port = overrides.port ?? int(env.KURABAN_PORT, 8420, 'KURABAN_PORT', 0, 65535, problems);
  const bodyLimit = overrides.bodyLimit ?? int(env.KURABAN_BODY_LIMIT, 1024 * 1024, 'KURABAN_BODY_LIMIT', 1024, 64 * 1024 * 1024, problems);
  const batchBodyLimit =
    overrides.batchBodyLimit ?? int(env.KURABAN_BATCH_BODY_LIMIT, 32 * 1024 * 1024, 'KURABAN_BATCH_BODY_LIMIT', 1024, 256 * 1024 * 1024, problems);
  const sealWorkers =
    overrides.sealWorkers ?? (env.KURABAN_SEAL_WORKERS === undefined ? undefined : int(env.KURABAN_SEAL_WORKERS, 0, 'KURABAN_SEAL_WORKERS', 0, 16, problems));
  const logHost = overrides.logHost ?? (env.KURABAN_LOG_HOST || undefined);
  const logIntervalMs = overrides.logIntervalMs ?? int(env.KURABAN_LOG_INTERVAL_MS, 1000, 'KURABAN_LOG_INTERVAL_MS', 10, 60_000, problems);
  const lockoutFailures = overrides.lockoutFailures ?? int(env.KURABAN_LOCKOUT_FAILURES, 5, 'KURABAN_LOCKOUT_FAILURES', 1, 1000, problems);
  const lockoutWindowSeconds = overrides.lockoutWindowSeconds ?? int(env.KURABAN_LOCKOUT_WINDOW_SECONDS, 300, 'KURABAN_LOCKOUT_WINDOW_SECONDS', 1, 86_400, problems);
  const lockoutSeconds = overrides.lockoutSeconds ?? int(env.KURABAN_LOCKOUT_SECONDS, 900, 'KURABAN_LOCKOUT_SECONDS', 1, 86_400 * 7, problems);
  let oidcIssuers: unknown = overrides.oidcIssuers ?? [];
  const rawOidc = env.KURABAN_OIDC_ISSUERS;
  if (overrides.oidcIssuers === undefined && rawOidc !== undefined && rawOidc !== '') {
    try {
      oidcIssuers = JSON.parse(rawOidc.startsWith('@') ? readFileSync(rawOidc.slice(1), 'utf8') : rawOidc) as unknown;
    } catch {
      problems.push('KURABAN_OIDC_ISSUERS must be a JSON array, or @file holding one');
    }
  }
  const mode = overrides.mode ?? (env.KURABAN_MODE || 'development');
  if (mode !== 'development' && mode !== 'production') problems.push('KURABAN_MODE must be development or production');
  const keyProvider = overrides.keyProvider ?? (env.KURABAN_KEY_PROVIDER || 'file');
  if (keyProvider !== 'file' && keyProvider !== 'pkcs11') problems.push('KURABAN_KEY_PROVIDER must be file or pkcs11');
  const pkcs11Library = overrides.pkcs11Library ?? (env.KURABAN_PKCS11_LIBRARY || undefined);
  const pkcs11Token = overrides.pkcs11Token ?? (env.KURABAN_PKCS11_TOKEN || undefined);
  if (keyProvider === 'pkcs11' && (pkcs11Library === undefined || pkcs11Token === undefined)) problems.push('KURABAN_KEY_PROVIDER=pkcs11 needs KURABAN_PKCS11_LIBRARY and KURABAN_PKCS11_TOKEN');
  const backupLocation = overrides.backupLocation ?? (env.KURABAN_BACKUP_LOCATION || 'local');
  if (!/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/.test(backupLocation)) problems.push('KURABAN_BACKUP_LOCATION must be a short name (letters, digits, . _ : / -)');
  const storeLocation = overrides.storeLocation ?? locationSetting(env.KURABAN_STORE_LOCATION, 'KURABAN_STORE_LOCATION', problems);
  const keyLocation = overrides.keyLocation ?? locationSetting(env.KURABAN_KEY_LOCATION, 'KURABAN_KEY_LOCATION', problems);
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'silent'] as const;
  const logLevel = overrides.logLevel ?? (env.KURABAN_LOG_LEVEL ?? 'info');
  if (!(levels as readonly string[]).includes(logLevel)) problems.push(`KURABAN_LOG_LEVEL must be one of ${levels.join(', ')}`);
  if (problems.length > 0) throw new KurabanError('CONFIG_INVALID', problems.join('; '));
  return Object.freeze({
    dataDir,
    databaseUrl,
    keyFile,
    passphrase: overrides.passphrase ?? env.KURABAN_PASSPHRASE,
    mode: mode as Config['mode'],
    keyProvider: keyProvider as Config['keyProvider'],
    pkcs11Library,
    pkcs11Token,
    pkcs11KeyLabel: overrides.pkcs11KeyLabel ?? (env.KURABAN_PKCS11_KEY_LABEL || 'kuraban-root'),
    pkcs11Pin: overrides.pkcs11Pin ?? (env.KURABAN_PKCS11_PIN || undefined),
    backupLocation,
    storeLocation,
    keyLocation,
    host: overrides.host ?? env.KURABAN_HOST ?? '127.0.0.1',
    port,
    bodyLimit,
    batchBodyLimit,
    logLevel: logLevel as Config['logLevel'],
    sealWorkers,
    logHost,
    logIntervalMs,
    oidcIssuers,
    lockoutFailures,
    lockoutWindowSeconds,
    lockoutSeconds,
  });
}

function int(raw: string | undefined, dflt: number, name: string, min: number, max: number, problems: string[]): number {
  if (raw === undefined || raw === '') return dflt;
  // Decimal digits only: Number() would also take ' ' (as 0), '0x1f90' and '1e3'.
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    problems.push(`${name} must be an integer from ${min} to ${max}`);
    return dflt;
  }
  return n;
}

/** A location setting: an id, or a JSON declaration inline or in `@file`. */
function locationSetting(raw: string | undefined, name: string, problems: string[]): string | Location {
  if (raw === undefined || raw === '') return 'local';
  if (!raw.startsWith('{') && !raw.startsWith('@')) {
    if (!LOCATION_ID_PATTERN.test(raw)) problems.push(`${name} must be a location id (lower-case letters, digits, . _ -) or a JSON declaration`);
    return raw;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.startsWith('@') ? readFileSync(raw.slice(1), 'utf8') : raw) as unknown;
  } catch {
    problems.push(`${name} must be a location id, a JSON object, or @file holding one`);
    return 'local';
  }
  try {
    return parseLocation(json);
  } catch (e) {
    if (!isKurabanError(e)) throw e;
    problems.push(`${name} is not a valid location (${e.details.map((d) => `${d.field ?? ''} ${d.reason}`.trim()).join(', ')})`);
    return 'local';
  }
}
