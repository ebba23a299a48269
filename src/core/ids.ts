/**
 * Every workflow id in one place. Ids are hierarchical so the Web UI's id filter and a prefix show a run's tree:
 *   <runId>                      the run (autonomousRun)
 *   <runId>/c<cycle>/planner     the cycle's root planner
 *   …/planner/s<k>               sub-planner k of that planner (recursively)
 *   …/t<n>                       task n of that planner
 */
export const workflowIds = {
  rootPlanner: (runId: string, cycle: number) => `${runId}/c${cycle}/planner`,
  subplanner: (plannerId: string, k: number) => `${plannerId}/s${k}`,
  task: (plannerId: string, n: number) => `${plannerId}/t${n}`,
};

/** Task ids are the task workflow's id minus the run prefix, so they are unique in a run and readable in commits. */
export function taskIdOf(runId: string, workflowId: string): string {
  return workflowId.startsWith(`${runId}/`) ? workflowId.slice(runId.length + 1) : workflowId;
}

/** The run's target branch in the hub and, once published, in the user's repository. */
export function targetBranch(runId: string): string {
  return `longrun/${runId}`;
}

/** Workflow ids become ref names and directory names: keep run ids to a safe alphabet. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
