#!/usr/bin/env node
import { runCli } from './program.js';

// A closed pipe (`kuraban export | head`) ends the command quietly instead of with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await runCli(process.argv, { env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
