/**
 * `longrun watch ID` — a live tree of a run until it ends, then its summary.
 *
 * On a TTY the tree is redrawn in place about once a second (the run: cycle, phase, task counts, commits, cost;
 * under it every running planner, sub-planner and worker: role, id, state, step, last tool, elapsed, cost, title),
 * with event lines scrolling above it. On a non-TTY, one line per event, for logs and scripts:
 *
 *   12:01:03 cycle 1 started
 *   12:01:05 worker c1/planner/t3 started: Add mean() in lib/mean.js
 *   12:01:09 worker c1/planner/t3 resolving conflicts
 *   12:01:12 worker c1/planner/t3 merged: at 1a2b3c4
 *   12:01:20 cycle 1: verifying
 *   12:01:25 cycle 1 verdict: continue; tests passed — <the judge's reasons>
 *
 * then a blank line and the summary (status, tasks, cost, tests, result branch, Web UI link).
 * Ctrl-C detaches: the run goes on; `longrun watch ID` re-attaches.
 *
 * --json: prints nothing while watching, then the `longrun report --json` document (see report.ts) once the run ends.
 *
 * Exit codes: 0 the run ended done, stopped, budget_exhausted or max_cycles (or you detached); 1 the workflow
 * failed, was terminated, cancelled or timed out; 2 no run with that id.
 */
import type { Command } from 'commander';
import { connect, type Connected } from '../lib/client';
import { asUsageError, EXIT, interruptSignal, printJson, stdoutStyle } from '../lib/command';
import { clock } from '../lib/format';
import { watchRun } from '../lib/watch';

/** Watches until the run ends or Ctrl-C; sets the exit code. Shared by `watch` and `run`. */
export async function followRun(c: Connected, runId: string, opts: { json?: boolean } = {}): Promise<void> {
  const style = stdoutStyle();
  const live = !!process.stdout.isTTY && !opts.json;
  if (!opts.json && !live) console.log(`${clock()} watching ${runId} (Ctrl-C detaches; the run goes on)`);
  const interrupt = interruptSignal();
  try {
    const end = await watchRun(c, runId, {
      out: process.stdout,
      style,
      live,
      quiet: opts.json,
      signal: interrupt.signal,
    });
    if (end.kind === 'detached') {
      const say = opts.json ? console.error : console.log;
      say(`\nDetached from ${runId}; the run goes on. Re-attach with: longrun watch ${runId}`);
      process.exitCode = EXIT.ok;
      return;
    }
    if (opts.json) printJson(end.report);
    process.exitCode = end.exitCode;
  } catch (err) {
    throw asUsageError(err, runId, c.target.namespace);
  } finally {
    interrupt.dispose();
  }
}

export function registerWatchCommand(program: Command): void {
  program
    .command('watch')
    .description(
      'Follow a run live: a tree of planners and workers on a terminal, one line per event otherwise; ends with the summary.',
    )
    .argument('<id>', 'the run id (the workflow id of the run)')
    .option('--json', 'print nothing while watching, then the report as JSON when the run ends')
    .action(async (id: string, opts: { json?: boolean }) => {
      const c = await connect();
      try {
        await followRun(c, id, opts);
      } finally {
        await c.close().catch(() => undefined);
      }
    });
}
