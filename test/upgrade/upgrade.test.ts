import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { workflowIds } from '../../src/core/ids';
import { teamScenario } from '../../src/demo/team-scenario';
import { startSimulator, type Simulator } from '../../src/sim';
import type { SimRequest } from '../../src/sim/types';
import { crashWhen } from '../faults/helpers/kills';
import {
  duplicates,
  leftoverWorktrees,
  resultWithin,
  rmrf,
  runIdFor,
  sampleRepo,
  startRunWithCli,
  taskTrailers,
  teamInput,
  treeContents,
} from '../faults/helpers/runs';
import { retryingTools, who } from '../faults/helpers/scenarios';
import { WorkerProcess, workerEnv } from '../faults/helpers/worker-process';
import { startHarness, type Harness } from '../helpers/harness';
import { testEnv, uniqueTaskQueue } from '../helpers/temporal';
import { checkoutPrevious, type ReleaseCheckout } from './helpers/release';

/**
 * An upgrade under a running run: the run starts on the previous release (its sources from git, its own worker process
 * bundling its own workflow code), the worker is killed in the middle of cycle 1 while agents work, and the current
 * worker takes over on the same task queue, host id and LONGRUN_HOME. It replays the previous release's histories
 * and runs its activities with the inputs the old workflow code scheduled. The run must end as an uninterrupted run of
 * the current version does.
 *
 * SIGKILL rather than SIGTERM: a graceful stop would let the old worker finish its activities; a kill leaves activities
 * scheduled by the old code in flight, to be retried by the new activity code, which is the harder half of a deploy
 * (and what a drain that outlasts its grace period, or a crash during a rollout, leaves).
 */
const EXPLORE_TURNS = 4;
/** The swap happens when the simulator holds this worker-agent request: tasks of cycle 1 are mid-way then. */
const SWAP_AT_WORKER_REQUEST = 12;
const RUN_TIMEOUT_MS = 5 * 60_000;
const limits = { heartbeatTimeoutSeconds: 5 };
const scenario = () => retryingTools(teamScenario({ workerExploreTurns: EXPLORE_TURNS }));

describe('upgrade under a running run (previous release -> current worker, mid-cycle)', () => {
  let env: TestWorkflowEnvironment;
  let release: ReleaseCheckout;
  let sim: Simulator;
  let reference: Harness;
  let previous: WorkerProcess;
  let current: WorkerProcess;
  let home: string;
  let logDir: string;
  let swap: ReturnType<typeof crashWhen>;
  const swapped: { request?: SimRequest; previousPid?: number } = {};
  const repos: string[] = [];

  beforeAll(async () => {
    env = await testEnv();
    release = checkoutPrevious();
    let workerRequests = 0;
    swap = crashWhen(
      scenario(),
      (req) => who(req).role === 'worker' && ++workerRequests === SWAP_AT_WORKER_REQUEST && !!(swapped.request = req),
      async () => {
        swapped.previousPid = previous.pid;
        const killed = await previous.kill9();
        current.start();
        return killed;
      },
    );
    sim = await startSimulator({ scenario: swap.scenario });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-upgrade-home-'));
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-upgrade-log-'));
    const common = { address: env.address, sim, home, taskQueue: uniqueTaskQueue('upgrade'), hostId: 'upgrade-host' };
    // The previous release runs from its sources and bundles its own workflow code at start, as its release would.
    previous = new WorkerProcess(
      { ...workerEnv({ ...common, bundle: false }), LONGRUN_FROM_SOURCE: '1' },
      path.join(logDir, `worker-${release.version}.log`),
      release.root,
    );
    current = new WorkerProcess(workerEnv(common), path.join(logDir, 'worker-current.log'));
    reference = await startHarness(env, scenario());
  });

  afterAll(async () => {
    await previous?.stop();
    await current?.stop();
    await reference?.stop();
    await sim?.close();
    await env?.teardown();
    if (process.env.LONGRUN_FAULTS_KEEP)
      process.stdout.write(`[upgrade] kept: home=${home} log=${logDir} release=${release?.root}\n`);
    else rmrf(home, logDir, ...repos);
    if (!process.env.LONGRUN_FAULTS_KEEP) release?.remove();
  });

  it(
    'a run started on the previous release ends done on the current worker: the same tree, each task merged once',
    async () => {
      const repo = sampleRepo();
      const refRepo = sampleRepo();
      repos.push(repo, refRepo);
      const runId = runIdFor('upgrade');
      const refId = runIdFor('upgrade-ref');
      const input = teamInput(repo, { limits });

      startRunWithCli(env.address, reference.taskQueue, refId, teamInput(refRepo, { limits }));
      const refResult = resultWithin(env.client, refId, RUN_TIMEOUT_MS);

      previous.start();
      swap.arm();
      startRunWithCli(env.address, String(current.env.LONGRUN_TASK_QUEUE), runId, input);
      const result = await resultWithin(env.client, runId, RUN_TIMEOUT_MS);
      const ref = await refResult;

      // The swap happened once, in cycle 1, while a worker agent was mid-task.
      expect(swap.kills).toHaveLength(1);
      expect(who(swapped.request!).cycle).toBe(1);
      expect(previous.starts).toBe(1);
      expect(current.starts).toBe(1);

      // Both versions worked on cycle 1's planner: its workflow tasks were completed by the previous release's
      // process, then by the current one (a worker's identity is <pid>@<host>).
      const identities = await completedBy(env, workflowIds.rootPlanner(runId, 1));
      expect(identities[0]).toBe(`${swapped.previousPid}@${os.hostname()}`);
      expect(identities).toContain(`${current.pid}@${os.hostname()}`);

      expect(ref.status).toBe('done');
      expect(result.status).toBe('done');
      expect(result.reason).toBe(ref.reason);
      expect(result.cycles).toBe(ref.cycles);
      expect(result.tasks).toEqual(ref.tasks);
      expect(result.history.flatMap((c) => c.unmerged)).toEqual([]);
      expect(treeContents(repo, result.resultBranch)).toEqual(treeContents(refRepo, ref.resultBranch));
      const trailers = taskTrailers(repo, result.resultBranch);
      expect(duplicates(trailers)).toEqual([]);
      expect(new Set(trailers).size).toBe(result.tasks.merged);
      expect(leftoverWorktrees(home, runId)).toEqual({ dirs: [], registered: [] });
      process.stdout.write(
        `[upgrade] ${release.version} -> current at sim request #${swapped.request!.index}; ` +
          `${sim.requests.length} requests, ${result.tasks.merged} merged, ${result.cycles} cycles\n`,
      );
    },
    RUN_TIMEOUT_MS + 60_000,
  );
});

/** The identities of the workers that completed the workflow's tasks, in order (distinct, consecutive). */
async function completedBy(env: TestWorkflowEnvironment, workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const out: string[] = [];
  for (const e of history.events ?? []) {
    const id = e.workflowTaskCompletedEventAttributes?.identity;
    if (id && out[out.length - 1] !== id) out.push(id);
  }
  return out;
}
