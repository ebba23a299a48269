import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SECRET_NAME } from '../core/redact';

/**
 * The sandbox for agent-written code: agent commands (run_command) and the test command (verification) run through
 * one runner (exec.ts) under one policy. See docs/security.md.
 *
 * - Environment: never the worker's. An allow-list: PATH, LANG, LC_ALL, LC_CTYPE, TZ, SHELL, USER, LOGNAME, plus
 *   TERM=dumb, CI=true, a git identity "longrun <longrun@localhost>", and a private HOME and TMPDIR per checkout (the
 *   worker's ~/.npmrc, ~/.aws, ~/.gitconfig are not picked up). LONGRUN_SANDBOX_ENV_ALLOW (comma or space separated
 *   names) passes more through; listing HOME or TMPDIR there passes the real one. Any name matching SECRET_NAME is
 *   dropped even when allow-listed, so provider keys, GITHUB_TOKEN or AWS secrets never reach a command.
 * - LONGRUN_SANDBOX=auto (default) or bwrap: bubblewrap is required (checked once per worker process by running
 *   `true` under it). Each command runs with no network unless the caller grants it (--unshare-net), its own PID
 *   namespace (every process dies with the command; the worker's /proc is not visible), the root filesystem
 *   read-only with the worker's credential stores (HIDDEN_IN_HOME) hidden, a private /tmp, and only the checkout,
 *   the directories the caller names and the private HOME writable (a git directory's config and hooks stay
 *   read-only: gitProtected). Without a working bwrap the call fails
 *   (SandboxUnavailableError, non-retryable in the activities) with the fix; runs check it before any agent starts.
 *   `auto` was the default that fell back to unsandboxed commands; it is kept so existing settings stay valid, and
 *   now means the same as `bwrap`.
 * - LONGRUN_SANDBOX=off: the explicit opt-in to run agent code unsandboxed. What is left: the allow-listed
 *   environment, an own process group (killed as a whole), and redaction of the worker's secrets in everything
 *   stored (src/core/redact.ts). What is not: the command runs as the worker's user and can read what that user can
 *   (files, /proc/<worker pid>/environ) and use the network.
 *
 * Git: a task's workspace is its own repository borrowing the hub's objects read-only
 * (src/workspace/worktree.ts), so only its own `.git` is writable (its config and hooks read-only) and
 * the hub (target, other tasks' branches, checkpoints, objects) is on the read-only root. Without the
 * sandbox a command that names the hub's path can still write it: the target is then put back by the
 * tip guard (src/workspace/guard.ts) and the incident recorded.
 */

export type SandboxMode = 'auto' | 'bwrap' | 'off';
export const SANDBOX_MODES: readonly SandboxMode[] = ['auto', 'bwrap', 'off'];

export interface SandboxSettings {
  mode: SandboxMode;
  /** Extra environment names passed through (LONGRUN_SANDBOX_ENV_ALLOW). */
  extraEnvAllow: string[];
  /** bwrap executable; found on PATH when absent. */
  bwrapPath?: string;
}

export class SandboxUnavailableError extends Error {
  override name = 'SandboxUnavailableError';
}

export const BASE_ENV_ALLOW = ['PATH', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'SHELL', 'USER', 'LOGNAME'] as const;
export { SECRET_NAME };
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function sandboxSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): SandboxSettings {
  const raw = (env.LONGRUN_SANDBOX ?? '').trim().toLowerCase() || 'auto';
  if (!SANDBOX_MODES.includes(raw as SandboxMode)) {
    throw new Error(`LONGRUN_SANDBOX='${env.LONGRUN_SANDBOX}' is not valid; use one of: ${SANDBOX_MODES.join(', ')}`);
  }
  const extraEnvAllow = (env.LONGRUN_SANDBOX_ENV_ALLOW ?? '').split(/[\s,]+/).filter(Boolean);
  return { mode: raw as SandboxMode, extraEnvAllow };
}

/**
 * Private HOME and TMPDIR of a workspace's commands, under `base`. run_command puts them in the
 * worktree's git dir (removed with the worktree, never shown by git status); the fallback for a
 * directory that is not a git worktree is a per-path directory under the OS temp dir.
 */
export function privateDirs(base: string): { home: string; tmp: string } {
  const dirs = { home: path.join(base, 'home'), tmp: path.join(base, 'tmp') };
  fs.mkdirSync(dirs.home, { recursive: true, mode: 0o700 });
  fs.mkdirSync(dirs.tmp, { recursive: true, mode: 0o700 });
  return dirs;
}

export function defaultPrivateBase(workspace: string): string {
  const id = createHash('sha256').update(path.resolve(workspace)).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), 'longrun-sandbox', id);
}

/** Removes the fallback private dirs of `workspace` (callers of execCommand without privateBase). */
export function removeDefaultPrivateDirs(workspace: string): void {
  fs.rmSync(defaultPrivateBase(workspace), { recursive: true, force: true });
}

/** The environment an agent command sees: the allow-list above, never a secret. */
export function commandEnv(
  source: NodeJS.ProcessEnv,
  extraAllow: readonly string[],
  dirs: { home: string; tmp: string },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...BASE_ENV_ALLOW, ...extraAllow]) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH ??= FALLBACK_PATH;
  if (!extraAllow.includes('HOME') || source.HOME === undefined) env.HOME = dirs.home;
  if (!extraAllow.includes('TMPDIR') || source.TMPDIR === undefined) env.TMPDIR = dirs.tmp;
  env.TERM = 'dumb';
  env.CI = 'true';
  env.GIT_AUTHOR_NAME = env.GIT_COMMITTER_NAME = 'longrun';
  env.GIT_AUTHOR_EMAIL = env.GIT_COMMITTER_EMAIL = 'longrun@localhost';
  env.GIT_TERMINAL_PROMPT = '0';
  for (const name of Object.keys(env)) if (SECRET_NAME.test(name)) delete env[name];
  return env;
}

export function findOnPath(command: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? FALLBACK_PATH).split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export type SandboxChoice = { kind: 'bwrap'; bwrapPath: string } | { kind: 'none'; reason: string };

const PROBE_TIMEOUT_MS = 15_000;
const probes = new Map<string, Promise<string | null>>();

/** Runs a trivial command under the same bwrap flags we use; resolves to null if it works, else the error. */
function probeBwrap(bwrapPath: string): Promise<string | null> {
  let probe = probes.get(bwrapPath);
  if (!probe) {
    probe = new Promise<string | null>((resolve) => {
      const args = [...bwrapArgs({ cwd: '/', writable: [] }), '--', 'true'];
      // Our own timer: spawn's `timeout` option leaks its timer when the executable does not exist.
      const child = spawn(bwrapPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
      const done = (error: string | null) => {
        clearTimeout(timer);
        resolve(error);
      };
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', (err) => done(err.message));
      child.on('close', (code, signal) => done(code === 0 ? null : stderr.trim() || `exit ${code ?? signal}`));
    });
    // Only a working bwrap is remembered: a probe that failed (or timed out on a busy host) is tried again next time.
    void probe.then((error) => error !== null && probes.delete(bwrapPath));
    probes.set(bwrapPath, probe);
  }
  return probe;
}

/**
 * Decides how agent-written code runs: inside bubblewrap, or (LONGRUN_SANDBOX=off only) unsandboxed. Throws
 * SandboxUnavailableError, with the fix, when bubblewrap is required and missing or broken.
 */
export async function chooseSandbox(settings: SandboxSettings, pathVar: string | undefined): Promise<SandboxChoice> {
  if (settings.mode === 'off') return { kind: 'none', reason: 'LONGRUN_SANDBOX=off' };
  const bwrapPath = settings.bwrapPath ?? findOnPath('bwrap', pathVar);
  let problem: string;
  if (!bwrapPath) problem = 'bwrap is not on PATH';
  else {
    const error = await probeBwrap(bwrapPath);
    if (error === null) return { kind: 'bwrap', bwrapPath };
    problem = `bwrap at ${bwrapPath} does not work on this host: ${error}`;
  }
  throw new SandboxUnavailableError(
    `LONGRUN_SANDBOX=${settings.mode}${settings.mode === 'auto' ? ' (the default)' : ''} runs agent-written code ` +
      `(agent commands and the test command) only inside bubblewrap, but ${problem}. Fix: install bubblewrap ` +
      '(apt-get install bubblewrap) where unprivileged user namespaces are allowed (docs/troubleshooting.md), or set ' +
      "LONGRUN_SANDBOX=off on the worker to run agent code unsandboxed as the worker's user (docs/security.md says " +
      'what that leaves protected).',
  );
}

/** One line on how this worker runs agent-written code, for its start-up log; `ok: false` when runs will be refused. */
export async function describeSandbox(
  settings: SandboxSettings,
  pathVar: string | undefined,
): Promise<{ ok: boolean; message: string }> {
  try {
    const choice = await chooseSandbox(settings, pathVar);
    return choice.kind === 'bwrap'
      ? { ok: true, message: `agent commands and the test command run inside bubblewrap (${choice.bwrapPath})` }
      : {
          ok: true,
          message:
            "LONGRUN_SANDBOX=off: agent commands and the test command run UNSANDBOXED as the worker's user " +
            '(allow-listed environment, own process group, secrets redacted from what is stored)',
        };
  } catch (err) {
    if (!(err instanceof SandboxUnavailableError)) throw err;
    return { ok: false, message: `runs will be refused: ${err.message}` };
  }
}

/** Credential stores under the worker's HOME, hidden inside the sandbox (the root is otherwise readable). */
export const HIDDEN_IN_HOME = [
  '.aws',
  '.ssh',
  '.gnupg',
  '.docker',
  '.kube',
  '.azure',
  '.netrc',
  '.npmrc',
  '.yarnrc',
  '.pypirc',
  '.git-credentials',
  '.config/gh',
  '.config/gcloud',
  '.config/hub',
  '.cargo/credentials',
  '.cargo/credentials.toml',
];

/** Existing credential paths of `home`, each a directory or a file, that do not contain `cwd`. */
export function credentialPaths(home: string, cwd: string): Array<{ path: string; dir: boolean }> {
  const found: Array<{ path: string; dir: boolean }> = [];
  for (const rel of HIDDEN_IN_HOME) {
    const full = path.join(home, rel);
    try {
      const stat = fs.statSync(full);
      const contains = path.relative(full, cwd);
      if (contains === '' || (!contains.startsWith('..') && !path.isAbsolute(contains))) continue;
      found.push({ path: full, dir: stat.isDirectory() });
    } catch {
      // absent
    }
  }
  return found;
}

/**
 * bubblewrap flags: read-only root with the worker's credential stores hidden, private /tmp, writable
 * worktree + extras, no network unless granted, own PID namespace (so the worker's /proc/<pid>/environ is not visible).
 */
export function bwrapArgs(opts: {
  cwd: string;
  writable: string[];
  /** Visible read-only even under /tmp (which is otherwise a private tmpfs): a checkout's git directories. */
  readOnly?: string[];
  /** Read-only on top of the writable directories: a git directory's config and hooks (see gitProtected). */
  protect?: string[];
  hide?: Array<{ path: string; dir: boolean }>;
  /** Keep the host's network (a setup step that installs dependencies); default: none. */
  network?: boolean;
}): string[] {
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];
  for (const hidden of opts.hide ?? []) {
    args.push(...(hidden.dir ? ['--tmpfs', hidden.path] : ['--ro-bind', '/dev/null', hidden.path]));
  }
  // Binds come after --tmpfs /tmp so a worktree under /tmp is mounted on top of the private /tmp; writable ones last,
  // so a private HOME inside a read-only git directory stays writable.
  for (const dir of opts.readOnly ?? []) args.push('--ro-bind', dir, dir);
  for (const dir of opts.writable) args.push('--bind', dir, dir);
  for (const file of opts.protect ?? []) args.push('--ro-bind', file, file);
  if (!opts.network) args.push('--unshare-net');
  args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--chdir', opts.cwd);
  return args;
}

/**
 * What stays read-only in a writable git directory: its config and hooks. longrun runs git there itself, outside the
 * sandbox (checkpoints, merges); a planted hook, fsmonitor, filter or ssh command would run as the worker's user.
 */
export function gitProtected(gitDirs: string[]): string[] {
  const out: string[] = [];
  for (const dir of new Set(gitDirs)) {
    for (const name of ['config', 'config.worktree', 'hooks']) {
      if (fs.existsSync(path.join(dir, name))) out.push(path.join(dir, name));
    }
  }
  return out;
}
