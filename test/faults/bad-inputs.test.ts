import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { testEnv } from '../helpers/temporal';
import { GOAL, rmrf, runIdFor, sampleRepo, startRunWithCli } from './helpers/runs';

/**
 * Bad workflow inputs, started with the real `temporal` CLI (what a user of the raw Temporal tooling can send): the
 * run's first activity rejects them before any agent starts, with a non-retryable ApplicationFailure of type
 * InvalidRunInput whose message lists EVERY problem, each naming the field and the fix.
 */
describe('bad run inputs (workflow input through the temporal CLI)', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  let noKey: Harness;
  let repo: string;
  let notGit: string;

  beforeAll(async () => {
    env = await testEnv();
    const noModel = () => null; // any model request would be a bug: validation comes first
    h = await startHarness(env, noModel);
    noKey = await startHarness(env, noModel, { ANTHROPIC_API_KEY: undefined });
    repo = sampleRepo();
    notGit = fs.mkdtempSync(path.join(os.tmpdir(), 'longrun-faults-notgit-'));
  });
  afterAll(async () => {
    await h?.stop();
    await noKey?.stop();
    await env?.teardown();
    rmrf(repo, notGit);
  });

  interface Case {
    name: string;
    input: () => Record<string, unknown>;
    problems: () => string[];
    runId?: string;
    harness?: () => Harness;
    /** Problems from different checks: their order is the implementation's choice. */
    anyOrder?: boolean;
  }
  const valid = () => ({ repo, goal: GOAL, testCommand: 'node test.js', models: TEST_MODELS });
  const missing = path.join(os.tmpdir(), 'longrun-no-such-repo');
  const badId = `bad id ${Date.now().toString(36)}`;

  const cases: Case[] = [
    {
      name: 'missing repo',
      input: () => ({ ...valid(), repo: missing }),
      problems: () => [`repo: ${missing} does not exist; pass the path of an existing git repository`],
    },
    {
      name: 'relative repo path',
      input: () => ({ ...valid(), repo: 'calc' }),
      problems: () => [
        'repo: "calc" is a relative path; pass an absolute path (the worker resolves it on its own host)',
      ],
    },
    {
      name: 'not a git repository',
      input: () => ({ ...valid(), repo: notGit }),
      problems: () => [
        `repo: ${notGit} is not a git repository; run \`git init && git add -A && git commit\` there, or pass another path`,
      ],
    },
    {
      name: 'empty goal',
      input: () => ({ ...valid(), goal: '   ' }),
      problems: () => ['goal: must describe what the run should achieve, e.g. "Add input validation to the CLI"'],
    },
    {
      name: 'unknown role in models',
      input: () => ({ ...valid(), models: { ...TEST_MODELS, architect: { provider: 'openai', model: 'gpt-5' } } }),
      problems: () => ['models: unknown role "architect"; roles are planner, subplanner, worker, judge, compactor'],
    },
    {
      name: 'unknown provider',
      input: () => ({
        ...valid(),
        models: { ...TEST_MODELS, worker: { provider: 'mistral', model: 'mistral-large' } },
      }),
      problems: () => ['models.worker.provider: must be one of openai, anthropic, openai-compatible'],
    },
    {
      name: 'missing provider key (worker without ANTHROPIC_API_KEY)',
      input: valid,
      harness: () => noKey,
      problems: () => [
        "roles worker, judge use provider anthropic but ANTHROPIC_API_KEY is not set in the worker's environment; " +
          'set it or choose another provider with models.worker.provider / models.judge.provider',
      ],
    },
    {
      name: 'negative limits',
      input: () => ({ ...valid(), limits: { maxParallelAgents: -1, maxCycles: 0, maxCostUsd: -5 } }),
      problems: () => [
        'limits.maxParallelAgents: Too small: expected number to be >=1',
        'limits.maxCycles: Too small: expected number to be >=1',
        'limits.maxCostUsd: Too small: expected number to be >0',
      ],
    },
    {
      name: 'unknown fields',
      input: () => ({ ...valid(), colour: 'red', limits: { maxCycle: 3 } }),
      problems: () => [
        'limits: unknown field "maxCycle"; check the spelling against the docs',
        '(input): unknown field "colour"; check the spelling against the docs',
      ],
    },
    {
      name: 'unknown merge policy',
      input: () => ({ ...valid(), mergePolicy: 'green-only' }),
      problems: () => ["mergePolicy: must be 'merge-clean' (the default) or 'tests-pass'"],
    },
    {
      name: "merge policy 'tests-pass' without a test command",
      input: () => ({ ...valid(), testCommand: undefined, mergePolicy: 'tests-pass' }),
      problems: () => [
        "mergePolicy: 'tests-pass' needs a testCommand to run on each merge; set testCommand or drop mergePolicy",
      ],
    },
    {
      name: 'bad run id',
      input: valid,
      runId: badId,
      problems: () => [
        `workflow id "${badId}": becomes a git branch name; use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      ],
    },
    {
      // Every problem at once: the user fixes them in one go, not one per attempt.
      name: 'every problem at once',
      input: () => ({ ...valid(), repo: 'calc', goal: '', limits: { maxCycles: 0 }, colour: 'red' }),
      runId: `${badId}-all`,
      anyOrder: true,
      problems: () => [
        `workflow id "${badId}-all": becomes a git branch name; use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`,
        'goal: must describe what the run should achieve, e.g. "Add input validation to the CLI"',
        'limits.maxCycles: Too small: expected number to be >=1',
        '(input): unknown field "colour"; check the spelling against the docs',
        'repo: "calc" is a relative path; pass an absolute path (the worker resolves it on its own host)',
      ],
    },
  ];

  it.each(cases.map((c) => [c.name, c] as const))(
    '%s: fails InvalidRunInput, non-retryable, with the exact problems',
    async (_name, c) => {
      const harness = c.harness?.() ?? h;
      const runId = c.runId ?? runIdFor('bad-input');
      startRunWithCli(env.address, harness.taskQueue, runId, c.input());
      const handle = env.client.workflow.getHandle(runId);
      const err = await handle.result().then(
        () => null,
        (e: unknown) => e,
      );

      // The run itself fails with the validation's failure (not wrapped in an ActivityFailure), so `temporal workflow
      // describe` and the Web UI show the problems as the run's failure.
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({
        type: 'InvalidRunInput',
        nonRetryable: true,
      });
      const problems = c.problems();
      // Order-insensitive first, so a missing problem shows as such; then the exact message.
      expect([...((failure.details?.[0] as string[]) ?? [])].sort()).toEqual([...problems].sort());
      const header = `Invalid run input (${problems.length} problem${problems.length === 1 ? '' : 's'}):`;
      if (c.anyOrder) {
        const [first, ...lines] = failure.message.split('\n- ');
        expect({ header: first, lines: lines.sort() }).toEqual({ header, lines: [...problems].sort() });
      } else {
        expect(failure.message).toBe(`${header}\n- ${problems.join('\n- ')}`);
      }

      // Validated once (non-retryable), before any agent: no model request, no hub.
      const history = await handle.fetchHistory();
      const events = history.events ?? [];
      const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes);
      expect(scheduled.map((e) => e.activityTaskScheduledEventAttributes!.activityType?.name)).toEqual(['validateRun']);
      const attempts = events.filter((e) => e.activityTaskStartedEventAttributes);
      expect(attempts.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1]);
      expect(harness.sim.requests).toEqual([]);
      expect(fs.existsSync(path.join(harness.home, 'hubs'))).toBe(false);
    },
  );
});
