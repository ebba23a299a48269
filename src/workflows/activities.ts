/**
 * Activity proxies with their timeouts and retry policies, explicit in one place. Host-affine activities
 * (worktree, tools, model calls that read transcripts from this host's disk) are called with
 * `executeWithOptions({ taskQueue: hostQueue })`.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { MODEL_ERRORS } from '../core/types';

type Activities = ReturnType<typeof createActivities>;

/** Bookkeeping on the shared queue: validation, hub, verification, publishing. */
export const runActs = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** Quick bookkeeping on an agent's host: transcripts, workspaces. */
export const hostActs = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // A host that disappears is noticed here: the task's activities stop being picked up.
  scheduleToStartTimeout: '10 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8 },
});

/** One model turn. Rate limits come back with the provider's retry-after as nextRetryDelay; user mistakes are not retried. */
export const modelActs = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  scheduleToStartTimeout: '10 minutes',
  retry: {
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
  },
});

/** Tools are not idempotent: one attempt, and the agent sees the error instead. */
export const toolActs = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  scheduleToStartTimeout: '10 minutes',
  retry: { maximumAttempts: 1 },
});

/** Integration: retried (it is idempotent by the Longrun-Task trailer). */
export const mergeActs = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  scheduleToStartTimeout: '10 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
});

/** The test command: as long as the user's suite takes; retried only for infrastructure faults. */
export const verifyActs = proxyActivities<Activities>({
  startToCloseTimeout: '3 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumAttempts: 3 },
});
