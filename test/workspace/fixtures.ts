import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { LongrunConfig } from '../../src/config';
import { createWorkspaceActivities } from '../../src/activities/workspace';
import type { Integrator } from '../../src/workspace/integrator';

const exec = promisify(execFile);

/** The test's own git identity: nothing may depend on the host's global git config. */
const USER_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test User',
  GIT_AUTHOR_EMAIL: 'user@example.com',
  GIT_COMMITTER_NAME: 'Test User',
  GIT_COMMITTER_EMAIL: 'user@example.com',
};

/** Runs git as "the user" in `cwd`; returns trimmed stdout. */
export async function userGit(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('git', args, { cwd, env: USER_ENV, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

export async function makeDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `longrun-ws-${prefix}-`));
}

/** A user repository with one commit holding `files`, on branch main. */
export async function makeUserRepo(root: string, files: Record<string, string | Buffer>): Promise<string> {
  const repo = path.join(root, 'user-repo');
  await fs.mkdir(repo, { recursive: true });
  await userGit(repo, 'init', '--quiet', '-b', 'main');
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(repo, name)), { recursive: true });
    await fs.writeFile(path.join(repo, name), content);
  }
  await userGit(repo, 'add', '-A');
  await userGit(repo, 'commit', '--quiet', '-m', 'initial');
  return repo;
}

export interface Fixture {
  root: string;
  home: string;
  repo: string;
  config: LongrunConfig;
  acts: ReturnType<typeof createWorkspaceActivities>;
  cleanup: () => Promise<void>;
}

export async function fixture(
  files: Record<string, string | Buffer> = { 'README.md': '# demo\n' },
  integrator?: Integrator,
): Promise<Fixture> {
  const root = await makeDir('fx');
  const home = path.join(root, 'home');
  const repo = await makeUserRepo(root, files);
  const config: LongrunConfig = { home, temporalAddress: 'unused:0', namespace: 'default', taskQueue: 'unused' };
  return {
    root,
    home,
    repo,
    config,
    acts: createWorkspaceActivities({ config, integrator }),
    cleanup: () => fs.rm(root, { recursive: true, force: true }),
  };
}

/** Subjects and trailers of the target's first-parent history, newest first. */
export async function firstParentLog(
  hubPath: string,
  ref: string,
): Promise<Array<{ parents: number; trailer: string }>> {
  const out = await userGit(
    hubPath,
    'log',
    '--first-parent',
    '--format=%P%x1f%(trailers:key=Longrun-Task,valueonly,separator=%x2c)%x1e',
    ref,
  );
  return out
    .split('\x1e')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => {
      const [parents, trailer] = r.split('\x1f');
      return { parents: parents.split(' ').filter(Boolean).length, trailer: (trailer ?? '').trim() };
    });
}

export async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}
