import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { heartbeating } from '../activities/heartbeat';
import { paths, safeName } from '../config';
import type { Redact } from '../core/redact';
import { execCommand } from '../tools/exec';
import { gitDirs } from '../tools/git';
import { sandboxSettingsFromEnv, type SandboxSettings } from '../tools/sandbox';
import { nonRetryable, WORKSPACE_ERRORS } from './errors';
import { git } from './git';
import { KeyedMutex } from './mutex';
import { tailText } from './names';
import { addWorktree } from './worktree';

/**
 * A checkout's dependencies (node_modules, .venv, a Go module cache...), installed once per environment key per host
 * and shared by every workspace and verification checkout of the run. The setup command runs outside the agents'
 * reach (with network, in a staging checkout under `<home>/envs/<runId>/<key>/`); each checkout then gets symlinks to
 * its git-ignored outputs (read-only inside the sandbox) and the variables pointing at its caches. Opening a
 * checkout costs a few symlinks, not an install. The key hashes the command and its key files (the lockfiles), so a
 * task that changes a lockfile gets its own environment, prepared on demand.
 */

/** What `setup` resolved to for a checkout. `command: ''` = no environment. */
export interface SetupPlan {
  command: string;
  /** Files whose contents make the key (lockfiles, or the run's setupKey). */
  keyFiles: string[];
  /** Variables for setup and for every command of the checkout; `{cache}` is the key's cache directory. */
  env: Record<string, string>;
  /** 'input' (the run's `setup`) or the ecosystem detected ('npm', 'uv', 'go'...). */
  source: string;
}

/** The run's setting, as the user gave it: `setup` absent = detect, '' = off. */
export interface EnvironmentConfig {
  setup?: string;
  setupKey?: string[];
}

export const SETUP_TIMEOUT_MS = 30 * 60_000;
const LOG_TAIL = 4_000;

interface Ecosystem {
  source: string;
  /** The first of these present makes the ecosystem's lockfile. */
  lockfiles: string[];
  command: string;
  /** Files hashed into the key besides the lockfile. */
  also?: string[];
  env?: Record<string, string>;
}

/** In order of precedence: a repository with both a uv.lock and a requirements.txt is a uv project. */
const ECOSYSTEMS: Ecosystem[] = [
  { source: 'pnpm', lockfiles: ['pnpm-lock.yaml'], command: 'pnpm install --frozen-lockfile', also: ['package.json'] },
  { source: 'yarn', lockfiles: ['yarn.lock'], command: 'yarn install --frozen-lockfile', also: ['package.json'] },
  {
    source: 'npm',
    lockfiles: ['package-lock.json', 'npm-shrinkwrap.json'],
    command: 'npm ci --no-audit --no-fund',
    also: ['package.json'],
  },
  { source: 'uv', lockfiles: ['uv.lock'], command: 'uv sync --frozen', also: ['pyproject.toml'] },
  {
    source: 'poetry',
    lockfiles: ['poetry.lock'],
    command: 'poetry install --no-interaction',
    also: ['pyproject.toml'],
    env: { POETRY_VIRTUALENVS_IN_PROJECT: 'true' },
  },
  {
    source: 'pip',
    lockfiles: ['requirements.txt'],
    command: 'python3 -m venv .venv && .venv/bin/pip install -r requirements.txt',
  },
  {
    source: 'go',
    lockfiles: ['go.sum'],
    command: 'go mod download',
    also: ['go.mod'],
    // Agents build offline from the module cache setup filled.
    env: { GOMODCACHE: '{cache}/gomod', GOFLAGS: '-mod=mod', GOPROXY: 'off' },
  },
  {
    source: 'cargo',
    lockfiles: ['Cargo.lock'],
    command: 'cargo fetch',
    also: ['Cargo.toml'],
    env: { CARGO_HOME: '{cache}/cargo', CARGO_NET_OFFLINE: 'true' },
  },
  {
    source: 'maven',
    lockfiles: ['pom.xml'],
    command: 'mvn -q dependency:go-offline',
    env: { MAVEN_OPTS: '-Dmaven.repo.local={cache}/m2' },
  },
  {
    source: 'gradle',
    lockfiles: ['build.gradle.kts', 'build.gradle'],
    command: './gradlew --no-daemon dependencies || gradle --no-daemon dependencies',
    also: ['settings.gradle', 'settings.gradle.kts', 'gradle.lockfile'],
    env: { GRADLE_USER_HOME: '{cache}/gradle' },
  },
];

/** Setup for a checkout whose top level holds `names`; null when no known lockfile is there. Pure. */
export function detectSetupFromNames(names: readonly string[]): SetupPlan | null {
  const present = new Set(names);
  for (const eco of ECOSYSTEMS) {
    const lockfile = eco.lockfiles.find((name) => present.has(name));
    if (!lockfile) continue;
    const keyFiles = [lockfile, ...(eco.also ?? []).filter((name) => present.has(name))];
    return { command: eco.command, keyFiles, env: eco.env ?? {}, source: eco.source };
  }
  return null;
}

/** The plan for `dir`: the run's own command, detected from its lockfiles, or off. */
export async function resolveSetup(dir: string, config: EnvironmentConfig): Promise<SetupPlan | null> {
  const detected = detectSetupFromNames(await fs.readdir(dir).catch(() => [] as string[]));
  if (config.setup === '') return null;
  if (config.setup !== undefined) {
    const keyFiles = config.setupKey ?? detected?.keyFiles ?? [];
    return { command: config.setup, keyFiles, env: {}, source: 'input' };
  }
  if (detected && config.setupKey) detected.keyFiles = config.setupKey;
  return detected;
}

/** sha256 of the command, the variables and each key file's name and contents (a missing file hashes as such). */
export async function environmentKey(dir: string, plan: SetupPlan): Promise<string> {
  const hash = createHash('sha256').update(`${plan.command}\0${JSON.stringify(plan.env)}\0`);
  for (const file of [...plan.keyFiles].sort()) {
    const content = await fs.readFile(path.join(dir, file)).catch(() => null);
    hash.update(`${file}\0${content === null ? '-' : content.length}\0`);
    if (content) hash.update(content);
  }
  return hash.digest('hex').slice(0, 20);
}

/** Top-level git-ignored entries of a checkout (from `git status --ignored --porcelain`). Pure. */
export function ignoredTopLevel(porcelain: string): string[] {
  const out = new Set<string>();
  for (const line of porcelain.split('\n')) {
    if (!line.startsWith('!! ')) continue;
    const top = line.slice(3).replace(/^"|"$/g, '').split('/')[0];
    if (top && top !== '.git') out.add(top);
  }
  return [...out].sort();
}

/** `.git/info/exclude` with a `/<name>` line for each output missing from it. Pure. */
export function withExcludes(exclude: string, outputs: readonly string[]): string {
  const lines = new Set(exclude.split('\n').map((line) => line.trim()));
  const missing = outputs.map((name) => `/${name}`).filter((line) => !lines.has(line));
  if (missing.length === 0) return exclude;
  const sep = exclude === '' || exclude.endsWith('\n') ? '' : '\n';
  return `${exclude}${sep}# longrun: the run's prepared environment (symlinks)\n${missing.join('\n')}\n`;
}

export const envPaths = {
  run: (home: string, runId: string) => path.join(home, 'envs', runId.replace(/[^A-Za-z0-9._-]/g, '_')),
  config: (home: string, runId: string) => path.join(envPaths.run(home, runId), 'config.json'),
  key: (home: string, runId: string, key: string) => path.join(envPaths.run(home, runId), key),
  /** Setup's output, in the artifact store: it outlives the caches, which go with the run. */
  log: (home: string, runId: string, key: string) =>
    path.join(paths.artifacts(home), 'setup', safeName(runId), `${key}.log`),
};

/** What a prepared key holds (its READY marker). */
export interface PreparedEnvironment {
  key: string;
  command: string;
  source: string;
  exitCode: number | null;
  durationMs: number;
  outputs: string[];
  /** Variables with `{cache}` replaced. */
  env: Record<string, string>;
  dir: string;
  log: string;
}

export class SetupFailedError extends Error {
  override name = 'SetupFailedError';
}

export interface SetupContext {
  home: string;
  runId: string;
  hubPath: string;
  /** The commit setup checks out (asked only when setup runs). */
  commit: string | (() => Promise<string>);
  /**
   * The checkout the key was computed from: its key files are copied over the commit's, since a task's changed
   * lockfile is in its working tree, not yet in a commit.
   */
  keySource?: string;
  /** The worker's environment (sandbox settings, allow-list). */
  env?: NodeJS.ProcessEnv;
  sandbox?: SandboxSettings;
  redact?: Redact;
  timeoutMs?: number;
}

const keyLocks = new KeyedMutex();

/**
 * The environment for `key`, set up now unless already READY. One setup per key per host: an in-process mutex, and
 * a lock directory for other worker processes on the host. Throws SetupFailedError with the command, exit code and
 * output tail when the command fails.
 */
export async function ensureEnvironment(ctx: SetupContext, plan: SetupPlan, key: string): Promise<PreparedEnvironment> {
  const dir = envPaths.key(ctx.home, ctx.runId, key);
  return keyLocks.run(dir, async () => {
    const ready = await readReady(dir);
    if (ready) return ready;
    return withHostLock(`${dir}.lock`, async () => (await readReady(dir)) ?? runSetup(ctx, plan, key, dir));
  });
}

async function readReady(dir: string): Promise<PreparedEnvironment | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, 'READY'), 'utf8')) as PreparedEnvironment;
  } catch {
    return null;
  }
}

async function withHostLock<T>(lock: string, work: () => Promise<T>): Promise<T> {
  await fs.mkdir(path.dirname(lock), { recursive: true });
  await heartbeating(
    () => takeHostLock(lock),
    () => ({ step: 'setup', waiting: lock }),
  );
  try {
    return await work();
  } finally {
    await fs.rm(lock, { recursive: true, force: true });
  }
}

async function takeHostLock(lock: string): Promise<void> {
  for (;;) {
    try {
      await fs.mkdir(lock);
      await fs.writeFile(path.join(lock, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A holder that died (a killed worker) leaves its lock: take it over.
      const pid = Number(await fs.readFile(path.join(lock, 'pid'), 'utf8').catch(() => '0'));
      if (pid && !alive(pid)) await fs.rm(lock, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function runSetup(ctx: SetupContext, plan: SetupPlan, key: string, dir: string): Promise<PreparedEnvironment> {
  await fs.rm(dir, { recursive: true, force: true });
  const work = path.join(dir, 'work');
  const cache = path.join(dir, 'cache');
  await fs.mkdir(cache, { recursive: true });
  const commit = typeof ctx.commit === 'string' ? ctx.commit : await ctx.commit();
  await addWorktree(ctx.hubPath, work, { commit });
  if (ctx.keySource) await copyKeyFiles(ctx.keySource, work, plan.keyFiles);
  const before = ignoredTopLevel((await git(work, ['status', '--ignored', '--porcelain'])).stdout);
  const env = Object.fromEntries(Object.entries(plan.env).map(([k, v]) => [k, v.replaceAll('{cache}', cache)]));
  const sourceEnv = ctx.env ?? process.env;
  const timeoutMs = ctx.timeoutMs ?? SETUP_TIMEOUT_MS;
  const dirs = await gitDirs(work);
  const started = Date.now();
  // The agents' sandbox (no worker secrets: install scripts come from the agents' branches), but with network,
  // and the key's directory writable.
  const result = await heartbeating(
    () =>
      execCommand(plan.command, {
        cwd: work,
        timeoutMs,
        sourceEnv,
        sandbox: ctx.sandbox ?? sandboxSettingsFromEnv(sourceEnv),
        network: true,
        writable: [dir],
        readOnly: dirs ? [...new Set([dirs.commonDir])] : [],
        privateBase: path.join(dir, 'sandbox'),
        extraEnv: env,
        headBytes: 16_000,
        tailBytes: 64_000,
      }),
    () => ({ step: 'setup', key, elapsedMs: Date.now() - started }),
  );
  const redact = ctx.redact ?? (<T>(value: T) => value);
  const output = redact(result.output);
  const log = envPaths.log(ctx.home, ctx.runId, key);
  await fs.mkdir(path.dirname(log), { recursive: true });
  await fs.writeFile(log, `$ ${plan.command}\n${output}`);
  const ok = result.exitCode === 0 && !result.timedOut;
  if (!ok) {
    const status = result.timedOut ? `timed out after ${Math.round(timeoutMs / 1000)}s` : `exit ${result.exitCode}`;
    throw new SetupFailedError(
      `setup \`${plan.command}\` (${plan.source === 'input' ? 'the run\'s "setup"' : `detected: ${plan.source}`}) ` +
        `failed: ${status}. Fix the command or pass "setup" (--setup; "" turns setup off). Full output: ${log}. ` +
        `Output (tail):\n` +
        tailText(output, LOG_TAIL),
    );
  }
  const after = ignoredTopLevel((await git(work, ['status', '--ignored', '--porcelain'])).stdout);
  const outputs = after.filter((name) => !before.includes(name));
  const prepared: PreparedEnvironment = {
    key,
    command: plan.command,
    source: plan.source,
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    outputs,
    env,
    dir,
    log,
  };
  await fs.writeFile(path.join(dir, 'READY'), JSON.stringify(prepared, null, 2));
  return prepared;
}

/** The key files as they are in `from` (a file missing there is removed): what the environment's key hashed. */
async function copyKeyFiles(from: string, to: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    if (path.relative(to, path.join(to, file)).startsWith('..')) continue; // a setupKey entry outside the checkout
    const content = await fs.readFile(path.join(from, file)).catch(() => null);
    if (content === null) await fs.rm(path.join(to, file), { force: true });
    else {
      await fs.mkdir(path.dirname(path.join(to, file)), { recursive: true });
      await fs.writeFile(path.join(to, file), content);
    }
  }
}

/** Written into a checkout's git dir: what run_command and verification add to a command there. */
export interface CheckoutEnvironment {
  key: string;
  command: string;
  keyFiles: string[];
  /** The key's directory: read-only inside the sandbox. */
  dir: string;
  env: Record<string, string>;
  outputs: string[];
}

const CHECKOUT_FILE = 'longrun-env.json';

/**
 * Links the prepared outputs into `checkout` (each a symlink into the key's directory, git-ignored through
 * `.git/info/exclude`: `node_modules/` in a .gitignore does not match a symlink) and records the environment in its
 * git dir. An output the checkout already has as a real file or directory is left alone.
 */
export async function linkEnvironment(checkout: string, plan: SetupPlan, prepared: PreparedEnvironment): Promise<void> {
  const gitdir = path.join(checkout, '.git');
  for (const name of prepared.outputs) {
    const link = path.join(checkout, name);
    const existing = await fs.lstat(link).catch(() => null);
    if (existing && !existing.isSymbolicLink()) continue;
    if (existing) await fs.rm(link, { force: true });
    await fs.symlink(path.join(prepared.dir, 'work', name), link);
  }
  const exclude = path.join(gitdir, 'info', 'exclude');
  await fs.mkdir(path.dirname(exclude), { recursive: true });
  const current = await fs.readFile(exclude, 'utf8').catch(() => '');
  const next = withExcludes(current, prepared.outputs);
  if (next !== current) await fs.writeFile(exclude, next);
  const record: CheckoutEnvironment = {
    key: prepared.key,
    command: prepared.command,
    keyFiles: plan.keyFiles,
    dir: prepared.dir,
    env: prepared.env,
    outputs: prepared.outputs,
  };
  await fs.writeFile(path.join(gitdir, CHECKOUT_FILE), JSON.stringify(record));
}

/** The environment recorded in a checkout's git dir, or null. */
export async function readCheckoutEnvironment(gitdir: string): Promise<CheckoutEnvironment | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(gitdir, CHECKOUT_FILE), 'utf8')) as CheckoutEnvironment;
  } catch {
    return null;
  }
}

/** Whether the checkout's key files changed since its environment was prepared (a task edited a lockfile). */
export async function environmentStale(checkout: string, recorded: CheckoutEnvironment): Promise<boolean> {
  const plan = { command: recorded.command, keyFiles: recorded.keyFiles, env: {}, source: '' };
  const envTemplate = Object.fromEntries(
    Object.entries(recorded.env).map(([k, v]) => [k, v.replaceAll(path.join(recorded.dir, 'cache'), '{cache}')]),
  );
  return (await environmentKey(checkout, { ...plan, env: envTemplate })) !== recorded.key;
}

export async function writeEnvironmentConfig(home: string, runId: string, config: EnvironmentConfig): Promise<void> {
  await fs.mkdir(envPaths.run(home, runId), { recursive: true });
  await fs.writeFile(envPaths.config(home, runId), JSON.stringify(config));
}

/** The run's setting on this host; null for runs that never prepared an environment (older runs). */
export async function readEnvironmentConfig(home: string, runId: string): Promise<EnvironmentConfig | null> {
  try {
    return JSON.parse(await fs.readFile(envPaths.config(home, runId), 'utf8')) as EnvironmentConfig;
  } catch {
    return null;
  }
}

/**
 * Gives `checkout` the run's environment for its own key (setting it up first for a key this host has not seen).
 * Returns null when the run has none. `config` defaults to the run's recorded setting.
 */
export async function materializeEnvironment(
  ctx: Omit<SetupContext, 'commit'> & { checkout: string; config?: EnvironmentConfig },
): Promise<PreparedEnvironment | null> {
  const config = ctx.config ?? (await readEnvironmentConfig(ctx.home, ctx.runId));
  if (!config) return null;
  const plan = await resolveSetup(ctx.checkout, config);
  if (!plan) return null;
  const key = await environmentKey(ctx.checkout, plan);
  // The commit only matters to a setup that runs: a key already READY (every checkout but the first) needs no git.
  const commit = async () => (await git(ctx.checkout, ['rev-parse', 'HEAD'])).stdout.trim();
  const prepared = await ensureEnvironment({ ...ctx, commit, keySource: ctx.checkout }, plan, key);
  await linkEnvironment(ctx.checkout, plan, prepared);
  return prepared;
}

/** Removes every environment of the run (its setup logs stay, in the artifact store). */
export async function removeEnvironments(home: string, runId: string): Promise<void> {
  await fs.rm(envPaths.run(home, runId), { recursive: true, force: true, maxRetries: 3 });
}

/** The first phase of a run: the environment of the base commit, or a non-retryable error naming the fix. */
export async function prepareEnvironment(ctx: SetupContext & { commit: string; config: EnvironmentConfig }): Promise<{
  command: string | null;
  source: string | null;
  key: string | null;
  log: string | null;
  durationMs: number;
}> {
  await writeEnvironmentConfig(ctx.home, ctx.runId, ctx.config);
  const probe = path.join(envPaths.run(ctx.home, ctx.runId), `_probe-${ctx.commit.slice(0, 12)}`);
  try {
    await addWorktree(ctx.hubPath, probe, { commit: ctx.commit });
    const prepared = await materializeEnvironment({ ...ctx, checkout: probe });
    if (!prepared) return { command: null, source: null, key: null, log: null, durationMs: 0 };
    const { command, source, key, log, durationMs } = prepared;
    return { command, source, key, log, durationMs };
  } catch (err) {
    if (err instanceof SetupFailedError) throw nonRetryable(WORKSPACE_ERRORS.setupFailed, err.message);
    throw err;
  } finally {
    await fs.rm(probe, { recursive: true, force: true });
  }
}
