import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ListedRun } from '../../src/cli/commands/list';
import type { StatusJson } from '../../src/cli/commands/status';
import type { RunReport } from '../../src/cli/lib/report';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { teamScenario } from '../../src/demo/team-scenario';
import type { SimRequest } from '../../src/sim';
import { statusQuery, type RunStatusView } from '../../src/workflows/definitions';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { testEnv } from '../helpers/temporal';
import { cleanEnv, longrun, type CliResult } from './helpers';

/**
 * The CLI as a user runs it: spawned processes against the test dev server, with a longrun worker (in this
 * process, on its own task queue) serving the runs against the simulated team.
 */
describe('longrun run / status / pause / resume / replan / stop / watch / report / list (spawned, real server)', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let dir: string;
  let cli: NodeJS.ProcessEnv;
  const modelFlags = Object.entries(TEST_MODELS).flatMap(([role, m]) => [
    '--model',
    `${role}=${m.provider}:${m.model}`,
  ]);
  const goal = 'Fix the failing test, add clamp, mean, max and geometry helpers, and document the library.';
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });
  const SLOW = 'Take your time on every step.';

  beforeAll(async () => {
    env = await testEnv();
    // The team, slowed down for runs whose guidance asks for it, so a stop always lands while the run works.
    const team = teamScenario({ workerExploreTurns: 2 });
    h = await startHarness(env, (req: SimRequest) => {
      const reply = team(req);
      return reply && req.text.includes(SLOW) ? { ...reply, latency: { ms: 1_500 } } : reply;
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-cli-run-'));
    cli = cleanEnv({
      TEMPORAL_ADDRESS: process.env.LONGRUN_TEST_TEMPORAL_ADDRESS,
      LONGRUN_TASK_QUEUE: h.taskQueue,
      LONGRUN_HOME: path.join(dir, 'cli-home'),
      // Only for the local key check: the worker has its own environment (h.env).
      OPENAI_API_KEY: h.env.OPENAI_API_KEY,
      ANTHROPIC_API_KEY: h.env.ANTHROPIC_API_KEY,
    });
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const json = <T>(r: CliResult): T => {
    if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  /** Polled in-process (each spawned CLI costs seconds on a busy machine); the CLI's own `status` is checked after. */
  async function viewUntil(id: string, ok: (s: RunStatusView) => boolean): Promise<RunStatusView> {
    const handle = env.client.workflow.getHandle(id);
    let last: RunStatusView | null = null;
    for (let i = 0; i < 240; i++) {
      last = await handle.query(statusQuery).catch(() => null);
      if (last && ok(last)) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`status of ${id} never matched; last: ${JSON.stringify(last)}`);
  }

  test('run --detach, status --json, pause, resume, replan, stop, watch to the end, report --json', async () => {
    const repo = createSampleRepo(path.join(dir, 'stop-repo'));
    const id = `cli-stop-${Date.now().toString(36)}`;
    const args = [
      'run',
      '--repo',
      repo,
      '--goal',
      goal,
      '--test-cmd',
      'node test.js',
      ...modelFlags,
      '--max-agents',
      '1',
      '--id',
      id,
      '--guidance',
      SLOW,
    ];
    const started = json<{ runId: string; taskQueue: string; namespace: string; uiUrl: string }>(
      await longrun([...args, '--detach', '--json'], cli),
    );
    expect(started).toMatchObject({ runId: id, taskQueue: h.taskQueue, namespace: 'default' });
    expect(started.uiUrl).toBe(`http://localhost:8233/namespaces/default/workflows/${id}`);

    // Paused right away, so the run cannot end before we stop it.
    expect((await longrun(['pause', id], cli)).stdout).toContain(`Paused ${id}`);
    await viewUntil(id, (s) => s.paused);
    const running = json<StatusJson>(await longrun(['status', id, '--json'], cli));
    expect(running).toMatchObject({
      runId: id,
      workflowStatus: 'RUNNING',
      status: 'running',
      cycle: 1,
      paused: true,
      resultBranch: `longrun/${id}`,
    });
    expect(['preparing', 'planning']).toContain(running.phase);
    expect(running.tasks).toEqual({
      running: expect.any(Number),
      merged: expect.any(Number),
      failed: 0,
      abandoned: 0,
      notAttempted: 0,
    });
    const human = await longrun(['status', id], cli);
    expect(human.stdout).toMatch(new RegExp(`^${id}  running paused  cycle 1 · `, 'm'));
    expect(human.stdout).toContain(`web UI: http://localhost:8233/namespaces/default/workflows/${id}`);

    expect((await longrun(['resume', id], cli)).stdout).toContain(`Resumed ${id}`);
    await viewUntil(id, (s) => !s.paused);
    expect((await longrun(['pause', id], cli)).code).toBe(0);
    await viewUntil(id, (s) => s.paused);

    const ack = json<{ runId: string; acknowledged: boolean; planners: number }>(
      await longrun(['replan', id, '--guidance', 'Keep changes small.', '--json'], cli),
    );
    expect(ack).toEqual({ runId: id, acknowledged: true, planners: expect.any(Number) });

    const stop = await longrun(['stop', id], cli);
    expect(stop.stdout).toContain(`Stop requested for ${id}`);
    expect(stop.code).toBe(0);

    const watched = await longrun(['watch', id], cli, 180_000);
    expect(watched.stdout).toContain(`watching ${id}`);
    expect(watched.stdout).toMatch(/cycle \d+ verdict: stop/);
    expect(watched.stdout).toContain(`${id}  stopped  after`);
    expect(watched.stdout).toMatch(new RegExp(`^ {2}branch +longrun/${id} `, 'm'));
    expect(watched.code).toBe(0);

    const report = json<RunReport>(await longrun(['report', id, '--json'], cli));
    expect(report).toMatchObject({
      runId: id,
      status: 'stopped',
      finished: true,
      reason: 'stopped by the operator',
      goal,
      repo,
    });
    expect(report.history.at(-1)?.verdict?.decision).toBe('stop');
    expect(report.cycles).toBe(report.history.length);
    expect(report.durationMs).toBeGreaterThan(0);

    const closed = json<StatusJson>(await longrun(['status', id, '--json'], cli));
    expect(closed).toMatchObject({ workflowStatus: 'COMPLETED', status: 'stopped', phase: 'finished' });
    const again = await longrun(['stop', id], cli);
    expect(again.stderr).toContain(`run "${id}" has already ended`);
    expect(again.code).toBe(2);
  }, 400_000);

  test('run without --detach watches on a non-TTY: one line per event, then the summary; report and list agree', async () => {
    const repo = createSampleRepo(path.join(dir, 'full-repo'));
    const id = `cli-full-${Date.now().toString(36)}`;
    const r = await longrun(
      [
        'run',
        '--repo',
        repo,
        '--goal',
        goal,
        '--test-cmd',
        'node test.js',
        ...modelFlags,
        '--max-agents',
        '3',
        '--id',
        id,
      ],
      cli,
      240_000,
    );
    const out = r.stdout;
    expect(out).toContain(`Started run ${id} on task queue ${h.taskQueue}`);
    expect(out).toMatch(/^\d\d:\d\d:\d\d cycle 1 started$/m);
    expect(out).toMatch(/^\d\d:\d\d:\d\d planner c1\/planner started: root$/m);
    expect(out).toMatch(/^\d\d:\d\d:\d\d worker c1\/planner\/t1 started: Fix sub\(\) in lib\/math\.js$/m);
    expect(out).toMatch(/^\d\d:\d\d:\d\d worker c1\/planner\/t\d merged: at [0-9a-f]{7}$/m);
    expect(out).toMatch(/^\d\d:\d\d:\d\d cycle 1 verdict: continue; tests passed/m);
    expect(out).toMatch(/^\d\d:\d\d:\d\d cycle 2 verdict: done; tests passed/m);
    expect(out).toContain(`${id}  done  after 2 cycle(s)`);
    expect(out).not.toContain('\x1b['); // no colours or redraws off a terminal
    expect(r.code).toBe(0);

    const report = json<RunReport>(await longrun(['report', id, '--json'], cli));
    expect(report).toMatchObject({
      runId: id,
      status: 'done',
      finished: true,
      cycles: 2,
      resultBranch: `longrun/${id}`,
    });
    expect(report.history.map((c) => c.verdict?.decision)).toEqual(['continue', 'done']);
    expect(report.history[1].receipt).toMatchObject({ command: 'node test.js', passed: true });
    expect(report.tasks.merged).toBeGreaterThanOrEqual(5);
    expect(report.commits).toBe(report.tasks.merged);
    expect(report.unmerged.length).toBe(report.tasks.failed + report.tasks.abandoned);
    expect(report.usageByRole.worker?.calls).toBeGreaterThan(0);
    expect(report.usageByRole.judge?.calls).toBe(2);
    expect(report.models?.worker).toMatchObject(TEST_MODELS.worker);
    expect(report.costUsd).toBeGreaterThan(0);
    // The merged work is on the result branch of the user's repository.
    expect(git(repo, 'ls-tree', '-r', '--name-only', `longrun/${id}`)).toContain('lib/clamp.js');

    const human = await longrun(['report', id], cli);
    expect(human.stdout).toMatch(new RegExp(`Usage by role[\\s\\S]*worker\\s+anthropic:${TEST_MODELS.worker.model}`));
    expect(human.stdout).toMatch(/Cycles[\s\S]*\n {2}1\s+\d+\s+\d+\s+\d+\s+continue\s+passed/);

    const all = json<ListedRun[]>(await longrun(['list', '--json', '--limit', '500'], cli));
    expect(all.find((x) => x.runId === id)).toMatchObject({
      status: 'done',
      workflowStatus: 'COMPLETED',
      cycle: 2,
      goal,
    });
    const done = json<ListedRun[]>(await longrun(['list', '--status', 'done', '--json', '--limit', '500'], cli));
    expect(done.map((x) => x.runId)).toContain(id);
    expect(done.every((x) => x.status === 'done')).toBe(true);
  }, 400_000);

  test('a run whose workflow fails: watch exits 1, status and list say failed', async () => {
    const id = `cli-fail-${Date.now().toString(36)}`;
    // Started past the CLI's checks (as the Temporal CLI would): the run's first activity refuses the input.
    await env.client.workflow.start('autonomousRun', {
      taskQueue: h.taskQueue,
      workflowId: id,
      args: [{ repo: path.join(dir, 'nope'), goal: 'x' }],
    });
    const watched = await longrun(['watch', id], cli);
    expect(watched.stdout).toContain(`${id}  failed`);
    expect(watched.stdout).toContain('does not exist');
    expect(watched.code).toBe(1);
    const status = json<StatusJson>(await longrun(['status', id, '--json'], cli));
    expect(status).toMatchObject({ workflowStatus: 'FAILED', status: 'failed' });
    expect(status.reason).toContain('Invalid run input');
    const failed = json<ListedRun[]>(await longrun(['list', '--status', 'failed', '--json', '--limit', '500'], cli));
    expect(failed.find((x) => x.runId === id)).toMatchObject({ status: 'failed', workflowStatus: 'FAILED' });
    const unknown = await longrun(['watch', 'no-such-run'], cli);
    expect(unknown.stderr).toContain('no run with id "no-such-run"');
    expect(unknown.code).toBe(2);
  }, 200_000);
});
