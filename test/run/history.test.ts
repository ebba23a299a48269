import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { startDevServer, type DevServer } from '../../src/dev/dev-server';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { teamScenario } from '../../src/demo/team-scenario';
import type { RunResult } from '../../src/workflows/definitions';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { saveHistories } from '../helpers/histories';
import { temporalCli } from '../helpers/temporal';

/**
 * With the server suggesting continue-as-new after a few dozen events, planners drain their children and continue,
 * workers continue mid-task in the same worktree, and the run still ends exactly as it does without that.
 */
describe('history stays small: continue-as-new paths under a lowered suggestContinueAsNew', () => {
  let server: DevServer;
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let repo: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-history-'));

  beforeAll(async () => {
    server = await startDevServer({
      cli: temporalCli(),
      dbFile: path.join(dir, 'temporal.sqlite'),
      headless: true,
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 60 },
      startTimeoutMs: 120_000,
    });
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address });
    h = await startHarness(env, teamScenario({ workerExploreTurns: 6 }));
    repo = createSampleRepo(path.join(dir, 'repo'));
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('continues planners and workers as new and still merges everything', async () => {
    const runId = `hist-${Date.now().toString(36)}`;
    const handle = await env.client.workflow.start('autonomousRun', {
      taskQueue: h.taskQueue,
      workflowId: runId,
      args: [
        {
          repo,
          goal: 'Fix the failing test, add helpers, document.',
          testCommand: 'node test.js',
          models: TEST_MODELS,
          limits: { maxParallelAgents: 3, maxCycles: 3, maxDepth: 1 },
        },
      ],
    });
    const result: RunResult = await handle.result();
    expect(result.status).toBe('done');
    expect(result.tasks.merged).toBe(7);
    expect(result.history.flatMap((c) => c.unmerged)).toEqual([]);

    const runsPerWorkflow = new Map<string, number>();
    let maxEvents = 0;
    for await (const wf of env.client.workflow.list({
      query: `WorkflowId = "${runId}" OR WorkflowId STARTS_WITH "${runId}/"`,
    })) {
      runsPerWorkflow.set(wf.workflowId, (runsPerWorkflow.get(wf.workflowId) ?? 0) + 1);
      maxEvents = Math.max(maxEvents, wf.historyLength);
    }
    const continued = [...runsPerWorkflow.entries()].filter(([, n]) => n > 1).map(([id]) => id);
    expect(continued.some((id) => /\/t\d+$/.test(id))).toBe(true); // a worker continued mid-task
    expect(continued.some((id) => /\/planner$/.test(id))).toBe(true); // a planner drained and continued
    expect(maxEvents).toBeLessThan(10_240);
    const left = fs.existsSync(path.join(h.home, 'worktrees', runId))
      ? fs.readdirSync(path.join(h.home, 'worktrees', runId))
      : [];
    expect(left).toEqual([]);
    await saveHistories(env, runId, 'continue-as-new', 16);
  });
});
