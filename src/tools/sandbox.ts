import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Sandbox for agent commands (run_command) — the behaviour the docs describe:
 *
 * - Environment: agent commands never inherit the worker's environment. They get an allow-list:
 *   PATH, LANG, LC_ALL, LC_CTYPE, TZ, SHELL, USER, LOGNAME, plus TERM=dumb, CI=true, a git identity
 *   "longrun <longrun@localhost>", and a private HOME and TMPDIR per workspace (kept in the worktree's
 *   git dir, so they go away with the worktree; the worker's ~/.npmrc, ~/.aws, ~/.gitconfig are not
 *   picked up). LONGRUN_SANDBOX_ENV_ALLOW (comma or space separated names) passes more through;
 *   listing HOME or TMPDIR there passes the real one. Any name matching
 *   /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/i is dropped even when allow-listed, so provider keys
 *   (OPENAI_API_KEY, ANTHROPIC_API_KEY), GITHUB_TOKEN or AWS secrets never reach a command.
 * - LONGRUN_SANDBOX=auto (default): if `bwrap` (Debian/Ubuntu package `bubblewrap`) is on PATH and
 *   works on this host (checked once per worker process by running `true` under it), each command
 *   runs inside bubblewrap: no network (--unshare-net), its own PID namespace (every process dies with
 *   the command; the worker's /proc is not visible), the root filesystem read-only with the worker's
 *   credential stores (~/.aws, ~/.ssh, ~/.npmrc, ... see HIDDEN_IN_HOME) hidden, a private /tmp, and
 *   only the worktree, its git directory (so `git add` / `git commit` work) and the private HOME
 *   writable. If bwrap is missing or fails (e.g. a container without user namespaces), commands run
 *   unsandboxed — still with the allow-listed environment, in their own process group — and the
 *   worker logs one warning.
 * - LONGRUN_SANDBOX=bwrap: bubblewrap is required; if it is missing or broken, the runTool activity
 *   fails (non-retryable, type SandboxUnavailable) with a message saying how to fix it.
 * - LONGRUN_SANDBOX=off: never use bubblewrap.
 *
 * Known limits: without the sandbox a command runs as the worker's user and can read whatever that
 * user can (files, /proc/<worker pid>/environ): the allow-list keeps secrets out of the environment,
 * it is not isolation — use LONGRUN_SANDBOX=bwrap where agents must not see the host. Git: a task's
 * workspace is its own repository borrowing the hub's objects read-only (src/workspace/worktree.ts),
 * so only its own `.git` is writable and the hub (target, other tasks' branches, checkpoints,
 * objects) is on the read-only root. Without the sandbox a command that names the hub's path can
 * still write it: the target is then put back by the tip guard (src/workspace/guard.ts) and the
 * incident recorded; other tasks' hub branches are refreshed from their workspaces at checkpoints.
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
export const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/i;
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
const warned = new Set<string>();

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
    probes.set(bwrapPath, probe);
  }
  return probe;
}

/**
 * Decides whether commands run inside bubblewrap. `auto` falls back (one warning per worker process
 * and reason); `bwrap` throws SandboxUnavailableError; `off` never sandboxes.
 */
export async function chooseSandbox(
  settings: SandboxSettings,
  pathVar: string | undefined,
  warn: (message: string) => void = (m) => console.warn(m),
): Promise<SandboxChoice> {
  if (settings.mode === 'off') return { kind: 'none', reason: 'LONGRUN_SANDBOX=off' };
  const bwrapPath = settings.bwrapPath ?? findOnPath('bwrap', pathVar);
  let problem: string | null;
  if (!bwrapPath) problem = 'bwrap is not on PATH (install the bubblewrap package)';
  else {
    const error = await probeBwrap(bwrapPath);
    problem = error === null ? null : `bwrap at ${bwrapPath} does not work on this host: ${error}`;
  }
  if (problem === null) return { kind: 'bwrap', bwrapPath: bwrapPath as string };
  if (settings.mode === 'bwrap') {
    throw new SandboxUnavailableError(
      `LONGRUN_SANDBOX=bwrap but ${problem}. Install bubblewrap where it can create namespaces, ` +
        'or set LONGRUN_SANDBOX=auto (fall back to unsandboxed commands) or off.',
    );
  }
  if (!warned.has(problem)) {
    warned.add(problem);
    warn(`longrun: agent commands run without a sandbox: ${problem}. Set LONGRUN_SANDBOX=off to silence this.`);
  }
  return { kind: 'none', reason: problem };
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
 * worktree + extras, no network, own PID namespace (so the worker's /proc/<pid>/environ is not visible).
 */
export function bwrapArgs(opts: {
  cwd: string;
  writable: string[];
  hide?: Array<{ path: string; dir: boolean }>;
}): string[] {
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];
  for (const hidden of opts.hide ?? []) {
    args.push(...(hidden.dir ? ['--tmpfs', hidden.path] : ['--ro-bind', '/dev/null', hidden.path]));
  }
  // Binds come after --tmpfs /tmp so a worktree under /tmp is mounted on top of the private /tmp.
  for (const dir of opts.writable) args.push('--bind', dir, dir);
  args.push(
    '--unshare-net',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--die-with-parent',
    '--chdir',
    opts.cwd,
  );
  return args;
}
