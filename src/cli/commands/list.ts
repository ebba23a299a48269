/**
 * `longrun list [--status S] [--limit N] [--json]` — runs, newest first, found through search attributes
 * (`LongrunRole = "run"`, plus `LongrunStatus = "<S>"` or the execution status for running / failed runs).
 * The same list in the Temporal CLI: temporal workflow list --query 'LongrunRole = "run"'.
 *
 * --json prints an array (stable; fields are only ever added):
 *   [{ "runId": string,
 *      "status": "running" | "done" | "stopped" | "budget_exhausted" | "max_cycles" | "failed",
 *      "workflowStatus": "RUNNING" | "COMPLETED" | "FAILED" | "TERMINATED" | "CANCELLED" | "TIMED_OUT",
 *      "cycle": number | null, "costUsd": number | null,
 *      "goal": string | null,            // set for runs started by `longrun run` / `longrun demo`
 *      "startedAt": string,              // ISO; the run's start when known, else its current cycle's
 *      "closedAt": string | null }]
 *
 * Exit codes: 0 listed (possibly nothing); 1 Temporal unreachable; 2 unknown --status.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { COST_USD, CYCLE, STATUS } from '../../core/search-attributes';
import { withClient } from '../lib/client';
import { parsePositiveInt, printJson, stdoutStyle } from '../lib/command';
import { elapsed, money, statusWord, table, truncate } from '../lib/format';

export const LIST_STATUSES = ['running', 'done', 'stopped', 'budget_exhausted', 'max_cycles', 'failed'] as const;

export interface ListedRun {
  runId: string;
  status: string;
  workflowStatus: string;
  cycle: number | null;
  costUsd: number | null;
  goal: string | null;
  startedAt: string;
  closedAt: string | null;
}

const CLOSED_BADLY = '"Failed", "Terminated", "Canceled", "TimedOut"';

/** The visibility query for `--status` (continued-as-new executions are past cycles of a run: left out). */
export function listQuery(status?: string): string {
  const base = 'LongrunRole = "run" AND ExecutionStatus != "ContinuedAsNew"';
  if (!status) return base;
  if (status === 'running') return `${base} AND ExecutionStatus = "Running"`;
  if (status === 'failed') return `${base} AND (LongrunStatus = "failed" OR ExecutionStatus IN (${CLOSED_BADLY}))`;
  return `${base} AND LongrunStatus = "${status}"`;
}

export function listedRun(wf: WorkflowExecutionInfo): ListedRun {
  const sa = wf.typedSearchAttributes;
  const closedBadly = ['FAILED', 'TERMINATED', 'CANCELLED', 'TIMED_OUT'].includes(wf.status.name);
  const memo = (wf.memo ?? {}) as { goal?: unknown; startedAt?: unknown };
  return {
    runId: wf.workflowId,
    status: closedBadly ? 'failed' : (sa.get(STATUS) ?? 'running'),
    workflowStatus: wf.status.name,
    cycle: sa.get(CYCLE) ?? null,
    costUsd: sa.get(COST_USD) ?? null,
    goal: typeof memo.goal === 'string' ? memo.goal : null,
    startedAt: new Date(typeof memo.startedAt === 'number' ? memo.startedAt : wf.startTime.getTime()).toISOString(),
    closedAt: wf.closeTime?.toISOString() ?? null,
  };
}

export function registerListCommand(program: Command): void {
  program
    .command('list')
    .description('List runs, newest first (via the LongrunRole / LongrunStatus search attributes).')
    .option('--status <status>', `only runs with this status: ${LIST_STATUSES.join(', ')}`, (v: string) => {
      if (!(LIST_STATUSES as readonly string[]).includes(v)) {
        throw new InvalidArgumentError(`--status must be one of ${LIST_STATUSES.join(', ')}`);
      }
      return v;
    })
    .option('--limit <n>', 'at most this many runs', parsePositiveInt('--limit'), 50)
    .option('--json', 'print a JSON array (see the top of src/cli/commands/list.ts)')
    .action(async (opts: { status?: string; limit: number; json?: boolean }) => {
      await withClient(async (c) => {
        const runs: ListedRun[] = [];
        for await (const wf of c.client.workflow.list({
          query: listQuery(opts.status),
          pageSize: Math.min(opts.limit, 100),
        })) {
          runs.push(listedRun(wf));
          if (runs.length >= opts.limit) break;
        }
        if (opts.json) return printJson(runs);
        if (!runs.length) {
          console.log(
            opts.status
              ? `No ${opts.status} runs.`
              : 'No runs yet. Start one with `longrun run` or try `longrun demo`.',
          );
          return;
        }
        const style = stdoutStyle();
        const now = Date.now();
        const rows = [['RUN ID', 'STATUS', 'CYCLE', 'COST', 'STARTED', 'TOOK', 'GOAL'].map((h) => style.dim(h))];
        for (const r of runs) {
          const start = Date.parse(r.startedAt);
          rows.push([
            r.runId,
            statusWord(r.status, style),
            r.cycle === null ? '-' : String(r.cycle),
            r.costUsd === null ? '-' : money(r.costUsd),
            `${elapsed(now - start)} ago`,
            elapsed((r.closedAt ? Date.parse(r.closedAt) : now) - start),
            truncate(r.goal ?? '', 60),
          ]);
        }
        console.log(table(rows, [2, 3]).join('\n'));
      });
    });
}
