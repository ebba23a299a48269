import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { teamScenario, type TeamOptions } from '../../src/demo/team-scenario';
import { estimateCall } from '../../src/core/budget';
import { resolveModels } from '../../src/models/defaults';
import type { RunResult } from '../../src/workflows/definitions';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { testEnv } from '../helpers/temporal';

describe('judge, budget and input validation', () => {
  let env: TestWorkflowEnvironment;
  const harnesses: Harness[] = [];
  const repos: string[] = [];

  beforeAll(async () => {
    env = await testEnv();
  });
  afterAll(async () => {
    for (const h of harnesses) await h.stop();
    await env?.teardown();
    for (const r of repos) fs.rmSync(r, { recursive: true, force: true });
  });

  async function run(opts: TeamOptions, input: Record<string, unknown>, extraEnv: NodeJS.ProcessEnv = {}) {
    const h = await startHarness(env, teamScenario(opts), extraEnv);
    harnesses.push(h);
    const repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-jb-')));
    repos.push(repo);
    const runId = `jb-${Date.now().toString(36)}`;
    const handle = await env.client.workflow.start('autonomousRun', {
      taskQueue: h.taskQueue,
      workflowId: runId,
      args: [{ repo, goal: 'Fix the failing test and add helpers.', models: TEST_MODELS, ...input }],
    });
    return { h, repo, runId, handle };
  }

  it('refuses the judge’s “done” while the tests fail, and the run goes on until they pass', async () => {
    const { handle } = await run(
      { judge: 'always-done', deferFix: true },
      { testCommand: 'node test.js', limits: { maxParallelAgents: 3, maxCycles: 4 } },
    );
    const result: RunResult = await handle.result();
    expect(result.history[0].receipt?.passed).toBe(false);
    expect(result.history[0].refusedDone).toBe(true);
    expect(result.history[0].verdict?.decision).toBe('continue');
    expect(result.history[0].verdict?.reasons.join(' ')).toContain('done refused');
    expect(result.status).toBe('done');
    expect(result.cycles).toBe(2);
    expect(result.lastReceipt?.passed).toBe(true);
  });

  it('ends a run at its cost limit as budget_exhausted without overshooting', async () => {
    // Small maxTokens keep the worst-case estimate of one call close to what calls really cost here.
    const models = Object.fromEntries(Object.entries(TEST_MODELS).map(([role, m]) => [role, { ...m, maxTokens: 500 }]));
    const maxCostUsd = 0.15;
    const maxParallelAgents = 3;
    const { handle } = await run(
      { judge: 'always-continue' },
      { testCommand: 'node test.js', models, limits: { maxParallelAgents, maxCycles: 10, maxCostUsd } },
    );
    const result: RunResult = await handle.result();
    expect(result.status).toBe('budget_exhausted');
    expect(result.usage.worker?.calls ?? 0).toBeGreaterThan(0); // it did work before stopping
    // At most one in-flight call per agent beyond the limit (the pre-call check uses a worst-case estimate).
    const resolved = resolveModels(models as never, {});
    const worstCall = Math.max(...Object.values(resolved).map((m) => estimateCall(m, 20_000).costUsd));
    expect(result.costUsd).toBeLessThanOrEqual(maxCostUsd + (maxParallelAgents + 2) * worstCall);
    expect(result.costUsd).toBeLessThanOrEqual(maxCostUsd * 1.05);
  });

  it('fails at once, before any agent starts, listing every problem of bad input', async () => {
    const { h, handle } = await run(
      {},
      { goal: '   ', limits: { maxDepth: 9, bogus: 1 }, models: { wizard: { provider: 'openai', model: 'x' } } },
      { ANTHROPIC_API_KEY: '' },
    );
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidRunInput');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain('goal: must describe what the run should achieve');
    expect(cause.message).toContain('limits.maxDepth: Too big: expected number to be <=5');
    expect(cause.message).toContain('limits: unknown field "bogus"');
    expect(cause.message).toContain(
      'models: unknown role "wizard"; roles are planner, subplanner, worker, judge, compactor',
    );
    expect(h.sim.requests).toHaveLength(0); // no model was called
  });

  it('names a missing provider key and the role that needs it', async () => {
    const { h, handle } = await run({}, {}, { ANTHROPIC_API_KEY: '' });
    const err = await handle.result().catch((e: unknown) => e);
    const message = ((err as WorkflowFailedError).cause as ApplicationFailure).message;
    expect(message).toMatch(
      /roles? worker, judge use provider anthropic but ANTHROPIC_API_KEY is not set in the worker's environment/,
    );
    expect(h.sim.requests).toHaveLength(0);
  });
});
