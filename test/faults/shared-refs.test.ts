import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { paths } from '../../src/config';
import type { RefIncident } from '../../src/core/types';
import type { ScenarioFn, SimRequest, SimResponse, SimToolCallSpec } from '../../src/sim/types';
import type { RunResult } from '../../src/workflows/definitions';
import { cleanEnv, longrun } from '../cli/helpers';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { testEnv } from '../helpers/temporal';
import { git, resultWithin, rmrf, runIdFor, startRunWithCli } from './helpers/runs';
import { who } from './helpers/scenarios';

/**
 * Issue #18: an agent's command must not be able to change anything shared. Two scripted workers on a plain
 * repository: B writes b.txt and is merged; then A runs a destructive git command (one per case), writes a.txt and
 * finishes. Every case must end with both files on the published branch, with bubblewrap and without it. Two cases
 * get through on purpose: a command naming the hub's path without the sandbox (put back after the command, and
 * attributed to A), and a process outside the agents moving the target (put back before A's merge).
 */

const RUN_TIMEOUT_MS = 4 * 60_000;
const B_BRANCH = 'task/c1_planner_t1'; // the plan's first task
const ROOT = '$(git rev-list --max-parents=0 HEAD)';

interface Case {
  name: string;
  /** A's command, given its run's id; none: A runs no command. */
  command?: (runId: string) => string;
  /** Moves the hub's target itself (a process outside the agents) after B merged. */
  outside?: boolean;
}

const CASES: Case[] = [
  {
    name: 'rewrite-team-branches', // the command
    command: () =>
      `for r in $(git for-each-ref --format='%(refname)' refs/heads/longrun/); do git update-ref $r ${ROOT}; done`,
  },
  {
    name: 'delete-other-branches',
    command: () =>
      `git for-each-ref --format='%(refname)' refs/heads/ | grep -vx "$(git symbolic-ref HEAD)" | ` +
      `xargs -r -n1 git update-ref -d; git branch -D ${B_BRANCH}`,
  },
  { name: 'gc-prune', command: () => 'git reflog expire --expire=now --all && git gc --prune=now --quiet' },
  {
    name: 'move-checkpoint',
    command: () => `git update-ref refs/heads/${B_BRANCH} ${ROOT} && git branch -f main HEAD~1`,
  },
  {
    name: 'push-everywhere',
    command: (runId) =>
      `git remote -v; for r in $(git remote); do git push --force --all "$r"; done; ` +
      `git push --force origin ${ROOT}:refs/heads/longrun/${runId}`,
  },
  {
    name: 'hub-by-path',
    command: (runId) =>
      `hub=$(sed 's,/objects$,,' .git/objects/info/alternates); ` +
      `git --git-dir="$hub" update-ref refs/heads/longrun/${runId} ${ROOT}`,
  },
  { name: 'outside-process', outside: true },
];

const caseTag = (name: string) => `[case ${name}]`;

let ids = 0;
const call = (name: string, args: unknown): SimToolCallSpec => ({ id: `sr_${++ids}`, name, arguments: args });
const tools = (...calls: SimToolCallSpec[]): SimResponse => ({ toolCalls: calls });
const finish = (summary: string) =>
  call('finish', { outcome: 'done', summary, notes: '', concerns: [], deviations: [], findings: [] });
const taskSpec = (file: string) => ({
  title: `Write ${file}`,
  description: `Create ${file} with one line.`,
  acceptance: [`${file} exists`],
  files: [file],
});

/** Waits (polling, no deadline of its own: the run's timeout bounds it) until the hub's target holds `file`. */
async function untilOnTarget(hubPath: string, runId: string, file: string): Promise<void> {
  for (;;) {
    try {
      execFileSync('git', ['cat-file', '-e', `refs/heads/longrun/${runId}:${file}`], { cwd: hubPath, stdio: 'ignore' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The two-worker team; each run's case is found by the tag at the end of its goal. */
function team(home: () => string, runIds: Map<string, string>, seen: SimRequest[]): ScenarioFn {
  return async (req: SimRequest) => {
    seen.push(req);
    const c = CASES.find((k) => req.text.includes(caseTag(k.name)));
    if (!c) return null;
    const runId = runIds.get(c.name)!;
    const w = who(req);
    if (w.role === 'planner') {
      // Done once A's handoff (the one that may carry an incident) has been read.
      const done = /Write a\.txt — /.test(req.text);
      return tools(
        call('submit_plan', {
          rationale: done ? 'Both files are handed off.' : 'Two independent files.',
          tasks: req.turn > 0 ? [] : [taskSpec('b.txt'), taskSpec('a.txt')],
          subplanners: [],
          done,
        }),
      );
    }
    if (w.role === 'judge') {
      return tools(
        call('submit_verdict', { decision: 'done', reasons: ['Both files merged.'], nextFocus: '', scratchpad: '' }),
      );
    }
    if (w.role !== 'worker') return { text: 'Summary.' };
    if (w.title === 'Write b.txt')
      return req.turn === 0
        ? tools(call('write_file', { path: 'b.txt', content: 'b\n' }))
        : tools(finish('Wrote b.txt.'));

    // A: after B is merged, the case's move, then its own work.
    const steps: Array<() => Promise<SimResponse>> = [];
    const hubPath = paths.hub(home(), runId);
    if (c.command) {
      steps.push(async () => {
        await untilOnTarget(hubPath, runId, 'b.txt');
        return tools(call('run_command', { command: c.command!(runId) }));
      });
    }
    steps.push(async () => {
      await untilOnTarget(hubPath, runId, 'b.txt');
      if (c.outside) git(hubPath, 'update-ref', `refs/heads/longrun/${runId}`, `refs/heads/longrun/${runId}~1`);
      return tools(call('write_file', { path: 'a.txt', content: 'a\n' }));
    });
    steps.push(async () => tools(finish('Wrote a.txt.')));
    return steps[Math.min(req.turn, steps.length - 1)]();
  };
}

/** A repository with two commits, so the root commit (what the commands move refs to) is not the run's base. */
function plainRepo(): string {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-shared-refs-'));
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'u',
    GIT_AUTHOR_EMAIL: 'u@x',
    GIT_COMMITTER_NAME: 'u',
    GIT_COMMITTER_EMAIL: 'u@x',
  };
  const run = (...args: string[]) => execFileSync('git', args, { cwd: repo, env });
  run('init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(repo, 'README.md'), '# plain\n');
  run('add', '-A');
  run('commit', '-qm', 'first');
  fs.writeFileSync(path.join(repo, 'README.md'), '# plain\n\nA plain repository.\n');
  run('commit', '-qam', 'second');
  return repo;
}

const incidentsOf = (r: RunResult): RefIncident[] => r.history.at(-1)?.incidents ?? [];

describe.each([
  ['bubblewrap', 'bwrap'],
  ['no sandbox', 'off'],
])('an agent command cannot rewrite shared refs (%s)', (_label, sandbox) => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  const runIds = new Map(CASES.map((c) => [c.name, runIdFor(`refs-${sandbox}-${c.name}`)]));
  const repos = new Map(CASES.map((c) => [c.name, '']));
  const results = new Map<string, RunResult>();
  const seen: SimRequest[] = [];

  beforeAll(async () => {
    env = await testEnv();
    h = await startHarness(
      env,
      team(() => h.home, runIds, seen),
      { LONGRUN_SANDBOX: sandbox },
    );
    // All cases at once: each is a separate run on its own repository.
    await Promise.all(
      CASES.map(async (c) => {
        const repo = plainRepo();
        repos.set(c.name, repo);
        const runId = runIds.get(c.name)!;
        startRunWithCli(env.address, h.taskQueue, runId, {
          repo,
          goal: `Write a.txt and b.txt. ${caseTag(c.name)}`,
          testCommand: 'test -f a.txt && test -f b.txt',
          models: TEST_MODELS,
          limits: { maxParallelAgents: 2, maxCycles: 1, maxDepth: 0 },
        });
        results.set(c.name, await resultWithin(env.client, runId, RUN_TIMEOUT_MS));
      }),
    );
  }, RUN_TIMEOUT_MS + 60_000);
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    rmrf(...repos.values());
  });

  /** Tool results the worker writing a.txt received. */
  const resultsOfA = (name: string) =>
    seen
      .filter((r) => r.text.includes(caseTag(name)) && who(r).role === 'worker' && who(r).title === 'Write a.txt')
      .flatMap((r) => r.messages.filter((m) => m.role === 'tool').map((m) => m.text));

  it.each(CASES.map((c) => [c.name]))(
    '%s: both tasks merged and published; the target is where longrun put it',
    (name) => {
      const result = results.get(name)!;
      const runId = runIds.get(name)!;
      expect(result.status).toBe('done');
      expect(result.tasks).toEqual({ merged: 2, failed: 0, abandoned: 0, notAttempted: 0 });
      expect(result.lastReceipt?.passed).toBe(true);
      const branch = `longrun/${runId}`;
      const files = git(repos.get(name)!, 'ls-tree', '-r', '--name-only', branch).split('\n').filter(Boolean).sort();
      expect(files).toEqual(['README.md', 'a.txt', 'b.txt']);
      expect(git(repos.get(name)!, 'show', `${branch}:README.md`)).toContain('A plain repository.');
      const hub = paths.hub(h.home, runId);
      expect(git(hub, 'rev-parse', `refs/heads/${branch}`)).toBe(
        git(hub, 'rev-parse', `refs/longrun/guard/heads/${branch}`),
      );
    },
  );

  it.each(CASES.filter((c) => c.command).map((c) => [c.name]))(
    '%s: the command ran (sandboxed where asked)',
    (name) => {
      const ran = resultsOfA(name).find((t) => t.startsWith('$ '));
      expect(ran).toBeDefined();
      if (sandbox === 'bwrap') expect(ran).toMatch(/, sandboxed\]/);
      else expect(ran).not.toMatch(/, sandboxed\]/);
    },
  );

  it("commands inside the agent's own repository get nothing through: no incident", () => {
    for (const c of CASES.filter((k) => k.command && k.name !== 'hub-by-path')) {
      expect([c.name, incidentsOf(results.get(c.name)!)]).toEqual([c.name, []]);
    }
  });

  it('a command naming the hub by path is refused by bubblewrap, or put back and attributed without it', async () => {
    const result = results.get('hub-by-path')!;
    const runId = runIds.get('hub-by-path')!;
    if (sandbox === 'bwrap') {
      expect(incidentsOf(result)).toEqual([]);
      expect(resultsOfA('hub-by-path').find((t) => t.startsWith('$ '))).toMatch(
        /Read-only file system|Permission denied|unable to|not a git repository/i,
      );
      return;
    }
    const [incident] = incidentsOf(result);
    expect(incidentsOf(result)).toHaveLength(1);
    expect(incident).toMatchObject({
      ref: `hub refs/heads/longrun/${runId}`,
      detectedBy: 'command',
      taskId: 'c1/planner/t2',
      agentId: `${runId}/c1/planner/t2`,
    });
    expect(incident.command).toContain('update-ref');
    // The agent read what happened, right after its command.
    expect(resultsOfA('hub-by-path').some((t) => t.includes('[longrun: hub refs/heads/longrun/'))).toBe(true);
    // The planner was told, with the task and the command, through the task's handoff.
    const toPlanner = seen.filter((r) => r.text.includes(caseTag('hub-by-path')) && who(r).role === 'planner');
    expect(toPlanner.some((r) => /by task c1\/planner\/t2's command `hub=/.test(r.text))).toBe(true);
    const toJudge = seen.filter((r) => r.text.includes(caseTag('hub-by-path')) && who(r).role === 'judge');
    expect(toJudge.some((r) => r.text.includes(`incident: hub refs/heads/longrun/${runId} was moved`))).toBe(true);
    // `longrun report` says what the command tried.
    const report = await longrun(
      ['report', runId],
      cleanEnv({ TEMPORAL_ADDRESS: process.env.LONGRUN_TEST_TEMPORAL_ADDRESS, LONGRUN_TASK_QUEUE: h.taskQueue }),
    );
    expect(report.code).toBe(0);
    expect(report.stdout).toContain('Incidents (restored by longrun)');
    expect(report.stdout).toMatch(/was moved to [0-9a-f]{12} by task c1\/planner\/t2's command `hub=\$\(sed/);
  });

  it('a target moved by a process outside the agents is put back before the next merge, and recorded', () => {
    const result = results.get('outside-process')!;
    const runId = runIds.get('outside-process')!;
    const incidents = incidentsOf(result);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ ref: `hub refs/heads/longrun/${runId}`, detectedBy: 'integrate' });
    expect(incidents[0].taskId).toBeUndefined();
    // The log in the hub is the record the status and the report read.
    const log = fs.readFileSync(path.join(paths.hub(h.home, runId), 'longrun-incidents.jsonl'), 'utf8');
    expect(log.trim().split('\n')).toHaveLength(1);
  });
});
