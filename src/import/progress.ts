/**
 * Import progress on stderr. On a terminal: one line redrawn in place (bar, %, rows, rows/s, ETA).
 * Otherwise (a log file, CI): a plain line every PLAIN_INTERVAL_MS and a final one. Progress is
 * measured in bytes read of the file's size; it never shows a value from the file.
 */

export interface ProgressState {
  /** Bytes of the file read so far (including lines skipped on resume). */
  readonly bytesRead: number;
  readonly bytesTotal: number;
  /** Records read in this run (imported, rejected or waiting in the current batch). */
  readonly rows: number;
}

export interface ProgressFinal extends ProgressState {
  readonly imported: number;
  readonly rejected: number;
}

export interface Progress {
  update(state: ProgressState): void;
  finish(state: ProgressFinal): void;
  /** The import failed: end a half-drawn terminal line so the error starts on its own. */
  abort(): void;
}

export interface ProgressOutput {
  write(s: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

export const PLAIN_INTERVAL_MS = 2000;
export const TTY_INTERVAL_MS = 100;
const BAR_MIN = 10;
const BAR_MAX = 40;

/** `now` is a monotonic clock in milliseconds (performance.now in the CLI, a fake one in tests). */
export function createProgress(out: ProgressOutput, now: () => number, label = 'import'): Progress {
  const started = now();
  const tty = out.isTTY === true;
  const interval = tty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS;
  // A terminal gets its bar at once; a log gets its first line after one interval.
  let last = tty ? Number.NEGATIVE_INFINITY : started;
  /** Bytes already read at the first update (a resumed import skips them fast): not in the ETA's rate. */
  let baseBytes: number | undefined;
  let drawn = false;

  const figures = (s: ProgressState, t: number) => {
    const seconds = Math.max((t - started) / 1000, 1e-3);
    baseBytes ??= s.bytesRead;
    const fraction = s.bytesTotal > 0 ? Math.min(s.bytesRead / s.bytesTotal, 1) : 1;
    const rate = s.rows / seconds;
    const byteRate = (s.bytesRead - baseBytes) / seconds;
    const eta = byteRate > 0 ? (s.bytesTotal - s.bytesRead) / byteRate : undefined;
    return { fraction, rate, eta, seconds };
  };

  return {
    update(s) {
      const t = now();
      baseBytes ??= s.bytesRead;
      if (t - last < interval) return;
      last = t;
      const f = figures(s, t);
      const text = `${label}: ${percent(f.fraction)} ${s.rows} rows ${Math.round(f.rate)} rows/s ETA ${duration(f.eta)}`;
      if (tty) {
        const width = Math.max(BAR_MIN, Math.min(BAR_MAX, (out.columns ?? 80) - text.length - 4));
        const filled = Math.round(f.fraction * width);
        // CR, then erase the line (ECMA-48 EL, CSI 2 K), then redraw.
        out.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
        drawn = true;
      } else {
        out.write(`${text}\n`);
      }
    },
    finish(s) {
      const f = figures(s, now());
      const text = `${label}: done ${percent(f.fraction)} ${s.rows} rows in ${f.seconds.toFixed(1)} s (${Math.round(f.rate)} rows/s): ${s.imported} imported, ${s.rejected} rejected`;
      out.write(tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
    },
    abort() {
      if (drawn) out.write('\n');
      drawn = false;
    },
  };
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
