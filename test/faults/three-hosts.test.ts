import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defaultPayloadConverter } from '@temporalio/common';
import { teamScenario } from '../../src/demo/team-scenario';
import { startSimulator, type Simulator } from '../../src/sim';
import type { ScenarioFn } from '../../src/sim/types';
import { startGitDaemon, type GitDaemon } from '../helpers/git-daemon';
import { startHarness, type Harness } from '../helpers/harness';
import { testEnv, uniqueTaskQueue } from '../helpers/temporal';
import {
  duplicates,
  report,
  resultWithin,
  rmrf,
  runIdFor,
  sampleRepo,
  startRunWithCli,
  taskTrailers,
  teamInput,
  treeContents,
} from './helpers/runs';
import { retryingTools, who } from './helpers/scenarios';
import { WorkerProcess, workerEnv } from './helpers/worker-process';

/**
 * Issue #16: three hosts that share nothing but Temporal and a git remote. Each is a real `longrun worker` process
 * with its own LONGRUN_HOME and LONGRUN_HOST_ID; the hub is a bare repository served by `git daemon` on 127.0.0.1
 * (LONGRUN_HUB_URL). Once the run is under way, the host running the most workers (and no planner: a lost planner
 * starts afresh; test/workflows/host-loss.test.ts covers that bookkeeping) is killed with SIGKILL and never started again. Its agents
 * must be restarted on the other two from their last checkpoint, and the run must end as an uninterrupted run of the
 * same scenario does: done, the same tree, each task merged once, one handoff per task.
 */
const RUN_TIMEOUT_MS = 12 * 60_000;
/** Worker requests before the first look for a host to kill: the fan-out is done and workers are mid-task. */
const KILL_AFTER = 8;
const EXPLORE_TURNS = 12;
const limits = {
  maxParallelAgents: 6,
  heartbeatTimeoutSeconds: 5,
  hostCheckSeconds: 5,
  hostLostAfterSeconds: 70, // the least allowed: an idle live worker renews its long polls about once a minute
};

interface Seen {
  role: string;
  title: string;
  time: number;
}

describe('three hosts sharing only Temporal and a git remote, one lost for good', () => {
  let env: TestWorkflowEnvironment;
  let sim: Simulator;
  let daemon: GitDaemon;
  let reference: Harness;
  const hosts = new Map<string, WorkerProcess>();
  const homes: string[] = [];
  const repos: string[] = [];
  let logDir: string;
  const seen: Seen[] = [];
  let killed: { host: string; at: number; tasks: string[] } | null = null;
  let runId = '';
  let taskQueue = '';

  const base = () => retryingTools(teamScenario({ workerExploreTurns: EXPLORE_TURNS }));

  beforeAll(async () => {
    env = await testEnv();
    daemon = await startGitDaemon();
    const hub = daemon.url('hub.git');
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-hosts-log-'));
    taskQueue = uniqueTaskQueue('hosts');
    let workerRequests = 0;
    let looking = false;
    const base0 = base();
    // From the KILL_AFTER-th worker request on, each worker request looks for a host to kill (holding the request
    // meanwhile, as a crash would find it) until one is found: tied to the run's progress, not to a clock.
    const scenario: ScenarioFn = async (req) => {
      const w = who(req);
      seen.push({ role: w.role, title: w.title, time: Date.now() });
      if (w.role === 'worker' && ++workerRequests >= KILL_AFTER && !killed && !looking && runId) {
        looking = true;
        try {
          const victim = await hostToKill();
          if (victim) {
            await hosts.get(victim.host)!.kill9();
            killed = { host: victim.host, at: Date.now(), tasks: victim.tasks };
          }
        } finally {
          looking = false;
        }
      }
      return base0(req);
    };
    sim = await startSimulator({ scenario });
    for (const id of ['host-a', 'host-b', 'host-c']) {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), `longrun-${id}-`));
      homes.push(home);
      const w = new WorkerProcess(
        { ...workerEnv({ address: env.address, sim, home, taskQueue, hostId: id }), LONGRUN_HUB_URL: hub },
        path.join(logDir, `${id}.log`),
      );
      hosts.set(id, w);
    }
    reference = await startHarness(env, base());
  });

  afterAll(async () => {
    for (const w of hosts.values()) await w.stop();
    await reference?.stop();
    await sim?.close();
    await daemon?.stop();
    await env?.teardown();
    if (process.env.LONGRUN_FAULTS_KEEP)
      process.stdout.write(`[faults] kept: homes=${homes.join(' ')} log=${logDir} repos=${repos.join(' ')}\n`);
    else rmrf(logDir, ...homes, ...repos);
  });

  /**
   * The host with the most running workers, of those that do not run the root planner (a lost root planner starts
   * its cycle's planning afresh: test/workflows/host-loss.test.ts covers it), with those workers' ids;
   * null while no such host runs a worker. A sub-planner there is restarted and plans what is not on the target yet.
   */
  async function hostToKill(): Promise<{ host: string; tasks: string[] } | null> {
    const byQueue = new Map<string, { tasks: string[]; root: boolean }>();
    const query = `WorkflowId STARTS_WITH "${runId}/" AND ExecutionStatus = "Running"`;
    for await (const wf of env.client.workflow.list({ query })) {
      const q = byQueue.get(wf.taskQueue) ?? { tasks: [], root: false };
      if (wf.type === 'task') q.tasks.push(wf.workflowId);
      else if (/\/c\d+\/planner(~m\d+)?$/.test(wf.workflowId)) q.root = true;
      byQueue.set(wf.taskQueue, q);
    }
    const candidates = [...byQueue]
      .filter(([queue, q]) => !q.root && q.tasks.length && queue.includes('@'))
      .sort((a, b) => b[1].tasks.length - a[1].tasks.length);
    if (!candidates.length) return null;
    const [queue, q] = candidates[0];
    return { host: queue.slice(queue.indexOf('@') + 1), tasks: q.tasks };
  }

  /** The task title a task workflow was started with (its first event's input). */
  async function titleOf(workflowId: string): Promise<string> {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    return (defaultPayloadConverter.fromPayload(input!) as { spec: { title: string } }).spec.title;
  }

  it(
    'ends done with the same tree as an uninterrupted run, each task merged once, the lost host’s agents moved',
    async () => {
      const started = Date.now();
      const repo = sampleRepo();
      const refRepo = sampleRepo();
      repos.push(repo, refRepo);
      runId = runIdFor('hosts');
      const refId = runIdFor('hosts-ref');
      startRunWithCli(env.address, reference.taskQueue, refId, teamInput(refRepo, { limits }));
      const refResult = resultWithin(env.client, refId, RUN_TIMEOUT_MS);

      for (const w of hosts.values()) w.start();
      startRunWithCli(env.address, taskQueue, runId, teamInput(repo, { limits }));
      const result = await resultWithin(env.client, runId, RUN_TIMEOUT_MS);
      const ref = await refResult;

      // The kill happened, and the host stayed dead.
      expect(killed).not.toBeNull();
      const lost = killed!;
      expect(hosts.get(lost.host)!.pid).toBeUndefined();

      expect(ref.status).toBe('done');
      expect(result.status).toBe('done');
      expect(result.history.flatMap((c) => c.unmerged)).toEqual([]);
      // One handoff per task: a terminated agent's failure would show as a failed task here.
      expect(result.tasks).toEqual(ref.tasks);
      expect(treeContents(repo, result.resultBranch)).toEqual(treeContents(refRepo, ref.resultBranch));
      const trailers = taskTrailers(repo, result.resultBranch);
      expect(duplicates(trailers)).toEqual([]);
      expect(new Set(trailers).size).toBe(result.tasks.merged);

      // Every worker of the lost host was restarted elsewhere, once, under its own task id.
      const moved: Array<{ workflowId: string; taskQueue: string }> = [];
      for await (const wf of env.client.workflow.list({ query: `WorkflowId STARTS_WITH "${runId}/"` }))
        if (/~m\d+$/.test(wf.workflowId)) moved.push({ workflowId: wf.workflowId, taskQueue: wf.taskQueue });
      const movedOrigins = moved.map((m) => m.workflowId.replace(/~m\d+$/, ''));
      // A worker whose sub-planner was on the lost host too is not moved: the restarted sub-planner plans it again.
      const parentOf = (id: string) => id.replace(/\/t\d+(~m\d+)?$/, '');
      for (const t of lost.tasks) expect(movedOrigins.includes(t) || movedOrigins.includes(parentOf(t))).toBe(true);
      for (const m of moved) expect(m.taskQueue).not.toBe(`${taskQueue}@${lost.host}`);

      // Nothing of the run is left waiting on the dead host's queue (a lost planner's children there are ended too).
      const running: string[] = [];
      const query = `WorkflowId STARTS_WITH "${runId}" AND ExecutionStatus = "Running"`;
      for await (const wf of env.client.workflow.list({ query })) running.push(`${wf.workflowId} on ${wf.taskQueue}`);
      expect(running).toEqual([]);

      // Recovery time: from the kill to each moved worker's first model request afterwards; the last one is reported.
      const recovery: number[] = [];
      for (const t of lost.tasks) {
        const title = await titleOf(t);
        const next = seen.find((s) => s.role === 'worker' && s.title === title && s.time > lost.at);
        if (next) recovery.push(next.time - lost.at);
      }
      // A task that merged before the kill had nothing left to ask a model: only the others are timed.
      expect(recovery.length).toBeGreaterThan(0);

      const perHost: Record<string, number> = {};
      for await (const wf of env.client.workflow.list({ query: `WorkflowId STARTS_WITH "${runId}/"` })) {
        const host = wf.taskQueue.slice(wf.taskQueue.indexOf('@') + 1);
        perHost[host] = (perHost[host] ?? 0) + 1;
      }
      report('three-hosts', {
        runId,
        lostHost: lost.host,
        lostWorkers: lost.tasks.length,
        moved: moved.length,
        killToLastMovedStepMs: Math.max(...recovery),
        killToFirstMovedStepMs: Math.min(...recovery),
        hostLostAfterSeconds: limits.hostLostAfterSeconds,
        hostCheckSeconds: limits.hostCheckSeconds,
        agentsPerHost: perHost,
        requests: sim.requests.length,
        durationMs: Date.now() - started,
        tasks: result.tasks,
        cycles: result.cycles,
      });
    },
    RUN_TIMEOUT_MS + 60_000,
  );
});
