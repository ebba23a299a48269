import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { spawnViaHelper } from './spawner';

/**
 * Running git. Porcelain that simple-git covers well (clone, status, push) goes through simple-git;
 * plumbing it lacks (merge-tree --write-tree, commit-tree, update-ref with an old value, worktree)
 * goes through execFile, which is also the cheaper path on the hot integration loop.
 */

/** longrun commits as itself: it must never depend on the host's global git identity. */
export const IDENTITY = { name: 'longrun', email: 'longrun@localhost' };

/** Variables that would redirect git to another repository or prompt a human. */
const GIT_REDIRECTS = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_CEILING_DIRECTORIES',
];

/**
 * Configuration of longrun's own git calls, above any repository's: agent commands can write a workspace's git
 * directory (to commit), so a hook or an fsmonitor planted there must not run when longrun checkpoints, merges or
 * creates a checkout outside the sandbox, as the worker's user.
 */
const FORCED_CONFIG: Array<[string, string]> = [
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
];

function forcedConfig(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const count = Number(env.GIT_CONFIG_COUNT) || 0;
  const out: NodeJS.ProcessEnv = { GIT_CONFIG_COUNT: String(count + FORCED_CONFIG.length) };
  FORCED_CONFIG.forEach(([key, value], i) => {
    out[`GIT_CONFIG_KEY_${count + i}`] = key;
    out[`GIT_CONFIG_VALUE_${count + i}`] = value;
  });
  return out;
}

export function gitEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const name of GIT_REDIRECTS) delete env[name];
  return {
    ...env,
    ...forcedConfig(env),
    GIT_AUTHOR_NAME: IDENTITY.name,
    GIT_AUTHOR_EMAIL: IDENTITY.email,
    GIT_COMMITTER_NAME: IDENTITY.name,
    GIT_COMMITTER_EMAIL: IDENTITY.email,
    GIT_TERMINAL_PROMPT: '0', // a URL needing credentials fails instead of hanging the worker
    GIT_OPTIONAL_LOCKS: '0', // `git status` must not take index.lock behind a concurrent commit's back
    LC_ALL: 'C', // messages we parse stay in English
  };
}

/** Options for the git longrun runs in a workspace an agent controls: its hooks and fsmonitor must not run there. */
export const UNTRUSTED = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false'];

export class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (exit ${exitCode}): ${(stderr || stdout).trim().slice(0, 2000)}`);
    this.name = 'GitError';
  }
}

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface GitOptions {
  /** Exit codes that are answers, not failures (merge-tree exits 1 on conflicts). */
  okCodes?: number[];
  input?: string;
  timeoutMs?: number;
  /** Retries when another git process holds a lock file (index.lock, ref locks). Default 8. */
  lockRetries?: number;
}

/** git output we read is small, except diffs and logs: a generous cap instead of a silent truncation. */
const MAX_BUFFER = 64 * 1024 * 1024;

/**
 * Failures that mean "another git process is busy here": lock files, and a worktree another
 * process is creating right now (its admin dir exists before its files are written).
 */
export function isTransientError(stderr: string): boolean {
  return /Unable to create '.*\.lock'|\.lock': File exists|could not lock config file|cannot lock ref .*(File exists|Unable to create)|failed to read worktrees\/.*\/(commondir|gitdir)/i.test(
    stderr,
  );
}

/**
 * git runs through a small helper process by default (spawner.ts: forking a big worker process
 * for every git command is what made merges slow). LONGRUN_GIT_HELPER=0 spawns directly.
 */
const VIA_HELPER = process.env.LONGRUN_GIT_HELPER !== '0';

function execGit(cwd: string, args: string[], opts: GitOptions): Promise<GitResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  if (VIA_HELPER) {
    return spawnViaHelper({
      file: 'git',
      args,
      cwd,
      env: gitEnv(),
      input: opts.input,
      timeoutMs,
      maxBuffer: MAX_BUFFER,
    });
  }
  return new Promise((resolve) => {
    const child = execFile(
      'git',
      args,
      { cwd, env: gitEnv(), maxBuffer: MAX_BUFFER, timeout: timeoutMs, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ stdout, stderr: stderr || (err && code === -1 ? String(err.message) : ''), exitCode: code });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs git in `cwd`; throws GitError unless the exit code is 0 or in `okCodes`. Retries on lock contention. */
export async function git(cwd: string, args: string[], opts: GitOptions = {}): Promise<GitResult> {
  const retries = opts.lockRetries ?? 8;
  for (let attempt = 0; ; attempt++) {
    const result = await execGit(cwd, args, opts);
    if (result.exitCode === 0 || opts.okCodes?.includes(result.exitCode)) return result;
    if (attempt < retries && isTransientError(result.stderr)) {
      await sleep(5 + Math.random() * 20 * (attempt + 1)); // jitter: lock holders are other git processes, done in ms
      continue;
    }
    throw new GitError(args, result.exitCode, result.stdout, result.stderr);
  }
}

/** Trimmed stdout of a git command. */
export async function gitOut(cwd: string, args: string[], opts?: GitOptions): Promise<string> {
  return (await git(cwd, args, opts)).stdout.trim();
}

/** The sha a revision names, or null when it names nothing (exit code answers, not errors). */
export async function resolveCommit(cwd: string, rev: string): Promise<string | null> {
  const r = await git(cwd, ['rev-parse', '-q', '--verify', '--end-of-options', `${rev}^{commit}`], {
    okCodes: [1, 128],
  });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

/**
 * The commit a branch of a bare repository points at, read from its ref files as git itself does (a loose ref wins
 * over packed-refs; both are replaced by rename, so a reader sees the old or the new value), without a git process:
 * opening a workspace reads two refs, and under load each git process costs ~0.1 s. Anything not plainly a loose or
 * packed ref (a symbolic ref, the reftable backend) is asked of git.
 */
export async function readBranch(gitdir: string, ref: string): Promise<string | null> {
  const loose = await fs.readFile(path.join(gitdir, ref), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'EISDIR') return null;
    throw err;
  });
  if (loose !== null) {
    const sha = loose.trim();
    return SHA.test(sha) ? sha : resolveCommit(gitdir, ref);
  }
  if (
    await fs.access(path.join(gitdir, 'reftable')).then(
      () => true,
      () => false,
    )
  )
    return resolveCommit(gitdir, ref);
  const packed = await fs.readFile(path.join(gitdir, 'packed-refs'), 'utf8').catch(() => '');
  for (const line of packed.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0 && line.slice(space + 1) === ref && SHA.test(line.slice(0, space))) return line.slice(0, space);
  }
  return null;
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Interactive helpers simple-git refuses in the environment; a non-interactive clone or push never needs them. */
const INTERACTIVE = /^(EDITOR|VISUAL|PAGER|GIT_EDITOR|GIT_SEQUENCE_EDITOR|GIT_PAGER|GIT_EXTERNAL_DIFF)$/i;

/**
 * simple-git bound to a directory, with longrun's identity and no interactive prompts. Network
 * settings the operator gave the worker (ssh command, askpass, proxy, config paths) are kept:
 * clone and push of a user's URL may need them; our own arguments are fixed.
 */
export function simpleGitAt(baseDir: string): SimpleGit {
  const env = Object.fromEntries(Object.entries(gitEnv()).filter(([name]) => !INTERACTIVE.test(name)));
  return simpleGit({
    baseDir,
    maxConcurrentProcesses: 4,
    trimmed: false,
    unsafe: {
      allowUnsafeSshCommand: true,
      allowUnsafeAskPass: true,
      allowUnsafeGitProxy: true,
      allowUnsafeConfigPaths: true,
      allowUnsafeConfigEnvCount: true,
      // Ours (FORCED_CONFIG): core.hooksPath=/dev/null and core.fsmonitor=false, so neither runs anything.
      allowUnsafeHooksPath: true,
      allowUnsafeFsMonitor: true,
      allowUnsafeTemplateDir: true,
    },
  }).env(env);
}
