import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { paths } from '../config';
import type { WorkspaceInfo } from '../core/types';
import type { Redact } from '../core/redact';
import { adoptLinkedWorktree } from './adopt';
import { materializeEnvironment, SetupFailedError } from './environment';
import { nonRetryable, WORKSPACE_ERRORS } from './errors';
import { git, gitOut, readBranch, resolveCommit, UNTRUSTED } from './git';
import { hubExists, hubRemote, readTarget, requireHub } from './hub';
import { KeyedMutex } from './mutex';
import { headRef, targetBranch, taskBranch } from './names';
import { pushRefs, remoteOf, shownUrl } from './remote';

/**
 * Per-task workspaces. Each is its own repository (`<wt>/.git`) that borrows the hub's objects read-only through
 * `objects/info/alternates` (no copy: opening one costs a `git init` and a checkout) and keeps its own refs: the
 * task's branch, and nothing else. No remote is configured. So nothing an agent's git does there (reset, branch -f
 * or -D, stash, gc --prune=now, push) can move or delete the target, another task's branch or a checkpoint, or
 * prune an object another task needs: none of those are in its repository, and with bubblewrap the hub is on the
 * read-only root. (A linked worktree, which this replaced, shares the hub's refs and objects.) longrun itself,
 * outside the sandbox, fetches the task's HEAD into the hub's `task/<id>` at each checkpoint and integration
 * (fetchTask); the hub's objects appear in every clone at once, so merging the target into a task needs no fetch.
 * Planner and verification checkouts are the same kind of repository, detached. With a remote hub (remote.ts) the
 * hub is this host's mirror, so the alternates point at a per-host object cache, and every write of a task branch
 * is also pushed to the remote: a task resumed on another host starts from its last checkpoint there.
 */

/** Same-task calls (an activity retried while its first attempt still runs) must not interleave. */
const taskLocks = new KeyedMutex();

/** Written into a workspace's git dir once its files are checked out: a clone killed mid-checkout has none. */
const READY = 'LONGRUN_READY';

export interface WorktreeState {
  /** The workspace's git dir (`<wt>/.git`). */
  gitdir: string;
  /** A task's workspace, or a detached checkout (planners, verification). */
  kind: 'task' | 'checkout';
  /** `refs/heads/...` when on a branch, null when detached. */
  ref: string | null;
  mergeInProgress: boolean;
}

/** Reads a workspace's state from files only (no git process): it sits on the hot integration path. */
export async function readWorktree(hubPath: string, wt: string): Promise<WorktreeState | null> {
  const gitdir = path.join(wt, '.git');
  const marker = await fs.readFile(path.join(gitdir, READY), 'utf8').catch((err: NodeJS.ErrnoException) => {
    // `.git` is a file: a linked worktree of longrun v0.1.0, found in flight after an upgrade.
    if (err.code === 'ENOTDIR') return adoptLinkedWorktree(hubPath, wt, READY);
    return null;
  });
  if (marker === null) return null;
  try {
    const ready = JSON.parse(marker) as { kind?: string; hub?: string };
    if (ready.hub !== path.resolve(hubPath) || (ready.kind !== 'task' && ready.kind !== 'checkout')) return null;
    const head = (await fs.readFile(path.join(gitdir, 'HEAD'), 'utf8')).trim();
    return {
      gitdir,
      kind: ready.kind,
      ref: head.startsWith('ref: ') ? head.slice(5) : null,
      mergeInProgress: await pathExists(path.join(gitdir, 'MERGE_HEAD')),
    };
  } catch {
    return null;
  }
}

/** The alternates line that lends the hub's objects to a workspace. */
async function lendObjects(hubPath: string, gitdir: string): Promise<void> {
  await fs.mkdir(path.join(gitdir, 'objects', 'info'), { recursive: true });
  await fs.writeFile(path.join(gitdir, 'objects', 'info', 'alternates'), `${path.resolve(hubPath, 'objects')}\n`);
}

/**
 * Makes `wt` a repository borrowing the hub's objects, checked out at `commit`: on `branch` (a task), or detached.
 * Whatever is at `wt` (partial after a crash, or of the wrong kind) is removed first. `git init` with an empty
 * template (no sample hooks) and a `reset --hard` are the whole cost; the checkout runs in parallel across
 * workspaces since each touches only its own repository.
 */
export async function addWorktree(hubPath: string, wt: string, at: { commit: string; branch?: string }): Promise<void> {
  if (await pathExists(wt)) await removeWorktree(hubPath, wt);
  await fs.mkdir(path.dirname(wt), { recursive: true });
  const initial = at.branch ?? 'checkout';
  await git(path.dirname(wt), ['init', '--quiet', '--template=', `--initial-branch=${initial}`, wt]);
  const gitdir = path.join(wt, '.git');
  await lendObjects(hubPath, gitdir);
  // Detached: HEAD names the commit itself; on a branch, the reset creates the (unborn) branch at the commit.
  if (!at.branch) await fs.writeFile(path.join(gitdir, 'HEAD'), `${at.commit}\n`);
  await git(wt, [...UNTRUSTED, 'reset', '--hard', '--quiet', ...(at.branch ? [at.commit] : [])]);
  const ready = { kind: at.branch ? 'task' : 'checkout', hub: path.resolve(hubPath) };
  await fs.writeFile(path.join(gitdir, READY), JSON.stringify(ready));
}

async function pathExists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/**
 * The run's workspaces directory goes with its last workspace (else every run leaves an empty one behind). rmdir
 * fails on a non-empty directory, so a workspace opened meanwhile keeps it: addWorktree makes it again if needed.
 */
async function removeIfEmpty(dir: string): Promise<void> {
  await fs.rmdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST' && err.code !== 'ENOENT') throw err;
  });
}

/** Removes a workspace (and the run's directory with its last one); fine when it does not exist. */
export async function removeWorktree(hubPath: string, wt: string): Promise<void> {
  // A linked worktree left by an older longrun (a `.git` file): drop its registration in the hub too.
  const linked = await fs
    .stat(path.join(wt, '.git'))
    .then((st) => st.isFile())
    .catch(() => false);
  await fs.rm(wt, { recursive: true, force: true, maxRetries: 3 });
  if (linked && (await hubExists(hubPath))) await git(hubPath, ['worktree', 'prune']);
  await removeIfEmpty(path.dirname(wt));
}

/**
 * Brings the workspace's HEAD into the hub as `task/<id>` (forced: the task's branch is the task's to rewrite).
 * Runs outside any sandbox; the alternates line is rewritten first because the agent may have edited its own
 * repository's. Returns the commit now on the hub's task branch.
 */
export async function fetchTask(hubPath: string, wt: string, branch: string): Promise<string> {
  await lendObjects(hubPath, path.join(wt, '.git'));
  await git(hubPath, ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', wt, `+HEAD:${headRef(branch)}`]);
  const head = await resolveCommit(hubPath, headRef(branch));
  if (!head) throw new Error(`fetching the workspace at ${wt} left no ${branch} in ${hubPath}`);
  const remote = await remoteOf(hubPath);
  // Into the mirror first (the objects must be there to push). If the push fails, the retry's sync puts the mirror's
  // branch back to the remote's, so the retry sees the workspace ahead and pushes again.
  if (remote) await pushRefs(hubPath, remote, [{ ref: headRef(branch), next: head }], 'longrun: checkpoint');
  return head;
}

async function infoFor(wt: string, branch: string, tip: string): Promise<WorkspaceInfo> {
  const head = await gitOut(wt, ['rev-parse', 'HEAD']);
  const baseCommit = (await git(wt, ['merge-base', head, tip], { okCodes: [1] })).stdout.trim() || tip;
  // resumedFrom is set exactly when the branch carries work beyond its base: the same answer on every retry.
  return head === baseCommit ? { path: wt, branch, baseCommit } : { path: wt, branch, baseCommit, resumedFrom: head };
}

export interface OpenWorkspaceInput {
  home: string;
  /** LONGRUN_HUB_URL (remote.ts). */
  hubUrl?: string;
  runId: string;
  taskId: string;
  readOnly?: boolean;
  /** The worker's environment and redactor, for a setup this host has not run yet (environment.ts). */
  env?: NodeJS.ProcessEnv;
  redact?: Redact;
}

/**
 * A workspace on `task/<taskId>` from the target tip, or a detached read-only checkout of the tip
 * for planners. Idempotent; resumes from the task branch when the hub already has it.
 */
export async function openWorkspace({
  home,
  hubUrl,
  runId,
  taskId,
  readOnly,
  env,
  redact,
}: OpenWorkspaceInput): Promise<WorkspaceInfo> {
  const hubPath = await requireHub(home, runId, hubUrl);
  const wt = paths.worktree(home, runId, taskId);
  return taskLocks.run(wt, async () => {
    const tip = await readTarget(hubPath, runId);
    const branch = taskBranch(taskId);
    const state = await readWorktree(hubPath, wt);
    if (readOnly) {
      if (state?.kind === 'checkout') {
        const head = await gitOut(wt, ['rev-parse', 'HEAD']);
        return { path: wt, branch: targetBranch(runId), baseCommit: head, readOnly: true };
      }
      await addWorktree(hubPath, wt, { commit: tip });
      await linkDependencies({ home, runId, hubPath, checkout: wt, env, redact });
      return { path: wt, branch: targetBranch(runId), baseCommit: tip, readOnly: true };
    }
    if (state?.kind !== 'task') {
      const resumed = await addTaskWorktree(hubPath, wt, branch, tip);
      await linkDependencies({ home, runId, hubPath, checkout: wt, env, redact });
      // A new branch at the tip: its base is the tip, no need to ask git (two processes on the task's start).
      if (!resumed) return { path: wt, branch, baseCommit: tip };
    }
    return infoFor(wt, branch, tip);
  });
}

/**
 * The run's prepared dependencies in a new checkout. A setup that fails for this checkout's key (a lockfile the task
 * branch changed) leaves it without them: the agent's commands show what is missing, and verification says why.
 */
async function linkDependencies(ctx: Parameters<typeof materializeEnvironment>[0]): Promise<void> {
  await materializeEnvironment(ctx).catch((err: unknown) => {
    if (!(err instanceof SetupFailedError)) throw err;
  });
}

/**
 * (Re)creates a task workspace: at the hub's task branch when it has one (resume from a checkpoint), else at `tip`.
 * Returns the branch's commit when it resumed, null when it started at `tip`. Callers hold the task's lock.
 */
export async function addTaskWorktree(
  hubPath: string,
  wt: string,
  branch: string,
  tip: string,
): Promise<string | null> {
  let resume = await readBranch(hubPath, headRef(branch));
  // The hub has the task's branch from the start, as it had with linked worktrees: checkpoints compare with it.
  const remote = resume ? null : await remoteOf(hubPath);
  if (remote) {
    // Create-only on the remote: if another host made or checkpointed the branch meanwhile, resume from that.
    const create = [{ ref: headRef(branch), next: tip, expected: null }];
    if (!(await pushRefs(hubPath, remote, create, 'longrun: open task'))) {
      resume = await readBranch(hubPath, headRef(branch));
      if (!resume) throw new Error(`the remote hub ${shownUrl(remote.url)} refused to create ${branch} but has none`);
    }
  } else if (!resume) await git(hubPath, ['update-ref', '-m', 'longrun: open task', headRef(branch), tip, '']);
  await addWorktree(hubPath, wt, { commit: resume ?? tip, branch });
  return resume;
}

/** When this process started: a lock file older than that was left by a process that is gone. */
const PROCESS_STARTED_MS = Date.now() - process.uptime() * 1000;

/**
 * git leaves its lock files behind when it is killed mid-command (a worker crash): `index.lock`, `HEAD.lock` and the
 * branch's ref lock in the workspace, the task branch's ref lock in the hub (a killed fetch). Every later `git add`,
 * commit or fetch then fails on them, retries included. A task's workspace and hub branch are only written by the
 * worker process of its host, under the task lock, so a lock older than this process is stale. Callers hold the
 * task lock.
 */
export async function clearStaleTaskLocks(hubPath: string, state: WorktreeState, branch: string): Promise<void> {
  const locks = [path.join(state.gitdir, 'index.lock'), path.join(state.gitdir, 'HEAD.lock')];
  if (state.ref) locks.push(path.join(state.gitdir, `${state.ref}.lock`));
  locks.push(path.join(hubPath, `${headRef(branch)}.lock`));
  for (const lock of locks) {
    const stat = await fs.stat(lock).catch(() => null);
    if (stat && stat.mtimeMs < PROCESS_STARTED_MS) await fs.rm(lock, { force: true });
  }
}

/** Runs `work` holding the task's in-process lock (keyed by its workspace path). */
export function withTaskLock<T>(wt: string, work: () => Promise<T>): Promise<T> {
  return taskLocks.run(wt, work);
}

/**
 * `git add -A` + commit as longrun; false when there was nothing to commit. Two git processes
 * either way (a status check first would save one only when clean, and cost one when dirty).
 * Hooks are skipped: the agent's commits must not run code from the repository's hook scripts.
 */
export async function commitAll(wt: string, message: string): Promise<boolean> {
  await git(wt, [...UNTRUSTED, 'add', '-A']);
  const r = await git(
    wt,
    [...UNTRUSTED, '-c', 'commit.gpgsign=false', 'commit', '--quiet', '--no-verify', '-m', message],
    { okCodes: [1] },
  );
  if (r.exitCode === 0) return true;
  if (/nothing to commit|nothing added to commit|no changes added to commit/.test(r.stdout + r.stderr)) return false;
  throw new Error(`commit in ${wt} failed: ${(r.stderr || r.stdout).trim()}`);
}

/** The writable workspace of a task, or an error naming what the workflow must do first. */
export async function requireTaskWorktree(hubPath: string, wt: string, taskId: string): Promise<WorktreeState> {
  const state = await readWorktree(hubPath, wt);
  if (!state) {
    throw nonRetryable(
      WORKSPACE_ERRORS.taskBranchMissing,
      `task '${taskId}' has no workspace at ${wt}: call openWorkspace for it first`,
    );
  }
  if (state.kind !== 'task') {
    throw nonRetryable(
      WORKSPACE_ERRORS.readOnlyWorkspace,
      `the workspace of '${taskId}' at ${wt} is a read-only checkout (planners); only task workspaces commit`,
    );
  }
  return state;
}

export interface CheckpointInput {
  home: string;
  hubUrl?: string;
  runId: string;
  taskId: string;
  message: string;
}

/**
 * Commits everything in the task's workspace and fetches it into the hub, so the work survives the host (the
 * agent's own commits included). Returns null when the hub already had it, and also mid-merge: a half-resolved
 * merge must not be recorded (integrateTask concludes it).
 */
export async function checkpointWorkspace({
  home,
  hubUrl,
  runId,
  taskId,
  message,
}: CheckpointInput): Promise<{ commit: string | null }> {
  const hubPath = await requireHub(home, runId, hubUrl);
  const wt = paths.worktree(home, runId, taskId);
  const branch = taskBranch(taskId);
  return taskLocks.run(wt, async () => {
    const state = await requireTaskWorktree(hubPath, wt, taskId);
    await clearStaleTaskLocks(hubPath, state, branch);
    if (state.mergeInProgress) return { commit: null };
    await commitAll(wt, message.trim() || `longrun checkpoint of ${taskId}`);
    const head = await gitOut(wt, ['rev-parse', 'HEAD']);
    if (head === (await resolveCommit(hubPath, headRef(branch)))) return { commit: null };
    return { commit: await fetchTask(hubPath, wt, branch) };
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
  hubUrl?: string;
  runId: string;
  taskId: string;
  keepBranch?: boolean;
}

/**
 * Removes the task's workspace (and by default its hub branch). Safe to call twice or for nothing. A kept branch
 * first receives the agent's own commits since the last checkpoint, as a linked worktree's branch would have.
 */
export async function closeWorkspace({
  home,
  hubUrl,
  runId,
  taskId,
  keepBranch,
}: CloseWorkspaceInput): Promise<{ diskBytes: number }> {
  const hubPath = paths.hub(home, runId);
  const wt = paths.worktree(home, runId, taskId);
  return taskLocks.run(wt, async () => {
    const diskBytes = await diskUsage(wt);
    const hub = await hubExists(hubPath);
    const remote = hub ? await hubRemote(hubPath, runId, hubUrl) : null;
    if (keepBranch && hub) {
      const state = await readWorktree(hubPath, wt);
      if (state?.kind === 'task' && !state.mergeInProgress) {
        await fetchTask(hubPath, wt, taskBranch(taskId)).catch(() => undefined); // best effort: it is going away
      }
    }
    await removeWorktree(hubPath, wt);
    if (remote && !keepBranch) {
      await pushRefs(hubPath, remote, [{ ref: headRef(taskBranch(taskId)), next: null }], 'longrun: close task');
    } else if (!keepBranch && hub) {
      await git(hubPath, ['branch', '-D', '--quiet', taskBranch(taskId)], { okCodes: [1] });
    }
    return { diskBytes };
  });
}
