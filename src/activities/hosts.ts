import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';

/** temporal.api.enums.v1: TaskQueueType WORKFLOW and ACTIVITY, TaskQueueKind NORMAL (not the sticky queues). */
const QUEUE_TYPES = [1, 2] as const;
const NORMAL_QUEUE = 1;

/**
 * Host loss, seen from the shared queue: an agent lives on its host's queue (`longrun@<host>`), and a host that stopped
 * polling that queue for good leaves its agents waiting forever. Its parent asks `lostHosts` and restarts them
 * elsewhere (lib/host-loss.ts).
 *
 * A queue's pollers, as the server reports them, carry the time each was last seen. A live worker polls its host queue
 * for workflow tasks and for activity tasks with long polls; idle, it renews a poll only when the last one expires: on
 * the dev server the newest `lastAccessTime` of an idle live worker's pollers was up to 54 s old (measured over 200 s,
 * sampled each second, for both types). A worker with every slot of one type busy does not poll for that type at all,
 * so a queue is live while either type was polled within the grace; limits.hostLostAfterSeconds is at least 70.
 */
export function createHostActivities(deps: { client?: () => Client } = {}) {
  const client = deps.client ?? (() => Context.current().client);
  const activities = {
    /** Of `queues`, those no worker polled (for workflow or activity tasks) within `graceMs`. */
    async lostHosts(input: { queues: string[]; graceMs: number }): Promise<string[]> {
      const c = client();
      const now = Date.now();
      const lost: string[] = [];
      for (const queue of input.queues) {
        let newest = 0;
        for (const type of QUEUE_TYPES) {
          const res = await c.workflowService.describeTaskQueue({
            namespace: c.options.namespace,
            taskQueue: { name: queue, kind: NORMAL_QUEUE },
            taskQueueType: type,
          });
          for (const p of res.pollers ?? []) newest = Math.max(newest, millis(p.lastAccessTime));
        }
        // No poller at all: the server forgot a worker gone for minutes (or none ever polled it).
        if (now - newest > input.graceMs) lost.push(queue);
      }
      return lost;
    },

    /**
     * Ends an agent whose host is lost, so its parent can restart it elsewhere. `terminated` is false when it had
     * already closed: then its own outcome (a handoff) stands and nothing is restarted. With `queue` (the lost host's),
     * its descendants still running there are ended too: the cancel request its end sends them would wait on the
     * dead host for ever (those on live hosts take it and stop by themselves).
     */
    async abandonLostAgent(input: {
      workflowId: string;
      reason: string;
      queue?: string;
    }): Promise<{ terminated: boolean; descendants?: number }> {
      const c = client();
      let terminated = true;
      try {
        await c.workflow.getHandle(input.workflowId).terminate(input.reason);
      } catch (err) {
        if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
        terminated = false;
      }
      if (!input.queue) return { terminated };
      let descendants = 0;
      const query =
        `WorkflowId STARTS_WITH "${input.workflowId}/" AND TaskQueue = "${input.queue}" ` +
        `AND ExecutionStatus = "Running"`;
      for await (const wf of c.workflow.list({ query })) {
        await c.workflow
          .getHandle(wf.workflowId, wf.runId)
          .terminate(`${input.reason} (its parent ${input.workflowId} was on the same host)`)
          .then(() => descendants++)
          .catch((err: Error) => {
            if (err.name !== 'WorkflowNotFoundError') throw err;
          });
      }
      return { terminated, descendants };
    },

    /**
     * Watches `queues` from the worker, every `checkMs`, and returns as soon as one is lost (with the lost ones), or
     * [] after `maxMs`: a parent's workflow sees one activity per watch instead of a timer and an activity per check,
     * so its history does not grow while every host is well. Heartbeats (withHeartbeats) and ends when cancelled.
     */
    async watchHosts(input: { queues: string[]; graceMs: number; checkMs: number; maxMs: number }): Promise<string[]> {
      const until = Date.now() + input.maxMs;
      for (;;) {
        const lost = await activities.lostHosts(input);
        if (lost.length || Date.now() + input.checkMs > until) return lost;
        await Context.current().sleep(input.checkMs); // rejects when the parent cancels the watch
      }
    },
  };
  return activities;
}

function millis(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!t) return 0;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}
