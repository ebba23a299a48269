import type { Receipt, Verdict } from '../../src/core/types';
import { emptyUsage } from '../../src/core/usage';
import type { CycleRecord, PlannerResult } from '../../src/workflows/definitions';
import { cycleOutcome, cycleRecord, refuseDone, tasksOf } from '../../src/workflows/lib/cycle';

const verdict = (decision: Verdict['decision']): Verdict => ({
  decision,
  reasons: ['because'],
  nextFocus: '',
  scratchpad: '',
});
const receipt = (passed: boolean): Receipt => ({
  command: 'npm test',
  commit: 'abc',
  exitCode: passed ? 0 : 1,
  passed,
  timedOut: false,
  durationMs: 1,
  outputTail: '',
});
const base = {
  stopRequested: false,
  verdict: verdict('continue'),
  plannerBudgetExhausted: false,
  runLease: { costUsd: 10, tokens: null, deadline: 1_000 },
  spent: emptyUsage(),
  judgeReserve: { costUsd: 1, tokens: 0 },
  now: 0,
  cycle: 1,
  maxCycles: 3,
};

describe('the cycle outcome', () => {
  it('continues as new while nothing ends the run', () => {
    expect(cycleOutcome(base)).toEqual({ kind: 'continue-as-new' });
  });

  it("ends on the operator's stop first, then the judge, then the budget, then maxCycles", () => {
    expect(cycleOutcome({ ...base, stopRequested: true, verdict: verdict('done') })).toEqual({
      kind: 'finish',
      status: 'stopped',
      reason: 'stopped by the operator',
    });
    expect(cycleOutcome({ ...base, verdict: verdict('done'), cycle: 3 })).toMatchObject({ status: 'done' });
    expect(cycleOutcome({ ...base, verdict: verdict('stop') })).toMatchObject({
      status: 'stopped',
      reason: 'the judge stopped the run: because',
    });
    expect(cycleOutcome({ ...base, plannerBudgetExhausted: true, cycle: 3 })).toMatchObject({
      status: 'budget_exhausted',
    });
    expect(cycleOutcome({ ...base, spent: { ...emptyUsage(), costUsd: 9.5 } })).toMatchObject({
      status: 'budget_exhausted',
    });
    expect(cycleOutcome({ ...base, now: 1_000 })).toMatchObject({ status: 'budget_exhausted' });
    expect(cycleOutcome({ ...base, cycle: 3 })).toEqual({
      kind: 'finish',
      status: 'max_cycles',
      reason: 'reached maxCycles (3)',
    });
  });
});

describe('done is refused without a passing receipt', () => {
  it('turns done into continue when the tests fail or did not run', () => {
    for (const r of [receipt(false), null]) {
      const out = refuseDone(verdict('done'), 'npm test', r);
      expect(out.refusedDone).toBe(true);
      expect(out.verdict.decision).toBe('continue');
      expect(out.verdict.reasons).toEqual([
        'because',
        'done refused: the test command does not pass on the target branch',
      ]);
    }
  });

  it('keeps done on a passing receipt, or when the run has no test command, and never touches continue or stop', () => {
    expect(refuseDone(verdict('done'), 'npm test', receipt(true)).refusedDone).toBe(false);
    expect(refuseDone(verdict('done'), null, null).verdict.decision).toBe('done');
    expect(refuseDone(verdict('stop'), 'npm test', receipt(false)).verdict.decision).toBe('stop');
  });
});

describe('the cycle record', () => {
  const plan: PlannerResult = {
    handoffs: [
      { ...handoff('a'), status: 'merged' },
      { ...handoff('b'), status: 'failed' },
    ],
    usage: {},
    merged: 1,
    failed: 1,
    abandoned: 0,
    budgetExhausted: false,
    error: null,
    notAttempted: [{ title: 'c', reason: 'over the room', plannedBy: 'c1/planner' }],
  };
  it('keeps every planned task that did not merge: unmerged handoffs and work never started', () => {
    const r = cycleRecord({
      cycle: 2,
      plan,
      plannerError: null,
      receipt: null,
      verdict: verdict('continue'),
      refusedDone: false,
      usage: emptyUsage(),
      durationMs: 5,
    });
    expect(r.tasks).toEqual({ merged: 1, failed: 1, abandoned: 0 });
    expect(r.unmerged).toEqual([{ taskId: 'c1/planner/b', title: 'b', status: 'failed', summary: 'b' }]);
    expect(r.notAttempted).toEqual(plan.notAttempted);
  });

  it('sums tasks over cycles, v0.1.0 records (no notAttempted) included', () => {
    const old: CycleRecord = {
      cycle: 1,
      tasks: { merged: 2, failed: 0, abandoned: 1 },
      receipt: null,
      verdict: null,
      refusedDone: false,
      plannerError: null,
      unmerged: [],
      usage: emptyUsage(),
      durationMs: 1,
    };
    const now = { ...old, cycle: 2, notAttempted: plan.notAttempted };
    expect(tasksOf([old, now])).toEqual({ merged: 4, failed: 0, abandoned: 2, notAttempted: 1 });
  });
});

function handoff(title: string) {
  return {
    taskId: `c1/planner/${title}`,
    title,
    status: 'merged' as const,
    summary: title,
    notes: '',
    concerns: [],
    deviations: [],
    findings: [],
    commit: null,
    filesChanged: [],
    usage: {},
    steps: 1,
  };
}
