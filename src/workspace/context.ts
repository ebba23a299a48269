import { Context } from '@temporalio/activity';

/**
 * Activities here also run outside Temporal (unit tests, benches, the CLI's local checks):
 * heartbeat and cancellation are used only when an activity context exists.
 */
export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Local activities cannot heartbeat (their workflow task is heartbeated instead). */
function heartbeating(): Context | undefined {
  const ctx = activityContext();
  return ctx && !ctx.info.isLocal ? ctx : undefined;
}

export function heartbeat(details?: unknown): void {
  heartbeating()?.heartbeat(details);
}

/** The activity's cancellation signal, or one that never fires outside an activity. */
export function cancellationSignal(): AbortSignal {
  return activityContext()?.cancellationSignal ?? new AbortController().signal;
}

/** Heartbeats every `intervalMs` while `work` runs, so a long queue wait or test run is not mistaken for a dead worker. */
export async function withHeartbeat<T>(
  work: () => Promise<T>,
  details?: () => unknown,
  intervalMs = 5_000,
): Promise<T> {
  const ctx = heartbeating();
  if (!ctx) return work();
  const timer = setInterval(() => ctx.heartbeat(details?.()), intervalMs);
  try {
    ctx.heartbeat(details?.());
    return await work();
  } finally {
    clearInterval(timer);
  }
}
