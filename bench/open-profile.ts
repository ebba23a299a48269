/**
 * Bench (not a test): where the time goes when a task's workspace opens (what stands between a task's start and its
 * first model call on the workspace side), with the run's environment prepared. Every git process is timed (the
 * spawner is wrapped) and attributed to its open; the rest is longrun's own file work (environment key, symlinks,
 * markers). N opens one at a time, then N at once.
 * Run: node -r ts-node/register/transpile-only bench/open-profile.ts [N=8]   (writes bench/results/open-profile.json)
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createWorkspaceActivities } from '../src/activities/workspace';
import * as spawner from '../src/workspace/spawner';
import { benchConfig, percentile, round } from './merges';
import { runAsScript } from './lib/report';

const FILES = 300;

interface OpenProfile {
  totalMs: number;
  git: Array<{ cmd: string; ms: number }>;
}

const current = new AsyncLocalStorage<OpenProfile>();
const spawn = spawner.spawnViaHelper;
(spawner as { spawnViaHelper: typeof spawn }).spawnViaHelper = async (req) => {
  const start = performance.now();
  try {
    return await spawn(req);
  } finally {
    const cmd = req.args.find((a, i) => !a.startsWith('-') && req.args[i - 1] !== '-c') ?? '?';
    current.getStore()?.git.push({ cmd, ms: performance.now() - start });
  }
};

function makeRepo(root: string): string {
  const repo = path.join(root, 'repo');
  fs.mkdirSync(path.join(repo, 'src'), { recursive: true });
  for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(repo, 'src', `m${i}.js`), `module.exports = ${i};\n`);
  fs.writeFileSync(path.join(repo, 'package.json'), '{"name":"p","version":"1.0.0"}\n');
  fs.writeFileSync(path.join(repo, 'package-lock.json'), '{"name":"p","lockfileVersion":3,"packages":{}}\n');
  fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules/\n');
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b' };
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repo, env: { ...env, GIT_COMMITTER_EMAIL: 'b@x' } });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'profile');
  return repo;
}

function summarize(opens: OpenProfile[]) {
  const totals = opens.map((o) => o.totalMs).sort((a, b) => a - b);
  const byCmd: Record<string, { calls: number; meanMs: number }> = {};
  for (const o of opens)
    for (const g of o.git) {
      const c = (byCmd[g.cmd] ??= { calls: 0, meanMs: 0 });
      c.meanMs = (c.meanMs * c.calls + g.ms) / (c.calls + 1);
      c.calls++;
    }
  for (const c of Object.values(byCmd)) {
    c.calls /= opens.length;
    c.meanMs = round(c.meanMs);
  }
  const gitMs = opens.map((o) => o.git.reduce((n, g) => n + g.ms, 0));
  const mean = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / xs.length);
  return {
    n: opens.length,
    openMs: { p50: round(percentile(totals, 50)), p99: round(percentile(totals, 99)) },
    gitProcessesPerOpen: opens[0].git.length,
    // Concurrent opens overlap: git time is the sum of each open's own processes, the rest is waiting and file work.
    meanGitMs: mean(gitMs),
    meanOtherMs: mean(opens.map((o, i) => o.totalMs - gitMs[i])),
    git: byCmd,
  };
}

export async function run() {
  const n = Number(process.argv[2] ?? 8);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-bench-open-'));
  try {
    const repo = makeRepo(root);
    const acts = createWorkspaceActivities({ config: benchConfig(path.join(root, 'home')) });
    const runId = 'bench-open';
    const { baseCommit } = await acts.prepareHub({ runId, repo });
    await acts.prepareEnvironment({
      runId,
      commit: baseCommit,
      setup: 'mkdir -p node_modules/dep && echo 1 > node_modules/dep/x',
    });
    const open = async (taskId: string): Promise<OpenProfile> => {
      const profile: OpenProfile = { totalMs: 0, git: [] };
      const start = performance.now();
      await current.run(profile, () => acts.openWorkspace({ runId, taskId }));
      profile.totalMs = performance.now() - start;
      return profile;
    };
    const sequential: OpenProfile[] = [];
    for (let i = 0; i < n; i++) sequential.push(await open(`s${i}`));
    const concurrent = await Promise.all(Array.from({ length: n }, (_, i) => open(`c${i}`)));
    const report = {
      bench: 'open-profile',
      date: new Date().toISOString(),
      command: `node -r ts-node/register/transpile-only bench/open-profile.ts ${n}`,
      machine: {
        cpus: os.cpus().length,
        node: process.version,
        loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)),
      },
      files: FILES,
      sequential: summarize(sequential),
      concurrent: summarize(concurrent),
    };
    console.log(JSON.stringify(report, null, 2));
    fs.writeFileSync(path.join(__dirname, 'results', 'open-profile.json'), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) runAsScript(run);
