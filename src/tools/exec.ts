import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { DEFAULT_HEAD_BYTES, DEFAULT_TAIL_BYTES, HeadTailBuffer } from './output';
import {
  bwrapArgs,
  chooseSandbox,
  commandEnv,
  credentialPaths,
  defaultPrivateBase,
  findOnPath,
  privateDirs,
  SECRET_NAME,
  type SandboxSettings,
} from './sandbox';

/**
 * The one runner for agent-written code: agent commands (run_command) and the test command (verification). Runs
 * `bash -c` (no login shell, no rc files; `sh -c` where bash is missing) in `cwd`, stdin from
 * /dev/null, stdout+stderr merged and capped to head + tail, in its own process group. On timeout or
 * abort the whole group gets SIGTERM, then SIGKILL after a grace period. When the shell exits, any
 * background process it left in its group is killed too, so no agent process outlives its command.
 * The exit code is returned, never thrown. Environment and sandbox: see sandbox.ts.
 */

export interface ExecOptions {
  cwd: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Environment the allow-list is taken from; default process.env. */
  sourceEnv?: NodeJS.ProcessEnv;
  /** Default: no sandbox, no extra names. */
  sandbox?: SandboxSettings;
  /** Extra directories writable inside the sandbox (the worktree's git dir). */
  writable?: string[];
  /** Extra directories visible read-only inside the sandbox, also under /tmp (a checkout's git dir). */
  readOnly?: string[];
  /** Paths inside the writable ones that stay read-only (a git directory's config and hooks). */
  protect?: string[];
  /** Where the private HOME and TMPDIR live; default a per-cwd directory under the OS temp dir. */
  privateBase?: string;
  headBytes?: number;
  tailBytes?: number;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  /** The worker's home, whose credential stores the sandbox hides; default os.homedir(). */
  workerHome?: string;
  /** Keep the network inside the sandbox (a setup step that installs dependencies); default: none. */
  network?: boolean;
  /** Variables set on top of the allow-list (a prepared environment's GOMODCACHE...); secret-like names are dropped. */
  extraEnv?: Record<string, string>;
}

export interface ExecResult {
  /** null when killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** True when opts.signal aborted the command. */
  aborted: boolean;
  /** stdout and stderr interleaved, capped with "[... N bytes cut ...]". */
  output: string;
  outputBytes: number;
  durationMs: number;
  sandboxed: boolean;
}

const DEFAULT_KILL_GRACE_MS = 2_000;
/** After the shell exits, how long background children may keep the pipes open before we kill them. */
const DRAIN_MS = 250;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

export async function execCommand(command: string, opts: ExecOptions): Promise<ExecResult> {
  const started = Date.now();
  const source = opts.sourceEnv ?? process.env;
  const settings = opts.sandbox ?? { mode: 'off', extraEnvAllow: [] };
  const dirs = privateDirs(opts.privateBase ?? defaultPrivateBase(opts.cwd));
  const env = commandEnv(source, settings.extraEnvAllow, dirs);
  for (const [name, value] of Object.entries(opts.extraEnv ?? {})) if (!SECRET_NAME.test(name)) env[name] = value;
  const shell = findOnPath('bash', env.PATH) ?? '/bin/sh';
  const choice = await chooseSandbox(settings, env.PATH);

  let file = shell;
  let args = ['-c', command];
  if (choice.kind === 'bwrap') {
    const writable = [...new Set([opts.cwd, ...(opts.writable ?? []), dirs.home, dirs.tmp])];
    file = choice.bwrapPath;
    const hide = credentialPaths(opts.workerHome ?? os.homedir(), opts.cwd);
    const policy = {
      cwd: opts.cwd,
      writable,
      readOnly: opts.readOnly,
      protect: opts.protect,
      hide,
      network: opts.network,
    };
    args = [...bwrapArgs(policy), '--', shell, '-c', command];
  }

  const output = new HeadTailBuffer(opts.headBytes ?? DEFAULT_HEAD_BYTES, opts.tailBytes ?? DEFAULT_TAIL_BYTES);
  if (opts.signal?.aborted) {
    return {
      exitCode: null,
      signal: null,
      timedOut: false,
      aborted: true,
      output: '',
      outputBytes: 0,
      durationMs: 0,
      sandboxed: false,
    };
  }

  return new Promise<ExecResult>((resolve) => {
    const child = spawn(file, args, { cwd: opts.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    let aborted = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const terminate = () => {
      if (child.pid === undefined || killTimer) return;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(
        () => killGroup(child.pid as number, 'SIGKILL'),
        opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
      );
    };
    const timeout = setTimeout(() => {
      timedOut = true;
      terminate();
    }, opts.timeoutMs);
    const onAbort = () => {
      aborted = true;
      terminate();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      clearTimeout(drainTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      // Whatever is left of the group (background jobs) dies with the command.
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      clearTimeout(killTimer);
      if (spawnError) output.push(Buffer.from(`failed to start ${file}: ${spawnError.message}\n`));
      resolve({
        exitCode: exit?.code ?? (spawnError ? 127 : null),
        signal: exit?.signal ?? null,
        timedOut,
        aborted,
        output: output.toString(),
        outputBytes: output.total,
        durationMs: Date.now() - started,
        sandboxed: choice.kind === 'bwrap',
      });
    };

    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.on('error', (err) => {
      spawnError = err;
      finish();
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // A background child may hold the pipes open forever; give it a moment to flush, then end it.
      drainTimer = setTimeout(() => {
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, DRAIN_MS);
    });
    child.on('close', finish);
  });
}

/** One line for humans and the model: "exit 0", "exit 2", "killed by SIGKILL", "timed out after 30s". */
export function describeExit(result: ExecResult, timeoutMs: number): string {
  if (result.timedOut) return `timed out after ${Math.round(timeoutMs / 1000)}s (process group killed)`;
  if (result.aborted) return 'cancelled (process group killed)';
  if (result.exitCode !== null) return `exit ${result.exitCode}`;
  return `killed by ${result.signal ?? 'unknown signal'}`;
}
