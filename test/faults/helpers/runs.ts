import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { paths } from '../../../src/config';
import { createSampleRepo } from '../../../src/demo/sample-repo';
import type { Simulator } from '../../../src/sim';
import type { RunInput, RunResult } from '../../../src/workflows/definitions';
import { TEST_MODELS } from '../../helpers/harness';
import { temporalCli } from '../../helpers/temporal';

/** `LONGRUN_FAULTS=long` (npm run test:faults) runs the bigger numbers; the default is the short CI version. */
export const LONG = process.env.LONGRUN_FAULTS === 'long';

export const GOAL = 'Fix the failing test, add clamp, mean, max and geometry helpers, and document the library.';

export const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });

export function sampleRepo(): string {
  return createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-faults-repo-')));
}

let runs = 0;
/** A run id unique across test runs; `name` makes it readable in the Web UI. */
export function runIdFor(name: string): string {
  return `faults-${name}-${Date.now().toString(36)}-${runs++}`;
}

/** The input of the team scenario's run. `tag` ends the goal so concurrent runs on one simulator can be told apart. */
export function teamInput(repo: string, opts: { tag?: string; limits?: RunInput['limits'] } = {}): RunInput {
  return {
    repo,
    goal: opts.tag ? `${GOAL} [run ${opts.tag}]` : GOAL,
    testCommand: 'node test.js',
    models: TEST_MODELS,
    limits: { maxParallelAgents: 3, maxCycles: 4, maxDepth: 1, ...opts.limits },
  } as RunInput;
}

/** Starts a run with the real Temporal CLI, as a user would. */
export function startRunWithCli(address: string, taskQueue: string, runId: string, input: unknown): void {
  execFileSync(
    temporalCli(),
    [
      'workflow',
      'start',
      '--address',
      address,
      '--task-queue',
      taskQueue,
      '--type',
      'autonomousRun',
      '--workflow-id',
      runId,
      '--input',
      JSON.stringify(input),
    ],
    { encoding: 'utf8', stdio: 'pipe' },
  );
}

/** The run's result, or an error with its status query after `timeoutMs` (a hung run fails the test, readably). */
export async function resultWithin(client: Client, runId: string, timeoutMs: number): Promise<RunResult> {
  const handle = client.workflow.getHandle(runId);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      handle
        .query('status')
        .then(
          (s) => JSON.stringify(s),
          (e: unknown) => `status query failed: ${String(e)}`,
        )
        .then((s) => reject(new Error(`run ${runId} did not finish within ${timeoutMs} ms; status: ${s}`)), reject);
    }, timeoutMs);
  });
  try {
    return (await Promise.race([handle.result(), timeout])) as RunResult;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The result branch's files, for comparing two runs. CHANGELOG.md gets one line per task in MERGE ORDER (every task
 * adds a line under the same anchor; conflicts are resolved keeping both sides), and merge order depends on timing,
 * so its lines are compared as a sorted list; every other file is compared byte for byte.
 */
export function treeContents(repo: string, branch: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const file of git(repo, 'ls-tree', '-r', '--name-only', branch).split('\n').filter(Boolean)) {
    const content = git(repo, 'show', `${branch}:${file}`);
    out[file] = file === 'CHANGELOG.md' ? content.split('\n').filter(Boolean).sort().join('\n') : content;
  }
  return out;
}

export function treeHash(repo: string, branch: string): string {
  return git(repo, 'rev-parse', `${branch}^{tree}`).trim();
}

/** `Longrun-Task` trailers on the branch's first-parent chain (one per merged task, if integration is exactly-once). */
export function taskTrailers(repo: string, branch: string): string[] {
  return git(repo, 'log', '--first-parent', branch, '--format=%(trailers:key=Longrun-Task,valueonly)')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

export function duplicates(values: string[]): string[] {
  const seen = new Set<string>();
  return [...new Set(values.filter((v) => (seen.has(v) ? true : (seen.add(v), false))))];
}

/** Worktrees a run left behind: directories under LONGRUN_HOME/worktrees/<run> and worktrees the hub still lists. */
export function leftoverWorktrees(home: string, runId: string): { dirs: string[]; registered: string[] } {
  const dir = path.dirname(paths.worktree(home, runId, 'x'));
  const dirs = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  const hub = paths.hub(home, runId);
  const registered = fs.existsSync(hub)
    ? git(hub, 'worktree', 'list', '--porcelain')
        .split('\n')
        .filter((l) => l.startsWith('worktree '))
        .map((l) => l.slice('worktree '.length))
        .filter((wt) => path.resolve(wt) !== path.resolve(hub))
    : [];
  return { dirs, registered };
}

/** Model requests of one run on a shared simulator (its tag is in every agent's briefing). */
export function requestsOf(sim: Simulator, tag?: string) {
  return tag ? sim.requests.filter((r) => JSON.stringify(r.body).includes(tag)) : sim.requests;
}

/** Appends a measured figure to LONGRUN_FAULTS_REPORT (JSON lines) and prints it: the report quotes these. */
export function report(name: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ name, mode: LONG ? 'long' : 'short', at: new Date().toISOString(), ...figures });
  if (process.env.LONGRUN_FAULTS_REPORT) fs.appendFileSync(process.env.LONGRUN_FAULTS_REPORT, `${line}\n`);
  process.stdout.write(`[faults] ${line}\n`);
}

export function rmrf(...dirs: Array<string | undefined>): void {
  for (const d of dirs) if (d) fs.rmSync(d, { recursive: true, force: true });
}
