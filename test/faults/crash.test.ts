import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { teamScenario } from '../../src/demo/team-scenario';
import { startSimulator, type Simulator } from '../../src/sim';
import { startHarness, type Harness } from '../helpers/harness';
import { saveHistories } from '../helpers/histories';
import { testEnv, uniqueTaskQueue } from '../helpers/temporal';
import {
  duplicates,
  leftoverWorktrees,
  LONG,
  report,
  resultWithin,
  rmrf,
  runIdFor,
  sampleRepo,
  startRunWithCli,
  taskTrailers,
  teamInput,
  treeContents,
  treeHash,
} from './helpers/runs';
import { killEveryKthRequest, type ProgressKills } from './helpers/kills';
import { retryingTools } from './helpers/scenarios';
import { WorkerProcess, workerEnv } from './helpers/worker-process';

/**
 * Worker crashes: the worker is a real `longrun worker` child process; it is killed with SIGKILL (its whole process
 * group) while the simulator holds every k-th model request (seeded jitter), and started again each time, with the
 * same host id so it owns the same host queue and worktrees. The kills are tied to the run's progress, so every
 * machine delivers all of them. The run must end as an uninterrupted run of the same scenario does.
 */
const KILLS = LONG ? 20 : 10;
/** A kill on average every KILL_EVERY model requests (the last one by about request KILLS * KILL_EVERY * 1.5). */
const KILL_EVERY = 6;
/**
 * Extra read turns per worker make the run long enough for its kills: about 7 tasks * (EXPLORE_TURNS + 5) requests,
 * plus the planners' and the judge's, must exceed the last planned kill.
 */
const EXPLORE_TURNS = LONG ? 32 : 16;
const SEED = Number(process.env.LONGRUN_FAULTS_SEED ?? Date.now() % 100_000);
const RUN_TIMEOUT_MS = (LONG ? 40 : 20) * 60_000;
/**
 * What a kill costs is the time until Temporal retries the dead worker's activities: their heartbeat timeout. Every
 * activity heartbeats (src/activities/heartbeat.ts), so the run's limit decides it; 5 s keeps ten kills within minutes.
 */
const limits = { heartbeatTimeoutSeconds: 5 };
/** LONGRUN_FAULTS_MODEL_CALLS=local runs the same suite with model calls as local activities. */
const modelCalls = process.env.LONGRUN_FAULTS_MODEL_CALLS === 'local' ? 'local' : undefined;
const input = (repo: string) => ({ ...teamInput(repo, { limits }), ...(modelCalls ? { modelCalls } : {}) });

const scenario = () => retryingTools(teamScenario({ workerExploreTurns: EXPLORE_TURNS }));

describe('worker crashes (kill -9 of a child worker process, restarted each time)', () => {
  let env: TestWorkflowEnvironment;
  let sim: Simulator;
  let worker: WorkerProcess;
  let killer: ProgressKills;
  let reference: Harness;
  let home: string;
  let logDir: string;
  const repos: string[] = [];

  beforeAll(async () => {
    env = await testEnv();
    killer = killEveryKthRequest(scenario(), {
      every: KILL_EVERY,
      count: KILLS,
      seed: SEED,
      crash: async () => {
        const killed = await worker.kill9();
        worker.start();
        return killed;
      },
    });
    sim = await startSimulator({ scenario: killer.scenario });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-faults-home-'));
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-faults-log-'));
    worker = new WorkerProcess(
      {
        ...workerEnv({ address: env.address, sim, home, taskQueue: uniqueTaskQueue('crash'), hostId: 'crash-host' }),
        OPENAI_API_KEY: 'sk-test-openai-crash',
        ANTHROPIC_API_KEY: 'sk-ant-test-crash',
      },
      path.join(logDir, 'worker.log'),
    );
    reference = await startHarness(env, scenario());
  });

  afterAll(async () => {
    await worker?.stop();
    await reference?.stop();
    await sim?.close();
    await env?.teardown();
    // LONGRUN_FAULTS_KEEP=1 keeps the state dir, the worker log and the repositories for a post-mortem.
    if (process.env.LONGRUN_FAULTS_KEEP)
      process.stdout.write(`[faults] kept: home=${home} log=${logDir} repos=${repos.join(' ')}\n`);
    else rmrf(home, logDir, ...repos);
  });

  it(
    `survives ${KILLS} kills: done, the same tree as an uninterrupted run, each task merged once, no worktree left`,
    async () => {
      const started = Date.now();
      const crashRepo = sampleRepo();
      const refRepo = sampleRepo();
      repos.push(crashRepo, refRepo);
      const crashId = runIdFor('crash');
      const refId = runIdFor('crash-ref');

      // The uninterrupted run of the same scenario runs alongside (in-process worker, its own simulator and queue).
      startRunWithCli(env.address, reference.taskQueue, refId, input(refRepo));
      const refResult = resultWithin(env.client, refId, RUN_TIMEOUT_MS);

      worker.start();
      killer.arm();
      startRunWithCli(env.address, String(worker.env.LONGRUN_TASK_QUEUE), crashId, input(crashRepo));
      const result = await resultWithin(env.client, crashId, RUN_TIMEOUT_MS);
      const kills = killer.kills;
      const ref = await refResult;
      const durationMs = Date.now() - started;
      await worker.stop();

      // Determinism: when recording a release (npm run replay:record), these histories, which went through crashes
      // and retries, become fixtures that replay.test.ts replays in every later version.
      await saveHistories(env, crashId, 'crash');
      report('crash', {
        runId: crashId,
        seed: SEED,
        modelCalls: modelCalls ?? 'activity',
        kills: kills.length,
        orphanedCommands: kills.reduce((n, k) => n + k.orphans, 0),
        killTimesMs: kills.map((k) => k.atMs),
        killRequests: kills.map((k) => k.request),
        requests: sim.requests.length,
        referenceRequests: reference.sim.requests.length,
        durationMs,
        status: result.status,
        cycles: result.cycles,
        referenceCycles: ref.cycles,
      });

      // Every planned kill fired (a run shorter than the plan, in model requests, fails here: raise EXPLORE_TURNS).
      expect(kills.length).toBe(KILLS);
      expect(ref.status).toBe('done');
      expect(result.status).toBe('done');
      expect(result.reason).toBe(ref.reason);
      expect(result.history.flatMap((c) => c.unmerged)).toEqual([]);
      expect(result.tasks).toEqual(ref.tasks);

      // The same tree. Tree hashes can differ only by CHANGELOG.md's line order (merge order): compare contents.
      const branch = result.resultBranch;
      const crashTree = treeContents(crashRepo, branch);
      const refTree = treeContents(refRepo, ref.resultBranch);
      expect(crashTree).toEqual(refTree);
      expect(crashTree['CHANGELOG.md']).not.toMatch(/<<<<<<<|>>>>>>>|=======/);
      report('crash-tree', { crash: treeHash(crashRepo, branch), reference: treeHash(refRepo, ref.resultBranch) });

      // Each task merged exactly once, although integrations were interrupted and retried.
      const trailers = taskTrailers(crashRepo, branch);
      expect(duplicates(trailers)).toEqual([]);
      expect(new Set(trailers).size).toBe(result.tasks.merged);

      // No worktree left on disk or registered in the hub.
      expect(leftoverWorktrees(home, crashId)).toEqual({ dirs: [], registered: [] });
      // No process of the worker's tree survives.
      expect(worker.survivors()).toEqual([]);
    },
    RUN_TIMEOUT_MS + 60_000,
  );
});
