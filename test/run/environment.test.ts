import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ScenarioFn, SimRequest, SimResponse, SimToolCallSpec } from '../../src/sim/types';
import { workflowMetadataQuery } from '@temporalio/workflow';
import type { StatusJson } from '../../src/cli/commands/status';
import { envPaths } from '../../src/workspace/environment';
import { statusQuery, type RunEnvironment, type RunResult } from '../../src/workflows/definitions';
import { cleanEnv, longrun } from '../cli/helpers';
import { npmLockfileChange, npmProjectFiles, pythonProjectFiles } from '../helpers/dep-fixtures';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { testEnv } from '../helpers/temporal';
import { makeUserRepo } from '../workspace/fixtures';
import { git, resultWithin, rmrf, runIdFor, startRunWithCli } from '../faults/helpers/runs';
import { who } from '../faults/helpers/scenarios';

/**
 * Issue #12: a project with dependencies. The run is given no `setup`: longrun detects it from the lockfile, installs
 * once before any agent starts, and the worker's own `run_command` of the test command passes in its sandbox (no
 * network, no install of its own), as does verification; the judge's `done` is accepted in one cycle.
 */

const RUN_TIMEOUT_MS = 4 * 60_000;
const OTHER_RUN = 'env-other-run';

interface Project {
  name: string;
  files: () => Promise<Record<string, string | Buffer>>;
  testCommand: string;
  /** The worker's change: a file and its test. */
  change: Array<{ path: string; content: string }>;
  setupCommand: RegExp;
  /** The ecosystem detected, when not the project's name. */
  source?: string;
  /** The change edits the lockfile: the worker asks for its environment again before running the tests. */
  prepares?: boolean;
}

let lockfileChange: Awaited<ReturnType<typeof npmLockfileChange>> | undefined;
const lockfileChanged = async () => (lockfileChange ??= await npmLockfileChange());
const EVEN_CHANGE = [
  {
    path: 'even.js',
    content: "const isEven = require('tiny-even');\nmodule.exports = (n) => isEven(n);\n",
  },
  {
    path: 'even.test.js',
    content:
      "const test = require('node:test');\nconst assert = require('node:assert');\nconst even = require('./even');\n" +
      "test('even', () => assert.strictEqual(even(4), true));\n",
  },
];

const PROJECTS: Project[] = [
  {
    name: 'npm',
    files: npmProjectFiles,
    testCommand: 'npm test',
    change: [
      {
        path: 'triple.js',
        content:
          "const isNumber = require('tiny-number');\nmodule.exports = (n) => {\n" +
          "  if (!isNumber(n)) throw new TypeError('not a number');\n  return 3 * n;\n};\n",
      },
      {
        path: 'triple.test.js',
        content:
          "const test = require('node:test');\nconst assert = require('node:assert');\nconst triple = require('./triple');\n" +
          "test('triple', () => assert.strictEqual(triple(2), 6));\n",
      },
    ],
    setupCommand: /^npm ci/,
  },
  {
    name: 'pip',
    files: pythonProjectFiles,
    testCommand: '.venv/bin/python -m unittest -v',
    change: [
      {
        path: 'eighth.py',
        content: 'from tiny_half import half\n\n\ndef eighth(n):\n    return half(half(half(n)))\n',
      },
      {
        path: 'test_eighth.py',
        content:
          'import unittest\n\nfrom eighth import eighth\n\n\nclass EighthTest(unittest.TestCase):\n' +
          '    def test_eighth(self):\n        self.assertEqual(eighth(16), 2)\n',
      },
    ],
    setupCommand: /^python3 -m venv \.venv/,
  },
  {
    // A task adds a dependency: its lockfile changes, so its workspace gets a second environment (one more setup).
    name: 'npm-lockfile',
    source: 'npm',
    files: async () => (await lockfileChanged()).files,
    testCommand: 'npm test',
    change: EVEN_CHANGE, // + package.json and package-lock.json, filled in beforeAll
    setupCommand: /^npm ci/,
    prepares: true,
  },
];

const tag = (name: string) => `[project ${name}]`;
let ids = 0;
const call = (name: string, args: unknown): SimToolCallSpec => ({ id: `env_${++ids}`, name, arguments: args });
const tools = (...calls: SimToolCallSpec[]): SimResponse => ({ toolCalls: calls });

/** One planner task, a worker that writes the change and runs the project's tests itself, a judge that says done. */
function team(seen: SimRequest[]): ScenarioFn {
  return async (req: SimRequest) => {
    if (req.text.includes(tag('broken'))) seen.push(req);
    if (req.text.includes(tag('cancel'))) {
      seen.push(req);
      return { text: 'Still reading the code.' }; // planning goes on until the run is cancelled
    }
    const project = PROJECTS.find((p) => req.text.includes(tag(p.name)));
    if (!project) return null;
    seen.push(req);
    const w = who(req);
    if (w.role === 'planner') {
      const task = {
        title: 'Add the helper',
        description: 'Add it with a test.',
        acceptance: ['tests pass'],
        files: [],
      };
      return tools(
        call('submit_plan', {
          rationale: 'One task.',
          tasks: req.turn > 0 ? [] : [task],
          subplanners: [],
          done: req.turn > 0,
        }),
      );
    }
    if (w.role === 'judge') {
      return tools(
        call('submit_verdict', { decision: 'done', reasons: ['Tests pass.'], nextFocus: '', scratchpad: '' }),
      );
    }
    if (w.role !== 'worker') return { text: 'Summary.' };
    const steps: SimResponse[] = [
      tools(...project.change.map((f) => call('write_file', f))),
      ...(project.prepares ? [tools(call('prepare_environment', {}))] : []),
      tools(call('run_command', { command: project.testCommand })),
      tools(
        call('finish', {
          outcome: 'done',
          summary: 'Added the helper; the tests pass.',
          notes: '',
          concerns: [],
          deviations: [],
          findings: [],
        }),
      ),
    ];
    return steps[Math.min(req.turn, steps.length - 1)];
  };
}

describe('a project with dependencies, no setup given, in the sandbox', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  const seen: SimRequest[] = [];
  const roots: string[] = [];
  const repos = new Map<string, string>();
  const runIds = new Map(PROJECTS.map((p) => [p.name, runIdFor(`env-${p.name}`)]));
  const results = new Map<string, RunResult>();

  beforeAll(async () => {
    const { changed } = await lockfileChanged();
    PROJECTS.find((p) => p.prepares)!.change.push(
      ...Object.entries(changed).map(([file, content]) => ({ path: file, content })),
    );
    env = await testEnv();
    h = await startHarness(env, team(seen), { LONGRUN_SANDBOX: 'bwrap' });
    // Another run's prepared environment on the same host: no run here may remove it.
    fs.mkdirSync(envPaths.key(h.home, OTHER_RUN, 'k1'), { recursive: true });
    fs.writeFileSync(path.join(envPaths.key(h.home, OTHER_RUN, 'k1'), 'READY'), '{}');
    await Promise.all(
      PROJECTS.map(async (p) => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), `longrun-env-${p.name}-`));
        roots.push(root);
        const repo = await makeUserRepo(root, await p.files());
        repos.set(p.name, repo);
        const runId = runIds.get(p.name)!;
        startRunWithCli(env.address, h.taskQueue, runId, {
          repo,
          goal: `Add the helper. ${tag(p.name)}`,
          testCommand: p.testCommand,
          models: TEST_MODELS,
          limits: { maxParallelAgents: 1, maxCycles: 3, maxDepth: 0 },
        });
        results.set(p.name, await resultWithin(env.client, runId, RUN_TIMEOUT_MS));
      }),
    );
  }, RUN_TIMEOUT_MS + 60_000);
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    rmrf(...roots);
  });

  it.each(PROJECTS.map((p) => [p.name]))('%s: done in one cycle, the task merged, the receipt passes', (name) => {
    const result = results.get(name)!;
    expect(result.status).toBe('done');
    expect(result.cycles).toBe(1);
    expect(result.tasks).toMatchObject({ merged: 1, failed: 0 });
    expect(result.lastReceipt).toMatchObject({ passed: true, exitCode: 0 });
    const files = git(repos.get(name)!, 'ls-tree', '-r', '--name-only', `longrun/${runIds.get(name)}`);
    const project = PROJECTS.find((p) => p.name === name)!;
    for (const f of project.change) expect(files).toContain(f.path);
    expect(files).not.toMatch(/node_modules|\.venv/); // the shared install is never committed
  });

  it.each(PROJECTS.map((p) => [p.name]))("%s: the worker's own test command passed in its sandbox", (name) => {
    const project = PROJECTS.find((p) => p.name === name)!;
    const ran = seen
      .filter((r) => r.text.includes(tag(name)) && who(r).role === 'worker')
      .flatMap((r) => r.messages.filter((m) => m.role === 'tool').map((m) => m.text))
      .find((t) => t.startsWith(`$ ${project.testCommand}`));
    expect(ran).toMatch(/^\[exit 0, [\d.]+s, sandboxed\]$/m);
  });

  it.each(PROJECTS.map((p) => [p.name]))('%s: the detected setup is in the memo and the status', async (name) => {
    const project = PROJECTS.find((p) => p.name === name)!;
    const handle = env.client.workflow.getHandle(runIds.get(name)!);
    const memo = (await handle.describe()).memo as { environment?: RunEnvironment };
    expect(memo.environment?.command).toMatch(project.setupCommand);
    expect(memo.environment?.source).toBe(project.source ?? name);
    const status = await handle.query(statusQuery);
    expect(status.environment).toEqual(memo.environment);
  });

  it.each(PROJECTS.map((p) => [p.name]))(
    "%s: setup's output is kept, and its path is in the Web UI details and `longrun status`",
    async (name) => {
      const runId = runIds.get(name)!;
      const handle = env.client.workflow.getHandle(runId);
      const { environment } = (await handle.describe()).memo as { environment: RunEnvironment };
      // In the artifact store, not in the run's caches (gone with the run, below).
      expect(environment.log).toBe(path.join(h.home, 'artifacts', 'setup', runId, path.basename(environment.log!)));
      expect(fs.readFileSync(environment.log!, 'utf8').startsWith(`$ ${environment.command}\n`)).toBe(true);
      const source = PROJECTS.find((p) => p.name === name)!.source ?? name;
      const line = `setup: \`${environment.command}\` (detected: ${source}), log: ${environment.log}`;
      expect((await handle.query(workflowMetadataQuery)).currentDetails).toContain(line);
      const cli = cleanEnv({ TEMPORAL_ADDRESS: env.address });
      const json = await longrun(['status', runId, '--json'], cli);
      expect(json.code).toBe(0);
      expect((JSON.parse(json.stdout) as StatusJson).environment).toEqual(environment);
      const text = await longrun(['status', runId], cli);
      expect(text.stdout).toContain(line);
    },
  );

  it('a lockfile changed by a task: one more setup, for its workspace, which then passes its tests', async () => {
    const runId = runIds.get('npm-lockfile')!;
    const { environment } = (await env.client.workflow.getHandle(runId).describe()).memo as {
      environment: RunEnvironment;
    };
    const baseKey = path.basename(environment.log!, '.log');
    const worker = seen.filter((r) => r.text.includes(tag('npm-lockfile')) && who(r).role === 'worker');
    const results = worker.flatMap((r) => r.messages.filter((m) => m.role === 'tool').map((m) => m.text));
    const prepared = results.find((t) => t.startsWith('Dependencies ready'));
    const newKey = /environment ([0-9a-f]{20})\)/.exec(prepared ?? '')?.[1];
    expect(newKey).toBeDefined();
    expect(newKey).not.toBe(baseKey);
    // Two setups in all: the base commit's, and the task's new lockfile's (verification of the merged tip reuses it).
    const logs = fs.readdirSync(path.dirname(environment.log!)).sort();
    expect(logs).toEqual([`${baseKey}.log`, `${newKey}.log`].sort());
    // The other projects' runs set up once each.
    for (const name of ['npm', 'pip']) {
      expect(fs.readdirSync(path.join(h.home, 'artifacts', 'setup', runIds.get(name)!))).toHaveLength(1);
    }
  });

  it("caches go with the run that ends; another run's cache is untouched", () => {
    for (const runId of runIds.values()) expect(fs.existsSync(envPaths.run(h.home, runId))).toBe(false);
    expect(fs.readFileSync(path.join(envPaths.key(h.home, OTHER_RUN, 'k1'), 'READY'), 'utf8')).toBe('{}');
  });

  it('a cancelled run removes its caches too', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-env-cancel-'));
    roots.push(root);
    const repo = await makeUserRepo(root, { 'README.md': '# cancel\n' });
    const runId = runIdFor('env-cancel');
    startRunWithCli(env.address, h.taskQueue, runId, {
      repo,
      goal: `Anything. ${tag('cancel')}`,
      setup: 'true',
      models: TEST_MODELS,
    });
    const handle = env.client.workflow.getHandle(runId);
    for (let i = 0; i < 600 && !seen.some((r) => r.text.includes(tag('cancel'))); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(seen.some((r) => r.text.includes(tag('cancel')))).toBe(true); // the planner runs: setup is done
    expect(fs.existsSync(envPaths.run(h.home, runId))).toBe(true);
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(fs.existsSync(envPaths.run(h.home, runId))).toBe(false);
  });

  it('a failing setup fails the run before any agent starts, with the command, exit code and output', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-env-broken-'));
    roots.push(root);
    const repo = await makeUserRepo(root, { 'README.md': '# broken\n' });
    const runId = runIdFor('env-broken');
    const setup = 'echo fetching; echo "E404 no-such-package" >&2; exit 7';
    startRunWithCli(env.address, h.taskQueue, runId, {
      repo,
      goal: `Anything. ${tag('broken')}`,
      setup,
      models: TEST_MODELS,
    });
    const err = await env.client.workflow
      .getHandle(runId)
      .result()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('SetupFailed');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain(`setup \`${setup}\``);
    expect(cause.message).toContain('failed: exit 7');
    expect(cause.message).toMatch(/fetching\nE404 no-such-package/);
    expect(seen.filter((r) => r.text.includes(tag('broken')))).toHaveLength(0); // no agent ran
    // Its full output is kept and named; its half-made install is not.
    const log = /Full output: (\S+)\. /.exec(cause.message)?.[1];
    expect(fs.readFileSync(log!, 'utf8')).toBe(`$ ${setup}\nfetching\nE404 no-such-package\n`);
    expect(fs.existsSync(envPaths.run(h.home, runId))).toBe(false);
  });
});
