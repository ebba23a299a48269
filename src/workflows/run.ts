/**
 * autonomousRun: one per run. Each cycle is prepare → root planner (child) → verify → judge → publish, then
 * continue-as-new with a fresh state: only the judge's rewritten scratchpad and the totals carry over, which is
 * what keeps a week-long run from drifting.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { estimateCall, exhausted, remaining, subtract, type Lease } from '../core/budget';
import { CONTROL } from '../core/control-names';
import { describeDisk, type DiskUse } from '../core/disk';
import { describeEnvironment } from '../core/environment';
import { targetBranch, workflowIds } from '../core/ids';
import { DEFAULT_LIMITS } from '../core/defaults';
import { controlSchemas } from './lib/validation';
import { COST_USD, CYCLE, ROLE, RUN_ID, STATUS } from '../core/search-attributes';
import { describeIncident } from '../core/incidents';
import type { KnownRed, Receipt, RefIncident, Role, UsageByRole, Verdict } from '../core/types';
import { mergeByRole, totalOf } from '../core/usage';
import {
  agentFor,
  agentStartOptions,
  answerControl,
  newAgentState,
  readControl,
  resubmit,
  runUntilControl,
} from './agent';
import { activitiesFor, type Acts } from './activities';
import {
  agentEventSignal,
  agentEventsSignal,
  guideUpdate,
  pauseSignal,
  fixBreakSignal,
  replanSignal,
  resumeSignal,
  statusQuery,
  stopSignal,
  type AgentEvent,
  type AgentSummary,
  type CycleRecord,
  type Phase,
  type PlannerResult,
  type RunCarry,
  type RunContext,
  type RunEnvironment,
  type RunInput,
  type RunResult,
  type RunStatus,
  type RunStatusView,
} from './definitions';
import { cycleOutcome, cycleRecord, refuseDone, tasksOf } from './lib/cycle';
import {
  checkDue,
  describeHealth,
  fallbackFixer,
  initialChecks,
  isRedAlert,
  knownRedOf,
  onFixerEnded,
  onFixerStarted,
  onMerge,
  onReceipt,
  redAlert,
  startCheck,
  type CheckState,
} from './lib/checks';
import { beginMove, endMove, settle, type Moved, type Watched } from './lib/host-loss';
import { movedPlannerNote, superviseHosts } from './hosts';
import { PATCHES } from './patches';
import { planner } from './planner';

export async function autonomousRun(input: RunInput, carry?: RunCarry): Promise<RunResult> {
  // Whether the run may have caches on disk: from its setup phase on (a run refused at validation has none).
  const caches = { exist: carry !== undefined };
  try {
    const result = await runCycle(input, carry, caches);
    await removeCaches(caches.exist);
    return result;
  } catch (err) {
    if (!(err instanceof ContinueAsNew)) {
      // Keep the search attribute honest for `longrun list --status failed` and Web UI filters.
      upsertSearchAttributes([{ key: STATUS, value: isCancellation(err) ? 'cancelled' : 'failed' }]);
      await removeCaches(caches.exist);
    }
    throw err;
  }
}

/**
 * The run's dependency caches go when it ends, however it ends (a cancelled run too: the activity is not
 * cancellable). Histories recorded before this replay without it. A failure here costs disk, not the run's outcome.
 */
async function removeCaches(exist: boolean): Promise<void> {
  if (!exist || !patched(PATCHES.cachesRemovedAtEnd)) return;
  const runId = workflowInfo().workflowId;
  await CancellationScope.nonCancellable(() =>
    activitiesFor(DEFAULT_LIMITS).run.removeRunCaches.executeWithOptions({ summary: 'remove caches' }, [{ runId }]),
  ).catch(() => undefined);
}

/** One cycle of the run; ends by continuing as new or with the run's result. */
async function runCycle(input: RunInput, carry: RunCarry | undefined, caches: { exist: boolean }): Promise<RunResult> {
  /** Host watches of the cycle's root planner that were told to stop (hosts.ts): the cycle ends after them. */
  const watchesEnding: Array<Promise<void>> = [];

  const runId = workflowInfo().workflowId;
  let phase: Phase = 'preparing';
  let stopRequested = false;
  let paused = carry?.paused ?? false;
  const pendingGuidance: string[] = carry?.pendingGuidance ?? [];
  const agents = new Map<string, AgentSummary>();
  const live = { merged: 0, failed: 0, abandoned: 0, usage: {} as UsageByRole };
  let plannerId: string | null = null;
  let status: RunStatus = 'running';
  let lastVerdict: Verdict | null = carry?.cycles.at(-1)?.verdict ?? null;
  let lastReceipt: Receipt | null = carry?.cycles.at(-1)?.receipt ?? null;
  let environment: RunEnvironment | undefined = carry?.environment;
  // Shared refs moved behind longrun's back and restored: the hub's log, as the last activity that read it said.
  let incidents: RefIncident[] = carry?.cycles.at(-1)?.incidents ?? [];
  // The run's disk use as the latest tidy step measured it (a cycle whose tidy failed has none).
  let disk: DiskUse | null = [...(carry?.cycles ?? [])].reverse().find((c) => c.disk)?.disk ?? null;
  // Below the Web UI details of every phase: the setup the run chose (with its kept log) and its disk use.
  const detailsFooter = () =>
    `${environment ? `\n\n${describeEnvironment(environment)}` : ''}${disk ? `\n\ndisk: ${describeDisk(disk)}` : ''}`;
  // Continuous verification (lib/checks.ts): the target's health and this cycle's checks.
  let checks: CheckState = initialChecks(carry?.target);

  const toPlanner = (fn: (h: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>) => {
    if (plannerId) void fn(getExternalWorkflowHandle(plannerId)).catch(() => undefined);
  };
  setHandler(stopSignal, () => {
    stopRequested = true;
    toPlanner((h) => h.signal(stopSignal));
  });
  setHandler(pauseSignal, () => {
    paused = true;
    toPlanner((h) => h.signal(pauseSignal));
  });
  setHandler(resumeSignal, () => {
    paused = false;
    toPlanner((h) => h.signal(resumeSignal));
  });
  // Guidance the cycle's planner got by signal: a planner restarted after its host was lost gets it in its input.
  const plannerGuidance: string[] = [];
  const guide = (guidance: string) => {
    if (plannerId) {
      toPlanner((h) => h.signal(replanSignal, { guidance }));
      if (!isRedAlert(guidance)) plannerGuidance.push(guidance);
    } else pendingGuidance.push(guidance); // applied by the next cycle's planner
  };
  setHandler(replanSignal, ({ guidance }) => guide(guidance));
  setHandler(
    guideUpdate,
    ({ guidance }) => {
      guide(guidance);
      return {
        accepted: true as const,
        planners: plannerId ? 1 + [...agents.values()].filter((a) => a.role === 'subplanner').length : 0,
      };
    },
    {
      validator: (payload) => {
        if (!payload || typeof payload.guidance !== 'string' || !payload.guidance.trim()) {
          throw new Error('guide needs {"guidance": "<non-empty text>"}');
        }
      },
    },
  );
  const onAgentEvent = (e: AgentEvent) => {
    if (e.kind === 'started') {
      agents.set(e.id, { id: e.id, role: e.role, title: e.title, startedAt: e.at });
      if (e.fixes) checks = onFixerStarted(checks, e.fixes, e.title);
    } else if (e.kind === 'moved') {
      const a = agents.get(e.id);
      if (a) agents.set(e.id, { ...a, id: e.to, startedAt: e.at, moved: { from: e.from, count: e.count } });
    } else {
      const started = agents.get(e.id);
      if (e.role === 'worker' && started) checks = onFixerEnded(checks, started.title);
      if (e.handoff?.status === 'merged' && e.role === 'worker')
        checks = onMerge(checks, { taskId: e.id, title: started?.title ?? e.id, commit: e.handoff.commit ?? null });
      agents.delete(e.id);
      live.usage = mergeByRole(live.usage, e.usage);
      if (e.handoff)
        live[e.handoff.status === 'merged' ? 'merged' : e.handoff.status === 'failed' ? 'failed' : 'abandoned']++;
    }
  };
  setHandler(agentEventsSignal, (events) => events.forEach(onAgentEvent));
  setHandler(agentEventSignal, onAgentEvent);

  const totals = () => mergeByRole(carry?.usage ?? {}, live.usage);
  const tasksSoFar = () => {
    const before = tasksOf(carry?.cycles ?? []);
    return {
      merged: before.merged + live.merged,
      failed: before.failed + live.failed,
      abandoned: before.abandoned + live.abandoned,
      notAttempted: before.notAttempted,
    };
  };
  setHandler(statusQuery, (): RunStatusView => {
    const activeAgents: Partial<Record<Role, number>> = {};
    for (const a of agents.values()) activeAgents[a.role] = (activeAgents[a.role] ?? 0) + 1;
    if (phase === 'planning') activeAgents.planner = 1;
    if (phase === 'judging') activeAgents.judge = 1;
    return {
      runId,
      status,
      cycle: carry?.cycle ?? 1,
      phase,
      paused,
      stopRequested,
      activeAgents,
      agents: [...agents.values()],
      tasks: { running: [...agents.values()].filter((a) => a.role === 'worker').length, ...tasksSoFar() },
      commits: (carry?.commits ?? 0) + live.merged,
      usage: totals(),
      costUsd: totalOf(totals()).costUsd,
      lastVerdict,
      lastReceipt,
      resultBranch: targetBranch(runId),
      tipBranch: `${targetBranch(runId)}-tip`,
      target: { green: checks.green, red: checks.red },
      checks: checks.checks,
      incidents,
      ...(disk ? { disk } : {}),
      ...(environment ? { environment } : {}),
    };
  });
  // The cycle's phases, in order: prepare (first cycle only) → plan → verify → judge → publish → tidy, then the outcome.
  carry = carry ?? (await prepare());
  const { run, hub } = carry;
  const acts = activitiesFor(run.limits);
  const cycle = carry.cycle;
  const spentBefore = totalOf(carry.usage);
  const runLease: Lease = {
    costUsd: run.limits.maxCostUsd,
    tokens: run.limits.maxTokens,
    deadline: run.startedAt + run.limits.maxWallHours * 3_600_000,
  };
  // Kept out of the planner's lease so the cycle can always be judged; a judge prompt is a few thousand tokens.
  const judgeReserve = estimateCall(run.models.judge, 16_000);

  upsertSearchAttributes([{ key: CYCLE, value: cycle }]);

  const finish = (s: RunStatus, reason: string, record: CycleRecord | null): RunResult => {
    status = s;
    phase = 'finished';
    const history = record ? [...carry!.cycles, record] : carry!.cycles;
    const usage = record ? mergeByRole(carry!.usage, live.usage) : carry!.usage;
    upsertSearchAttributes([
      { key: STATUS, value: s },
      { key: COST_USD, value: totalOf(usage).costUsd },
    ]);
    const restored = incidents.length
      ? `\n\n**${incidents.length} incident(s)**, restored:\n${incidents.map((i) => `- ${describeIncident(i)}`).join('\n')}`
      : '';
    setCurrentDetails(`**${s}** after ${history.length} cycle(s): ${reason}${restored}${detailsFooter()}`);
    const tasks = tasksOf(history);
    return {
      runId,
      status: s,
      reason,
      cycles: history.length,
      tasks,
      commits: tasks.merged,
      usage,
      costUsd: totalOf(usage).costUsd,
      finalVerdict: lastVerdict,
      lastReceipt,
      resultBranch: targetBranch(runId),
      history,
    };
  };

  if (
    exhausted(
      subtract(remaining(runLease, spentBefore), { costUsd: 0, tokens: 0, deadline: runLease.deadline }),
      judgeReserve,
      Date.now(),
    )
  ) {
    return finish('budget_exhausted', 'the budget left cannot cover another cycle', null);
  }

  const started = Date.now();
  const checking = patched(PATCHES.continuousVerification);
  // One owner per break: the known-red record for agents, and longrun's own fixer when the planner starts none.
  const owning = checking && patched(PATCHES.ownedBreaks);
  const fixerWaitMs = (run.limits.fixerWaitMinutes ?? DEFAULT_LIMITS.fixerWaitMinutes) * 60_000;
  let fixerDeadline: number | null = null;
  let plannerDone = false;
  const tipBefore = await acts.run.targetTip({ runId });
  const { plan, plannerError } = await planPhase();
  const cycleUsage = mergeByRole(plan?.usage ?? {}, {});
  // Planner results are authoritative; live counts were only for status while the cycle ran.
  live.usage = cycleUsage;
  live.merged = plan?.merged ?? 0;
  live.failed = plan?.failed ?? 0;
  live.abandoned = plan?.abandoned ?? 0;
  const receipt = await verifyPhase();
  const judged = await judgePhase(plan, plannerError, receipt);
  await publishPhase();
  // Histories recorded before the tidy step existed replay without it.
  if (patched(PATCHES.tidyBetweenCycles)) await tidyPhase(plan);

  const record = cycleRecord({
    cycle,
    plan,
    plannerError,
    receipt,
    verdict: judged.verdict,
    refusedDone: judged.refusedDone,
    usage: totalOf(mergeByRole(cycleUsage, judged.usage)),
    durationMs: Date.now() - started,
    incidents,
    disk,
  });
  if (checks.checks.length) record.checks = checks.checks;
  const usage = mergeByRole(carry.usage, live.usage);
  const spent = totalOf(usage);
  upsertSearchAttributes([{ key: COST_USD, value: spent.costUsd }]);

  const outcome = cycleOutcome({
    stopRequested,
    verdict: judged.verdict,
    plannerBudgetExhausted: !!plan?.budgetExhausted,
    runLease,
    spent,
    judgeReserve,
    now: Date.now(),
    cycle,
    maxCycles: run.limits.maxCycles,
  });
  // A watch of the root planner's host takes its cancellation by its next heartbeat: never after the run closed.
  await Promise.all(watchesEnding);
  if (outcome.kind === 'finish') return finish(outcome.status, outcome.reason, record);

  // Fresh cycle: nothing but the scratchpad, totals and pending guidance carries over.
  await condition(() => true);
  return continueAsNew<typeof autonomousRun>(input, {
    run,
    hub,
    ...(environment ? { environment } : {}),
    cycle: cycle + 1,
    scratchpad: judged.verdict.scratchpad,
    nextFocus: judged.verdict.nextFocus,
    usage,
    cycles: [...carry.cycles, record],
    commits: carry.commits + record.tasks.merged,
    pendingGuidance,
    paused,
    ...(checking ? { target: { green: checks.green, red: checks.red } } : {}),
  });

  /** First cycle only: validate everything before any agent starts, then make the hub. */
  async function prepare(): Promise<RunCarry> {
    upsertSearchAttributes([
      { key: RUN_ID, value: runId },
      { key: ROLE, value: 'run' },
      { key: STATUS, value: 'running' },
    ]);
    // Before validation the run's limits are not known: its own timeouts apply from the hub on.
    const run = await userErrorsAsOwn(() => activitiesFor(DEFAULT_LIMITS).run.validateRun(input, runId, Date.now()));
    const hub = await userErrorsAsOwn(() =>
      activitiesFor(run.limits).run.prepareHub({ runId, repo: run.repo, base: run.base ?? undefined }),
    );
    upsertMemo({ promptsHash: run.promptsHash, models: run.models, limits: run.limits });
    if (patched(PATCHES.environmentSetup)) {
      caches.exist = true;
      setCurrentDetails('preparing: installing the dependencies');
      const env = await userErrorsAsOwn(() =>
        activitiesFor(run.limits).setup.prepareEnvironment({
          runId,
          commit: hub.baseCommit,
          setup: run.setup,
          setupKey: run.setupKey,
        }),
      );
      environment = { command: env.command, source: env.source, log: env.log };
      upsertMemo({ environment });
    }
    return {
      run,
      hub,
      ...(environment ? { environment } : {}),
      cycle: 1,
      scratchpad: '',
      nextFocus: '',
      usage: {},
      cycles: [],
      commits: 0,
      pendingGuidance,
      paused,
    };
  }

  /** The cycle's root planner and its tree of sub-planners and workers, unless the run is stopped while paused. */
  async function planPhase(): Promise<{ plan: PlannerResult | null; plannerError: string | null }> {
    let plan: PlannerResult | null = null;
    let plannerError: string | null = null;
    await condition(() => !paused || stopRequested);
    if (stopRequested) return { plan, plannerError };
    phase = 'planning';
    setCurrentDetails(`cycle ${cycle}: planning and working${detailsFooter()}`);
    plannerId = workflowIds.rootPlanner(runId, cycle);
    const ctx: RunContext = {
      run,
      cycle,
      hub,
      scratchpad: carry!.scratchpad,
      nextFocus: carry!.nextFocus,
      rootId: runId,
      sharedQueue: workflowInfo().taskQueue,
    };
    const lease = subtract(remaining(runLease, spentBefore), { ...judgeReserve, deadline: runLease.deadline });
    const guidance = [run.guidance, ...pendingGuidance].filter(Boolean);
    // Agents run on their host's queue (see planner.ts); the root planner's host is whoever picks this up.
    const startPlanner = async (workflowId: string, moved?: Moved) => {
      const taskQueue = await acts.run.hostQueue();
      const handle = await startChild(planner, {
        workflowId,
        taskQueue,
        ...agentStartOptions(run),
        args: [
          {
            ctx,
            scope: null,
            depth: 0,
            slots: run.limits.maxParallelAgents,
            lease,
            guidance: moved ? [...guidance, ...plannerGuidance, movedPlannerNote(moved)] : guidance,
            ...(moved ? { moved } : {}),
          },
        ],
        staticSummary: `planner: cycle ${cycle}`,
        typedSearchAttributes: [
          { key: RUN_ID, value: runId },
          { key: ROLE, value: 'planner' },
          { key: CYCLE, value: cycle },
        ],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      });
      if (stopRequested) toPlanner((h) => h.signal(stopSignal));
      if (paused) toPlanner((h) => h.signal(pauseSignal));
      return { handle, taskQueue };
    };
    try {
      const { handle: child, taskQueue: plannerQueue } = await startPlanner(plannerId);
      pendingGuidance.length = 0;
      // The watcher's outcome is taken at once: cancelling the run rejects its timer while the planner still drains,
      // and a rejection nobody awaits yet fails the workflow task, dropping the cancel request to the planner with it.
      const watching = checking ? settled(watchTarget(() => plannerDone)) : null;
      try {
        plan = patched(PATCHES.movesOffLostHosts)
          ? await supervised(child, plannerQueue, startPlanner)
          : await child.result();
      } finally {
        plannerDone = true;
        plannerId = null; // a break a running check still finds goes to the next cycle's planner
        const watched = await watching; // one check at a time: the cycle's own verification waits for a running check
        if (watched?.error) throw watched.error;
      }
    } catch (err) {
      if (isCancellation(err)) throw err; // cancelling the run is a hard stop: children are cancelled and clean up
      plannerError = String((err as Error).cause ?? err);
    }
    plannerId = null;
    agents.clear();
    return { plan, plannerError };
  }

  /**
   * The root planner's result, restarting it on another host (afresh: its state is lost, it plans again against the
   * target as it is) each time its host stops polling. Its children on healthy hosts are cancelled with it (parent
   * close policy).
   */
  async function supervised(
    first: { result(): Promise<PlannerResult> },
    host: string,
    restart: (
      workflowId: string,
      moved: Moved,
    ) => Promise<{ handle: { result(): Promise<PlannerResult> }; taskQueue: string }>,
  ): Promise<PlannerResult> {
    const rootId = plannerId!;
    const w: Watched = { attempt: rootId, host };
    // What the lost planners' trees reported before they were lost: their results never come.
    let lost = { merged: 0, failed: 0, abandoned: 0, usage: {} as UsageByRole };
    let deliver!: (o: { out: PlannerResult } | { err: unknown }) => void;
    const outcome = new Promise<{ out: PlannerResult } | { err: unknown }>((resolve) => (deliver = resolve));
    const follow = (h: { result(): Promise<PlannerResult> }, attempt: string) =>
      void h.result().then(
        (out) => settle(w, attempt, { out }) === 'deliver' && deliver({ out }),
        (err: unknown) => settle(w, attempt, { err }) === 'deliver' && deliver({ err }),
      );
    follow(first, rootId);
    const supervision = superviseHosts({
      limits: run.limits,
      acts,
      children: () => [[rootId, w]],
      move: async (_, watched) => {
        const { attempt, from } = beginMove(watched);
        const reason = `longrun: its host stopped polling ${from}; restarted on another host`;
        const abandoned = await acts.run
          .abandonLostAgent({ workflowId: attempt, reason, queue: from })
          .catch((err: unknown) => {
            if (isCancellation(err)) throw err;
            return 'failed' as const;
          });
        const end = endMove(rootId, watched, from, abandoned);
        if (end.kind === 'deliver') deliver(end.outcome as { out: PlannerResult } | { err: unknown });
        if (end.kind !== 'restart') return;
        log.warn('root planner moved off a lost host', { from, lost: attempt, restarted: end.workflowId });
        lost = { merged: live.merged, failed: live.failed, abandoned: live.abandoned, usage: live.usage };
        plannerId = end.workflowId; // signals go to the new planner
        agents.clear(); // the lost planner's agents are gone or cancelled; the new one reports its own
        try {
          const { handle, taskQueue } = await restart(end.workflowId, end.moved);
          if (watched.attempt === end.workflowId) watched.host = taskQueue;
          follow(handle, end.workflowId);
        } catch (err) {
          if (settle(watched, end.workflowId, { err }) === 'deliver') deliver({ err });
        }
      },
    });
    const o = await outcome;
    delete w.host; // the cycle's planner has ended: nothing left to watch
    watchesEnding.push(supervision.stop()); // awaited before the run closes or continues as new
    if ('err' in o) throw o.err;
    const out = o.out;
    return {
      ...out,
      merged: out.merged + lost.merged,
      failed: out.failed + lost.failed,
      abandoned: out.abandoned + lost.abandoned,
      usage: mergeByRole(out.usage, lost.usage),
    };
  }

  /** The test command on a clean checkout of the target tip. */
  async function verifyPhase(): Promise<Receipt | null> {
    if (!run.testCommand) return null;
    phase = 'verifying';
    setCurrentDetails(`cycle ${cycle}: verifying with \`${run.testCommand}\``);
    const receipt = await acts.verify.verifyTarget.executeWithOptions({ summary: `verify: ${run.testCommand}` }, [
      { runId, testCommand: run.testCommand, timeoutMs: run.limits.commandTimeoutSeconds * 1000 },
    ]);
    lastReceipt = receipt;
    if (receipt.incidents?.length) incidents = [...incidents, ...receipt.incidents];
    if (checking) await recordCheck(receipt);
    return receipt;
  }

  /**
   * Checks the target tip while the planner's tree works: after verifyEveryMerges merges, or verifyEveryMinutes when
   * anything merged. Merges never wait for it (workers merge in their own workflows); checks run one at a time.
   */
  async function watchTarget(done: () => boolean): Promise<void> {
    const everyMerges = run.limits.verifyEveryMerges ?? DEFAULT_LIMITS.verifyEveryMerges;
    const minutes = run.limits.verifyEveryMinutes ?? DEFAULT_LIMITS.verifyEveryMinutes;
    if (!run.testCommand || (everyMerges === 0 && minutes === 0)) return;
    // A break the planner got before this cycle, or in a cycle that ended: this planner gets the bound afresh.
    if (owning && checks.red && !checks.red.fixer) fixerDeadline = Date.now() + fixerWaitMs;
    let lastCheck = Date.now();
    for (;;) {
      const woke = () => done() || checkDue(checks, { everyMerges }, false);
      const checkAt = minutes > 0 ? lastCheck + minutes * 60_000 : Infinity;
      const fixerAt = fallbackPending() ? fixerDeadline! : Infinity;
      const wakeAt = Math.min(checkAt, fixerAt);
      if (wakeAt === Infinity) await condition(woke);
      else await condition(woke, Math.max(1, wakeAt - Date.now()));
      if (done()) return;
      if (fallbackPending() && Date.now() >= fixerDeadline!) fallbackFixerNow();
      if (!checkDue(checks, { everyMerges }, Date.now() >= checkAt)) continue;
      lastCheck = Date.now();
      checks = startCheck(checks);
      try {
        const receipt = await acts.verify.verifyTarget.executeWithOptions({ summary: `check: ${run.testCommand}` }, [
          { runId, testCommand: run.testCommand, timeoutMs: run.limits.commandTimeoutSeconds * 1000 },
        ]);
        lastReceipt = receipt;
        if (receipt.incidents?.length) incidents = [...incidents, ...receipt.incidents];
        await recordCheck(receipt);
      } catch (err) {
        if (isCancellation(err)) throw err;
        // A check that cannot run is not a verdict on the target; the cycle's own verification still runs.
      }
    }
  }

  /** An open break with no fixer started and none queued by longrun: the planner still has until fixerDeadline. */
  function fallbackPending(): boolean {
    return owning && fixerDeadline !== null && !!checks.red && !checks.red.fixer && !checks.red.fallback;
  }

  /** The planner did not start a fixer within the bound: longrun queues one (the planner drops its own later). */
  function fallbackFixerNow(): void {
    if (!plannerId || !checks.red || !run.testCommand) return;
    const spec = fallbackFixer(checks, run.testCommand);
    checks = { ...checks, red: { ...checks.red, fallback: true } };
    toPlanner((h) => h.signal(fixBreakSignal, { spec }));
  }

  /** A receipt's consequences: the green branch moves, or a new break is reported once to the planner. */
  async function recordCheck(receipt: Receipt): Promise<void> {
    const lastGreen = checks.green;
    const wasRed = !!checks.red;
    // With no green receipt yet, the run's base stands in for the last green commit (lib/checks.ts onReceipt).
    const baseline = !lastGreen && patched(PATCHES.breakBeforeFirstGreen) ? hub.baseCommit : undefined;
    const renew = checks.red?.fixerEnded === 'checked' && patched(PATCHES.breakOutlivesFix);
    const { state, event } = onReceipt(checks, receipt, Date.now(), baseline, renew);
    checks = state;
    setCurrentDetails(
      `cycle ${cycle}: ${phase === 'planning' ? 'planning and working' : phase}; ${describeHealth(checks)}`,
    );
    if (event.kind === 'green') {
      // Agents' test runs are no longer told of the break.
      if (wasRed && owning) await knownRed(null);
      if (event.commit !== lastGreen) await publish({ as: 'green', commit: event.commit }, phase === 'planning');
    } else if (event.kind === 'break' && (lastGreen || baseline)) {
      const from = (lastGreen ?? baseline)!;
      const files = await acts.run.diffStat({ runId, from, to: event.commit }).catch(() => '');
      // Recorded before the planner hears of it: every test run from its fixer's first on is told of the break.
      if (owning) await knownRed(knownRedOf(receipt, event.suspects));
      fixerDeadline = plannerId ? Date.now() + fixerWaitMs : null;
      guide(redAlert(receipt, from, event.suspects, files, !lastGreen, event.after));
    }
  }

  /** The hub's known-red record (workspace/known-red.ts); a failure to write it is not a verdict on anything. */
  async function knownRed(red: KnownRed | null): Promise<void> {
    await acts.run.recordKnownRed({ runId, red }).catch((err: unknown) => {
      if (isCancellation(err)) throw err;
    });
  }

  /** Publishes to the user's repository; mid-cycle, a failure waits for the cycle's own publish to surface. */
  async function publish(how: { as?: 'green' | 'tip'; commit?: string }, tolerant: boolean): Promise<void> {
    try {
      const published = await acts.run.publishTarget({ runId, repo: run.repo, ...how });
      if (published.incidents) incidents = published.incidents; // the whole log (older workers returned none)
    } catch (err) {
      if (!tolerant || isCancellation(err)) throw err;
    }
  }

  /** The judge's verdict (continue, done or stop), with `done` refused on a failing receipt. */
  async function judgePhase(plan: PlannerResult | null, plannerError: string | null, receipt: Receipt | null) {
    phase = 'judging';
    setCurrentDetails(`cycle ${cycle}: judging`);
    const diffStat = await acts.run.diffStat({ runId, from: tipBefore });
    const judged = await judge(
      acts,
      run,
      runId,
      cycle,
      carry!.scratchpad,
      plan,
      plannerError,
      receipt,
      diffStat,
      totals(),
      stopRequested,
    );
    live.usage = mergeByRole(live.usage, judged.usage);
    const { verdict, refusedDone } = refuseDone(judged.verdict, run.testCommand, receipt);
    lastVerdict = verdict;
    return { verdict, refusedDone, usage: judged.usage };
  }

  /** The target branch to the user's repository. */
  async function publishPhase(): Promise<void> {
    phase = 'publishing';
    if (!checking) return publish({}, false);
    // longrun/<runId> holds green commits only (recordCheck moved it); without a test command, green is the tip.
    if (!run.testCommand) await publish({}, false);
    // Until a check is green, the run's base stands in (as for blame, lib/checks.ts): the result branch exists.
    else if (!checks.green && patched(PATCHES.breakBeforeFirstGreen))
      await publish({ as: 'green', commit: hub.baseCommit }, false);
    await publish({ as: 'tip' }, false);
  }

  /**
   * Disk bounded and visible: merged tasks' hub branches go and the hub is gc'd, finished transcripts are archived
   * (removed after limits.transcriptRetentionHours), and the run's disk use is measured for status and report. On
   * the host that ran the judge, where this cycle's transcripts are. A failure here costs disk, not the run.
   */
  async function tidyPhase(plan: PlannerResult | null): Promise<void> {
    phase = 'tidying';
    setCurrentDetails(`cycle ${cycle}: tidying the hub and transcripts`);
    const mergedTaskIds = (plan?.handoffs ?? []).filter((h) => h.status === 'merged').map((h) => h.taskId);
    try {
      const hostQueue = await acts.run.hostQueue();
      const tidied = await acts.host.tidyRun.executeWithOptions({ taskQueue: hostQueue, summary: 'tidy' }, [
        {
          runId,
          mergedTaskIds,
          retentionHours: run.limits.transcriptRetentionHours ?? DEFAULT_LIMITS.transcriptRetentionHours,
        },
      ]);
      disk = tidied.disk;
    } catch (err) {
      if (isCancellation(err)) throw err;
      disk = null; // measured before this cycle: no longer the run's disk use
    }
  }
}

/** A promise's outcome as a value, so its rejection is handled from the start and can be rethrown when awaited. */
function settled(p: Promise<void>): Promise<{ error: unknown } | null> {
  return p.then(
    () => null,
    (error: unknown) => ({ error }),
  );
}

/**
 * A user's mistake found by an activity fails the run with that activity's own message and type, so the Web UI and
 * `temporal workflow result` show the list of problems instead of "Activity task failed".
 */
async function userErrorsAsOwn<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable) {
      const { type, message, details } = err.cause;
      throw ApplicationFailure.create({
        type: type ?? undefined,
        message,
        nonRetryable: true,
        details: details as unknown[],
      });
    }
    throw err;
  }
}

async function judge(
  acts: Acts,
  run: RunCarry['run'],
  runId: string,
  cycle: number,
  scratchpad: string,
  plan: PlannerResult | null,
  plannerError: string | null,
  receipt: Receipt | null,
  diffStat: string,
  usage: UsageByRole,
  stopRequested: boolean,
): Promise<{ verdict: Verdict; usage: UsageByRole }> {
  const hostQueue = await acts.run.hostQueue();
  const id = `${runId}/c${cycle}/judge`;
  const t = await acts.host.startTranscript.executeWithOptions({ taskQueue: hostQueue }, [
    {
      transcriptId: id,
      kind: 'judge',
      run,
      cycle,
      scratchpad,
      plan,
      plannerError: plannerError ?? plan?.error ?? null,
      receipt,
      diffStat,
      usage: totalOf(usage),
      stopRequested,
    },
  ]);
  const s = newAgentState({ id: t.id, length: t.length }, t.tokens);
  const agent = agentFor(run, 'judge', {
    agentId: id,
    acts,
    // One judge per cycle, inside the run workflow on the shared queue: its transcript is on the host picked above,
    // which only an activity routed to that host's queue is sure to reach.
    modelCalls: 'activity',
    toolset: 'judge',
    control: [CONTROL.submitVerdict],
    hostQueue,
    workspace: null,
    // The judge's reserve was kept out of the planner's lease; it is never refused for budget.
    lease: { costUsd: null, tokens: null, deadline: Number.MAX_SAFE_INTEGER },
  });
  let problems: string[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    const end = await runUntilControl(agent, s, { maxSteps: s.steps + 3, shouldStop: () => false });
    if (end.kind !== 'control') {
      problems = [end.kind === 'stopped' ? 'stopped' : end.reason];
      break;
    }
    const read = await readControl(agent, s, end.call, controlSchemas().verdictSchema, resubmit('verdict'));
    if (read.ok) {
      await answerControl(agent, s, end.call, 'Verdict recorded.', false);
      const verdict = stopRequested ? { ...read.value, decision: 'stop' as const } : read.value;
      return { verdict, usage: s.usage };
    }
    problems = read.problems;
  }
  if (stopRequested) {
    return {
      verdict: { decision: 'stop', reasons: ['stopped by the operator'], nextFocus: '', scratchpad },
      usage: s.usage,
    };
  }
  throw ApplicationFailure.nonRetryable(
    `the judge gave no valid verdict for cycle ${cycle}: ${problems.join('; ')}`,
    'InvalidVerdict',
  );
}
