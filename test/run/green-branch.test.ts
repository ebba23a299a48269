import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { paths } from '../../src/config';
import { createSampleRepo } from '../../src/demo/sample-repo';
import type { SimRequest, SimResponse, SimToolCallSpec } from '../../src/sim/types';
import type { RunResult, RunStatusView } from '../../src/workflows/definitions';
import { RED_ALERT } from '../../src/workflows/lib/checks';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { testEnv } from '../helpers/temporal';

/**
 * Continuous verification, end to end: a scripted worker breaks the tests in the middle of a cycle. A check of the
 * target catches it, the root planner gets one red alert and makes one fixer task, `longrun/<runId>` only ever
 * points at green commits, and the next receipt after the fix is green.
 *
 * One worker at a time, in plan order: fix sub() → break (a failing test) → notes → the fixer the alert asks for.
 * The notes worker answers its first turn only once the root planner has received the alert, so the planner is
 * still running when the check reports the break (otherwise the alert would wait for the next cycle's planner).
 *
 * The second run's planner ignores the alert: the notes worker waits until longrun has queued its own fixer (the
 * run's status says so), the planner's late fixer of the same break is dropped, and longrun's fixer is the one.
 */
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

const TASKS: Record<string, Record<string, string>> = {
  'Fix sub() in lib/math.js': { 'lib/math.js': 'exports.add = (a, b) => a + b;\nexports.sub = (a, b) => a - b;\n' },
  'Add a strict test of add()': {
    'tests/strict.test.js':
      "const assert = require('assert');\nassert.strictEqual(require('../lib/math').add(1, 1), 3);\n",
  },
  'Write docs/NOTES.md': { 'docs/NOTES.md': '# Notes\n\nThe tests are plain node scripts under tests/.\n' },
  'Fix the broken strict test': {
    'tests/strict.test.js':
      "const assert = require('assert');\nassert.strictEqual(require('../lib/math').add(1, 1), 2);\n",
  },
};
const [FIX, BREAK, NOTES, FIXER] = Object.keys(TASKS);
const LONGRUN_FIXER = /^Fix the break of `node test\.js` at [0-9a-f]{12}$/;
const spec = (title: string) => ({
  title,
  description: title,
  acceptance: ['`node test.js` passes'],
  files: Object.keys(TASKS[title]),
});

/** `plannerActs`: the planner makes the fixer the alert asks for; else it ignores the alert and longrun makes it. */
function scenario(o: { plannerActs: boolean; fallbackQueued?: () => Promise<boolean>; breakLands?: boolean }) {
  let n = 0;
  const call = (name: string, args: unknown): SimToolCallSpec => ({ id: `call_${++n}`, name, arguments: args });
  const tools = (...calls: SimToolCallSpec[]): SimResponse => ({ toolCalls: calls });
  const seen = {
    alerts: [] as string[],
    workerStarts: [] as string[],
    workerSawAlert: false,
    /** The result of each worker's test run, by task title. */
    testRuns: {} as Record<string, string>,
    plannerToldFixerExists: false,
    /** Workers whose merge mergePolicy 'tests-pass' refused. */
    refused: [] as string[],
  };
  let breakId = '';
  let plannerTurnsAfterAlert = 0;
  let alerted!: () => void;
  const alertSeen = new Promise<void>((resolve) => (alerted = resolve));
  const plan = (tasks: string[], done: boolean, fixes?: string) =>
    tools(
      call('submit_plan', {
        rationale: 'scripted',
        tasks: tasks.map((t) => (t === FIXER && fixes ? { ...spec(t), fixes } : spec(t))),
        subplanners: [],
        done,
      }),
    );

  const respond = async (req: SimRequest): Promise<SimResponse | null> => {
    const last = req.messages.at(-1)!;
    if (req.system.includes('You are the root planner')) {
      if (last.role === 'user' && last.text.includes(RED_ALERT)) {
        seen.alerts.push(last.text);
        breakId = /"fixes": "([0-9a-f]{12})"/.exec(last.text)?.[1] ?? '';
        alerted();
        if (o.plannerActs) return plan([FIXER], true, breakId);
        return plan([], false); // ignores the alert
      }
      if (req.turn === 0) return plan([FIX, BREAK, NOTES], false);
      if (!o.plannerActs && breakId && plannerTurnsAfterAlert++ === 0) return plan([FIXER], false, breakId); // late
      if (req.text.includes('already has its one fixer task')) seen.plannerToldFixerExists = true;
      return plan([], true);
    }
    if (req.system.includes('You are a senior software engineer')) {
      const title = /# Your task: (.+)/.exec(req.text)?.[1]?.trim() ?? '';
      const files = TASKS[LONGRUN_FIXER.test(title) ? FIXER : title];
      if (!files) return tools(call('finish', { outcome: 'blocked', summary: `no script for "${title}"` }));
      if (req.text.includes(RED_ALERT)) seen.workerSawAlert = true;
      if (req.turn === 0) {
        seen.workerStarts.push(title);
        // Bounded: if the alert never comes, the assertions below say so.
        if (title === NOTES && o.breakLands !== false)
          await Promise.race([alertSeen, new Promise((r) => setTimeout(r, 60_000).unref())]);
        // Holding the only slot until longrun queued its fixer keeps the planner running until then.
        if (title === NOTES && o.fallbackQueued) {
          const deadline = Date.now() + 60_000;
          while (!(await o.fallbackQueued()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        }
        return tools(...Object.entries(files).map(([p, content]) => call('write_file', { path: p, content })));
      }
      if (req.turn === 1) return tools(call('run_command', { command: 'node test.js' }));
      if (last.role === 'tool' && last.text.includes('(mergePolicy tests-pass)')) {
        seen.refused.push(title); // what the fixer would have written: the worker fixes its own test
        return tools(...Object.entries(TASKS[FIXER]).map(([p, content]) => call('write_file', { path: p, content })));
      }
      if (req.turn === 2) seen.testRuns[title] = last.text;
      // The breaking worker finishes `done` on failing tests: the kind of small error the checks are for.
      return tools(call('finish', { outcome: 'done', summary: `${title}: done`, notes: '', concerns: [] }));
    }
    if (req.system.includes('You are the judge')) {
      const passed = /: PASSED in/.test(req.text);
      return tools(
        call('submit_verdict', {
          decision: passed ? 'done' : 'continue',
          reasons: [passed ? 'tests pass' : 'tests fail'],
          nextFocus: '',
          scratchpad: '',
        }),
      );
    }
    if (req.system.includes('You compress')) return { text: 'Summary.' };
    return null;
  };
  return { respond, seen };
}

describe('continuous verification and the green branch (real dev server, real git, simulator)', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let repo: string;
  const team = scenario({ plannerActs: true });

  beforeAll(async () => {
    env = await testEnv();
    h = await startHarness(env, team.respond);
    repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-green-')));
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    fs.rmSync(repo, { recursive: true, force: true });
  });

  it('catches a break mid-cycle, gets exactly one fixer, and never publishes the red commit as green', async () => {
    const runId = `green-${Date.now().toString(36)}`;
    const handle = await env.client.workflow.start('autonomousRun', {
      taskQueue: h.taskQueue,
      workflowId: runId,
      args: [
        {
          repo,
          goal: 'Fix sub() and add tests.',
          testCommand: 'node test.js',
          models: TEST_MODELS,
          limits: { maxParallelAgents: 1, maxDepth: 0, maxCycles: 2, verifyEveryMerges: 1 },
        },
      ],
    });
    const result: RunResult = await handle.result();
    expect(result.status).toBe('done');
    expect(result.cycles).toBe(1);
    expect(result.lastReceipt?.passed).toBe(true);

    // One alert, to the root planner, naming the breaking task as a suspect and the failing output.
    expect(team.seen.alerts).toHaveLength(1);
    const [alertText] = team.seen.alerts;
    expect(alertText).toContain(BREAK);
    expect(alertText).not.toContain(FIX);
    expect(alertText).toContain('tests/strict.test.js');
    expect(alertText).toMatch(/FAIL strict\.test\.js/);

    // Exactly one fixer task ran, and no worker was handed the alert as its own guidance.
    expect(team.seen.workerStarts.filter((t) => t === FIXER)).toHaveLength(1);
    expect(team.seen.workerStarts.sort()).toEqual([FIX, BREAK, NOTES, FIXER].sort());
    expect(team.seen.workerSawAlert).toBe(false);
    expect(result.history[0].tasks).toEqual({ merged: 4, failed: 0, abandoned: 0 });

    // The checks: green, then red from the break until the fixer merged, then green again.
    const checks = result.history[0].checks ?? [];
    const pattern = checks.map((c) => (c.passed ? 'G' : 'R')).join('');
    expect(pattern).toMatch(/^G+R+G+$/);
    const redCommits = new Set(checks.filter((c) => !c.passed).map((c) => c.commit));
    const greenCommits = new Set(checks.filter((c) => c.passed).map((c) => c.commit));

    // Every commit ever published as longrun/<runId> was found green, never the red one (the hub's reflog of it).
    const hub = paths.hub(h.home, runId);
    const published = git(hub, 'reflog', '--format=%H', `refs/longrun/published/longrun/${runId}`).split('\n');
    expect(published.length).toBeGreaterThanOrEqual(2); // green before the break, green after the fix
    for (const c of published) {
      expect(redCommits.has(c)).toBe(false);
      expect(greenCommits.has(c)).toBe(true);
    }
    // In the user's repository: the green branch at the last green commit; the tip under its own name.
    const tip = git(hub, 'rev-parse', `refs/heads/longrun/${runId}`);
    expect(git(repo, 'rev-parse', `longrun/${runId}-tip`)).toBe(tip);
    expect(git(repo, 'rev-parse', `longrun/${runId}`)).toBe(result.lastReceipt?.commit);
    expect(git(repo, 'show', `longrun/${runId}:tests/strict.test.js`)).toContain('add(1, 1), 2)');

    const status: RunStatusView = await handle.query('status');
    expect(status.target).toEqual({ green: result.lastReceipt?.commit, red: null });
    expect(status.tipBranch).toBe(`longrun/${runId}-tip`);

    // The notes worker tested while the target was known red: told which failures are known and that they are owned;
    // the fixer was told the break is its own. Before the break and after the fix, test runs carry no such note.
    expect(team.seen.testRuns[NOTES]).toContain('[longrun: the target is known red: `node test.js` fails there');
    expect(team.seen.testRuns[NOTES]).toContain('FAIL strict.test.js');
    expect(team.seen.testRuns[NOTES]).toContain('Do not chase these failures');
    expect(team.seen.testRuns[FIXER]).toContain('[longrun: you own the known break of the target');
    expect(team.seen.testRuns[FIX]).not.toContain('[longrun:');
    expect(fs.existsSync(path.join(hub, 'longrun-known-red.json'))).toBe(false); // cleared by the green check
  });
});

describe('a planner that ignores the red alert: longrun makes the one fixer (real dev server, real git, simulator)', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let repo: string;
  let runId = '';
  const team = scenario({
    plannerActs: false,
    fallbackQueued: async () =>
      !!runId && !!(await env.client.workflow.getHandle(runId).query<RunStatusView>('status')).target?.red?.fallback,
  });

  beforeAll(async () => {
    env = await testEnv();
    h = await startHarness(env, team.respond);
    repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-fallback-')));
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    fs.rmSync(repo, { recursive: true, force: true });
  });

  it("queues its own fixer after the bound, drops the planner's late one, and the branch is green again", async () => {
    runId = `fallback-${Date.now().toString(36)}`;
    const handle = await env.client.workflow.start('autonomousRun', {
      taskQueue: h.taskQueue,
      workflowId: runId,
      args: [
        {
          repo,
          goal: 'Fix sub() and add tests.',
          testCommand: 'node test.js',
          models: TEST_MODELS,
          // The planner never makes a fixer of its own in time: any bound gives the same run; a short one is quick.
          limits: { maxParallelAgents: 1, maxDepth: 0, maxCycles: 2, verifyEveryMerges: 1, fixerWaitMinutes: 0.01 },
        },
      ],
    });
    const result: RunResult = await handle.result();
    expect(team.seen.alerts).toHaveLength(1);
    const fixers = team.seen.workerStarts.filter((t) => LONGRUN_FIXER.test(t) || t === FIXER);
    expect(fixers).toHaveLength(1);
    expect(fixers[0]).toMatch(LONGRUN_FIXER);
    expect(team.seen.plannerToldFixerExists).toBe(true);
    expect(result.status).toBe('done');
    expect(result.cycles).toBe(1);
    expect(result.lastReceipt?.passed).toBe(true);
    const pattern = (result.history[0].checks ?? []).map((c) => (c.passed ? 'G' : 'R')).join('');
    expect(pattern).toMatch(/^G+R+G+$/);
    // The notes worker's test run came after longrun queued the fixer, before it started; the fixer owns the break.
    expect(team.seen.testRuns[NOTES]).toContain('the target is known red');
    expect(team.seen.testRuns[fixers[0]]).toContain('you own the known break of the target');
    expect(git(repo, 'show', `longrun/${runId}:tests/strict.test.js`)).toContain('add(1, 1), 2)');
  });
});

describe("mergePolicy 'tests-pass': the breaking merge is refused (real dev server, real git, simulator)", () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let repo: string;
  const team = scenario({ plannerActs: true, breakLands: false });

  beforeAll(async () => {
    env = await testEnv();
    h = await startHarness(env, team.respond);
    repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-tests-pass-')));
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    fs.rmSync(repo, { recursive: true, force: true });
  });

  it('tells the worker why, it fixes its own test, and the target is never red', async () => {
    const runId = `tests-pass-${Date.now().toString(36)}`;
    const result: RunResult = await env.client.workflow.execute('autonomousRun', {
      taskQueue: h.taskQueue,
      workflowId: runId,
      args: [
        {
          repo,
          goal: 'Fix sub() and add tests.',
          testCommand: 'node test.js',
          mergePolicy: 'tests-pass',
          models: TEST_MODELS,
          limits: { maxParallelAgents: 1, maxDepth: 0, maxCycles: 2, verifyEveryMerges: 1 },
        },
      ],
    });
    expect(result.status).toBe('done');
    expect(team.seen.refused).toEqual([BREAK]);
    expect(team.seen.alerts).toHaveLength(0);
    expect(result.history[0].tasks).toEqual({ merged: 3, failed: 0, abandoned: 0 });
    const checks = result.history[0].checks ?? [];
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.every((c) => c.passed)).toBe(true);
    expect(git(repo, 'show', `longrun/${runId}:tests/strict.test.js`)).toContain('add(1, 1), 2)');
  });
});
