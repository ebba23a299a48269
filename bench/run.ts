/**
 * `npm run bench` runs every bench, one child process each (each starts and stops its own dev server, simulator and
 * worker, and the SDK runtime can be set up once per process), then rewrites the generated tables of
 * docs/BENCHMARKS.md from bench/results/*.json.
 *
 *   npm run bench                  all benches, then the tables
 *   npm run bench -- overhead      one bench (or several: -- overhead history), then the tables
 *   npm run bench -- docs          only the tables, from the results already there
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { updateBenchmarksDoc } from './lib/docs';

/** Bench name → its module; the last three belong to other areas and are only run here. */
export const BENCHES: Record<string, { file: string; timeoutMin: number }> = {
  overhead: { file: 'overhead.ts', timeoutMin: 6 },
  scaling: { file: 'scaling.ts', timeoutMin: 20 },
  history: { file: 'history.ts', timeoutMin: 12 },
  merges: { file: 'merges.ts', timeoutMin: 10 },
  'model-overhead': { file: 'model-overhead.ts', timeoutMin: 6 },
};

function runOne(name: string): Promise<number> {
  const { file, timeoutMin } = BENCHES[name];
  return new Promise((resolve) => {
    const started = Date.now();
    process.stderr.write(`\n=== bench ${name} (time limit ${timeoutMin} min)\n`);
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, file)], {
      stdio: 'inherit',
      cwd: path.join(__dirname, '..'),
      env: process.env,
    });
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
  let failed = 0;
  for (const name of names) if ((await runOne(name)) !== 0) failed++;
  const doc = await updateBenchmarksDoc();
  process.stderr.write(`\nwrote ${path.relative(process.cwd(), doc)}${failed ? `; ${failed} bench(es) failed` : ''}\n`);
  return failed ? 1 : 0;
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
