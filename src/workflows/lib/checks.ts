/**
 * Continuous verification of the target while a cycle runs, without Temporal: when a check is due, what a receipt
 * means (green, a new break, still red, fixed), who the suspects of a break are, and what the planner is told.
 * run.ts runs the checks; unit-tested in test/workflows/checks.test.ts.
 */
import type { KnownRed, Receipt, TaskSpec } from '../../core/types';

/** A receipt as the run keeps it: small enough for workflow state and `status`, one per check. */
export interface CheckSummary {
  commit: string;
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  at: number;
}

/** A merged task: a suspect of a break when it landed after the last green commit. */
export interface Suspect {
  taskId: string;
  title: string;
  commit: string | null;
}

/** The target's known state: carried across cycles (see RunCarry.target). */
export interface TargetHealth {
  /** The last commit a receipt found green; `longrun/<runId>` points here. */
  green: string | null;
  /** The open break, if any: its first red commit and the suspects it was reported with. */
  red: {
    commit: string;
    since: number;
    suspects: Suspect[];
    /** The fixer task, once one started (its title); absent before v0.2.0. */
    fixer?: string | null;
    /** longrun queued a fixer itself: the planner did not start one within limits.fixerWaitMinutes. */
    fallback?: boolean;
    /** How many of CheckState.suspects this break was reported with (the merges it blamed); absent before v0.2.1. */
    reported?: number;
    /** Its fixer ended ('ended'), and a check started since then ('checked'): a red receipt of that check means the
     * fix did not make the target green, so the break is reported again (v0.2.1, `renewAfterFix`). */
    fixerEnded?: 'ended' | 'checked';
  } | null;
}

export interface CheckState extends TargetHealth {
  /** Merges seen since the last check started. */
  mergesSince: number;
  /** Merges since the last green receipt, oldest first. */
  suspects: Suspect[];
  /** How many of `suspects` were merged before the running check started (only those can be in its commit). */
  inFlight: number;
  checks: CheckSummary[];
}

/** Checks kept in the run's state and status; the oldest go first. */
export const CHECKS_KEPT = 20;
/** Prefix of the planner message that reports a break; planners keep it out of their children's guidance. */
export const RED_ALERT = '[longrun red alert]';

export const isRedAlert = (guidance: string) => guidance.startsWith(RED_ALERT);

export function initialChecks(health?: TargetHealth): CheckState {
  return {
    green: health?.green ?? null,
    // A fixer of an earlier cycle has ended: the break is owned afresh in this one.
    red: health?.red ? { ...health.red, fixer: null, fallback: false } : null,
    mergesSince: 0,
    suspects: [],
    inFlight: 0,
    checks: [],
  };
}

export function onMerge(s: CheckState, suspect: Suspect): CheckState {
  return { ...s, mergesSince: s.mergesSince + 1, suspects: [...s.suspects, suspect] };
}

/**
 * A check is due after `everyMerges` merges, or after the timer when anything merged since the last check
 * (0 turns either trigger off). The timer itself is the caller's: this only says whether it is worth a check.
 */
export function checkDue(s: CheckState, limits: { everyMerges: number }, timerFired: boolean): boolean {
  if (s.mergesSince === 0) return false;
  return timerFired || (limits.everyMerges > 0 && s.mergesSince >= limits.everyMerges);
}

export function startCheck(s: CheckState): CheckState {
  const red = s.red?.fixerEnded === 'ended' ? { ...s.red, fixerEnded: 'checked' as const } : s.red;
  return { ...s, red, mergesSince: 0, inFlight: s.suspects.length };
}

/** The break's fixer ended (merged or not): the next check started after this says whether it fixed the break. */
export function onFixerEnded(s: CheckState, title: string): CheckState {
  if (!s.red || s.red.fixer !== title) return s;
  return { ...s, red: { ...s.red, fixerEnded: 'ended' } };
}

export type CheckEvent =
  | { kind: 'green'; commit: string; fixed: boolean }
  /** `after`: the fixer of the previous break ended and the target is still red (a break outliving its fix). */
  | { kind: 'break'; commit: string; suspects: Suspect[]; after?: { fixer: string; since: string } }
  | { kind: 'still-red'; commit: string }
  /** Red, but never green before in this run: nothing to blame, the goal's work owns it. */
  | { kind: 'red-from-start'; commit: string };

/**
 * What a receipt means for the target. A break is reported once: later red receipts of it are `still-red`. With no
 * green receipt yet in the run, `baseline` (the run's base commit) stands in for the last green one: a break merged
 * before the first check is blamed on the run's merges so far and gets its owner like any other (without it, that
 * break went unowned all cycle while agents piled on). Without `baseline` (runs started before v0.2.1) such a red
 * target is `red-from-start`, blamed on no one.
 *
 * With `renewAfterFix`, a red receipt of a check that started after the break's fixer ended is a break of its own:
 * the fix landed (or gave up) and the tests still fail, perhaps on breaks merged while it worked. It is reported
 * again, blaming the merges since the first report (or the first report's suspects when nothing merged since), and
 * gets a new owner; without it (runs before v0.2.1) the break stayed owned by a fixer that had ended, until the cycle
 * ended.
 */
export function onReceipt(
  s: CheckState,
  r: Receipt,
  at: number,
  baseline?: string,
  renewAfterFix = false,
): { state: CheckState; event: CheckEvent } {
  const summary: CheckSummary = {
    commit: r.commit,
    passed: r.passed,
    exitCode: r.exitCode,
    timedOut: r.timedOut,
    durationMs: r.durationMs,
    at,
  };
  const checks = [...s.checks, summary].slice(-CHECKS_KEPT);
  if (r.passed) {
    return {
      state: { ...s, checks, green: r.commit, red: null, suspects: s.suspects.slice(s.inFlight), inFlight: 0 },
      event: { kind: 'green', commit: r.commit, fixed: !!s.red },
    };
  }
  if (s.red && renewAfterFix && s.red.fixerEnded === 'checked' && s.red.fixer) {
    const since = s.suspects.slice(s.red.reported ?? 0, s.inFlight);
    const suspects = since.length ? since : s.red.suspects;
    return {
      state: { ...s, checks, red: { commit: r.commit, since: at, suspects, reported: s.inFlight } },
      event: {
        kind: 'break',
        commit: r.commit,
        suspects,
        after: { fixer: s.red.fixer, since: s.red.commit },
      },
    };
  }
  if (s.red) return { state: { ...s, checks }, event: { kind: 'still-red', commit: r.commit } };
  if (!s.green && !baseline) return { state: { ...s, checks }, event: { kind: 'red-from-start', commit: r.commit } };
  const suspects = s.suspects.slice(0, s.inFlight);
  return {
    state: { ...s, checks, red: { commit: r.commit, since: at, suspects, reported: s.inFlight } },
    event: { kind: 'break', commit: r.commit, suspects },
  };
}

const ALERT_OUTPUT = 3_000;

/** A break's id: its first red commit, short; the fixer task names it in TaskSpec.fixes. */
export const breakId = (commit: string) => commit.slice(0, 12);

/** The agent that started is the break's fixer when its spec names the open break. */
export function onFixerStarted(s: CheckState, fixes: string, title: string): CheckState {
  if (!s.red || s.red.fixer || !breakId(s.red.commit).startsWith(fixes.slice(0, 12))) return s;
  return { ...s, red: { ...s.red, fixer: title } };
}

/** The fixer longrun queues when the planner did not act on a red alert. */
export function fallbackFixer(s: CheckState, command: string): TaskSpec {
  const red = s.red!;
  const suspects = red.suspects.map((t) => `- ${t.title}${t.commit ? ` (merged as ${t.commit.slice(0, 12)})` : ''}`);
  return {
    title: `Fix the break of \`${command}\` at ${breakId(red.commit)}`.slice(0, 200),
    description: [
      `\`${command}\` fails on the target since ${breakId(red.commit)}; ` +
        (s.green ? `it passed at ${s.green.slice(0, 12)}. ` : 'no check of this run has passed yet. ') +
        'You own ' +
        'this break (longrun made this task because no planner did). Run the tests, find which merge broke them, ' +
        'and fix it without undoing what the suspects were for.',
      'Suspects (merged since the last green commit):',
      ...(suspects.length ? suspects : ['- (none recorded)']),
    ].join('\n'),
    acceptance: [`\`${command}\` passes`],
    files: [],
    fixes: breakId(red.commit),
  };
}

/** The break as agents' test runs are told of it (workspace/known-red.ts). */
export function knownRedOf(r: Receipt, suspects: Suspect[]): KnownRed {
  return {
    id: breakId(r.commit),
    command: r.command,
    outputTail: r.outputTail.slice(-1_500),
    suspects: suspects.map((t) => t.title),
    fixer: null,
  };
}

/** The one message a break sends to the planner that owns the run. */
export function redAlert(
  r: Receipt,
  green: string,
  suspects: Suspect[],
  diffStat: string,
  /** `green` is the run's base, not a green receipt: no check of the run has passed yet. */
  fromBase = false,
  /** The break outlived the fix of an earlier one (CheckEvent 'break' `after`). */
  after?: { fixer: string; since: string },
): string {
  const who = suspects.length
    ? suspects.map((t) => `- ${t.taskId}: ${t.title}${t.commit ? ` (merged as ${t.commit.slice(0, 12)})` : ''}`)
    : ['- (no merge recorded: the break may come from a merge reported late)'];
  const tail = r.outputTail.length > ALERT_OUTPUT ? r.outputTail.slice(-ALERT_OUTPUT) : r.outputTail;
  return [
    `${RED_ALERT} \`${r.command}\` fails on the target at ${r.commit.slice(0, 12)}; ` +
      (fromBase
        ? `no check of this run has passed yet: the suspects are this run's merges since its base ${green.slice(0, 12)}.`
        : `it passed at ${green.slice(0, 12)}.`) +
      (after
        ? ` The fixer of the break since ${breakId(after.since)} ("${after.fixer}") has ended and the tests still ` +
          'fail: this is a new break to own (the output below says what still fails).'
        : ''),
    `Create exactly ONE task that fixes this break, with "fixes": "${breakId(r.commit)}" (name the failing output ` +
      'in it); no other task should chase it. If none starts soon, longrun makes it.',
    'Suspects (merged since the last green commit):',
    ...who,
    'Files changed since the last green commit:',
    diffStat.trim() || '(none)',
    'Failing output (tail):',
    '```',
    tail.trim(),
    '```',
  ].join('\n');
}

/** One line for the Web UI's current details and `report`. */
export function describeHealth(s: CheckState): string {
  const n = s.checks.length;
  if (s.red) {
    const owner = s.red.fixer ? `, fixer: ${s.red.fixer}` : s.red.fallback ? ', fixer queued by longrun' : '';
    return `target RED since ${s.red.commit.slice(0, 12)}${owner} (${n} check(s) this cycle)`;
  }
  if (s.green) return `target green at ${s.green.slice(0, 12)} (${n} check(s) this cycle)`;
  return n ? `target not green yet (${n} check(s) this cycle)` : 'target not checked yet';
}
