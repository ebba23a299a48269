/**
 * `longrun report ID [--json]` — what a run did: outcome, tasks merged / failed / abandoned, unmerged tasks with
 * the worker's own account, commits, tokens and cost per role, every cycle with its judge verdict and test
 * receipt, duration. From the RunResult once the run has finished; while it runs, from the `status` query plus
 * the cycles so far (carried in the current execution's input) and the memo.
 *
 * --json prints one object (stable; fields are only ever added):
 *   {
 *     "runId": string,
 *     "status": "running" | "done" | "stopped" | "budget_exhausted" | "max_cycles" | "failed",
 *     "finished": boolean,
 *     "reason": string | null,              // why it ended (the judge's reasons, a limit, or the failure)
 *     "goal": string | null, "repo": string | null, "resultBranch": string,
 *     "startedAt": string | null, "endedAt": string | null, "durationMs": number | null,   // ISO times
 *     "cycles": number,
 *     "tasks": { "merged": number, "failed": number, "abandoned": number, "running": number, "notAttempted": number },
 *     "commits": number, "costUsd": number,
 *     "tokens": { "input": number, "output": number, "cacheRead": number, "cacheWrite": number },
 *     "usageByRole": { "<role>": { "calls", "inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens", "costUsd", "unpricedCalls" } },
 *     "history": [{ "cycle": number,
 *                   "tasks": { "merged": number, "failed": number, "abandoned": number },
 *                   "verdict": { "decision": "continue" | "done" | "stop", "reasons": string[] } | null,
 *                   "refusedDone": boolean,          // the judge said done but the tests failed
 *                   "receipt": { "command", "commit", "passed", "exitCode", "timedOut", "durationMs" } | null,
 *                   "plannerError": string | null, "costUsd": number, "durationMs": number,
 *                   "unmerged": [{ "taskId", "title", "status": "failed" | "abandoned", "summary" }],
 *                   "checks": [{ "commit", "passed", "exitCode", "timedOut", "durationMs" }],  // while working
 *                   "notAttempted": [{ "title", "reason", "plannedBy" }] }],
 *     "unmerged": [{ "cycle": number, "taskId": string, "title": string, "status": string, "summary": string }],
 *     "notAttempted": [{ "cycle": number, "title": string, "reason": string, "plannedBy": string }],  // planned, never started
 *     "models": { "<role>": { "provider", "model", "maxTokens", "contextWindow", "price" } } | null,
 *     "failure": string | null,             // set when the workflow failed, was terminated, cancelled or timed out
 *     "uiUrl": string
 *   }
 *
 * Exit codes: 0 reported (whatever the outcome); 1 Temporal unreachable; 2 no run with that id.
 */
import type { Command } from 'commander';
import { uiLink, withClient } from '../lib/client';
import { asUsageError, printJson, stdoutStyle } from '../lib/command';
import { buildReport, reportLines } from '../lib/report';
import { startArguments, takeSnapshot } from '../lib/snapshot';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'Report what a run did: tasks, unmerged work, commits, tokens and cost per role, cycles with verdicts.',
    )
    .argument('<id>', 'the run id')
    .option('--json', 'print one JSON object (see the top of src/cli/commands/report.ts)')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withClient(async (c) => {
        let report;
        try {
          const snap = await takeSnapshot(c, id);
          report = buildReport(snap, await startArguments(c, id), uiLink(c.target, id));
        } catch (err) {
          throw asUsageError(err, id, c.target.namespace);
        }
        if (opts.json) printJson(report);
        else console.log(reportLines(report, stdoutStyle()).join('\n'));
      });
    });
}
