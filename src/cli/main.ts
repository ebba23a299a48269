import { Command, CommanderError } from 'commander';
import { registerControlCommands } from './commands/control';
import { registerDemoCommand } from './commands/demo';
import { registerDevCommand } from './commands/dev';
import { registerListCommand } from './commands/list';
import { registerReportCommand } from './commands/report';
import { registerRunCommand } from './commands/run';
import { registerSimCommand } from './commands/sim';
import { registerStatusCommand } from './commands/status';
import { registerWatchCommand } from './commands/watch';
import { registerWorkerCommand } from './commands/worker';
import { EXIT, UsageError } from './lib/command';

export { EXIT, UsageError };

export function buildProgram(): Command {
  const program = new Command('longrun')
    .description('A durable fleet of AI coding agents on one codebase, on Temporal.')
    .showHelpAfterError()
    .exitOverride();
  registerRunCommand(program);
  registerWatchCommand(program);
  registerStatusCommand(program);
  registerControlCommands(program);
  registerListCommand(program);
  registerReportCommand(program);
  registerDemoCommand(program);
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
