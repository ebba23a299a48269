import { heartbeat } from '@temporalio/activity';

/** The floor bench's one activity: a model turn that costs nothing but its latency. */
export async function wait(ms: number): Promise<{ start: number; end: number }> {
  const start = Date.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { start, end: Date.now() };
}

/**
 * All of an agent's turns in one activity. It heartbeats every 5 s (a turn may outlast the heartbeat timeout), as a
 * model call does, and after each turn; the SDK sends at most one heartbeat per 0.8 × the timeout to the server.
 */
export async function waitAll(latencies: number[]): Promise<Array<{ start: number; end: number }>> {
  const turns: Array<{ start: number; end: number }> = [];
  const beat = setInterval(() => heartbeat(turns.length), 5_000);
  try {
    for (const ms of latencies) {
      turns.push(await wait(ms));
      heartbeat(turns.length);
    }
  } finally {
    clearInterval(beat);
  }
  return turns;
}
