import { Context } from '@temporalio/activity';

/**
 * Heartbeats, in one place. A worker that is killed stops heartbeating, so the server retries its activities after
 * the heartbeat timeout (seconds) instead of their start-to-close timeout (minutes); and a heartbeat is how a running
 * activity hears that its run was cancelled (the SDK then fires its cancellation signal).
 *
 * The worker wraps every activity in `heartbeating` (`withHeartbeats`); code inside that knows what it is doing (the
 * model call's phase, a setup or a test command) calls `heartbeating` again with details, and while it runs the same
 * timer reports those details. The same code also runs outside Temporal (unit tests, benches, the CLI's local checks)
 * and as local activities, whose workflow task is heartbeated instead: there it just runs.
 */

/** The activity context when running in an activity (or MockActivityEnvironment), else undefined. */
export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** One activity's heartbeat: a single timer, and what each `heartbeating` call inside it wants reported. */
interface Beat {
  timer: NodeJS.Timeout;
  reporters: Array<{ details?: () => unknown }>;
}

const beats = new WeakMap<Context, Beat>();

/**
 * A third of the heartbeat timeout, between 0.5 and 10 s. Beating more often costs nothing on the wire: the SDK sends
 * at most one heartbeat per 0.8 × timeout and keeps the latest details. No beat at once: most calls end before the
 * first is due, and each sent heartbeat is a server write (bench/overhead.ts measured 7–25 % of the server's CPU).
 */
export function beatIntervalMs(heartbeatTimeoutMs: number | undefined): number {
  return Math.max(500, Math.min(10_000, (heartbeatTimeoutMs ?? 30_000) / 3));
}

/**
 * Runs `work`, heartbeating while it runs; `work` gets the activity's cancellation signal (undefined outside an
 * activity) and should stop when it fires. `details` is what the heartbeats carry meanwhile (the innermost call
 * with details wins), shown as the pending activity's heartbeat details.
 */
export async function heartbeating<T>(
  work: (signal: AbortSignal | undefined) => Promise<T>,
  details?: () => unknown,
): Promise<T> {
  const ctx = activityContext();
  if (!ctx || ctx.info.isLocal) return work(ctx?.cancellationSignal);
  const beat = beats.get(ctx) ?? startBeat(ctx);
  const reporter = { details };
  beat.reporters.push(reporter);
  try {
    return await work(ctx.cancellationSignal);
  } finally {
    beat.reporters.splice(beat.reporters.indexOf(reporter), 1);
    if (!beat.reporters.length) {
      clearInterval(beat.timer);
      beats.delete(ctx);
    }
  }
}

function startBeat(ctx: Context): Beat {
  const reporters: Beat['reporters'] = [];
  const timer = setInterval(() => ctx.heartbeat(latestDetails(reporters)), beatIntervalMs(ctx.info.heartbeatTimeoutMs));
  timer.unref();
  const beat = { timer, reporters };
  beats.set(ctx, beat);
  return beat;
}

function latestDetails(reporters: Beat['reporters']): unknown {
  for (let i = reporters.length - 1; i >= 0; i--) {
    const details = reporters[i].details;
    if (details) return details();
  }
  return undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AsyncFn = (...args: any[]) => Promise<unknown>;

/** Every activity of the worker, each heartbeating while it runs. */
export function withHeartbeats<T extends Record<string, AsyncFn>>(activities: T): T {
  const wrapped: Record<string, AsyncFn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = (...args) => heartbeating(() => fn(...args));
    // Temporal registers activities by property name; keep the function's own name for stack traces too.
    Object.defineProperty(wrapped[name], 'name', { value: name });
  }
  return wrapped as T;
}
