/**
 * The outside meter: a cross-check of a bench's CPU figures, taken outside the bench process.
 *
 *   BENCH_OUTSIDE_METER=1 BENCH_AGENTS=1 npm run bench -- overhead
 *
 * `npm run bench` (bench/run.ts) is the parent of every bench process. With BENCH_OUTSIDE_METER=1 it opens an IPC
 * channel to the bench; the bench announces the start and end of every measured window (`announceWindow`) and waits
 * for the answer, and run.ts, in its own process, samples the whole process tree below the bench process (found by
 * scanning /proc for parent links, knowing nothing of the bench's components) and the whole machine's busy time
 * (/proc/stat). The bench's own reading goes along with the end mark; run.ts writes both to
 * bench/results/outside-meter.json, and docs/BENCHMARKS.md shows them side by side.
 */
import * as fs from 'node:fs';
import { parseMachineStat, readProcTable, USER_HZ, type CpuPerTurn, type CpuReading } from './cpu-meter';
import type { Target } from './report';

export interface WindowMark {
  type: 'cpu-window';
  label: string;
  phase: 'start' | 'end';
  /** The bench's own figures for the window (end mark only). */
  inside?: CpuReading & CpuPerTurn;
}

export interface OutsideWindow {
  bench: string;
  label: string;
  inside: CpuReading & CpuPerTurn;
  outside: { elapsedS: number; treeSeconds: number; machineSeconds: number };
}

const enabled = () => process.env.BENCH_OUTSIDE_METER === '1' && typeof process.send === 'function';

// The IPC channel must not keep a finished bench alive: it is referenced only while a mark awaits its answer.
if (enabled()) process.channel?.unref();

/** Bench side: tells the outside meter (if any) that a window starts or ends, and waits until it has sampled. */
export function announceWindow(mark: Omit<WindowMark, 'type'>): Promise<void> {
  if (!enabled()) return Promise.resolve();
  return new Promise((resolve) => {
    const onMessage = (msg: unknown) => {
      if ((msg as { type?: string })?.type !== 'cpu-window-ack') return;
      process.off('message', onMessage);
      process.channel?.unref();
      resolve();
    };
    process.channel?.ref();
    process.on('message', onMessage);
    process.send!({ type: 'cpu-window', ...mark } satisfies WindowMark);
  });
}

/** CPU ticks of `root` and every process below it (their own and their reaped children's), from a full /proc scan. */
export function treeTicks(root: number): number {
  const procs = readProcTable();
  const children = new Map<number, typeof procs>();
  for (const p of procs) {
    const siblings = children.get(p.ppid);
    if (siblings) siblings.push(p);
    else children.set(p.ppid, [p]);
  }
  let ticks = 0;
  const queue = procs.filter((p) => p.pid === root);
  while (queue.length) {
    const p = queue.pop()!;
    ticks += p.utime + p.stime + p.cutime + p.cstime;
    queue.push(...(children.get(p.pid) ?? []));
  }
  return ticks;
}

/** Outside side: answers `child`'s window marks and collects the windows; call before the child can send. */
export function meterFromOutside(
  bench: string,
  child: { pid?: number; on(e: 'message', f: (m: unknown) => void): void; send?(m: unknown): boolean },
  into: OutsideWindow[],
): void {
  const open = new Map<string, { at: number; tree: number; machine: number }>();
  const sample = () => ({
    at: Date.now(),
    tree: treeTicks(child.pid!),
    machine: parseMachineStat(fs.readFileSync('/proc/stat', 'utf8')).busy,
  });
  child.on('message', (raw) => {
    const msg = raw as WindowMark;
    if (msg?.type !== 'cpu-window') return;
    const now = sample();
    if (msg.phase === 'start') open.set(msg.label, now);
    else {
      const start = open.get(msg.label);
      if (start && msg.inside)
        into.push({
          bench,
          label: msg.label,
          inside: msg.inside,
          outside: {
            elapsedS: (now.at - start.at) / 1000,
            treeSeconds: (now.tree - start.tree) / USER_HZ,
            machineSeconds: (now.machine - start.machine) / USER_HZ,
          },
        });
    }
    child.send?.({ type: 'cpu-window-ack' });
  });
}

/** Target of a window: the bench's total CPU within 10 % of what the outside meter saw of the bench's process tree. */
export function outsideTarget(w: OutsideWindow): Target {
  const diff = (w.inside.seconds.total - w.outside.treeSeconds) / (w.outside.treeSeconds || 1);
  return {
    name: `CPU total of ${w.bench} (${w.label}) against the outside meter`,
    target: 'within 10 %',
    value: `${diff >= 0 ? '+' : ''}${Math.round(diff * 1000) / 10} %`,
    met: Math.abs(diff) <= 0.1,
  };
}
