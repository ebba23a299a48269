/**
 * `npm run bench` runs every bench, one child process each (each starts and stops its own dev server, simulator and
 * worker, and the SDK runtime can be set up once per process), then rewrites the generated tables of
 * docs/BENCHMARKS.md from bench/results/*.json.
 *
 *   npm run bench                  all benches, then the tables
 *   npm run bench -- overhead      one bench (or several: -- overhead history), then the tables
 *   npm run bench -- docs          only the tables, from the results already there
 *
 * BENCH_OUTSIDE_METER=1 also cross-checks every bench's CPU figures from this process (bench/lib/outside-meter.ts)
 * and writes bench/results/outside-meter.json.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { updateBenchmarksDoc } from './lib/docs';
import { meterFromOutside, outsideTarget, type OutsideWindow } from './lib/outside-meter';
import { machineInfo, RESULTS_DIR, writeReport } from './lib/report';

/** Bench name → its module; the last four belong to other areas and are only run here. */
export const BENCHES: Record<string, { file: string; timeoutMin: number }> = {
  overhead: { file: 'overhead.ts', timeoutMin: 6 },
  scaling: { file: 'scaling.ts', timeoutMin: 20 },
  'green-branch': { file: 'green-branch.ts', timeoutMin: 45 },
  history: { file: 'history.ts', timeoutMin: 12 },
  merges: { file: 'merges.ts', timeoutMin: 10 },
  'model-overhead': { file: 'model-overhead.ts', timeoutMin: 6 },
  'remote-hub': { file: 'remote-hub.ts', timeoutMin: 10 },
};

const outsideMeter = process.env.BENCH_OUTSIDE_METER === '1';

function runOne(name: string, windows: OutsideWindow[]): Promise<number> {
  const { file, timeoutMin } = BENCHES[name];
  return new Promise((resolve) => {
    const started = Date.now();
    process.stderr.write(`\n=== bench ${name} (time limit ${timeoutMin} min)\n`);
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, file)], {
      stdio: outsideMeter ? ['inherit', 'inherit', 'inherit', 'ipc'] : 'inherit',
      cwd: path.join(__dirname, '..'),
      env: process.env,
    });
    if (outsideMeter) meterFromOutside(name, child, windows);
    const timer = setTimeout(() => {
      process.stderr.write(`bench ${name}: over its time limit, stopping it\n`);
      child.kill('SIGTERM');
    }, timeoutMin * 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      process.stderr.write(
        `=== bench ${name}: ${signal ?? `exit ${code}`} after ${Math.round((Date.now() - started) / 1000)} s\n`,
      );
      resolve(code ?? 1);
    });
  });
}

export async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a) => a !== '--');
  const unknown = args.filter((a) => a !== 'docs' && !(a in BENCHES));
  if (unknown.length) {
    process.stderr.write(
      `unknown bench ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}, or docs\n`,
    );
    return 2;
  }
  const names = args.length ? args.filter((a) => a !== 'docs') : Object.keys(BENCHES);
  const began = Date.now();
  let failed = 0;
  const windows: OutsideWindow[] = [];
  for (const name of names) if ((await runOne(name, windows)) !== 0) failed++;
  if (outsideMeter) writeOutsideReport(names, windows, began);
  const doc = await updateBenchmarksDoc();
  process.stderr.write(`\nwrote ${path.relative(process.cwd(), doc)}${failed ? `; ${failed} bench(es) failed` : ''}\n`);
  return failed ? 1 : 0;
}

/**
 * The outside meter's windows, with a target per window: the bench's total within 10 % of the outside tree's. The
 * windows of benches not run this time are kept from the last file.
 */
function writeOutsideReport(names: string[], fresh: OutsideWindow[], began: number): void {
  const file = path.join(RESULTS_DIR, 'outside-meter.json');
  const kept = fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, 'utf8')).figures.windows as OutsideWindow[]).filter(
        (w) => !names.includes(w.bench),
      )
    : [];
  const windows = [...kept, ...fresh];
  writeReport({
    bench: 'outside-meter',
    date: new Date().toISOString(),
    command: [
      ...['BENCH_AGENTS', 'BENCH_TURNS', 'BENCH_MODEL_CALLS', 'BENCH_SCALING_N', 'BENCH_LATENCY']
        .filter((k) => process.env[k])
        .map((k) => `${k}=${process.env[k]}`),
      'BENCH_OUTSIDE_METER=1 npm run bench --',
      ...names,
    ].join(' '),
    machine: machineInfo(),
    durationS: Math.round((Date.now() - began) / 1000),
    parameters: { benches: [...new Set(windows.map((w) => w.bench))] },
    figures: { windows },
    targets: windows.map(outsideTarget),
    notes: [],
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
