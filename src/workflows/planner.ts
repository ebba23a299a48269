/**
 * A planner owns a scope (the whole goal for the cycle's root planner). It explores the code read-only, writes
 * tasks for workers and hands areas to sub-planners (recursively, depth-limited), receives every handoff as it
 * arrives and keeps planning from them, until its scope is done and no child runs.
 *
 * It is a state machine (lib/planner-machine.ts): `next(state)` picks one of plan-on-guidance, plan-on-handoffs,
 * plan-on-room, dispatch, drain-and-continue-as-new, wait or done, and the loop at the bottom of this file runs that
 * step.
 */
import {
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { estimateCall } from '../core/budget';
import { CONTROL } from '../core/control-names';
import { taskIdOf, workflowIds } from '../core/ids';
import { guidanceMessage, handoffsMessage, roomMessage } from '../core/messages';
import { controlSchemas } from './lib/validation';
import { CYCLE, ROLE, RUN_ID } from '../core/search-attributes';
import type { Handoff, TaskSpec } from '../core/types';
import { mergeByRole, totalOf } from '../core/usage';
import {
  agentFor,
  agentStartOptions,
  answerControl,
  newAgentState,
  readControl,
  restoreAgentState,
  resubmit,
  runUntilControl,
  say,
  type AgentState,
} from './agent';
import { activitiesFor } from './activities';
import {
  agentEventsSignal,
  agentQuery,
  fixBreakSignal,
  pauseSignal,
  replanSignal,
  resumeSignal,
  stopSignal,
  type AgentEvent,
  type PlannerInput,
  type PlannerResult,
} from './definitions';
import {
  admitPlan,
  applyAdmission,
  failedHandoff,
  finalResult,
  initialState,
  next,
  nextLease,
  ownLease,
  queueFixer,
  runningCount,
  scopeFinished,
  shouldWake,
  taskFinished,
  toCarry,
  usedSlots,
  waitMark,
  type PlannerEnv,
  type Running,
} from './lib/planner-machine';
import { PATCHES } from './patches';
import { isRedAlert } from './lib/checks';
import { beginMove, endMove, settle, type Moved, type Watched } from './lib/host-loss';
import { movedPlannerNote, superviseHosts } from './hosts';

import { task } from './task';

/** Starts a child's attempt on a host queue, with its workflow id (`<child id>~m<n>` once moved). */
type Begin = (
  hostQueue: string,
  workflowId: string,
  moved?: Moved,
) => Promise<ChildWorkflowHandle<typeof task | typeof planner>>;
type Outcome = { out: Handoff | PlannerResult | null } | { err: unknown };

/** Guidance a planner passes to its children: a red alert is for the planner that owns the break only. */
const standing = (st: { guidance: string[] }) => st.guidance.filter((g) => !isRedAlert(g));

export async function planner(input: PlannerInput): Promise<PlannerResult> {
  const { ctx, scope, depth } = input;
  const run = ctx.run;
  const id = workflowInfo().workflowId;
  const role = scope ? ('subplanner' as const) : ('planner' as const);
  const st = initialState(input.guidance, input.carry);
  const env = (): PlannerEnv => ({
    slots: input.slots,
    maxTasks: run.limits.maxTasksPerPlanner,
    continueAsNewSuggested: workflowInfo().continueAsNewSuggested,
    planOnRoom: () => patched(PATCHES.planOnRoom),
  });
  let doing = 'planning';

  // Children by id, with the workflow id of their current attempt and their host (a child moved off a lost host runs
  // as `<id>~m<n>`, lib/host-loss.ts). Transient like `st.running`: children are drained before continue-as-new.
  const watched = new Map<string, Watched>();
  const launchers = new Map<string, Begin>();
  // Signals reach this planner and go on down: stop to every child, the others to sub-planners.
  const forward = (fn: (h: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>, onlyScopes = false) => {
    for (const [cid, r] of Object.entries(st.running))
      if (!onlyScopes || r.kind === 'scope')
        void fn(getExternalWorkflowHandle(watched.get(cid)?.attempt ?? cid)).catch(() => undefined);
  };
  setHandler(stopSignal, () => {
    st.stopRequested = true;
    forward((h) => h.signal(stopSignal));
  });
  setHandler(pauseSignal, () => {
    st.paused = true;
    forward((h) => h.signal(pauseSignal), true);
  });
  setHandler(resumeSignal, () => {
    st.paused = false;
    forward((h) => h.signal(resumeSignal), true);
  });
  setHandler(replanSignal, ({ guidance: g }) => {
    st.newGuidance.push(g);
    // A break has one owner, the root planner: its sub-planners are not asked to fix it too (see lib/checks.ts).
    if (!isRedAlert(g)) forward((h) => h.signal(replanSignal, { guidance: g }), true);
  });
  // The root planner only: longrun's own fixer of a break this planner did not act on (none if it has one queued).
  const madeByLongrun = new Set<string>();
  setHandler(fixBreakSignal, ({ spec }) => {
    if (queueFixer(st, spec)) madeByLongrun.add(spec.title);
  });

  // Agents run on their host's queue (the parent picked the host; continue-as-new keeps it): the worktree is on this
  // host's disk, read-only tools run as local activities next to it, and activities are dispatched eagerly.
  const hostQueue = workflowInfo().taskQueue;
  const acts = activitiesFor(run.limits);
  const agentKey = taskIdOf(run.runId, id);
  // Children on a host that stopped polling are moved to another host (lib/host-loss.ts); not in older histories.
  const supervising = patched(PATCHES.movesOffLostHosts);
  // Picking and checking hosts happens on the shared queue: any host may answer (runs before v0.2.1: this host).
  const shared = { taskQueue: ctx.sharedQueue ?? hostQueue };
  if (input.moved) log.warn('planner restarted afresh: its host was lost', { from: input.moved.from, id });
  try {
    // A read-only checkout of the target tip to explore; opened again after continue-as-new (at the newer tip). Not
    // cancellable: a cancel arriving meanwhile waits for it, so `finally` removes it.
    const opened = await CancellationScope.nonCancellable(() =>
      acts.host.openWorkspace.executeWithOptions({ taskQueue: hostQueue }, [
        { runId: run.runId, taskId: agentKey, readOnly: true },
      ]),
    );
    const workspace = { path: opened.path, readOnly: true };
    let s: AgentState;
    if (input.carry) {
      s = restoreAgentState(input.carry);
    } else {
      const t = await acts.host.startTranscript.executeWithOptions({ taskQueue: hostQueue }, [
        {
          transcriptId: id,
          kind: role,
          ctx,
          workspacePath: workspace.path,
          scope,
          depth,
          guidance: st.guidance,
          maxTasks: run.limits.maxTasksPerPlanner,
          canDelegate: depth < run.limits.maxDepth,
        },
      ]);
      s = newAgentState({ id: t.id, length: t.length }, t.tokens);
    }
    const agent = agentFor(run, role, {
      agentId: id,
      acts,
      toolset: 'planner',
      control: [CONTROL.submitPlan],
      hostQueue,
      workspace,
      lease: input.lease,
    });
    setHandler(agentQuery, () => ({
      id,
      role,
      title: scope?.scope ?? 'root',
      state: doing,
      step: s.steps,
      lastTool: s.lastTool,
      costUsd: totalOf(mergeByRole(s.usage, st.childUsage)).costUsd,
      startedAt: workflowInfo().startTime.getTime(),
    }));

    // Agent starts and handoffs go to the run as one signal per workflow activation (a plan's burst of starts is one
    // signal): a signal costs the run ~4 history events, and the run cannot continue as new while its cycle runs.
    // Not delayed further: `longrun watch` shows what the run knows, and a short-lived agent would be missed.
    const reports: AgentEvent[] = [];
    const flushReports = async () => {
      while (reports.length) {
        await getExternalWorkflowHandle(ctx.rootId)
          .signal(agentEventsSignal, reports.splice(0))
          .catch(() => undefined);
      }
    };
    const report = (event: AgentEvent) => {
      // The first event of an activation schedules the send; the rest of that activation's events ride along.
      if (reports.push(event) === 1) void Promise.resolve().then(flushReports);
    };
    const minWorkerCall = estimateCall(run.models.worker, 8_000);
    const ownReserve = estimateCall(agent.model, Math.max(s.contextTokens, 8_000));
    const details = () =>
      setCurrentDetails(
        `**${role}**: ${scope?.scope ?? run.goal}\n\n${doing} · running ${runningCount(st)} · queued ` +
          `${st.queue.length} · merged ${st.result.merged} · failed ${st.result.failed} · abandoned ${st.result.abandoned}`,
      );

    /** One planning round: the model explores and submits a plan, which replaces the not-yet-started queue. */
    async function planningRound(message: string | null): Promise<void> {
      doing = 'planning';
      details();
      agent.lease = ownLease(input.lease, st);
      if (message) await say(agent, s, [{ role: 'user', content: message }]);
      let repairs = 0;
      let refused = false;
      const maxSteps = s.steps + run.limits.plannerMaxSteps;
      for (;;) {
        const end = await runUntilControl(agent, s, { maxSteps, shouldStop: () => st.stopRequested });
        if (end.kind === 'stopped') return;
        if (end.kind === 'budget') {
          st.result.budgetExhausted = true;
          return;
        }
        if (end.kind === 'limit') {
          if (st.planned === 0) st.result.error = `the ${role} produced no plan: ${end.reason}`;
          st.scopeDone = true;
          return;
        }
        const read = await readControl(agent, s, end.call, controlSchemas().planSchema, resubmit('plan'));
        if (!read.ok) {
          if (repairs++ >= 1) {
            st.result.error = `the ${role} submitted an invalid plan twice: ${read.problems.join('; ')}`;
            st.scopeDone = true;
            return;
          }
          continue;
        }
        const maxTasks = run.limits.maxTasksPerPlanner;
        const oversized = read.value.tasks.length > maxTasks - st.planned;
        const admission = admitPlan(st, read.value, {
          maxTasks,
          canDelegate: depth < run.limits.maxDepth,
          // Only an oversized plan asks: histories of v0.1.0 replay their plans without a marker.
          refuseOversized: oversized && !refused && patched(PATCHES.refuseOversizedPlan),
          plannedBy: agentKey,
        });
        if (admission.refused) {
          refused = true;
          await answerControl(agent, s, end.call, admission.answer, true);
          continue;
        }
        applyAdmission(st, admission);
        await answerControl(agent, s, end.call, admission.answer, false);
        return;
      }
    }

    /**
     * A fixer is named in the run's known-red record before it starts, so every test run from then on (the fixer's
     * own and its peers') is told who owns the break.
     */
    async function claimBreak(spec: TaskSpec): Promise<void> {
      const fixer = {
        title: spec.title,
        by: madeByLongrun.has(spec.title) ? ('longrun' as const) : ('planner' as const),
      };
      await acts.run.claimKnownRed({ runId: run.runId, id: spec.fixes!, fixer }).catch((err: unknown) => {
        if (isCancellation(err)) throw err;
        log.warn('could not name the fixer in the known-red record', { error: String(err) });
      });
    }

    /** Starts `work` (the first queued work) on a host with room, on a fair share of what the budget has free. */
    function dispatch(work: (typeof st.queue)[number]): void {
      const lease = nextLease(st, {
        lease: input.lease,
        ownUsage: s.usage,
        ownReserve,
        minWorkerCall,
        slots: input.slots,
        now: Date.now(),
      });
      if (!lease) {
        st.result.budgetExhausted = true;
        return;
      }
      st.queue.splice(st.queue.indexOf(work), 1);
      if (work.kind === 'task') {
        const childId = workflowIds.task(id, st.nextTask++);
        const r: Running = { kind: 'task', title: work.spec.title, slots: 1, lease };
        if (work.spec.fixes) r.fixes = work.spec.fixes;
        start(childId, r, (taskQueue, workflowId, moved) =>
          startChild(task, {
            workflowId,
            taskQueue,
            ...agentStartOptions(run),
            args: [
              {
                ctx,
                taskId: taskIdOf(run.runId, childId),
                spec: work.spec,
                lease,
                guidance: standing(st),
                ...(moved ? { moved } : {}),
              },
            ],
            staticSummary: `worker: ${work.spec.title}`.slice(0, 200),
            typedSearchAttributes: [
              { key: RUN_ID, value: run.runId },
              { key: ROLE, value: 'worker' },
              { key: CYCLE, value: ctx.cycle },
            ],
            parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          }),
        );
      } else {
        const childId = workflowIds.subplanner(id, st.nextScope++);
        const slots = Math.max(1, Math.floor((input.slots - usedSlots(st)) / 2));
        start(childId, { kind: 'scope', title: work.spec.scope, slots, lease }, (taskQueue, workflowId, moved) =>
          startChild(planner, {
            workflowId,
            taskQueue,
            ...agentStartOptions(run),
            args: [
              {
                ctx,
                scope: work.spec,
                depth: depth + 1,
                slots,
                lease,
                guidance: moved ? [...standing(st), movedPlannerNote(moved)] : standing(st),
                ...(moved ? { moved } : {}),
              },
            ],
            staticSummary: `planner: ${work.spec.scope}`.slice(0, 200),
            typedSearchAttributes: [
              { key: RUN_ID, value: run.runId },
              { key: ROLE, value: 'subplanner' },
              { key: CYCLE, value: ctx.cycle },
            ],
            parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          }),
        );
      }
    }

    function start(childId: string, r: Running, begin: Begin): void {
      st.running[childId] = r;
      report({
        kind: 'started',
        id: childId,
        role: r.kind === 'task' ? 'worker' : 'subplanner',
        title: r.title,
        at: Date.now(),
        ...(r.fixes ? { fixes: r.fixes } : {}),
      });
      const w: Watched = { attempt: childId };
      watched.set(childId, w);
      launchers.set(childId, begin);
      launch(childId, r, w);
    }

    /** Starts the child's current attempt (its first, or a restart after its host was lost) on a host picked now. */
    function launch(childId: string, r: Running, w: Watched, moved?: Moved): void {
      const attempt = w.attempt;
      // The host is whichever worker picks up hostQueue first: agents spread over the hosts that have capacity.
      void acts.run.hostQueue
        .executeWithOptions(shared, [])
        .then(async (q) => {
          if (st.stopRequested) return null; // a stop arrived while the host was picked: never started
          const h = await launchers.get(childId)!(q, attempt, moved);
          if (w.attempt === attempt) w.host = q; // watched from now on
          return (await h.result()) as Handoff | PlannerResult;
        })
        .then(
          (out) => outcome(childId, r, w, attempt, { out }),
          (err: unknown) => outcome(childId, r, w, attempt, { err }),
        );
    }

    /** Exactly one outcome per child: its current attempt's (a terminated attempt's failure is dropped). */
    function outcome(childId: string, r: Running, w: Watched, attempt: string, o: Outcome): void {
      if (supervising && settle(w, attempt, o) !== 'deliver') return;
      watched.delete(childId);
      launchers.delete(childId);
      if ('out' in o) return o.out ? finished(childId, r, o.out) : finished(childId, r, null, 'cancelled');
      const err = o.err;
      if (isCancellation(err) && st.stopRequested) return finished(childId, r, null, 'cancelled');
      log.warn('child failed', { childId, error: String(err) });
      finished(childId, r, null, String((err as Error).cause ?? err));
    }

    /** A child whose host is lost: terminated, then started again elsewhere (same task id, spec and lease). */
    async function move(childId: string, w: Watched): Promise<void> {
      const r = st.running[childId];
      const { attempt, from } = beginMove(w);
      const reason = `longrun: its host stopped polling ${from}; restarted on another host`;
      const abandoned = await acts.run.abandonLostAgent
        .executeWithOptions(shared, [{ workflowId: attempt, reason, queue: from }])
        .catch((err: unknown): 'failed' => {
          if (isCancellation(err)) throw err;
          log.warn('could not end an agent on a lost host; the next check tries again', {
            attempt,
            error: String(err),
          });
          return 'failed';
        });
      const end = endMove(childId, w, from, abandoned);
      if (end.kind === 'deliver') return outcome(childId, r, w, w.attempt, end.outcome as Outcome);
      if (end.kind !== 'restart') return;
      log.warn('agent moved off a lost host', { from, lost: attempt, restarted: end.workflowId });
      report({
        kind: 'moved',
        id: childId,
        to: end.workflowId,
        role: r.kind === 'task' ? 'worker' : 'subplanner',
        from,
        count: end.moved.count,
        at: Date.now(),
      });
      launch(childId, r, w, end.moved);
    }

    function finished(childId: string, r: Running, out: Handoff | PlannerResult | null, error?: string): void {
      const childTaskId = taskIdOf(run.runId, childId);
      if (r.kind === 'task') {
        const h = (out as Handoff | null) ?? failedHandoff(childTaskId, r.title, error);
        taskFinished(st, childId, h);
        report({
          kind: 'finished',
          id: childId,
          role: 'worker',
          handoff: { status: h.status, commit: h.commit },
          usage: h.usage,
        });
      } else {
        scopeFinished(st, childId, childTaskId, r.title, out as PlannerResult | null, error);
        report({ kind: 'finished', id: childId, role: 'subplanner', usage: {} });
      }
      details();
    }

    async function drainAndContinueAsNew(): Promise<never> {
      doing = 'draining';
      details();
      await condition(() => runningCount(st) === 0);
      const carry = toCarry(st, s);
      await supervision?.stop();
      await flushReports();
      return continueAsNew<typeof planner>({ ...input, guidance: st.guidance, carry });
    }

    async function waitForNews(): Promise<void> {
      doing = st.paused ? 'paused' : 'waiting for handoffs';
      details();
      const mark = waitMark(st);
      await condition(() => shouldWake(st, mark, env()));
    }

    const supervision = supervising
      ? superviseHosts({
          limits: run.limits,
          acts,
          shared,
          ownQueue: hostQueue,
          children: () => watched.entries(),
          move,
        })
      : null;
    for (;;) {
      const step = next(st, env());
      switch (step.kind) {
        case 'plan-on-guidance':
          if (step.first) {
            st.started = true;
            await planningRound(null);
          } else {
            const g = st.newGuidance;
            st.newGuidance = [];
            st.guidance.push(...g);
            await planningRound(guidanceMessage(g, st.queue));
          }
          break;
        case 'plan-on-handoffs': {
          const batch = st.unread;
          st.unread = [];
          await planningRound(handoffsMessage(batch, runningCount(st)));
          break;
        }
        case 'plan-on-room':
          st.roomToPlan = false;
          await planningRound(roomMessage(runningCount(st), input.slots - usedSlots(st)));
          break;
        case 'dispatch': {
          const work = st.queue[0];
          if (work.kind === 'task' && work.spec.fixes && patched(PATCHES.ownedBreaks)) {
            await claimBreak(work.spec);
            // Signals may have changed the queue, or paused or stopped the planner, meanwhile.
            if (!st.queue.includes(work) || next(st, env()).kind !== 'dispatch') break;
          }
          dispatch(work);
          details();
          break;
        }
        case 'drain-and-continue-as-new':
          await drainAndContinueAsNew();
          break;
        case 'wait':
          await waitForNews();
          break;
        case 'done':
          doing = 'done';
          details();
          await supervision?.stop();
          await flushReports();
          return finalResult(st, s.usage, agentKey);
      }
    }
  } finally {
    await CancellationScope.nonCancellable(() =>
      acts.host.closeWorkspace.executeWithOptions({ taskQueue: hostQueue }, [{ runId: run.runId, taskId: agentKey }]),
    ).catch(() => undefined);
  }
}
