/**
 * The floor bench's worker process: one SDK worker on FLOOR_TASK_QUEUE, sized for FLOOR_MAX_N agents at once, with
 * the SDK's defaults otherwise (as longrun's worker has them: reused V8 context, sticky cache).
 *   node -r ts-node/register/transpile-only bench/floor/worker.ts
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from './activities';

async function main() {
  const maxN = Number(process.env.FLOOR_MAX_N ?? 1000);
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await Worker.create({
    connection,
    taskQueue: process.env.FLOOR_TASK_QUEUE!,
    workflowsPath: require.resolve('./workflows'),
    activities,
    maxConcurrentActivityTaskExecutions: maxN + 100,
    maxConcurrentLocalActivityExecutions: maxN + 100,
    maxConcurrentWorkflowTaskExecutions: maxN + 50,
    maxCachedWorkflows: 2 * maxN + 10,
  });
  process.once('SIGTERM', () => worker.shutdown());
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
