/**
 * The agent loop, shared by planners, workers and the judge: model turn → tool calls → … until the model calls a
 * control tool (finish, submit_plan, submit_verdict). Each model turn and each tool call is its own activity;
 * the conversation itself stays on disk (claim-check), the workflow only holds its { id, length }.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, patched } from '@temporalio/workflow';
import { refuseCall, type Lease } from '../core/budget';
import type { ModelCallMode } from '../core/defaults';
import { describeIssues } from '../core/issues';
import type { ZodError } from 'zod';
import {
  MODEL_ERRORS,
  READ_ONLY_TOOLS,
  type ChatMessage,
  type ResolvedModel,
  type Role,
  type ToolCall,
  type TranscriptRef,
  type UsageByRole,
  type WorkspaceRef,
} from '../core/types';
import { addCallByRole, totalOf } from '../core/usage';
import type { ModelRequest } from '../activities';
import type { Acts } from './activities';
import type { ResolvedRun } from './definitions';
import { initialStuck, stuckWarning, trackTool, type StuckState, type StuckVerdict } from './lib/stuck';
import { PATCHES } from './patches';

/** Same call in a row, or same failure, this many times: a worker is warned once; twice as many: it is stopped. */
export const STUCK_REPEATS = 10;

export type { Toolset } from '../activities/toolsets';
import type { Toolset } from '../activities/toolsets';

/** Mutable loop state; carried across continue-as-new. */
export interface AgentState {
  transcript: TranscriptRef;
  /** Tokens the next call will send, as of the last reply (input + output of that call). */
  contextTokens: number;
  steps: number;
  usage: UsageByRole;
  emptyReplies: number;
  compactions: number;
  lastTool: string | null;
  /** Repeated calls and failures (lib/stuck.ts); starts afresh after continue-as-new. */
  stuck?: StuckState;
}

export interface AgentSetup {
  runId: string;
  agentId: string;
  role: Role;
  /** Activity proxies for this run (timeouts from its limits). */
  acts: Acts;
  /** Model calls as activities or as local activities (RunInput.modelCalls). */
  modelCalls: ModelCallMode;
  model: ResolvedModel;
  compactor: ResolvedModel;
  toolset: Toolset;
  /** Names of control tools: their calls end the loop and come back with inline arguments. */
  control: string[];
  hostQueue: string;
  workspace: WorkspaceRef | null;
  lease: Lease;
  commandTimeoutMs: number;
  /** "worker step 7" in the Web UI. */
  label: string;
  /** A fixer's break (TaskSpec.fixes): its test runs are told it owns the known failures. */
  fixes?: string;
}

/** The agent of one role in a run: its model (RoleModels[role]), tools and control calls; `${role} step` in the UI. */
export function agentFor(
  run: ResolvedRun,
  role: 'planner' | 'subplanner' | 'worker' | 'judge',
  o: Pick<AgentSetup, 'agentId' | 'acts' | 'toolset' | 'control' | 'hostQueue' | 'workspace' | 'lease'> &
    Partial<Pick<AgentSetup, 'modelCalls'>>,
): AgentSetup {
  return {
    runId: run.runId,
    role,
    modelCalls: run.modelCalls ?? 'activity',
    model: run.models[role],
    compactor: run.models.compactor,
    commandTimeoutMs: run.limits.commandTimeoutSeconds * 1000,
    label: `${role} step`,
    ...o,
  };
}

/**
 * Options every agent workflow starts with: with local model calls, the workflow task timeout of
 * `limits.localTaskTimeoutSeconds`. Left to Temporal (10 s) when that is the value, so that histories from before the
 * limit existed replay the same commands.
 */
export function agentStartOptions(run: Pick<ResolvedRun, 'limits' | 'modelCalls'>): { workflowTaskTimeout?: number } {
  const seconds = run.limits.localTaskTimeoutSeconds;
  return run.modelCalls === 'local' && seconds && seconds !== 10 ? { workflowTaskTimeout: seconds * 1000 } : {};
}

export type LoopEnd =
  | { kind: 'control'; call: ToolCall }
  | { kind: 'stopped' }
  | { kind: 'limit'; reason: string }
  | { kind: 'budget'; reason: string };

const COMPACT_AT = 0.8;
const MAX_EMPTY_REPLIES = 3;

export function newAgentState(transcript: TranscriptRef, contextTokens: number): AgentState {
  return { transcript, contextTokens, steps: 0, usage: {}, emptyReplies: 0, compactions: 0, lastTool: null };
}

/** What an agent carries across continue-as-new (PlannerCarry, TaskCarry). */
export interface AgentCarry {
  transcript: TranscriptRef;
  contextTokens: number;
  /** Read back so the next compaction gets a fresh transcript id (`<agent>#<n>`), never the live one. */
  compactions: number;
  steps?: number;
  usage?: UsageByRole;
}

/** The loop state of an agent continued as new. */
export function restoreAgentState(carry: AgentCarry): AgentState {
  return {
    ...newAgentState(carry.transcript, carry.contextTokens),
    compactions: carry.compactions ?? 0,
    steps: carry.steps ?? 0,
    usage: carry.usage ?? {},
  };
}

/** Runs model turns until a control tool is called, the step limit or budget is hit, or a stop is requested. */
export async function runUntilControl(
  a: AgentSetup,
  s: AgentState,
  opts: {
    maxSteps: number;
    shouldStop: () => boolean;
    onStep?: () => void;
    /**
     * Runs after each turn's tool calls (a checkpoint of the worktree, for instance); `control`: the turn called a
     * control tool, not answered yet (the transcript ends with an unanswered call).
     */
    afterTurn?: (control: boolean) => Promise<void>;
  },
): Promise<LoopEnd> {
  for (;;) {
    if (opts.shouldStop()) return { kind: 'stopped' };
    if (s.steps >= opts.maxSteps)
      return { kind: 'limit', reason: `reached the step limit (${opts.maxSteps} model turns)` };
    if (s.contextTokens > COMPACT_AT * a.model.contextWindow) await compact(a, s);
    const refusal = refuseCall(a.lease, totalOf(s.usage), a.model, s.contextTokens, Date.now());
    if (refusal) return { kind: 'budget', reason: refusal };

    const reply = await callModelOrCompact(a, s);
    s.steps++;
    s.usage = addCallByRole(s.usage, a.role, reply.usage);
    s.transcript = reply.transcript;
    s.contextTokens =
      reply.usage.inputTokens + reply.usage.cacheReadTokens + reply.usage.cacheWriteTokens + reply.usage.outputTokens;
    opts.onStep?.();

    if (reply.toolCalls.length === 0) {
      if (++s.emptyReplies >= MAX_EMPTY_REPLIES) {
        return { kind: 'limit', reason: `the model answered ${MAX_EMPTY_REPLIES} times without calling a tool` };
      }
      await say(a, s, [{ role: 'user', content: nudge(a.control) }]);
      continue;
    }
    s.emptyReplies = 0;

    const control = reply.toolCalls.find((c) => a.control.includes(c.name));
    let stuck: StuckVerdict | null = null;
    const assistantIndex = s.transcript.length - 1;
    let next = s.transcript.length;
    for (const call of reply.toolCalls) {
      if (call === control) continue;
      if (a.control.includes(call.name)) {
        await writeToolResult(a, s, next++, call, 'Ignored: only one control tool call is handled per turn.', true);
        continue;
      }
      s.lastTool = call.name;
      const seen = await runTool(a, s, assistantIndex, next++, call);
      if (a.role === 'worker' && seen) {
        const t = trackTool(
          s.stuck ?? initialStuck(),
          { name: call.name, preview: call.preview ?? '', ...seen },
          STUCK_REPEATS,
        );
        s.stuck = t.state;
        if (t.verdict.kind !== 'ok' && patched(PATCHES.stuckAgents)) stuck = t.verdict;
      }
    }
    s.transcript = { id: s.transcript.id, length: next };
    if (stuck?.kind === 'warn') await say(a, s, [{ role: 'user', content: stuckWarning(stuck.what) }]);
    await opts.afterTurn?.(!!control);
    if (stuck?.kind === 'stuck') return { kind: 'limit', reason: `stuck: it ${stuck.what}` };
    if (control) return { kind: 'control', call: control };
  }
}

/** Answers a control call (acknowledgement or validation errors) so the transcript stays well-formed. */
export async function answerControl(
  a: AgentSetup,
  s: AgentState,
  call: ToolCall,
  content: string,
  isError: boolean,
): Promise<void> {
  await writeToolResult(a, s, s.transcript.length, call, content, isError);
  s.transcript = { id: s.transcript.id, length: s.transcript.length + 1 };
}

/**
 * Reads a control call's arguments. An invalid call is answered with its problems (the model retries) and comes back
 * as the list of problems; a valid one is left for the caller to answer.
 */
export async function readControl<T>(
  a: AgentSetup,
  s: AgentState,
  call: ToolCall,
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: ZodError } },
  rejection: (problems: string[], argumentsError: string | undefined) => string,
): Promise<{ ok: true; value: T } | { ok: false; problems: string[] }> {
  const parsed = schema.safeParse(call.arguments ?? {});
  if (parsed.success) return { ok: true, value: parsed.data };
  const problems = call.argumentsError
    ? [`arguments are not valid JSON: ${call.argumentsError}`]
    : describeIssues(parsed.error);
  await answerControl(a, s, call, rejection(problems, call.argumentsError), true);
  return { ok: false, problems };
}

/** The usual answer to an invalid control call: the problems, and "submit it again". */
export const resubmit =
  (what: string) =>
  (problems: string[]): string =>
    `Your ${what} is invalid:\n- ${problems.join('\n- ')}\nSubmit it again, corrected.`;

/** Appends messages (a nudge, new handoffs, conflict instructions) to the agent's transcript. */
export async function say(a: AgentSetup, s: AgentState, messages: ChatMessage[]): Promise<void> {
  s.transcript = await a.acts.host.appendMessages.executeWithOptions({ taskQueue: a.hostQueue }, [
    { transcriptId: s.transcript.id, from: s.transcript.length, messages },
  ]);
  s.contextTokens += Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4);
}

async function writeToolResult(
  a: AgentSetup,
  s: AgentState,
  index: number,
  call: ToolCall,
  content: string,
  isError: boolean,
) {
  await a.acts.host.appendMessages.executeWithOptions({ taskQueue: a.hostQueue }, [
    {
      transcriptId: s.transcript.id,
      from: index,
      messages: [{ role: 'tool', toolCallId: call.id, name: call.name, content, isError }],
    },
  ]);
}

/** Runs one tool call; returns what the stuck check needs, or null when the tool could not run. */
async function runTool(
  a: AgentSetup,
  s: AgentState,
  assistantIndex: number,
  resultIndex: number,
  call: ToolCall,
): Promise<{ ok: boolean; summary: string } | null> {
  if (!a.workspace) {
    await writeToolResult(a, s, resultIndex, call, `Unknown tool '${call.name}': you have no workspace tools.`, true);
    return null;
  }
  try {
    const input = {
      runId: a.runId,
      agentId: a.agentId,
      workspace: a.workspace,
      transcriptId: s.transcript.id,
      assistantIndex,
      callId: call.id,
      resultIndex,
      commandTimeoutMs: a.commandTimeoutMs,
      ...(a.fixes ? { fixes: a.fixes } : {}),
    };
    const summary = call.preview ? `${call.name}: ${call.preview}` : call.name;
    // Read-only tools run in this worker (the agent's workflow runs on its host, where the worktree is).
    const result = READ_ONLY_TOOLS.includes(call.name)
      ? await a.acts.readTool.runTool.executeWithOptions({ summary }, [input])
      : await a.acts.tool.runTool.executeWithOptions({ taskQueue: a.hostQueue, summary }, [input]);
    s.lastTool = `${call.name}: ${result.summary}`.slice(0, 200);
    s.contextTokens += 200; // refined by the next reply's usage
    return { ok: result.ok, summary: result.summary };
  } catch (err) {
    if (isCancellation(err)) throw err;
    // One attempt only: the agent sees what went wrong and decides.
    const message = err instanceof ActivityFailure ? (err.cause?.message ?? err.message) : String(err);
    await writeToolResult(a, s, resultIndex, call, `The tool failed: ${message}`, true);
    return null;
  }
}

function callModel(a: AgentSetup, summary: string, request: ModelRequest) {
  return a.modelCalls === 'local'
    ? a.acts.localModel.callModel.executeWithOptions({ summary }, [request])
    : a.acts.model.callModel.executeWithOptions({ taskQueue: a.hostQueue, summary }, [request]);
}

async function callModelOrCompact(a: AgentSetup, s: AgentState) {
  const request = () =>
    callModel(a, `${a.label} ${s.steps + 1}`, {
      runId: a.runId,
      agentId: a.agentId,
      role: a.role,
      model: a.model,
      transcript: s.transcript,
      tools: [],
      toolset: a.toolset,
      inlineArgumentsFor: a.control,
      toolChoice: a.control.length ? 'required' : 'auto',
    });
  try {
    return await request();
  } catch (err) {
    if (
      err instanceof ActivityFailure &&
      err.cause instanceof ApplicationFailure &&
      err.cause.type === MODEL_ERRORS.contextLength
    ) {
      await compact(a, s); // never silently drop the task: compaction keeps it verbatim
      return await request();
    }
    throw err;
  }
}

/** Replaces the conversation with: system prompt + the task, verbatim + a summary of the work so far. */
async function compact(a: AgentSetup, s: AgentState): Promise<void> {
  const n = ++s.compactions;
  const request = await a.acts.host.prepareCompaction.executeWithOptions({ taskQueue: a.hostQueue }, [
    { source: s.transcript, targetId: `${a.agentId}#compactor${n}` },
  ]);
  const reply = await callModel(a, `compact ${a.label}`, {
    runId: a.runId,
    agentId: a.agentId,
    role: 'compactor',
    model: a.compactor,
    transcript: request,
    tools: [],
    toolset: 'none',
  });
  s.usage = addCallByRole(s.usage, 'compactor', reply.usage);
  const compacted = await a.acts.host.applyCompaction.executeWithOptions({ taskQueue: a.hostQueue }, [
    { source: s.transcript, compactor: reply.transcript, newId: `${a.agentId}#${n}` },
  ]);
  s.transcript = compacted.transcript;
  s.contextTokens = compacted.tokens;
}

function nudge(control: string[]): string {
  return control.length
    ? `Continue by calling a tool. When you are finished, call ${control.join(' or ')}.`
    : 'Continue.';
}
