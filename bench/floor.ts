/**
 * Bench: the floor. What Temporal itself (server and TypeScript SDK) costs per agent turn on this box, with none of
 * longrun's code: N "agents" as child workflows of one parent, each waiting out 10 model turns with the scaling
 * bench's latency (the same deciles, realistic by default), each turn one activity that only sleeps — or one local
 * activity, or all of an agent's turns in one activity that heartbeats after each (`batch`). It answers how far
 * longrun's own per-turn cost (bench/scaling.ts) is above what any Temporal agent loop of this shape pays, and what
 * the ≤ 10 ms of machine CPU per turn that #17 asks for leaves to longrun.
 *
 *   parallel efficiency = Σ wait time ÷ (N × wall), wall = first turn's start → last turn's end (as in scaling.ts)
 *
 * The worker is its own process (bench/floor/worker.ts), metered apart from the server (and PostgreSQL with
 * BENCH_SERVER=postgres) and from this process (the client).
 *
 * Run alone: npx ts-node --transpile-only bench/floor.ts
 *   FLOOR_N=128,500,1000  FLOOR_MODES=activity,local,batch  BENCH_MODEL_LATENCY=realistic|stress
 *   FLOOR_FANOUT=64 (children per parent; 0: one parent starts every agent)
 *   FLOOR_WFT_TIMEOUT_S=60 (the agents' workflow task timeout; with local activities the SDK heartbeats a workflow
 *   task every 0.8 × this, so it sets how often a local-activity agent talks to the server)
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startCluster, rssBytes, waitForPoller, PROJECT_ROOT } from './lib/cluster';
import { cpuMeter, cpuPerTurn } from './lib/cpu-meter';
import { decileLatencies, modelLatency, shuffled } from './lib/latency';
import { commandFor, machineInfo, progress, round, runAsScript, writeReport, type BenchReport } from './lib/report';
import { efficiencyOf } from './scaling';
import { FLOOR_MODES, type FloorMode, type Turn } from './floor/workflows';

const TURNS = 10;

export async function run(): Promise<BenchReport> {
  const ns = (process.env.FLOOR_N ?? '128,500,1000').split(',').map(Number);
  const modes = (process.env.FLOOR_MODES ?? 'activity,local').split(',') as FloorMode[];
  for (const m of modes)
    if (!FLOOR_MODES.includes(m)) throw new Error(`FLOOR_MODES: unknown mode ${m}; use ${FLOOR_MODES.join(', ')}`);
  const wftTimeoutS = process.env.FLOOR_WFT_TIMEOUT_S ? Number(process.env.FLOOR_WFT_TIMEOUT_S) : undefined;
  // Children per parent: 64 as in longrun's scaling layout (a planner gives its sub-planners the rest); 0 = flat.
  const fanout = Number(process.env.FLOOR_FANOUT ?? 64);
  const { name: latencyName, p50, p90 } = modelLatency('realistic');
  const deciles = decileLatencies(p50, p90);
  const began = Date.now();

  const cluster = await startCluster();
  const taskQueue = `bench-floor-${process.pid}`;
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-bench-floor-')), 'worker.log');
  const out = fs.openSync(logFile, 'a');
  const worker = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'floor', 'worker.ts')],
    {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: cluster.address,
        FLOOR_TASK_QUEUE: taskQueue,
        FLOOR_MAX_N: String(Math.max(...ns)),
      },
      stdio: ['ignore', out, out],
    },
  );
  fs.closeSync(out);
  const rows = [];
  try {
    await waitForPoller(cluster.client, taskQueue, 180_000, worker);
    for (const mode of modes)
      for (const n of ns) {
        const agents = Array.from({ length: n }, (_, i) => shuffled(deciles, 1_000 + i));
        const meter = cpuMeter({
          server: cluster.server.pid,
          ...(cluster.databasePid ? { postgres: cluster.databasePid } : {}),
          worker: worker.pid!,
          client: process.pid,
        });
        let rssPeak = 0;
        const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(worker.pid!) ?? 0)), 500);
        const t0 = Date.now();
        let turns: Turn[][];
        try {
          turns = await cluster.client.workflow.execute('floorParent', {
            taskQueue,
            workflowId: `bench-floor-${mode}-${n}-${Date.now().toString(36)}`,
            args: [agents, mode, wftTimeoutS, fanout],
          });
        } finally {
          clearInterval(sampler);
        }
        const reading = meter();
        const requests = turns.flatMap((list, i) =>
          list.map((t, turn) => ({
            role: 'worker' as const,
            agent: `a${i}`,
            index: 0,
            turn,
            arrival: t.start,
            sent: t.end,
            status: 200,
          })),
        );
        const row = {
          n,
          mode,
          fanout,
          ...(wftTimeoutS ? { workflowTaskTimeoutS: wftTimeoutS } : {}),
          ...efficiencyOf(requests, n),
          rssPeakMb: round(rssPeak / 2 ** 20),
          cpu: { ...reading, ...cpuPerTurn(reading, { worker: requests.length, all: requests.length }) },
          runS: round((Date.now() - t0) / 1000, 1),
        };
        rows.push(row);
        progress(
          'floor',
          `${mode} N=${n}: efficiency ${row.efficiency}, start spread ${row.startSpreadS}s, step gap ${row.stepGapMs}ms, ` +
            `cores ${JSON.stringify(reading.cores)}, ms per turn ${JSON.stringify(row.cpu.perWorkerTurnMs)}`,
        );
      }
  } catch (err) {
    progress('floor', `failed; worker log tail:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
    throw err;
  } finally {
    worker.kill('SIGTERM');
    await new Promise((resolve) => (worker.exitCode !== null ? resolve(null) : worker.once('exit', resolve)));
    await cluster.stop();
    fs.rmSync(path.dirname(logFile), { recursive: true, force: true });
  }
  const report: BenchReport = {
    bench: [
      'floor',
      latencyName === 'realistic' ? '' : latencyName,
      modes.join(',') === 'batch' ? 'batch' : '',
      wftTimeoutS ? `wft${wftTimeoutS}` : '',
      process.env.BENCH_SERVER === 'postgres' ? 'postgres' : '',
    ]
      .filter(Boolean)
      .join('-'),
    date: new Date().toISOString(),
    command: commandFor('floor', {
      FLOOR_N: process.env.FLOOR_N,
      FLOOR_MODES: process.env.FLOOR_MODES,
      FLOOR_WFT_TIMEOUT_S: process.env.FLOOR_WFT_TIMEOUT_S,
      FLOOR_FANOUT: process.env.FLOOR_FANOUT,
      BENCH_MODEL_LATENCY: process.env.BENCH_MODEL_LATENCY,
      BENCH_SERVER: process.env.BENCH_SERVER,
    }),
    machine: machineInfo(cluster.cli),
    durationS: round((Date.now() - began) / 1000),
    parameters: {
      ns,
      modes,
      turnsPerAgent: TURNS,
      latency: { profile: latencyName, p50Ms: p50, p90Ms: p90, deciles },
      workflowTaskTimeoutS: wftTimeoutS ?? 10,
      fanout,
      devServer: cluster.settings,
      worker: 'child process: bench/floor/worker.ts, one SDK worker, reuseV8Context (default)',
    },
    figures: { rows },
    targets: [],
    notes: [],
  };
  writeReport(report);
  return report;
}

if (require.main === module) runAsScript(run, (r) => r.figures);
