import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { teamScenario } from '../../src/demo/team-scenario';
import type { StatusJson } from '../../src/cli/commands/status';
import type { RunResult } from '../../src/workflows/definitions';
import { cleanEnv, longrun } from '../cli/helpers';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { saveHistories } from '../helpers/histories';
import { temporalCli, testEnv } from '../helpers/temporal';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

describe('autonomousRun end to end (real dev server, real git, both SDKs against the simulator)', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let repo: string;

  beforeAll(async () => {
    env = await testEnv();
    h = await startHarness(env, teamScenario());
    repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-sample-')));
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    fs.rmSync(repo, { recursive: true, force: true });
  });

  it('plans with a sub-planner, merges every task with a resolved conflict, continues once, then finishes done', async () => {
    const runId = `e2e-${Date.now().toString(36)}`;
    const input = {
      repo,
      goal: 'Fix the failing test, add clamp, mean, max and geometry helpers, and document the library.',
      testCommand: 'node test.js',
      models: TEST_MODELS,
      limits: { maxParallelAgents: 3, maxCycles: 4, maxDepth: 1 },
    };
    // Started with the real Temporal CLI, as a user would.
    execFileSync(temporalCli(), [
      'workflow',
      'start',
      '--address',
      env.address,
      '--task-queue',
      h.taskQueue,
      '--type',
      'autonomousRun',
      '--workflow-id',
      runId,
      '--input',
      JSON.stringify(input),
    ]);
    const result: RunResult = await env.client.workflow.getHandle(runId).result();

    expect(result.status).toBe('done');
    expect(result.cycles).toBe(2);
    expect(result.history[0].verdict?.decision).toBe('continue');
    expect(result.history[1].verdict?.decision).toBe('done');
    expect(result.lastReceipt?.passed).toBe(true);
    expect(result.history.flatMap((c) => c.unmerged)).toEqual([]);
    expect(result.history.map((c) => c.tasks)).toEqual([
      { merged: 6, failed: 0, abandoned: 0 },
      { merged: 1, failed: 0, abandoned: 0 },
    ]);
    expect(result.tasks.merged).toBe(7); // 4 root tasks + 2 from the sub-planner + docs in cycle 2
    expect(result.tasks.failed).toBe(0);
    expect(result.usage.worker?.calls).toBeGreaterThan(0);
    expect(result.usage.planner?.calls).toBeGreaterThan(0);
    expect(result.usage.judge?.calls).toBe(2);
    expect(result.costUsd).toBeGreaterThan(0);

    // A sub-planner ran, and at least one worker resolved a real merge conflict.
    const subplanners = env.client.workflow.list({ query: `WorkflowId STARTS_WITH "${runId}/c1/planner/s"` });
    const subIds: string[] = [];
    for await (const wf of subplanners) subIds.push(wf.workflowId);
    expect(subIds).toContain(`${runId}/c1/planner/s1`);
    const conflicts = h.sim.requests.filter((r) =>
      JSON.stringify(r.body).includes('Not merged: your branch conflicts'),
    );
    expect(conflicts.length).toBeGreaterThan(0);

    // The user's repository has the result branch with every change; nothing else moved.
    const branch = `longrun/${runId}`;
    expect(result.resultBranch).toBe(branch);
    expect(git(repo, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe('main');
    const files = git(repo, 'ls-tree', '-r', '--name-only', branch).split('\n');
    for (const f of [
      'lib/clamp.js',
      'lib/mean.js',
      'lib/max.js',
      'lib/geometry/area.js',
      'lib/geometry/perimeter.js',
      'tests/clamp.test.js',
    ]) {
      expect(files).toContain(f);
    }
    expect(git(repo, 'show', `${branch}:lib/math.js`)).toContain('a - b');
    const changelog = git(repo, 'show', `${branch}:CHANGELOG.md`);
    expect(changelog).not.toMatch(/<<<<<<<|>>>>>>>/);
    for (const t of ['clamp', 'mean', 'max', 'area', 'perimeter', 'Fix sub', 'Document'])
      expect(changelog).toContain(t);
    // Each task merged exactly once.
    const trailers = git(repo, 'log', '--first-parent', branch, '--format=%(trailers:key=Longrun-Task,valueonly)')
      .split('\n')
      .filter(Boolean);
    expect(new Set(trailers).size).toBe(trailers.length);
    expect(trailers.length).toBeGreaterThanOrEqual(7);

    // No worktree is left behind, nor the run's workspaces directory.
    expect(fs.existsSync(path.join(h.home, 'worktrees', runId))).toBe(false);

    // Disk bounded: every task merged, so the hub keeps no task branch, and it was gc'd.
    const hub = path.join(h.home, 'hubs', `${runId}.git`);
    expect(git(hub, 'for-each-ref', '--format=%(refname)', 'refs/heads/task/')).toBe('');
    // Loose objects left are only unreferenced ones younger than the prune grace (e.g. pre-conflict merge attempts).
    const loose = fs
      .readdirSync(path.join(hub, 'objects'))
      .filter((d) => /^[0-9a-f]{2}$/.test(d))
      .flatMap((d) => fs.readdirSync(path.join(hub, 'objects', d)).map((f) => d + f));
    const unreachable = new Set(
      git(hub, 'fsck', '--unreachable', '--no-progress')
        .split('\n')
        .map((l) => l.split(' ')[2])
        .filter(Boolean),
    );
    expect(loose.filter((o) => !unreachable.has(o))).toEqual([]);
    expect(git(hub, 'count-objects', '-v')).toMatch(/^packs: [1-9]/m);
    // Finished transcripts are archived, one file each; none of the run's is left as a directory of entries.
    const transcripts = fs
      .readdirSync(path.join(h.home, 'artifacts', 'transcripts'))
      .filter((f) => f.startsWith(`${runId}_c`));
    expect(transcripts).toContain(`${runId}_c1_planner.jsonl.gz`);
    expect(transcripts).toContain(`${runId}_c2_judge.jsonl.gz`);
    expect(transcripts.filter((f) => !f.endsWith('.jsonl.gz'))).toEqual([]);

    // Disk visible: each cycle records it, and `status` and `report` show the last one.
    for (const c of result.history) {
      expect(c.disk?.hubBytes).toBeGreaterThan(0);
      expect(c.disk?.transcriptsBytes).toBeGreaterThan(0);
    }
    const disk = result.history[1].disk!;
    expect(disk.worktreesBytes).toBe(0);
    expect(disk.totalBytes).toBe(disk.hubBytes + disk.worktreesBytes + disk.cachesBytes + disk.transcriptsBytes);
    const cli = cleanEnv({ TEMPORAL_ADDRESS: env.address, LONGRUN_TASK_QUEUE: h.taskQueue, LONGRUN_HOME: h.home });
    // Two CLI processes as a user runs them (each costs seconds to start); the other two shapes are in test/cli.
    const status = JSON.parse((await longrun(['status', runId, '--json'], cli)).stdout) as StatusJson;
    expect(status.disk).toEqual(disk);
    expect((await longrun(['report', runId], cli)).stdout).toMatch(
      /disk +\d.* \(hub .* · worktrees 0 B · caches 0 B · transcripts /,
    );

    await saveHistories(env, runId, 'e2e');
  }, 300_000);
});
