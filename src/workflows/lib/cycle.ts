/**
 * The decisions of a run's cycle, without Temporal: when `done` is refused, what the cycle records, and how the
 * cycle ends (finish with a status, or continue as new). run.ts runs the phases; unit-tested in test/workflows/cycle.
 */
import { exhausted, remaining, type Lease } from '../../core/budget';
import type { Receipt, RefIncident, Usage, Verdict } from '../../core/types';
import type { CycleRecord, DiskUse, PlannerResult, RunStatus } from '../definitions';

/** A judge's `done` stands only on a passing receipt when the run has a test command. */
export function refuseDone(
  verdict: Verdict,
  testCommand: string | null,
  receipt: Receipt | null,
): { verdict: Verdict; refusedDone: boolean } {
  if (verdict.decision !== 'done' || !testCommand || receipt?.passed) return { verdict, refusedDone: false };
  return {
    refusedDone: true,
    verdict: {
      ...verdict,
      decision: 'continue',
      reasons: [...verdict.reasons, 'done refused: the test command does not pass on the target branch'],
    },
  };
}

export type CycleOutcome = { kind: 'finish'; status: RunStatus; reason: string } | { kind: 'continue-as-new' };

/** How a judged cycle ends. The operator's stop wins, then the judge, then budget, then maxCycles. */
export function cycleOutcome(c: {
  stopRequested: boolean;
  verdict: Verdict;
  plannerBudgetExhausted: boolean;
  runLease: Lease;
  spent: Usage;
  judgeReserve: { costUsd: number; tokens: number };
  now: number;
  cycle: number;
  maxCycles: number;
}): CycleOutcome {
  const finish = (status: RunStatus, reason: string): CycleOutcome => ({ kind: 'finish', status, reason });
  if (c.stopRequested) return finish('stopped', 'stopped by the operator');
  if (c.verdict.decision === 'done') return finish('done', c.verdict.reasons.join('; '));
  if (c.verdict.decision === 'stop')
    return finish('stopped', `the judge stopped the run: ${c.verdict.reasons.join('; ')}`);
  if (c.plannerBudgetExhausted || exhausted(remaining(c.runLease, c.spent), c.judgeReserve, c.now))
    return finish('budget_exhausted', 'the run reached its cost, token or time limit');
  if (c.cycle >= c.maxCycles) return finish('max_cycles', `reached maxCycles (${c.maxCycles})`);
  return { kind: 'continue-as-new' };
}

/** What the run keeps of a cycle: counts, receipt, verdict, and every planned task that did not merge. */
export function cycleRecord(c: {
  cycle: number;
  plan: PlannerResult | null;
  plannerError: string | null;
  receipt: Receipt | null;
  verdict: Verdict;
  refusedDone: boolean;
  usage: Usage;
  durationMs: number;
  /** Shared refs found moved and restored, so far in the run. */
  incidents?: RefIncident[];
  /** The run's disk use after the cycle's tidy step. */
  disk?: DiskUse | null;
}): CycleRecord {
  return {
    cycle: c.cycle,
    tasks: { merged: c.plan?.merged ?? 0, failed: c.plan?.failed ?? 0, abandoned: c.plan?.abandoned ?? 0 },
    receipt: c.receipt,
    verdict: c.verdict,
    refusedDone: c.refusedDone,
    plannerError: c.plannerError ?? c.plan?.error ?? null,
    unmerged: (c.plan?.handoffs ?? [])
      .filter((h) => h.status !== 'merged')
      .map(({ taskId, title, status, summary }) => ({ taskId, title, status, summary })),
    notAttempted: c.plan?.notAttempted ?? [],
    usage: c.usage,
    durationMs: c.durationMs,
    ...(c.incidents?.length ? { incidents: c.incidents } : {}),
    ...(c.disk ? { disk: c.disk } : {}),
  };
}

/** Task counts over the cycles recorded so far (cycles of v0.1.0 have no notAttempted). */
export function tasksOf(history: CycleRecord[]) {
  return history.reduce(
    (t, c) => ({
      merged: t.merged + c.tasks.merged,
      failed: t.failed + c.tasks.failed,
      abandoned: t.abandoned + c.tasks.abandoned,
      notAttempted: t.notAttempted + (c.notAttempted?.length ?? 0),
    }),
    { merged: 0, failed: 0, abandoned: 0, notAttempted: 0 },
  );
}
