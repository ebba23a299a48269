import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { git, gitOut } from './git';
import { guardedUpdate, guardRef } from './guard';
import { hasTaskTrailer, trailerLine } from './names';
import { pushRefs, remoteOf } from './remote';

/**
 * Merge plumbing on the hub, no worktree needed: merge-tree computes the merged tree (or the
 * conflicts), commit-tree records it, update-ref with the old value moves the target by
 * compare-and-swap, together with its guard ref (guard.ts) in one ref transaction. Everything takes shas, never
 * names: a name resolved twice may mean two commits.
 */

export type TreeMerge = { clean: true; tree: string } | { clean: false; tree: string; files: string[] };

export async function mergeTree(hubPath: string, ours: string, theirs: string): Promise<TreeMerge> {
  const r = await git(hubPath, ['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', ours, theirs], {
    okCodes: [1],
  });
  const [tree, ...rest] = r.stdout.split('\0');
  if (r.exitCode === 0) return { clean: true, tree };
  return { clean: false, tree, files: [...new Set(rest.filter(Boolean))] };
}

export async function commitTree(hubPath: string, tree: string, parents: string[], message: string): Promise<string> {
  const args = ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-F', '-'];
  return gitOut(hubPath, args, { input: message });
}

/**
 * Moves `ref` (and its guard) from `expected` to `next` only if both still point at `expected`. Returns false
 * when another writer got there first (the ref moved, or its lock file is held right now). With a remote hub the
 * swap is the remote's: one atomic push leasing both refs at `expected`; a lost lease syncs the mirror first, so
 * the caller's next readTip sees the winner's tip.
 */
export async function casRef(
  hubPath: string,
  ref: string,
  next: string,
  expected: string,
  reason: string,
): Promise<boolean> {
  const remote = await remoteOf(hubPath);
  if (remote) {
    const writes = [ref, guardRef(ref)].map((r) => ({ ref: r, next, expected }));
    return pushRefs(hubPath, remote, writes, reason);
  }
  for (let attempt = 0; ; attempt++) {
    const r = await git(hubPath, ['update-ref', '-m', reason, '--stdin'], {
      input: guardedUpdate(ref, next, expected),
      okCodes: [1, 128],
      lockRetries: 0,
    });
    if (r.exitCode === 0) return true;
    if (/\.lock|File exists/i.test(r.stderr) && attempt === 0 && (await clearStaleRefLock(hubPath, ref))) continue;
    if (/but expected|is at|unable to resolve reference|\.lock|File exists/i.test(r.stderr)) return false;
    throw new Error(`update-ref ${ref} ${next} ${expected} failed: ${r.stderr.trim()}`);
  }
}

/** git holds a ref lock for milliseconds: one this old was left by a git process that was killed (a crash). */
export const STALE_REF_LOCK_MS = 60_000;

/**
 * Removes the ref's lock file (and packed-refs.lock) when it is stale; true when one was removed. Without this, one
 * worker killed during `update-ref` would block every later merge of the run: each compare-and-swap fails on the lock.
 */
async function clearStaleRefLock(hubPath: string, ref: string): Promise<boolean> {
  let removed = false;
  const locks = [`${ref}.lock`, `${guardRef(ref)}.lock`, 'packed-refs.lock'].map((p) => path.join(hubPath, p));
  for (const lock of locks) {
    const stat = await fs.stat(lock).catch(() => null);
    if (stat && Date.now() - stat.mtimeMs > STALE_REF_LOCK_MS) {
      await fs.rm(lock, { force: true });
      removed = true;
    }
  }
  return removed;
}

/**
 * The commit, its tree and the guard's commit, read in one process so all belong to the same moment. guard is null
 * for a target that predates the guard.
 */
export async function readTip(
  hubPath: string,
  ref: string,
): Promise<{ commit: string; tree: string; guard: string | null }> {
  const guard = guardRef(ref);
  const out = await gitOut(hubPath, ['for-each-ref', '--format=%(refname) %(objectname) %(tree)', ref, guard]);
  const rows = new Map(out.split('\n').map((line) => [line.split(' ')[0], line.split(' ')]));
  const tip = rows.get(ref);
  if (!tip) throw new Error(`the hub ${hubPath} has no ${ref}`);
  return { commit: tip[1], tree: tip[2], guard: rows.get(guard)?.[1] ?? null };
}

export async function isAncestor(hubPath: string, maybeAncestor: string, of: string): Promise<boolean> {
  const r = await git(hubPath, ['merge-base', '--is-ancestor', maybeAncestor, of], { okCodes: [1] });
  return r.exitCode === 0;
}

export interface TaskCommit {
  commit: string;
  parents: string[];
}

/**
 * The commit carrying `Longrun-Task: <taskId>` reachable from `from`, preferring our merge commit
 * on the target over the task's own final commit. null when the task never landed.
 */
export async function findTaskCommit(hubPath: string, from: string, taskId: string): Promise<TaskCommit | null> {
  const out = await gitOut(hubPath, [
    'log',
    '--fixed-strings',
    `--grep=${trailerLine(taskId)}`,
    '--format=%H%x1f%P%x1f%B%x1e',
    from,
    '--',
  ]);
  const hits: TaskCommit[] = [];
  for (const record of out.split('\x1e')) {
    const [commit, parents, body] = record.replace(/^\s+/, '').split('\x1f');
    // --grep matches substrings ('t1' in 't10'): keep exact trailers only.
    if (commit && body !== undefined && hasTaskTrailer(body, taskId)) {
      hits.push({ commit, parents: parents.split(' ').filter(Boolean) });
    }
  }
  return hits.find((h) => h.parents.length > 1) ?? hits[0] ?? null;
}

/** Paths that differ between two revisions (`a...b` = what b changed since it forked from a). */
export async function changedFiles(hubPath: string, range: string[]): Promise<string[]> {
  const out = await gitOut(hubPath, ['diff', '--name-only', '--no-renames', '-z', ...range, '--']);
  return out.split('\0').filter(Boolean);
}

/** Files a landed task changed: what its merge brought onto the first parent. */
export async function filesOfTaskCommit(hubPath: string, hit: TaskCommit): Promise<string[]> {
  if (hit.parents.length === 0) {
    const out = await gitOut(hubPath, ['diff-tree', '--root', '-r', '--name-only', '--no-commit-id', '-z', hit.commit]);
    return out.split('\0').filter(Boolean);
  }
  return changedFiles(hubPath, [hit.parents[0], hit.commit]);
}
