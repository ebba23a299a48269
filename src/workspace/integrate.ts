import { heartbeating } from '../activities/heartbeat';
import { paths } from '../config';
import type { IntegrationResult } from '../core/types';
import { clearConflictRecord, startConflictMerge, unresolvedConflicts } from './conflicts';
import { nonRetryable, WORKSPACE_ERRORS } from './errors';
import { git, gitOut, resolveCommit } from './git';
import { runCommand, type RunnerOptions } from './verify';
import { checkTarget, readIncidents } from './guard';
import { requireHub } from './hub';
import type { Integrator } from './integrator';
import { changedFiles, filesOfTaskCommit, findTaskCommit } from './merge';
import { headRef, oneLine, targetBranch, taskBranch, withTrailer } from './names';
import {
  addTaskWorktree,
  clearStaleTaskLocks,
  commitAll,
  fetchTask,
  readWorktree,
  withTaskLock,
  type WorktreeState,
} from './worktree';

/**
 * The worker merges its own work:
 *   0. the target is where longrun last put it (guard.ts), or is put back first
 *   1. already on the target (trailer reachable)?  -> already-merged, whatever state the workspace is in
 *   2. commit what is pending, with the trailer; mid-merge, conclude the merge (no markers allowed);
 *      fetch the workspace's HEAD into the hub's task branch
 *   3. nothing changed since the fork point?       -> no-changes
 *   4. merge onto the target through the hub's queue (merge-tree + commit-tree + CAS)
 *   5. conflict with the tip? merge the tip into the workspace, markers in the files -> 'conflict';
 *      the agent resolves them and the workflow calls integrateTask again.
 * With `testFirst` (mergePolicy 'tests-pass'), before step 4 the tip is merged into the workspace and the test command
 * runs there, through the runner of agent commands; a failure is 'tests-failed' and nothing merges. If the tip moves
 * while it runs, step 4 merges onto the newer tip without testing again: the small error rate is accepted.
 * Every result carries the incidents found on the way and those logged against this task's commands.
 */

export interface IntegrateInput {
  home: string;
  hubUrl?: string;
  runId: string;
  taskId: string;
  title: string;
  message?: string;
  /** mergePolicy 'tests-pass': the test command must pass on the task merged with the tip first. */
  testFirst?: { command: string; timeoutMs: number } & RunnerOptions;
}

/** Rounds of "the tip conflicted, but git merged it cleanly in the worktree": rare, bounded anyway. */
const MAX_ROUNDS = 5;

export async function integrateTask(integrator: Integrator, input: IntegrateInput): Promise<IntegrationResult> {
  const { home, runId, taskId, title } = input;
  const hubPath = await requireHub(home, runId, input.hubUrl);
  const target = headRef(targetBranch(runId));
  const branch = taskBranch(taskId);
  const wt = paths.worktree(home, runId, taskId);

  return withTaskLock(wt, () =>
    heartbeating(
      async (): Promise<IntegrationResult> => {
        const found = await checkTarget(hubPath, target, { detectedBy: 'integrate' });
        const incidents = [
          ...(await readIncidents(hubPath, Infinity)).filter((i) => i.taskId === taskId),
          ...(found ? [found] : []),
        ];
        const result = await merge();
        return incidents.length ? { ...result, incidents } : result;
      },
      () => ({ taskId, step: 'integrate' }),
    ),
  );

  async function merge(): Promise<IntegrationResult> {
    const landed = await findTaskCommit(hubPath, target, taskId);
    if (landed) {
      return {
        status: 'already-merged',
        commit: landed.commit,
        filesChanged: await filesOfTaskCommit(hubPath, landed),
      };
    }

    let state = await readWorktree(hubPath, wt);
    if (state) {
      if (state.kind !== 'task') {
        throw nonRetryable(
          WORKSPACE_ERRORS.readOnlyWorkspace,
          `the workspace at ${wt} is a read-only checkout: only a task workspace (openWorkspace without readOnly) integrates`,
        );
      }
      await clearStaleTaskLocks(hubPath, state, branch); // a crashed attempt's git may have left them
      const pending = await commitPending(state, wt, input);
      if (pending) return pending;
      await fetchTask(hubPath, wt, branch);
    } else if (!(await resolveCommit(hubPath, headRef(branch)))) {
      throw nonRetryable(
        WORKSPACE_ERRORS.taskBranchMissing,
        `task '${taskId}' has neither a workspace at ${wt} nor a branch ${branch} in the hub: call openWorkspace first`,
      );
    }

    /** The task merged with `tip` in its workspace and tested there: the commit to merge, or why not. */
    async function testOnTip(tip: string, head: string): Promise<string | IntegrationResult> {
      const t = input.testFirst!;
      if (!state) {
        await addTaskWorktree(hubPath, wt, branch, tip);
        state = await readWorktree(hubPath, wt);
        if (!state) throw new Error(`could not recreate the worktree of '${taskId}' at ${wt}`);
      }
      const behind = (await git(hubPath, ['merge-base', '--is-ancestor', tip, head], { okCodes: [1] })).exitCode === 1;
      if (behind) {
        const files = await startConflictMerge(wt, state.gitdir, tip);
        if (files.length) return { status: 'conflict', onto: tip, files };
        await concludeMerge(state, wt, taskId);
        head = await fetchTask(hubPath, wt, branch);
      }
      const run = await runCommand(t.command, wt, t.timeoutMs, t);
      if (run.exitCode === 0 && !run.timedOut && !run.cancelled) return head;
      return {
        status: 'tests-failed',
        onto: tip,
        command: t.command,
        exitCode: run.exitCode,
        timedOut: run.timedOut,
        outputTail: run.output,
      };
    }

    for (let round = 0; round < MAX_ROUNDS; round++) {
      const [tip, head] = (await gitOut(hubPath, ['rev-parse', target, headRef(branch)])).split('\n');
      // Three dots: what the task changed since it forked from the target (or last merged it in).
      const filesChanged = await changedFiles(hubPath, [`${tip}...${head}`]);
      if (!filesChanged.length) return { status: 'no-changes' };

      let tested = head;
      if (input.testFirst && round === 0) {
        const verdict = await testOnTip(tip, head);
        if (typeof verdict !== 'string') return verdict;
        tested = verdict;
      }
      const outcome = await integrator.merge(hubPath, target, { taskId, title, head: tested });
      switch (outcome.kind) {
        case 'merged':
          return {
            status: 'merged',
            commit: outcome.commit,
            targetTip: outcome.targetTip,
            casRetries: outcome.casRetries,
            filesChanged,
          };
        case 'already-merged': {
          const hit = await findTaskCommit(hubPath, outcome.commit, taskId);
          const files = hit ? await filesOfTaskCommit(hubPath, hit) : filesChanged;
          return { status: 'already-merged', commit: outcome.commit, filesChanged: files };
        }
        case 'no-changes':
          return { status: 'no-changes' };
        case 'conflict': {
          if (!state) {
            // Closed or lost with its host: the conflict needs files, so resume the branch in a new workspace.
            await addTaskWorktree(hubPath, wt, branch, outcome.onto);
            state = await readWorktree(hubPath, wt);
            if (!state) throw new Error(`could not recreate the worktree of '${taskId}' at ${wt}`);
          }
          const files = await startConflictMerge(wt, state.gitdir, outcome.onto);
          if (files.length) return { status: 'conflict', onto: outcome.onto, files };
          await concludeMerge(state, wt, taskId); // git merged it cleanly after all: try the CAS again
          await fetchTask(hubPath, wt, branch);
          continue;
        }
      }
    }
    throw new Error(`integrating '${taskId}' did not settle in ${MAX_ROUNDS} rounds of merging the target tip`);
  }
}

/** Commits the task's pending work; returns a result only when the worktree still holds conflicts. */
async function commitPending(
  state: WorktreeState,
  wt: string,
  input: IntegrateInput,
): Promise<IntegrationResult | null> {
  if (state.mergeInProgress) {
    const left = await unresolvedConflicts(wt, state.gitdir);
    if (left.length) {
      const onto = await gitOut(wt, ['rev-parse', 'MERGE_HEAD']);
      return { status: 'conflict', onto, files: left };
    }
    await concludeMerge(state, wt, input.taskId);
    return null;
  }
  await commitAll(
    wt,
    withTrailer(input.message?.trim() || `Task ${input.taskId}: ${oneLine(input.title)}`, input.taskId),
  );
  return null;
}

async function concludeMerge(state: WorktreeState, wt: string, taskId: string): Promise<void> {
  const onto = await gitOut(wt, ['rev-parse', 'MERGE_HEAD']);
  await commitAll(wt, withTrailer(`Merge target ${onto.slice(0, 12)} into task ${taskId}`, taskId));
  await clearConflictRecord(state.gitdir);
}
