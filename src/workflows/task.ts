/**
 * A worker agent: one task, in its own worktree, from first look to merged commit. It merges its own work and
 * resolves its own conflicts (there is no integrator), then hands off a report to its planner.
 */
import {
  ActivityFailure,
  CancellationScope,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  log,
  patched,
  setHandler,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import { CONTROL } from '../core/control-names';
import type { FinishArgs } from '../core/control-schemas';
import { controlSchemas } from './lib/validation';
import type {
  Handoff,
  HandoffStatus,
  IntegrationResult,
  RefIncident,
  TranscriptRef,
  WorkspaceRef,
} from '../core/types';
import { totalOf } from '../core/usage';
import {
  answerControl,
  newAgentState,
  readControl,
  restoreAgentState,
  runUntilControl,
  say,
  type AgentSetup,
  type AgentState,
} from './agent';
import { activitiesFor, type Acts } from './activities';
import { agentQuery, stopSignal, type TaskCarry, type TaskInput } from './definitions';
import { movedTaskNote } from './hosts';
import { PATCHES } from './patches';

// A hot file (a changelog every task touches) can conflict again while the agent resolves; each round is paid from its lease.
const MAX_CONFLICT_ROUNDS = 8;
const CHECKPOINT_EVERY = 5;

export async function task(input: TaskInput): Promise<Handoff> {
  const { ctx, spec, taskId } = input;
  const run = ctx.run;
  const id = workflowInfo().workflowId;
  let stopRequested = false;
  let state: string = 'starting';
  setHandler(stopSignal, () => void (stopRequested = true));

  let s: AgentState = newAgentState(input.carry?.transcript ?? { id, length: 0 }, 0);
  setHandler(agentQuery, () => ({
    id,
    role: 'worker' as const,
    title: spec.title,
    state,
    step: s.steps,
    lastTool: s.lastTool,
    costUsd: totalOf(s.usage).costUsd,
    startedAt: workflowInfo().startTime.getTime(),
  }));
  // Shared refs found moved (by this task's commands, or when it merged) and put back: the planner is told.
  let incidents: RefIncident[] = [];
  const handoff = (status: HandoffStatus, summary: string, extra: Partial<Handoff> = {}): Handoff => ({
    taskId,
    title: spec.title,
    status,
    summary,
    notes: '',
    concerns: [],
    deviations: [],
    findings: [],
    commit: null,
    filesChanged: [],
    usage: s.usage,
    steps: s.steps,
    ...(incidents.length ? { incidents } : {}),
    ...extra,
  });

  // Host affinity: the planner started this workflow on a host's queue (continue-as-new keeps it); the worktree and
  // everything touching it live on that host.
  const hostQueue = workflowInfo().taskQueue;
  const acts = activitiesFor(run.limits);
  let keepWorkspace = false;
  let merged = false;
  try {
    // Not cancellable: a cancel that arrives while the worktree is being made waits for it, so `finally` removes it.
    const workspace: WorkspaceRef = {
      path:
        input.carry?.workspacePath ??
        (
          await CancellationScope.nonCancellable(() =>
            acts.host.openWorkspace.executeWithOptions({ taskQueue: hostQueue }, [{ runId: run.runId, taskId }]),
          )
        ).path,
      readOnly: false,
    };
    // A task moved off a lost host goes on with the conversation saved at its last checkpoint (openWorkspace resumed
    // the worktree from the same checkpoint), else starts a new one told what happened.
    const moved = !input.carry && input.moved && patched(PATCHES.movesOffLostHosts) ? input.moved : null;
    const restored: TranscriptRef | null = moved
      ? await acts.host.restoreTranscript.executeWithOptions({ taskQueue: hostQueue }, [{ runId: run.runId, taskId }])
      : null;
    if (input.carry) {
      s = restoreAgentState(input.carry);
    } else if (restored) {
      s = newAgentState(restored, 0);
    } else {
      const guidance = moved ? [...input.guidance, movedTaskNote(moved, false)] : input.guidance;
      const t = await acts.host.startTranscript.executeWithOptions({ taskQueue: hostQueue }, [
        { transcriptId: id, kind: 'worker', ctx, workspacePath: workspace.path, task: spec, guidance },
      ]);
      s = newAgentState({ id: t.id, length: t.length }, t.tokens);
    }
    let conflictRounds = input.carry?.conflictRounds ?? 0;
    const agent: AgentSetup = {
      runId: run.runId,
      agentId: id,
      role: 'worker',
      acts,
      modelCalls: run.modelCalls ?? 'activity',
      model: run.models.worker,
      compactor: run.models.compactor,
      toolset: 'worker',
      control: [CONTROL.finish],
      hostQueue,
      workspace,
      lease: input.lease,
      commandTimeoutMs: run.limits.commandTimeoutSeconds * 1000,
      label: 'worker step',
      ...(spec.fixes ? { fixes: spec.fixes } : {}),
    };
    if (moved && restored) await say(agent, s, [{ role: 'user', content: movedTaskNote(moved, true) }]);
    let lastCheckpoint = s.steps;
    // Where the current turn's assistant message is: a turn that called a control tool (finish) has no answer to it
    // yet, so its checkpoint saves the conversation before that turn, which a moved task can go on from.
    let turnAt = s.transcript.length;
    const saved = (control: boolean): TranscriptRef =>
      control ? { id: s.transcript.id, length: turnAt } : { ...s.transcript };
    // Pushed to the hub, with the conversation so far, so a task whose host or worktree is lost resumes from here
    // (openWorkspace finds the branch; restoreTranscript the conversation).
    const checkpointIfDue = async (control: boolean) => {
      if (s.steps - lastCheckpoint < CHECKPOINT_EVERY) return;
      await acts.host.checkpointWorkspace.executeWithOptions({ taskQueue: hostQueue }, [
        { runId: run.runId, taskId, message: `checkpoint after step ${s.steps}`, transcript: saved(control) },
      ]);
      lastCheckpoint = s.steps;
    };
    for (;;) {
      state = 'working';
      setCurrentDetails(`**worker**: ${spec.title}\n\nstep ${s.steps} · ${s.lastTool ?? ''}`);
      const end = await runUntilControl(agent, s, {
        maxSteps: run.limits.workerMaxSteps,
        shouldStop: () => stopRequested || workflowInfo().continueAsNewSuggested,
        onStep: () => {
          turnAt = s.transcript.length - 1;
          setCurrentDetails(`**worker**: ${spec.title}\n\nstep ${s.steps} · ${s.lastTool ?? ''}`);
        },
        // v0.1.0 checkpointed only when the loop returned: a 60-step task had none until it ended.
        afterTurn: async (control) => {
          if (s.steps - lastCheckpoint >= CHECKPOINT_EVERY && patched(PATCHES.checkpointWhileWorking))
            await checkpointIfDue(control);
        },
      });
      await checkpointIfDue(end.kind === 'control');
      if (end.kind === 'stopped' && !stopRequested) {
        keepWorkspace = true; // the next run of this workflow goes on in the same worktree
        const carry: TaskCarry = {
          workspacePath: workspace.path,
          transcript: s.transcript,
          contextTokens: s.contextTokens,
          steps: s.steps,
          usage: s.usage,
          conflictRounds,
          emptyReplies: s.emptyReplies,
          compactions: s.compactions,
        };
        await continueAsNew<typeof task>({ ...input, carry });
      }
      if (end.kind === 'stopped') {
        await checkpoint(acts, run.runId, taskId, hostQueue, 'stopped by operator', s.transcript);
        return handoff(
          'abandoned',
          'Stopped by the operator before the task was finished; work so far is checkpointed on the task branch.',
        );
      }
      if (end.kind === 'limit' || end.kind === 'budget') {
        await checkpoint(acts, run.runId, taskId, hostQueue, `abandoned: ${end.reason}`, s.transcript);
        return handoff('abandoned', `Abandoned: ${end.reason}. Work so far is checkpointed on the task branch.`);
      }

      const read = await readControl(agent, s, end.call, controlSchemas().finishSchema, invalid);
      if (!read.ok) continue;
      const finish: FinishArgs = read.value;
      const report = {
        notes: finish.notes,
        concerns: finish.concerns,
        deviations: finish.deviations,
        findings: finish.findings,
      };
      if (finish.outcome === 'blocked') {
        await answerControl(agent, s, end.call, 'Handoff received (blocked).', false);
        await checkpoint(acts, run.runId, taskId, hostQueue, 'blocked', s.transcript);
        return handoff('failed', finish.summary, report);
      }

      state = 'merging';
      setCurrentDetails(`**worker**: ${spec.title}\n\nmerging`);
      // mergePolicy 'tests-pass': the merge runs the test command first, so it may take as long as the tests.
      const testFirst =
        run.mergePolicy === 'tests-pass' && run.testCommand && patched(PATCHES.mergePolicy)
          ? { command: run.testCommand, timeoutMs: run.limits.commandTimeoutSeconds * 1000 }
          : undefined;
      const integration: IntegrationResult = await acts.merge.integrateTask.executeWithOptions(
        {
          taskQueue: hostQueue,
          summary: `merge ${taskId}${testFirst ? ' (tests first)' : ''}`,
          ...(testFirst ? { startToCloseTimeout: testFirst.timeoutMs + 10 * 60_000 } : {}),
        },
        [{ runId: run.runId, taskId, title: spec.title, message: finish.summary, ...(testFirst ? { testFirst } : {}) }],
      );
      if (integration.incidents?.length) incidents = integration.incidents;
      if (integration.status === 'merged' || integration.status === 'already-merged') {
        merged = true;
        await answerControl(agent, s, end.call, `Merged as ${integration.commit}.`, false);
        return handoff('merged', finish.summary, {
          ...report,
          commit: integration.commit,
          filesChanged: integration.filesChanged,
        });
      }
      if (integration.status === 'no-changes') {
        await answerControl(agent, s, end.call, 'Nothing to merge: the task branch has no changes.', false);
        return handoff('abandoned', `No changes to merge. ${finish.summary}`, report);
      }
      // Conflict or failing tests: the same agent fixes it with its normal tools, then calls finish again.
      if (++conflictRounds > MAX_CONFLICT_ROUNDS) {
        await answerControl(agent, s, end.call, 'Too many conflict rounds; handing off as failed.', true);
        return handoff(
          'failed',
          `Could not merge after ${MAX_CONFLICT_ROUNDS} conflict rounds. ${finish.summary}`,
          report,
        );
      }
      if (integration.status === 'tests-failed') {
        state = 'fixing tests';
        await answerControl(agent, s, end.call, testsFailedMessage(integration), true);
        continue;
      }
      state = 'resolving conflicts';
      await answerControl(agent, s, end.call, conflictMessage(integration), true);
      await say(agent, s, [
        {
          role: 'user',
          content: 'Resolve the merge conflicts above, run the tests, then call finish again with your handoff.',
        },
      ]);
    }
  } catch (err) {
    if (isCancellation(err) || err instanceof ContinueAsNew) throw err;
    log.error('task failed', { taskId, error: String(err) });
    // The cause says what went wrong ("worker model …: 401 …"); the wrapper only says an activity failed.
    const reason = err instanceof ActivityFailure && err.cause ? err.cause.message : (err as Error).message;
    return handoff('failed', `The task failed: ${reason}`);
  } finally {
    if (!keepWorkspace) {
      // Runs on success, failure and cancellation: no worktree outlives its task.
      // An unmerged task keeps its branch (with its last checkpoint) in the hub for a later cycle to pick up.
      await CancellationScope.nonCancellable(() =>
        acts.host.closeWorkspace.executeWithOptions({ taskQueue: hostQueue }, [
          { runId: run.runId, taskId, keepBranch: !merged },
        ]),
      );
    }
  }
}

async function checkpoint(
  acts: Acts,
  runId: string,
  taskId: string,
  hostQueue: string,
  message: string,
  transcript: TranscriptRef,
) {
  await acts.host.checkpointWorkspace.executeWithOptions({ taskQueue: hostQueue }, [
    { runId, taskId, message, transcript },
  ]);
}

function invalid(problems: string[], argumentsError: string | undefined): string {
  if (argumentsError) return `Your finish call's arguments were not valid JSON (${argumentsError}). Call finish again.`;
  return `Your handoff is invalid:\n- ${problems.join('\n- ')}\nCall finish again with corrected arguments.`;
}

function testsFailedMessage(t: Extract<IntegrationResult, { status: 'tests-failed' }>): string {
  const how = t.timedOut ? 'timed out' : `exited ${t.exitCode}`;
  return (
    `Not merged: this run merges only work whose tests pass (mergePolicy tests-pass). The target tip ${t.onto} was ` +
    `merged into your worktree and \`${t.command}\` ${how} there:\n\`\`\`\n${t.outputTail.trim()}\n\`\`\`\nFix ` +
    'what fails, run the tests, then call finish again with your handoff.'
  );
}

function conflictMessage(c: Extract<IntegrationResult, { status: 'conflict' }>): string {
  const files = c.files.map((f) => `### ${f.path}\n\`\`\`\n${f.content}\n\`\`\``).join('\n\n');
  return (
    `Not merged: your branch conflicts with the target branch (tip ${c.onto}). The target was merged into your ` +
    `worktree; these files have conflict markers:\n\n${files}\n\nEdit each file so it keeps both sides' intent and ` +
    `has no conflict markers left.`
  );
}
