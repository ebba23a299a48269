import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { paths } from '../../src/config';
import { exists, fixture, userGit, type Fixture } from './fixtures';

const runId = 'run-adopt';

/**
 * A worker upgraded from v0.1.0 finds that version's workspaces in flight: linked worktrees of the hub, made as
 * v0.1.0 made them (`git worktree add --no-checkout`, a checkout, an empty LONGRUN_READY in the admin dir), with an
 * agent's uncommitted edits. Today's code adopts them in place; the edits reach the hub at the next checkpoint.
 */
describe('workspaces of longrun v0.1.0 (linked worktrees) after an upgrade', () => {
  let fx: Fixture;
  let hubPath: string;
  let base: string;

  beforeEach(async () => {
    fx = await fixture({ 'README.md': '# demo\n', 'src/a.ts': 'export const a = 1;\n' });
    ({ hubPath, baseCommit: base } = await fx.acts.prepareHub({ runId, repo: fx.repo }));
  });
  afterEach(() => fx.cleanup());

  /** The v0.1.0 way: a linked worktree of the hub on task/<id>, the readiness marker in its admin dir. */
  function linkedWorktree(taskId: string, branch: string): string {
    const wt = paths.worktree(fx.home, runId, taskId);
    execFileSync('git', ['worktree', 'add', '--quiet', '--no-checkout', '-b', branch, wt, base], { cwd: hubPath });
    execFileSync('git', ['reset', '--hard', '--quiet'], { cwd: wt });
    return wt;
  }

  test('an in-flight task keeps its uncommitted edits and staged files; the hub registers no worktree after', async () => {
    const taskId = `${runId}/c1/planner/t1`;
    const branch = `task/${runId}_c1_planner_t1`;
    const wt = linkedWorktree(taskId, branch);
    const admin = (await fs.readFile(path.join(wt, '.git'), 'utf8')).replace(/^gitdir:\s*/, '').trim();
    await fs.writeFile(path.join(admin, 'LONGRUN_READY'), '');
    // The agent's work so far: an edit, a staged new file, an untracked file, one commit of its own.
    await fs.writeFile(path.join(wt, 'committed.txt'), 'by the agent\n');
    execFileSync('git', ['add', 'committed.txt'], { cwd: wt });
    execFileSync('git', ['-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '-qm', 'agent commit'], { cwd: wt });
    const agentCommit = await userGit(wt, 'rev-parse', 'HEAD');
    await fs.writeFile(path.join(wt, 'src/a.ts'), 'export const a = 2;\n');
    await fs.writeFile(path.join(wt, 'staged.txt'), 'staged\n');
    execFileSync('git', ['add', 'staged.txt'], { cwd: wt });
    await fs.writeFile(path.join(wt, 'untracked.txt'), 'untracked\n');

    // Opening it again (the retried activity of the new worker) adopts it: same path, same branch, work kept.
    const info = await fx.acts.openWorkspace({ runId, taskId });
    expect(info).toEqual({ path: wt, branch, baseCommit: base, resumedFrom: agentCommit });
    expect((await fs.stat(path.join(wt, '.git'))).isDirectory()).toBe(true);
    expect(await userGit(wt, 'rev-parse', '--git-common-dir')).toBe('.git');
    // (userGit trims: the first line's leading space, " M", is gone)
    expect(await userGit(wt, 'status', '--porcelain')).toBe('M src/a.ts\nA  staged.txt\n?? untracked.txt');
    expect(await userGit(hubPath, 'worktree', 'list', '--porcelain')).toBe(`worktree ${hubPath}\nbare`);
    expect(await exists(`${wt}.adopting`)).toBe(false);

    const { commit } = await fx.acts.checkpointWorkspace({ runId, taskId, message: 'checkpoint after upgrade' });
    expect(await userGit(hubPath, 'rev-parse', branch)).toBe(commit);
    expect(await userGit(hubPath, 'show', `${commit}:src/a.ts`)).toBe('export const a = 2;');
    expect(await userGit(hubPath, 'show', `${commit}:untracked.txt`)).toBe('untracked');
    expect(await fx.acts.integrateTask({ runId, taskId, title: 'adopted' })).toMatchObject({ status: 'merged' });
  });

  test('a linked worktree whose checkout never finished is not adopted: it is replaced from the branch', async () => {
    const taskId = `${runId}/c1/planner/t2`;
    const branch = `task/${runId}_c1_planner_t2`;
    const wt = linkedWorktree(taskId, branch); // no LONGRUN_READY: killed mid-checkout
    await fs.writeFile(path.join(wt, 'half.txt'), 'half\n');
    const info = await fx.acts.openWorkspace({ runId, taskId });
    expect(info).toEqual({ path: wt, branch, baseCommit: base });
    expect(await exists(path.join(wt, 'half.txt'))).toBe(false);
    expect(await userGit(hubPath, 'worktree', 'list', '--porcelain')).toBe(`worktree ${hubPath}\nbare`);
  });
});
