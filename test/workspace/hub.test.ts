import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { paths } from '../../src/config';
import { inspectRepo } from '../../src/activities/workspace';
import { readBranch, resolveCommit } from '../../src/workspace/git';
import { exists, fixture, makeDir, userGit, type Fixture } from './fixtures';

const runId = 'run-hub';

describe('prepareHub', () => {
  let fx: Fixture;
  beforeEach(async () => {
    fx = await fixture({ 'README.md': '# demo\n', 'a.txt': 'a\n' });
  });
  afterEach(() => fx.cleanup());

  test('clones a bare hub with the target branch at the user HEAD, idempotently', async () => {
    const head = await userGit(fx.repo, 'rev-parse', 'HEAD');
    const info = await fx.acts.prepareHub({ runId, repo: fx.repo });
    expect(info).toEqual({ hubPath: paths.hub(fx.home, runId), targetBranch: `longrun/${runId}`, baseCommit: head });
    expect(await userGit(info.hubPath, 'rev-parse', '--is-bare-repository')).toBe('true');
    expect(await userGit(info.hubPath, 'rev-parse', `refs/heads/longrun/${runId}`)).toBe(head);

    // A resumed run keeps the target where it is: the second call neither re-clones nor resets it.
    const marker = path.join(info.hubPath, 'longrun-marker');
    await fs.writeFile(marker, 'still the same hub');
    const moved = await userGit(info.hubPath, 'commit-tree', `${head}^{tree}`, '-p', head, '-m', 'work of the run');
    await userGit(info.hubPath, 'update-ref', `refs/heads/longrun/${runId}`, moved, head);
    expect(await fx.acts.prepareHub({ runId, repo: fx.repo, base: 'HEAD' })).toEqual(info);
    expect(await exists(marker)).toBe(true);
    expect(await fx.acts.targetTip({ runId })).toBe(moved);
  });

  test('starts from a given base: branch, tag, sha or a ref only the user repo has', async () => {
    const first = await userGit(fx.repo, 'rev-parse', 'HEAD');
    await fs.writeFile(path.join(fx.repo, 'b.txt'), 'b\n');
    await userGit(fx.repo, 'add', '-A');
    await userGit(fx.repo, 'commit', '-q', '-m', 'second');
    await userGit(fx.repo, 'tag', 'v1', first);
    await userGit(fx.repo, 'update-ref', 'refs/remotes/origin/feature', first);

    expect((await fx.acts.prepareHub({ runId: 'r-tag', repo: fx.repo, base: 'v1' })).baseCommit).toBe(first);
    expect((await fx.acts.prepareHub({ runId: 'r-sha', repo: fx.repo, base: first })).baseCommit).toBe(first);
    expect((await fx.acts.prepareHub({ runId: 'r-rel', repo: fx.repo, base: 'HEAD~1' })).baseCommit).toBe(first);
    const remote = await fx.acts.prepareHub({ runId: 'r-remote', repo: fx.repo, base: 'origin/feature' });
    expect(remote.baseCommit).toBe(first);
    expect(await userGit(remote.hubPath, 'rev-parse', 'refs/heads/longrun/r-remote')).toBe(first);
  });

  test('a dirty working tree is fine, and the user repo is not modified', async () => {
    await fs.writeFile(path.join(fx.repo, 'a.txt'), 'uncommitted edit\n');
    await fs.writeFile(path.join(fx.repo, 'untracked.txt'), 'new\n');
    const before = {
      refs: await userGit(fx.repo, 'for-each-ref'),
      status: await userGit(fx.repo, 'status', '--porcelain'),
      head: await userGit(fx.repo, 'symbolic-ref', 'HEAD'),
    };
    const info = await fx.acts.prepareHub({ runId, repo: fx.repo });
    expect(info.baseCommit).toBe(await userGit(fx.repo, 'rev-parse', 'HEAD'));
    expect({
      refs: await userGit(fx.repo, 'for-each-ref'),
      status: await userGit(fx.repo, 'status', '--porcelain'),
      head: await userGit(fx.repo, 'symbolic-ref', 'HEAD'),
    }).toEqual(before);
  });

  test('user mistakes are non-retryable and name the field and the fix', async () => {
    const missing = path.join(fx.root, 'nope');
    await expect(fx.acts.prepareHub({ runId, repo: missing })).rejects.toMatchObject({
      type: 'InvalidRepo',
      nonRetryable: true,
      message: expect.stringMatching(/^repo: .*nope does not exist/),
    });

    const plain = path.join(fx.root, 'plain');
    await fs.mkdir(plain);
    await expect(fx.acts.prepareHub({ runId, repo: plain })).rejects.toMatchObject({
      type: 'InvalidRepo',
      message: expect.stringMatching(/repo: .* is not a git repository; run `git init/),
    });

    const empty = path.join(fx.root, 'empty');
    await fs.mkdir(empty);
    await userGit(empty, 'init', '-q');
    await expect(fx.acts.prepareHub({ runId, repo: empty })).rejects.toMatchObject({
      type: 'InvalidRepo',
      message: expect.stringMatching(/repo: .* has no commits; commit something first/),
    });

    await expect(
      fx.acts.prepareHub({ runId: 'r-bad-base', repo: fx.repo, base: 'no-such-branch' }),
    ).rejects.toMatchObject({
      type: 'InvalidBase',
      nonRetryable: true,
      message: expect.stringMatching(/^base: 'no-such-branch' names no commit in .*; pass a branch, tag or commit sha/),
    });
    expect(await exists(paths.hub(fx.home, runId))).toBe(false); // no half-made hub is left behind
  });

  test('activities other than prepareHub say when the hub is missing', async () => {
    await expect(fx.acts.targetTip({ runId: 'never-prepared' })).rejects.toMatchObject({
      type: 'HubMissing',
      nonRetryable: true,
      message: expect.stringContaining('prepareHub must run first'),
    });
  });
});

describe('readBranch (refs read from files, as git reads them)', () => {
  test('loose, packed, a loose ref over its packed value, absent, and a symbolic ref, each as git says', async () => {
    const fx = await fixture({ 'a.txt': 'a\n' });
    try {
      const { hubPath, baseCommit } = await fx.acts.prepareHub({ runId, repo: fx.repo });
      const second = await userGit(hubPath, 'commit-tree', `${baseCommit}^{tree}`, '-p', baseCommit, '-m', 'two');
      const asGit = async (ref: string) => (await resolveCommit(hubPath, ref)) ?? null;
      const check = async (ref: string, expected: string | null) => {
        expect(await readBranch(hubPath, ref)).toBe(expected);
        expect(await asGit(ref)).toBe(expected);
      };
      await userGit(hubPath, 'update-ref', 'refs/heads/task/a', baseCommit);
      await check('refs/heads/task/a', baseCommit); // loose
      await userGit(hubPath, 'pack-refs', '--all', '--prune');
      expect(await exists(path.join(hubPath, 'refs/heads/task/a'))).toBe(false);
      await check('refs/heads/task/a', baseCommit); // packed
      await check(`refs/heads/longrun/${runId}`, baseCommit);
      await userGit(hubPath, 'update-ref', 'refs/heads/task/a', second);
      await check('refs/heads/task/a', second); // loose wins over the stale packed line
      await check('refs/heads/task/none', null);
      await check('refs/heads/task', null); // a directory of refs is not a ref
      await userGit(hubPath, 'symbolic-ref', 'refs/heads/alias', 'refs/heads/task/a');
      await check('refs/heads/alias', second); // symbolic: asked of git
    } finally {
      await fx.cleanup();
    }
  });
});

describe('inspectRepo', () => {
  test('lists problems of local paths, none for a good repo or a URL', async () => {
    const root = await makeDir('inspect');
    try {
      expect(await inspectRepo('')).toEqual(['repo is empty: pass the path of a git repository or a git URL']);
      expect(await inspectRepo(path.join(root, 'missing'))).toEqual([expect.stringContaining('does not exist')]);
      await fs.writeFile(path.join(root, 'file'), 'x');
      expect(await inspectRepo(path.join(root, 'file'))).toEqual([
        expect.stringContaining('is a file, not a directory'),
      ]);
      const repo = path.join(root, 'repo');
      await fs.mkdir(path.join(repo, 'sub'), { recursive: true });
      await userGit(repo, 'init', '-q');
      expect(await inspectRepo(repo)).toEqual([expect.stringContaining('has no commits')]);
      await fs.writeFile(path.join(repo, 'sub', 'x'), 'x');
      await userGit(repo, 'add', '-A');
      await userGit(repo, 'commit', '-q', '-m', 'x');
      expect(await inspectRepo(repo)).toEqual([]);
      expect(await inspectRepo(path.join(repo, 'sub'))).toEqual([expect.stringContaining('not its root; pass')]);
      expect(await inspectRepo('https://example.com/org/repo.git')).toEqual([]);
      expect(await inspectRepo('git@example.com:org/repo.git')).toEqual([]);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

describe('publishTarget and diffStat', () => {
  let fx: Fixture;
  beforeEach(async () => {
    fx = await fixture({ 'README.md': '# demo\n', 'a.txt': 'a\n' });
    await fx.acts.prepareHub({ runId, repo: fx.repo });
  });
  afterEach(() => fx.cleanup());

  test('publishes only longrun/<runId> into the user repo; HEAD, other branches and the dirty tree are untouched', async () => {
    await userGit(fx.repo, 'branch', 'other');
    await fs.writeFile(path.join(fx.repo, 'a.txt'), 'dirty edit\n');
    await fs.writeFile(path.join(fx.repo, 'untracked.txt'), 'new\n');
    const snapshot = async () => ({
      refs: (await userGit(fx.repo, 'for-each-ref', '--format=%(refname) %(objectname)'))
        .split('\n')
        .filter((l) => !l.startsWith('refs/heads/longrun/')),
      head: await userGit(fx.repo, 'symbolic-ref', 'HEAD'),
      status: await userGit(fx.repo, 'status', '--porcelain'),
      a: await fs.readFile(path.join(fx.repo, 'a.txt'), 'utf8'),
      index: await userGit(fx.repo, 'ls-files', '-s'),
    });
    const before = await snapshot();

    const w = await fx.acts.openWorkspace({ runId, taskId: 't1' });
    await fs.writeFile(path.join(w.path, 'feature.txt'), 'feature\n');
    const merged = await fx.acts.integrateTask({ runId, taskId: 't1', title: 'feature' });
    expect(merged.status).toBe('merged');

    const published = await fx.acts.publishTarget({ runId, repo: fx.repo });
    const tip = await fx.acts.targetTip({ runId });
    expect(published).toEqual({ branch: `longrun/${runId}`, commit: tip, incidents: [] });
    expect(await userGit(fx.repo, 'rev-parse', `refs/heads/longrun/${runId}`)).toBe(tip);
    expect(await snapshot()).toEqual(before);

    // Publishing again after more work moves the branch (ours, so force is fine).
    const w2 = await fx.acts.openWorkspace({ runId, taskId: 't2' });
    await fs.writeFile(path.join(w2.path, 'more.txt'), 'more\n');
    await fx.acts.integrateTask({ runId, taskId: 't2', title: 'more' });
    const again = await fx.acts.publishTarget({ runId, repo: fx.repo });
    expect(again.commit).not.toBe(tip);
    expect(await userGit(fx.repo, 'rev-parse', `refs/heads/longrun/${runId}`)).toBe(again.commit);
    expect(await snapshot()).toEqual(before);

    const stat = await fx.acts.diffStat({
      runId,
      from: (await fx.acts.prepareHub({ runId, repo: fx.repo })).baseCommit,
    });
    expect(stat).toMatch(/feature\.txt/);
    expect(stat).toMatch(/more\.txt/);
    expect(stat).toMatch(/2 files changed/);
    await expect(fx.acts.diffStat({ runId, from: 'nope' })).rejects.toMatchObject({ type: 'InvalidRevision' });
  });

  test("the published branch is guarded: moved in the user's repo, it is put back and the incident recorded", async () => {
    const w = await fx.acts.openWorkspace({ runId, taskId: 't1' });
    await fs.writeFile(path.join(w.path, 'feature.txt'), 'feature\n');
    await fx.acts.integrateTask({ runId, taskId: 't1', title: 'feature' });
    const first = await fx.acts.publishTarget({ runId, repo: fx.repo });
    expect(first.incidents).toEqual([]);
    expect((await fx.acts.publishTarget({ runId, repo: fx.repo })).incidents).toEqual([]); // its own publish is fine

    const base = await userGit(fx.repo, 'rev-parse', 'main');
    await userGit(fx.repo, 'update-ref', `refs/heads/longrun/${runId}`, base); // someone rewinds it
    const again = await fx.acts.publishTarget({ runId, repo: fx.repo });
    expect(again.incidents).toMatchObject([
      { ref: `repo refs/heads/longrun/${runId}`, found: base, restored: first.commit, detectedBy: 'publish' },
    ]);
    expect(await userGit(fx.repo, 'rev-parse', `refs/heads/longrun/${runId}`)).toBe(first.commit);
  });
});
