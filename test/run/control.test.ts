import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { teamScenario } from '../../src/demo/team-scenario';
import type { SimRequest } from '../../src/sim/types';
import type { RunResult, RunStatusView } from '../../src/workflows/definitions';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { saveHistories } from '../helpers/histories';
import { temporalCli, testEnv } from '../helpers/temporal';

/** Signals, queries and updates sent the way an operator would: with the `temporal` CLI. */
describe('live control of a run (temporal workflow signal / query / update)', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  const repos: string[] = [];
  // Slow enough that an operator can act mid-run: every model turn takes 150 ms, workers explore a few turns.
  const team = teamScenario({ workerExploreTurns: 4 });
  const scenario = (req: SimRequest) => {
    const res = team(req);
    return res && { ...res, latency: { ms: 150 } };
  };

  beforeAll(async () => {
    env = await testEnv();
    h = await startHarness(env, scenario);
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    for (const r of repos) fs.rmSync(r, { recursive: true, force: true });
  });

  // Async on purpose: the worker runs in this process and must keep answering while the CLI waits.
  const cli = async (...args: string[]) =>
    (await promisify(execFile)(temporalCli(), [...args, '--address', env.address], { encoding: 'utf8' })).stdout;
  const start = async (runId: string, extra: Record<string, unknown> = {}) => {
    const repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-control-')));
    repos.push(repo);
    const input = {
      repo,
      goal: 'Fix the failing test and add helpers.',
      testCommand: 'node test.js',
      models: TEST_MODELS,
      limits: { maxParallelAgents: 2, maxCycles: 3, maxDepth: 1 },
      ...extra,
    };
    await cli(
      'workflow',
      'start',
      '--task-queue',
      h.taskQueue,
      '--type',
      'autonomousRun',
      '--workflow-id',
      runId,
      '--input',
      JSON.stringify(input),
    );
    return repo;
  };
  const status = async (runId: string): Promise<RunStatusView> =>
    JSON.parse(await cli('workflow', 'query', '--workflow-id', runId, '--name', 'status', '-o', 'json')).queryResult[0];
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const taskWorkflows = async (runId: string) => {
    let n = 0;
    for await (const _ of env.client.workflow.list({ query: `WorkflowId STARTS_WITH "${runId}/c1/planner/t"` })) n++;
    return n;
  };

  it('status query shows the live tree; stop ends the run gracefully with a final judge summary', async () => {
    const runId = `stop-${Date.now().toString(36)}`;
    await start(runId);
    await until('a worker to run', async () => ((await status(runId)).activeAgents.worker ?? 0) > 0);
    const live = await status(runId);
    expect(live).toMatchObject({ runId, status: 'running', cycle: 1, phase: 'planning', paused: false });
    expect(live.agents.some((a) => a.role === 'worker' && a.title.length > 0)).toBe(true);

    await cli('workflow', 'signal', '--workflow-id', runId, '--name', 'stop');
    const result: RunResult = await env.client.workflow.getHandle(runId).result();
    expect(result.status).toBe('stopped');
    expect(result.cycles).toBe(1);
    expect(result.finalVerdict?.decision).toBe('stop');
    // Running workers handed off (abandoned or merged) and nothing new started: fewer tasks than planned.
    const c1 = result.history[0];
    expect(c1.tasks.merged + c1.tasks.failed + c1.tasks.abandoned).toBeLessThan(6);
    expect(await taskWorkflows(runId)).toBe(
      c1.tasks.merged +
        c1.tasks.failed +
        c1.tasks.abandoned -
        result.history[0].unmerged.filter((u) => u.taskId.includes('/s')).length,
    );
    await saveHistories(env, runId, 'stop');
  });

  it('pause stops dispatching while running agents finish; resume picks up and the run completes', async () => {
    const runId = `pause-${Date.now().toString(36)}`;
    await start(runId);
    await until('a worker to run', async () => ((await status(runId)).activeAgents.worker ?? 0) > 0);
    await cli('workflow', 'signal', '--workflow-id', runId, '--name', 'pause');
    await until('running workers to finish', async () => (await status(runId)).tasks.running === 0);
    expect((await status(runId)).paused).toBe(true);
    const before = await taskWorkflows(runId);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await taskWorkflows(runId)).toBe(before); // nothing dispatched while paused
    expect((await status(runId)).tasks.running).toBe(0);

    await cli('workflow', 'signal', '--workflow-id', runId, '--name', 'resume');
    const result: RunResult = await env.client.workflow.getHandle(runId).result();
    expect(result.status).toBe('done');
    expect(result.tasks.merged).toBe(7);
  });

  it('replan guidance reaches the planner at its next planning step and changes the plan; guide is acknowledged', async () => {
    const runId = `replan-${Date.now().toString(36)}`;
    const repo = await start(runId);
    await until('a worker to run', async () => ((await status(runId)).activeAgents.worker ?? 0) > 0);
    await cli(
      'workflow',
      'signal',
      '--workflow-id',
      runId,
      '--name',
      'replan',
      '--input',
      JSON.stringify({ guidance: 'Also add a LICENSE file (MIT).' }),
    );
    const ack = JSON.parse(
      await cli(
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        runId,
        '--name',
        'guide',
        '--input',
        JSON.stringify({ guidance: 'Keep the LICENSE short.' }),
        '-o',
        'json',
      ),
    );
    expect(JSON.stringify(ack)).toContain('"accepted":true');

    const result: RunResult = await env.client.workflow.getHandle(runId).result();
    expect(result.status).toBe('done');
    const files = execFileSync('git', ['ls-tree', '-r', '--name-only', `longrun/${runId}`], {
      cwd: repo,
      encoding: 'utf8',
    });
    expect(files.split('\n')).toContain('LICENSE');
    const plannerSaw = h.sim.requests.some((r) => JSON.stringify(r.body).includes('Also add a LICENSE file (MIT).'));
    expect(plannerSaw).toBe(true);
  });

  it('cancellation is a hard stop: the tree is cancelled and no worktree is left', async () => {
    const runId = `cancel-${Date.now().toString(36)}`;
    await start(runId);
    await until('a worker to run', async () => ((await status(runId)).activeAgents.worker ?? 0) > 0);
    await cli('workflow', 'cancel', '--workflow-id', runId);
    const err = await env.client.workflow
      .getHandle(runId)
      .result()
      .catch((e: unknown) => e);
    expect(String((err as Error).cause ?? err)).toMatch(/cancel/i);
    const worktrees = path.join(h.home, 'worktrees', runId);
    await until(
      'worktrees to be cleaned up',
      async () => !fs.existsSync(worktrees) || fs.readdirSync(worktrees).length === 0,
    );
    const desc = await env.client.workflow.getHandle(`${runId}/c1/planner`).describe();
    expect(desc.status.name).toBe('CANCELLED');
  });

  it('refuses an empty guide update with a clear message', async () => {
    const runId = `guide-bad-${Date.now().toString(36)}`;
    await start(runId);
    let message = '';
    try {
      await cli(
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        runId,
        '--name',
        'guide',
        '--input',
        '{"guidance":""}',
      );
    } catch (err) {
      message = String((err as { stderr?: string }).stderr ?? err);
    }
    expect(message).toContain('guide needs {"guidance": "<non-empty text>"}');
    await cli('workflow', 'signal', '--workflow-id', runId, '--name', 'stop');
  });
});
