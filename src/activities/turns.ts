import { CancelledFailure } from '@temporalio/common';
import { refuseCall, type Lease } from '../core/budget';
import type {
  ChatMessage,
  ModelCallResult,
  ResolvedModel,
  Role,
  ToolCall,
  ToolCallInput,
  ToolCallResult,
  TranscriptRef,
  UsageByRole,
  WorkspaceRef,
} from '../core/types';
import { addCallByRole, totalOf } from '../core/usage';
import { initialStuck, trackTool, type StuckState, type StuckVerdict } from '../workflows/lib/stuck';
import { activityContext, heartbeating } from './heartbeat';
import type { ModelRequest } from './index';
import type { Toolset } from './toolsets';

/**
 * A worker's turns in batches (RunInput.modelCalls = 'batched'): one activity runs several of the agent's turns, each a
 * model call and the tool calls it asked for, in this worker, on the agent's host. Temporal then sees one activity
 * per batch instead of one or two per turn; the turns' model calls and tool results are in the transcript as always.
 *
 * A batch stops at the first turn the workflow must see: a reply that calls a control tool (finish) or no tool is
 * returned unanswered (`pending`), to be handled exactly as a single model call's reply would be. It also stops, with
 * nothing pending, after `maxTurns`, at the step limit, when the context is due for compaction, when the budget
 * refuses the next call, when a repeated call warns or stops the agent (lib/stuck.ts), and when a model call fails
 * after the batch's first turn: the workflow then starts the next batch, whose first call fails again and is retried
 * by Temporal, so a turn whose tools ran is never run twice for a model error. A worker that dies mid-batch is the
 * exception: the batch is retried from its start (transcript entries are written at fixed indexes, so the
 * conversation is overwritten, but tools that wrote files ran once before), as a local model call is.
 */
export interface TurnBatchInput {
  runId: string;
  agentId: string;
  role: Role;
  model: ResolvedModel;
  toolset: Toolset;
  /** Control tools (finish): a reply that calls one ends the batch, unanswered. */
  control: string[];
  workspace: WorkspaceRef;
  commandTimeoutMs: number;
  fixes?: string;
  lease: Lease;
  state: TurnState;
  /** The most turns this batch takes. */
  maxTurns: number;
  /** The agent's step limit: the batch stops short of it. */
  maxSteps: number;
  /** lib/stuck.ts's threshold (STUCK_REPEATS). */
  stuckRepeats: number;
  /** Where the workflow compacts (a share of the model's context window). */
  compactAt: number;
}

/** The part of the agent's loop state (agent.ts AgentState) a batch moves on. */
export interface TurnState {
  transcript: TranscriptRef;
  contextTokens: number;
  steps: number;
  usage: UsageByRole;
  lastTool: string | null;
  stuck?: StuckState;
}

export interface TurnBatchResult {
  state: TurnState;
  /** Turns the batch completed (their tools ran); `pending` is not one of them. */
  turns: number;
  /** The last reply, not acted on: it called a control tool or none. The workflow handles it. */
  pending: ModelCallResult | null;
  /** Why the batch ended without a pending reply. */
  ended: 'turns' | 'steps' | 'compact' | 'budget' | 'stuck' | 'model-error' | 'pending';
  /** A repeated call's warning or stop, from the batch's last turn. */
  stuck?: Exclude<StuckVerdict, { kind: 'ok' }>;
}

export function createTurnActivities(deps: {
  callModel: (req: ModelRequest) => Promise<ModelCallResult>;
  runTool: (input: ToolCallInput) => Promise<ToolCallResult>;
  appendMessages: (req: { transcriptId: string; from: number; messages: ChatMessage[] }) => Promise<TranscriptRef>;
}) {
  async function runTurns(input: TurnBatchInput): Promise<TurnBatchResult> {
    const s: TurnState = { ...input.state };
    let turns = 0;
    const done = (ended: TurnBatchResult['ended'], extra: Partial<TurnBatchResult> = {}): TurnBatchResult => ({
      state: s,
      turns,
      pending: null,
      ended,
      ...extra,
    });
    return heartbeating(
      async () => {
        for (;;) {
          if (turns >= input.maxTurns) return done('turns');
          // The workflow checked these before the batch's first turn; the batch checks them before every other.
          if (turns > 0) {
            if (s.steps >= input.maxSteps) return done('steps');
            if (s.contextTokens > input.compactAt * input.model.contextWindow) return done('compact');
            if (refuseCall(input.lease, totalOf(s.usage), input.model, s.contextTokens, Date.now()))
              return done('budget');
          }
          let reply: ModelCallResult;
          try {
            reply = await deps.callModel({
              runId: input.runId,
              agentId: input.agentId,
              role: input.role,
              model: input.model,
              transcript: s.transcript,
              toolset: input.toolset,
              inlineArgumentsFor: input.control,
              toolChoice: input.control.length ? 'required' : 'auto',
            });
          } catch (err) {
            // A context-length error on the first turn goes to the workflow as it is (it compacts and calls again).
            if (turns === 0 || isCancellation(err)) throw err;
            return done('model-error');
          }
          if (!reply.toolCalls.length || reply.toolCalls.some((c) => input.control.includes(c.name)))
            return done('pending', { pending: reply });

          // A turn of plain tool calls: run them here, in the reply's order, each result at its index.
          s.steps++;
          s.usage = addCallByRole(s.usage, input.role, reply.usage);
          s.transcript = reply.transcript;
          s.contextTokens =
            reply.usage.inputTokens +
            reply.usage.cacheReadTokens +
            reply.usage.cacheWriteTokens +
            reply.usage.outputTokens;
          const assistantIndex = s.transcript.length - 1;
          let next = s.transcript.length;
          let stuck: StuckVerdict = { kind: 'ok' };
          for (const call of reply.toolCalls) {
            s.lastTool = call.name;
            const seen = await runTool(input, s, call, assistantIndex, next++);
            if (input.role === 'worker' && seen) {
              const t = trackTool(
                s.stuck ?? initialStuck(),
                { name: call.name, preview: call.preview ?? '', ...seen },
                input.stuckRepeats,
              );
              s.stuck = t.state;
              if (t.verdict.kind !== 'ok') stuck = t.verdict;
            }
          }
          s.transcript = { id: s.transcript.id, length: next };
          turns++;
          activityContext()?.heartbeat({ turns, steps: s.steps });
          if (stuck.kind !== 'ok') return done('stuck', { stuck });
        }
      },
      () => ({ phase: 'turns', turns, steps: s.steps }),
    );
  }

  /** One tool call, as the workflow's runTool does: a failure becomes the tool's result, for the model to read. */
  async function runTool(
    input: TurnBatchInput,
    s: TurnState,
    call: ToolCall,
    assistantIndex: number,
    resultIndex: number,
  ): Promise<{ ok: boolean; summary: string } | null> {
    try {
      const result = await deps.runTool({
        runId: input.runId,
        agentId: input.agentId,
        workspace: input.workspace,
        transcriptId: s.transcript.id,
        assistantIndex,
        callId: call.id,
        resultIndex,
        commandTimeoutMs: input.commandTimeoutMs,
        ...(input.fixes ? { fixes: input.fixes } : {}),
      });
      s.lastTool = `${call.name}: ${result.summary}`.slice(0, 200);
      s.contextTokens += 200; // refined by the next reply's usage
      return { ok: result.ok, summary: result.summary };
    } catch (err) {
      if (isCancellation(err)) throw err;
      // One attempt, as the workflow's tool activity has: the agent reads what went wrong and decides.
      await deps.appendMessages({
        transcriptId: s.transcript.id,
        from: resultIndex,
        messages: [
          {
            role: 'tool',
            toolCallId: call.id,
            name: call.name,
            content: `The tool failed: ${(err as Error).message}`,
            isError: true,
          },
        ],
      });
      return null;
    }
  }

  return { runTurns };
}

function isCancellation(err: unknown): boolean {
  return err instanceof CancelledFailure || activityContext()?.cancellationSignal.aborted === true;
}
