/**
 * One look at a run: the root's `status` query, the `agent` query of each running planner and worker, and, once
 * the run has closed, its result or failure. Every call has a deadline, so a run nobody serves (no worker) shows
 * up as "no answer" instead of hanging the CLI.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { taskIdOf, workflowIds } from '../../core/ids';
import type { Role } from '../../core/types';
import {
  agentQuery,
  statusQuery,
  type AgentView,
  type RunCarry,
  type RunInput,
  type RunResult,
  type RunStatusView,
} from '../../workflows/definitions';
import type { Connected } from './client';

/** Temporal's execution status, as the SDK names it: RUNNING, COMPLETED, FAILED, TERMINATED, CANCELLED, TIMED_OUT… */
export type WorkflowStatusName = string;

export interface AgentRow extends AgentView {
  /** The id without the run prefix, e.g. c1/planner/s1/t2. */
  key: string;
  /** False when the agent did not answer its query in time (shown from the run's own record). */
  answered: boolean;
}

export interface RunSnapshot {
  at: number;
  runId: string;
  workflowStatus: WorkflowStatusName;
  /** The run's task queue (where a worker must poll for it to make progress). */
  taskQueue: string;
  /** Start of the current execution (each cycle is a fresh execution after continue-as-new). */
  executionStart: Date;
  closeTime: Date | null;
  /** The `status` query's answer; null when the run did not answer (not started yet, no worker, or closed). */
  view: RunStatusView | null;
  viewError: string | null;
  agents: AgentRow[];
  /** Set once the run has completed. */
  result: RunResult | null;
  /** Set when the workflow failed, was terminated, cancelled or timed out. */
  failure: string | null;
  memo: Record<string, unknown>;
}

export class RunNotFound extends Error {}

const QUERY_MS = 10_000;

export async function takeSnapshot(c: Connected, runId: string, opts: { agents?: boolean } = {}): Promise<RunSnapshot> {
  const handle = c.client.workflow.getHandle(runId);
  let desc;
  try {
    desc = await c.within(QUERY_MS, () => handle.describe());
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || /not found/i.test((err as Error).message)) {
      throw new RunNotFound(
        `no run with id "${runId}" in namespace ${c.target.namespace} at ${c.target.address}; see \`longrun list\``,
      );
    }
    throw err;
  }
  const snap: RunSnapshot = {
    at: Date.now(),
    runId,
    workflowStatus: desc.status.name,
    taskQueue: desc.taskQueue,
    executionStart: desc.startTime,
    closeTime: desc.closeTime ?? null,
    view: null,
    viewError: null,
    agents: [],
    result: null,
    failure: null,
    memo: desc.memo ?? {},
  };
  if (desc.status.name !== 'RUNNING') {
    try {
      snap.result = await c.within(QUERY_MS, () => handle.result() as Promise<RunResult>);
    } catch (err) {
      snap.failure = failureMessage(err, desc.status.name);
    }
    return snap;
  }
  try {
    snap.view = await c.within(QUERY_MS, () => handle.query(statusQuery));
  } catch (err) {
    snap.viewError = (err as Error).message;
  }
  if (opts.agents && snap.view) snap.agents = await agentRows(c, runId, snap.view);
  return snap;
}

/** The root planner while the cycle plans and works, and every sub-planner and worker the run knows is running. */
async function agentRows(c: Connected, runId: string, view: RunStatusView): Promise<AgentRow[]> {
  const known = new Map<string, { role: Role; title: string; startedAt: number }>();
  if (view.phase === 'planning')
    known.set(workflowIds.rootPlanner(runId, view.cycle), { role: 'planner', title: 'root', startedAt: 0 });
  for (const a of view.agents) known.set(a.id, a);
  const rows = await Promise.all(
    [...known].map(async ([id, a]): Promise<AgentRow> => {
      try {
        const v = await c.within(5_000, () => c.client.workflow.getHandle(id).query(agentQuery));
        return { ...v, key: taskIdOf(runId, id), answered: true };
      } catch {
        const fallback = {
          id,
          role: a.role,
          title: a.title,
          state: 'starting',
          step: 0,
          lastTool: null,
          costUsd: 0,
          startedAt: a.startedAt,
        };
        return { ...fallback, key: taskIdOf(runId, id), answered: false };
      }
    }),
  );
  return rows.sort((x, y) => compareKeys(x.key, y.key));
}

/** c1/planner/t2 before c1/planner/t10; sub-planners (s) before tasks (t) of the same planner. */
export function compareKeys(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue;
    const ma = /^([a-z]+)(\d+)$/.exec(pa[i]);
    const mb = /^([a-z]+)(\d+)$/.exec(pb[i]);
    if (ma && mb && ma[1] === mb[1]) return Number(ma[2]) - Number(mb[2]);
    return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

function failureMessage(err: unknown, status: string): string {
  const cause = err instanceof WorkflowFailedError ? (err.cause as Error | undefined) : undefined;
  const message = cause?.message || (err as Error)?.message || String(err);
  // "failed" is said by the status already; terminated / cancelled / timed out are worth naming.
  return status === 'FAILED' ? message : `${status.toLowerCase().replace('_', ' ')}: ${message}`;
}

/** The arguments the current execution started with: the run input and, from cycle 2 on, the carried state. */
export async function startArguments(
  c: Connected,
  workflowId: string,
): Promise<{ input: RunInput | null; carry: RunCarry | null }> {
  try {
    const desc = await c.within(QUERY_MS, () => c.client.workflow.getHandle(workflowId).describe());
    const res = await c.within(QUERY_MS, () =>
      c.client.workflowService.getWorkflowExecutionHistory({
        namespace: c.target.namespace,
        execution: { workflowId, runId: desc.runId },
        maximumPageSize: 1,
      }),
    );
    const payloads = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const convert = c.client.options.loadedDataConverter.payloadConverter;
    const [input, carry] = payloads.map((p) => convert.fromPayload(p));
    return { input: (input as RunInput) ?? null, carry: (carry as RunCarry) ?? null };
  } catch {
    return { input: null, carry: null };
  }
}

/** A finished child's outcome (a task's Handoff or a sub-planner's result), for event lines. */
export async function childOutcome(c: Connected, workflowId: string): Promise<unknown> {
  try {
    return await c.within(5_000, () => c.client.workflow.getHandle(workflowId).result());
  } catch (err) {
    return { error: (err as Error).message };
  }
}
