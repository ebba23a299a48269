import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { LongrunConfig } from '../config';
import type { Redact } from '../core/redact';
import type { ChatMessage, ToolCall, ToolCallInput, ToolCallResult } from '../core/types';
import type { ArtifactStore } from '../store/artifacts';
import { executeTool, type ToolOutcome } from '../tools/run';
import { sandboxSettingsFromEnv, SandboxUnavailableError } from '../tools/sandbox';

/**
 * The runTool activity: one tool call of an agent. It reads the call from the transcript (claim-check:
 * arguments never travel through workflow history), executes it in the agent's workspace and writes the
 * tool result at `resultIndex` (an overwrite if the activity runs twice). The workflow schedules it with
 * maximumAttempts 1 — tools are not idempotent — so everything the agent caused is returned as ok:false
 * for the model to read; only infrastructure faults throw.
 */

/** Failure types this activity raises. */
export const TOOL_ERRORS = {
  transcript: 'ToolCallNotFound', // the transcript entry or the call is missing: a bug or a lost artifact store
  sandbox: 'SandboxUnavailable', // bubblewrap is required (LONGRUN_SANDBOX auto or bwrap) but missing or broken here
} as const;

const HEARTBEAT_INTERVAL_MS = 2_000;

/** The activity context when running under Temporal (or MockActivityEnvironment), else undefined (plain unit tests). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export function createToolActivities(deps: {
  config: LongrunConfig;
  store: ArtifactStore;
  env?: NodeJS.ProcessEnv;
  /** Replaces the worker's secrets in what a tool returns (output of agent-written code, file contents). */
  redact?: Redact;
}) {
  const env = deps.env ?? process.env;
  const redact: Redact = deps.redact ?? ((v) => v);

  async function findCall(input: ToolCallInput): Promise<ToolCall> {
    let message: ChatMessage;
    try {
      message = await deps.store.readEntry(input.transcriptId, input.assistantIndex);
    } catch (err) {
      throw ApplicationFailure.create({
        type: TOOL_ERRORS.transcript,
        message: `runTool: ${(err as Error).message}`,
        nonRetryable: true,
      });
    }
    const call = message.role === 'assistant' ? message.toolCalls?.find((c) => c.id === input.callId) : undefined;
    if (!call) {
      throw ApplicationFailure.create({
        type: TOOL_ERRORS.transcript,
        message:
          `runTool: entry ${input.assistantIndex} of transcript ${input.transcriptId} (role ${message.role}) ` +
          `has no tool call ${input.callId}`,
        nonRetryable: true,
      });
    }
    return call;
  }

  async function execute(call: ToolCall, input: ToolCallInput, ctx: Context | undefined): Promise<ToolOutcome> {
    if (call.argumentsError !== undefined) {
      return {
        ok: false,
        content:
          `The arguments of your ${call.name} call were not valid JSON (${call.argumentsError}). ` +
          'Call the tool again with a single JSON object as arguments.',
        summary: `${call.name}: malformed JSON arguments`,
      };
    }
    let sandbox;
    try {
      sandbox = sandboxSettingsFromEnv(env);
    } catch (err) {
      throw ApplicationFailure.create({
        type: TOOL_ERRORS.sandbox,
        message: (err as Error).message,
        nonRetryable: true,
      });
    }
    const heartbeat = ctx && !ctx.info.isLocal ? setInterval(() => ctx.heartbeat(), HEARTBEAT_INTERVAL_MS) : undefined;
    try {
      return await executeTool(call.name, call.arguments, input.workspace, {
        signal: ctx?.cancellationSignal,
        commandTimeoutMs: input.commandTimeoutMs,
        sandbox,
        env,
      });
    } catch (err) {
      if (err instanceof SandboxUnavailableError) {
        throw ApplicationFailure.create({ type: TOOL_ERRORS.sandbox, message: err.message, nonRetryable: true });
      }
      throw err;
    } finally {
      clearInterval(heartbeat);
    }
  }

  return {
    async runTool(input: ToolCallInput): Promise<ToolCallResult> {
      const ctx = activityContext();
      const call = await findCall(input);
      const outcome = redact(await execute(call, input, ctx));
      const result: ChatMessage = {
        role: 'tool',
        toolCallId: call.id,
        name: call.name,
        content: outcome.content,
        isError: !outcome.ok,
      };
      await deps.store.writeEntry(input.transcriptId, input.resultIndex, result);
      // The result is on disk either way; a cancelled activity still reports as cancelled to Temporal.
      if (ctx?.cancellationSignal.aborted) throw new CancelledFailure(`runTool ${call.name} cancelled`);
      return { ok: outcome.ok, summary: outcome.summary, name: call.name };
    },
  };
}
