import { rng } from '../../../src/sim/faults';
import type { ScenarioFn, SimRequest } from '../../../src/sim/types';

export interface KillRecord {
  /** Index of the model request (at the simulator) the kill was tied to. */
  request: number;
  atMs: number;
  /** Agent commands that outlived the worker and were killed with it. */
  orphans: number;
}

export interface ProgressKills {
  /** The scenario to serve: `base`, with a kill of the worker before every chosen request is answered. */
  scenario: ScenarioFn;
  kills: KillRecord[];
  /** The request indices at which kills are planned (the last one must come well before the run's end). */
  plan: number[];
  /** Starts counting: requests before arm() never kill (e.g. another run's, or a warm-up). */
  arm(): void;
}

/**
 * Kills tied to progress, not to a clock: the worker is killed while the simulator holds a chosen model request (the
 * k-th, 2k-th, ... one it receives, with seeded jitter so the crash points move between seeds), and started again
 * before the request is answered. The number of kills is then a property of the run's length in model requests, the
 * same on a fast and a slow machine; the other agents' activities running at that moment (tools, merges, checkpoints)
 * die at whatever point they had reached.
 */
export function killEveryKthRequest(
  base: ScenarioFn,
  opts: { every: number; count: number; seed: number; crash: () => Promise<{ orphans: number }> },
): ProgressKills {
  const random = rng(opts.seed);
  const plan: number[] = [];
  let at = 0;
  for (let i = 0; i < opts.count; i++) {
    // Gaps in [every/2, 3*every/2]: on average every k-th request, never two kills on one request.
    at += Math.max(1, Math.round(opts.every / 2 + random() * opts.every));
    plan.push(at);
  }
  let seen = 0;
  return { ...crashWhen(base, () => plan.includes(++seen), opts.crash), plan };
}

/**
 * The worker is killed (`crash`) while the simulator holds each request `pick` chooses, counting only requests that
 * arrive after arm(); the request is answered after the crash, to a client that is gone.
 */
export function crashWhen(
  base: ScenarioFn,
  pick: (req: SimRequest) => boolean,
  crash: () => Promise<{ orphans: number }>,
): Omit<ProgressKills, 'plan'> {
  const kills: KillRecord[] = [];
  let armed = false;
  let started = 0;
  // One kill at a time: a request that arrives while a kill and restart are under way waits for them.
  let crashing: Promise<void> = Promise.resolve();
  const scenario: ScenarioFn = async (req: SimRequest) => {
    if (armed && pick(req)) {
      crashing = crashing.then(async () => {
        const { orphans } = await crash();
        kills.push({ request: req.index, atMs: Date.now() - started, orphans });
      });
    }
    await crashing;
    // The killed worker never reads this answer; its model activity is retried after the heartbeat timeout.
    return base(req);
  };
  return {
    scenario,
    kills,
    arm() {
      armed = true;
      started = Date.now();
    },
  };
}
