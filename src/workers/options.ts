import * as os from 'node:os';
import { loadConfig, type LongrunConfig } from '../config';

/** Everything the worker process reads from its environment. Secrets are never part of this object. */
export interface WorkerSettings extends LongrunConfig {
  /** Task queue for activities that must run on this host (worktrees live on its disk). */
  hostTaskQueue: string;
  hostId: string;
  maxConcurrentActivities: number;
  maxConcurrentWorkflowTasks: number;
  maxConcurrentLocalActivities: number;
  maxCachedWorkflows: number;
  tls: boolean;
  hasApiKey: boolean;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(
      `${name}=${JSON.stringify(raw)} is not a positive integer; unset it or set e.g. ${name}=${fallback}`,
    );
  }
  return n;
}

export function workerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const config = loadConfig(env);
  // Stable across restarts on one host, so a restarted worker picks up the worktrees it left on disk.
  const hostId = env.LONGRUN_HOST_ID || os.hostname();
  return {
    ...config,
    hostId,
    hostTaskQueue: `${config.taskQueue}@${hostId}`,
    maxConcurrentActivities: intFromEnv(env, 'LONGRUN_MAX_CONCURRENT_ACTIVITIES', 200),
    // With modelCalls 'local', an agent holds a workflow task slot while its calls run: one slot per agent.
    maxConcurrentWorkflowTasks: intFromEnv(env, 'LONGRUN_MAX_CONCURRENT_WORKFLOW_TASKS', 100),
    maxConcurrentLocalActivities: intFromEnv(env, 'LONGRUN_MAX_CONCURRENT_LOCAL_ACTIVITIES', 200),
    maxCachedWorkflows: intFromEnv(env, 'LONGRUN_MAX_CACHED_WORKFLOWS', 1000),
    tls: env.TEMPORAL_TLS === 'true' || !!env.TEMPORAL_TLS_CERT || !!env.TEMPORAL_API_KEY,
    hasApiKey: !!env.TEMPORAL_API_KEY,
  };
}
