/**
 * Bench (not a test): worktree creation and removal on a repo of ~1,000 files.
 *   - sequential: one openWorkspace at a time (latency of a lone task starting)
 *   - concurrent: 50 at once on one hub (a planner fanning out)
 * Run: npx ts-node bench/worktrees.ts   (writes bench/results/worktrees.json)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createWorkspaceActivities } from '../src/activities/workspace';
import { benchConfig, cpuMs, FILES, makeBenchRepo, percentile, round } from './merges';

const SEQUENTIAL = 20;
const CONCURRENT = 50;

const stats = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    n: ms.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1]),
  };
};

async function timed<T>(work: () => Promise<T>, into: number[]): Promise<T> {
  const t0 = performance.now();
  const result = await work();
  into.push(performance.now() - t0);
  return result;
}

export async function run() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-bench-worktrees-'));
  try {
    const repo = makeBenchRepo(root);
    const acts = createWorkspaceActivities({ config: benchConfig(path.join(root, 'home')) });
    const runId = 'bench-wt';
    await acts.prepareHub({ runId, repo });
    execFileSync('sync');

    const cpu0 = cpuMs();
    const seqOpen: number[] = [];
    const seqClose: number[] = [];
    const disk: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      await timed(() => acts.openWorkspace({ runId, taskId: `seq${i}` }), seqOpen);
    }
    const cpuPerOpen = (cpuMs() - cpu0) / SEQUENTIAL;
    const cpu1 = cpuMs();
    for (let i = 0; i < SEQUENTIAL; i++) {
      const { diskBytes } = await timed(() => acts.closeWorkspace({ runId, taskId: `seq${i}` }), seqClose);
      disk.push(diskBytes);
    }
    const cpuPerClose = (cpuMs() - cpu1) / SEQUENTIAL;
    execFileSync('sync');

    const conOpen: number[] = [];
    const conClose: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        timed(() => acts.openWorkspace({ runId, taskId: `con${i}` }), conOpen),
      ),
    );
    const openAllMs = performance.now() - t0;
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        timed(() => acts.closeWorkspace({ runId, taskId: `con${i}` }), conClose),
      ),
    );
    const closeAllMs = performance.now() - t1;

    // Baseline for the disk: copying the same checkout with cp -r, i.e. what writing ~1,000 files costs here.
    const t2 = performance.now();
    execFileSync('cp', ['-r', repo, path.join(root, 'copy')]);
    const cpMs = performance.now() - t2;

    const report = {
      bench: 'worktrees',
      date: new Date().toISOString(),
      command: 'npx ts-node bench/worktrees.ts',
      machine: {
        cpus: os.cpus().length,
        node: process.version,
        loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)),
      },
      repoFiles: FILES,
      sequential: {
        openMs: stats(seqOpen),
        closeMs: stats(seqClose),
        cpuMsPerOpen: round(cpuPerOpen),
        cpuMsPerClose: round(cpuPerClose),
        diskBytesPerWorktree: Math.round(disk.reduce((a, b) => a + b, 0) / disk.length),
      },
      concurrent: {
        tasks: CONCURRENT,
        openMs: stats(conOpen),
        openAllMs: round(openAllMs),
        opensPerSecond: round((CONCURRENT / openAllMs) * 1000),
        closeMs: stats(conClose),
        closeAllMs: round(closeAllMs),
      },
      baselineCpRepoMs: round(cpMs),
    };
    console.log(JSON.stringify(report, null, 2));
    const out = path.join(__dirname, 'results', 'worktrees.json');
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
