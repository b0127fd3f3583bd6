import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const DIST_ROOT = fileURLToPath(new URL('..', import.meta.url)); // dist/
export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
export const REPORT_RSS = new URL('./report-rss.js', import.meta.url).href;

export interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly maxRssMB: number | undefined;
}

/** Runs `node --import report-rss <args>` and collects its output and peak RSS. */
export function runNode(args: readonly string[], options: { env?: NodeJS.ProcessEnv; onSpawn?: (kill: () => void) => void } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', REPORT_RSS, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    options.onSpawn?.(() => child.kill('SIGTERM'));
    child.on('close', (code) => {
      const m = /KURABAN_BENCH_MAXRSS_KB=(\d+)/.exec(stderr);
      resolve({ code, stdout, stderr, maxRssMB: m ? Number(m[1]) / 1024 : undefined });
    });
  });
}
