import type { Command } from 'commander';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'Run a longrun worker process against TEMPORAL_ADDRESS (polls task queue LONGRUN_TASK_QUEUE, default "longrun").',
    )
    .action(async () => {
      // Loaded on use: the worker and the SDK runtime would slow every other command down.
      const { main: runWorker } = await import('../../workers/main');
      await runWorker(process.env);
    });
}
