import { spawn } from 'node:child_process';
import { CLI_MAIN } from '../cli/harness.js';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The built CLI as a child process (crash tests): its exit, a SIGKILL, and whether it has exited. */
export function runCliChild(args: readonly string[]): { done: Promise<Exit>; kill: () => void; exited: () => boolean } {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Decoded once at the end: a chunk boundary may fall inside a multi-byte character.
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let exited = false;
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const done = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
  return { done, kill: () => child.kill('SIGKILL'), exited: () => exited };
}
