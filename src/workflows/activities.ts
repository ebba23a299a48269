/**
 * Activity proxies with their timeouts and retry policies, explicit in one place.
 *
 * Agents (planners and workers) run on their host's queue (`longrun@<host>`), so their activities — worktree, tools,
 * model calls that read transcripts from this host's disk — go to the workflow's own queue: the server hands them
 * back eagerly with the workflow task that scheduled them, and read-only tools run as local activities in the same
 * worker.
 *
 * Every activity heartbeats (src/activities/heartbeat.ts), so a worker that dies is noticed after
 * `limits.heartbeatTimeoutSeconds` and its calls are retried elsewhere, instead of after their start-to-close timeout.
 */
import {
  ActivityCancellationType,
  proxyActivities,
  proxyLocalActivities,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { DEFAULT_LIMITS } from '../core/defaults';
import { MODEL_ERRORS } from '../core/types';

type Activities = ReturnType<typeof createActivities>;

/** Model calls: rate limits come back with the provider's retry-after as nextRetryDelay; user mistakes are not retried. */
const modelRetry: RetryPolicy = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '2 minutes',
  maximumAttempts: 8,
  nonRetryableErrorTypes: [
    MODEL_ERRORS.auth,
    MODEL_ERRORS.notFound,
    MODEL_ERRORS.badRequest,
    MODEL_ERRORS.contextLength,
  ],
};

/** The longest a host watch runs before it returns (and the parent starts the next): a few events per half hour. */
export const WATCH_MAX_MS = 30 * 60_000;

export function activitiesFor(limits: { heartbeatTimeoutSeconds?: number }) {
  // Histories from before the limit existed carry no value: they keep replaying with the default.
  const heartbeatTimeout = (limits.heartbeatTimeoutSeconds ?? DEFAULT_LIMITS.heartbeatTimeoutSeconds) * 1000;
  return {
    /** Bookkeeping on the shared queue: validation, hub, verification, publishing. */
    run: proxyActivities<Activities>({
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout,
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
    }),

    /** The run's dependency setup: an install (npm ci, uv sync...) may take long; it heartbeats. */
    setup: proxyActivities<Activities>({
      startToCloseTimeout: '40 minutes',
      heartbeatTimeout,
      retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3 },
    }),

    /** Quick bookkeeping on an agent's host: transcripts, workspaces. */
    host: proxyActivities<Activities>({
      startToCloseTimeout: '5 minutes',
      heartbeatTimeout,
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8 },
    }),

    /** One model turn (RunInput.modelCalls = 'activity', the default). */
    model: proxyActivities<Activities>({
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout,
      retry: modelRetry,
    }),

    /**
     * The same model turn as a local activity (RunInput.modelCalls = 'local'): it runs in the agent's own worker and
     * is recorded as a marker when the workflow task completes, so an agent step costs the server almost nothing.
     * The workflow task stays open while calls run (the SDK heartbeats it), and a worker crash repeats the calls not
     * yet recorded: safe, because a call writes its reply at a fixed transcript index. Rate limits: retry-after
     * delays up to `localRetryThreshold` are slept in the worker, longer ones become a durable timer.
     */
    localModel: proxyLocalActivities<Activities>({
      startToCloseTimeout: '10 minutes',
      localRetryThreshold: '1 minute',
      retry: modelRetry,
    }),

    /** Tools that change the worktree are not idempotent: one attempt, and the agent sees the error instead. */
    tool: proxyActivities<Activities>({
      startToCloseTimeout: '2 hours',
      heartbeatTimeout,
      retry: { maximumAttempts: 1 },
    }),

    /**
     * Read-only tools (read_file, list_dir, search, git_diff, git_status) take milliseconds and change nothing: a
     * local activity in the worker that runs the agent, recorded as a marker with the next workflow task, saves a
     * round trip through the server per call. Safe to retry.
     */
    readTool: proxyLocalActivities<Activities>({
      startToCloseTimeout: '2 minutes',
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
    }),

    /** Integration: retried (it is idempotent by the Longrun-Task trailer). */
    merge: proxyActivities<Activities>({
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout,
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
    }),

    /**
     * A parent's watch over its children's hosts (hosts.ts): one long activity that returns when a host is lost, or
     * after at most WATCH_MAX_MS; retried without end while the worker that ran it is gone (it heartbeats).
     */
    watch: proxyActivities<Activities>({
      startToCloseTimeout: WATCH_MAX_MS + 5 * 60_000,
      // Short: the SDK delivers a cancellation at a heartbeat (at most every 0.8 x this), and the parent waits for it.
      heartbeatTimeout: '5 seconds',
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute' },
    }),

    /** The test command: as long as the user's suite takes; retried only for infrastructure faults. */
    verify: proxyActivities<Activities>({
      startToCloseTimeout: '3 hours',
      heartbeatTimeout,
      retry: { initialInterval: '5s', backoffCoefficient: 2, maximumAttempts: 3 },
    }),
  };
}

export type Acts = ReturnType<typeof activitiesFor>;
