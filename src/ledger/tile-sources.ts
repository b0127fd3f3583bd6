import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { TileSourceError, isLogPath } from './tile-source.js';
import type { TileSource, TileSourceLocation } from './tile-source.js';

/**
 * The TileSource implementations `kuraban log verify` uses: a directory holding a tlog-tiles log (as
 * Tessera's POSIX writer lays it out) and an HTTP(S) log prefix read with the global `fetch`. Both
 * refuse anything that is not a log path and any body longer than the caller allows.
 */

/**
 * Reads `<dir>/<path>`; a missing file (or a missing directory on the way) is "not in the log". Each
 * read returns bytes of its own. Reads are blocking calls (readInLog): the verifier is their only
 * user, and its checker in this thread blocks anyway.
 */
export function directoryTileSource(dir: string): TileSource {
  const root = resolve(dir);
  return directorySource(root, (path, maxBytes) => readInLog(root, path, maxBytes, Buffer.allocUnsafeSlow));
}

/**
 * The same directory, read into two reused buffers, one for entry bundles and one for hash tiles: the
 * bytes a read returns are valid only until the next read of the same kind. Made for a checker that
 * reads one bundle and its tile at a time and hashes them before the next (bundle-check.ts): a fresh
 * 77 KB buffer per bundle costs this VM 24–95 µs of page faults, against ~7 µs for the read itself.
 */
export function reusingDirectoryTileSource(dir: string): TileSource {
  const root = resolve(dir);
  const buffers = { entries: Buffer.alloc(0), tiles: Buffer.alloc(0) };
  return directorySource(root, (path, maxBytes) => {
    const kind = path.startsWith('tile/entries/') ? 'entries' : 'tiles';
    return readInLog(root, path, maxBytes, (bytes) => {
      if (buffers[kind].length < bytes) buffers[kind] = Buffer.allocUnsafeSlow(Math.max(bytes, 2 * buffers[kind].length));
      return buffers[kind];
    });
  });
}

function directorySource(root: string, read: (path: string, maxBytes: number) => Uint8Array | undefined): TileSource {
  return Object.freeze({
    location: Object.freeze({ kind: 'directory' as const, dir: root }),
    read: (path: string, maxBytes: number) => {
      try {
        return Promise.resolve(read(path, maxBytes));
      } catch (e) {
        return Promise.reject(e);
      }
    },
  });
}

/**
 * `<root>/<path>`, read with blocking calls into `bufferFor(n)` (a buffer of at least n bytes), or
 * undefined when the log has no such file. Blocking, measured on this project's VM (2026-12-03, 77 KB
 * files in the page cache): the promise API cost ~200 µs per file, open, fstat, read and close ~15.
 */
function readInLog(root: string, path: string, maxBytes: number, bufferFor: (bytes: number) => Buffer): Uint8Array | undefined {
  if (!isLogPath(path)) throw new TileSourceError('bad_path', path);
  const file = resolve(root, path);
  if (!file.startsWith(root + sep)) throw new TileSourceError('bad_path', path);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new TileSourceError('unavailable', path, code, { cause: e });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new TileSourceError('unavailable', path, 'not a regular file');
    if (st.size > maxBytes) throw new TileSourceError('too_large', path);
    // One byte more than allowed, so a file that grows between stat and read is still refused.
    const want = Math.min(maxBytes + 1, st.size + 1);
    const buf = bufferFor(want).subarray(0, want);
    let at = 0;
    for (;;) {
      const bytesRead = readSync(fd, buf, at, buf.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
      if (at === buf.length) break;
    }
    if (at > maxBytes) throw new TileSourceError('too_large', path);
    return buf.subarray(0, at);
  } catch (e) {
    if (e instanceof TileSourceError) throw e;
    throw new TileSourceError('unavailable', path, (e as NodeJS.ErrnoException).code, { cause: e });
  } finally {
    closeSync(fd);
  }
}

export interface HttpTileSourceOptions {
  /** The log prefix, e.g. `https://vault.example/log/131016/`; a missing final `/` is added. http or https only. */
  readonly url: string;
  /** Extra request headers (e.g. `Authorization` for a restricted log); sent only to the prefix's origin. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Per request, headers and body together; default 30 s. */
  readonly timeoutMs?: number;
  /** The fetch to use; default the global one. */
  readonly fetch?: typeof fetch;
}

/** Same-origin redirects followed per request; more is a loop. */
const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 30_000;

/** Thrown for an unusable `--url`; its message quotes nothing but the reason. */
export class LogUrlError extends Error {
  override readonly name = 'LogUrlError';
}

/** The log prefix as a URL ending in `/`; refuses non-HTTP schemes and URLs carrying credentials. */
export function parseLogPrefix(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LogUrlError('the log URL is not a valid absolute URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new LogUrlError('the log URL must be http or https');
  if (u.username !== '' || u.password !== '') throw new LogUrlError('the log URL must not carry credentials; use --header');
  if (u.search !== '' || u.hash !== '') throw new LogUrlError('the log URL must not have a query or fragment');
  if (!u.pathname.endsWith('/')) u.pathname = `${u.pathname}/`;
  return u;
}

/**
 * GETs `<prefix><path>`. 200 is the file, 404 and 410 are "not in the log", anything else an error.
 * Redirects are followed by hand and only within the prefix's origin (scheme, host and port), so the
 * headers never reach another host; each request has its own timeout covering the body too.
 */
export function httpTileSource(options: HttpTileSourceOptions): TileSource {
  const prefix = parseLogPrefix(options.url);
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const headers = { ...(options.headers ?? {}) };
  // Another process can open the same source only with the global fetch.
  const reopen = options.fetch === undefined ? { location: Object.freeze({ kind: 'http' as const, url: prefix.href, headers: Object.freeze({ ...headers }), timeoutMs }) } : {};
  return Object.freeze({
    ...reopen,
    async read(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
      if (!isLogPath(path)) throw new TileSourceError('bad_path', path);
      const signal = AbortSignal.timeout(timeoutMs);
      let url = new URL(path, prefix);
      try {
        for (let hop = 0; ; hop++) {
          const res = await doFetch(url, { method: 'GET', headers, redirect: 'manual', signal });
          if (res.status >= 300 && res.status < 400) {
            await res.body?.cancel();
            const location = res.headers.get('location');
            const next = location === null ? undefined : safeUrl(location, url);
            if (next === undefined || next.origin !== prefix.origin || hop >= MAX_REDIRECTS) {
              throw new TileSourceError('redirect_refused', path, `HTTP ${res.status}`);
            }
            url = next;
            continue;
          }
          if (res.status === 404 || res.status === 410) {
            await res.body?.cancel();
            return undefined;
          }
          if (res.status !== 200) {
            await res.body?.cancel();
            throw new TileSourceError('http_status', path, `HTTP ${res.status}`);
          }
          return await readBody(res, path, maxBytes);
        }
      } catch (e) {
        if (e instanceof TileSourceError) throw e;
        if (signal.aborted) throw new TileSourceError('timeout', path, `${timeoutMs} ms`, { cause: e });
        throw new TileSourceError('unavailable', path, errorCode(e), { cause: e });
      }
    },
  });
}

/** The source a TileSourceLocation names (in a hashing process: the parent's source, opened again). */
export function tileSourceAt(location: TileSourceLocation): TileSource {
  if (location.kind === 'directory') return directoryTileSource(location.dir);
  return httpTileSource({ url: location.url, headers: location.headers, timeoutMs: location.timeoutMs });
}

function safeUrl(location: string, base: URL): URL | undefined {
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

async function readBody(res: Response, path: string, maxBytes: number): Promise<Uint8Array> {
  const declared = res.headers.get('content-length');
  if (declared !== null && /^[0-9]+$/.test(declared) && Number(declared) > maxBytes) {
    await res.body?.cancel();
    throw new TileSourceError('too_large', path);
  }
  if (res.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new TileSourceError('too_large', path);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** A system error code such as ECONNREFUSED, from the error or its cause; never a message. */
function errorCode(e: unknown): string | undefined {
  for (let x: unknown = e, depth = 0; x !== null && typeof x === 'object' && depth < 4; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
  }
  return undefined;
}
