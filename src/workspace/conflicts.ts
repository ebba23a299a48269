import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { git, gitOut, UNTRUSTED } from './git';
import { markerLines } from './names';

/**
 * The conflict path, the only one that needs the worker's workspace: the target tip (already readable there: the
 * workspace borrows the hub's objects) is merged into the task branch with `git merge --no-commit`, leaving markers in the files for the agent to
 * resolve with its normal tools. The conflicted paths are recorded in the workspace's git dir,
 * because an agent that `git add`s a file removes it from git's own list of unmerged paths.
 */

export const CONFLICT_FILE_MAX = 20_000;
const RECORD = 'LONGRUN_CONFLICTS';
const CONTEXT_LINES = 6;

export interface ConflictFile {
  path: string;
  content: string;
}

/** The file, or around its conflict regions when too long, so the markers are always in view. */
export function conflictExcerpt(content: string, max = CONFLICT_FILE_MAX): string {
  if (content.length <= max) return content;
  const lines = content.split('\n');
  const keep = new Set<number>();
  let start = -1;
  lines.forEach((line, i) => {
    if (line.startsWith('<<<<<<<')) start = i;
    if (line.startsWith('>>>>>>>') && start >= 0) {
      for (let j = Math.max(0, start - CONTEXT_LINES); j <= Math.min(lines.length - 1, i + CONTEXT_LINES); j++)
        keep.add(j);
      start = -1;
    }
  });
  const out: string[] = [];
  let skipped = 0;
  const flush = () => {
    if (skipped) out.push(`[... ${skipped} lines not shown ...]`);
    skipped = 0;
  };
  lines.forEach((line, i) => {
    if (keep.has(i)) {
      flush();
      out.push(line);
    } else skipped++;
  });
  flush();
  const text = out.join('\n');
  return text.length <= max
    ? text
    : `${text.slice(0, max)}\n[... cut: the conflicts continue past ${max} characters ...]\n`;
}

async function readConflict(wt: string, file: string): Promise<ConflictFile> {
  try {
    return { path: file, content: conflictExcerpt(await fs.readFile(path.join(wt, file), 'utf8')) };
  } catch {
    return {
      path: file,
      content: '[this file was deleted on one side and changed on the other: keep it or delete it]',
    };
  }
}

async function unmergedPaths(wt: string): Promise<string[]> {
  const out = await gitOut(wt, ['diff', '--name-only', '--diff-filter=U', '-z']);
  return out.split('\0').filter(Boolean);
}

async function recorded(gitdir: string): Promise<string[]> {
  try {
    return JSON.parse(await fs.readFile(path.join(gitdir, RECORD), 'utf8')) as string[];
  } catch {
    return [];
  }
}

/**
 * Starts merging `onto` into the task branch. Returns the conflicted files with their markers, or
 * [] when git merged cleanly after all (the caller then commits the merge).
 */
export async function startConflictMerge(wt: string, gitdir: string, onto: string): Promise<ConflictFile[]> {
  await git(wt, [...UNTRUSTED, '-c', 'commit.gpgsign=false', 'merge', '--no-ff', '--no-commit', '--no-verify', onto], {
    okCodes: [1],
  });
  const files = await unmergedPaths(wt);
  await fs.writeFile(path.join(gitdir, RECORD), JSON.stringify(files));
  return Promise.all(files.map((f) => readConflict(wt, f)));
}

/** Files of the merge in progress that still hold conflict markers; [] when resolved. */
export async function unresolvedConflicts(wt: string, gitdir: string): Promise<ConflictFile[]> {
  const candidates = [...new Set([...(await recorded(gitdir)), ...(await unmergedPaths(wt))])];
  const left: ConflictFile[] = [];
  for (const file of candidates) {
    const content = await fs.readFile(path.join(wt, file), 'utf8').catch(() => null);
    if (content !== null && markerLines(content).length) left.push({ path: file, content: conflictExcerpt(content) });
  }
  return left;
}

export async function clearConflictRecord(gitdir: string): Promise<void> {
  await fs.rm(path.join(gitdir, RECORD), { force: true });
}
