/** Starting a run on a bench's worker, waiting for it within a time bound, and listing its workflow tree. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { MODEL_CALL_MODES, type Limits, type ModelCallMode, type RunInput } from '../../src/core/schemas';
import type { RunResult } from '../../src/workflows/definitions';

/** Real model names (prices apply), both SDKs: planners on OpenAI's wire, workers and the judge on Anthropic's. */
export const BENCH_MODELS = {
  planner: { provider: 'openai', model: 'gpt-5' },
  subplanner: { provider: 'openai', model: 'gpt-5-mini' },
  worker: { provider: 'anthropic', model: 'claude-sonnet-4-6' },
  judge: { provider: 'anthropic', model: 'claude-opus-4-1' },
  compactor: { provider: 'openai', model: 'gpt-5-mini' },
} as const;

/** The demo's sample repository in a temp dir; returns its path and a cleanup. */
export function sampleRepo(): { repo: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-bench-repo-'));
  return { repo: createSampleRepo(dir), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export async function runToEnd(
  client: Client,
  opts: {
    taskQueue: string;
    runId: string;
    repo: string;
    limits: Partial<Limits>;
    timeoutMs: number;
    testCommand?: string;
    modelCalls?: RunInput['modelCalls'];
    mergePolicy?: RunInput['mergePolicy'];
  },
): Promise<RunResult> {
  const input: RunInput = {
    repo: opts.repo,
    goal: 'Benchmark run: read files and finish.',
    models: BENCH_MODELS as RunInput['models'],
    limits: opts.limits,
    ...(opts.testCommand ? { testCommand: opts.testCommand } : {}),
    ...(opts.modelCalls ? { modelCalls: opts.modelCalls } : {}),
    ...(opts.mergePolicy ? { mergePolicy: opts.mergePolicy } : {}),
  };
  const handle = await client.workflow.start('autonomousRun', {
    taskQueue: opts.taskQueue,
    workflowId: opts.runId,
    args: [input],
    workflowExecutionTimeout: opts.timeoutMs, // a bench never hangs: the run is failed by the server past this
  });
  return (await handle.result()) as RunResult;
}

export interface TreeRun {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  historyLength: number;
  historySizeBytes: number;
}

/** Every run (continue-as-new included) of every workflow whose id starts with `prefix`, with its history size. */
export async function listTree(client: Client, prefix: string): Promise<TreeRun[]> {
  const out: TreeRun[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH "${prefix}"` })) {
    const d = await client.workflow.getHandle(wf.workflowId, wf.runId).describe();
    out.push({
      workflowId: wf.workflowId,
      runId: wf.runId,
      type: wf.type,
      status: d.status.name,
      historyLength: d.historyLength,
      historySizeBytes: d.historySize ?? 0,
    });
  }
  return out;
}

/** BENCH_MODEL_CALLS: the RunInput.modelCalls modes a bench runs each case with (default: both). */
export function modelCallModes(env: NodeJS.ProcessEnv = process.env): ModelCallMode[] {
  const modes = (env.BENCH_MODEL_CALLS ?? MODEL_CALL_MODES.join(',')).split(',').map((m) => m.trim());
  const bad = modes.filter((m) => !(MODEL_CALL_MODES as readonly string[]).includes(m));
  if (bad.length)
    throw new Error(`BENCH_MODEL_CALLS: unknown mode(s) ${bad.join(', ')}; use ${MODEL_CALL_MODES.join(', ')}`);
  return modes as ModelCallMode[];
}
