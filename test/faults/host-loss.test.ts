import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { paths } from '../../src/config';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { startSimulator, type SimRequest, type SimResponse, type Simulator } from '../../src/sim';
import { workerSettings } from '../../src/workers/options';
import type { PlannerResult, RunResult, TaskInput } from '../../src/workflows/definitions';
import { TEST_MODELS } from '../helpers/harness';
import { testEnv, uniqueTaskQueue } from '../helpers/temporal';

const TASK = 'Write the step notes';
const MOVED_NOTE = 'this task was restarted on another host';

/** One Temporal worker of one host, on one queue: the shared queue and a host queue are stopped separately here. */
async function startWorker(env: NodeJS.ProcessEnv, hostId: string, queue: 'shared' | 'host') {
  const settings = workerSettings({ ...env, LONGRUN_HOST_ID: hostId });
  const connection = await NativeConnection.connect({ address: settings.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: queue === 'shared' ? settings.taskQueue : settings.hostTaskQueue,
    workflowBundle: { codePath: process.env.LONGRUN_TEST_WORKFLOW_BUNDLE! },
    activities: createActivities({ config: settings, hostTaskQueue: settings.hostTaskQueue, env }),
  });
  const running = worker.run();
  return {
    hostQueue: settings.hostTaskQueue,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
type HostWorker = Awaited<ReturnType<typeof startWorker>>;

const calls = (req: SimRequest) =>
  req.messages.flatMap((m) => m.toolCalls ?? []).map((c) => (c.arguments as { path?: string }).path ?? c.name);

/**
 * Two hosts in one process, sharing one LONGRUN_HOME (the hub): the root planner runs on host A, its one task on host
 * B (host A's shared-queue worker is stopped while the planner plans, so B picks the task's host). During the task's
 * 7th model request (a checkpoint was made after step 5, step 6 is not in one) host B's workers stop for good. The planner notices B stopped
 * polling, terminates the task and starts it again on A, from the checkpoint.
 */
describe('an agent whose host is lost for good moves to another host', () => {
  let env: TestWorkflowEnvironment;
  let sim: Simulator;
  let home: string;
  let repo: string;
  let runEnv: NodeJS.ProcessEnv;
  const live = new Map<string, HostWorker>();
  const runId = `hostloss-${Date.now().toString(36)}`;
  const movedFirstRequest: string[][] = [];
  let onB = 0;
  let moved = 0;
  let lost: Promise<void> | null = null;

  async function swap(stop: string[], start: Array<[string, string, 'shared' | 'host']>) {
    for (const [key, host, queue] of start) live.set(key, await startWorker(runEnv, host, queue));
    for (const key of stop) {
      await live.get(key)!.stop();
      live.delete(key);
    }
  }

  const write = (n: number): SimResponse => ({
    toolCalls: [{ name: 'write_file', arguments: { path: `notes/${n}.txt`, content: `step ${n}\n` } }],
  });

  async function scenario(req: SimRequest): Promise<SimResponse | null> {
    if (req.system.includes('You are the root planner')) {
      // B's workers start and A's shared-queue worker stops: the task's host is picked by B.
      await swap(
        ['a-shared'],
        [
          ['b-host', 'host-b', 'host'],
          ['b-shared', 'host-b', 'shared'],
        ],
      );
      const spec = { title: TASK, description: 'Write the notes, one per step.', acceptance: ['notes'], files: [] };
      return {
        toolCalls: [{ name: 'submit_plan', arguments: { rationale: 'r', tasks: [spec], subplanners: [], done: true } }],
      };
    }
    if (req.system.includes('You are the judge')) {
      return {
        toolCalls: [
          {
            name: 'submit_verdict',
            arguments: { decision: 'done', reasons: ['ok'], nextFocus: '', scratchpad: '' },
          },
        ],
      };
    }
    if (!req.system.includes('You are a senior software engineer')) return null;
    if (!req.text.includes(MOVED_NOTE)) {
      onB++;
      if (onB < 7) return write(onB);
      // Host B is lost for good, mid-call: its workers stop (cancelling this call) and A's shared-queue worker is
      // back. Its last checkpoint was made after step 5.
      if (onB === 7) lost = swap(['b-host', 'b-shared'], [['a-shared-2', 'host-a', 'shared']]);
      return { fault: { kind: 'hang' } };
    }
    if (moved++ === 0) movedFirstRequest.push(calls(req));
    if (moved <= 2) return write(5 + moved);
    const summary = 'notes written';
    const finish = { outcome: 'done', summary, notes: '', concerns: [], deviations: [], findings: [] };
    return { toolCalls: [{ name: 'finish', arguments: finish }] };
  }

  beforeAll(async () => {
    env = await testEnv();
    sim = await startSimulator({ scenario });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-home-'));
    repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-hostloss-')));
    runEnv = {
      ...process.env,
      ...sim.env,
      OPENAI_API_KEY: 'sk-test-openai-0123456789',
      ANTHROPIC_API_KEY: 'sk-ant-test-0123456789',
      LONGRUN_HOME: home,
      LONGRUN_TASK_QUEUE: uniqueTaskQueue('hostloss'),
      TEMPORAL_ADDRESS: env.address,
      LONGRUN_SANDBOX: 'off',
    };
    await swap(
      [],
      [
        ['a-host', 'host-a', 'host'],
        ['a-shared', 'host-a', 'shared'],
      ],
    );
  });
  afterAll(async () => {
    await lost;
    for (const w of live.values()) await w.stop();
    await sim?.close();
    await env?.teardown();
    for (const dir of [home, repo]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('restarts the task on host A from its last checkpoint: one merge, one handoff, the run done', async () => {
    const handle = await env.client.workflow.start('autonomousRun', {
      taskQueue: runEnv.LONGRUN_TASK_QUEUE!,
      workflowId: runId,
      args: [
        {
          repo,
          goal: 'Write notes.',
          models: TEST_MODELS,
          limits: { maxParallelAgents: 1, maxCycles: 1, hostCheckSeconds: 5, hostLostAfterSeconds: 70 },
        },
      ],
    });
    const result = (await handle.result()) as RunResult;
    expect(result.status).toBe('done');
    expect(result.tasks).toMatchObject({ merged: 1, failed: 0, abandoned: 0 });

    const queueA = `${runEnv.LONGRUN_TASK_QUEUE}@host-a`;
    const queueB = `${runEnv.LONGRUN_TASK_QUEUE}@host-b`;
    const lostTask = await env.client.workflow.getHandle(`${runId}/c1/planner/t1`).describe();
    expect([lostTask.status.name, lostTask.taskQueue]).toEqual(['TERMINATED', queueB]);
    const again = env.client.workflow.getHandle(`${runId}/c1/planner/t1~m1`);
    const described = await again.describe();
    expect([described.status.name, described.taskQueue]).toEqual(['COMPLETED', queueA]);
    const history = await again.fetchHistory();
    const startInput = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0].data!;
    const input = JSON.parse(Buffer.from(startInput).toString('utf8')) as TaskInput;
    expect(input.taskId).toBe('c1/planner/t1');
    expect(input.moved).toEqual({ from: queueB, count: 1 });

    // The moved task went on with its conversation as of the checkpoint after step 5, not step 6.
    expect(movedFirstRequest).toEqual([['notes/1.txt', 'notes/2.txt', 'notes/3.txt', 'notes/4.txt', 'notes/5.txt']]);

    // The planner heard back once for its one task.
    const plan = (await env.client.workflow.getHandle(`${runId}/c1/planner`).result()) as PlannerResult;
    expect(plan.handoffs.map((h) => [h.taskId, h.status])).toEqual([['c1/planner/t1', 'merged']]);

    // Merged exactly once, with every note.
    const hub = paths.hub(home, runId);
    const first = ['log', '--first-parent', `longrun/${runId}`, '--format=%(trailers:key=Longrun-Task,valueonly)'];
    const merges = execFileSync('git', ['-C', hub, ...first], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    expect(merges).toEqual(['c1/planner/t1']);
    const tree = execFileSync('git', ['-C', hub, 'ls-tree', '-r', '--name-only', `longrun/${runId}`, 'notes/'], {
      encoding: 'utf8',
    });
    expect(tree.trim().split('\n')).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => `notes/${n}.txt`));
  }, 300_000);
});
