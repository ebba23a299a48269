/**
 * The planner as a state machine, without Temporal: one serialisable state (with no child running, it is what the
 * planner continues as new with), `next(state)` that picks the next step, and the bookkeeping each step does on the
 * state. planner.ts runs the steps; everything it decides is here, unit-tested in test/workflows/planner-machine.
 */
import { MAX_PLAN_TASKS } from '../../core/defaults';
import { add, carve, exhausted, remaining, spentLease, subtract, type Lease } from '../../core/budget';
import { compactHandoff } from '../../core/messages';
import type { Handoff, NotAttempted, Plan, TaskSpec, UsageByRole } from '../../core/types';
import { mergeByRole, totalOf } from '../../core/usage';
import type { PlannerCarry, PlannerResult } from '../definitions';

export type Work = PlannerCarry['queue'][number];

/** A child the planner started and has not heard back from. */
export interface Running {
  kind: 'task' | 'scope';
  title: string;
  slots: number;
  lease: Lease;
  /** A fixer task: the break it owns (TaskSpec.fixes). */
  fixes?: string;
}

/** Everything the planner knows. Plain data; `toCarry` keeps what outlives an execution. */
export interface PlannerState {
  /** False until the first planning round (a planner continued as new has planned). */
  started: boolean;
  queue: Work[];
  nextTask: number;
  nextScope: number;
  /** Tasks accepted into the queue so far, against maxTasksPerPlanner. */
  planned: number;
  /** Handoffs not yet shown to the planner's model. */
  unread: Handoff[];
  result: PlannerResult;
  scopeDone: boolean;
  paused: boolean;
  stopRequested: boolean;
  /** Guidance planned on (passed to children); `newGuidance` arrived by signal and is not yet planned on. */
  guidance: string[];
  newGuidance: string[];
  /** By child workflow id, in start order (the order signals are forwarded in). */
  running: Record<string, Running>;
  /** What finished children spent, until it is folded into `result.usage` at continue-as-new or the end. */
  childUsage: UsageByRole;
  /** Breaks whose fixer this planner queued (TaskSpec.fixes): a break gets exactly one. */
  fixers: string[];
  /**
   * The last plan was full (MAX_PLAN_TASKS queued) and left the scope open: the planner has more to plan, so once
   * those tasks have all started, with slots free, it plans again without waiting for a handoff. Once per full plan.
   */
  roomToPlan: boolean;
}

/** What the planner is not the owner of: its input and what Temporal says. */
export interface PlannerEnv {
  slots: number;
  maxTasks: number;
  continueAsNewSuggested: boolean;
  /**
   * Whether a planner with free slots and an open scope plans again before any handoff arrives (`plan-on-room`).
   * Asked only when that step would be taken: planner.ts answers with a `patched()` marker, so histories from before
   * it replay their old steps.
   */
  planOnRoom?: () => boolean;
}

export type PlannerStep =
  | { kind: 'plan-on-guidance'; first: boolean }
  | { kind: 'plan-on-handoffs' }
  | { kind: 'plan-on-room' }
  | { kind: 'dispatch' }
  | { kind: 'drain-and-continue-as-new' }
  | { kind: 'wait' }
  | { kind: 'done' };

export function emptyResult(): PlannerResult {
  return {
    handoffs: [],
    usage: {},
    merged: 0,
    failed: 0,
    abandoned: 0,
    budgetExhausted: false,
    error: null,
    notAttempted: [],
  };
}

export function initialState(guidance: string[], carry?: PlannerCarry): PlannerState {
  return {
    started: !!carry,
    queue: carry?.queue ?? [],
    nextTask: carry?.nextTask ?? 1,
    nextScope: carry?.nextScope ?? 1,
    planned: carry?.planned ?? 0,
    unread: carry?.unread ?? [],
    result: carry ? { ...carry.result, notAttempted: carry.result.notAttempted ?? [] } : emptyResult(),
    scopeDone: carry?.scopeDone ?? false,
    paused: carry?.paused ?? false,
    stopRequested: carry?.stopRequested ?? false,
    guidance: [...guidance],
    newGuidance: [],
    running: {},
    childUsage: {},
    fixers: carry?.fixers ?? [],
    roomToPlan: carry?.roomToPlan ?? false,
  };
}

export const runningCount = (st: PlannerState) => Object.keys(st.running).length;
export const usedSlots = (st: PlannerState) => Object.values(st.running).reduce((n, r) => n + r.slots, 0);

function canDispatch(st: PlannerState, env: PlannerEnv): boolean {
  return (
    st.queue.length > 0 && !st.paused && !st.stopRequested && !st.result.budgetExhausted && usedSlots(st) < env.slots
  );
}

/** The next step. Pure: the same state and environment give the same step. */
export function next(st: PlannerState, env: PlannerEnv): PlannerStep {
  if (!st.started) return { kind: 'plan-on-guidance', first: true };
  if (canDispatch(st, env)) return { kind: 'dispatch' };
  const wantsPlanning = !st.stopRequested && !st.result.budgetExhausted && !st.result.error;
  if (wantsPlanning && st.newGuidance.length) return { kind: 'plan-on-guidance', first: false };
  if (wantsPlanning && !st.scopeDone && !st.queue.length && st.unread.length && st.planned < env.maxTasks)
    return { kind: 'plan-on-handoffs' };
  // Its full plan has all started, its slots are not all used and its scope is not done: it would otherwise leave
  // those slots idle until its first worker hands off.
  if (
    wantsPlanning &&
    st.roomToPlan &&
    !st.scopeDone &&
    !st.queue.length &&
    !st.paused &&
    usedSlots(st) < env.slots &&
    st.planned < env.maxTasks &&
    env.planOnRoom?.()
  )
    return { kind: 'plan-on-room' };
  const idle = runningCount(st) === 0 && (!st.queue.length || st.result.budgetExhausted || st.stopRequested);
  if (idle) return { kind: 'done' };
  // Children are drained first: the default parent close policy would otherwise end them.
  if (env.continueAsNewSuggested) return { kind: 'drain-and-continue-as-new' };
  return { kind: 'wait' };
}

/** What a waiting planner compares against to know something happened. */
export function waitMark(st: PlannerState) {
  return { running: runningCount(st), unread: st.unread.length };
}

export function shouldWake(st: PlannerState, mark: ReturnType<typeof waitMark>, env: Pick<PlannerEnv, 'slots'>) {
  return (
    runningCount(st) !== mark.running ||
    st.unread.length !== mark.unread ||
    st.newGuidance.length > 0 ||
    (!st.paused && st.queue.length > 0 && usedSlots(st) < env.slots && !st.stopRequested) ||
    (st.stopRequested && runningCount(st) === 0)
  );
}

// ---- budget

/** The budget the planner's own model calls may use: what its children have neither spent nor been leased. */
export function ownLease(lease: Lease, st: PlannerState): Lease {
  return subtract(subtract(lease, spentLease(totalOf(st.childUsage), lease.deadline)), outstanding(st, lease.deadline));
}

/** The sum of the leases of running children. */
export function outstanding(st: PlannerState, deadline: number): Lease {
  return Object.values(st.running).reduce((l, r) => add(l, r.lease), { costUsd: 0, tokens: 0, deadline } as Lease);
}

/**
 * The lease of the next child: an equal share of what is free (after the planner's own spend, its children's, the
 * running children's leases and a reserve for the planner's next call) among the work that can start now. null when
 * not even one worker call fits.
 */
export function nextLease(
  st: PlannerState,
  b: {
    lease: Lease;
    ownUsage: UsageByRole;
    ownReserve: { costUsd: number; tokens: number };
    minWorkerCall: { costUsd: number; tokens: number };
    slots: number;
    now: number;
  },
): Lease | null {
  const free = subtract(
    subtract(remaining(b.lease, totalOf(mergeByRole(b.ownUsage, st.childUsage))), outstanding(st, b.lease.deadline)),
    { ...b.ownReserve, deadline: b.lease.deadline },
  );
  if (exhausted(free, b.minWorkerCall, b.now)) return null;
  const freeSlots = b.slots - usedSlots(st);
  return carve(free, Math.min(st.queue.length, freeSlots), b.minWorkerCall);
}

// ---- plans

export type Admission =
  | { refused: true; answer: string }
  | {
      refused: false;
      answer: string;
      queue: Work[];
      planned: number;
      scopeDone: boolean;
      notAttempted: NotAttempted[];
    };

/**
 * What becomes of a submitted plan. It replaces the queue (work still queued and not in the new plan is recorded as
 * not attempted). Tasks beyond the planner's room: the first time (`refuseOversized`), the whole plan is refused with
 * the room left, so the planner itself chooses what matters, merges tasks or delegates; after that, the first tasks
 * that fit are queued and every other one is recorded as not attempted, with the reason, and named in the answer.
 */
export function admitPlan(
  st: PlannerState,
  plan: Plan,
  opts: { maxTasks: number; canDelegate: boolean; refuseOversized: boolean; plannedBy: string },
): Admission {
  // A queued fixer stays queued whatever the new plan says; a second fixer of the same break is dropped.
  const pinned = st.queue.filter((w): w is Extract<Work, { kind: 'task' }> => w.kind === 'task' && !!w.spec.fixes);
  const owned = new Set(st.fixers);
  const duplicates = plan.tasks.filter((t) => {
    if (!t.fixes) return false;
    if (owned.has(t.fixes)) return true;
    owned.add(t.fixes);
    return false;
  });
  plan = { ...plan, tasks: plan.tasks.filter((t) => !duplicates.includes(t)) };
  const room = Math.max(0, opts.maxTasks - st.planned);
  const scopes = opts.canDelegate ? plan.subplanners : [];
  if (plan.tasks.length > room && opts.refuseOversized) {
    return {
      refused: true,
      answer:
        `Plan not accepted: it has ${plan.tasks.length} tasks and this planner has room for ${room} more in this ` +
        `cycle (maxTasksPerPlanner ${opts.maxTasks}, ${st.planned} already planned). Nothing was queued. Submit at ` +
        `most ${room} task(s): merge small tasks, keep what matters most` +
        (opts.canDelegate ? ', or hand whole areas to sub-planners (each has its own room)' : '') +
        '. Tasks you leave out are recorded as not attempted.',
    };
  }
  const tasks = plan.tasks.slice(0, room);
  const over = plan.tasks.slice(room);
  const keeps = new Set([...tasks.map((t) => `task:${t.title}`), ...scopes.map((s) => `scope:${s.scope}`)]);
  const notAttempted: NotAttempted[] = [
    ...st.queue
      .filter((w) => !pinned.includes(w as (typeof pinned)[number]))
      .filter((w) => !keeps.has(w.kind === 'task' ? `task:${w.spec.title}` : `scope:${w.spec.scope}`))
      .map((w) => ({
        title: workTitle(w),
        reason: 'queued, then left out of a re-plan',
        plannedBy: opts.plannedBy,
      })),
    ...over.map((t) => ({
      title: t.title,
      reason: `over this planner's room of ${opts.maxTasks} tasks per cycle (maxTasksPerPlanner)`,
      plannedBy: opts.plannedBy,
    })),
  ];
  const notes = [
    `Plan accepted: ${tasks.length} task(s) and ${scopes.length} sub-planner(s) queued.`,
    over.length
      ? `${over.length} task(s) not attempted, recorded for the judge and the report: this planner may create at ` +
        `most ${opts.maxTasks} tasks in a cycle. Left out: ${over.map((t) => `"${t.title}"`).join(', ')}.`
      : '',
    duplicates.length
      ? `Not queued: ${duplicates.map((t) => `"${t.title}"`).join(', ')}: break ` +
        `${[...new Set(duplicates.map((t) => t.fixes))].join(', ')} already has its one fixer task.`
      : '',
    plan.subplanners.length && !opts.canDelegate
      ? 'Sub-planners are not available at this depth; plan tasks directly.'
      : '',
    'Handoffs will reach you as workers finish.',
  ];
  return {
    refused: false,
    answer: notes.filter(Boolean).join(' '),
    queue: [
      ...pinned,
      ...scopes.map((spec) => ({ kind: 'scope' as const, spec })),
      ...tasks.map((spec) => ({ kind: 'task' as const, spec })),
    ],
    planned: st.planned + tasks.length,
    scopeDone: plan.done,
    notAttempted,
  };
}

export function applyAdmission(st: PlannerState, a: Extract<Admission, { refused: false }>): void {
  st.queue = a.queue;
  for (const w of a.queue)
    if (w.kind === 'task' && w.spec.fixes && !st.fixers.includes(w.spec.fixes)) st.fixers.push(w.spec.fixes);
  st.roomToPlan = a.planned - st.planned >= MAX_PLAN_TASKS && !a.scopeDone;
  st.planned = a.planned;
  st.scopeDone = a.scopeDone;
  st.result.notAttempted = [...(st.result.notAttempted ?? []), ...a.notAttempted];
}

/** longrun's own fixer of a break (the planner did not act on the red alert): first in the queue, unless it has one. */
export function queueFixer(st: PlannerState, spec: TaskSpec): boolean {
  if (!spec.fixes || st.fixers.includes(spec.fixes)) return false;
  st.fixers.push(spec.fixes);
  st.queue.unshift({ kind: 'task', spec });
  st.planned++;
  return true;
}

const workTitle = (w: Work) => (w.kind === 'task' ? w.spec.title : `sub-planner: ${w.spec.scope}`);

// ---- children

/** A worker's handoff: counted, kept (compacted) for the result, and queued for the planner to read. */
export function taskFinished(st: PlannerState, childId: string, h: Handoff): void {
  delete st.running[childId];
  st.childUsage = mergeByRole(st.childUsage, h.usage);
  st.result[h.status === 'merged' ? 'merged' : h.status === 'failed' ? 'failed' : 'abandoned']++;
  st.result.handoffs.push(compactHandoff(h));
  st.unread.push(h);
}

/** A sub-planner's result folded into this planner's, and a handoff-shaped summary for the planner to read. */
export function scopeFinished(
  st: PlannerState,
  childId: string,
  taskId: string,
  title: string,
  sub: PlannerResult | null,
  error?: string,
): void {
  delete st.running[childId];
  if (sub) {
    st.childUsage = mergeByRole(st.childUsage, sub.usage);
    st.result.merged += sub.merged;
    st.result.failed += sub.failed;
    st.result.abandoned += sub.abandoned;
    st.result.handoffs.push(...sub.handoffs);
    if (sub.notAttempted?.length) st.result.notAttempted = [...(st.result.notAttempted ?? []), ...sub.notAttempted];
    if (sub.budgetExhausted) st.result.budgetExhausted = true;
  }
  const skipped = sub?.notAttempted?.length ? ` ${sub.notAttempted.length} planned task(s) not attempted.` : '';
  st.unread.push({
    taskId,
    title: `sub-planner: ${title}`,
    status: sub && !sub.error ? 'merged' : 'failed',
    summary: sub
      ? `Sub-planner finished: ${sub.merged} merged, ${sub.failed} failed, ${sub.abandoned} abandoned.${skipped}${sub.error ? ` Error: ${sub.error}` : ''}`
      : `The sub-planner failed: ${error}`,
    notes: '',
    concerns: [],
    deviations: [],
    findings: sub ? sub.handoffs.flatMap((h) => h.findings).slice(0, 10) : [],
    commit: null,
    filesChanged: [],
    usage: {},
    steps: 0,
  });
}

/** The handoff of a worker whose workflow failed or never started. */
export function failedHandoff(taskId: string, title: string, error: string | undefined): Handoff {
  return {
    taskId,
    title,
    status: 'failed',
    summary: `The worker failed: ${error}`,
    notes: '',
    concerns: [],
    deviations: [],
    findings: [],
    commit: null,
    filesChanged: [],
    usage: {},
    steps: 0,
  };
}

// ---- ends

/** The continue-as-new carry: the state without running children, spend folded into the result. */
export function toCarry(
  st: PlannerState,
  agent: { transcript: { id: string; length: number }; contextTokens: number; compactions: number; usage: UsageByRole },
): PlannerCarry {
  return {
    transcript: agent.transcript,
    contextTokens: agent.contextTokens,
    compactions: agent.compactions,
    queue: st.queue,
    nextTask: st.nextTask,
    nextScope: st.nextScope,
    planned: st.planned,
    unread: st.unread,
    result: { ...st.result, usage: mergeByRole(st.result.usage, mergeByRole(agent.usage, st.childUsage)) },
    scopeDone: st.scopeDone,
    paused: st.paused,
    stopRequested: st.stopRequested,
    ...(st.fixers.length ? { fixers: st.fixers } : {}),
    ...(st.roomToPlan ? { roomToPlan: true } : {}),
  };
}

/** The planner's result. Work still queued was never started: it is recorded as not attempted, with why. */
export function finalResult(st: PlannerState, ownUsage: UsageByRole, plannedBy: string): PlannerResult {
  const reason = st.stopRequested
    ? 'the run was stopped before it started'
    : st.result.budgetExhausted
      ? 'the budget ran out before it started'
      : st.result.error
        ? `the planner ended with an error before it started: ${st.result.error}`
        : 'the planner ended before it started';
  const left = st.queue.map((w) => ({ title: workTitle(w), reason, plannedBy }));
  return {
    ...st.result,
    notAttempted: [...(st.result.notAttempted ?? []), ...left],
    usage: mergeByRole(st.result.usage, mergeByRole(ownUsage, st.childUsage)),
  };
}
