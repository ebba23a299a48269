import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { MAX_PLAN_TASKS } from '../../src/core/defaults';
import { createSampleRepo } from '../../src/demo/sample-repo';
import type { SimRequest, SimResponse } from '../../src/sim';
import type { RunResult } from '../../src/workflows/definitions';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { testEnv } from '../helpers/temporal';

const spec = (i: number) => ({
  title: `Task ${i}`,
  description: `Task ${i}: look, then finish.`,
  acceptance: ['nothing to change'],
  files: [],
});
const plan = (from: number, n: number, done: boolean): SimResponse => ({
  toolCalls: [
    {
      name: 'submit_plan',
      arguments: {
        rationale: 'r',
        tasks: Array.from({ length: n }, (_, i) => spec(from + i)),
        subplanners: [],
        done,
      },
    },
  ],
});
const finish = (summary: string): SimResponse => ({
  toolCalls: [
    {
      name: 'finish',
      arguments: { outcome: 'done', summary, notes: '', concerns: [], deviations: [], findings: [] },
    },
  ],
});

/**
 * A planner with more work than one plan holds submits a full plan (MAX_PLAN_TASKS tasks) and says its scope is not
 * done. With slots to spare, it must be asked for the rest as soon as that plan has all started, not when the first
 * worker hands off: here no worker can hand off before then (their model calls wait for the planner's second request),
 * so a planner that waited for a handoff would never finish.
 */
let roomAsked!: () => void;
const asked = new Promise<void>((resolve) => (roomAsked = resolve));
const planner: SimRequest[] = [];
async function team(req: SimRequest): Promise<SimResponse | null> {
  if (req.system.includes('You are the root planner')) {
    planner.push(req);
    if (req.turn === 0) return plan(1, MAX_PLAN_TASKS, false);
    if (req.lastText.includes('Your plan was full')) {
      roomAsked();
      return plan(MAX_PLAN_TASKS + 1, 2, true);
    }
    return plan(0, 0, true);
  }
  if (req.system.includes('You are a senior software engineer')) {
    await asked;
    return finish('Looked; nothing to change.');
  }
  if (req.system.includes('You are the judge')) {
    return {
      toolCalls: [
        {
          name: 'submit_verdict',
          arguments: { decision: 'done', reasons: ['planned work handed off'], nextFocus: '', scratchpad: 's' },
        },
      ],
    };
  }
  return null;
}

describe('a planner whose full plan has all started (real server, simulated models)', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let repo: string;

  beforeAll(async () => {
    env = await testEnv();
    h = await startHarness(env, team, {
      LONGRUN_MAX_CONCURRENT_ACTIVITIES: '250',
      LONGRUN_MAX_CONCURRENT_WORKFLOW_TASKS: '150',
      LONGRUN_MAX_CACHED_WORKFLOWS: '400',
      LONGRUN_MODEL_CONCURRENCY: '150',
    });
    repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-full-plan-')));
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    fs.rmSync(repo, { recursive: true, force: true });
  });

  it('plans the rest as soon as the plan has started and slots are free, before any handoff', async () => {
    const handle = await env.client.workflow.start('autonomousRun', {
      taskQueue: h.taskQueue,
      workflowId: `full-plan-${Date.now().toString(36)}`,
      args: [
        {
          repo,
          goal: 'Look at everything.',
          models: TEST_MODELS,
          modelCalls: 'local',
          limits: {
            maxParallelAgents: MAX_PLAN_TASKS + 2,
            maxCycles: 1,
            maxDepth: 0,
            maxTasksPerPlanner: MAX_PLAN_TASKS + 2,
          },
        },
      ],
    });
    const result: RunResult = await handle.result();
    expect(result.status).toBe('done');

    // Its second request is the room message, with every task of the first plan running and nothing handed off yet.
    expect(planner[1].lastText).toContain('Your plan was full and every task in it has started');
    expect(planner[1].lastText).toContain(`(${MAX_PLAN_TASKS} agent(s) running); 2 worker slot(s) are free`);
    expect(planner[1].text).not.toContain('handoff(s) arrived');
    // Every task of both plans ran and handed off (none changed anything).
    const cycle = result.history[0];
    expect(result.tasks.merged + result.tasks.failed + result.tasks.abandoned).toBe(MAX_PLAN_TASKS + 2);
    expect(cycle.notAttempted ?? []).toEqual([]);
  }, 600_000);
});
