/**
 * Bench (not a test): 100 concurrent integrations of tasks editing distinct files on a repo of
 * ~1,000 files. Reports merges/s, latency percentiles, CAS retries per merge and lost merges for:
 *   - queue+batch: the default (one queue per hub, queued merges chained, one ref update per batch)
 *   - queue:       one queue per hub, one merge per ref update (maxBatch 1)
 *   - racing-10:   ten integrators (as ten worker processes), ten tasks each, one merge per CAS:
 *                  they race on the ref, the contention the design avoids within a process
 *   - merge-path-*: the work committed beforehand, only the hub side timed (merge-tree, commit-tree,
 *                  CAS), as in DESIGN.md's "Merging fast" figures; with and without batching
 * Figures include CPU ms per merge (this process's tree: the git helper and its git commands): wall-clock numbers
 * depend on what else the machine runs, CPU time much less.
 * Run: npx ts-node bench/merges.ts   (writes bench/results/merges.json)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createWorkspaceActivities } from '../src/activities/workspace';
import type { LongrunConfig } from '../src/config';
import { Integrator, type IntegratorOptions } from '../src/workspace/integrator';
import { treeCpuMs } from './lib/cpu-meter';

export const FILES = 1_000;
const TASKS = 100;

const userEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** A user repo of `files` small source files in 50 directories, one commit. */
export function makeBenchRepo(root: string, files = FILES): string {
  const repo = path.join(root, 'repo');
  for (let i = 0; i < files; i++) {
    const file = path.join(repo, 'src', `dir${i % 50}`, `file${i}.ts`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const body = Array.from({ length: 20 }, (_, l) => `export const v${i}_${l} = ${l}; // line ${l} of file ${i}`).join(
      '\n',
    );
    fs.writeFileSync(file, `${body}\n`);
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: userEnv, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'bench repo');
  return repo;
}

export function benchConfig(home: string): LongrunConfig {
  return { home, temporalAddress: 'unused:0', namespace: 'default', taskQueue: 'unused' };
}

interface Scenario {
  name: string;
  /** Integrators the tasks are spread over: 1 = one process's queue; n = n processes racing on the CAS. */
  integrators: number;
  options: IntegratorOptions;
  /** 'merge-path': work committed beforehand, only Integrator.merge is timed (merge-tree, commit-tree, CAS). */
  mergePathOnly?: boolean;
}

interface Bench {
  config: LongrunConfig;
  runId: string;
  hubPath: string;
  target: string;
  base: string;
  ids: string[];
  worktrees: string[];
}

const hubGit = (b: Bench, ...args: string[]) =>
  execFileSync('git', args, { cwd: b.hubPath, encoding: 'utf8', env: userEnv }).trim();

/**
 * One round: the target goes back to the base, every worktree back to the base plus its own edit
 * (cheap: only the edited file is rewritten), then all tasks integrate at once.
 */
async function runRound(b: Bench, scenario: Scenario) {
  // The target and its guard together (guard.ts): a target moved alone is an incident longrun would undo.
  execFileSync('git', ['update-ref', '--stdin'], {
    cwd: b.hubPath,
    env: userEnv,
    input: `update ${b.target} ${b.base}\nupdate refs/longrun/guard/${b.target.replace(/^refs\//, '')} ${b.base}\n`,
  });
  b.worktrees.forEach((wt, i) => {
    execFileSync('git', ['reset', '-q', '--hard', b.base], { cwd: wt, env: userEnv });
    const n = (i * 7) % FILES; // distinct existing files, spread over the tree
    fs.appendFileSync(path.join(wt, 'src', `dir${n % 50}`, `file${n}.ts`), `export const task${i} = ${Date.now()};\n`);
    if (scenario.mergePathOnly)
      execFileSync('git', ['commit', '-q', '-a', '-m', `task ${i}`], { cwd: wt, env: userEnv });
  });
  // Each workspace is its own repository: its commits reach the hub when longrun fetches them (as integrateTask does).
  const heads = scenario.mergePathOnly
    ? b.worktrees.map((wt, i) => {
        hubGit(b, 'fetch', '--quiet', '--no-write-fetch-head', wt, `+HEAD:refs/heads/task/${b.ids[i]}`);
        return hubGit(b, 'rev-parse', `refs/heads/task/${b.ids[i]}`);
      })
    : [];
  execFileSync('sync'); // the resets' writeback must not be billed to the merges

  const integrators = Array.from({ length: scenario.integrators }, () => new Integrator(scenario.options));
  const processes = integrators.map((integrator) => createWorkspaceActivities({ config: b.config, integrator }));
  const latencies: number[] = [];
  let casRetries = 0;
  const statuses: Record<string, number> = {};
  const cpuBefore = cpuMs();
  const started = performance.now();
  await Promise.all(
    b.ids.map(async (taskId, i) => {
      const t0 = performance.now();
      if (scenario.mergePathOnly) {
        const r = await integrators[i % integrators.length].merge(b.hubPath, b.target, {
          taskId,
          title: `edit ${i}`,
          head: heads[i],
        });
        statuses[r.kind] = (statuses[r.kind] ?? 0) + 1;
        if (r.kind === 'merged') casRetries += r.casRetries;
      } else {
        const r = await processes[i % processes.length].integrateTask({ runId: b.runId, taskId, title: `edit ${i}` });
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 'merged') casRetries += r.casRetries;
      }
      latencies.push(performance.now() - t0);
    }),
  );
  const elapsedMs = performance.now() - started;
  const cpuPerMerge = (cpuMs() - cpuBefore) / b.ids.length;

  // Lost = tasks whose trailer is not exactly once on the target's first-parent history.
  const landed = hubGit(b, 'log', '--first-parent', '--format=%(trailers:key=Longrun-Task,valueonly)', b.target)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const lost = b.ids.filter((id) => landed.filter((l) => l === id).length !== 1).length;
  latencies.sort((x, y) => x - y);
  return {
    scenario: scenario.name,
    merged: statuses.merged ?? 0,
    lost,
    elapsedMs: round(elapsedMs),
    mergesPerSecond: round((b.ids.length / elapsedMs) * 1000),
    latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) },
    casRetriesPerMerge: round(casRetries / b.ids.length, 2),
    cpuMsPerMerge: round(cpuPerMerge),
    loadAverage: round(os.loadavg()[0], 1),
  };
}

/**
 * CPU time (ms) used so far by this process and every process below it (the git helper and the git commands it
 * ran, exited ones included; bench/lib/cpu-meter.ts): unlike wall-clock time it does not depend on what else the
 * machine is running.
 */
export function cpuMs(): number {
  return treeCpuMs(process.pid);
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];

export async function run(rounds = Number(process.env.ROUNDS ?? 3)) {
  const benchStarted = Date.now();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-bench-merges-'));
  try {
    const repo = makeBenchRepo(root);
    const config = benchConfig(path.join(root, 'home'));
    const setup = createWorkspaceActivities({ config });
    const runId = 'bench-merges';
    const hub = await setup.prepareHub({ runId, repo });
    const ids = Array.from({ length: TASKS }, (_, i) => `t${i}`);
    const spaces = await Promise.all(ids.map((taskId) => setup.openWorkspace({ runId, taskId })));
    const b: Bench = {
      config,
      runId,
      hubPath: hub.hubPath,
      target: `refs/heads/${hub.targetBranch}`,
      base: hub.baseCommit,
      ids,
      worktrees: spaces.map((w) => w.path),
    };
    const scenarios: Scenario[] = [
      { name: 'queue-batch', integrators: 1, options: {} },
      { name: 'queue', integrators: 1, options: { maxBatch: 1 } },
      { name: 'racing-10', integrators: 10, options: { maxBatch: 1 } },
      { name: 'merge-path-batch', integrators: 1, options: {}, mergePathOnly: true },
      { name: 'merge-path-serial', integrators: 1, options: { maxBatch: 1 }, mergePathOnly: true },
    ];
    const runs: Array<Awaited<ReturnType<typeof runRound>>> = [];
    // Interleaved rounds: a burst of load from elsewhere on the machine hits every scenario alike.
    for (let r = 0; r < rounds; r++) {
      for (const scenario of scenarios) {
        const result = await runRound(b, scenario);
        console.log(JSON.stringify({ round: r, ...result }));
        runs.push(result);
      }
    }
    const summary = scenarios.map(({ name }) => {
      const mine = runs.filter((x) => x.scenario === name);
      return {
        scenario: name,
        rounds: mine.length,
        medianMergesPerSecond: median(mine.map((x) => x.mergesPerSecond)),
        bestMergesPerSecond: Math.max(...mine.map((x) => x.mergesPerSecond)),
        medianP99LatencyMs: median(mine.map((x) => x.latencyMs.p99)),
        medianCasRetriesPerMerge: median(mine.map((x) => x.casRetriesPerMerge)),
        medianCpuMsPerMerge: median(mine.map((x) => x.cpuMsPerMerge)),
        lost: mine.reduce((sum, x) => sum + x.lost, 0),
      };
    });
    const main = summary.find((x) => x.scenario === 'queue-batch');
    const report = {
      bench: 'merges',
      date: new Date().toISOString(),
      command: `ROUNDS=${rounds} npx ts-node bench/merges.ts`,
      durationS: round((Date.now() - benchStarted) / 1000),
      machine: {
        cpus: os.cpus().length,
        node: process.version,
        git: execFileSync('git', ['--version'], { encoding: 'utf8' }).trim(),
        loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)),
      },
      repoFiles: FILES,
      tasks: TASKS,
      note: 'end-to-end integrateTask per task: commit pending work in its worktree, trailer check, merge-tree, commit-tree, CAS',
      summary,
      targets: [
        {
          name: 'merges/s, 100 concurrent integrations (queue-batch, best round)',
          target: '>= 20',
          value: main?.bestMergesPerSecond,
          met: (main?.bestMergesPerSecond ?? 0) >= 20,
        },
        {
          name: 'lost merges, all scenarios and rounds',
          target: '0',
          value: runs.reduce((sum, x) => sum + x.lost, 0),
          met: runs.every((x) => x.lost === 0),
        },
      ],
      runs,
    };
    console.log(JSON.stringify(summary, null, 2));
    const out = path.join(__dirname, 'results', 'merges.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  run().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
