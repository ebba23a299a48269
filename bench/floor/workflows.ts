/**
 * The floor bench's workflows (bench/floor.ts): what Temporal and its TypeScript SDK cost per agent turn on this box,
 * with none of longrun's code. An "agent" waits out its model turns one after the other, each turn one activity (or
 * local activity) that only sleeps; a parent starts the agents as child workflows, as a longrun planner does.
 */
import { proxyActivities, proxyLocalActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type * as activities from './activities';

/**
 * activity: one activity per turn; local: one local activity per turn; batch: all of an agent's turns in one activity
 * that heartbeats after each (what an agent costs if its turns never reach the server one by one).
 */
export const FLOOR_MODES = ['activity', 'local', 'batch'] as const;
export type FloorMode = (typeof FLOOR_MODES)[number];

export interface Turn {
  start: number;
  end: number;
}

const remote = proxyActivities<typeof activities>({ startToCloseTimeout: '10 minutes' });
const local = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '10 minutes' });
const batch = proxyActivities<typeof activities>({ startToCloseTimeout: '60 minutes', heartbeatTimeout: '30 seconds' });

/** One agent: its turns' latencies in ms, waited out one at a time; returns when each wait started and ended. */
export async function floorAgent(latencies: number[], mode: FloorMode): Promise<Turn[]> {
  if (mode === 'batch') return batch.waitAll(latencies);
  const acts = mode === 'local' ? local : remote;
  const turns: Turn[] = [];
  for (const ms of latencies) turns.push(await acts.wait(ms));
  return turns;
}

/**
 * The fan-out: every agent a child workflow, all started at once, through a tree of parents that each start at most
 * `fanout` children (0: all from this one), as longrun's planners hand work to sub-planners; returns every agent's
 * turns in order.
 */
export async function floorParent(
  agents: number[][],
  mode: FloorMode,
  workflowTaskTimeoutS?: number,
  fanout = 0,
): Promise<Turn[][]> {
  const { workflowId, taskQueue } = workflowInfo();
  const timeout = workflowTaskTimeoutS ? { workflowTaskTimeout: workflowTaskTimeoutS * 1000 } : {};
  if (fanout > 0 && agents.length > fanout) {
    // Split into at most `fanout` groups, each a parent of its own.
    const size = Math.ceil(agents.length / fanout);
    const groups: number[][][] = [];
    for (let i = 0; i < agents.length; i += size) groups.push(agents.slice(i, i + size));
    const results = await Promise.all(
      groups.map(async (group, g) => {
        const child = await startChild(floorParent, {
          workflowId: `${workflowId}/p${g}`,
          taskQueue,
          args: [group, mode, workflowTaskTimeoutS, fanout],
        });
        return child.result();
      }),
    );
    return results.flat();
  }
  return Promise.all(
    agents.map(async (latencies, i) => {
      const child = await startChild(floorAgent, {
        workflowId: `${workflowId}/a${i}`,
        taskQueue,
        args: [latencies, mode],
        ...timeout,
      });
      return child.result();
    }),
  );
}
