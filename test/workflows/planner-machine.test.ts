import type { Handoff, Plan, TaskSpec } from '../../src/core/types';
import type { PlannerCarry, PlannerResult } from '../../src/workflows/definitions';
import {
  admitPlan,
  applyAdmission,
  finalResult,
  initialState,
  next,
  nextLease,
  ownLease,
  queueFixer,
  scopeFinished,
  shouldWake,
  taskFinished,
  toCarry,
  waitMark,
  type PlannerEnv,
  type PlannerState,
} from '../../src/workflows/lib/planner-machine';

const env: PlannerEnv = { slots: 2, maxTasks: 3, continueAsNewSuggested: false };
const spec = (title: string): TaskSpec => ({
  title,
  description: `Do ${title}.`,
  acceptance: ['tests pass'],
  files: [],
});
const plan = (titles: string[], done = false, subplanners: Plan['subplanners'] = []): Plan => ({
  rationale: 'r',
  tasks: titles.map(spec),
  subplanners,
  done,
});
const usage = (costUsd: number) => ({
  worker: {
    calls: 1,
    inputTokens: 100,
    outputTokens: 10,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costUsd,
    unpricedCalls: 0,
  },
});
const handoff = (title: string, status: Handoff['status'] = 'merged'): Handoff => ({
  taskId: `c1/planner/${title}`,
  title,
  status,
  summary: `${title} ${status}`,
  notes: '',
  concerns: [],
  deviations: [],
  findings: ['a finding'],
  commit: status === 'merged' ? 'abc' : null,
  filesChanged: [],
  usage: usage(0.5),
  steps: 4,
});
const lease = { costUsd: null, tokens: null, deadline: Number.MAX_SAFE_INTEGER };
const planned = (titles: string[], over: Partial<PlannerState> = {}): PlannerState => {
  const st = initialState([]);
  st.started = true;
  st.queue = titles.map((t) => ({ kind: 'task', spec: spec(t) }));
  st.planned = titles.length;
  return Object.assign(st, over);
};
const admit = (st: PlannerState, p: Plan, refuseOversized = false, maxTasks = env.maxTasks) =>
  admitPlan(st, p, { maxTasks, canDelegate: true, refuseOversized, plannedBy: 'c1/planner' });

describe('next(state): what a planner does next', () => {
  it('plans on its briefing first, even with nothing else to do', () => {
    expect(next(initialState(['g']), env)).toEqual({ kind: 'plan-on-guidance', first: true });
  });

  it('dispatches queued work while slots are free, and not while paused, stopping or out of budget', () => {
    expect(next(planned(['a']), env).kind).toBe('dispatch');
    expect(next(planned(['a'], { paused: true }), env).kind).toBe('wait');
    expect(next(planned(['a'], { stopRequested: true }), env).kind).toBe('done');
    const broke = planned(['a']);
    broke.result.budgetExhausted = true;
    expect(next(broke, env).kind).toBe('done');
    const full = planned(['a'], { running: { x: { kind: 'task', title: 'x', slots: 2, lease } } });
    expect(next(full, env).kind).toBe('wait');
  });

  it('plans on new guidance before handoffs, and on handoffs only with an empty queue, room left and scope open', () => {
    const st = planned([], { newGuidance: ['focus'], unread: [handoff('a')] });
    expect(next(st, env)).toEqual({ kind: 'plan-on-guidance', first: false });
    st.newGuidance = [];
    expect(next(st, env).kind).toBe('plan-on-handoffs');
    expect(next({ ...st, scopeDone: true }, env).kind).toBe('done');
    expect(next({ ...st, planned: 3 }, env).kind).toBe('done');
    expect(next({ ...st, stopRequested: true }, env).kind).toBe('done');
    expect(next({ ...st, result: { ...st.result, error: 'boom' } }, env).kind).toBe('done');
  });

  it('plans again with slots free once a full plan has all started, without waiting for a handoff; once', () => {
    const room: PlannerEnv = { slots: 150, maxTasks: 300, continueAsNewSuggested: false, planOnRoom: () => true };
    const titles = (from: number, n: number) => Array.from({ length: n }, (_, i) => `t${from + i}`);
    const accept = (st: PlannerState, p: Plan) =>
      applyAdmission(st, admit(st, p, false, room.maxTasks) as Extract<ReturnType<typeof admit>, { refused: false }>);
    const st = planned([]);
    accept(st, plan(titles(0, 100)));
    expect(st.roomToPlan).toBe(true);
    st.running = Object.fromEntries(
      st.queue.map((_, i) => [`t${i}`, { kind: 'task' as const, title: `t${i}`, slots: 1, lease }]),
    );
    st.queue = [];
    expect(next(st, room).kind).toBe('plan-on-room');
    // Histories from before the change answer no, and take the step they took then.
    expect(next(st, { ...room, planOnRoom: () => false }).kind).toBe('wait');
    expect(next(st, env).kind).toBe('wait');
    // Not with every slot used, the scope done, the planner's room used up, paused, or a handoff to plan on instead.
    expect(next(st, { ...room, slots: 100 }).kind).toBe('wait');
    expect(next({ ...st, scopeDone: true }, room).kind).toBe('wait');
    expect(next({ ...st, planned: 300 }, room).kind).toBe('wait');
    expect(next({ ...st, paused: true }, room).kind).toBe('wait');
    expect(next({ ...st, unread: [handoff('x')] }, room).kind).toBe('plan-on-handoffs');
    // A plan that is not full, or says the scope is done, leaves the planner to wait for handoffs, as before.
    accept(st, plan(titles(100, 99)));
    expect(st.roomToPlan).toBe(false);
    st.queue = [];
    expect(next(st, room).kind).toBe('wait');
    accept(st, plan(titles(200, 100), true));
    expect(st.roomToPlan).toBe(false);
    // Carried across continue-as-new.
    st.roomToPlan = true;
    const carry = toCarry(st, { transcript: { id: 't', length: 1 }, contextTokens: 0, compactions: 0, usage: {} });
    expect(initialState([], carry).roomToPlan).toBe(true);
  });

  it('waits for running children, and drains to continue as new when the server suggests it', () => {
    const st = planned([], { running: { x: { kind: 'task', title: 'x', slots: 1, lease } }, scopeDone: true });
    expect(next(st, env).kind).toBe('wait');
    expect(next(st, { ...env, continueAsNewSuggested: true }).kind).toBe('drain-and-continue-as-new');
  });

  it('wakes on a finished child, a handoff, guidance, a free slot for queued work, or a stop with nothing running', () => {
    const st = planned([], { running: { x: { kind: 'task', title: 'x', slots: 1, lease } } });
    const mark = waitMark(st);
    expect(shouldWake(st, mark, env)).toBe(false);
    st.unread.push(handoff('x'));
    expect(shouldWake(st, mark, env)).toBe(true);
    const idle = planned([], { stopRequested: true });
    expect(shouldWake(idle, waitMark(idle), env)).toBe(true);
  });
});

describe('plans: no planned task disappears', () => {
  it('queues a plan that fits, sub-planners first', () => {
    const st = initialState([]);
    const a = admit(st, plan(['a', 'b'], false, [{ scope: 'lib', description: 'd' }]));
    if (a.refused) throw new Error('refused');
    expect(a.queue.map((w) => w.kind)).toEqual(['scope', 'task', 'task']);
    expect(a.planned).toBe(2);
    expect(a.notAttempted).toEqual([]);
    expect(a.answer).toMatch(/^Plan accepted: 2 task\(s\) and 1 sub-planner/);
  });

  it('refuses an oversized plan once, naming the room left, and queues nothing', () => {
    const st = planned([], { planned: 1 });
    const a = admit(st, plan(['a', 'b', 'c']), true);
    expect(a.refused).toBe(true);
    expect(a.answer).toContain('has 3 tasks and this planner has room for 2 more');
    expect(st.queue).toEqual([]);
  });

  it('after a refusal, queues what fits and records every other task as not attempted (done: true plan)', () => {
    const st = planned([], { planned: 1 });
    const a = admit(st, plan(['a', 'b', 'c', 'd'], true));
    if (a.refused) throw new Error('refused');
    applyAdmission(st, a);
    expect(st.queue.map((w) => (w.kind === 'task' ? w.spec.title : ''))).toEqual(['a', 'b']);
    expect(st.scopeDone).toBe(true);
    expect(st.result.notAttempted).toEqual([
      { title: 'c', reason: expect.stringContaining('room of 3 tasks'), plannedBy: 'c1/planner' },
      { title: 'd', reason: expect.stringContaining('room of 3 tasks'), plannedBy: 'c1/planner' },
    ]);
    expect(a.answer).toContain('2 task(s) not attempted');
    expect(a.answer).toContain('"c", "d"');
  });

  it('records queued work a re-plan leaves out, and not what it keeps', () => {
    const st = planned(['a', 'b']);
    st.planned = 0;
    const a = admit(st, plan(['b', 'c']), false, 10);
    if (a.refused) throw new Error('refused');
    expect(a.notAttempted).toEqual([
      { title: 'a', reason: 'queued, then left out of a re-plan', plannedBy: 'c1/planner' },
    ]);
  });

  it('records work still queued at the end with why it never started', () => {
    const st = planned(['a'], { stopRequested: true });
    expect(finalResult(st, {}, 'c1/planner').notAttempted).toEqual([
      { title: 'a', reason: 'the run was stopped before it started', plannedBy: 'c1/planner' },
    ]);
    const broke = planned(['b']);
    broke.result.budgetExhausted = true;
    expect(finalResult(broke, {}, 'p').notAttempted?.[0].reason).toBe('the budget ran out before it started');
  });

  it("folds a sub-planner's counts, usage and not-attempted tasks into the parent's, with a handoff to read", () => {
    const st = planned([], { running: { s1: { kind: 'scope', title: 'lib', slots: 1, lease } } });
    const sub: PlannerResult = {
      handoffs: [handoff('x')],
      usage: usage(1),
      merged: 1,
      failed: 0,
      abandoned: 0,
      budgetExhausted: false,
      error: null,
      notAttempted: [{ title: 'y', reason: 'over', plannedBy: 'c1/planner/s1' }],
    };
    scopeFinished(st, 's1', 'c1/planner/s1', 'lib', sub);
    expect(st.running).toEqual({});
    expect(st.result.merged).toBe(1);
    expect(st.result.notAttempted).toEqual(sub.notAttempted);
    expect(st.childUsage.worker?.costUsd).toBe(1);
    expect(st.unread[0].summary).toBe(
      'Sub-planner finished: 1 merged, 0 failed, 0 abandoned. 1 planned task(s) not attempted.',
    );
  });
});

describe('fixers: exactly one per break', () => {
  const fixer = (title: string, fixes = '0123456789ab'): TaskSpec => ({ ...spec(title), fixes });

  it("queues a plan's first fixer of a break and drops a second, in the same plan or a later one, saying why", () => {
    const st = planned([]);
    st.planned = 0;
    const a = admit(st, { ...plan(['a']), tasks: [fixer('fix 1'), spec('a'), fixer('fix 2')] }, false, 10);
    if (a.refused) throw new Error('refused');
    applyAdmission(st, a);
    expect(st.queue.map((w) => (w.kind === 'task' ? w.spec.title : ''))).toEqual(['fix 1', 'a']);
    expect(st.fixers).toEqual(['0123456789ab']);
    expect(a.answer).toContain('Not queued: "fix 2": break 0123456789ab already has its one fixer task.');
    const b = admit(st, { ...plan([]), tasks: [fixer('fix 3')] }, false, 10);
    if (b.refused) throw new Error('refused');
    expect(b.queue.map((w) => (w.kind === 'task' ? w.spec.title : ''))).toEqual(['fix 1']); // kept, not re-planned
    expect(b.notAttempted).toEqual([
      { title: 'a', reason: 'queued, then left out of a re-plan', plannedBy: 'c1/planner' },
    ]);
  });

  it("queues longrun's fixer first unless the break has one, and carries the owned breaks across continue-as-new", () => {
    const st = planned(['a']);
    expect(queueFixer(st, fixer('longrun fix'))).toBe(true);
    expect(st.queue[0]).toEqual({ kind: 'task', spec: fixer('longrun fix') });
    expect(queueFixer(st, fixer('again'))).toBe(false);
    expect(queueFixer(st, spec('no break'))).toBe(false);
    expect(st.queue).toHaveLength(2);
    const carry = toCarry(st, { transcript: { id: 't', length: 1 }, contextTokens: 0, compactions: 0, usage: {} });
    expect(initialState([], carry).fixers).toEqual(['0123456789ab']);
  });
});

describe('handoffs, budget and continue-as-new', () => {
  it("counts a worker's handoff and keeps it to read", () => {
    const st = planned([], { running: { t1: { kind: 'task', title: 'a', slots: 1, lease } } });
    taskFinished(st, 't1', handoff('a', 'abandoned'));
    expect(st.result.abandoned).toBe(1);
    expect(st.unread.map((h) => h.title)).toEqual(['a']);
    expect(st.childUsage.worker?.calls).toBe(1);
  });

  it('carves an equal share of what is free among the work that can start, and none when a call does not fit', () => {
    const st = planned(['a', 'b', 'c', 'd']);
    const b = {
      lease: { costUsd: 10, tokens: null, deadline: 1_000 },
      ownUsage: usage(1),
      ownReserve: { costUsd: 1, tokens: 0 },
      minWorkerCall: { costUsd: 0.5, tokens: 0 },
      slots: 2,
      now: 0,
    };
    // 10 - 1 spent - 1 reserve = 8 free, split between the 2 free slots.
    expect(nextLease(st, b)).toEqual({ costUsd: 4, tokens: null, deadline: 1_000 });
    st.running.x = { kind: 'task', title: 'x', slots: 1, lease: { costUsd: 4, tokens: null, deadline: 1_000 } };
    expect(nextLease(st, b)).toEqual({ costUsd: 4, tokens: null, deadline: 1_000 });
    expect(nextLease(st, { ...b, lease: { ...b.lease, costUsd: 2.4 } })).toBeNull();
    expect(nextLease(st, { ...b, now: 1_000 })).toBeNull();
    // The planner's own calls may use what its children have neither spent nor been leased.
    st.childUsage = usage(2);
    expect(ownLease(b.lease, st).costUsd).toBe(4);
  });

  it('carries everything but running children across continue-as-new, and restores it', () => {
    const st = planned(['a'], { unread: [handoff('b')], paused: true });
    st.childUsage = usage(2);
    const carry: PlannerCarry = toCarry(st, {
      transcript: { id: 't#2', length: 4 },
      contextTokens: 900,
      compactions: 2,
      usage: usage(1),
    });
    expect(carry.compactions).toBe(2);
    expect(carry.result.usage.worker?.costUsd).toBe(3);
    const back = initialState(['g'], carry);
    expect(back.started).toBe(true);
    expect(back.queue).toEqual(st.queue);
    expect(back.unread).toEqual(st.unread);
    expect(back.paused).toBe(true);
    expect(back.childUsage).toEqual({});
    expect(JSON.parse(JSON.stringify(back))).toEqual(back); // serialisable
  });

  it('restores a v0.1.0 carry, which has no notAttempted', () => {
    const old = toCarry(planned([]), {
      transcript: { id: 't', length: 1 },
      contextTokens: 0,
      compactions: 0,
      usage: {},
    });
    delete old.result.notAttempted;
    expect(initialState([], old).result.notAttempted).toEqual([]);
  });
});
