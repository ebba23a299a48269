import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { connectionOptions } from './connection';
import type { WorkerSettings } from './options';

export interface LongrunWorkers {
  /** Resolves when both workers have shut down. */
  run(): Promise<void>;
  shutdown(): void;
  connection: NativeConnection;
}

/**
 * Two workers in one process: the shared queue (`longrun`: the runs, and host-independent activities such as
 * validation, hub and verification) and this host's own queue (`longrun@<host>`: the planners and workers whose
 * worktree is on this disk, with their workspace, tool and model activities).
 */
export async function createWorkers(
  settings: WorkerSettings,
  overrides: Partial<Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>> & { env?: NodeJS.ProcessEnv } = {},
): Promise<LongrunWorkers> {
  const env = overrides.env ?? process.env;
  const connection = await NativeConnection.connect(connectionOptions(settings.temporalAddress, env));
  const activities = createActivities({ config: settings, hostTaskQueue: settings.hostTaskQueue, env });
  const common = {
    connection,
    namespace: settings.namespace,
    maxConcurrentActivityTaskExecutions: settings.maxConcurrentActivities,
    maxConcurrentLocalActivityExecutions: settings.maxConcurrentLocalActivities,
  };
  const workflowSource = overrides.workflowBundle
    ? { workflowBundle: overrides.workflowBundle }
    : { workflowsPath: overrides.workflowsPath ?? require.resolve('../workflows') };
  try {
    const shared = await Worker.create({
      ...common,
      ...workflowSource,
      taskQueue: settings.taskQueue,
      activities,
      maxConcurrentWorkflowTaskExecutions: settings.maxConcurrentWorkflowTasks,
      maxCachedWorkflows: settings.maxCachedWorkflows,
    });
    const host = await Worker.create({
      ...common,
      ...workflowSource,
      taskQueue: settings.hostTaskQueue,
      activities,
      maxConcurrentWorkflowTaskExecutions: settings.maxConcurrentWorkflowTasks,
      maxCachedWorkflows: settings.maxCachedWorkflows,
    });
    return {
      connection,
      shutdown() {
        for (const w of [shared, host]) if (w.getState() === 'RUNNING') w.shutdown();
      },
      async run() {
        try {
          await Promise.all([shared.run(), host.run()]);
        } finally {
          await connection.close();
        }
      },
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}
