import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { paths } from '../../src/config';
import { exists, fixture, userGit, type Fixture } from './fixtures';

const runId = 'run-wt';

describe('workspaces', () => {
  let fx: Fixture;
  let hubPath: string;
  let base: string;

  beforeEach(async () => {
    fx = await fixture({ 'README.md': '# demo\n', 'src/a.ts': 'export const a = 1;\n' });
    const hub = await fx.acts.prepareHub({ runId, repo: fx.repo });
    hubPath = hub.hubPath;
    base = hub.baseCommit;
  });
  afterEach(() => fx.cleanup());

  /** The run's workspace directories (each its own repository; the hub registers no worktrees). */
  const workspaces = async () =>
    (await fs.readdir(path.join(fx.home, 'worktrees', runId)).catch(() => [] as string[]))
      .sort()
      .map((name) => path.join(fx.home, 'worktrees', runId, name));

  test('openWorkspace: a repository on task/<id> from the target tip; a second call returns the same', async () => {
    const taskId = `${runId}/c0/planner/t1`;
    const info = await fx.acts.openWorkspace({ runId, taskId });
    expect(info).toEqual({
      path: paths.worktree(fx.home, runId, taskId),
      branch: `task/${runId}_c0_planner_t1`,
      baseCommit: base,
    });
    expect(await fs.readFile(path.join(info.path, 'src/a.ts'), 'utf8')).toBe('export const a = 1;\n');
    expect(await userGit(info.path, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${info.branch}`);
    expect(await fx.acts.openWorkspace({ runId, taskId })).toEqual(info);
    expect(await workspaces()).toEqual([info.path]);
    // Its own repository: refs and git dir of its own, the hub's objects borrowed, no remote to push to.
    expect(await userGit(info.path, 'rev-parse', '--git-common-dir')).toBe('.git');
    expect(await userGit(info.path, 'for-each-ref', '--format=%(refname)')).toBe(`refs/heads/${info.branch}`);
    expect(await userGit(info.path, 'remote')).toBe('');
    expect(await fs.readFile(path.join(info.path, '.git/objects/info/alternates'), 'utf8')).toBe(
      `${path.join(hubPath, 'objects')}\n`,
    );
    expect(await userGit(hubPath, 'worktree', 'list', '--porcelain')).toBe(`worktree ${hubPath}\nbare`);
  });

  test('many workspaces open concurrently on one hub', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const infos = await Promise.all(ids.map((taskId) => fx.acts.openWorkspace({ runId, taskId })));
    for (const info of infos) expect(await exists(path.join(info.path, 'README.md'))).toBe(true);
    expect((await workspaces()).length).toBe(20);
    await Promise.all(ids.map((taskId) => fx.acts.closeWorkspace({ runId, taskId })));
    expect(await workspaces()).toEqual([]);
  });

  test('checkpoint commits everything as longrun and the hub has the branch at that commit', async () => {
    const info = await fx.acts.openWorkspace({ runId, taskId: 'cp' });
    expect(await fx.acts.checkpointWorkspace({ runId, taskId: 'cp', message: 'nothing yet' })).toEqual({
      commit: null,
    });

    await fs.writeFile(path.join(info.path, 'new.txt'), 'new\n');
    await fs.rm(path.join(info.path, 'README.md'));
    const { commit } = await fx.acts.checkpointWorkspace({ runId, taskId: 'cp', message: 'wip: step 3' });
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(await userGit(hubPath, 'rev-parse', `refs/heads/${info.branch}`)).toBe(commit);
    expect(await userGit(hubPath, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%s', commit!)).toBe(
      'longrun <longrun@localhost>|longrun <longrun@localhost>|wip: step 3',
    );
    expect((await userGit(hubPath, 'show', '--name-status', '--format=', commit!)).split('\n').sort()).toEqual([
      'A\tnew.txt',
      'D\tREADME.md',
    ]);

    // The agent's own commits stay in its repository until longrun fetches them, at the next checkpoint.
    await fs.writeFile(path.join(info.path, 'own.txt'), 'own\n');
    await userGit(info.path, 'add', 'own.txt');
    await userGit(info.path, 'commit', '-q', '-m', 'my own commit');
    const own = await userGit(info.path, 'rev-parse', 'HEAD');
    expect(await userGit(hubPath, 'rev-parse', `refs/heads/${info.branch}`)).toBe(commit);
    expect(await fx.acts.checkpointWorkspace({ runId, taskId: 'cp', message: 'cp' })).toEqual({ commit: own });
    expect(await userGit(hubPath, 'rev-parse', `refs/heads/${info.branch}`)).toBe(own);
  });

  test("hooks and an fsmonitor planted in a workspace's git directories never run in longrun's own git calls", async () => {
    // An unsandboxed agent command (LONGRUN_SANDBOX=off) can write them; longrun's git runs as the worker's user.
    const info = await fx.acts.openWorkspace({ runId, taskId: 'hooked' });
    const marker = path.join(fx.root, 'hook-ran');
    const script = `#!/bin/sh\necho "$0" >> ${marker}\n`;
    const gitDirs = (await userGit(info.path, 'rev-parse', '--absolute-git-dir', '--git-common-dir')).split('\n');
    for (const dir of new Set(gitDirs.map((d) => path.resolve(info.path, d)))) {
      await fs.mkdir(path.join(dir, 'hooks'), { recursive: true });
      for (const hook of ['pre-commit', 'commit-msg', 'post-commit', 'post-checkout', 'reference-transaction']) {
        await fs.writeFile(path.join(dir, 'hooks', hook), script, { mode: 0o755 });
      }
      await fs.writeFile(path.join(dir, 'fsmonitor.sh'), script, { mode: 0o755 });
      await userGit(dir, 'config', 'core.fsmonitor', path.join(dir, 'fsmonitor.sh'));
    }
    await fs.writeFile(path.join(info.path, 'new.txt'), 'new\n');
    expect((await fx.acts.checkpointWorkspace({ runId, taskId: 'hooked', message: 'cp' })).commit).toBeTruthy();
    expect(await fx.acts.integrateTask({ runId, taskId: 'hooked', title: 'hooked' })).toMatchObject({
      status: 'merged',
    });
    await fx.acts.openWorkspace({ runId, taskId: 'next' }); // a new checkout: post-checkout
    expect(await exists(marker)).toBe(false);
  });

  test('resume: a task whose worktree is gone continues from its checkpoint on the hub', async () => {
    const info = await fx.acts.openWorkspace({ runId, taskId: 'resume' });
    await fs.writeFile(path.join(info.path, 'progress.txt'), 'half done\n');
    const { commit } = await fx.acts.checkpointWorkspace({ runId, taskId: 'resume', message: 'checkpoint' });
    // The host "disappears": its worktree is gone, the branch survives in the hub.
    await fx.acts.closeWorkspace({ runId, taskId: 'resume', keepBranch: true });
    expect(await exists(info.path)).toBe(false);

    const resumed = await fx.acts.openWorkspace({ runId, taskId: 'resume' });
    expect(resumed).toEqual({ ...info, resumedFrom: commit });
    expect(await fs.readFile(path.join(resumed.path, 'progress.txt'), 'utf8')).toBe('half done\n');
    expect(await fx.acts.openWorkspace({ runId, taskId: 'resume' })).toEqual(resumed); // same answer on retry
  });

  test('a workspace whose directory vanished is recreated from its branch', async () => {
    const info = await fx.acts.openWorkspace({ runId, taskId: 'vanished' });
    await fs.writeFile(path.join(info.path, 'work.txt'), 'saved\n');
    const { commit } = await fx.acts.checkpointWorkspace({ runId, taskId: 'vanished', message: 'cp' });
    await fs.rm(info.path, { recursive: true, force: true }); // a lost disk, a manual rm
    const again = await fx.acts.openWorkspace({ runId, taskId: 'vanished' });
    expect(again).toEqual({ ...info, resumedFrom: commit });
    expect(await fs.readFile(path.join(again.path, 'work.txt'), 'utf8')).toBe('saved\n');
    expect(await workspaces()).toEqual([info.path]);
  });

  test('a workspace left half-created by a crash is replaced', async () => {
    const wt = paths.worktree(fx.home, runId, 'crashed');
    await fs.mkdir(wt, { recursive: true });
    await fs.writeFile(path.join(wt, 'junk'), 'partial');
    const info = await fx.acts.openWorkspace({ runId, taskId: 'crashed' });
    expect(await exists(path.join(info.path, 'junk'))).toBe(false);
    expect(await exists(path.join(info.path, 'README.md'))).toBe(true);
  });

  test('closeWorkspace removes the workspace and branch, reports disk used, and is idempotent', async () => {
    const info = await fx.acts.openWorkspace({ runId, taskId: 'bye' });
    await fs.writeFile(path.join(info.path, 'big.bin'), Buffer.alloc(64 * 1024, 1));
    const first = await fx.acts.closeWorkspace({ runId, taskId: 'bye' });
    expect(first.diskBytes).toBeGreaterThanOrEqual(64 * 1024);
    expect(await exists(info.path)).toBe(false);
    expect(await workspaces()).toEqual([]);
    expect(await userGit(hubPath, 'branch', '--list', 'task/*')).toBe('');

    expect(await fx.acts.closeWorkspace({ runId, taskId: 'bye' })).toEqual({ diskBytes: 0 });
    expect(await fx.acts.closeWorkspace({ runId, taskId: 'never-opened' })).toEqual({ diskBytes: 0 });
    expect(await fx.acts.closeWorkspace({ runId: 'no-such-run', taskId: 'x' })).toEqual({ diskBytes: 0 });
    expect(await workspaces()).toEqual([]);
  });

  test('read-only workspaces are detached checkouts of the target tip and refuse commits', async () => {
    const info = await fx.acts.openWorkspace({ runId, taskId: 'planner', readOnly: true });
    expect(info).toEqual({
      path: paths.worktree(fx.home, runId, 'planner'),
      branch: `longrun/${runId}`,
      baseCommit: base,
      readOnly: true,
    });
    expect(await userGit(info.path, 'rev-parse', 'HEAD')).toBe(base);
    await expect(userGit(info.path, 'symbolic-ref', '-q', 'HEAD')).rejects.toThrow(); // detached
    expect(await fx.acts.openWorkspace({ runId, taskId: 'planner', readOnly: true })).toEqual(info);

    await fs.writeFile(path.join(info.path, 'x.txt'), 'x');
    await expect(fx.acts.checkpointWorkspace({ runId, taskId: 'planner', message: 'x' })).rejects.toMatchObject({
      type: 'ReadOnlyWorkspace',
      nonRetryable: true,
    });
    await expect(fx.acts.integrateTask({ runId, taskId: 'planner', title: 'x' })).rejects.toMatchObject({
      type: 'ReadOnlyWorkspace',
    });
    await fx.acts.closeWorkspace({ runId, taskId: 'planner' });
    expect(await workspaces()).toEqual([]);
  });

  test('checkpoint of a task that was never opened names the fix', async () => {
    await expect(fx.acts.checkpointWorkspace({ runId, taskId: 'ghost', message: 'x' })).rejects.toMatchObject({
      type: 'TaskBranchMissing',
      message: expect.stringContaining('call openWorkspace'),
    });
  });
});
