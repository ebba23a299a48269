import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as readline from 'node:readline';

/**
 * Runs short commands (git) through a small helper process instead of spawning them from the
 * worker. On Linux, Node forks its whole process to spawn a child, and that costs time in
 * proportion to its memory: measured here, `git --version` takes ~4 ms from a 50 MB process and
 * ~34 ms from a 400 MB one (a Temporal worker with its workflow bundles, or jest/ts-node). An
 * integration runs ~9 git commands, so the fork cost, not git, bounded merges/s. The helper is a
 * bare `node -e` process (~40 MB) speaking newline-delimited JSON over its stdin/stdout; it dies
 * with its parent (stdin closes), and is restarted on the next call if it died.
 */

export interface SpawnRequest {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs: number;
  maxBuffer: number;
}

export interface SpawnResult {
  stdout: string;
  stderr: string;
  /** Exit code; -1 when the command could not run or was killed (the reason is in stderr). */
  exitCode: number;
}

const HELPER = `
const { execFile } = require('child_process');
const rl = require('readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line);
  const child = execFile(req.file, req.args, { cwd: req.cwd, env: req.env, timeout: req.timeoutMs, maxBuffer: req.maxBuffer, encoding: 'utf8' },
    (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      const reply = { id: req.id, exitCode: code, stdout, stderr: stderr || (code === -1 && err ? String(err.message) : '') };
      process.stdout.write(JSON.stringify(reply) + '\\n');
    });
  child.stdin.on('error', () => {});
  if (typeof req.input === 'string') child.stdin.end(req.input); else child.stdin.end();
});
rl.on('close', () => process.exit(0));
`;

interface Waiter {
  resolve: (r: SpawnResult) => void;
  reject: (e: Error) => void;
}

class Spawner {
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  run(req: SpawnRequest): Promise<SpawnResult> {
    const child = this.ensure();
    const id = this.nextId++;
    return new Promise<SpawnResult>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (this.waiting.size === 1) this.ref(true);
      child.stdin.write(`${JSON.stringify({ id, ...req })}\n`);
    });
  }

  private ensure(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    // No NODE_OPTIONS: loaders such as ts-node's must not make the helper heavy again.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, ['--max-old-space-size=256', '-e', HELPER], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const reply = JSON.parse(line) as SpawnResult & { id: number };
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (!this.waiting.size) this.ref(false);
      waiter?.resolve({ stdout: reply.stdout, stderr: reply.stderr, exitCode: reply.exitCode });
    });
    let errText = '';
    child.stderr.on('data', (d: Buffer) => (errText = (errText + d.toString()).slice(-2000)));
    child.stdin.on('error', () => undefined); // reported through 'exit'
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      const err = new Error(`the git helper process exited (${signal ?? code}) ${errText.trim()}`.trim());
      for (const waiter of this.waiting.values()) waiter.reject(err);
      this.waiting.clear();
    });
    this.ref(false);
    return child;
  }

  /** Keeps the event loop alive only while commands are in flight: an idle helper never holds a process open. */
  private ref(on: boolean): void {
    const child = this.child;
    if (!child) return;
    const handles = [child, child.stdin, child.stdout, child.stderr] as Array<{ ref(): void; unref(): void }>;
    for (const h of handles)
      if (on) h.ref();
      else h.unref();
  }
}

let shared: Spawner | null = null;

/** The helper's pid (benches read its children's CPU time from /proc), null before the first command. */
export function helperPid(): number | null {
  return shared?.pid ?? null;
}

/** Runs a command through the shared helper process. */
export function spawnViaHelper(req: SpawnRequest): Promise<SpawnResult> {
  shared ??= new Spawner();
  return shared.run(req);
}
