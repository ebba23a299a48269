import { Context } from '@temporalio/activity';

/**
 * The bits of the Temporal activity context the model activity needs, usable outside an activity
 * too (unit tests, the bench): there, heartbeats are no-ops and nothing cancels.
 */
export interface CallContext {
  signal?: AbortSignal;
  /** Starts periodic heartbeats; returns a function that stops them. */
  keepAlive(details?: () => unknown): () => void;
  /** Time left before the activity's start-to-close timeout, if known. */
  remainingMs?: number;
  attempt: number;
  log(message: string, attrs?: Record<string, unknown>): void;
}

function current(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // not inside an activity
  }
}

export function callContext(now = Date.now()): CallContext {
  const ctx = current();
  if (!ctx) return { keepAlive: () => () => undefined, attempt: 1, log: () => undefined };
  const info = ctx.info;
  // Heartbeat well within the heartbeat timeout; the SDK throttles what it actually sends.
  const everyMs = Math.max(1_000, Math.min(10_000, (info.heartbeatTimeoutMs ?? 30_000) / 3));
  const started = info.currentAttemptScheduledTimestampMs ?? now;
  return {
    signal: ctx.cancellationSignal,
    attempt: info.attempt,
    log: (message, attrs) => ctx.log.info(message, attrs),
    remainingMs: info.startToCloseTimeoutMs ? info.startToCloseTimeoutMs - (now - started) : undefined,
    keepAlive(details) {
      if (info.isLocal) return () => undefined; // a local activity's workflow task is heartbeated instead
      // No beat at once: a heartbeat is a server round trip and a write, and most calls end before the first one
      // is due (bench/overhead.ts measured it at 7–25 % of the server's CPU per zero-latency call).
      const beat = () => ctx.heartbeat(details?.());
      const timer = setInterval(beat, everyMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
