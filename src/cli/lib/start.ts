/** Starting `autonomousRun` from the CLI (shared by `run` and `demo`). */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import type { RunInput } from '../../core/schemas';
import type { Connected } from './client';
import { UsageError } from './command';
import { truncate } from './format';

/** Memo keys the CLI adds at start (copied across continue-as-new), so `list` can show the goal and the run's start. */
export interface CliMemo {
  goal: string;
  startedAt: number;
}

export async function startRun(
  c: Connected,
  runId: string,
  input: RunInput,
  taskQueue: string,
): Promise<{ workflowRunId: string }> {
  try {
    const handle = await c.client.workflow.start('autonomousRun', {
      taskQueue,
      workflowId: runId,
      args: [input],
      // A run id names a branch in the user's repository: never reuse one.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      memo: { goal: truncate(input.goal, 300), startedAt: Date.now() } satisfies CliMemo,
      staticSummary: `longrun: ${truncate(input.goal, 180)}`,
    });
    return { workflowRunId: handle.firstExecutionRunId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new UsageError(
        `--id: a run with id "${runId}" already exists; pick another id or omit --id for a fresh one`,
      );
    }
    throw err;
  }
}
