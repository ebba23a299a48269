import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { paths, safeName } from '../../src/config';
import { fixture, userGit, type Fixture } from '../workspace/fixtures';

/**
 * What a worker killed mid-git leaves on disk, found by the crash test and pinned down here without the wait:
 * a stale `index.lock` in a task workspace (every later `git add` failed on it, retries included, and the task
 * failed), a workspace whose checkout was killed, and the verification checkout of a killed attempt (it was never
 * removed).
 */
describe('leftovers of a crashed worker process', () => {
  let fx: Fixture;
  const runId = 'crashed-run';
  const old = new Date(Date.now() - 3_600_000); // before this process started: written by a dead one

  beforeEach(async () => {
    fx = await fixture({ 'README.md': '# demo\n', 'test.sh': 'exit 0\n' });
    await fx.acts.prepareHub({ runId, repo: fx.repo });
  });
  afterEach(() => fx.cleanup());

  async function staleIndexLock(taskId: string): Promise<string> {
    const wt = (await fx.acts.openWorkspace({ runId, taskId })).path;
    await fs.writeFile(path.join(wt, 'work.txt'), 'done\n');
    const lock = path.join(wt, '.git', 'index.lock'); // each task workspace is its own repository
    await fs.writeFile(lock, '');
    await fs.utimes(lock, old, old);
    return lock;
  }

  it('integrates a task whose worktree holds the index.lock of a killed git', async () => {
    const lock = await staleIndexLock('t1');
    const result = await fx.acts.integrateTask({ runId, taskId: 't1', title: 'work' });
    expect(result).toMatchObject({ status: 'merged', filesChanged: ['work.txt'] });
    await expect(fs.access(lock)).rejects.toThrow();
  });

  it('checkpoints a task whose worktree holds the index.lock of a killed git', async () => {
    await staleIndexLock('t2');
    expect((await fx.acts.checkpointWorkspace({ runId, taskId: 't2', message: 'checkpoint' })).commit).toMatch(
      /^[0-9a-f]{40}$/,
    );
  });

  it("commits although a killed git left the task branch's ref locks (in the workspace and in the hub)", async () => {
    const wt = path.dirname(path.dirname(await staleIndexLock('t6')));
    for (const lock of [
      path.join(paths.hub(fx.home, runId), 'refs', 'heads', 'task', 't6.lock'),
      path.join(wt, '.git', 'refs', 'heads', 'task', 't6.lock'),
    ]) {
      await fs.writeFile(lock, '');
      await fs.utimes(lock, old, old);
    }
    await expect(fx.acts.integrateTask({ runId, taskId: 't6', title: 'work' })).resolves.toMatchObject({
      status: 'merged',
    });
  });

  it('leaves a fresh index.lock alone (a git of this process may hold it)', async () => {
    const lock = await staleIndexLock('t3');
    await fs.utimes(lock, new Date(), new Date());
    await expect(fx.acts.integrateTask({ runId, taskId: 't3', title: 'work' })).rejects.toThrow(/index\.lock/);
  });

  it("merges although a killed git left the target branch's ref lock in the hub", async () => {
    const hubPath = paths.hub(fx.home, runId);
    const lock = path.join(hubPath, 'refs', 'heads', 'longrun', `${runId}.lock`);
    await fs.writeFile(lock, '');
    await fs.utimes(lock, old, old);
    const wt = (await fx.acts.openWorkspace({ runId, taskId: 't4' })).path;
    await fs.writeFile(path.join(wt, 'work.txt'), 'done\n');
    await expect(fx.acts.integrateTask({ runId, taskId: 't4', title: 'work' })).resolves.toMatchObject({
      status: 'merged',
    });
  });

  it('opens a workspace whose checkout was killed (a repository without its ready marker)', async () => {
    const wt = paths.worktree(fx.home, runId, 't5');
    // What a killed open leaves: an initialised repository, half of the files, no marker.
    await fs.mkdir(path.dirname(wt), { recursive: true });
    await userGit(path.dirname(wt), 'init', '--quiet', wt);
    await fs.writeFile(path.join(wt, 'README.md'), '# half');
    const opened = await fx.acts.openWorkspace({ runId, taskId: 't5' });
    await fs.writeFile(path.join(opened.path, 'work.txt'), 'done\n');
    await expect(fx.acts.integrateTask({ runId, taskId: 't5', title: 'work' })).resolves.toMatchObject({
      status: 'merged',
    });
    expect(await userGit(opened.path, 'show', 'HEAD:README.md')).toBe('# demo');
    await fx.acts.closeWorkspace({ runId, taskId: 't5' });
    await expect(fs.access(wt)).rejects.toThrow();
  });

  it('replaces the verification checkout a killed attempt left behind, and removes it', async () => {
    const tip = (await fx.acts.targetTip({ runId })).slice(0, 12);
    const dir = path.join(path.dirname(paths.worktree(fx.home, runId, 'x')), `_verify-${tip}`);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'half-checked-out'), '');
    const receipt = await fx.acts.verifyTarget({ runId, testCommand: 'sh test.sh' });
    expect(receipt.passed).toBe(true);
    // The checkout is gone, and so is the run's workspace directory once nothing is left in it.
    await expect(fs.access(dir)).rejects.toThrow();
    expect(await fs.readdir(path.join(fx.home, 'worktrees', safeName(runId))).catch(() => [])).toEqual([]);
  });
});
