/**
 * Ids of the behaviour changes guarded by `patched()`: a history recorded before a change has no marker for it and
 * replays the old commands; new executions record the marker and take the new path. Listed with the release that
 * introduced them in docs/upgrading.md. Never rename or reuse an id.
 */
export const PATCHES = {
  /** v0.2.0: workers checkpoint to the hub every CHECKPOINT_EVERY steps while they work, not only when they stop. */
  checkpointWhileWorking: 'checkpoint-while-working',
  /** v0.2.0: a plan with more tasks than the planner's room left is refused once, with the room in the answer. */
  refuseOversizedPlan: 'refuse-oversized-plan',
  /** v0.2.0: after publish, a tidy step deletes merged tasks' hub refs, gc's the hub, archives transcripts, measures disk. */
  tidyBetweenCycles: 'tidy-between-cycles',
  /**
   * v0.2.0: the target is checked while the cycle works (lib/checks.ts); a break alerts the planner once;
   * `longrun/<runId>` is published at green commits only and the tip as `longrun/<runId>-tip`.
   */
  continuousVerification: 'continuous-verification',
  /** v0.2.0: a worker repeating the same call or failure is warned once, then stopped as stuck (lib/stuck.ts). */
  stuckAgents: 'stuck-agents',
  /**
   * v0.2.0: a break is known to agents (the hub's known-red record, written by the run, its fixer named by the
   * planner) and gets exactly one fixer: longrun queues one itself when the planner starts none in time.
   */
  ownedBreaks: 'owned-breaks',
  /** v0.2.0: mergePolicy 'tests-pass': a worker's merge runs the test command on the merged result first. */
  mergePolicy: 'merge-policy',
  /** v0.2.0: the run's first phase installs the project's dependencies (setup) before any agent starts. */
  environmentSetup: 'environment-setup',
  /** v0.2.0: when the run ends (done, stopped, failed, cancelled) its dependency caches are removed. */
  cachesRemovedAtEnd: 'caches-removed-at-end',
  /**
   * v0.2.1: until a check is green, the run's base stands in for the last green commit: a red check is a break since
   * the base, owned like any other, and `longrun/<runId>` is published at the base (it existed at no commit before).
   */
  breakBeforeFirstGreen: 'break-before-first-green',
  /**
   * v0.2.1: a red check that started after a break's fixer ended reports the break again (a new alert, a new owner):
   * before, a break that outlived its fix stayed owned by the ended fixer until the cycle's end.
   */
  breakOutlivesFix: 'break-outlives-fix',
  /**
   * v0.2.1: a planner (and the run, for its root planner) checks the hosts of its running children; a child whose
   * host stopped polling is terminated and restarted on another host (a worker from its last checkpoint).
   */
  movesOffLostHosts: 'moves-off-lost-hosts',
  /**
   * v0.2.1: a planner whose last plan was full (MAX_PLAN_TASKS) has all started, with slots free and its scope not
   * done, plans again at once (`plan-on-room`); before, it waited for a handoff, so the tasks a full plan left out
   * started a whole task later.
   */
  planOnRoom: 'plan-on-room',
} as const;
