import { Command, CommanderError } from 'commander';
import { isKurabanError } from '../errors/index.js';
import { registerCollectionCommands } from './commands/collection.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerExportCommand } from './commands/export.js';
import { registerImportCommand } from './commands/import.js';
import { registerInitCommand } from './commands/init.js';
import { registerLogCommands } from './commands/log.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerSearchCommand } from './commands/search.js';
import { registerServeCommands } from './commands/serve.js';
import { registerTenantCommands } from './commands/tenant.js';
import type { CliIo } from './io.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerBackupCommands } from './commands/backup.js';
import { registerTokenCommands } from './commands/token.js';
import { registerResidencyCommands } from './commands/residency.js';

/** Builds the `kuraban` command tree. Each capability registers its own commands. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('kuraban')
    .description('Kuraban (蔵番): a self-hosted vault for personal data')
    .option('--data-dir <dir>', 'data directory (SQLite store, key file); env KURABAN_DATA_DIR', undefined)
    .option('--database-url <url>', 'PostgreSQL instead of SQLite; env KURABAN_DATABASE_URL')
    .option('--key-file <path>', 'root key file; env KURABAN_KEY_FILE (default <data-dir>/root.key)')
    .option('--passphrase-file <path>', 'file holding the key file passphrase; env KURABAN_PASSPHRASE_FILE or KURABAN_PASSPHRASE')
    .option('--pin-file <path>', 'file holding the PKCS#11 token PIN; env KURABAN_PKCS11_PIN_FILE or KURABAN_PKCS11_PIN')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  registerInitCommand(program, io);
  registerServeCommands(program, io);
  registerTenantCommands(program, io);
  registerCollectionCommands(program, io);
  registerImportCommand(program, io);
  registerExportCommand(program, io);
  registerSearchCommand(program, io);
  registerLogCommands(program, io);
  registerDemoCommand(program, io);
  registerPolicyCommands(program, io);
  registerKeyCommands(program, io);
  registerBackupCommands(program, io);
  registerTokenCommands(program, io);
  registerResidencyCommands(program, io);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs a command line; returns the exit code. Errors print their code and message (never a value). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (isKurabanError(e)) {
      io.stderr.write(`kuraban: ${e.code}: ${e.message}\n`);
      for (const d of e.details.slice(0, 20)) io.stderr.write(`  ${[d.line !== undefined ? `line ${d.line}` : '', d.index !== undefined ? `#${d.index}` : '', d.field ?? '', d.reason].filter(Boolean).join(' ')}\n`);
      return 1;
    }
    // An unexpected error's message may quote data (a driver error, say): print only what kind it is.
    const err = e as { name?: unknown; code?: unknown };
    io.stderr.write(`kuraban: INTERNAL: ${String(err.name ?? 'Error')}${typeof err.code === 'string' ? ` (${err.code})` : ''}\n`);
    return 70;
  }
}
