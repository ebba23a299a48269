/**
 * docs/temporal-recipes.md, held to the real Temporal CLI: every `temporal …` command in the page uses only flags that
 * `temporal <command> --help` (or `temporal options`) lists, and the recipes are run, as written (with the run id,
 * task queue and repository swapped for the test's), against the dev server and a longrun worker on simulated models.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createSampleRepo } from '../../src/demo/sample-repo';
import { teamScenario } from '../../src/demo/team-scenario';
import type { SimRequest } from '../../src/sim/types';
import type { RunResult, RunStatusView } from '../../src/workflows/definitions';
import { startHarness, type Harness } from '../helpers/harness';
import { temporalCli, testEnv } from '../helpers/temporal';
import { bashBlocks, splitArgs, temporalCommands } from './markdown';

const run = promisify(execFile);
const DOC = path.join(__dirname, '..', '..', 'docs', 'temporal-recipes.md');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The flags `temporal <path…> --help` and `temporal options` accept, cached. */
const helpCache = new Map<string, Set<string>>();
async function flagsOf(cmdPath: string[]): Promise<Set<string>> {
  const key = cmdPath.join(' ');
  let flags = helpCache.get(key);
  if (!flags) {
    const help =
      (await run(temporalCli(), [...cmdPath, '--help'])).stdout + (await run(temporalCli(), ['options'])).stdout;
    flags = new Set([...help.matchAll(/(?:^|[\s,])(--?[a-zA-Z][\w-]*)/gm)].map((m) => m[1]));
    helpCache.set(key, flags);
  }
  return flags;
}

describe('docs/temporal-recipes.md', () => {
  const commands = temporalCommands(bashBlocks(fs.readFileSync(DOC, 'utf8')));

  it('uses only commands and flags the Temporal CLI has', async () => {
    expect(commands.length).toBeGreaterThan(25);
    for (const cmd of commands) {
      const args = splitArgs(cmd).slice(1);
      const cmdPath = args.slice(0, args.findIndex((a) => a.startsWith('-')) >>> 0);
      const help = (await run(temporalCli(), [...cmdPath, '--help'])).stdout;
      expect({ cmd, isCommand: /^Usage:\n\s+temporal /m.test(help) && !/Available Commands:/.test(help) }).toEqual({
        cmd,
        isCommand: true,
      });
      const known = await flagsOf(cmdPath);
      const used = args.filter((a) => /^--?[a-zA-Z]/.test(a)).map((a) => a.split('=')[0]);
      expect({ cmd, unknown: used.filter((f) => !known.has(f)) }).toEqual({ cmd, unknown: [] });
    }
  });

  describe('run against a dev server', () => {
    let env: TestWorkflowEnvironment;
    let h: Harness;
    let repo: string;
    const ids = {
      a: `recipes-a-${Date.now().toString(36)}`,
      b: `recipes-b-${Date.now().toString(36)}`,
      c: `recipes-c-${Date.now().toString(36)}`,
    };

    beforeAll(async () => {
      env = await testEnv();
      // Slow, never-done runs: time to steer them, and they continue as new after cycle 1.
      const team = teamScenario({ judge: 'always-continue', workerExploreTurns: 3 });
      h = await startHarness(env, async (req: SimRequest) => {
        const answer = team(req);
        return answer ? { ...answer, latency: { ms: 150 } } : answer;
      });
      repo = createSampleRepo(fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-recipes-')));
    });
    afterAll(async () => {
      for (const id of Object.values(ids))
        await env?.client.workflow
          .getHandle(id)
          .terminate('test cleanup')
          .catch(() => undefined);
      await h?.stop();
      await env?.teardown();
      if (repo) fs.rmSync(repo, { recursive: true, force: true });
    });

    /** The doc's command matching `pattern`, adapted to this test and run with the Temporal CLI. */
    const pick = (pattern: RegExp) => {
      const found = commands.filter((c) => pattern.test(c));
      if (found.length !== 1)
        throw new Error(`expected one recipe matching ${pattern}, found ${found.length}: ${found.join(' | ')}`);
      return found[0];
    };
    async function recipe(pattern: RegExp, runId = ids.a, replace: Array<[RegExp, string]> = []): Promise<string> {
      let cmd = pick(pattern)
        .replace(/\bmy-run\b/g, runId)
        .replace(/--task-queue longrun@worker-1/, `--task-queue ${h.taskQueue}@${h.env.LONGRUN_HOST_ID}`)
        .replace(/--task-queue longrun\b/, `--task-queue ${h.taskQueue}`)
        .replace('/srv/repos/myapp', repo);
      for (const [from, to] of replace) cmd = cmd.replace(from, to);
      const [bin, ...args] = splitArgs(cmd);
      expect(bin).toBe('temporal');
      try {
        const { stdout } = await run(temporalCli(), args, {
          env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default' },
          timeout: 120_000,
        });
        if (process.env.DEBUG_RECIPES) console.log(`$ ${cmd}\n${stdout}`);
        return stdout;
      } catch (err) {
        throw new Error(`recipe failed: ${cmd}\n${(err as { stderr?: string }).stderr ?? err}`);
      }
    }
    const status = (id: string) => env.client.workflow.getHandle(id).query<RunStatusView>('status');
    async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> {
      const deadline = Date.now() + ms;
      for (;;) {
        const v = await probe().catch(() => undefined);
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(250);
      }
    }
    const runningCount = async (query: string) => {
      let n = 0;
      for await (const _ of env.client.workflow.list({ query })) n++;
      return n;
    };

    it('starts, watches, steers, finds, shows and stops a run, and returns its result', async () => {
      expect(await recipe(/workflow start .*--input '/s)).toContain(ids.a);
      const first = await until('the status query', () => status(ids.a));
      expect(first.runId).toBe(ids.a);

      // Watch.
      const worker = `${ids.a}/c1/planner/t2`;
      await until('task t2 at work', () => env.client.workflow.getHandle(worker).query('agent'));
      const queried = JSON.parse(await recipe(/query --workflow-id my-run --name status/, ids.a, [[/$/, ' -o json']]));
      expect(queried.queryResult[0]).toMatchObject({ runId: ids.a, cycle: 1 });
      expect(await recipe(/metadata --workflow-id my-run$/)).toMatch(/cycle 1/);
      await until('current details of t2', async () =>
        (await recipe(/metadata --workflow-id my-run\/c1\/planner\/t2/)).includes('**worker**'),
      );
      expect(JSON.parse(await recipe(/--name agent/, ids.a, [[/$/, ' -o json']])).queryResult[0]).toMatchObject({
        id: worker,
        role: 'worker',
      });
      expect(await recipe(/describe --workflow-id my-run$/)).toContain(ids.a);

      // Steer.
      await recipe(/--name pause/);
      await until('paused', async () => (await status(ids.a)).paused);
      await recipe(/--name resume/);
      await until('resumed', async () => !(await status(ids.a)).paused);
      await recipe(/--name replan/);
      expect(await recipe(/update execute .*--name guide/)).toMatch(/accepted:true/);

      // Find.
      expect(await recipe(/list --query 'LongrunRole="run"'$/)).toContain(ids.a);
      expect(await recipe(/LongrunRole="run" AND ExecutionStatus="Running"'$/)).toContain(ids.a);
      expect(await recipe(/list --query 'LongrunRunId="my-run"'$/)).toContain(`${ids.a}/c1/planner`);
      await recipe(/LongrunRole="worker" AND ExecutionStatus="Running"/);
      expect(await recipe(/workflow count/)).toMatch(/Total: \d+/);
      await recipe(/STARTS_WITH/);
      await recipe(/LongrunCostUsd > 10/);

      // Cycle 2: the run continued as new.
      await until('cycle 2', async () => (await status(ids.a)).cycle >= 2, 120_000);
      await until('a cycle-2 worker', async () => (await recipe(/LongrunCycle=2/)).includes(`${ids.a}/c2/planner/t`));
      const executions = await recipe(/list --query 'WorkflowId="my-run"'/);
      expect(executions).toMatch(/ContinuedAsNew/);
      const listed = JSON.parse(
        (
          await run(temporalCli(), [
            'workflow',
            'list',
            '--address',
            env.address,
            '--query',
            `WorkflowId="${ids.a}" AND ExecutionStatus="ContinuedAsNew"`,
            '-o',
            'json',
          ])
        ).stdout,
      ) as Array<{ execution: { runId: string } }>;
      const continued = listed[0].execution.runId;
      expect(
        await recipe(/show --workflow-id my-run --run-id/, ids.a, [[/[0-9a-f]{8}-[0-9a-f-]{27}/, continued]]),
      ).toMatch(/ContinuedAsNew|WorkflowExecutionContinuedAsNew/);
      expect(await recipe(/show --workflow-id my-run$/)).toMatch(/WorkflowExecutionStarted/);

      // Workers and task queues.
      expect(await recipe(/task-queue describe --task-queue longrun$/)).toMatch(/\S/);
      expect(await recipe(/task-queue describe --task-queue longrun@/)).toMatch(/\S/);

      // Stop, then the result.
      await recipe(/--name stop/);
      const result = JSON.parse(await recipe(/workflow result/, ids.a, [[/$/, ' -o json']])) as {
        result?: RunResult;
      } & RunResult;
      const r = result.result ?? result;
      expect(r.status).toBe('stopped');
      expect(r.cycles).toBeGreaterThanOrEqual(2);
      // The tree of the last execution, now that it has closed (on a running one, trace follows it live).
      expect(await recipe(/workflow trace/)).toContain(ids.a);
    });

    // Fails while src/workflows/task.ts and planner.ts call openWorkspace before the try/finally that closes the
    // workspace: a cancel that arrives while openWorkspace is scheduled ends the workflow without closeWorkspace,
    // and the activity still creates the worktree (seen in the histories: openWorkspace scheduled, cancel requested,
    // openWorkspace completed, workflow canceled).
    it('cancel ends the run and its whole tree, and the agents remove their worktrees', async () => {
      await recipe(/workflow start .*--input '/s, ids.b);
      await until(
        'a running worker',
        async () =>
          (await runningCount(`LongrunRunId="${ids.b}" AND LongrunRole="worker" AND ExecutionStatus="Running"`)) > 0,
      );
      await recipe(/workflow cancel --workflow-id/, ids.b);
      await until(
        'canceled',
        async () => (await env.client.workflow.getHandle(ids.b).describe()).status.name === 'CANCELLED',
      );
      await until(
        'the tree closed',
        async () => (await runningCount(`LongrunRunId="${ids.b}" AND ExecutionStatus="Running"`)) === 0,
      );
      const worktrees = path.join(h.home, 'worktrees', ids.b);
      // Every agent removes its worktree on the way out (planners' read-only checkouts too).
      const left = () => (fs.existsSync(worktrees) ? fs.readdirSync(worktrees) : []);
      await until('worktrees removed', async () => left().length === 0, 30_000).catch(() => undefined);
      expect(left()).toEqual([]);
    });

    it('terminate ends the run at once, and its children are canceled by the parent close policy', async () => {
      await recipe(/workflow start .*--input '/s, ids.c);
      await until(
        'a running worker',
        async () =>
          (await runningCount(`LongrunRunId="${ids.c}" AND LongrunRole="worker" AND ExecutionStatus="Running"`)) > 0,
      );
      await recipe(/workflow terminate --workflow-id/, ids.c);
      expect((await env.client.workflow.getHandle(ids.c).describe()).status.name).toBe('TERMINATED');
      await until(
        'the tree closed',
        async () => (await runningCount(`LongrunRunId="${ids.c}" AND ExecutionStatus="Running"`)) === 0,
      );
      let canceled = 0;
      for await (const wf of env.client.workflow.list({ query: `LongrunRunId="${ids.c}" AND LongrunRole="planner"` })) {
        if (wf.status.name === 'CANCELLED') canceled++;
      }
      expect(canceled).toBeGreaterThan(0);
    });
  });
});
