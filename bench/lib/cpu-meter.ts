/**
 * The benches' CPU meter: CPU time of every process longrun's parts start, from /proc (Linux), per component.
 *
 * A component is a root process (the dev server, the worker, the bench process with the simulator) and every
 * process below it, down to the nearest other root: the worker's git helper and the git commands the helper runs
 * belong to the worker, the dev server (a child of the bench process) to the server.
 *
 * Processes that exit between two samples are counted through their parent: when a process reaps a child, the
 * kernel adds the child's whole CPU time (its own and its reaped children's) to the parent's cutime/cstime. So the
 * cumulative CPU of a tree at any instant is Σ over its live processes of utime + stime + cutime + cstime, and two
 * samples (start and end of a window) give exactly what the tree used in between, however short-lived its git
 * commands were. Sampling often instead would miss every process that starts and ends between two samples (a git
 * command lives a few ms). This needs every exited process to be reaped by its parent, which holds for all of
 * longrun's children (Node, the git helper's execFile and git itself wait for theirs); an orphan re-parented to init
 * would drop out. A child reaped while a sample reads the table can be missed or counted twice: a few ms at most.
 */
import * as fs from 'node:fs';

/** Clock ticks per second of /proc's times: sysconf(_SC_CLK_TCK), 100 on every Linux platform Node supports. */
export const USER_HZ = 100;

/** The fields of /proc/<pid>/stat the meter uses; times in clock ticks. */
export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  utime: number;
  stime: number;
  /** CPU of children this process has waited for (and of theirs). */
  cutime: number;
  cstime: number;
}

/** Parses one /proc/<pid>/stat line (proc(5)); comm may hold spaces and parentheses, so fields count from the last ')'. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const fields =
    close > open && open > 0
      ? text
          .slice(close + 2)
          .trim()
          .split(/\s+/)
      : [];
  if (fields.length < 15) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  // fields[0] is field 3 (state) of proc(5): ppid is field 4, utime stime cutime cstime are fields 14–17.
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return {
    pid: Number(text.slice(0, open)),
    comm: text.slice(open + 1, close),
    ppid: Number(fields[1]),
    utime,
    stime,
    cutime,
    cstime,
  };
}

/** Busy and total clock ticks of the whole machine from /proc/stat's aggregate "cpu" line (guest time is in user). */
export function parseMachineStat(text: string): { busy: number; total: number } {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no aggregate "cpu" line in /proc/stat');
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + (steal || 0);
  return { busy, total: busy + idle + iowait };
}

/** Ticks of a component: its root's own, and those of its child processes (live ones and the reaped ones' totals). */
export interface ComponentTicks {
  own: number;
  children: number;
}

/**
 * Splits a process table into components: each process goes to its nearest ancestor-or-self among `roots`;
 * processes under no root are left out. A root that is not in the table (it exited) is reported in `missing`.
 */
export function componentTicks(
  procs: ProcStat[],
  roots: Record<string, number>,
): { components: Record<string, ComponentTicks>; missing: string[] } {
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const rootName = new Map(Object.entries(roots).map(([name, pid]) => [pid, name]));
  const components: Record<string, ComponentTicks> = Object.fromEntries(
    Object.keys(roots).map((name) => [name, { own: 0, children: 0 }]),
  );
  for (const p of procs) {
    let at: ProcStat | undefined = p;
    const seen = new Set<number>();
    while (at && !rootName.has(at.pid) && !seen.has(at.pid)) {
      seen.add(at.pid);
      at = byPid.get(at.ppid);
    }
    if (!at || !rootName.has(at.pid)) continue;
    const c = components[rootName.get(at.pid)!];
    if (at === p) {
      c.own += p.utime + p.stime;
      c.children += p.cutime + p.cstime;
    } else c.children += p.utime + p.stime + p.cutime + p.cstime;
  }
  return {
    components,
    missing: Object.entries(roots)
      .filter(([, pid]) => !byPid.has(pid))
      .map(([name]) => name),
  };
}

/** Every process's stat line from /proc; processes that end while it reads are skipped. */
export function readProcTable(proc = '/proc'): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of fs.readdirSync(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      out.push(parseProcStat(fs.readFileSync(`${proc}/${entry}/stat`, 'utf8')));
    } catch {
      // gone between readdir and read: a reaped process, its time is in its parent's cutime now
    }
  }
  return out;
}

export interface CpuSample {
  /** ms, Date.now() */
  at: number;
  components: Record<string, ComponentTicks>;
  missing: string[];
  machine: { busy: number; total: number };
}

export function takeSample(roots: Record<string, number>): CpuSample {
  const machine = parseMachineStat(fs.readFileSync('/proc/stat', 'utf8'));
  return { at: Date.now(), ...componentTicks(readProcTable(), roots), machine };
}

export interface CpuReading {
  elapsedS: number;
  /** CPU seconds of each component (its root and every process below it, exited ones included), and `total`. */
  seconds: Record<string, number>;
  /** Of each component's seconds, those of its child processes (the worker's git helper and its git commands, ...). */
  childSeconds: Record<string, number>;
  /** Cores busy on average (seconds ÷ elapsed), per component and total. */
  cores: Record<string, number>;
  /**
   * Busy CPU seconds of the whole machine in the same window (/proc/stat): the components, the kernel's own work
   * (I/O, loopback networking in softirq) and anything else running; on a quiet machine an upper bound of `total`.
   */
  machineSeconds: number;
  /** Roots that had exited by the end of the window: their figures are incomplete. */
  missing: string[];
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** What each component used between two samples. */
export function cpuBetween(a: CpuSample, b: CpuSample): CpuReading {
  const elapsedS = Math.max(1e-3, (b.at - a.at) / 1000);
  const seconds: Record<string, number> = {};
  const childSeconds: Record<string, number> = {};
  let total = 0;
  for (const [name, end] of Object.entries(b.components)) {
    const start = a.components[name] ?? { own: 0, children: 0 };
    const all = (end.own + end.children - start.own - start.children) / USER_HZ;
    seconds[name] = r2(all);
    childSeconds[name] = r2((end.children - start.children) / USER_HZ);
    total += all;
  }
  seconds.total = r2(total);
  return {
    elapsedS: r2(elapsedS),
    seconds,
    childSeconds,
    cores: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, r2(v / elapsedS)])),
    machineSeconds: r2((b.machine.busy - a.machine.busy) / USER_HZ),
    missing: [...new Set([...a.missing, ...b.missing])],
  };
}

/** Starts a window now; the returned function ends it and returns what each component used. */
export function cpuMeter(roots: Record<string, number>): () => CpuReading {
  const start = takeSample(roots);
  return () => cpuBetween(start, takeSample(roots));
}

/** CPU ms per model turn, once per worker turn and once per model turn of every role (planner, judge, ...). */
export interface CpuPerTurn {
  workerTurns: number;
  modelTurns: number;
  /** Component (and `total`, `machine`) → ms ÷ worker model turns: what one worker step costs, its share of planning and judging included. */
  perWorkerTurnMs: Record<string, number>;
  /** Component → ms ÷ all model turns (planners', workers', judge's). */
  perModelTurnMs: Record<string, number>;
}

export function cpuPerTurn(reading: CpuReading, turns: { worker: number; all: number }): CpuPerTurn {
  const all = { ...reading.seconds, machine: reading.machineSeconds };
  const per = (n: number) =>
    Object.fromEntries(Object.entries(all).map(([k, v]) => [k, Math.round((v * 10_000) / n) / 10]));
  return {
    workerTurns: turns.worker,
    modelTurns: turns.all,
    perWorkerTurnMs: per(Math.max(1, turns.worker)),
    perModelTurnMs: per(Math.max(1, turns.all)),
  };
}

/** CPU ms a process tree (the root and everything below it) has used so far; 0 if the root is gone. */
export function treeCpuMs(root: number): number {
  const c = componentTicks(readProcTable(), { tree: root }).components.tree;
  return ((c.own + c.children) * 1000) / USER_HZ;
}
