/**
 * A planner owns a scope (the whole goal for the cycle's root planner). It explores the code read-only, writes
 * tasks for workers and hands areas to sub-planners (recursively, depth-limited), receives every handoff as it
 * arrives and keeps planning from them, until its scope is done and no child runs.
 */
import {
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { add, carve, estimateCall, exhausted, remaining, spentLease, subtract, type Lease } from '../core/budget';
import { CONTROL } from '../core/control-tools';
import { taskIdOf, workflowIds } from '../core/ids';
import { describeIssues, planSchema } from '../core/schemas';
import { CYCLE, ROLE, RUN_ID } from '../core/search-attributes';
import type { Handoff, ScopeSpec, TaskSpec, UsageByRole } from '../core/types';
import { mergeByRole, totalOf } from '../core/usage';
import { answerControl, newAgentState, runUntilControl, say, type AgentSetup, type AgentState } from './agent';
import { activitiesFor } from './activities';
import {
  agentEventsSignal,
  agentQuery,
  pauseSignal,
  replanSignal,
  resumeSignal,
  stopSignal,
  type AgentEvent,
  type PlannerCarry,
  type PlannerInput,
  type PlannerResult,
} from './definitions';
import { compactHandoff, guidanceMessage, handoffsMessage } from '../core/messages';
import { task } from './task';

type Work = PlannerCarry['queue'][number];
interface Running {
  kind: 'task' | 'scope';
  title: string;
  slots: number;
  lease: Lease;
}

export async function planner(input: PlannerInput): Promise<PlannerResult> {
  const { ctx, scope, depth } = input;
  const run = ctx.run;
  const id = workflowInfo().workflowId;
  const role = scope ? ('subplanner' as const) : ('planner' as const);
  const carry = input.carry;

  let queue: Work[] = carry?.queue ?? [];
  let nextTask = carry?.nextTask ?? 1;
  let nextScope = carry?.nextScope ?? 1;
  let planned = carry?.planned ?? 0;
  let unread: Handoff[] = carry?.unread ?? [];
  const result: PlannerResult = carry?.result ?? {
    handoffs: [],
    usage: {},
    merged: 0,
    failed: 0,
    abandoned: 0,
    budgetExhausted: false,
    error: null,
  };
  let scopeDone = carry?.scopeDone ?? false;
  let paused = carry?.paused ?? false;
  let stopRequested = carry?.stopRequested ?? false;
  const guidance: string[] = [...input.guidance];
  let newGuidance: string[] = [];
  const running = new Map<string, Running>();
  let childUsage: UsageByRole = {};
  let state = 'planning';

  const children = () => [...running.keys()].map((cid) => getExternalWorkflowHandle(cid));
  const forward = (fn: (h: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>, onlyScopes = false) => {
    for (const [cid, r] of running)
      if (!onlyScopes || r.kind === 'scope') void fn(getExternalWorkflowHandle(cid)).catch(() => undefined);
  };
  setHandler(stopSignal, () => {
    stopRequested = true;
    for (const h of children()) void h.signal(stopSignal).catch(() => undefined);
  });
  setHandler(pauseSignal, () => {
    paused = true;
    forward((h) => h.signal(pauseSignal), true);
  });
  setHandler(resumeSignal, () => {
    paused = false;
    forward((h) => h.signal(resumeSignal), true);
  });
  setHandler(replanSignal, ({ guidance: g }) => {
    newGuidance.push(g);
    forward((h) => h.signal(replanSignal, { guidance: g }), true);
  });

  // Agents run on their host's queue (the parent picked the host; continue-as-new keeps it): the worktree is on this
  // host's disk, read-only tools run as local activities next to it, and activities are dispatched eagerly.
  const hostQueue = workflowInfo().taskQueue;
  const acts = activitiesFor(run.limits);
  const agentKey = taskIdOf(run.runId, id);
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
    if (carry) {
      s = newAgentState(carry.transcript, carry.contextTokens);
    } else {
      const t = await acts.host.startTranscript.executeWithOptions({ taskQueue: hostQueue }, [
        {
          transcriptId: id,
          kind: role,
          ctx,
          workspacePath: workspace.path,
          scope,
          depth,
          guidance,
          maxTasks: run.limits.maxTasksPerPlanner,
          canDelegate: depth < run.limits.maxDepth,
        },
      ]);
      s = newAgentState({ id: t.id, length: t.length }, t.tokens);
    }
    const model = role === 'planner' ? run.models.planner : run.models.subplanner;
    const agent: AgentSetup = {
      runId: run.runId,
      agentId: id,
      role,
      acts,
      modelCalls: run.modelCalls ?? 'activity',
      model,
      compactor: run.models.compactor,
      toolset: 'planner',
      control: [CONTROL.submitPlan],
      hostQueue,
      workspace,
      lease: input.lease,
      commandTimeoutMs: run.limits.commandTimeoutSeconds * 1000,
      label: `${role} step`,
    };
    setHandler(agentQuery, () => ({
      id,
      role,
      title: scope?.scope ?? 'root',
      state,
      step: s.steps,
      lastTool: s.lastTool,
      costUsd: totalOf(mergeByRole(s.usage, childUsage)).costUsd,
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
    const ownReserve = estimateCall(model, Math.max(s.contextTokens, 8_000));
    const outstanding = () =>
      [...running.values()].reduce((l, r) => add(l, r.lease), {
        costUsd: 0,
        tokens: 0,
        deadline: input.lease.deadline,
      } as Lease);
    const freeLease = () =>
      subtract(subtract(remaining(input.lease, totalOf(mergeByRole(s.usage, childUsage))), outstanding()), {
        costUsd: ownReserve.costUsd,
        tokens: ownReserve.tokens,
        deadline: input.lease.deadline,
      });
    const usedSlots = () => [...running.values()].reduce((n, r) => n + r.slots, 0);
    const details = () =>
      setCurrentDetails(
        `**${role}**: ${scope?.scope ?? run.goal}\n\n${state} · running ${running.size} · queued ${queue.length} · ` +
          `merged ${result.merged} · failed ${result.failed} · abandoned ${result.abandoned}`,
      );

    /** One planning round: the model explores and submits a plan, which replaces the not-yet-started queue. */
    async function planningRound(message: string | null): Promise<void> {
      state = 'planning';
      details();
      // The planner's own calls may use what its children have neither spent nor been leased.
      agent.lease = subtract(
        subtract(input.lease, spentLease(totalOf(childUsage), input.lease.deadline)),
        outstanding(),
      );
      if (message) await say(agent, s, [{ role: 'user', content: message }]);
      let repairs = 0;
      const maxSteps = s.steps + run.limits.plannerMaxSteps;
      for (;;) {
        const end = await runUntilControl(agent, s, { maxSteps, shouldStop: () => stopRequested });
        if (end.kind === 'stopped') return;
        if (end.kind === 'budget') {
          result.budgetExhausted = true;
          return;
        }
        if (end.kind === 'limit') {
          if (planned === 0) result.error = `the ${role} produced no plan: ${end.reason}`;
          scopeDone = true;
          return;
        }
        const parsed = planSchema.safeParse(end.call.arguments ?? {});
        if (!parsed.success) {
          const problems = end.call.argumentsError
            ? [`arguments are not valid JSON: ${end.call.argumentsError}`]
            : describeIssues(parsed.error);
          await answerControl(
            agent,
            s,
            end.call,
            `Your plan is invalid:\n- ${problems.join('\n- ')}\nSubmit it again, corrected.`,
            true,
          );
          if (repairs++ >= 1) {
            result.error = `the ${role} submitted an invalid plan twice: ${problems.join('; ')}`;
            scopeDone = true;
            return;
          }
          continue;
        }
        const plan = parsed.data;
        const room = Math.max(0, run.limits.maxTasksPerPlanner - planned);
        const tasks: TaskSpec[] = plan.tasks.slice(0, room);
        const canDelegate = depth < run.limits.maxDepth;
        const scopes: ScopeSpec[] = canDelegate ? plan.subplanners : [];
        queue = [
          ...scopes.map((spec) => ({ kind: 'scope' as const, spec })),
          ...tasks.map((spec) => ({ kind: 'task' as const, spec })),
        ];
        planned += tasks.length;
        scopeDone = plan.done;
        const notes = [
          `Plan accepted: ${tasks.length} task(s) and ${scopes.length} sub-planner(s) queued.`,
          plan.tasks.length > tasks.length
            ? `${plan.tasks.length - tasks.length} task(s) dropped: this planner may create at most ${run.limits.maxTasksPerPlanner}.`
            : '',
          plan.subplanners.length && !canDelegate
            ? 'Sub-planners are not available at this depth; plan tasks directly.'
            : '',
          'Handoffs will reach you as workers finish.',
        ];
        await answerControl(agent, s, end.call, notes.filter(Boolean).join(' '), false);
        return;
      }
    }

    function dispatch(): void {
      while (queue.length && !paused && !stopRequested && !result.budgetExhausted) {
        const freeSlots = input.slots - usedSlots();
        if (freeSlots < 1) return;
        const free = freeLease();
        if (exhausted(free, minWorkerCall, Date.now())) {
          result.budgetExhausted = true;
          return;
        }
        const work = queue.shift()!;
        const lease = carve(free, Math.min(queue.length + 1, freeSlots), minWorkerCall);
        if (work.kind === 'task') {
          const childId = workflowIds.task(id, nextTask++);
          start(childId, { kind: 'task', title: work.spec.title, slots: 1, lease }, (taskQueue) =>
            startChild(task, {
              workflowId: childId,
              taskQueue,
              args: [{ ctx, taskId: taskIdOf(run.runId, childId), spec: work.spec, lease, guidance }],
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
          const childId = workflowIds.subplanner(id, nextScope++);
          const slots = Math.max(1, Math.floor(freeSlots / 2));
          start(childId, { kind: 'scope', title: work.spec.scope, slots, lease }, (taskQueue) =>
            startChild(planner, {
              workflowId: childId,
              taskQueue,
              args: [{ ctx, scope: work.spec, depth: depth + 1, slots, lease, guidance }],
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
    }

    function start(
      childId: string,
      r: Running,
      begin: (hostQueue: string) => Promise<ChildWorkflowHandle<typeof task | typeof planner>>,
    ): void {
      running.set(childId, r);
      report({
        kind: 'started',
        id: childId,
        role: r.kind === 'task' ? 'worker' : 'subplanner',
        title: r.title,
        at: Date.now(),
      });
      // The host is whichever worker picks up hostQueue first: agents spread over the hosts that have capacity.
      void acts.run
        .hostQueue()
        .then(async (q) => {
          if (stopRequested) return null; // a stop arrived while the host was picked: never started
          const h = await begin(q);
          return (await h.result()) as Handoff | PlannerResult;
        })
        .then(
          (out) => (out ? finished(childId, r, out) : finished(childId, r, null, 'cancelled')),
          (err) => {
            if (isCancellation(err) && stopRequested) return finished(childId, r, null, 'cancelled');
            log.warn('child failed', { childId, error: String(err) });
            finished(childId, r, null, String((err as Error).cause ?? err));
          },
        );
    }

    function finished(childId: string, r: Running, out: Handoff | PlannerResult | null, error?: string): void {
      running.delete(childId);
      if (r.kind === 'task') {
        const h: Handoff = (out as Handoff | null) ?? {
          taskId: taskIdOf(run.runId, childId),
          title: r.title,
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
        childUsage = mergeByRole(childUsage, h.usage);
        result[h.status === 'merged' ? 'merged' : h.status === 'failed' ? 'failed' : 'abandoned']++;
        result.handoffs.push(compactHandoff(h));
        unread.push(h);
        report({
          kind: 'finished',
          id: childId,
          role: 'worker',
          handoff: { status: h.status, commit: h.commit },
          usage: h.usage,
        });
      } else {
        const sub = out as PlannerResult | null;
        if (sub) {
          childUsage = mergeByRole(childUsage, sub.usage);
          result.merged += sub.merged;
          result.failed += sub.failed;
          result.abandoned += sub.abandoned;
          result.handoffs.push(...sub.handoffs);
          if (sub.budgetExhausted) result.budgetExhausted = true;
        }
        unread.push({
          taskId: taskIdOf(run.runId, childId),
          title: `sub-planner: ${r.title}`,
          status: sub && !sub.error ? 'merged' : 'failed',
          summary: sub
            ? `Sub-planner finished: ${sub.merged} merged, ${sub.failed} failed, ${sub.abandoned} abandoned.${sub.error ? ` Error: ${sub.error}` : ''}`
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
        report({ kind: 'finished', id: childId, role: 'subplanner', usage: {} });
      }
      details();
    }

    {
      if (!carry) await planningRound(null);
      for (;;) {
        dispatch();
        details();
        const idle = running.size === 0 && (queue.length === 0 || result.budgetExhausted || stopRequested);
        const wantsPlanning = !stopRequested && !result.budgetExhausted && !result.error;
        if (wantsPlanning && newGuidance.length) {
          const g = newGuidance;
          newGuidance = [];
          guidance.push(...g);
          await planningRound(guidanceMessage(g, queue));
          continue;
        }
        if (
          wantsPlanning &&
          !scopeDone &&
          queue.length === 0 &&
          unread.length &&
          planned < run.limits.maxTasksPerPlanner
        ) {
          const batch = unread;
          unread = [];
          await planningRound(handoffsMessage(batch, running.size));
          continue;
        }
        if (idle) break;
        if (workflowInfo().continueAsNewSuggested) {
          // Children are drained first: the default parent close policy would otherwise end them.
          state = 'draining';
          details();
          await condition(() => running.size === 0);
          const next: PlannerCarry = {
            transcript: s.transcript,
            contextTokens: s.contextTokens,
            compactions: s.compactions,
            queue,
            nextTask,
            nextScope,
            planned,
            unread,
            result: { ...result, usage: mergeByRole(result.usage, mergeByRole(s.usage, childUsage)) },
            scopeDone,
            paused,
            stopRequested,
          };
          await flushReports();
          await continueAsNew<typeof planner>({ ...input, guidance, carry: next });
        }
        state = paused ? 'paused' : 'waiting for handoffs';
        details();
        const before = running.size;
        const unreadBefore = unread.length;
        await condition(
          () =>
            running.size !== before ||
            unread.length !== unreadBefore ||
            newGuidance.length > 0 ||
            (!paused && queue.length > 0 && usedSlots() < input.slots && !stopRequested) ||
            (stopRequested && running.size === 0),
        );
      }
    }
    state = 'done';
    details();
    await flushReports();
    return { ...result, usage: mergeByRole(result.usage, mergeByRole(s.usage, childUsage)) };
  } finally {
    await CancellationScope.nonCancellable(() =>
      acts.host.closeWorkspace.executeWithOptions({ taskQueue: hostQueue }, [{ runId: run.runId, taskId: agentKey }]),
    ).catch(() => undefined);
  }
}
