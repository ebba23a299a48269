/**
 * The watch loop shared by `watch`, `run` and `demo`: a snapshot about once a second; on a TTY the tree is
 * redrawn in place with event lines scrolling above it, elsewhere one line per event. Ends with the run's summary
 * when the run closes, or when `signal` aborts (Ctrl-C: detach, the run goes on).
 */
import type { Connected } from './client';
import { uiLink } from './client';
import { clock, visibleLength, type Style } from './format';
import { buildReport, summaryLines, type RunReport } from './report';
import { childOutcome, RunNotFound, startArguments, takeSnapshot, type RunSnapshot } from './snapshot';
import { diffSnapshots, eventLine, newEventMemory, treeLines } from './tree';

export interface WatchOptions {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  style: Style;
  /** Redraw the tree in place (a TTY); otherwise print event lines only. */
  live: boolean;
  /** Print nothing (the caller reports the outcome, e.g. `demo --json`). */
  quiet?: boolean;
  intervalMs?: number;
  signal?: AbortSignal;
}

export type WatchEnd =
  | { kind: 'finished'; snapshot: RunSnapshot; report: RunReport; exitCode: 0 | 1 }
  | { kind: 'detached'; snapshot: RunSnapshot | null };

/**
 * Exit codes of a watched run: 0 when the run completed with any outcome it chose (done, stopped,
 * budget_exhausted, max_cycles); 1 when the workflow failed, was terminated, cancelled or timed out.
 */
export function exitCodeOf(snap: RunSnapshot): 0 | 1 {
  return snap.result && snap.result.status !== 'failed' ? 0 : 1;
}

export async function watchRun(c: Connected, runId: string, opts: WatchOptions): Promise<WatchEnd> {
  const interval = opts.intervalMs ?? 1_000;
  const write = (lines: string[]) => {
    if (!opts.quiet && lines.length) opts.out.write(lines.join('\n') + '\n');
  };
  const memory = newEventMemory();
  let prev: RunSnapshot | null = null;
  let last: RunSnapshot | null = null;
  let drawn = 0;
  let troubled = false;
  let saidWaiting = false;
  const aborted = new Promise<'aborted'>((resolve) => {
    if (opts.signal?.aborted) resolve('aborted');
    opts.signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  const clearTree = () => {
    if (opts.live && drawn && !opts.quiet) opts.out.write(`\x1b[${drawn}F\x1b[J`);
    drawn = 0;
  };

  for (;;) {
    const got = await Promise.race([takeSnapshot(c, runId, { agents: true }).catch((err: Error) => err), aborted]);
    if (got === 'aborted') return { kind: 'detached', snapshot: last };
    if (got instanceof RunNotFound) throw got;
    if (got instanceof Error) {
      if (!troubled) {
        clearTree();
        write([opts.style.yellow(`lost contact with Temporal (${got.message.split('\n')[0]}); retrying`)]);
      }
      troubled = true;
    } else {
      troubled = false;
      const snap = got;
      last = snap;
      const events = diffSnapshots(prev, snap, memory);
      const lines = await Promise.all(
        events.map(async (e) =>
          eventLine(e, opts.style, snap.at, e.kind === 'finished' ? await childOutcome(c, e.row.id) : undefined),
        ),
      );
      clearTree();
      write(lines.filter((l): l is string => l !== null));
      if (snap.view || snap.result || snap.failure) prev = snap;
      if (snap.result || snap.failure) {
        const report = buildReport(snap, await startArguments(c, runId), uiLink(c.target, runId));
        write(['', ...summaryLines(report, opts.style)]);
        return { kind: 'finished', snapshot: snap, report, exitCode: exitCodeOf(snap) };
      }
      if (!snap.view && !opts.live && !saidWaiting) {
        write([
          `${opts.style.dim(clock(snap.at))} waiting for a worker to pick up the run (task queue ${snap.taskQueue})…`,
        ]);
        saidWaiting = true;
      }
      if (opts.live && !opts.quiet) {
        const lines = [
          ...treeLines(snap, opts.style),
          opts.style.dim(`Ctrl-C detaches (the run goes on) · ${uiLink(c.target, runId)}`),
        ];
        const tree = fitToScreen(lines, opts.out.columns || 120, Math.max(5, (opts.out.rows || 40) - 4));
        write(tree);
        drawn = tree.length;
      }
    }
    const next = await Promise.race([new Promise<'tick'>((r) => setTimeout(() => r('tick'), interval)), aborted]);
    if (next === 'aborted') return { kind: 'detached', snapshot: last };
  }
}

/** Lines wider than the terminal would wrap and break the in-place redraw: cut them (dropping colour when cut). */
function fitToScreen(lines: string[], columns: number, rows: number): string[] {
  const width = Math.max(20, columns - 1);
  const fitted = lines.map((l) => {
    if (visibleLength(l) <= width) return l;
    const plain = l.replace(/\x1b\[[0-9;]*m/g, '');
    return `${plain.slice(0, width - 1)}…`;
  });
  if (fitted.length <= rows) return fitted;
  return [...fitted.slice(0, rows - 1), `… and ${fitted.length - rows + 1} more agent(s)`];
}
