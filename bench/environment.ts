/**
 * Bench (not a test): the dependency setup of issue #12 on a project whose install is hundreds of MB.
 * A local npm package of INSTALL_FILES files (~INSTALL_MB MB installed, small as a tarball) is the project's one
 * `file:` dependency; no network. The run's environment is prepared once (npm ci), then WORKTREES task workspaces are
 * opened at once, and the target is verified with `npm test` (which loads the dependency), in the sandbox.
 * Reports: open time per workspace (what stands between a task's start and its first model call on the workspace
 * side), extra disk per workspace against a checkout of a run without setup, verification time, installs run.
 * Run: node -r ts-node/register/transpile-only bench/environment.ts   (writes bench/results/environment.json)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createWorkspaceActivities } from '../src/activities/workspace';
import { envPaths } from '../src/workspace/environment';
import { diskUsage } from '../src/workspace/worktree';
import { benchConfig, percentile, round } from './merges';
import { runAsScript } from './lib/report';

const WORKTREES = 32;
const SEQUENTIAL = 10;
const INSTALL_FILES = 3_000;
const FILE_KB = 100;

const stats = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { n: ms.length, p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)) };
};

function makeProject(root: string): string {
  const pkg = path.join(root, 'big-dep');
  fs.mkdirSync(path.join(pkg, 'data'), { recursive: true });
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'big-dep', version: '1.0.0' }));
  fs.writeFileSync(path.join(pkg, 'index.js'), 'module.exports = 42;\n');
  const chunk = 'x'.repeat(FILE_KB * 1024);
  for (let i = 0; i < INSTALL_FILES; i++) fs.writeFileSync(path.join(pkg, 'data', `f${i}.txt`), chunk);
  const env = { ...process.env, npm_config_cache: path.join(root, 'npm-cache'), npm_config_offline: 'true' };
  const repo = path.join(root, 'repo');
  fs.mkdirSync(path.join(repo, 'vendor'), { recursive: true });
  execFileSync('npm', ['pack', '--silent', '--pack-destination', path.join(repo, 'vendor')], { cwd: pkg, env });
  fs.rmSync(pkg, { recursive: true, force: true });
  const manifest = {
    name: 'bench-app',
    version: '1.0.0',
    private: true,
    scripts: { test: 'node -e "process.exit(require(\'big-dep\') === 42 ? 0 : 1)"' },
    dependencies: { 'big-dep': 'file:vendor/big-dep-1.0.0.tgz' },
  };
  fs.writeFileSync(path.join(repo, 'package.json'), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules/\n');
  execFileSync('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: repo, env });
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: repo,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'b',
        GIT_AUTHOR_EMAIL: 'b@x',
        GIT_COMMITTER_NAME: 'b',
        GIT_COMMITTER_EMAIL: 'b@x',
      },
    });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-qm', 'bench app');
  return repo;
}

export async function run() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-bench-env-'));
  try {
    const repo = makeProject(root);
    const acts = createWorkspaceActivities({ config: benchConfig(path.join(root, 'home')) });
    const home = path.join(root, 'home');
    const runId = 'bench-env';
    const { baseCommit } = await acts.prepareHub({ runId, repo });
    const t0 = performance.now();
    const prepared = await acts.prepareEnvironment({ runId, commit: baseCommit });
    const setupMs = performance.now() - t0;
    const installedBytes = await diskUsage(path.join(envPaths.key(home, runId, prepared.key!), 'work', 'node_modules'));

    const openMs: number[] = [];
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: WORKTREES }, async (_, i) => {
        const start = performance.now();
        await acts.openWorkspace({ runId, taskId: `t${i}` });
        openMs.push(performance.now() - start);
      }),
    );
    const openAllMs = performance.now() - t1;

    // The same checkout in a run without setup: what a workspace costs anyway.
    const plainRun = 'bench-plain';
    const plain = await acts.prepareHub({ runId: plainRun, repo });
    await acts.prepareEnvironment({ runId: plainRun, commit: plain.baseCommit, setup: '' });
    const plainWs = await acts.openWorkspace({ runId: plainRun, taskId: 't0' });
    const plainBytes = await diskUsage(plainWs.path);
    const extra: number[] = [];
    for (let i = 0; i < WORKTREES; i++) {
      extra.push((await diskUsage(path.join(home, 'worktrees', runId, `t${i}`))) - plainBytes);
    }

    // One at a time, with and without the environment: what linking it adds to opening a workspace.
    const seqEnv: number[] = [];
    const seqPlain: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      let start = performance.now();
      await acts.openWorkspace({ runId, taskId: `s${i}` });
      seqEnv.push(performance.now() - start);
      start = performance.now();
      await acts.openWorkspace({ runId: plainRun, taskId: `s${i}` });
      seqPlain.push(performance.now() - start);
    }

    const t2 = performance.now();
    const receipt = await acts.verifyTarget({ runId, testCommand: 'npm test' });
    const verifyMs = performance.now() - t2;
    const installs = fs.readdirSync(envPaths.run(home, runId)).filter((n) => /^[0-9a-f]{20}$/.test(n)).length;

    const extraMax = Math.max(...extra);
    const report = {
      bench: 'environment',
      date: new Date().toISOString(),
      command: 'node -r ts-node/register/transpile-only bench/environment.ts',
      machine: {
        cpus: os.cpus().length,
        node: process.version,
        loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)),
      },
      sandbox: process.env.LONGRUN_SANDBOX ?? 'auto',
      installedMB: round(installedBytes / 2 ** 20),
      setupMs: round(setupMs),
      worktrees: WORKTREES,
      openMs: stats(openMs),
      openAllMs: round(openAllMs),
      sequentialOpenMs: { withEnvironment: stats(seqEnv), withoutSetup: stats(seqPlain) },
      extraBytesPerWorktree: { max: extraMax, percentOfInstall: round((100 * extraMax) / installedBytes, 4) },
      verifyMs: round(verifyMs),
      verifyPassed: receipt.passed,
      installs,
    };
    console.log(JSON.stringify(report, null, 2));
    const out = path.join(__dirname, 'results', 'environment.json');
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) runAsScript(run);
