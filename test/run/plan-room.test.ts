import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunReport } from '../../src/cli/lib/report';
import { createSampleRepo } from '../../src/demo/sample-repo';
import type { SimRequest, SimResponse } from '../../src/sim';
import type { RunResult } from '../../src/workflows/definitions';
import { cleanEnv, longrun } from '../cli/helpers';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { testEnv } from '../helpers/temporal';

const FIRST = ['Add alpha', 'Add beta'];
const FOLLOW_UP = ['Add gamma', 'Add delta', 'Add epsilon'];
const spec = (title: string) => ({
  title,
  description: `${title}: write notes/${title.split(' ')[1]}.txt.`,
  acceptance: ['the file exists'],
  files: [],
});
const plan = (titles: string[], done: boolean): SimResponse => ({
  toolCalls: [{ name: 'submit_plan', arguments: { rationale: 'r', tasks: titles.map(spec), subplanners: [], done } }],
});

/**
 * A planner with room for 3 tasks plans 2, then, on the first handoffs, a done: true follow-up of 3 (room left: 1).
 * It is refused with the room left, submits the same 3 again, and the 2 it has no room for are recorded, with the
 * reason, where the judge, the cycle record and `longrun report --json` show them. No planned task vanishes.
 */
const seen: SimRequest[] = [];
function stubbornPlanner(req: SimRequest): SimResponse | null {
  seen.push(req);
  if (req.system.includes('You are the root planner')) {
    const last = req.messages.at(-1)!;
    if (last.role === 'tool' && last.text.includes('Plan not accepted')) return plan(FOLLOW_UP, true);
    if (last.role === 'user' && /handoff\(s\) arrived/.test(last.text)) return plan(FOLLOW_UP, true);
    return plan(FIRST, false);
  }
  if (req.system.includes('You are a senior software engineer')) {
    const title = /# Your task: (.+)/.exec(req.text)![1].trim();
    if (req.turn === 0) {
      const name = title.split(' ')[1];
      return { toolCalls: [{ name: 'write_file', arguments: { path: `notes/${name}.txt`, content: `${name}\n` } }] };
    }
    return {
      toolCalls: [
        {
          name: 'finish',
          arguments: {
            outcome: 'done',
            summary: `${title}: done.`,
            notes: '',
            concerns: [],
            deviations: [],
            findings: [],
          },
        },
      ],
    };
  }
  if (req.system.includes('You are the judge')) {
    return {
      toolCalls: [
        {
          name: 'submit_verdict',
          arguments: { decision: 'done', reasons: ['planned work merged'], nextFocus: '', scratchpad: 's' },
        },
      ],
    };
  }
  return null;
}

describe('a plan bigger than the planner’s room (real server, simulated models)', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let repo: string;

  beforeAll(async () => {
    env = await testEnv();
    h = await startHarness(env, stubbornPlanner);
    repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-room-')));
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    fs.rmSync(repo, { recursive: true, force: true });
  });

  it('refuses it with the room left, then records every task it did not do for the judge, the cycle and the report', async () => {
    const runId = `room-${Date.now().toString(36)}`;
    const handle = await env.client.workflow.start('autonomousRun', {
      taskQueue: h.taskQueue,
      workflowId: runId,
      args: [
        {
          repo,
          goal: 'Write the notes.',
          models: TEST_MODELS,
          limits: { maxParallelAgents: 2, maxCycles: 1, maxDepth: 0, maxTasksPerPlanner: 3 },
        },
      ],
    });
    const result: RunResult = await handle.result();
    expect(result.status).toBe('done');

    // The planner heard why and how much room it had, and could re-plan (this one insists).
    const refusal = seen.find((r) => r.lastText.includes('Plan not accepted'));
    expect(refusal?.lastText).toContain('has 3 tasks and this planner has room for 1 more');

    // Every submitted task is merged or recorded as not attempted, with the reason.
    expect(result.tasks).toEqual({ merged: 3, failed: 0, abandoned: 0, notAttempted: 2 });
    const record = result.history[0];
    const merged = new Set([...FIRST, FOLLOW_UP[0]]);
    expect(record.unmerged).toEqual([]);
    expect(record.notAttempted).toEqual(
      FOLLOW_UP.slice(1).map((title) => ({
        title,
        reason: "over this planner's room of 3 tasks per cycle (maxTasksPerPlanner)",
        plannedBy: 'c1/planner',
      })),
    );
    expect(merged.size + record.notAttempted!.length).toBe(new Set([...FIRST, ...FOLLOW_UP]).size);

    // The judge was told.
    const judge = seen.find((r) => r.system.includes('You are the judge'))!;
    expect(judge.text).toContain('Planned but not attempted: 2 task(s)');
    for (const t of FOLLOW_UP.slice(1)) expect(judge.text).toContain(t);

    // And so is the operator.
    const cli = cleanEnv({
      TEMPORAL_ADDRESS: process.env.LONGRUN_TEST_TEMPORAL_ADDRESS,
      LONGRUN_TASK_QUEUE: h.taskQueue,
      LONGRUN_HOME: h.home,
    });
    const out = await longrun(['report', runId, '--json'], cli);
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as RunReport;
    expect(report.tasks.notAttempted).toBe(2);
    expect(report.notAttempted.map((n) => n.title)).toEqual(FOLLOW_UP.slice(1));
    expect(report.notAttempted[0]).toMatchObject({ cycle: 1, plannedBy: 'c1/planner' });
    const text = await longrun(['report', runId], cli);
    expect(text.stdout).toContain('2 not attempted');
    expect(text.stdout).toContain('Planned but not attempted');
  });
});
