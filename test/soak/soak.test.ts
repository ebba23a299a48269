import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { rssBytes } from '../../bench/lib/cluster';
import { BENCH_MODELS, listTree, type TreeRun } from '../../bench/lib/runs';
import { benchTeam, classify, taskTitle } from '../../bench/lib/team';
import { paths } from '../../src/config';
import { freePort, startDevServer, type DevServer } from '../../src/dev/dev-server';
import type { SimRequest, SimResponse } from '../../src/sim/types';
import { startSimulator, type Simulator } from '../../src/sim';
import type { RunInput, RunResult } from '../../src/workflows/definitions';
import { installRuntime } from '../../src/workers/runtime';
import { duplicates, git, report, rmrf, sampleRepo, startRunWithCli, taskTrailers } from '../faults/helpers/runs';
import { retryingTools } from '../faults/helpers/scenarios';
import { WorkerProcess, workerEnv } from '../faults/helpers/worker-process';
import { temporalCli, uniqueTaskQueue } from '../helpers/temporal';
import { checkoutPrevious, type ReleaseCheckout } from '../upgrade/helpers/release';

/**
 * A compressed week: one run of a simulated team over many cycles, with everything a week brings. Small context
 * windows make every worker compact; a lowered `limit.historyCount.suggestContinueAsNew` on the soak's own dev server
 * makes planners and workers continue as new (the run does at every cycle); the worker process (a child) is killed
 * with SIGKILL every KILL_EVERY model requests, the dev server is restarted once, and (full soak) the run starts on
 * the previous release's worker, which is replaced by the current one. Every disturbance is tied to a model request
 * number, never to a clock. The figures (RSS and LONGRUN_HOME size per cycle, most events of any run, kills) go to
 * stdout and to LONGRUN_FAULTS_REPORT; docs/BENCHMARKS.md quotes them.
 *
 * `npm run soak` (LONGRUN_SOAK=full): 50 cycles x 40 tasks (LONGRUN_SOAK_CYCLES overrides). `npm run test:slow` runs the
 * short variant: 2 cycles x 6 tasks, one kill and one server restart, no upgrade (test/upgrade covers it).
 */
const FULL = process.env.LONGRUN_SOAK === 'full';
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CYCLES = num('LONGRUN_SOAK_CYCLES', FULL ? 50 : 2);
/** Per cycle: the root planner's own tasks and its sub-planners' (one entry per sub-planner). */
const ROOT_TASKS = FULL ? 30 : 4;
const SCOPES = FULL ? [5, 5] : [2];
const TASKS_PER_CYCLE = ROOT_TASKS + SCOPES.reduce((a, b) => a + b, 0);
/** Reads of the big file per worker: with a 4,000-token window each read pushes the agent past 80% (one compaction). */
const WORKER_READS = 3;
const KILL_EVERY = num('LONGRUN_SOAK_KILL_EVERY', FULL ? 300 : 40);
const KILLS = FULL ? Infinity : 1;
/** The server restart and the upgrade happen at these model requests. */
const SERVER_RESTART_AT = FULL ? 1_000 : 25;
const UPGRADE = process.env.LONGRUN_SOAK_UPGRADE ? process.env.LONGRUN_SOAK_UPGRADE === '1' : FULL;
const UPGRADE_AT = 150;
/** Events after which the server suggests continue-as-new: low enough that planners and workers do, many times. */
const SUGGEST_CONTINUE_AS_NEW = FULL ? 100 : 80;
/** The root planner plans in rounds of this many tasks, re-planning on handoffs (more events per planner). */
const PLAN_BATCH = FULL ? 5 : 1;
const RUN_TIMEOUT_MS = (FULL ? 6 * 60 : 3) * 60_000;

/** A file of about 10 KB (~2,500 tokens) that every worker reads: with the task, past 80% of a 4,000-token window. */
const BIG_FILE = 'docs/reference.md';
const bigFile = () =>
  Array.from({ length: 150 }, (_, i) => `- rule ${i + 1}: keep helpers pure and document their edge cases.`).join('\n');

type Action = 'kill' | 'server-restart' | 'upgrade';
/** The worker's RSS is sampled every RSS_EVERY model requests. */
const RSS_EVERY = 50;
const mb = (bytes: number | null) => Math.round(((bytes ?? 0) / 2 ** 20) * 10) / 10;

/**
 * A worker agent that survives compaction: compaction replaces the conversation with the task and a summary, so the
 * turn number restarts; what the agent has done is what the tool results it has seen say (tracked per task here,
 * from the results in its requests, which are durable in its transcript once seen). It writes its file, reads the
 * big file WORKER_READS times (each read passes the window's 80%: a compaction), then finishes.
 */
const progress = new Map<string, { wrote: boolean; reads: Set<string>; summaries: Set<string> }>();
let soakIds = 0;
let summaries = 0;
/** The compactor numbers its summaries; a worker's request quoting summary k shows which agent compaction k was. */
const soakCompactor = (): SimResponse => ({ text: `Summary ${++summaries}: the agent wrote its file and read notes.` });
function soakWorker(req: SimRequest, title: string): SimResponse {
  const p = progress.get(title) ?? { wrote: false, reads: new Set<string>(), summaries: new Set<string>() };
  progress.set(title, p);
  // A compacted conversation keeps every earlier summary after the task, so all of them are counted.
  for (const m of req.text.matchAll(/Summary (\d+): the agent wrote/g)) p.summaries.add(m[1]);
  const calls = new Map<string, string>();
  for (const m of req.messages) for (const c of m.toolCalls ?? []) if (c.id) calls.set(c.id, c.name);
  for (const m of req.messages) {
    if (m.role !== 'tool' || !m.toolCallId || m.isError || /^The tool failed: /.test(m.text)) continue;
    if (calls.get(m.toolCallId) === 'write_file') p.wrote = true;
    if (calls.get(m.toolCallId) === 'read_file') p.reads.add(m.toolCallId);
  }
  const call = (name: string, args: unknown): SimResponse => ({
    toolCalls: [{ id: `call_soak${++soakIds}`, name, arguments: args }],
  });
  if (!p.wrote) {
    const file = `soak/${title.replace(/\s+/g, '-')}.txt`;
    return call('write_file', { path: file, content: `${title}\n` });
  }
  if (p.reads.size < WORKER_READS) return call('read_file', { path: BIG_FILE });
  return call('finish', {
    outcome: 'done',
    summary: `${title}: wrote its file and read the notes.`,
    notes: '',
    concerns: [],
    deviations: [],
    findings: [],
  });
}

describe('soak: a compressed week (cycles, compactions, continue-as-new, kills, a server restart, an upgrade)', () => {
  let dir: string;
  let port: number;
  let server: DevServer;
  let env: TestWorkflowEnvironment;
  let sim: Simulator;
  let release: ReleaseCheckout | undefined;
  let worker: WorkerProcess;
  let current: WorkerProcess;
  let home: string;
  let repo: string;
  const startServer = () =>
    startDevServer({
      cli: temporalCli(),
      dbFile: path.join(dir, 'temporal.sqlite'),
      port,
      headless: true,
      logFile: path.join(dir, 'server.log'),
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': SUGGEST_CONTINUE_AS_NEW },
      startTimeoutMs: 120_000,
    });

  // What happened, by model request number.
  const performed: Array<{ action: Action; request: number; atMs: number }> = [];
  const rss: Array<{ request: number; pid: number; mb: number }> = [];
  const samples: Array<{ cycle: number; request: number; pid: number; rssMB: number; homeMB: number; hubMB: number }> =
    [];
  let started = 0;
  let runId = '';
  let requestsSeen = 0;
  const requestsByRole: Record<string, number> = {};

  beforeAll(async () => {
    installRuntime({ LONGRUN_LOG_LEVEL: process.env.LONGRUN_LOG_LEVEL ?? 'WARN' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-soak-server-'));
    port = await freePort();
    server = await startServer();
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address, namespace: 'default' });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-soak-home-'));
    repo = sampleRepo();
    fs.mkdirSync(path.join(repo, 'docs'), { recursive: true });
    fs.writeFileSync(path.join(repo, BIG_FILE), bigFile());
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'reference notes');

    const base = retryingTools(
      benchTeam({
        layout: () => ({ tasks: ROOT_TASKS, scopes: SCOPES }),
        workerTurns: () => WORKER_READS,
        writes: true,
        doneAtCycle: CYCLES,
        planBatch: () => PLAN_BATCH,
      }),
    );
    let seen = 0;
    let busy: Promise<void> = Promise.resolve();
    const scenario = async (req: SimRequest) => {
      const n = ++seen;
      requestsSeen = n;
      const who = classify(req);
      requestsByRole[who.role] = (requestsByRole[who.role] ?? 0) + 1;
      if (who.role === 'planner' && req.turn === 0) sampleCycle(Number(/# Cycle (\d+)/.exec(req.text)?.[1] ?? 0), n);
      if (n % RSS_EVERY === 0 && worker.pid) rss.push({ request: n, pid: worker.pid, mb: mb(rssBytes(worker.pid)) });
      const due: Action[] = [];
      if (n % KILL_EVERY === 0 && performed.filter((p) => p.action === 'kill').length < KILLS) due.push('kill');
      if (n === SERVER_RESTART_AT) due.push('server-restart');
      if (UPGRADE && n === UPGRADE_AT) due.push('upgrade');
      for (const action of due) busy = busy.then(() => perform(action, n));
      await busy;
      if (who.role === 'compactor') return soakCompactor();
      return who.role === 'worker' && who.task ? soakWorker(req, taskTitle(who.task)) : base(req);
    };
    sim = await startSimulator({ scenario });

    const common = { address: server.address, sim, home, taskQueue: uniqueTaskQueue('soak'), hostId: 'soak-host' };
    current = new WorkerProcess(workerEnv(common), path.join(dir, 'worker-current.log'));
    if (UPGRADE) {
      release = checkoutPrevious();
      worker = new WorkerProcess(
        { ...workerEnv({ ...common, bundle: false }), LONGRUN_FROM_SOURCE: '1' },
        path.join(dir, `worker-${release.version}.log`),
        release.root,
      );
    } else {
      worker = current;
    }
  });

  async function perform(action: Action, request: number): Promise<void> {
    if (action === 'kill') {
      await worker.kill9();
      worker.start();
    } else if (action === 'upgrade') {
      await worker.kill9();
      worker = current;
      worker.start();
    } else {
      await server.stop();
      server = await startServer();
    }
    performed.push({ action, request, atMs: Date.now() - started });
  }

  function sampleCycle(cycle: number, request: number): void {
    if (!runId || samples.some((s) => s.cycle === cycle)) return;
    samples.push({
      cycle,
      request,
      pid: worker.pid ?? 0,
      rssMB: mb(worker.pid ? rssBytes(worker.pid) : null),
      homeMB: mb(diskBytes(home)),
      hubMB: mb(diskBytes(paths.hub(home, runId))),
    });
  }

  afterAll(async () => {
    await worker?.stop();
    if (current !== worker) await current?.stop();
    await sim?.close();
    await env?.teardown();
    await server?.stop();
    release?.remove();
    if (process.env.LONGRUN_FAULTS_KEEP) process.stdout.write(`[soak] kept: home=${home} server=${dir} repo=${repo}\n`);
    else rmrf(home, dir, repo);
  });

  it(
    `${CYCLES} cycles x ${TASKS_PER_CYCLE} tasks: done, every task merged exactly once, through every disturbance`,
    async () => {
      started = Date.now();
      runId = `soak-${Date.now().toString(36)}`;
      const input: RunInput = {
        repo,
        goal: 'Soak: read the reference notes and add one file per task.',
        models: {
          ...BENCH_MODELS,
          worker: { ...BENCH_MODELS.worker, contextWindow: 4_000 },
        } as RunInput['models'],
        limits: {
          maxParallelAgents: FULL ? 10 : 6,
          maxDepth: 1,
          maxTasksPerPlanner: TASKS_PER_CYCLE,
          maxCycles: CYCLES,
          workerMaxSteps: 40,
          heartbeatTimeoutSeconds: 5,
          // A compressed week's cycles are minutes apart: retention 0 stands for "older than the retention", so each
          // cycle's tidy step removes the transcripts of the agents that ended, as a week-long run's would. Not when
          // the run starts on v0.1.0: that release refuses a run input with a field it does not know.
          ...(UPGRADE ? {} : { transcriptRetentionHours: 0 }),
        },
      };
      worker.start();
      startRunWithCli(server.address, String(current.env.LONGRUN_TASK_QUEUE), runId, input);
      const result = await resultThroughOutages(env, runId, RUN_TIMEOUT_MS);
      const wallMs = Date.now() - started;
      const tree = await listTree(env.client, runId);

      const tasks = CYCLES * TASKS_PER_CYCLE;
      const trailers = taskTrailers(repo, result.resultBranch);
      const compactions = [...progress.values()].map((p) => p.summaries.size);
      const runsOf = continuedAsNew(runId, tree);
      const largest = tree.reduce((a, b) => (b.historyLength > a.historyLength ? b : a));
      const figures = {
        mode: FULL ? 'full' : 'short',
        cycles: result.cycles,
        tasksPlanned: tasks,
        tasks: result.tasks,
        trailers: trailers.length,
        duplicateTrailers: duplicates(trailers).length,
        modelRequests: sim.requests.length,
        requestsByRole,
        kills: performed.filter((p) => p.action === 'kill').length,
        serverRestarts: performed.filter((p) => p.action === 'server-restart').length,
        upgrades: performed.filter((p) => p.action === 'upgrade').length,
        performed,
        workers: compactions.length,
        workersCompactedTwice: compactions.filter((n) => n >= 2).length,
        continueAsNew: runsOf,
        mostEvents: { workflowId: largest.workflowId, events: largest.historyLength },
        rssMB: rssSummary(rss),
        samples,
        wallMs,
      };
      report('soak', figures);

      expect(result.status).toBe('done');
      expect(result.cycles).toBe(CYCLES);
      // Exactly once: every planned task merged, one trailer each, none twice.
      expect(result.tasks).toEqual({ merged: tasks, failed: 0, abandoned: 0, notAttempted: 0 });
      expect(figures.duplicateTrailers).toBe(0);
      expect(new Set(trailers).size).toBe(tasks);
      // Every disturbance happened, mid-run.
      // A kill at every KILL_EVERY-th request (the short soak stops after KILLS): none skipped, none extra.
      expect(figures.kills).toBe(Math.min(KILLS, Math.floor(requestsSeen / KILL_EVERY)));
      expect(figures.kills).toBeGreaterThan(0);
      expect(figures.serverRestarts).toBe(1);
      expect(figures.upgrades).toBe(UPGRADE ? 1 : 0);
      // Most workers compacted at least twice; planners, workers and the run continued as new.
      expect(figures.workersCompactedTwice).toBeGreaterThan(compactions.length / 2);
      expect(runsOf.run).toBe(CYCLES - 1);
      expect(runsOf.planner).toBeGreaterThan(0);
      expect(runsOf.worker).toBeGreaterThan(0);
      expect(largest.historyLength).toBeLessThan(10_240);
    },
    RUN_TIMEOUT_MS + 120_000,
  );
});

/** Disk use of a directory tree in bytes (du), 0 when it does not exist yet. */
function diskBytes(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

/** Continue-as-new count per kind of workflow: runs beyond the first of each workflow id. */
function continuedAsNew(runId: string, tree: TreeRun[]): { run: number; planner: number; worker: number } {
  const runs = new Map<string, number>();
  for (const t of tree) runs.set(t.workflowId, (runs.get(t.workflowId) ?? 0) + 1);
  const out = { run: 0, planner: 0, worker: 0 };
  for (const [id, n] of runs) {
    const kind = id === runId ? 'run' : /\/planner(\/s\d+)?$/.test(id) ? 'planner' : 'worker';
    out[kind] += n - 1;
  }
  return out;
}

/**
 * Worker RSS: least-squares slope in MB per 1,000 model requests over all samples (every process: a kill starts a
 * new one, so this shows whether restarts inherit growth) and over the longest-lived process, with min and max.
 */
function rssSummary(samples: Array<{ request: number; pid: number; mb: number }>) {
  const slope = (xs: Array<{ request: number; mb: number }>) => {
    if (xs.length < 3) return null;
    const mx = xs.reduce((a, s) => a + s.request, 0) / xs.length;
    const my = xs.reduce((a, s) => a + s.mb, 0) / xs.length;
    const sxy = xs.reduce((a, s) => a + (s.request - mx) * (s.mb - my), 0);
    const sxx = xs.reduce((a, s) => a + (s.request - mx) ** 2, 0);
    return Math.round((sxy / sxx) * 1000 * 10) / 10;
  };
  const byPid = new Map<number, typeof samples>();
  for (const s of samples) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s]);
  const longest = [...byPid.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  const values = samples.map((s) => s.mb);
  return {
    samples: samples.length,
    min: values.length ? Math.min(...values) : null,
    max: values.length ? Math.max(...values) : null,
    slopePer1kRequests: slope(samples),
    longestProcess: { samples: longest.length, slopePer1kRequests: slope(longest) },
  };
}

/** `result()` long-polls the server; a poll cut by the restart is asked again. */
async function resultThroughOutages(env: TestWorkflowEnvironment, runId: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await env.client.workflow.getHandle(runId).result()) as RunResult;
    } catch (err) {
      if ((err as Error).name === 'WorkflowFailedError' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}
