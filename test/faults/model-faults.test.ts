import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { teamScenario } from '../../src/demo/team-scenario';
import type { SimRecord } from '../../src/sim';
import type { ScenarioFn, SimRequest } from '../../src/sim/types';
import type { RunResult } from '../../src/workflows/definitions';
import { startHarness, TEST_MODELS, type Harness } from '../helpers/harness';
import { testEnv } from '../helpers/temporal';
import {
  duplicates,
  LONG,
  report,
  requestsOf,
  resultWithin,
  rmrf,
  runIdFor,
  sampleRepo,
  startRunWithCli,
  taskTrailers,
  teamInput,
  treeContents,
} from './helpers/runs';
import { byRunTag, who, withFaults, type FaultLog, type FaultRule } from './helpers/scenarios';

/**
 * Model faults from the simulator, through the real SDKs: every run either completes or ends with a recorded,
 * readable reason; retries are bounded; no retry storm (model requests stay within 1.5x of the fault-free run).
 * The runs share one simulator and one worker and run concurrently (each is mostly waiting on retry delays); the
 * run's tag in its goal routes each request to that run's fault plan.
 */
const RUN_TIMEOUT_MS = (LONG ? 20 : 8) * 60_000;
/** The model activity's retry policy (src/workflows/activities.ts): no request is sent more often than this. */
const MAX_ATTEMPTS = 8;

const worker = (title: string, turn?: number) => (r: SimRequest) => {
  const w = who(r);
  return w.role === 'worker' && w.title.startsWith(title) && (turn === undefined || w.turn === turn);
};
const role = (name: string, turn?: number) => (r: SimRequest) =>
  who(r).role === name && (turn === undefined || r.turn === turn);
const planner = (cycle: number, turn?: number) => (r: SimRequest) => role('planner', turn)(r) && who(r).cycle === cycle;

interface Case {
  name: string;
  rules: FaultRule[];
  limits?: Record<string, number>;
  expectStatus: RunResult['status'];
  /** The result branch equals the fault-free run's. */
  sameTree: boolean;
  check?: (result: RunResult, requests: SimRecord[]) => void;
}

const n = LONG ? 2 : 1; // the long version makes storms longer

const CASES: Case[] = [
  {
    name: 'http-transient',
    rules: [
      // A 429 storm: the first requests of every worker get rate-limited, with retry-after.
      { name: '429 storm', when: role('worker'), times: 6 * n, http: { status: 429, retryAfterSeconds: 1 } },
      { name: '529 overloaded', when: role('judge'), times: 2, http: { status: 529 } },
      { name: '500 planner', when: planner(1, 0), times: 1, http: { status: 500 } },
      { name: '500 sub-planner', when: role('subplanner'), times: 2, http: { status: 500 } },
    ],
    expectStatus: 'done',
    sameTree: true,
  },
  {
    name: 'hangs',
    rules: [
      { name: 'hang worker', when: worker('Add max()', 0), times: n, http: { kind: 'hang' } },
      { name: 'hang planner', when: planner(1, 1), times: 1, http: { kind: 'hang' } },
    ],
    expectStatus: 'done',
    sameTree: true,
  },
  {
    name: 'bad-tool-calls',
    rules: [
      { name: 'malformed write', when: worker('Add clamp()', 0), conversation: 'malformed-json' },
      { name: 'malformed plan', when: role('subplanner', 1), conversation: 'malformed-json' },
      { name: 'unknown tool worker', when: worker('Add mean()', 0), conversation: 'unknown-tool' },
      { name: 'unknown tool planner', when: planner(1, 0), conversation: 'unknown-tool' },
      { name: 'unknown tool judge', when: role('judge', 0), conversation: 'unknown-tool' },
    ],
    expectStatus: 'done',
    sameTree: true,
    check: (_result, requests) => {
      const text = requests.map((r) => JSON.stringify(r.body)).join('\n');
      expect(text).toContain('were not valid JSON');
      expect(text).toContain("unknown tool 'write_file_v2'");
      expect(text).toContain("unknown tool 'list_dir_v2'");
      expect(text).toContain("Unknown tool 'submit_verdict_v2'");
    },
  },
  {
    name: 'invalid-plan-once',
    rules: [
      { name: 'invalid plan', when: planner(1), conversation: 'invalid-plan' },
      { name: 'empty replies worker', when: worker('Fix sub()'), times: 2, conversation: 'empty-reply' },
      { name: 'empty reply judge', when: role('judge'), conversation: 'empty-reply' },
    ],
    expectStatus: 'done',
    sameTree: true,
    check: (result, requests) => {
      expect(result.history.map((c) => c.plannerError)).toEqual([null, null]);
      const text = requests.map((r) => JSON.stringify(r.body)).join('\n');
      expect(text).toContain('Your plan is invalid');
      expect(text).toContain('Continue by calling a tool');
    },
  },
  {
    name: 'invalid-plan-twice',
    rules: [{ name: 'invalid plan x2', when: planner(1), times: 2, conversation: 'invalid-plan' }],
    limits: { maxCycles: 2 },
    expectStatus: 'max_cycles',
    sameTree: false,
    check: (result) => {
      expect(result.reason).toBe('reached maxCycles (2)');
      expect(result.history[0].plannerError).toBe(
        'the planner submitted an invalid plan twice: rationale: rationale must not be empty; tasks.0.acceptance: give at least one acceptance criterion',
      );
      expect(result.history[0].tasks).toEqual({ merged: 0, failed: 0, abandoned: 0 });
      // The next cycle planned again and worked.
      expect(result.history[1].plannerError).toBeNull();
      expect(result.history[1].tasks.merged).toBe(1);
    },
  },
  {
    name: 'empty-replies-exhausted',
    rules: [{ name: 'empty x3', when: worker('Add clamp()'), times: 3, conversation: 'empty-reply' }],
    expectStatus: 'done',
    sameTree: false,
    check: (result) => {
      const clamp = result.history[0].unmerged.find((u) => u.title.startsWith('Add clamp()'));
      expect(clamp?.status).toBe('abandoned');
      expect(clamp?.summary).toBe(
        'Abandoned: the model answered 3 times without calling a tool. Work so far is checkpointed on the task branch.',
      );
    },
  },
  {
    // A non-retryable model error (400): one attempt, the task fails with the provider's message, the run goes on.
    name: 'non-retryable-400',
    rules: [
      {
        name: '400 worker',
        when: worker('Add max()', 0),
        http: { status: 400, message: 'messages.3: tool_use ids must be unique (simulated)' },
      },
    ],
    expectStatus: 'done',
    sameTree: false,
    check: (result, requests) => {
      const max = result.history[0].unmerged.find((u) => u.title.startsWith('Add max()'));
      expect(max?.status).toBe('failed');
      // The provider's message, not the generic "Activity task failed" of the ActivityFailure around it.
      expect(max?.summary).toMatch(/^The task failed: /);
      expect(max?.summary).toContain(
        `worker model anthropic:${TEST_MODELS.worker.model}: 400 messages.3: tool_use ids must be unique (simulated) — check the models.worker settings`,
      );
      expect(requests.filter((r) => r.outcome === 'fault:400').length).toBe(1);
    },
  },
  {
    // Retries are bounded: a model that keeps failing exhausts the activity's attempts, the task fails with the
    // provider's error, and the run goes on without it. Long version only (the backoff adds up to ~4 minutes).
    name: 'persistent-500',
    rules: [{ name: '500 forever', when: worker('Add max()'), times: MAX_ATTEMPTS, http: { status: 500 } }],
    expectStatus: 'done',
    sameTree: false,
    check: (result, requests) => {
      const max = result.history[0].unmerged.find((u) => u.title.startsWith('Add max()'));
      expect(max?.status).toBe('failed');
      expect(max?.summary).toMatch(/^The task failed: /);
      expect(max?.summary).toContain(`worker model anthropic:${TEST_MODELS.worker.model}: unavailable (HTTP 500)`);
      expect(requests.filter((r) => r.outcome === 'fault:500').length).toBe(MAX_ATTEMPTS);
    },
  },
];

/** Several cases in one run (their faults hit different agents): fewer concurrent runs for the short CI version. */
function combine(name: string, ...cases: Case[]): Case {
  return {
    name,
    rules: cases.flatMap((c) => c.rules),
    expectStatus: cases[0].expectStatus,
    sameTree: cases.every((c) => c.sameTree),
    check: (result, requests) => cases.forEach((c) => c.check?.(result, requests)),
  };
}
const byName = (name: string) => CASES.find((c) => c.name === name)!;
const RUNS: Case[] = LONG
  ? CASES
  : [
      // persistent-500 is long-only.
      combine('transient-and-hangs', byName('http-transient'), byName('hangs')),
      combine('bad-answers', byName('bad-tool-calls'), byName('invalid-plan-once')),
      byName('invalid-plan-twice'),
      combine('tasks-given-up', byName('empty-replies-exhausted'), byName('non-retryable-400')),
    ];

describe('model faults from the simulator (429 storms, 529, 500, hangs, bad tool calls, invalid plans, empty replies)', () => {
  let env: TestWorkflowEnvironment;
  let h: Harness;
  const scenarios = new Map<string, ScenarioFn>();
  const repos: string[] = [];

  beforeAll(async () => {
    env = await testEnv();
    // A hung call is cut after 2 s by the SDK timeout (classified ModelUnavailable, retried by Temporal).
    h = await startHarness(env, byRunTag(scenarios), { LONGRUN_MODEL_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    await h?.stop();
    await env?.teardown();
    rmrf(...repos);
  });

  it(
    'each run completes or ends with a readable reason; retries bounded; requests within 1.5x of the fault-free run',
    async () => {
      const started = Date.now();
      const launch = (name: string, rules: FaultRule[], limits?: Record<string, number>) => {
        const tag = runIdFor(name);
        const scenario = withFaults(teamScenario(), rules);
        scenarios.set(tag, scenario);
        const repo = sampleRepo();
        repos.push(repo);
        startRunWithCli(env.address, h.taskQueue, tag, teamInput(repo, { tag, limits }));
        const timing = { durationMs: 0 };
        const t0 = Date.now();
        const result = resultWithin(env.client, tag, RUN_TIMEOUT_MS).finally(
          () => (timing.durationMs = Date.now() - t0),
        );
        return { tag, repo, log: scenario.log, result, timing };
      };
      const baseline = launch('fault-free', []);
      // LONGRUN_FAULTS_CASES=bad-answers,invalid-plan-twice runs a subset (debugging).
      const only = process.env.LONGRUN_FAULTS_CASES?.split(',');
      const runs = RUNS.filter((c) => !only || only.includes(c.name)).map((c) => ({
        c,
        ...launch(c.name, c.rules, c.limits),
      }));
      for (const r of [baseline, ...runs]) r.result.catch(() => undefined); // awaited below, one by one

      const base = await baseline.result;
      expect(base.status).toBe('done');
      const baseRequests = requestsOf(h.sim, baseline.tag).length;
      report('model-fault-free', { durationMs: baseline.timing.durationMs, requests: baseRequests });
      const baseTree = treeContents(baseline.repo, base.resultBranch);

      const failures: string[] = [];
      for (const r of runs) {
        const result = await r.result;
        const requests = requestsOf(h.sim, r.tag);
        report(`model-${r.c.name}`, {
          status: result.status,
          durationMs: r.timing.durationMs,
          requests: requests.length,
          faultFreeRequests: baseRequests,
          ratio: +(requests.length / baseRequests).toFixed(2),
          injected: countBy(r.log),
          outcomes: countBy(requests.map((q) => ({ rule: q.outcome.replace(/\[.*$/, '') }))),
        });
        try {
          // Every planned fault was injected (a fault that never fired proves nothing).
          expect(countBy(r.log)).toEqual(Object.fromEntries(r.c.rules.map((rule) => [rule.name, rule.times ?? 1])));
          expect({ status: result.status, reason: typeof result.reason }).toEqual({
            status: r.c.expectStatus,
            reason: 'string',
          });
          expect(result.reason.length).toBeGreaterThan(0);
          // No retry storm: bounded per request, and in total.
          expect(maxRepeats(requests)).toBeLessThanOrEqual(MAX_ATTEMPTS);
          expect(requests.length).toBeLessThanOrEqual(1.5 * baseRequests);
          expect(duplicates(taskTrailers(r.repo, result.resultBranch))).toEqual([]);
          if (r.c.sameTree) expect(treeContents(r.repo, result.resultBranch)).toEqual(baseTree);
          r.c.check?.(result, requests);
        } catch (err) {
          failures.push(`${r.c.name}: ${(err as Error).message}`);
        }
      }
      report('model-faults', { durationMs: Date.now() - started, faultFreeRequests: baseRequests });
      expect(failures).toEqual([]);
    },
    RUN_TIMEOUT_MS + 60_000,
  );
});

function countBy(items: Array<{ rule: string }> | FaultLog[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i.rule] = (out[i.rule] ?? 0) + 1;
  return out;
}

/** How often the most repeated request body was sent (a retried request is sent again unchanged). */
function maxRepeats(requests: SimRecord[]): number {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const key = JSON.stringify(r.body);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return Math.max(0, ...counts.values());
}
