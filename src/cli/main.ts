#!/usr/bin/env node
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv, { env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
