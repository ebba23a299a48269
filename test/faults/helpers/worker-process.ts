import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * The environment of a longrun worker child in a fault test: this process's, the simulator's keys and URLs, a state
 * dir and task queue of its own, no sandbox, warnings only, and the workflow bundle the global setup built (a restart
 * then takes seconds, not a webpack build). `bundle: false` leaves the bundle out, for another release that bundles
 * its own workflow code.
 */
export function workerEnv(o: {
  address: string;
  sim: { env: Record<string, string> };
  home: string;
  taskQueue: string;
  hostId: string;
  bundle?: boolean;
}): NodeJS.ProcessEnv {
  const { LONGRUN_WORKFLOW_BUNDLE: _inherited, ...inherited } = process.env;
  return {
    ...inherited,
    ...o.sim.env,
    TEMPORAL_ADDRESS: o.address,
    LONGRUN_HOME: o.home,
    LONGRUN_TASK_QUEUE: o.taskQueue,
    LONGRUN_HOST_ID: o.hostId,
    LONGRUN_SANDBOX: 'off',
    LONGRUN_LOG_LEVEL: 'WARN',
    ...(o.bundle === false ? {} : { LONGRUN_WORKFLOW_BUNDLE: process.env.LONGRUN_TEST_WORKFLOW_BUNDLE }),
  };
}

/**
 * `node bin/longrun.js worker` as a real child process, in its own process group, so a test can kill -9 it like a
 * crashing host and start it again. stdout/stderr of every incarnation go to one log file (the secrets scan reads it).
 */
export class WorkerProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** Every process seen in the worker's tree (workers and the commands they ran), to prove none survives. */
  readonly seen = new Map<number, string>();
  starts = 0;
  kills = 0;

  constructor(
    readonly env: NodeJS.ProcessEnv,
    readonly logFile: string,
    /** The longrun checkout to run (another release's sources, for the upgrade test); this one by default. */
    readonly root: string = ROOT,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.child) throw new Error('worker already running');
    const out = fs.openSync(this.logFile, 'a');
    fs.writeSync(out, `\n=== worker start #${++this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, [path.join(this.root, 'bin', 'longrun.js'), 'worker'], {
      cwd: this.root,
      env: this.env,
      detached: true, // own process group: kill(-pid) takes the whole worker with it
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    this.child = child;
    this.remember(child.pid!);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /**
   * kill -9 of the worker's process group, like a host losing power. Agent commands run in their own process groups
   * (so a timeout can kill them as a group); they would outlive a real crash, so they are killed here too and
   * counted in `orphans`.
   */
  async kill9(): Promise<{ orphans: number }> {
    const child = this.child;
    if (!child?.pid) return { orphans: 0 };
    const tree = descendants(child.pid);
    for (const pid of tree) this.remember(pid);
    signalGroup(child.pid, 'SIGKILL');
    await this.exited;
    let orphans = 0;
    for (const pid of tree) {
      if (alive(pid)) {
        orphans++;
        signalGroup(pid, 'SIGKILL');
        signal(pid, 'SIGKILL');
      }
    }
    this.child = null;
    this.kills++;
    return { orphans };
  }

  async restart(): Promise<void> {
    await this.kill9();
    this.start();
  }

  /** Graceful stop (SIGTERM: the SDK drains), then SIGKILL after `graceMs`; also ends anything the worker left. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (child?.pid) {
      for (const pid of descendants(child.pid)) this.remember(pid);
      signalGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
      signalGroup(child.pid, 'SIGKILL');
    }
    this.child = null;
    for (const pid of this.survivors()) signal(pid, 'SIGKILL');
  }

  /** Pids of the worker's tree still alive (should be [] after stop()); a reused pid is not ours. */
  survivors(): number[] {
    return [...this.seen].filter(([pid, started]) => alive(pid) && startTime(pid) === started).map(([pid]) => pid);
  }

  private remember(pid: number): void {
    const started = startTime(pid);
    if (started) this.seen.set(pid, started);
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped) counts as gone.
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // already gone
  }
}

/** The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat): with the pid, an identity. */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** All descendants of `root` (children, grandchildren, ...), from /proc. */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [pid, pp] of parent) {
      if (pp === p) {
        out.push(pid);
        queue.push(pid);
      }
    }
  }
  return out;
}
