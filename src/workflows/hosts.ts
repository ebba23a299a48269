/**
 * Watching the hosts of running children (workflow side of lib/host-loss.ts): while a parent has children running,
 * every `limits.hostCheckSeconds` one `lostHosts` call covers all their host queues, and each child on a host that did
 * not poll for `limits.hostLostAfterSeconds` is moved. With no child running there is no timer and no activity.
 */
import { condition, isCancellation, log } from '@temporalio/workflow';
import { DEFAULT_LIMITS, type Limits } from '../core/schemas';
import type { Acts } from './activities';
import { toMove, watchedHosts, type Moved, type Watched } from './lib/host-loss';

export function superviseHosts(opts: {
  limits: Partial<Limits>;
  acts: Acts;
  /** Where `lostHosts` runs (the shared queue); the parent's own queue when absent. */
  shared?: { taskQueue: string };
  children: () => Iterable<[string, Watched]>;
  move: (key: string, w: Watched) => Promise<void>;
}): void {
  const checkMs = (opts.limits.hostCheckSeconds ?? DEFAULT_LIMITS.hostCheckSeconds) * 1000;
  const graceMs = (opts.limits.hostLostAfterSeconds ?? DEFAULT_LIMITS.hostLostAfterSeconds) * 1000;
  const hosts = () => watchedHosts([...opts.children()].map(([, w]) => w));
  const loop = async () => {
    for (;;) {
      await condition(() => hosts().length > 0);
      // Woken early when the last watched child ends: its timer is cancelled, and none starts until another runs.
      if (await condition(() => hosts().length === 0, checkMs)) continue;
      const queues = hosts();
      let lost: string[];
      try {
        lost = await opts.acts.run.lostHosts.executeWithOptions(opts.shared ?? {}, [{ queues, graceMs }]);
      } catch (err) {
        if (isCancellation(err)) throw err;
        log.warn('could not check the hosts of running agents', { error: String(err) });
        continue;
      }
      for (const [key, w] of toMove(opts.children(), lost)) void opts.move(key, w).catch(ignoreCancellation);
    }
  };
  // Cancelling the parent rejects the pending timer or activity: the parent's own code handles the cancellation.
  void loop().catch(ignoreCancellation);
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
