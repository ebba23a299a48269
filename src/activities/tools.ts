import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { paths, type LongrunConfig } from '../config';
import { taskIdOf } from '../core/ids';
import { describeIncident } from '../core/incidents';
import type { Redact } from '../core/redact';
import type { ChatMessage, ToolCall, ToolCallInput, ToolCallResult } from '../core/types';
import type { ArtifactStore } from '../store/artifacts';
import { executeTool, type ToolOutcome } from '../tools/run';
import { materializeEnvironment } from '../workspace/environment';
import { sandboxSettingsFromEnv, SandboxUnavailableError } from '../tools/sandbox';
import { checkTarget } from '../workspace/guard';
import { hubExists, hubRemote } from '../workspace/hub';
import { knownRedNote, readKnownRed, runsTests } from '../workspace/known-red';
import { syncHub } from '../workspace/remote';
import { headRef, targetBranch } from '../workspace/names';
import { activityContext, heartbeating } from './heartbeat';

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

  async function execute(call: ToolCall, input: ToolCallInput): Promise<ToolOutcome> {
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
    try {
      return await heartbeating((signal) =>
        executeTool(call.name, call.arguments, input.workspace, {
          signal,
          commandTimeoutMs: input.commandTimeoutMs,
          sandbox,
          env,
          prepareEnvironment: async () => {
            const hubPath = paths.hub(deps.config.home, input.runId);
            const prepared = await materializeEnvironment({
              home: deps.config.home,
              runId: input.runId,
              hubPath,
              checkout: input.workspace.path,
              env,
              redact,
            });
            return prepared
              ? `Dependencies ready (\`${prepared.command}\`, environment ${prepared.key}): ${prepared.outputs.join(', ') || 'no files'} linked into your workspace.`
              : 'This run has no dependency setup (no lockfile detected and no "setup" given): nothing to install.';
          },
        }),
      );
    } catch (err) {
      if (err instanceof SandboxUnavailableError) {
        throw ApplicationFailure.create({ type: TOOL_ERRORS.sandbox, message: err.message, nonRetryable: true });
      }
      throw err;
    }
  }

  /**
   * An agent's command cannot reach the hub's refs through its own repository, and with bubblewrap not at all; without
   * it, a command that names the hub's path can. Checking the target right after each command (outside the sandbox,
   * one `for-each-ref`) is what lets the incident name the task and the command; the target is put back at once.
   */
  async function guardAfterCommand(call: ToolCall, input: ToolCallInput, outcome: ToolOutcome): Promise<ToolOutcome> {
    const hubPath = paths.hub(deps.config.home, input.runId);
    if (!(await hubExists(hubPath))) return outcome; // a workspace outside a run (tests, the CLI's checks)
    await hubRemote(hubPath, input.runId, deps.config.hubUrl); // a mirror: where a restore would push
    const args = call.arguments as { command?: unknown } | undefined;
    const incident = await checkTarget(hubPath, headRef(targetBranch(input.runId)), {
      detectedBy: 'command',
      taskId: taskIdOf(input.runId, input.agentId),
      agentId: input.agentId,
      command: typeof args?.command === 'string' ? args.command : undefined,
    });
    if (!incident) return outcome;
    return {
      ...outcome,
      content:
        `${outcome.content}\n[longrun: ${describeIncident(incident)}. The run's branches are longrun's to move: ` +
        `work in your own repository (your branch, your commits); finish merges your work.]`,
      summary: `${outcome.summary} (moved the target: restored)`,
    };
  }

  /** A test run while the target is known red: the known failures and their owner (workspace/known-red.ts). */
  async function noteKnownRed(call: ToolCall, input: ToolCallInput, outcome: ToolOutcome): Promise<ToolOutcome> {
    const command = (call.arguments as { command?: unknown } | undefined)?.command;
    if (typeof command !== 'string') return outcome;
    const hubPath = paths.hub(deps.config.home, input.runId);
    // A remote hub's record may have changed on another host since this host's last sync.
    const remote = (await hubExists(hubPath)) ? await hubRemote(hubPath, input.runId, deps.config.hubUrl) : null;
    if (remote) await syncHub(hubPath, remote);
    const red = await readKnownRed(hubPath);
    if (!red || !runsTests(command, red.command, outcome.ok)) return outcome;
    return {
      ...outcome,
      content: outcome.content + knownRedNote(red, input.fixes),
      summary: `${outcome.summary} (target known red)`,
    };
  }

  return {
    async runTool(input: ToolCallInput): Promise<ToolCallResult> {
      const call = await findCall(input);
      let outcome = await execute(call, input);
      if (call.name === 'run_command')
        outcome = await noteKnownRed(call, input, await guardAfterCommand(call, input, outcome));
      outcome = redact(outcome);
      const result: ChatMessage = {
        role: 'tool',
        toolCallId: call.id,
        name: call.name,
        content: outcome.content,
        isError: !outcome.ok,
      };
      await deps.store.writeEntry(input.transcriptId, input.resultIndex, result);
      // The result is on disk either way; a cancelled activity still reports as cancelled to Temporal.
      if (activityContext()?.cancellationSignal.aborted) throw new CancelledFailure(`runTool ${call.name} cancelled`);
      return { ok: outcome.ok, summary: outcome.summary, name: call.name };
    },
  };
}
