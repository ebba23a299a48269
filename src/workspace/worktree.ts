import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { paths } from '../config';
import type { WorkspaceInfo } from '../core/types';
import { nonRetryable, WORKSPACE_ERRORS } from './errors';
import { git, GitError, gitOut, resolveCommit } from './git';
import { hubExists, requireHub, targetTip } from './hub';
import { KeyedMutex } from './mutex';
import { headRef, targetBranch, taskBranch } from './names';

/**
 * Per-task workspaces: `git worktree add` from the hub. A worktree's commits land directly in the
 * hub's object store and its branch is a hub ref, so a checkpoint is "in the hub" the moment it is
 * committed. Multi-host with a remote hub: the workspace would be a `git clone --shared` (or a plain
 * clone) of the hub, and checkpointWorkspace would `git push --force <hub> HEAD:refs/heads/task/<id>`;
 * openWorkspace already resumes from a task branch found in the hub.
 */

/** Same-task calls (an activity retried while its first attempt still runs) must not interleave. */
const taskLocks = new KeyedMutex();
/**
 * `git worktree add/remove/prune` read every worktree's admin dir: run concurrently on one hub they
 * trip over each other's half-created entries, so they are serialized per hub (checkouts take
 * tens of ms; other processes are covered by the retry on transient errors in git.ts).
 */
const hubWorktreeLocks = new KeyedMutex();

/** Runs a worktree add/remove/prune on the hub, one at a time per hub in this process. */
export function worktreeAdmin<T>(hubPath: string, work: () => Promise<T>): Promise<T> {
  return hubWorktreeLocks.run(hubPath, work);
}

export interface WorktreeState {
  /** The worktree's admin dir inside the hub (hub/worktrees/<name>). */
  gitdir: string;
  /** `refs/heads/...` when on a branch, null when detached. */
  ref: string | null;
  mergeInProgress: boolean;
}

/** Reads a worktree's state from files only (no git process): it sits on the hot integration path. */
export async function readWorktree(hubPath: string, wt: string): Promise<WorktreeState | null> {
  try {
    const dotGit = await fs.readFile(path.join(wt, '.git'), 'utf8');
    const gitdir = path.resolve(wt, dotGit.replace(/^gitdir:\s*/, '').trim());
    if (path.dirname(path.dirname(gitdir)) !== path.resolve(hubPath)) return null; // not one of this hub's
    await fs.access(path.join(gitdir, READY)); // a crash mid-checkout leaves no marker: not a valid worktree
    const head = (await fs.readFile(path.join(gitdir, 'HEAD'), 'utf8')).trim();
    const mergeInProgress = await fs.access(path.join(gitdir, 'MERGE_HEAD')).then(
      () => true,
      () => false,
    );
    return { gitdir, ref: head.startsWith('ref: ') ? head.slice(5) : null, mergeInProgress };
  } catch {
    return null;
  }
}

/** Written into a worktree's admin dir once its files are checked out. */
const READY = 'LONGRUN_READY';

/**
 * `git worktree add --no-checkout` under the hub lock (milliseconds), then the checkout itself
 * outside it: writing ~1,000 files is the slow part (about 1 s on a slow disk) and runs in
 * parallel across worktrees since it touches only this worktree's index and files. Whatever is
 * at `wt` (partial after a crash, or of the wrong kind) is removed first.
 */
export async function addWorktree(hubPath: string, wt: string, addArgs: string[]): Promise<void> {
  if (await pathExists(wt)) await removeWorktree(hubPath, wt);
  await fs.mkdir(path.dirname(wt), { recursive: true });
  const add = () =>
    worktreeAdmin(hubPath, () => git(hubPath, ['worktree', 'add', '--quiet', '--no-checkout', ...addArgs]));
  try {
    await add();
  } catch (err) {
    // A worktree whose directory vanished (host crash, manual rm) is still registered: prune, then once more.
    if (!(
      err instanceof GitError &&
      /registered|already checked out|already used by worktree|missing but locked/.test(err.stderr)
    ))
      throw err;
    await pruneWorktrees(hubPath, { clearStaleAddLocks: true });
    await add();
  }
  await git(wt, ['reset', '--hard', '--quiet']);
  const gitdir = (await fs.readFile(path.join(wt, '.git'), 'utf8')).replace(/^gitdir:\s*/, '').trim();
  await fs.writeFile(path.join(path.resolve(wt, gitdir), READY), '');
}

async function pathExists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/**
 * Drops the registrations of worktrees whose directory is gone. Stale "initializing" locks (which make prune keep a
 * registration) are only looked for when an add just failed on one: scanning every registration on each close is
 * O(worktrees) per task.
 */
async function pruneWorktrees(hubPath: string, opts: { clearStaleAddLocks?: boolean } = {}): Promise<void> {
  if (!(await hubExists(hubPath))) return;
  await worktreeAdmin(hubPath, async () => {
    if (opts.clearStaleAddLocks) await clearStaleAddLocks(hubPath);
    await git(hubPath, ['worktree', 'prune']);
  });
}

/** When this process started: a lock file older than that was left by a process that is gone. */
const PROCESS_STARTED_MS = Date.now() - process.uptime() * 1000;

/** `git worktree add` takes milliseconds with --no-checkout: an "initializing" lock this old belongs to a dead one. */
const STALE_ADD_LOCK_MS = 60_000;
/** …and one that predates this process by this much was left by a git of a process that is gone (a crashed worker). */
const STALE_ADD_LOCK_BEFORE_START_MS = 2_000;

/**
 * A `git worktree add` killed midway (a worker crash) leaves its registration locked as "initializing", which
 * `git worktree prune` keeps forever and which makes every later add of that path fail ("missing but locked").
 * Only git's own "initializing" marker is cleared, and only when old: a user's `git worktree lock` stays. "Old" is a
 * minute, or a couple of seconds for a lock made before this process started: the crash suite's retries come within
 * seconds of a kill, well inside the minute (found by its long version, on the verification checkout).
 */
export function isStaleAddLock(mtimeMs: number, now = Date.now(), processStartedMs = PROCESS_STARTED_MS): boolean {
  const age = now - mtimeMs;
  return age >= STALE_ADD_LOCK_MS || (mtimeMs < processStartedMs && age > STALE_ADD_LOCK_BEFORE_START_MS);
}

async function clearStaleAddLocks(hubPath: string): Promise<void> {
  const admin = path.join(hubPath, 'worktrees');
  for (const name of await fs.readdir(admin).catch(() => [] as string[])) {
    const lock = path.join(admin, name, 'locked');
    const stat = await fs.stat(lock).catch(() => null);
    if (!stat || !isStaleAddLock(stat.mtimeMs)) continue;
    if ((await fs.readFile(lock, 'utf8').catch(() => '')).trim() === 'initializing') await fs.rm(lock, { force: true });
  }
}

/**
 * Removes a worktree and its registration; fine when neither exists. The files are deleted
 * outside the hub lock (the slow part, in parallel), then `worktree prune` drops the registration
 * of every worktree whose directory is gone.
 */
export async function removeWorktree(hubPath: string, wt: string): Promise<void> {
  await fs.rm(wt, { recursive: true, force: true, maxRetries: 3 });
  await pruneWorktrees(hubPath);
}

async function infoFor(hubPath: string, wt: string, branch: string, tip: string): Promise<WorkspaceInfo> {
  const head = await gitOut(hubPath, ['rev-parse', headRef(branch)]);
  const baseCommit = (await git(hubPath, ['merge-base', head, tip], { okCodes: [1] })).stdout.trim() || tip;
  // resumedFrom is set exactly when the branch carries work beyond its base: the same answer on every retry.
  return head === baseCommit ? { path: wt, branch, baseCommit } : { path: wt, branch, baseCommit, resumedFrom: head };
}

export interface OpenWorkspaceInput {
  home: string;
  runId: string;
  taskId: string;
  readOnly?: boolean;
}

/**
 * A worktree on `task/<taskId>` from the target tip, or a detached read-only checkout of the tip
 * for planners. Idempotent; resumes from the task branch when the hub already has it.
 */
export async function openWorkspace({ home, runId, taskId, readOnly }: OpenWorkspaceInput): Promise<WorkspaceInfo> {
  const hubPath = await requireHub(home, runId);
  const wt = paths.worktree(home, runId, taskId);
  return taskLocks.run(wt, async () => {
    const tip = await targetTip(home, runId);
    const branch = taskBranch(taskId);
    const state = await readWorktree(hubPath, wt);
    if (readOnly) {
      if (state && state.ref === null) {
        const head = await gitOut(wt, ['rev-parse', 'HEAD']);
        return { path: wt, branch: targetBranch(runId), baseCommit: head, readOnly: true };
      }
      await addWorktree(hubPath, wt, ['--detach', wt, tip]);
      return { path: wt, branch: targetBranch(runId), baseCommit: tip, readOnly: true };
    }
    if (!state || state.ref !== headRef(branch)) await addTaskWorktree(hubPath, wt, branch, tip);
    return infoFor(hubPath, wt, branch, tip);
  });
}

/**
 * (Re)creates a task worktree: on the task branch when the hub has it (resume from a checkpoint),
 * else on a new branch from `tip`. Whatever was at `wt` (partial after a crash mid-add, or of the
 * wrong kind) is removed first. Callers hold the task's lock.
 */
export async function addTaskWorktree(hubPath: string, wt: string, branch: string, tip: string): Promise<void> {
  const resume = await resolveCommit(hubPath, headRef(branch));
  // -B, not -b: an add that failed or was killed after creating the branch (at this same tip) must not block the next.
  await addWorktree(hubPath, wt, resume ? [wt, branch] : ['-B', branch, wt, tip]);
}

/**
 * git leaves its lock files behind when it is killed mid-command (a worker crash): `index.lock` and `HEAD.lock` in
 * the worktree's admin dir, the task branch's ref lock in the hub. Every later `git add` or commit in that worktree
 * then fails on them, retries included. A task's worktree and branch are only written by the worker process of its
 * host, under the task lock, so a lock older than this process is stale. Callers hold the task lock.
 */
export async function clearStaleTaskLocks(hubPath: string, state: WorktreeState): Promise<void> {
  const locks = [path.join(state.gitdir, 'index.lock'), path.join(state.gitdir, 'HEAD.lock')];
  if (state.ref) locks.push(path.join(hubPath, `${state.ref}.lock`));
  for (const lock of locks) {
    const stat = await fs.stat(lock).catch(() => null);
    if (stat && stat.mtimeMs < PROCESS_STARTED_MS) await fs.rm(lock, { force: true });
  }
}

/** Runs `work` holding the task's in-process lock (keyed by its worktree path). */
export function withTaskLock<T>(wt: string, work: () => Promise<T>): Promise<T> {
  return taskLocks.run(wt, work);
}

/**
 * `git add -A` + commit as longrun; false when there was nothing to commit. Two git processes
 * either way (a status check first would save one only when clean, and cost one when dirty).
 * Hooks are skipped: the agent's commits must not run code from the repository's hook scripts.
 */
export async function commitAll(wt: string, message: string): Promise<boolean> {
  await git(wt, ['add', '-A']);
  const r = await git(wt, ['-c', 'commit.gpgsign=false', 'commit', '--quiet', '--no-verify', '-m', message], {
    okCodes: [1],
  });
  if (r.exitCode === 0) return true;
  if (/nothing to commit|nothing added to commit|no changes added to commit/.test(r.stdout + r.stderr)) return false;
  throw new Error(`commit in ${wt} failed: ${(r.stderr || r.stdout).trim()}`);
}

/** The writable worktree of a task, or an error naming what the workflow must do first. */
export async function requireTaskWorktree(hubPath: string, wt: string, taskId: string): Promise<WorktreeState> {
  const state = await readWorktree(hubPath, wt);
  if (!state) {
    throw nonRetryable(
      WORKSPACE_ERRORS.taskBranchMissing,
      `task '${taskId}' has no workspace at ${wt}: call openWorkspace for it first`,
    );
  }
  if (state.ref !== headRef(taskBranch(taskId))) {
    throw nonRetryable(
      WORKSPACE_ERRORS.readOnlyWorkspace,
      `the workspace of '${taskId}' at ${wt} is a read-only checkout (planners); only task workspaces commit`,
    );
  }
  return state;
}

export interface CheckpointInput {
  home: string;
  runId: string;
  taskId: string;
  message: string;
}

/**
 * Commits everything in the task's worktree so the work survives the host. Returns null when nothing
 * changed, and also mid-merge: a half-resolved merge must not be recorded (integrateTask concludes it).
 */
export async function checkpointWorkspace({
  home,
  runId,
  taskId,
  message,
}: CheckpointInput): Promise<{ commit: string | null }> {
  const hubPath = await requireHub(home, runId);
  const wt = paths.worktree(home, runId, taskId);
  return taskLocks.run(wt, async () => {
    const state = await requireTaskWorktree(hubPath, wt, taskId);
    await clearStaleTaskLocks(hubPath, state);
    if (state.mergeInProgress) return { commit: null };
    if (!(await commitAll(wt, message.trim() || `longrun checkpoint of ${taskId}`))) return { commit: null };
    // With a local hub the worktree's branch *is* the hub's ref: the checkpoint is there already.
    return { commit: await resolveCommit(hubPath, headRef(taskBranch(taskId))) };
  });
}

/** Bytes on disk under a directory (0 when missing); symlinks are not followed. */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  const walk = async (p: string): Promise<void> => {
    const st = await fs.lstat(p).catch(() => null);
    if (!st) return;
    total += typeof st.blocks === 'number' && st.blocks > 0 ? st.blocks * 512 : st.size;
    if (st.isDirectory()) {
      const names = await fs.readdir(p).catch(() => [] as string[]);
      for (const name of names) await walk(path.join(p, name));
    }
  };
  await walk(dir);
  return total;
}

export interface CloseWorkspaceInput {
  home: string;
  runId: string;
  taskId: string;
  keepBranch?: boolean;
}

/** Removes the task's worktree (and by default its branch). Safe to call twice or for nothing. */
export async function closeWorkspace({
  home,
  runId,
  taskId,
  keepBranch,
}: CloseWorkspaceInput): Promise<{ diskBytes: number }> {
  const hubPath = paths.hub(home, runId);
  const wt = paths.worktree(home, runId, taskId);
  return taskLocks.run(wt, async () => {
    const diskBytes = await diskUsage(wt);
    await removeWorktree(hubPath, wt);
    if (!keepBranch && (await hubExists(hubPath))) {
      await git(hubPath, ['branch', '-D', '--quiet', taskBranch(taskId)], { okCodes: [1] });
    }
    return { diskBytes };
  });
}
