import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { teamScenario } from '../../src/demo/team-scenario';
import type { RunResult } from '../../src/workflows/definitions';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { saveHistories } from '../helpers/histories';
import { testEnv } from '../helpers/temporal';

const EventType = temporal.api.enums.v1.EventType;

/**
 * Where an agent's work runs: planners and workers on their host's queue, model calls as activities on that queue
 * (handed out eagerly) or as local activities (`modelCalls: 'local'`), read-only tools always as local activities,
 * tools that write as activities. Both modes end the team scenario the same way.
 */
describe('agent placement: host queues, local activities, eager dispatch', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  const repos: string[] = [];

  beforeAll(async () => {
    env = await testEnv();
    h = await startHarness(env, teamScenario({ workerExploreTurns: 2 }));
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    for (const r of repos) fs.rmSync(r, { recursive: true, force: true });
  });

  /** Per workflow of the run: its task queue, the activities it scheduled and the local activities it recorded. */
  async function placement(runId: string) {
    const out = new Map<string, { queue: string; activities: string[]; local: string[]; taskTimeoutMs: number }>();
    const query = `WorkflowId = "${runId}" OR WorkflowId STARTS_WITH "${runId}/"`;
    for await (const wf of env.client.workflow.list({ query })) {
      const history = await env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowTaskTimeout;
      const entry = {
        queue: wf.taskQueue,
        activities: [] as string[],
        local: [] as string[],
        taskTimeoutMs: Number(started?.seconds ?? 0) * 1000 + Math.round((started?.nanos ?? 0) / 1e6),
      };
      for (const e of history.events ?? []) {
        if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
          entry.activities.push(e.activityTaskScheduledEventAttributes!.activityType!.name!);
        } else if (e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED) {
          const data = e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
          const type = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }) : {};
          if (type.activity_type) entry.local.push(type.activity_type);
        }
      }
      out.set(wf.workflowId, entry);
    }
    return out;
  }

  async function run(
    modelCalls?: 'activity' | 'local',
    limits: Record<string, number> = {},
  ): Promise<{ runId: string; result: RunResult }> {
    const repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-placement-')));
    repos.push(repo);
    const runId = `placement-${modelCalls ?? 'default'}-${Date.now().toString(36)}`;
    const handle = await env.client.workflow.start('autonomousRun', {
      taskQueue: h.taskQueue,
      workflowId: runId,
      args: [
        {
          repo,
          goal: 'Fix the failing test, add helpers, document.',
          testCommand: 'node test.js',
          models: TEST_MODELS,
          limits: { maxParallelAgents: 3, maxCycles: 4, maxDepth: 1, ...limits },
          ...(modelCalls ? { modelCalls } : {}),
        },
      ],
    });
    return { runId, result: await handle.result() };
  }

  const hostQueue = () => `${h.taskQueue}@`;

  it('by default: agents on the host queue, model calls as activities there, read-only tools local', async () => {
    const { runId, result } = await run();
    expect(result.status).toBe('done');
    expect(result.tasks).toEqual({ merged: 7, failed: 0, abandoned: 0, notAttempted: 0 });

    const p = await placement(runId);
    expect(p.get(runId)!.queue).toBe(h.taskQueue); // the run itself is on the shared queue
    const agents = [...p.entries()].filter(([id]) => /\/(planner|s\d+|t\d+)$/.test(id));
    expect(agents.length).toBeGreaterThanOrEqual(9);
    for (const [, a] of agents) {
      expect(a.queue.startsWith(hostQueue())).toBe(true);
      expect(a.activities).toContain('callModel');
      expect(a.local).not.toContain('callModel');
      expect(a.taskTimeoutMs).toBe(10_000); // Temporal's default: localTaskTimeoutSeconds is for local model calls
    }
    const workers = agents.filter(([id]) => /\/t\d+$/.test(id)).map(([, a]) => a);
    // Workers read (local) and write (an activity: edits are not repeated by a replay).
    expect(workers.some((w) => w.local.includes('runTool'))).toBe(true);
    expect(workers.some((w) => w.activities.includes('runTool'))).toBe(true);
    // Planners only read: every tool call of theirs is local.
    for (const [id, a] of agents) if (!/\/t\d+$/.test(id)) expect(a.activities).not.toContain('runTool');
  });

  it("modelCalls 'local': the same outcome, with every agent's model calls recorded as local activities", async () => {
    // A fleet's setting: the agents' workflow tasks, held open while their model calls run, renewed every 48 s.
    const { runId, result } = await run('local', { localTaskTimeoutSeconds: 60 });
    expect(result.status).toBe('done');
    expect(result.tasks).toEqual({ merged: 7, failed: 0, abandoned: 0, notAttempted: 0 });
    expect(result.usage.worker?.calls).toBeGreaterThan(0);

    const p = await placement(runId);
    const agents = [...p.entries()].filter(([id]) => /\/(planner|s\d+|t\d+)$/.test(id));
    for (const [, a] of agents) {
      expect(a.queue.startsWith(hostQueue())).toBe(true);
      expect(a.activities).not.toContain('callModel');
      expect(a.local).toContain('callModel');
      expect(a.taskTimeoutMs).toBe(60_000);
    }
    // The judge stays an activity: it runs in the run workflow, away from its transcript's host.
    expect(p.get(runId)!.activities).toContain('callModel');
    // Local-activity markers must replay too (replay.test.ts).
    await saveHistories(env, runId, 'local-model-calls', 8);
  });
});
