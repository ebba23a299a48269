/**
 * Bench: orchestration time per agent step, simulated model latency 0.
 *
 * Runs of A workers (maxParallelAgents = A; A = 1 and 8 by default), each taking TURNS model turns with one `read_file`
 * call per turn, then finishing. For every worker step k (model request k → model request k+1 of the same agent):
 *   overhead_k = (arrival of request k+1 − arrival of request k at the simulator)
 *              − the simulator's own handling of request k (arrival → response sent)
 *              − the runTool activity's execution (inside the worker)
 * i.e. everything longrun adds around one model call and one tool call. It splits into
 *   temporal = callModel completed → runTool started + runTool completed → next callModel started
 *              (two activity round trips through the server and two workflow tasks), and
 *   activity = response sent → callModel completed + next callModel started → next request arrives
 *              (SDK parsing, transcript write and read: the claim-check).
 * Activity start/end times come from the SDK's DEBUG "Activity started/completed" log entries of the in-process
 * worker, simulator times from its request log; the server's own view comes from the workers' histories.
 *
 * CPU (bench/lib/cpu-meter.ts, from /proc): the dev server's process tree, the simulator's (a process of its own,
 * bench/lib/sim-process.ts) and this process's — the in-process worker and the bench's bookkeeping, with the
 * worker's git helper and its git commands below it — per worker turn and per model turn of every role.
 *
 * With latency 0 the agents form a closed loop: one agent measures the latency of a step on an idle machine; eight
 * agents saturate the CPU, and their step time is mostly queueing for it. Target: p50 <= 25 ms (with 8 agents).
 *
 * Run alone: npx ts-node --transpile-only bench/overhead.ts   (BENCH_AGENTS=1,8 and BENCH_TURNS=20 are the defaults)
 */
import type { LogEntry } from '@temporalio/worker';
import { installBenchRuntime, startCluster, startInProcessWorker, workerEnv } from './lib/cluster';
import { cpuMeter, cpuPerTurn } from './lib/cpu-meter';
import { gapsOfWorkflows, type Gaps } from './lib/history-gaps';
import { announceWindow } from './lib/outside-meter';
import {
  commandFor,
  machineInfo,
  progress,
  round,
  stats,
  writeReport,
  type BenchReport,
  type Target,
  runAsScript,
} from './lib/report';
import { modelCallModes, runToEnd, sampleRepo } from './lib/runs';
import { startSimulatorProcess } from './lib/sim-process';
import { taskTitle } from './lib/team';
import { now, type TimedRequest } from './lib/timeline';

interface ActivitySpan {
  workflowId: string;
  type: string;
  start: number;
  end: number;
}

/** One run's steps, joined from the simulator's requests and the worker's activity spans. */
function analyse(runId: string, agents: number, requests: TimedRequest[], spans: ActivitySpan[]) {
  const series = {
    overhead: [] as number[],
    temporal: [] as number[],
    activity: [] as number[],
    startToRequest: [] as number[],
    responseToEnd: [] as number[],
    toolExec: [] as number[],
    simHandling: [] as number[],
    period: [] as number[],
  };
  let skipped = 0;
  for (let n = 1; n <= agents; n++) {
    const title = taskTitle({ cycle: 1, scope: 0, index: n });
    const reqs = requests.filter((r) => r.agent === title);
    const wf = `${runId}/c1/planner/t${n}`;
    const byType = (type: string) =>
      spans.filter((s) => s.workflowId === wf && s.type === type).sort((a, b) => a.start - b.start);
    const models = byType('callModel');
    const tools = byType('runTool');
    if (models.length !== reqs.length) {
      skipped++; // a retried model call would misalign the join
      continue;
    }
    for (let k = 0; k + 1 < reqs.length && k < tools.length; k++) {
      const [r, next, m, mNext, t] = [reqs[k], reqs[k + 1], models[k], models[k + 1], tools[k]];
      const period = next.arrival - r.arrival;
      const handling = r.sent - r.arrival;
      const toolExec = t.end - t.start;
      series.period.push(period);
      series.simHandling.push(handling);
      series.toolExec.push(toolExec);
      series.overhead.push(period - handling - toolExec);
      series.temporal.push(t.start - m.end + (mNext.start - t.end));
      series.responseToEnd.push(m.end - r.sent);
      series.startToRequest.push(next.arrival - mNext.start);
      series.activity.push(m.end - r.sent + (next.arrival - mNext.start));
    }
  }
  const workers = requests.filter((r) => r.role === 'worker');
  const wallS = (Math.max(...workers.map((r) => r.sent)) - Math.min(...workers.map((r) => r.arrival))) / 1000;
  return {
    steps: series.overhead.length,
    agentsSkipped: skipped,
    overheadMs: stats(series.overhead),
    temporalMs: stats(series.temporal),
    activityMs: stats(series.activity),
    modelActivityMs: { startToRequest: stats(series.startToRequest), responseToEnd: stats(series.responseToEnd) },
    excluded: { toolExecMs: stats(series.toolExec), simHandlingMs: stats(series.simHandling) },
    stepPeriodMs: stats(series.period),
    stepsPerSecond: round(series.overhead.length / (wallS || 1), 1),
  };
}

const serverView = (g: Gaps) => ({
  workflowTaskDispatch: stats(g.wftDispatch),
  workflowTaskProcessing: stats(g.wftProcessing),
  activityDispatch: stats(g.activityDispatch),
  activityRun: stats(g.activityRun),
});

export async function run(opts: { agents?: number[]; turns?: number } = {}): Promise<BenchReport> {
  const agentCounts = opts.agents ?? (process.env.BENCH_AGENTS ?? '1,8').split(',').map(Number);
  const turns = opts.turns ?? Number(process.env.BENCH_TURNS ?? 20);
  // RunInput.modelCalls: model calls as activities (the default) or as local activities.
  const callModes = modelCallModes();
  const began = Date.now();

  // Activity spans, timed on this process's clock when the SDK logs them.
  const open = new Map<string, ActivitySpan>();
  const spans: ActivitySpan[] = [];
  installBenchRuntime('DEBUG', (entry: LogEntry) => {
    const meta = entry.meta as { workflowId?: string; activityType?: string; activityId?: string } | undefined;
    if (!meta?.activityId || !meta.workflowId) return;
    const key = `${meta.workflowId}#${meta.activityId}`;
    if (entry.message === 'Activity started') {
      open.set(key, { workflowId: meta.workflowId, type: meta.activityType ?? '?', start: now(), end: NaN });
    } else if (entry.message.startsWith('Activity completed') || entry.message === 'Activity failed') {
      const span = open.get(key);
      if (span) {
        span.end = now();
        open.delete(key);
        spans.push(span);
      }
    }
  });

  const team = (agents: number) => ({ tasks: agents, scopes: [], workerTurns: turns, doneAtCycle: 1 });
  const sim = await startSimulatorProcess(team(agentCounts[0]));
  const cluster = await startCluster();
  const { repo, remove } = sampleRepo();
  const worker = await startInProcessWorker(workerEnv(cluster, sim, 'overhead'));
  const runs = [];
  try {
    for (const calls of callModes)
      for (const a of agentCounts) {
        await sim.configure(team(a));
        const runId = `bench-overhead-${calls}-${a}-${Date.now().toString(36)}`;
        const from = sim.requests.length;
        const label = `${a} worker(s), model calls: ${calls}`;
        progress('overhead', `${a} worker(s) × ${turns} read_file turns, model calls: ${calls}, latency 0`);
        await announceWindow({ label, phase: 'start' });
        // The worker runs in this process (with the bench's bookkeeping); its git helper is a child of it.
        const meter = cpuMeter({ server: cluster.server.pid, worker: process.pid, simulator: sim.pid });
        const result = await runToEnd(cluster.client, {
          taskQueue: worker.taskQueue,
          runId,
          repo,
          limits: { maxParallelAgents: a, maxDepth: 0, maxTasksPerPlanner: a, maxCycles: 1, workerMaxSteps: turns + 5 },
          timeoutMs: 5 * 60_000,
          modelCalls: calls,
        });
        const reading = meter();
        await sim.flush();
        const requests = sim.requests.slice(from);
        const cpu = {
          ...reading,
          ...cpuPerTurn(reading, { worker: requests.filter((r) => r.role === 'worker').length, all: requests.length }),
        };
        await announceWindow({ label, phase: 'end', inside: cpu });
        const gaps = await gapsOfWorkflows(
          cluster.client,
          Array.from({ length: a }, (_, i) => `${runId}/c1/planner/t${i + 1}`),
        );
        const figures = {
          agents: a,
          modelCalls: calls,
          runStatus: result.status,
          ...analyse(runId, a, requests, spans),
          serverViewMs: serverView(gaps),
          /** CPU per component, per worker turn and per model turn: unlike the times, it hardly depends on other load. */
          cpu,
        };
        progress(
          'overhead',
          `${label}: overhead p50 ${figures.overheadMs.p50} ms, p99 ${figures.overheadMs.p99} ms; ` +
            `CPU ms per worker turn ${JSON.stringify(cpu.perWorkerTurnMs)}`,
        );
        runs.push(figures);
      }
  } finally {
    await worker.stop();
    await sim.close();
    await cluster.stop();
    remove();
  }

  const main = runs.find((r) => r.agents === 8 && r.modelCalls === callModes[0]) ?? runs.at(-1)!;
  const targets: Target[] = runs.map((r) => ({
    name: `orchestration overhead per step, p50, ${r.agents} worker(s), model calls as ${r.modelCalls === 'local' ? 'local activities' : 'activities'}`,
    target: '<= 25 ms',
    value: r.overheadMs.p50,
    met: r.overheadMs.p50 <= 25,
  }));
  const report: BenchReport = {
    bench: 'overhead',
    date: new Date().toISOString(),
    command: commandFor('overhead', {
      BENCH_AGENTS: process.env.BENCH_AGENTS,
      BENCH_TURNS: process.env.BENCH_TURNS,
      BENCH_MODEL_CALLS: process.env.BENCH_MODEL_CALLS,
    }),
    machine: machineInfo(cluster.cli),
    durationS: round((Date.now() - began) / 1000),
    parameters: {
      agents: agentCounts,
      modelCalls: callModes,
      turnsPerAgent: turns,
      toolPerTurn: 'read_file',
      devServer: cluster.settings,
      simulatedLatencyMs: 0,
      worker:
        'in-process (createWorkers), default settings; simulator in a process of its own; own dev server (SQLite)',
      models: 'planner openai:gpt-5, worker anthropic:claude-sonnet-4-6 (official SDKs against the simulator)',
    },
    figures: { runs, main: main.agents },
    targets,
    notes: [
      'overhead = step period at the simulator − simulator handling − runTool execution. temporal = callModel completed → runTool started + runTool completed → next callModel started: with model calls as activities, one eager activity round trip and one workflow task (runTool, read-only, is a local activity inside it); with local model calls, local-activity scheduling inside an open workflow task. activity = the model activity’s own transcript I/O and SDK work.',
    ],
  };
  writeReport(report);
  return report;
}

if (require.main === module) runAsScript(run, (r) => ({ targets: r.targets }));
