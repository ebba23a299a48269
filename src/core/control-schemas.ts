/**
 * What models hand back through control tools (finish, submit_plan, submit_verdict), validated by the workflows that
 * receive them. Apart from schemas.ts so that workflows build only these, and only when a control call arrives
 * (src/workflows/lib/validation.ts).
 */
import { z } from 'zod';
import { MAX_PLAN_TASKS } from './defaults';

const text = (what: string, max: number) => z.string().trim().min(1, `${what} must not be empty`).max(max);
const list = (max: number) => z.array(z.string().trim().min(1).max(2_000)).max(max).default([]);

export const taskSpecSchema = z
  .object({
    title: text('title', 200).describe('Short imperative title, e.g. "Validate --port in the CLI parser".'),
    description: text('description', 8_000).describe('What to do and why, with the context a fresh engineer needs.'),
    acceptance: z.array(z.string().trim().min(1)).min(1, 'give at least one acceptance criterion').max(20),
    files: list(50).describe('Files or directories the task is expected to touch (hints, not a lock).'),
    fixes: z
      .string()
      .trim()
      .regex(/^[0-9a-f]{7,40}$/, 'fixes is the commit a red alert names (hex)')
      .optional()
      .describe('Only on the one task that fixes a break a red alert reported: the commit the alert names.'),
  })
  .strict();

export const scopeSpecSchema = z
  .object({
    scope: text('scope', 200).describe('The area a sub-planner owns, e.g. "src/parser".'),
    description: text('description', 8_000).describe('What the sub-planner should achieve in that area.'),
  })
  .strict();

export const planSchema = z
  .object({
    rationale: text('rationale', 4_000).describe('Why this plan, in a few sentences.'),
    tasks: z.array(taskSpecSchema).max(MAX_PLAN_TASKS).default([]),
    subplanners: z.array(scopeSpecSchema).max(20).default([]),
    done: z.boolean().default(false).describe('True when your scope needs no more work after these tasks.'),
  })
  .strict();

export const finishSchema = z
  .object({
    outcome: z
      .enum(['done', 'blocked'])
      .describe('"done" when the task is complete and should be merged; "blocked" when it cannot be done.'),
    summary: text('summary', 4_000).describe('What you did, for the planner.'),
    notes: z.string().max(8_000).default(''),
    concerns: list(20).describe('Risks or problems you saw but did not fix.'),
    deviations: list(20).describe('Where you departed from the task description, and why.'),
    findings: list(20).describe('Facts about the codebase the planner should know.'),
  })
  .strict();

export const verdictSchema = z
  .object({
    decision: z.enum(['continue', 'done', 'stop']),
    reasons: z.array(z.string().trim().min(1)).min(1, 'give at least one reason').max(20),
    nextFocus: z.string().max(4_000).default(''),
    scratchpad: z
      .string()
      .max(16_000)
      .default('')
      .describe('Notes carried into the next, fresh cycle. Rewrite, do not append.'),
  })
  .strict();

export type FinishArgs = z.infer<typeof finishSchema>;
