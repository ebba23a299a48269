/**
 * What every bench writes: the machine, the date, the command, the parameters, the figures and whether each
 * target is met, as bench/results/<name>.json (docs/BENCHMARKS.md is written from these files).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Machine {
  nproc: number;
  cpuModel: string;
  ramGb: number;
  node: string;
  os: string;
  git: string;
  temporalCli?: string;
  /** 1, 5 and 15 minute load averages when the report was written: other work on the machine skews timings. */
  loadAverage: number[];
}

export interface Target {
  name: string;
  /** Human-readable, e.g. "p50 <= 25 ms". */
  target: string;
  value: number | string;
  met: boolean;
}

export interface BenchReport<P = unknown, F = unknown> {
  bench: string;
  date: string;
  command: string;
  machine: Machine;
  durationS: number;
  parameters: P;
  figures: F;
  targets: Target[];
  notes: string[];
}

export function machineInfo(temporalCli?: string): Machine {
  const version = (bin: string) => {
    try {
      return execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim().split('\n')[0];
    } catch {
      return 'unknown';
    }
  };
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    ramGb: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    git: version('git'),
    ...(temporalCli ? { temporalCli: version(temporalCli) } : {}),
    loadAverage: os.loadavg().map((l) => round(l, 2)),
  };
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function stats(samples: number[], digits = 1): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    p50: round(percentile(s, 50), digits),
    p90: round(percentile(s, 90), digits),
    p99: round(percentile(s, 99), digits),
    max: round(s.at(-1) ?? NaN, digits),
    mean: round(mean, digits),
  };
}

export const RESULTS_DIR = path.join(__dirname, '..', 'results');

export function writeReport(report: BenchReport): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${report.bench}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/** The command that reproduces a bench run alone. */
export function commandFor(name: string, env: Record<string, string | undefined> = {}): string {
  const vars = Object.entries(env)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${v}`);
  return [...vars, `npx ts-node --transpile-only bench/${name}.ts`].join(' ');
}

/** A bench prints progress to stderr, so stdout stays the result. */
export function progress(bench: string, msg: string): void {
  process.stderr.write(`[bench ${bench}] ${msg}\n`);
}

/**
 * A bench's entry point when run as a script (`npx ts-node bench/<name>.ts`): runs it, prints `show(result)` as JSON
 * when given, and sets exit code 1 on an error.
 */
export function runAsScript<T>(run: () => Promise<T>, show?: (result: T) => unknown): void {
  run()
    .then((result) => {
      if (show) console.log(JSON.stringify(show(result), null, 2));
    })
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
