import { ApplicationFailure } from '@temporalio/common';

/** ApplicationFailure types raised by the workspace activities. */
export const WORKSPACE_ERRORS = {
  invalidRepo: 'InvalidRepo', // non-retryable: the user's `repo` is missing, not git, or empty
  invalidBase: 'InvalidBase', // non-retryable: `base` names no commit
  hubMissing: 'HubMissing', // non-retryable: prepareHub was not run for this run on this host
  taskBranchMissing: 'TaskBranchMissing', // non-retryable: integrate without a workspace or checkpoint
  readOnlyWorkspace: 'ReadOnlyWorkspace', // non-retryable: commit asked of a planner's read-only checkout
  invalidRevision: 'InvalidRevision', // non-retryable: a `from`/`to`/`commit` names no commit in the hub
  invalidTestCommand: 'InvalidTestCommand', // non-retryable: an empty test command
  publishRejected: 'PublishRejected', // non-retryable: the user's repo refused the branch
  sandboxUnavailable: 'SandboxUnavailable', // non-retryable: LONGRUN_SANDBOX invalid, or bubblewrap required and broken
  setupFailed: 'SetupFailed', // non-retryable: the run's setup command (given or detected) failed on the base commit
  invalidHubUrl: 'InvalidHubUrl', // non-retryable: LONGRUN_HUB_URL is not a git repository, or not this mirror's remote
  integrationContention: 'IntegrationContention', // retryable: the target moved on every CAS attempt
} as const;

/** A mistake the user or the workflow made: retrying cannot help, the message says what to fix. */
export function nonRetryable(type: string, message: string, cause?: Error): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, cause });
}

export function retryable(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: false });
}
