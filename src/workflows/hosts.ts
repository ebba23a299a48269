/**
 * Watching the hosts of running children (workflow side of lib/host-loss.ts): while a parent has children running, one
 * `watchHosts` activity on the shared queue checks all their host queues every `limits.hostCheckSeconds` and returns
 * only when one did not poll for `limits.hostLostAfterSeconds` (or after WATCH_MAX_MS); each child there is moved.
 * The parent's history gets a few events per watch, not per check: a week-long cycle does not fill it. A watch is
 * started again when a child runs on a host it does not cover, and cancelled when no child runs or the parent is about
 * to close (`stop`).
 */
import { CancellationScope, condition, isCancellation, log } from '@temporalio/workflow';
import { DEFAULT_LIMITS, type Limits } from '../core/defaults';
import { WATCH_MAX_MS, type Acts } from './activities';
import { toMove, watchedHosts, type Moved, type Watched } from './lib/host-loss';

export interface Supervision {
  /** Ends the watch and waits until its activity has taken the cancellation: call it before the parent closes. */
  stop(): Promise<void>;
}

export function superviseHosts(opts: {
  limits: Partial<Limits>;
  acts: Acts;
  /** Where the watch runs (the shared queue); the parent's own queue when absent. */
  shared?: { taskQueue: string };
  /**
   * The parent's own host queue: children there are not watched. If that host is lost the parent is lost with them,
   * and its own parent moves it (its children there go with it); on one host, a planner never starts a watch.
   */
  ownQueue?: string;
  children: () => Iterable<[string, Watched]>;
  move: (key: string, w: Watched) => Promise<void>;
}): Supervision {
  const checkMs = (opts.limits.hostCheckSeconds ?? DEFAULT_LIMITS.hostCheckSeconds) * 1000;
  const graceMs = (opts.limits.hostLostAfterSeconds ?? DEFAULT_LIMITS.hostLostAfterSeconds) * 1000;
  const hosts = () => watchedHosts([...opts.children()].map(([, w]) => w)).filter((q) => q !== opts.ownQueue);
  let stopped = false;
  let idle = true;
  const loop = async () => {
    for (;;) {
      idle = true;
      await condition(() => stopped || hosts().length > 0);
      if (stopped) return;
      idle = false;
      const queues = hosts();
      // The watch no longer fits: stopping, no child runs, or one runs on a host it does not cover.
      const stale = () => stopped || hosts().length === 0 || hosts().some((q) => !queues.includes(q));
      let outcome: { lost: string[] } | { err: unknown } | undefined;
      const scope = new CancellationScope();
      void scope
        .run(() =>
          opts.acts.watch.watchHosts.executeWithOptions(
            { ...(opts.shared ?? {}), summary: `watch ${queues.length} host(s)` },
            [{ queues, graceMs, checkMs, maxMs: WATCH_MAX_MS }],
          ),
        )
        .then(
          (lost) => (outcome = { lost }),
          (err: unknown) => (outcome = { err }),
        );
      await condition(() => outcome !== undefined || stale());
      if (!outcome) {
        // The activity takes the cancellation at its next heartbeat (WAIT_CANCELLATION_COMPLETED): it never
        // completes after its workflow has closed.
        scope.cancel();
        await condition(() => outcome !== undefined);
        continue;
      }
      if ('err' in outcome) {
        if (isCancellation(outcome.err) && CancellationScope.current().consideredCancelled) return;
        log.warn('could not watch the hosts of running agents', { error: String(outcome.err) });
        await condition(() => stopped, checkMs);
        continue;
      }
      const lost = outcome.lost;
      for (const [key, w] of toMove(opts.children(), lost)) {
        if (w.host !== opts.ownQueue) void opts.move(key, w).catch(ignoreCancellation);
      }
    }
  };
  const done = loop().catch(ignoreCancellation);
  return {
    async stop() {
      stopped = true;
      if (!idle) await done;
    },
  };
}

function ignoreCancellation(err: unknown): void {
  if (!isCancellation(err)) throw err;
}

/** Guidance for a planner restarted after its host was lost: it plans again from what the target holds now. */
export function movedPlannerNote(moved: Moved): string {
  return (
    `This planner was restarted on another host: the host of its previous run (${moved.from}) stopped responding ` +
    'and its planning state was lost. Work its children merged is on the target branch; look at the code as it ' +
    'is now and plan what is still missing of your scope.'
  );
}

/** What a worker moved off a lost host is told, with or without its restored conversation. */
export function movedTaskNote(moved: Moved, restored: boolean): string {
  const what = restored ? 'Your workspace and this conversation were' : 'Your workspace was';
  return (
    `Your host (${moved.from}) stopped responding and this task was restarted on another host. ${what} restored ` +
    "to the task's last checkpoint (a commit on its task branch): anything done after that checkpoint is gone and " +
    'may need redoing. Check the workspace (git status, git log, the files you changed) before you go on.'
  );
}
