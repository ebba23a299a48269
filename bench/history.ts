/**
 * Bench: workflow history growth over a long run — 20 cycles of 10 tasks (200 tasks), with the dev server's
 * `limit.historyCount.suggestContinueAsNew` lowered to 300 so the planners' and workers' continue-as-new paths run.
 *
 * Each cycle the root planner plans 8 tasks and one sub-planner (2 tasks); workers write one file, read one, and
 * finish (their work merges). Every fifth cycle one worker takes 30 read turns (past 300 events: it continues as
 * new) and the root planner plans one task per round, reading a file first and re-planning on every handoff (past
 * 300 events: it continues as new too). The judge continues until cycle 20.
 *
 * Afterwards every run of every workflow in the tree (WorkflowId STARTS_WITH the run id) is described for its
 * HistoryLength and HistorySizeBytes. Target: no run past 10,240 events.
 *
 * Run alone: npx ts-node --transpile-only bench/history.ts   (BENCH_CYCLES, BENCH_SUGGEST_CAN override)
 */
import { startSimulator } from '../src/sim';
import { startCluster, startInProcessWorker, workerEnv } from './lib/cluster';
import {
  commandFor,
  machineInfo,
  progress,
  round,
  stats,
  writeReport,
  type BenchReport,
  runAsScript,
} from './lib/report';
import { listTree, runToEnd, sampleRepo, type TreeRun } from './lib/runs';
import { benchTeam } from './lib/team';
import { recordTimeline } from './lib/timeline';

const TASKS_PER_CYCLE = 10;
const EVENT_LIMIT = 10_240;

export type Kind = 'run' | 'planner' | 'subplanner' | 'worker';

export function kindOf(runId: string, workflowId: string): Kind {
  if (workflowId === runId) return 'run';
  if (/\/c\d+\/planner$/.test(workflowId)) return 'planner';
  if (/\/s\d+$/.test(workflowId)) return 'subplanner';
  return 'worker';
}

export async function run(opts: { cycles?: number; suggestContinueAsNew?: number } = {}): Promise<BenchReport> {
  const cycles = opts.cycles ?? Number(process.env.BENCH_CYCLES ?? 20);
  const suggest = opts.suggestContinueAsNew ?? Number(process.env.BENCH_SUGGEST_CAN ?? 300);
  const began = Date.now();
  const heavy = (cycle: number) => cycle % 5 === 0;
  const timeline = recordTimeline(
    benchTeam({
      layout: () => ({ tasks: TASKS_PER_CYCLE - 2, scopes: [2] }),
      workerTurns: (t) => (heavy(t.cycle) && t.scope === 0 && t.index === 1 ? 30 : 1),
      writes: true,
      planBatch: (cycle) => (heavy(cycle) ? 1 : undefined),
      plannerExplores: heavy,
      doneAtCycle: cycles,
    }),
  );
  const sim = await startSimulator({ scenario: timeline.scenario, log: timeline.log });
  const cluster = await startCluster({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': suggest } });
  const { repo, remove } = sampleRepo();
  const worker = await startInProcessWorker(workerEnv(cluster, sim, 'history'));
  const runId = `bench-history-${Date.now().toString(36)}`;
  let tree: TreeRun[] = [];
  let status = 'error';
  let tasks = { merged: 0, failed: 0, abandoned: 0 };
  try {
    progress(
      'history',
      `${cycles} cycles × ${TASKS_PER_CYCLE} tasks, suggestContinueAsNew ${suggest}, server ${cluster.address}`,
    );
    const result = await runToEnd(cluster.client, {
      taskQueue: worker.taskQueue,
      runId,
      repo,
      limits: {
        maxParallelAgents: 10,
        maxDepth: 1,
        maxTasksPerPlanner: TASKS_PER_CYCLE,
        maxCycles: cycles,
        workerMaxSteps: 40,
      },
      timeoutMs: 10 * 60_000,
    });
    status = result.status;
    tasks = result.tasks;
    progress(
      'history',
      `run ${status} after ${result.cycles} cycles: ${JSON.stringify(result.tasks)}; listing the tree`,
    );
    tree = await listTree(cluster.client, runId);
  } finally {
    await worker.stop();
    await sim.close();
    await cluster.stop();
    remove();
  }

  const kinds: Kind[] = ['run', 'planner', 'subplanner', 'worker'];
  const perKind = Object.fromEntries(
    kinds.map((k) => {
      const runs = tree.filter((r) => kindOf(runId, r.workflowId) === k);
      const ids = new Set(runs.map((r) => r.workflowId));
      const perWorkflow = [...ids].map((id) => runs.filter((r) => r.workflowId === id));
      const events = stats(
        runs.map((r) => r.historyLength),
        0,
      );
      const bytes = stats(
        runs.map((r) => r.historySizeBytes),
        0,
      );
      return [
        k,
        {
          workflows: ids.size,
          runs: runs.length,
          continuedAsNew: runs.filter((r) => r.status === 'CONTINUED_AS_NEW').length,
          workflowsThatContinuedAsNew: perWorkflow.filter((list) => list.length > 1).length,
          eventsPerRun: { p50: events.p50, max: events.max },
          bytesPerRun: { p50: bytes.p50, max: bytes.max },
          eventsPerWorkflow: stats(
            perWorkflow.map((l) => l.reduce((s, r) => s + r.historyLength, 0)),
            0,
          ),
          bytesPerWorkflow: stats(
            perWorkflow.map((l) => l.reduce((s, r) => s + r.historySizeBytes, 0)),
            0,
          ),
          statuses: runs.reduce<Record<string, number>>(
            (acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }),
            {},
          ),
        },
      ];
    }),
  );
  const maxEvents = Math.max(...tree.map((r) => r.historyLength));
  const largest = tree.reduce<TreeRun | null>((a, r) => (!a || r.historyLength > a.historyLength ? r : a), null);
  const report: BenchReport = {
    bench: 'history',
    date: new Date().toISOString(),
    command: commandFor('history', {
      BENCH_CYCLES: process.env.BENCH_CYCLES,
      BENCH_SUGGEST_CAN: process.env.BENCH_SUGGEST_CAN,
    }),
    machine: machineInfo(cluster.cli),
    durationS: round((Date.now() - began) / 1000),
    parameters: {
      cycles,
      tasksPerCycle: TASKS_PER_CYCLE,
      devServer: cluster.settings,
      layoutPerCycle: 'root planner: 8 tasks + 1 sub-planner (2 tasks); maxParallelAgents 10, maxDepth 1',
      workers: 'write one file, read one, finish (merged); every 5th cycle one worker takes 30 read turns',
      planner:
        'plans at once; every 5th cycle one task per round (a read_file, then submit_plan), re-planning on each handoff',
      worker: 'in-process (createWorkers), default settings',
    },
    figures: {
      runStatus: status,
      tasks,
      modelRequests: timeline.requests.length,
      workflowsInTree: new Set(tree.map((r) => r.workflowId)).size,
      runsInTree: tree.length,
      maxEventsPerRun: maxEvents,
      largestRun: largest && {
        workflowId: largest.workflowId,
        events: largest.historyLength,
        bytes: largest.historySizeBytes,
      },
      perKind,
    },
    targets: [
      {
        name: 'events per run (max over the tree)',
        target: `<= ${EVENT_LIMIT}`,
        value: maxEvents,
        met: maxEvents <= EVENT_LIMIT,
      },
    ],
    notes: [],
  };
  writeReport(report);
  return report;
}

if (require.main === module) runAsScript(run, (r) => ({ figures: r.figures, targets: r.targets }));
