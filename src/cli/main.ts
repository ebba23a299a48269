import { Command, CommanderError } from 'commander';
import { registerDevCommand } from './commands/dev';
import { registerSimCommand } from './commands/sim';
import { registerWorkerCommand } from './commands/worker';

/** Exit codes: 0 success, 1 the run (or command) failed, 2 usage error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export function buildProgram(): Command {
  const program = new Command('longrun')
    .description('A durable fleet of AI coding agents on one codebase, on Temporal.')
    .showHelpAfterError()
    .exitOverride();
  registerDevCommand(program);
  registerWorkerCommand(program);
  registerSimCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (err instanceof UsageError) {
      console.error(`longrun: ${err.message}`);
      process.exitCode = EXIT.usage;
      return;
    }
    console.error(`longrun: ${(err as Error).message ?? err}`);
    process.exitCode = EXIT.failed;
  }
}

/** A mistake in how the command was called: exit code 2, with a message naming the flag and the fix. */
export class UsageError extends Error {}
