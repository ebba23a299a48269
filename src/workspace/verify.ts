import { spawn } from 'node:child_process';
import { CancelledFailure } from '@temporalio/common';
import { paths } from '../config';
import type { Receipt } from '../core/types';
import { cancellationSignal, heartbeat } from './context';
import { commandEnv } from './env';
import { nonRetryable, WORKSPACE_ERRORS } from './errors';
import { resolveCommit } from './git';
import { requireHub, targetTip } from './hub';
import { checkTarget } from './guard';
import { headRef, tailText, targetBranch } from './names';
import { addWorktree, removeWorktree, withTaskLock } from './worktree';

/**
 * Verification: the project's test command on a clean, detached checkout of a commit of the
 * target (its own repository borrowing the hub's objects, like a task's: see worktree.ts), never on
 * a worker's workspace (which may hold uncommitted or unmerged work). The target is checked against
 * its guard first (guard.ts), so what is verified is a tip longrun set.
 */

export const DEFAULT_VERIFY_TIMEOUT_MS = 15 * 60_000;
const OUTPUT_TAIL = 8_000;
const KILL_GRACE_MS = 2_000;
const HEARTBEAT_MS = 5_000;

export interface VerifyInput {
  home: string;
  runId: string;
  testCommand: string;
  timeoutMs?: number;
  commit?: string;
}

export interface CommandOutcome {
  exitCode: number | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  output: string;
}

/** Signals the whole process group: the shell and everything it started. */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/**
 * Runs `sh -c command` in its own process group with an allow-listed environment; on timeout or
 * cancellation the group gets SIGTERM, then SIGKILL after a grace period. Leftover background
 * children are killed when the shell exits, so none outlives the verification.
 */
export function runCommand(
  command: string,
  cwd: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<CommandOutcome> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      cwd,
      env: commandEnv(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let timedOut = false;
    let cancelled = false;
    let exitCode: number | null = null;
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > 8 * OUTPUT_TAIL) output = output.slice(output.length - 2 * OUTPUT_TAIL);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);

    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup(child.pid, 'SIGTERM');
      killTimer ??= setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const beat = setInterval(() => heartbeat({ step: 'verify', elapsedMs: Date.now() - started }), HEARTBEAT_MS);

    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(beat);
      if (killTimer) clearTimeout(killTimer);
      signal.removeEventListener('abort', onAbort);
      let tail = tailText(output, OUTPUT_TAIL);
      if (timedOut) tail += `\n[longrun: killed after the ${timeoutMs} ms timeout]\n`;
      resolve({ exitCode, timedOut, cancelled, durationMs: Date.now() - started, output: tail });
    };
    child.on('error', (err) => {
      clearTimeout(timer);
      clearInterval(beat);
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('exit', (code) => {
      exitCode = code;
      // Background children may still hold the pipes open: kill them and stop waiting for 'close' soon.
      killGroup(child.pid, 'SIGKILL');
      setTimeout(finish, KILL_GRACE_MS).unref();
    });
    child.on('close', finish);
    if (signal.aborted) onAbort();
  });
}

export async function verifyTarget({ home, runId, testCommand, timeoutMs, commit }: VerifyInput): Promise<Receipt> {
  const hubPath = await requireHub(home, runId);
  if (!testCommand?.trim()) {
    throw nonRetryable(
      WORKSPACE_ERRORS.invalidTestCommand,
      'testCommand is empty: pass the command that runs the project\'s tests (e.g. "npm test")',
    );
  }
  const incident = await checkTarget(hubPath, headRef(targetBranch(runId)), { detectedBy: 'verify' });
  let sha: string;
  if (commit) {
    const resolved = await resolveCommit(hubPath, commit);
    if (!resolved)
      throw nonRetryable(WORKSPACE_ERRORS.invalidRevision, `commit: '${commit}' names no commit in the hub ${hubPath}`);
    sha = resolved;
  } else sha = await targetTip(home, runId);

  // One checkout per commit, named without pid or randomness: a retry after a crash (a new worker process) reuses
  // and replaces the checkout the dead attempt left behind, instead of leaking it. Same-commit runs take turns.
  const dir = paths.worktree(home, runId, `_verify-${sha.slice(0, 12)}`);
  return withTaskLock(dir, async () => {
    try {
      await addWorktree(hubPath, dir, { commit: sha });
      const outcome = await runCommand(testCommand, dir, timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS, cancellationSignal());
      if (outcome.cancelled)
        throw new CancelledFailure(`verification of ${sha} was cancelled; its processes were killed`);
      return {
        commit: sha,
        command: testCommand,
        exitCode: outcome.exitCode,
        passed: outcome.exitCode === 0 && !outcome.timedOut,
        timedOut: outcome.timedOut,
        durationMs: outcome.durationMs,
        outputTail: outcome.output,
        ...(incident ? { incidents: [incident] } : {}),
      };
    } finally {
      await removeWorktree(hubPath, dir);
    }
  });
}
