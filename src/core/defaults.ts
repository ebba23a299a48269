/**
 * Run settings' defaults and allowed values, without zod: workflows import these, and every workflow the sandbox starts
 * evaluates the modules it imports afresh (reuseV8Context keeps module state per workflow), so a module that builds
 * zod schemas at import costs every agent's first workflow task ~25 ms of CPU. The schemas (schemas.ts) build on these.
 */

/** How model calls run (RunInput.modelCalls); see src/workflows/activities.ts. */
export const MODEL_CALL_MODES = ['activity', 'local'] as const;
/** The most tasks one plan (submit_plan) may hold: a planner with more to do plans again. */
export const MAX_PLAN_TASKS = 100;
export const MERGE_POLICIES = ['merge-clean', 'tests-pass'] as const;
export type MergePolicy = (typeof MERGE_POLICIES)[number];
export type ModelCallMode = (typeof MODEL_CALL_MODES)[number];

export const DEFAULT_LIMITS = {
  maxParallelAgents: 4,
  maxDepth: 2,
  maxTasksPerPlanner: 100,
  maxCycles: 5,
  maxCostUsd: null as number | null,
  maxTokens: null as number | null,
  maxWallHours: 24 * 7,
  workerMaxSteps: 60,
  plannerMaxSteps: 40,
  commandTimeoutSeconds: 600,
  heartbeatTimeoutSeconds: 30,
  transcriptRetentionHours: (24 * 7) as number | null,
  verifyEveryMerges: 4,
  verifyEveryMinutes: 10,
  fixerWaitMinutes: 5,
  hostCheckSeconds: 30,
  hostLostAfterSeconds: 120,
  localTaskTimeoutSeconds: 10,
};

/**
 * The shortest hostLostAfterSeconds allowed: an idle live worker renews its polls of a queue only when its long poll
 * ends (about a minute; up to 54 s measured on the dev server), so a shorter time could declare a live host lost.
 */
export const MIN_HOST_LOST_AFTER_SECONDS = 70;

export type Limits = typeof DEFAULT_LIMITS;
