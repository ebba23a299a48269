import { Context } from '@temporalio/activity';

/**
 * Every activity heartbeats while it runs, at a third of its heartbeat timeout. A worker that is killed stops
 * heartbeating, so the server retries its activities after the heartbeat timeout (seconds) instead of their
 * start-to-close timeout (minutes). Activities that report progress heartbeat with details on top of this.
 * Local activities and direct calls (unit tests, benches) have no heartbeat timeout and are left alone.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AsyncFn = (...args: any[]) => Promise<unknown>;

export function withHeartbeats<T extends Record<string, AsyncFn>>(activities: T): T {
  const wrapped: Record<string, AsyncFn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args) => {
      const stop = keepAlive();
      try {
        return await fn(...args);
      } finally {
        stop();
      }
    };
    // Temporal registers activities by property name; keep the function's own name for stack traces too.
    Object.defineProperty(wrapped[name], 'name', { value: name });
  }
  return wrapped as T;
}

function keepAlive(): () => void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return () => undefined; // not inside an activity
  }
  const timeoutMs = ctx.info.heartbeatTimeoutMs;
  if (ctx.info.isLocal || !timeoutMs) return () => undefined;
  const timer = setInterval(() => ctx.heartbeat(), Math.max(500, timeoutMs / 3));
  timer.unref();
  return () => clearInterval(timer);
}
