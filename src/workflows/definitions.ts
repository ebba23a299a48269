/**
 * The public surface of the workflows: inputs, results, signals, queries and updates. Clients import this file
 * too, so it holds definitions only.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Lease } from '../core/budget';
import type { DiskUse } from '../core/disk';
import type { RunEnvironment } from '../core/environment';
import type { Limits, ModelCallMode, RunInput } from '../core/schemas';
import type { CheckSummary, TargetHealth } from './lib/checks';
import type { Moved } from './lib/host-loss';
import type {
  Handoff,
  HubInfo,
  NotAttempted,
  Receipt,
  RefIncident,
  Role,
  RoleModels,
  ScopeSpec,
  TaskSpec,
  Usage,
  UsageByRole,
  Verdict,
} from '../core/types';

export type { RunEnvironment };

export type { DiskUse, RunInput };

/** The run after validation: defaults applied once at run start and recorded in history. */
export interface ResolvedRun {
  runId: string;
  repo: string;
  goal: string;
  base: string | null;
  testCommand: string | null;
  /** Absent in runs started before the option existed (and when detected from the lockfiles). */
  setup?: string;
  setupKey?: string[];
  guidance: string;
  models: RoleModels;
  limits: Limits;
  /** Absent in runs started before the option existed: 'activity'. */
  modelCalls?: ModelCallMode;
  /** 'tests-pass': a worker's merge is accepted only if the test command passes on it (absent: 'merge-clean'). */
  mergePolicy?: 'tests-pass';
  startedAt: number;
  promptsHash: string;
}

/** What every agent in a cycle knows about the run. Small: it is copied into each child's input. */
export interface RunContext {
  run: ResolvedRun;
  cycle: number;
  hub: HubInfo;
  /** The judge's rewritten notes from the previous cycle: the only memory carried across cycles. */
  scratchpad: string;
  nextFocus: string;
  /** Workflow id of the run, where agents report progress. */
  rootId: string;
  /**
   * The shared queue (the run's): where planners pick their children's hosts (`hostQueue`) and check them. Absent in
   * runs started before v0.2.1, whose planners asked their own host queue, and so kept every agent on their host.
   */
  sharedQueue?: string;
}

export type RunStatus = 'running' | 'done' | 'stopped' | 'budget_exhausted' | 'failed' | 'max_cycles';

export type Phase = 'preparing' | 'planning' | 'verifying' | 'judging' | 'publishing' | 'tidying' | 'finished';

export interface CycleRecord {
  cycle: number;
  tasks: { merged: number; failed: number; abandoned: number };
  receipt: Receipt | null;
  verdict: Verdict | null;
  /** Set when a judge's `done` was refused because the tests fail. */
  refusedDone: boolean;
  plannerError: string | null;
  /** Tasks that did not merge, with the worker's own account. */
  unmerged: Array<Pick<Handoff, 'taskId' | 'title' | 'status' | 'summary'>>;
  /** Planned tasks never started, with the reason (absent in cycles recorded by v0.1.0). */
  notAttempted?: NotAttempted[];
  usage: Usage;
  durationMs: number;
  /** The run's latest incidents so far (shared refs moved behind longrun's back, restored); from the hub's log. */
  incidents?: RefIncident[];
  /** The run's disk use after the cycle's tidy step (absent before v0.2.0, or when the tidy step failed). */
  disk?: DiskUse;
  /** The checks of the target made while the cycle worked (continuous verification; absent before v0.2.0). */
  checks?: CheckSummary[];
}

/** Carried across continue-as-new: totals and the scratchpad, nothing else (fresh cycles against drift). */
export interface RunCarry {
  run: ResolvedRun;
  hub: HubInfo;
  environment?: RunEnvironment;
  cycle: number;
  scratchpad: string;
  nextFocus: string;
  usage: UsageByRole;
  cycles: CycleRecord[];
  commits: number;
  pendingGuidance: string[];
  paused: boolean;
  /** The target's last green commit and open break, across cycles (absent before v0.2.0). */
  target?: TargetHealth;
}

export interface RunResult {
  runId: string;
  status: RunStatus;
  reason: string;
  cycles: number;
  /** notAttempted: planned tasks never started, over all cycles (see CycleRecord.notAttempted). */
  tasks: { merged: number; failed: number; abandoned: number; notAttempted?: number };
  commits: number;
  usage: UsageByRole;
  costUsd: number;
  finalVerdict: Verdict | null;
  lastReceipt: Receipt | null;
  resultBranch: string;
  history: CycleRecord[];
}

export interface AgentSummary {
  id: string;
  role: Role;
  title: string;
  startedAt: number;
  /** Set when the agent was restarted here after its host was lost: the lost host queue and how often it moved. */
  moved?: { from: string; count: number };
}

export interface RunStatusView {
  runId: string;
  status: RunStatus;
  cycle: number;
  phase: Phase;
  paused: boolean;
  stopRequested: boolean;
  activeAgents: Partial<Record<Role, number>>;
  agents: AgentSummary[];
  tasks: { running: number; merged: number; failed: number; abandoned: number; notAttempted?: number };
  commits: number;
  usage: UsageByRole;
  costUsd: number;
  lastVerdict: Verdict | null;
  lastReceipt: Receipt | null;
  resultBranch: string;
  /** The latest tip, green or not, published beside resultBranch (which only ever holds green commits). */
  tipBranch?: string;
  /** The target's last green commit and open break, and this cycle's checks (continuous verification). */
  target?: TargetHealth;
  checks?: CheckSummary[];
  /** Shared refs found moved behind longrun's back and restored, oldest first (the latest few). */
  incidents?: RefIncident[];
  /** The run's disk use as last measured (after the latest cycle's tidy step); absent before the first. */
  disk?: DiskUse;
  /** The run's dependency setup (absent before it ran, and in runs started before it existed). */
  environment?: RunEnvironment;
}

// ---------------------------------------------------------------------------
// Planner and task workflows

export interface PlannerInput {
  ctx: RunContext;
  /** null for the cycle's root planner; a scope for sub-planners. */
  scope: ScopeSpec | null;
  depth: number;
  /** Worker slots this planner may fill at once (its share of maxParallelAgents). */
  slots: number;
  lease: Lease;
  guidance: string[];
  /** Set on continue-as-new. */
  carry?: PlannerCarry;
  /** Set when this planner was restarted because its host was lost: it plans afresh (its state was lost). */
  moved?: Moved;
}

/** The planner's state between steps when no child runs: what it continues as new with (see lib/planner-machine). */
export interface PlannerCarry {
  transcript: { id: string; length: number };
  contextTokens: number;
  compactions: number;
  queue: Array<{ kind: 'task'; spec: TaskSpec } | { kind: 'scope'; spec: ScopeSpec }>;
  nextTask: number;
  nextScope: number;
  planned: number;
  unread: Handoff[];
  result: PlannerResult;
  scopeDone: boolean;
  paused: boolean;
  stopRequested: boolean;
  /** Breaks whose one fixer this planner queued (absent before v0.2.0). */
  fixers?: string[];
  /** PlannerState.roomToPlan (absent before v0.2.1, and when false). */
  roomToPlan?: boolean;
}

export interface PlannerResult {
  handoffs: Handoff[];
  usage: UsageByRole;
  merged: number;
  failed: number;
  abandoned: number;
  budgetExhausted: boolean;
  error: string | null;
  /** Planned work never started, this planner's and its sub-planners' (absent in results of v0.1.0). */
  notAttempted?: NotAttempted[];
}

export interface TaskInput {
  ctx: RunContext;
  taskId: string;
  spec: TaskSpec;
  lease: Lease;
  guidance: string[];
  /** Set on continue-as-new. */
  carry?: TaskCarry;
  /** Set when the task was restarted because its host was lost: it resumes from its last checkpoint. */
  moved?: Moved;
}

export interface TaskCarry {
  workspacePath: string;
  transcript: { id: string; length: number };
  contextTokens: number;
  steps: number;
  usage: UsageByRole;
  conflictRounds: number;
  emptyReplies: number;
  /** Carried so compaction transcript ids stay unique across continue-as-new. */
  compactions: number;
}

/** Progress reported by planners to the run, so `status` sees the whole tree without querying it. */
export type AgentEvent =
  | { kind: 'started'; id: string; role: Role; title: string; at: number; fixes?: string }
  | { kind: 'finished'; id: string; role: Role; handoff?: Pick<Handoff, 'status' | 'commit'>; usage: UsageByRole }
  /** Agent `id` (as started) lost its host queue `from`: it was terminated and restarted as workflow `to` elsewhere. */
  | { kind: 'moved'; id: string; to: string; role: Role; from: string; count: number; at: number };

// ---------------------------------------------------------------------------
// Signals, queries, updates

export interface GuidancePayload {
  guidance: string;
}

/** Graceful stop: no new tasks; running workers finish their current step and hand off; a final judge summary. */
export const stopSignal = defineSignal('stop');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** New guidance for every active planner, applied at its next planning step. */
export const replanSignal = defineSignal<[GuidancePayload]>('replan');
export const statusQuery = defineQuery<RunStatusView>('status');
/** Same as replan, but acknowledged: returns how many planners will see it. */
export const guideUpdate = defineUpdate<{ accepted: true; planners: number }, [GuidancePayload]>('guide');

/** Internal: planners report agent starts and handoffs to the run, batched. */
/** From the run to its root planner: the fixer of a break, made by longrun because the planner started none. */
export const fixBreakSignal = defineSignal<[{ spec: TaskSpec }]>('fixBreak');
export const agentEventsSignal = defineSignal<[AgentEvent[]]>('agentEvents');
/** Internal, superseded by agentEvents: one event per signal. Still handled so older histories replay. */
export const agentEventSignal = defineSignal<[AgentEvent]>('agentEvent');

export interface AgentView {
  id: string;
  role: Role;
  title: string;
  state: string;
  step: number;
  lastTool: string | null;
  costUsd: number;
  startedAt: number;
}
/** Every planner and task answers this: the CLI's `watch` builds its tree from it. */
export const agentQuery = defineQuery<AgentView>('agent');
