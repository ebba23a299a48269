/**
 * Bench: scaling to N concurrent worker agents (N = 1, 8, 32, 128) with simulated model latency, lognormal with
 * median 500 ms and p90 2 s, about 10 model turns per worker (9 `read_file` turns and finish).
 *
 *   parallel efficiency = Σ model-busy time ÷ (N × wall)
 *   model-busy time of an agent = Σ over its requests of (arrival → response sent) at the simulator
 *   wall = first worker's first model request → last worker's last response (planning and judging excluded)
 *
 * Latency "deciles" (the target): each agent's ten turns take the ten decile midpoints of that lognormal in its own
 * order, so every agent has the same model time and efficiency measures the orchestration, not the luck of the
 * slowest agent. "iid" (reported alongside): every request draws independently; then even a free orchestrator
 * cannot reach more than Σ busy ÷ (N × max busy) — reported as `ceiling`.
 *
 * The worker is a child process (`node bin/longrun.js worker`, from source through ts-node), one for all N, tuned
 * through its environment; its RSS is read from /proc/<pid>/status (VmRSS) every 500 ms. The simulator runs in this
 * process, the dev server in its own. CPU (bench/lib/cpu-meter.ts) is per process tree: the server, the worker with its
 * git helper and git commands, and this process; per worker turn and per model turn of every role.
 *
 * Run alone: npx ts-node --transpile-only bench/scaling.ts   (BENCH_SCALING_N=1,8,32,128  BENCH_LATENCY=deciles,iid)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelCallMode } from '../src/core/schemas';
import { startSimulator } from '../src/sim';
import { rssBytes, startChildWorker, startCluster, waitForPoller, workerEnv } from './lib/cluster';
import { cpuMeter, cpuPerTurn, type CpuPerTurn, type CpuReading } from './lib/cpu-meter';
import { latencyFor, modelLatency, type LatencyMode } from './lib/latency';
import { announceWindow } from './lib/outside-meter';
import {
  commandFor,
  machineInfo,
  progress,
  round,
  writeReport,
  type BenchReport,
  type Target,
  runAsScript,
} from './lib/report';
import { modelCallModes, runToEnd, sampleRepo } from './lib/runs';
import { benchTeam, type Layout } from './lib/team';
import { now, recordTimeline, type TimedRequest } from './lib/timeline';

// Model turns per worker: 9 read_file turns, then finish. BENCH_TURNS_PER_WORKER=40 shows longer agents, whose
// fixed lifecycle cost (child workflow, worktree, merge) is spread over more turns; its results go to
// bench/results/scaling-<turns>-turns.json so the standing 10-turn figures stay.
const TURNS = Number(process.env.BENCH_TURNS_PER_WORKER ?? 10);
// BENCH_MODEL_LATENCY (bench/lib/latency.ts), `stress` by default. Realistic results go to scaling-realistic*.json.
const { name: LATENCY_NAME, p50: P50_MS, p90: P90_MS } = modelLatency('stress');
const LOCAL_TASK_TIMEOUT_S = process.env.BENCH_LOCAL_TASK_TIMEOUT_S
  ? Number(process.env.BENCH_LOCAL_TASK_TIMEOUT_S)
  : 0;
/** A plan holds at most 100 tasks (plan schema); a planner may create at most 500 in a cycle (limits schema). */
const PLAN_TASKS = 100;
const PLANNER_TASKS = 500;

/** Worker settings for the bench (environment of the worker process), sized for 128 agents. */
export const SCALING_WORKER_ENV = {
  LONGRUN_MAX_CONCURRENT_ACTIVITIES: '400',
  LONGRUN_MAX_CONCURRENT_WORKFLOW_TASKS: '300',
  LONGRUN_MAX_CACHED_WORKFLOWS: '1000',
  LONGRUN_MODEL_CONCURRENCY: '256',
};

/**
 * The same, sized for the largest N of a bench: every running agent holds an activity slot (or, with local model
 * calls, a workflow-task and a local-activity slot) and a model-call slot while it waits for its model, and every
 * workflow of the run should stay in the sticky cache.
 */
export function workerEnvFor(maxN: number): Record<string, string> {
  const atLeast = (base: string, n: number) => String(Math.max(Number(base), n));
  return {
    LONGRUN_MAX_CONCURRENT_ACTIVITIES: atLeast(SCALING_WORKER_ENV.LONGRUN_MAX_CONCURRENT_ACTIVITIES, maxN + 100),
    LONGRUN_MAX_CONCURRENT_WORKFLOW_TASKS: atLeast(SCALING_WORKER_ENV.LONGRUN_MAX_CONCURRENT_WORKFLOW_TASKS, maxN + 50),
    LONGRUN_MAX_CONCURRENT_LOCAL_ACTIVITIES: String(Math.max(200, maxN + 100)),
    LONGRUN_MAX_CACHED_WORKFLOWS: atLeast(SCALING_WORKER_ENV.LONGRUN_MAX_CACHED_WORKFLOWS, 2 * maxN),
    LONGRUN_MODEL_CONCURRENCY: atLeast(SCALING_WORKER_ENV.LONGRUN_MODEL_CONCURRENCY, maxN + 50),
  };
}

/**
 * One planner may plan at most 100 tasks (plan schema), and a planner gives each sub-planner half of its free slots.
 * Up to 64 agents the root plans every task; beyond, three sub-planners take N/2, N/4 and N/8 tasks (64, 32, 16 at
 * N = 128) and the root keeps N/8, which fills exactly N slots at once.
 */
export function layoutFor(n: number): Layout {
  if (n <= 64) return { tasks: n, scopes: [] };
  const scopes = [n / 2, n / 4, n / 8].map(Math.floor);
  return { tasks: n - scopes.reduce((a, b) => a + b, 0), scopes };
}

export interface ScalingRow {
  n: number;
  latency: LatencyMode;
  modelCalls: ModelCallMode;
  runStatus: string;
  workers: number;
  modelRequests: number;
  /** Most worker model requests in flight at once at the simulator. */
  maxInFlight: number;
  wallS: number;
  busyS: number;
  efficiency: number;
  /** Σ busy ÷ (N × the busiest agent's busy time): what a free orchestrator would reach. */
  ceiling: number;
  /** efficiency ÷ ceiling. */
  relativeEfficiency: number;
  /** Mean over agents of busy ÷ (its own first request → last response). */
  perAgentEfficiency: number;
  /** Mean gap between an agent's response and its next request (orchestration + tool per step), ms. */
  stepGapMs: number;
  /** First worker's first request → last worker's first request: how long the fan-out took (worktrees, dispatch). */
  startSpreadS: number;
  rssPeakMb: number;
  rssEndMb: number;
  /** CPU of the dev server, the worker (with its git helper and git commands) and the simulator, per turn too. */
  cpu: CpuReading & CpuPerTurn;
  runS: number;
}

export function efficiencyOf(workerRequests: TimedRequest[], n: number) {
  const agents = new Map<string, TimedRequest[]>();
  for (const r of workerRequests) agents.set(r.agent, [...(agents.get(r.agent) ?? []), r]);
  const done = workerRequests.filter((r) => !Number.isNaN(r.sent));
  const start = Math.min(...done.map((r) => r.arrival));
  const end = Math.max(...done.map((r) => r.sent));
  const wall = end - start;
  let busy = 0;
  let maxBusy = 0;
  let perAgent = 0;
  let gaps = 0;
  let gapCount = 0;
  const firsts: number[] = [];
  for (const list of agents.values()) {
    const b = list.reduce((s, r) => s + (Number.isNaN(r.sent) ? 0 : r.sent - r.arrival), 0);
    busy += b;
    maxBusy = Math.max(maxBusy, b);
    const span = Math.max(...list.map((r) => r.sent)) - Math.min(...list.map((r) => r.arrival));
    perAgent += span > 0 ? b / span : 1;
    firsts.push(Math.min(...list.map((r) => r.arrival)));
    for (let i = 1; i < list.length; i++) {
      gaps += list[i].arrival - list[i - 1].sent;
      gapCount++;
    }
  }
  // Sweep line over [arrival, sent) intervals.
  const edges = done.flatMap((r) => [
    [r.arrival, 1],
    [r.sent, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inFlight = 0;
  let maxInFlight = 0;
  for (const [, d] of edges) maxInFlight = Math.max(maxInFlight, (inFlight += d));
  const efficiency = busy / (n * wall);
  const ceiling = busy / (n * maxBusy);
  return {
    workers: agents.size,
    modelRequests: workerRequests.length,
    maxInFlight,
    wallS: round(wall / 1000, 2),
    busyS: round(busy / 1000, 1),
    efficiency: round(efficiency, 3),
    ceiling: round(ceiling, 3),
    relativeEfficiency: round(efficiency / ceiling, 3),
    perAgentEfficiency: round(perAgent / agents.size, 3),
    stepGapMs: round(gapCount ? gaps / gapCount : 0, 1),
    startSpreadS: round((Math.max(...firsts) - Math.min(...firsts)) / 1000, 2),
  };
}

export async function run(opts: { ns?: number[]; modes?: LatencyMode[] } = {}): Promise<BenchReport> {
  const ns = opts.ns ?? (process.env.BENCH_SCALING_N ?? '1,8,32,128').split(',').map(Number);
  const modes = opts.modes ?? ((process.env.BENCH_LATENCY ?? 'deciles,iid').split(',') as LatencyMode[]);
  // RunInput.modelCalls: model calls as activities (the default) or as local activities.
  const callModes = modelCallModes();
  const began = Date.now();
  // One run at a time; the scenario looks the current latency mode up per request.
  let mode: LatencyMode = modes[0];
  const latencies = { deciles: latencyFor('deciles', P50_MS, P90_MS), iid: latencyFor('iid', P50_MS, P90_MS) };
  let layoutN = ns[0];
  const timeline = recordTimeline(
    benchTeam({
      layout: () => layoutFor(layoutN),
      workerTurns: () => TURNS - 1,
      workerLatency: (t, turn) => latencies[mode](t.scope * 1_000 + t.index, turn),
      doneAtCycle: 1,
      planBatch: () => PLAN_TASKS,
    }),
  );
  const sim = await startSimulator({ scenario: timeline.scenario, log: timeline.log });
  const cluster = await startCluster();
  const { repo, remove } = sampleRepo();
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-bench-scaling-log-'));
  const workerSettings = workerEnvFor(Math.max(...ns));
  const env = workerEnv(cluster, sim, 'scaling', workerSettings);
  // BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the worker process.
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const worker = await startChildWorker(env, path.join(logDir, 'worker.log'), nodeArgs);
  const rows: ScalingRow[] = [];
  let idleRssMb = 0;
  try {
    await waitForPoller(cluster.client, env.LONGRUN_TASK_QUEUE!, 180_000, worker.child);
    idleRssMb = round((rssBytes(worker.pid) ?? 0) / 2 ** 20);
    progress('scaling', `worker pid ${worker.pid} ready (RSS ${idleRssMb} MB), server ${cluster.address}`);
    for (const calls of callModes)
      for (const m of modes) {
        for (const n of ns) {
          mode = m;
          layoutN = n;
          const from = timeline.requests.length;
          let rssPeak = 0;
          let ticks = 0;
          const sampler = setInterval(() => {
            rssPeak = Math.max(rssPeak, rssBytes(worker.pid) ?? 0);
            if (++ticks % 20 === 0) {
              const mine = timeline.requests.slice(from);
              const roles = mine.reduce<Record<string, number>>(
                (acc, r) => ({ ...acc, [r.role]: (acc[r.role] ?? 0) + 1 }),
                {},
              );
              const open = mine.filter((r) => Number.isNaN(r.sent)).length;
              progress(
                'scaling',
                `  ${m} N=${n} after ${ticks / 2}s: requests ${JSON.stringify(roles)}, awaiting response ${open}`,
              );
            }
          }, 500);
          const runId = `bench-scaling-${calls}-${m}-${n}-${Date.now().toString(36)}`;
          const label = `${calls} ${m} N=${n}`;
          await announceWindow({ label, phase: 'start' });
          // The simulator is this process (with the bench's bookkeeping); the worker's tree holds its git helper.
          const meter = cpuMeter({
            server: cluster.server.pid,
            ...(cluster.databasePid ? { postgres: cluster.databasePid } : {}),
            worker: worker.pid,
            simulator: process.pid,
          });
          const t0 = now();
          const layout = layoutFor(n);
          let status = 'error';
          try {
            const result = await runToEnd(cluster.client, {
              taskQueue: env.LONGRUN_TASK_QUEUE!,
              runId,
              repo,
              limits: {
                maxParallelAgents: n,
                maxDepth: layout.scopes.length ? 1 : 0,
                maxTasksPerPlanner: Math.min(n, PLANNER_TASKS),
                maxCycles: 1,
                workerMaxSteps: TURNS + 5,
                // BENCH_LOCAL_TASK_TIMEOUT_S: limits.localTaskTimeoutSeconds (with local model calls; default 10).
                ...(LOCAL_TASK_TIMEOUT_S ? { localTaskTimeoutSeconds: LOCAL_TASK_TIMEOUT_S } : {}),
              },
              timeoutMs: (LATENCY_NAME === 'realistic' ? 30 : 5) * 60_000,
              modelCalls: calls,
            });
            status = result.status;
          } finally {
            clearInterval(sampler);
          }
          const reading = meter();
          const rssEnd = rssBytes(worker.pid) ?? 0;
          const requests = timeline.requests.slice(from);
          const workerRequests = requests.filter((r) => r.role === 'worker');
          const cpu = { ...reading, ...cpuPerTurn(reading, { worker: workerRequests.length, all: requests.length }) };
          await announceWindow({ label, phase: 'end', inside: cpu });
          if (process.env.BENCH_DUMP) {
            fs.writeFileSync(`${process.env.BENCH_DUMP}-${m}-${n}.json`, JSON.stringify(timeline.requests.slice(from)));
            // The histories of every workflow of the run, for bench/lib/history-gaps.ts and by hand.
            const histories: Record<string, unknown> = {};
            for await (const wf of cluster.client.workflow.list({ query: `WorkflowId STARTS_WITH "${runId}"` }))
              histories[wf.workflowId] = (
                await cluster.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory()
              ).events;
            fs.writeFileSync(`${process.env.BENCH_DUMP}-${m}-${n}-histories.json`, JSON.stringify(histories));
          }
          const row: ScalingRow = {
            n,
            latency: m,
            modelCalls: calls,
            runStatus: status,
            ...efficiencyOf(workerRequests, n),
            rssPeakMb: round(Math.max(rssPeak, rssEnd) / 2 ** 20),
            rssEndMb: round(rssEnd / 2 ** 20),
            cpu,
            runS: round((now() - t0) / 1000, 1),
          };
          rows.push(row);
          progress(
            'scaling',
            `${label}: efficiency ${row.efficiency} (ceiling ${row.ceiling}, per-agent ${row.perAgentEfficiency}), ` +
              `max in flight ${row.maxInFlight}, wall ${row.wallS}s, RSS peak ${row.rssPeakMb} MB, cpu ${JSON.stringify(cpu.cores)} cores, ` +
              `${JSON.stringify(cpu.perWorkerTurnMs)} ms per worker turn`,
          );
        }
      }
  } catch (err) {
    const log = fs.existsSync(path.join(logDir, 'worker.log'))
      ? fs.readFileSync(path.join(logDir, 'worker.log'), 'utf8')
      : '';
    progress('scaling', `failed; worker log tail:\n${log.slice(-3000)}`);
    throw err;
  } finally {
    await worker.stop();
    await sim.close();
    await cluster.stop();
    remove();
    fs.rmSync(logDir, { recursive: true, force: true });
  }
  const top = Math.max(...ns);
  const targets: Target[] = [];
  for (const calls of callModes) {
    const at = (m: LatencyMode) => rows.find((r) => r.n === top && r.latency === m && r.modelCalls === calls);
    const main = at('deciles') ?? at(modes[0]);
    if (!main) continue;
    const label = `N=${top}, ${main.latency}, model calls as ${calls === 'local' ? 'local activities' : 'activities'}`;
    targets.push(
      {
        name: `parallel efficiency (${label})`,
        target: '>= 0.90',
        value: main.efficiency,
        met: main.efficiency >= 0.9,
      },
      { name: `worker RSS (${label})`, target: '<= 1536 MB', value: main.rssPeakMb, met: main.rssPeakMb <= 1536 },
    );
  }
  const report: BenchReport = {
    bench: [
      'scaling',
      TURNS === 10 ? '' : `${TURNS}-turns`,
      LATENCY_NAME === 'stress' ? '' : LATENCY_NAME,
      LOCAL_TASK_TIMEOUT_S ? `wft${LOCAL_TASK_TIMEOUT_S}` : '',
      process.env.BENCH_SERVER === 'postgres' ? 'postgres' : '',
    ]
      .filter(Boolean)
      .join('-'),
    date: new Date().toISOString(),
    command: commandFor('scaling', {
      BENCH_SCALING_N: process.env.BENCH_SCALING_N,
      BENCH_LATENCY: process.env.BENCH_LATENCY,
      BENCH_MODEL_CALLS: process.env.BENCH_MODEL_CALLS,
      BENCH_TURNS_PER_WORKER: process.env.BENCH_TURNS_PER_WORKER,
      BENCH_MODEL_LATENCY: process.env.BENCH_MODEL_LATENCY,
      BENCH_SERVER: process.env.BENCH_SERVER,
      BENCH_LOCAL_TASK_TIMEOUT_S: process.env.BENCH_LOCAL_TASK_TIMEOUT_S,
    }),
    machine: machineInfo(cluster.cli),
    durationS: round((Date.now() - began) / 1000),
    parameters: {
      ns,
      latencyModes: modes,
      modelCalls: callModes,
      latency: { profile: LATENCY_NAME, p50Ms: P50_MS, p90Ms: P90_MS, distribution: 'lognormal' },
      turnsPerWorker: TURNS,
      toolPerTurn: 'read_file',
      devServer: cluster.settings,
      layouts: Object.fromEntries(ns.map((n) => [n, layoutFor(n)])),
      worker:
        'child process: node bin/longrun.js worker (ts-node from source); RSS = VmRSS of that pid, sampled every 500 ms',
      workerEnv: workerSettings,
      workerIdleRssMb: idleRssMb,
    },
    figures: { rows },
    targets,
    notes: [],
  };
  writeReport(report);
  return report;
}

if (require.main === module) runAsScript(run, (r) => ({ figures: r.figures, targets: r.targets }));
