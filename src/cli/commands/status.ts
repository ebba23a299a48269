/**
 * `longrun status ID [--json]` — where a run is now: the root's `status` query while it runs (with the agents'
 * own `agent` queries for the tree), the workflow's description and result once it has closed.
 *
 * --json prints one object (stable; fields are only ever added):
 *   {
 *     "runId": string,
 *     "workflowStatus": "RUNNING" | "COMPLETED" | "FAILED" | "TERMINATED" | "CANCELLED" | "TIMED_OUT",
 *     "status": "running" | "done" | "stopped" | "budget_exhausted" | "max_cycles" | "failed",
 *     "phase": "preparing" | "planning" | "verifying" | "judging" | "publishing" | "tidying" | "finished" | null,
 *     "cycle": number | null,             // null while the run has not answered yet
 *     "paused": boolean, "stopRequested": boolean,
 *     "tasks": { "running": number, "merged": number, "failed": number, "abandoned": number,
 *                "notAttempted": number },  // planned tasks never started, in cycles already judged
 *     "commits": number, "costUsd": number,
 *     "usageByRole": { "<role>": { "calls", "inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens", "costUsd", "unpricedCalls" } },
 *     "agents": [{ "id": string, "role": string, "title": string, "startedAt": number }],   // running sub-planners and workers
 *     "lastVerdict": { "decision": "continue" | "done" | "stop", "reasons": string[] } | null,
 *     "lastReceipt": { "command": string, "commit": string, "passed": boolean, "exitCode": number | null } | null,
 *     "resultBranch": string,
 *     "incidents": [{ "at": number, "ref": string, "found": string | null, "restored": string,
 *                     "detectedBy": "command" | "integrate" | "verify" | "publish",
 *                     "taskId"?: string, "agentId"?: string, "command"?: string }],  // shared refs moved behind longrun's back, restored
 *     "disk": { "hubBytes", "worktreesBytes", "cachesBytes", "transcriptsBytes", "totalBytes", "at" } | null,
 *                                         // the run's disk use after its latest cycle's tidy step (null before one)
 *     "environment": { "command": string | null, "source": string | null, "log": string | null } | null,
 *                                         // the dependency setup the run chose ("input" or the ecosystem detected,
 *                                         // e.g. "npm") and its kept output; null before it ran (or before v0.2.0)
 *     "reason": string | null,            // why the run ended, or why it did not answer
 *     "executionStartedAt": string,       // ISO time the current cycle's execution started
 *     "closedAt": string | null,
 *     "uiUrl": string
 *   }
 *
 * Exit codes: 0 shown (whatever the run's state); 1 Temporal unreachable; 2 no run with that id.
 */
import type { Command } from 'commander';
import { describeDisk, type DiskUse } from '../../core/disk';
import { describeEnvironment, type RunEnvironment } from '../../core/environment';
import { describeIncident } from '../../core/incidents';
import type { Receipt, RefIncident, UsageByRole, Verdict } from '../../core/types';
import { uiLink, withClient } from '../lib/client';
import { asUsageError, printJson, stdoutStyle } from '../lib/command';
import { truncate } from '../lib/format';
import { takeSnapshot, type RunSnapshot } from '../lib/snapshot';
import { treeLines } from '../lib/tree';
import type { CycleRecord } from '../../workflows/definitions';

export interface StatusJson {
  runId: string;
  workflowStatus: string;
  status: string;
  phase: string | null;
  cycle: number | null;
  paused: boolean;
  stopRequested: boolean;
  tasks: { running: number; merged: number; failed: number; abandoned: number; notAttempted: number };
  commits: number;
  costUsd: number;
  usageByRole: UsageByRole;
  agents: Array<{ id: string; role: string; title: string; startedAt: number }>;
  lastVerdict: { decision: string; reasons: string[] } | null;
  lastReceipt: { command: string; commit: string; passed: boolean; exitCode: number | null } | null;
  resultBranch: string;
  incidents: RefIncident[];
  disk: DiskUse | null;
  environment: RunEnvironment | null;
  reason: string | null;
  executionStartedAt: string;
  closedAt: string | null;
  uiUrl: string;
}

const verdictJson = (v: Verdict | null) => (v ? { decision: v.decision, reasons: v.reasons } : null);
const receiptJson = (r: Receipt | null) =>
  r ? { command: r.command, commit: r.commit, passed: r.passed, exitCode: r.exitCode } : null;

export function statusJson(snap: RunSnapshot, uiUrl: string): StatusJson {
  const ids = { runId: snap.runId, workflowStatus: snap.workflowStatus };
  const base = {
    executionStartedAt: snap.executionStart.toISOString(),
    closedAt: snap.closeTime?.toISOString() ?? null,
    uiUrl,
  };
  const r = snap.result;
  const environment = runEnvironment(snap);
  if (r) {
    return {
      ...ids,
      status: r.status,
      phase: 'finished',
      cycle: r.cycles,
      paused: false,
      stopRequested: false,
      tasks: { running: 0, ...r.tasks, notAttempted: r.tasks.notAttempted ?? 0 },
      commits: r.commits,
      costUsd: r.costUsd,
      usageByRole: r.usage,
      agents: [],
      lastVerdict: verdictJson(r.finalVerdict),
      lastReceipt: receiptJson(r.lastReceipt),
      resultBranch: r.resultBranch,
      incidents: r.history.at(-1)?.incidents ?? [],
      disk: lastDisk(r.history),
      environment,
      reason: r.reason,
      ...base,
    };
  }
  const v = snap.view;
  if (v) {
    return {
      ...ids,
      status: v.status,
      phase: v.phase,
      cycle: v.cycle,
      paused: v.paused,
      stopRequested: v.stopRequested,
      tasks: { ...v.tasks, notAttempted: v.tasks.notAttempted ?? 0 },
      commits: v.commits,
      costUsd: v.costUsd,
      usageByRole: v.usage,
      agents: v.agents.map((a) => ({ id: a.id, role: a.role, title: a.title, startedAt: a.startedAt })),
      lastVerdict: verdictJson(v.lastVerdict),
      lastReceipt: receiptJson(v.lastReceipt),
      resultBranch: v.resultBranch,
      incidents: v.incidents ?? [],
      disk: v.disk ?? null,
      environment,
      reason: null,
      ...base,
    };
  }
  return {
    ...ids,
    status: snap.failure ? 'failed' : 'running',
    phase: null,
    cycle: null,
    paused: false,
    stopRequested: false,
    tasks: { running: 0, merged: 0, failed: 0, abandoned: 0, notAttempted: 0 },
    commits: 0,
    costUsd: 0,
    usageByRole: {},
    agents: [],
    lastVerdict: null,
    lastReceipt: null,
    resultBranch: `longrun/${snap.runId}`,
    incidents: [],
    disk: null,
    environment,
    reason: snap.failure ?? `the run did not answer its status query (${snap.viewError ?? 'no worker?'})`,
    ...base,
  };
}

/** The run's setup as it answered, else as its memo recorded it (a closed run, or one that failed in setup). */
export function runEnvironment(snap: RunSnapshot): RunEnvironment | null {
  const env = snap.view?.environment ?? (snap.memo.environment as RunEnvironment | undefined);
  return env && typeof env === 'object' ? env : null;
}

/** The disk use the latest tidy step measured (cycles before v0.2.0, or whose tidy failed, have none). */
export const lastDisk = (history: CycleRecord[]): DiskUse | null =>
  [...history].reverse().find((c) => c.disk)?.disk ?? null;

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("Show a run's state: cycle, phase, tasks, cost and the running agents (or its outcome once closed).")
    .argument('<id>', 'the run id')
    .option('--json', 'print one JSON object (see the top of src/cli/commands/status.ts)')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withClient(async (c) => {
        let snap: RunSnapshot;
        try {
          snap = await takeSnapshot(c, id, { agents: !opts.json });
        } catch (err) {
          throw asUsageError(err, id, c.target.namespace);
        }
        const url = uiLink(c.target, id);
        if (opts.json) return printJson(statusJson(snap, url));
        const style = stdoutStyle();
        const lines = treeLines(snap, style);
        if (snap.result)
          lines.push(`  reason: ${truncate(snap.result.reason, 200)}`, `  branch: ${snap.result.resultBranch}`);
        else if (snap.view?.lastVerdict)
          lines.push(
            `  last verdict: ${snap.view.lastVerdict.decision} — ${truncate(snap.view.lastVerdict.reasons.join('; '), 160)}`,
          );
        const incidents = snap.result ? (snap.result.history.at(-1)?.incidents ?? []) : (snap.view?.incidents ?? []);
        for (const i of incidents) lines.push(`  ${style.red('incident')}: ${truncate(describeIncident(i), 200)}`);
        const disk = snap.result ? lastDisk(snap.result.history) : (snap.view?.disk ?? null);
        const environment = runEnvironment(snap);
        if (environment) lines.push(`  ${describeEnvironment(environment)}`);
        if (disk) lines.push(`  disk: ${describeDisk(disk)}`);
        lines.push(`  web UI: ${url}`);
        console.log(lines.join('\n'));
      });
    });
}
