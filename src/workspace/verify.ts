import * as path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { paths } from '../config';
import type { Receipt } from '../core/types';
import type { Redact } from '../core/redact';
import { execCommand } from '../tools/exec';
import { gitDirs } from '../tools/git';
import { sandboxSettingsFromEnv, type SandboxSettings, SandboxUnavailableError } from '../tools/sandbox';
import { heartbeating } from '../activities/heartbeat';
import { nonRetryable, WORKSPACE_ERRORS } from './errors';
import { resolveCommit } from './git';
import { readTarget, requireHub } from './hub';
import { checkTarget } from './guard';
import { materializeEnvironment, readCheckoutEnvironment, SetupFailedError } from './environment';
import { headRef, tailText, targetBranch } from './names';
import { addWorktree, removeWorktree, withTaskLock } from './worktree';

/**
 * Verification: the project's test command on a clean, detached checkout of a commit of the
 * target (its own repository borrowing the hub's objects, like a task's: see worktree.ts), never on
 * a worker's workspace (which may hold uncommitted or unmerged work). The target is checked against
 * its guard first (guard.ts), so what is verified is a tip longrun set.
 * The command runs in the agents' sandbox: it is code the agents wrote.
 */

export const DEFAULT_VERIFY_TIMEOUT_MS = 15 * 60_000;
const OUTPUT_TAIL = 8_000;
const KILL_GRACE_MS = 2_000;

export interface VerifyInput extends RunnerOptions {
  home: string;
  hubUrl?: string;
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

export interface RunnerOptions {
  /** Sandbox settings (LONGRUN_SANDBOX); default: read from `env`. */
  sandbox?: SandboxSettings;
  /** The worker's environment, which the command's allow-list is taken from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Applied to a setup log written for a new environment key. */
  redact?: Redact;
}

/**
 * Runs the test command through the runner of agent commands (src/tools/exec.ts): the same sandbox (no network, own
 * PID namespace, read-only root with the credential stores hidden, only the checkout and a private HOME/TMPDIR
 * writable), the same allow-listed environment, its own process group killed on timeout or cancellation. The test
 * command is code the agents wrote, so it gets nothing more than their commands do. Heartbeats while it runs.
 */
export async function runCommand(
  command: string,
  cwd: string,
  timeoutMs: number,
  opts: RunnerOptions = {},
): Promise<CommandOutcome> {
  const started = Date.now();
  return heartbeating(
    (signal) => runInSandbox(command, cwd, timeoutMs, signal, opts),
    () => ({ step: 'verify', elapsedMs: Date.now() - started }),
  );
}

async function runInSandbox(
  command: string,
  cwd: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  opts: RunnerOptions,
): Promise<CommandOutcome> {
  const env = opts.env ?? process.env;
  let sandbox: SandboxSettings;
  try {
    sandbox = opts.sandbox ?? sandboxSettingsFromEnv(env);
  } catch (err) {
    throw nonRetryable(WORKSPACE_ERRORS.sandboxUnavailable, (err as Error).message);
  }
  const dirs = await gitDirs(cwd);
  const prepared = dirs ? await readCheckoutEnvironment(dirs.gitDir) : null;
  const result = await execCommand(command, {
    cwd,
    timeoutMs,
    signal,
    sourceEnv: env,
    sandbox,
    // git works in the checkout, but only the checkout is writable.
    readOnly: dirs
      ? [...new Set([dirs.gitDir, dirs.commonDir, ...dirs.borrowed, ...(prepared ? [prepared.dir] : [])])]
      : [],
    extraEnv: prepared?.env,
    // The private HOME and TMPDIR go away with the checkout's git directory.
    privateBase: dirs ? path.join(dirs.gitDir, 'longrun-sandbox') : undefined,
    headBytes: 0,
    tailBytes: 4 * OUTPUT_TAIL,
    killGraceMs: KILL_GRACE_MS,
  }).catch((err: unknown) => {
    if (err instanceof SandboxUnavailableError) throw nonRetryable(WORKSPACE_ERRORS.sandboxUnavailable, err.message);
    throw err;
  });
  let tail = tailText(result.output, OUTPUT_TAIL);
  if (result.timedOut) tail += `\n[longrun: killed after the ${timeoutMs} ms timeout]\n`;
  return {
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    cancelled: result.aborted,
    durationMs: result.durationMs,
    output: tail,
  };
}

export async function verifyTarget({
  home,
  hubUrl,
  runId,
  testCommand,
  timeoutMs,
  commit,
  ...runner
}: VerifyInput): Promise<Receipt> {
  const hubPath = await requireHub(home, runId, hubUrl);
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
  } else sha = await readTarget(hubPath, runId);

  // One checkout per commit, named without pid or randomness: a retry after a crash (a new worker process) reuses
  // and replaces the checkout the dead attempt left behind, instead of leaking it. Same-commit runs take turns.
  const dir = paths.worktree(home, runId, `_verify-${sha.slice(0, 12)}`);
  return withTaskLock(dir, async () => {
    try {
      await addWorktree(hubPath, dir, { commit: sha });
      // The run's dependencies, as the agents' workspaces have them (set up here for a key new to this host).
      const setup = await materializeEnvironment({ home, runId, hubPath, checkout: dir, ...runner }).then(
        () => null,
        (err: unknown) => {
          if (err instanceof SetupFailedError) return err.message;
          throw err;
        },
      );
      if (setup !== null) {
        // The commit's dependencies do not install: it cannot pass, and the receipt says why.
        return {
          commit: sha,
          command: testCommand,
          exitCode: null,
          passed: false,
          timedOut: false,
          durationMs: 0,
          outputTail: setup,
        };
      }
      const timeout = timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
      const outcome = await runCommand(testCommand, dir, timeout, runner);
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
