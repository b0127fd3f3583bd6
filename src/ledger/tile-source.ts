/**
 * Where the log verifier reads a log: the only I/O it does, injected so the verifier stays a pure function
 * of what it is given. Paths are relative to the log prefix: `checkpoint`, `tile/<L>/<N>[.p/<W>]`,
 * `tile/entries/<N>[.p/<W>]` (c2sp.org/tlog-tiles §Checkpoints, §Merkle Tree, §Log entries).
 */
export interface TileSource {
  /**
   * The bytes at `path`, or `undefined` when the log says it has no such file (HTTP 404 or 410, a missing
   * file). Anything else — a network error, another status, a body longer than `maxBytes` — rejects with
   * a TileSourceError. Implementations never follow a path out of the log prefix.
   */
  read(path: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /**
   * Where this source reads, as plain data that another process can open again (`tileSourceAt` in
   * tile-sources.ts). The verifier's hashing processes read their bundles themselves, so no bundle
   * crosses a pipe. Absent when only this process can read it (bytes in memory, an injected fetch).
   */
  readonly location?: TileSourceLocation;
}

/** A log directory, or an HTTP(S) log prefix with the request headers and timeout to read it with. */
export type TileSourceLocation =
  | { readonly kind: 'directory'; readonly dir: string }
  | { readonly kind: 'http'; readonly url: string; readonly headers: Readonly<Record<string, string>>; readonly timeoutMs: number };

/** Why a TileSource could not answer; stable, closed. Messages name the path, never fetched content. */
export const TILE_SOURCE_ERROR_REASONS = {
  too_large: 'the response is larger than a well-formed file at this path can be',
  unavailable: 'the file could not be read',
  http_status: 'the server answered with an unexpected HTTP status',
  redirect_refused: 'the server redirected to another origin (not followed)',
  timeout: 'the request timed out',
  bad_path: 'the path is not a log path',
} as const;

export type TileSourceErrorReason = keyof typeof TILE_SOURCE_ERROR_REASONS;

export class TileSourceError extends Error {
  override readonly name = 'TileSourceError';
  readonly reason: TileSourceErrorReason;
  readonly path: string;
  /** A status code or system error code (`HTTP 500`, `ECONNREFUSED`), never response content. */
  readonly detail: string | undefined;

  constructor(reason: TileSourceErrorReason, path: string, detail?: string, options?: { cause?: unknown }) {
    super(`${path}: ${TILE_SOURCE_ERROR_REASONS[reason]}${detail === undefined ? '' : ` (${detail})`}`, options);
    this.reason = reason;
    this.path = path;
    this.detail = detail;
  }
}

/** Log paths are plain relative paths: letters, digits, `.`, `/`, no `..` segment, no leading slash. */
const LOG_PATH = /^(?:checkpoint|tile\/[0-9a-z]+(?:\/x?[0-9]{3})+(?:\.p\/[0-9]{1,3})?)$/;

export function isLogPath(path: string): boolean {
  return LOG_PATH.test(path);
}
