import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ToolArgs } from './schemas';
import { confinePath, workspaceRoot } from './confine';
import { type ToolContext, type ToolOutcome, success } from './context';
import { capText } from './output';

/**
 * Git plumbing for the tools, and the git_diff / git_status tools. Git runs outside any sandbox
 * here, in a worktree an agent can modify, so configuration that would execute programs
 * (external diff, textconv, fsmonitor) is switched off on the command line.
 */

const SAFE_CONFIG = ['-c', 'core.fsmonitor=false', '-c', 'core.quotepath=off', '-c', 'color.ui=false'];
const GIT_TIMEOUT_MS = 60_000;

export interface GitOutput {
  code: number;
  stdout: string;
  stderr: string;
}

function gitEnv(): NodeJS.ProcessEnv {
  // Our own git calls: no GIT_DIR/GIT_INDEX_FILE leaking in from the worker, no lock contention with the agent.
  const { PATH, HOME, LANG } = process.env;
  return { PATH, HOME, LANG, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0' };
}

/** Runs git in `cwd`; resolves with the exit code instead of rejecting on a non-zero one. */
export function git(cwd: string, args: string[], input?: string): Promise<GitOutput> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      [...SAFE_CONFIG, ...args],
      { cwd, env: gitEnv(), timeout: GIT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: err ? (err.code as unknown as number) : 0, stdout, stderr });
      },
    );
    // git may exit before reading its input (not a repository): the EPIPE is expected, the exit code tells.
    child.stdin?.on('error', () => undefined);
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function isGitWorktree(root: string): Promise<boolean> {
  const out = await git(root, ['rev-parse', '--is-inside-work-tree']).catch(() => undefined);
  return out?.code === 0 && out.stdout.trim() === 'true';
}

/**
 * Which of `relPaths` (relative to root) .gitignore excludes. Tracked files are never "ignored",
 * as in git itself. Outside a git repository nothing is ignored.
 */
export async function ignoredPaths(root: string, relPaths: string[]): Promise<Set<string>> {
  if (relPaths.length === 0) return new Set();
  const out = await git(root, ['check-ignore', '--stdin', '-z'], relPaths.join('\0') + '\0').catch(() => undefined);
  if (!out || (out.code !== 0 && out.code !== 1)) return new Set();
  return new Set(out.stdout.split('\0').filter(Boolean));
}

/** Tracked and untracked-but-not-ignored files under `relDir` (root-relative, '/' separated), or undefined outside git. */
export async function gitListFiles(root: string, relDir: string): Promise<string[] | undefined> {
  const spec = relDir === '.' ? [] : ['--', relDir];
  const out = await git(root, ['ls-files', '--cached', '--others', '--exclude-standard', '-z', ...spec]).catch(
    () => undefined,
  );
  if (!out || out.code !== 0) return undefined;
  return [...new Set(out.stdout.split('\0').filter(Boolean))];
}

/**
 * The worktree's git dir and common dir (objects, refs; they differ for linked worktrees), and the object dirs it
 * borrows through `objects/info/alternates` (a workspace borrows the hub's): a sandbox must let git read those, or
 * `git log` fails where the hub is hidden (under the sandbox's private /tmp).
 */
export async function gitDirs(
  root: string,
): Promise<{ gitDir: string; commonDir: string; borrowed: string[] } | undefined> {
  const out = await git(root, ['rev-parse', '--absolute-git-dir', '--git-common-dir']).catch(() => undefined);
  if (!out || out.code !== 0) return undefined;
  const [gitDir, common] = out.stdout.trim().split('\n');
  const commonDir = path.resolve(root, common ?? gitDir);
  const alternates = await fs.readFile(path.join(commonDir, 'objects', 'info', 'alternates'), 'utf8').catch(() => '');
  const borrowed = alternates
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => path.resolve(commonDir, 'objects', l))
    .filter((dir) => existsSync(dir));
  return { gitDir, commonDir, borrowed };
}

export async function gitDiffTool(args: ToolArgs<'git_diff'>, ctx: ToolContext): Promise<ToolOutcome> {
  const root = await workspaceRoot(ctx.workspace.path);
  const target = args.path ? await confinePath(ctx.workspace.path, args.path, 'read') : undefined;
  const diffArgs = ['diff', '--no-ext-diff', '--no-textconv', ...(args.staged ? ['--cached'] : [])];
  const spec = target && target.rel !== '.' ? ['--', target.rel] : [];
  const out = await git(root, [...diffArgs, ...spec]);
  const what = args.staged ? 'staged' : 'unstaged';
  if (out.code !== 0)
    return { ok: false, content: `git diff failed: ${out.stderr.trim()}`, summary: 'git diff failed' };
  if (out.stdout.trim() === '') {
    const hint = args.staged
      ? 'Nothing is staged.'
      : 'New untracked files do not appear in git diff; git_status lists them. Use staged=true for staged changes.';
    return success(`No ${what} changes${target ? ` in ${target.rel}` : ''}. ${hint}`, `git diff: no ${what} changes`);
  }
  const files = (out.stdout.match(/^diff --git /gm) ?? []).length;
  return success(
    capText(out.stdout, 24 * 1024, 8 * 1024),
    `git diff: ${files} file${files === 1 ? '' : 's'} (${what})`,
  );
}

export async function gitStatusTool(_args: ToolArgs<'git_status'>, ctx: ToolContext): Promise<ToolOutcome> {
  const root = await workspaceRoot(ctx.workspace.path);
  const out = await git(root, ['status', '--short', '--branch', '--untracked-files=all']);
  if (out.code !== 0)
    return { ok: false, content: `git status failed: ${out.stderr.trim()}`, summary: 'git status failed' };
  const lines = out.stdout.split('\n').filter(Boolean);
  const changed = lines.filter((l) => !l.startsWith('##')).length;
  const content = changed === 0 ? `${out.stdout.trim()}\n(working tree clean)` : capText(out.stdout.trimEnd());
  return success(content, changed === 0 ? 'git status: clean' : `git status: ${changed} changed`);
}
