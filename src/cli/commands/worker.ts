import type { Command } from 'commander';
import { main as runWorker } from '../../workers/main';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run a longrun worker process against TEMPORAL_ADDRESS (polls task queue LONGRUN_TASK_QUEUE, default "longrun").')
    .action(async () => {
      await runWorker(process.env);
    });
}
