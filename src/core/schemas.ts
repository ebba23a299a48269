/**
 * zod schemas for everything a user or a model hands us. Pure (no I/O): workflows import it to validate plans,
 * handoffs and verdicts deterministically; the first activity validates run input with it.
 */
import { z } from 'zod';
import { MERGE_POLICIES, MIN_HOST_LOST_AFTER_SECONDS, MODEL_CALL_MODES } from './defaults';
import { PROVIDERS, ROLES } from './types';

export const modelSettingsSchema = z
  .object({
    provider: z
      .enum(PROVIDERS, { error: `must be one of ${PROVIDERS.join(', ')}` })
      .optional()
      .describe('Inferred from the model name when omitted.'),
    model: z
      .string()
      .trim()
      .min(1, 'must name a model, e.g. "gpt-5" or "claude-sonnet-4-6"')
      .optional()
      .describe("The provider's default for the role when omitted."),
    maxTokens: z.number().int().positive().max(1_000_000).optional(),
    temperature: z.number().min(0).max(2).optional(),
    reasoningEffort: z.enum(['low', 'medium', 'high']).optional(),
    contextWindow: z.number().int().min(4_000).optional(),
  })
  .strict()
  .refine((m) => m.provider || m.model, 'give a provider, a model, or both');

export {
  DEFAULT_LIMITS,
  MERGE_POLICIES,
  MIN_HOST_LOST_AFTER_SECONDS,
  MODEL_CALL_MODES,
  type Limits,
  type MergePolicy,
  type ModelCallMode,
} from './defaults';
export { describeIssues } from './issues';

export const limitsSchema = z
  .object({
    maxParallelAgents: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .describe('Worker agents running at once across the whole run.'),
    maxDepth: z
      .number()
      .int()
      .min(0)
      .max(5)
      .describe('How deep sub-planners may nest (0: the root planner plans alone).'),
    maxTasksPerPlanner: z
      .number()
      .int()
      .min(1)
      .max(500)
      .describe(
        'Tasks one planner may create in a cycle; each sub-planner has its own. A bigger plan is refused once with the room left; tasks still over it are recorded as not attempted.',
      ),
    maxCycles: z.number().int().min(1).max(1000).describe('Plan → work → verify → judge cycles before the run ends.'),
    maxCostUsd: z.number().positive().nullable().describe('Spend limit in USD over the whole run (null: none).'),
    maxTokens: z
      .number()
      .int()
      .positive()
      .nullable()
      .describe('Token limit (input + output) over the whole run (null: none).'),
    maxWallHours: z
      .number()
      .positive()
      .max(24 * 365)
      .describe('Wall-clock limit for the whole run, in hours.'),
    workerMaxSteps: z.number().int().min(1).max(10_000).describe('Model turns one worker may take on its task.'),
    plannerMaxSteps: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .describe('Model turns one planner may take per planning round.'),
    commandTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600)
      .describe('Timeout of one agent command and of the test command.'),
    heartbeatTimeoutSeconds: z
      .number()
      .int()
      .min(2)
      .max(600)
      .describe(
        'How long a running activity (model call, tool, merge) may go without a heartbeat before Temporal retries ' +
          'it: what a crashed worker costs. Lower recovers faster; higher tolerates an overloaded host.',
      ),
    transcriptRetentionHours: z
      .number()
      .min(0)
      .max(24 * 365 * 10)
      .nullable()
      .describe(
        "How long finished agents' transcripts are kept, in hours. After each cycle they are compressed; the tidy " +
          'step after a later cycle removes those older than this (null: keep them).',
      ),
    verifyEveryMerges: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .describe(
        'Run the test command on the target tip, while the cycle works, after this many merges (0: off). One check ' +
          'at a time and merges never wait for it; `longrun/<runId>` is published only at commits a check found green.',
      ),
    verifyEveryMinutes: z
      .number()
      .min(0)
      .max(24 * 60)
      .describe('Also check the target after this many minutes when anything merged since the last check (0: off).'),
    fixerWaitMinutes: z
      .number()
      .min(0)
      .max(24 * 60)
      .describe(
        'After a red alert, how long the planner has to start the one fixer task of the break before longrun queues ' +
          'one itself.',
      ),
    hostCheckSeconds: z
      .number()
      .int()
      .min(5, 'must be at least 5 (seconds between checks of the hosts running agents); e.g. 30')
      .max(3600, 'must be at most 3600 (one check an hour); e.g. 30')
      .describe(
        'While a planner (or the run) has children running, how often it checks that their hosts still poll their ' +
          'task queues (one check for all of them).',
      ),
    hostLostAfterSeconds: z
      .number()
      .int()
      .min(
        MIN_HOST_LOST_AFTER_SECONDS,
        `must be at least ${MIN_HOST_LOST_AFTER_SECONDS}: an idle live worker renews its long polls only about once ` +
          'a minute, so a shorter time could declare a live host lost; e.g. 120',
      )
      .max(7 * 24 * 3600, 'must be at most 604800 (a week); e.g. 120')
      .describe(
        "How long an agent's host may go without polling its task queue before the agent is restarted on another " +
          'host: a worker from its last checkpoint (same task), a planner afresh.',
      ),
    localTaskTimeoutSeconds: z
      .number()
      .int()
      .min(10, "must be at least 10 (Temporal's default workflow task timeout); e.g. 60")
      .max(120, 'must be at most 120 (the most the Temporal server allows); e.g. 60')
      .describe(
        "With modelCalls 'local': agents' workflow task timeout. The agent's workflow task stays open while its model " +
          'calls run and is renewed through the server every 0.8 × this, so 60 cuts the server load per model turn ' +
          'about in half for fleets (docs/BENCHMARKS.md); in exchange, signals to an agent (stop, guidance) and the ' +
          'recovery of an agent whose worker died wait up to this long, and a worker that dies repeats up to this much ' +
          "of its agents' model calls.",
      ),
  })
  .strict()
  .partial();

export const runInputSchema = z
  .object({
    repo: z.string().trim().min(1, 'must be an absolute path to a git repository or a git URL'),
    goal: z.string().trim().min(1, 'must describe what the run should achieve, e.g. "Add input validation to the CLI"'),
    base: z.string().trim().min(1).optional().describe('Ref the run starts from (default: the repository HEAD).'),
    testCommand: z.string().trim().min(1).optional().describe('Shell command that verifies the work, e.g. "npm test".'),
    setup: z
      .string()
      .trim()
      .optional()
      .describe(
        'Command that installs the dependencies of a checkout (e.g. "npm ci", "uv sync"), run by longrun with network ' +
          'once per environment key, before any agent starts; agents and verification share its results. Absent: ' +
          'detected from the lockfiles (npm, pnpm, yarn, uv, poetry, pip, go, cargo, maven, gradle). "" turns it off.',
      ),
    setupKey: z
      .array(z.string().trim().min(1))
      .min(1)
      .optional()
      .describe(
        'Files whose contents key the prepared environment (default: the lockfiles of the detected ecosystem); a ' +
          'task that changes one gets its dependencies installed again.',
      ),
    models: z.partialRecord(z.enum(ROLES), modelSettingsSchema).optional().describe('Model per role.'),
    limits: limitsSchema.optional(),
    guidance: z.string().optional().describe('Standing instructions for every planner and worker.'),
    mergePolicy: z
      .enum(MERGE_POLICIES, { error: "must be 'merge-clean' (the default) or 'tests-pass'" })
      .optional()
      .describe(
        "When a worker's merge is accepted. 'merge-clean' (default): when it merges onto the tip without conflicts; " +
          "checks of the target catch what breaks. 'tests-pass': also only when the test command passes on the " +
          "worker's work merged with the tip, in its workspace; if the tip moved meanwhile, the merge onto the newer " +
          'tip is not tested again. Needs a testCommand.',
      ),
    modelCalls: z
      .enum(MODEL_CALL_MODES)
      .optional()
      .describe(
        "How agents' model calls run. 'activity' (default): one Temporal activity per call, heartbeated and shown " +
          "in the Web UI as it runs. 'local': a local activity in the agent's worker, recorded with the next workflow " +
          'task — about a fifth of the Temporal load per agent step, for large fleets; a crashed worker repeats up to ' +
          'ten seconds of an agent’s calls, and signals to an agent wait up to as long.',
      ),
  })
  .strict();

export type RunInput = z.infer<typeof runInputSchema>;

export {
  finishSchema,
  planSchema,
  scopeSpecSchema,
  taskSpecSchema,
  verdictSchema,
  type FinishArgs,
} from './control-schemas';
