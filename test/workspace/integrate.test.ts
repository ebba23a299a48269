import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { paths } from '../../src/config';
import { createWorkspaceActivities } from '../../src/activities/workspace';
import type { IntegrationResult } from '../../src/core/types';
import { Integrator } from '../../src/workspace/integrator';
import { fixture, firstParentLog, userGit, type Fixture } from './fixtures';

const runId = 'run-int';
const target = 'refs/heads/longrun/run-int';

/** The scripted "agent": keeps both sides of every conflict, in order, dropping the markers. */
function resolveByUnion(content: string): string {
  return content
    .split('\n')
    .filter((line) => !/^(<<<<<<<|=======|>>>>>>>)/.test(line))
    .join('\n');
}

describe('integrateTask', () => {
  let fx: Fixture;
  let hubPath: string;

  beforeEach(async () => {
    fx = await fixture({ 'README.md': '# demo\n', 'shared.txt': 'header\nline\n', 'src/keep.txt': 'keep\n' });
    hubPath = (await fx.acts.prepareHub({ runId, repo: fx.repo })).hubPath;
  });
  afterEach(() => fx.cleanup());

  test('50 tasks editing distinct files integrate concurrently: all land once, history merge-only', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `${runId}/planner/t${i}`);
    const spaces = await Promise.all(ids.map((taskId) => fx.acts.openWorkspace({ runId, taskId })));
    await Promise.all(spaces.map((w, i) => fs.writeFile(path.join(w.path, 'src', `f${i}.txt`), `task ${i}\n`)));

    const results = await Promise.all(
      ids.map((taskId, i) => fx.acts.integrateTask({ runId, taskId, title: `file ${i}` })),
    );

    results.forEach((r, i) => {
      expect(r.status).toBe('merged');
      if (r.status === 'merged') expect(r.filesChanged).toEqual([`src/f${i}.txt`]);
    });
    const tip = await fx.acts.targetTip({ runId });
    const tree = (await userGit(hubPath, 'ls-tree', '-r', '--name-only', tip)).split('\n');
    for (let i = 0; i < 50; i++) expect(tree).toContain(`src/f${i}.txt`);
    expect(tree).toContain('src/keep.txt');

    const history = await firstParentLog(hubPath, target);
    expect(history).toHaveLength(51); // 50 merges on top of the user's commit
    expect(history.slice(0, 50).every((c) => c.parents === 2)).toBe(true);
    expect(
      history
        .map((c) => c.trailer)
        .filter(Boolean)
        .sort(),
    ).toEqual([...ids].sort());

    // The CAS chain: each task's merge commit is on the first-parent history.
    const firstParents = (await userGit(hubPath, 'rev-list', '--first-parent', target)).split('\n');
    for (const r of results) if (r.status === 'merged') expect(firstParents).toContain(r.commit);
  });

  test('re-running an integration for a merged task is a no-op, also after its workspace is closed', async () => {
    const taskId = `${runId}/t1`;
    const w = await fx.acts.openWorkspace({ runId, taskId });
    await fs.writeFile(path.join(w.path, 'a.txt'), 'a\n');
    const first = await fx.acts.integrateTask({ runId, taskId, title: 'add a' });
    expect(first.status).toBe('merged');
    const tip = await fx.acts.targetTip({ runId });

    const again = await fx.acts.integrateTask({ runId, taskId, title: 'add a' });
    expect(again).toEqual({
      status: 'already-merged',
      commit: first.status === 'merged' ? first.commit : '',
      filesChanged: ['a.txt'],
    });

    await fx.acts.closeWorkspace({ runId, taskId });
    const afterClose = await fx.acts.integrateTask({ runId, taskId, title: 'add a' });
    expect(afterClose.status).toBe('already-merged');
    expect(await fx.acts.targetTip({ runId })).toBe(tip);
  });

  test('concurrent duplicate integrations of one task merge it once', async () => {
    const taskId = 't-dup';
    const w = await fx.acts.openWorkspace({ runId, taskId });
    await fs.writeFile(path.join(w.path, 'dup.txt'), 'dup\n');
    const [a, b] = await Promise.all([
      fx.acts.integrateTask({ runId, taskId, title: 'dup' }),
      fx.acts.integrateTask({ runId, taskId, title: 'dup' }),
    ]);
    expect([a.status, b.status].sort()).toEqual(['already-merged', 'merged']);
    const trailers = (await firstParentLog(hubPath, target)).filter((c) => c.trailer === taskId);
    expect(trailers).toHaveLength(1);
  });

  test('a task without changes reports no-changes and moves nothing', async () => {
    const taskId = 't-idle';
    await fx.acts.openWorkspace({ runId, taskId });
    const before = await fx.acts.targetTip({ runId });
    expect(await fx.acts.integrateTask({ runId, taskId, title: 'nothing' })).toEqual({ status: 'no-changes' });
    expect(await fx.acts.targetTip({ runId })).toBe(before);
  });

  test('integrating a task that has no workspace or branch is a non-retryable error', async () => {
    await expect(fx.acts.integrateTask({ runId, taskId: 'never-opened', title: 'x' })).rejects.toMatchObject({
      type: 'TaskBranchMissing',
      nonRetryable: true,
    });
  });

  test('10 tasks editing the same line: every conflict surfaced, resolved, every change lands', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `t-same-${i}`);
    const spaces = await Promise.all(ids.map((taskId) => fx.acts.openWorkspace({ runId, taskId })));
    await Promise.all(
      spaces.map((w, i) => fs.writeFile(path.join(w.path, 'shared.txt'), `header\nchange from task ${i}\n`)),
    );

    let pending = [...ids];
    let conflicts = 0;
    let leftMarkersOnce = false;
    for (let round = 0; pending.length && round < 30; round++) {
      const results: IntegrationResult[] = await Promise.all(
        pending.map((taskId) => fx.acts.integrateTask({ runId, taskId, title: `edit ${taskId}` })),
      );
      const next: string[] = [];
      for (const [k, r] of results.entries()) {
        const taskId = pending[k];
        if (r.status === 'merged') continue;
        expect(r.status).toBe('conflict');
        if (r.status !== 'conflict') continue;
        conflicts++;
        expect(r.files.map((f) => f.path)).toEqual(['shared.txt']);
        expect(r.files[0].content).toContain('<<<<<<<');
        expect(r.files[0].content).toContain('>>>>>>>');
        expect(r.onto).toMatch(/^[0-9a-f]{40}$/);
        const file = path.join(paths.worktree(fx.home, runId, taskId), 'shared.txt');
        if (!leftMarkersOnce) {
          // A half-done resolution is refused: the markers are listed again, nothing is committed.
          leftMarkersOnce = true;
          const again = await fx.acts.integrateTask({ runId, taskId, title: 'x' });
          expect(again.status).toBe('conflict');
        }
        await fs.writeFile(file, resolveByUnion(await fs.readFile(file, 'utf8')));
        next.push(taskId);
      }
      pending = next;
    }
    expect(pending).toEqual([]);
    expect(conflicts).toBeGreaterThanOrEqual(9); // all but the first to land conflict at least once

    const tip = await fx.acts.targetTip({ runId });
    const final = await userGit(hubPath, 'show', `${tip}:shared.txt`);
    for (let i = 0; i < 10; i++) expect(final).toContain(`change from task ${i}`);
    expect(final).not.toMatch(/^(<<<<<<<|>>>>>>>)/m);
    const history = await firstParentLog(hubPath, target);
    expect(
      history
        .map((c) => c.trailer)
        .filter(Boolean)
        .sort(),
    ).toEqual([...ids].sort());
  });

  test('race: two integrators (as two processes) from the same tip: one CAS wins, the other re-merges, both land once', async () => {
    let aReady!: () => void;
    const aHasMerged = new Promise<void>((resolve) => (aReady = resolve));
    let releaseA!: () => void;
    const aMayCas = new Promise<void>((resolve) => (releaseA = resolve));
    const integratorA = new Integrator({
      beforeCas: async ({ attempt }) => {
        if (attempt > 0) return;
        aReady();
        await aMayCas; // hold A's swap until B has moved the target
      },
    });
    const actsA = createWorkspaceActivities({ config: fx.config, integrator: integratorA });
    const actsB = createWorkspaceActivities({ config: fx.config, integrator: new Integrator() });

    const start = await fx.acts.targetTip({ runId });
    const wa = await actsA.openWorkspace({ runId, taskId: 'race-a' });
    const wb = await actsB.openWorkspace({ runId, taskId: 'race-b' });
    expect(wa.baseCommit).toBe(start);
    expect(wb.baseCommit).toBe(start);
    await fs.writeFile(path.join(wa.path, 'a.txt'), 'a\n');
    await fs.writeFile(path.join(wb.path, 'b.txt'), 'b\n');

    const pendingA = actsA.integrateTask({ runId, taskId: 'race-a', title: 'a' });
    await aHasMerged;
    const b = await actsB.integrateTask({ runId, taskId: 'race-b', title: 'b' });
    releaseA();
    const a = await pendingA;

    expect(b).toMatchObject({ status: 'merged', casRetries: 0 });
    expect(a).toMatchObject({ status: 'merged', casRetries: 1 });
    if (a.status !== 'merged' || b.status !== 'merged') return;
    // A re-merged on top of B: B's merge is A's first parent.
    expect(await userGit(hubPath, 'rev-parse', `${a.commit}^1`)).toBe(b.commit);
    expect(await fx.acts.targetTip({ runId })).toBe(a.commit);
    const trailers = (await firstParentLog(hubPath, target)).map((c) => c.trailer).filter(Boolean);
    expect(trailers.sort()).toEqual(['race-a', 'race-b']);
  });

  test('a conflict after the workspace was closed reopens it from the task branch', async () => {
    const one = await fx.acts.openWorkspace({ runId, taskId: 'c-1' });
    const two = await fx.acts.openWorkspace({ runId, taskId: 'c-2' });
    await fs.writeFile(path.join(one.path, 'shared.txt'), 'header\none\n');
    await fs.writeFile(path.join(two.path, 'shared.txt'), 'header\ntwo\n');
    expect((await fx.acts.integrateTask({ runId, taskId: 'c-1', title: 'one' })).status).toBe('merged');
    expect((await fx.acts.checkpointWorkspace({ runId, taskId: 'c-2', message: 'wip' })).commit).toBeTruthy();
    await fx.acts.closeWorkspace({ runId, taskId: 'c-2', keepBranch: true });

    const r = await fx.acts.integrateTask({ runId, taskId: 'c-2', title: 'two' });
    expect(r.status).toBe('conflict');
    const file = path.join(paths.worktree(fx.home, runId, 'c-2'), 'shared.txt');
    await fs.writeFile(file, 'header\none\ntwo\n');
    const merged = await fx.acts.integrateTask({ runId, taskId: 'c-2', title: 'two' });
    expect(merged).toMatchObject({ status: 'merged', filesChanged: ['shared.txt'] });
    expect(await userGit(hubPath, 'show', `${target}:shared.txt`)).toBe('header\none\ntwo');
  });
});

describe("integrateTask with mergePolicy 'tests-pass' (testFirst)", () => {
  let fx: Fixture;
  // The test command: passes while check.txt says ok; logs each run in the worktree; with wait.txt present, it
  // signals that it started and waits for go.txt (so the test below can move the tip while it runs).
  const command =
    'echo run >> runs.log; if [ -f wait.txt ]; then touch started.txt; while [ ! -f go.txt ]; do sleep 0.05; done; fi; ' +
    'grep -q ok check.txt';
  const testFirst = { command, timeoutMs: 60_000 };
  const exists = (p: string) =>
    fs.access(p).then(
      () => true,
      () => false,
    );

  beforeEach(async () => {
    fx = await fixture({ 'README.md': '# demo\n', 'check.txt': 'ok\n', '.gitignore': '*.log\nstarted.txt\ngo.txt\n' });
    await fx.acts.prepareHub({ runId, repo: fx.repo });
  });
  afterEach(() => fx.cleanup());

  test('a merge whose tests fail on the merged result is refused with the output; fixed, it merges', async () => {
    const taskId = `${runId}/t1`;
    const w = await fx.acts.openWorkspace({ runId, taskId });
    await fs.writeFile(path.join(w.path, 'check.txt'), 'failing\n');
    const tipBefore = await fx.acts.targetTip({ runId });

    const refused = await fx.acts.integrateTask({ runId, taskId, title: 'break check', testFirst });
    expect(refused).toMatchObject({ status: 'tests-failed', onto: tipBefore, command, exitCode: 1, timedOut: false });
    expect(await fx.acts.targetTip({ runId })).toBe(tipBefore); // nothing merged

    await fs.writeFile(path.join(w.path, 'check.txt'), 'ok, and more\n');
    const merged = await fx.acts.integrateTask({ runId, taskId, title: 'break check', testFirst });
    expect(merged.status).toBe('merged');
    expect(await fx.acts.targetTip({ runId })).not.toBe(tipBefore);
  });

  test('tests run on the task merged with the tip: a break only the merge makes is caught', async () => {
    // Task 2 (merged first) adds flag.txt, which task 1's check forbids: task 1 alone passes, merged with the tip not.
    const one = await fx.acts.openWorkspace({ runId, taskId: `${runId}/t1` });
    const two = await fx.acts.openWorkspace({ runId, taskId: `${runId}/t2` });
    await fs.writeFile(path.join(two.path, 'flag.txt'), 'x\n');
    expect((await fx.acts.integrateTask({ runId, taskId: `${runId}/t2`, title: 'flag' })).status).toBe('merged');
    await fs.writeFile(path.join(one.path, 'check.txt'), 'ok\n');
    await fs.writeFile(path.join(one.path, 'more.txt'), 'more\n');
    const needsNoFlag = { ...testFirst, command: `${command} && [ ! -f flag.txt ]` };
    const r = await fx.acts.integrateTask({ runId, taskId: `${runId}/t1`, title: 'more', testFirst: needsNoFlag });
    expect(r.status).toBe('tests-failed'); // flag.txt came with the tip, merged into the worktree first
    expect(await exists(path.join(one.path, 'flag.txt'))).toBe(true);
  });

  test('when the tip moves while the tests run, the merge onto the newer tip is not tested again', async () => {
    const a = await fx.acts.openWorkspace({ runId, taskId: `${runId}/a` });
    const b = await fx.acts.openWorkspace({ runId, taskId: `${runId}/b` });
    await fs.writeFile(path.join(a.path, 'a.txt'), 'a\n');
    await fs.writeFile(path.join(a.path, 'wait.txt'), 'wait\n');
    await fs.writeFile(path.join(b.path, 'b.txt'), 'b\n');

    const merging = fx.acts.integrateTask({ runId, taskId: `${runId}/a`, title: 'a', testFirst });
    while (!(await exists(path.join(a.path, 'started.txt')))) await new Promise((r) => setTimeout(r, 20));
    const other = await fx.acts.integrateTask({ runId, taskId: `${runId}/b`, title: 'b' });
    expect(other.status).toBe('merged');
    await fs.writeFile(path.join(a.path, 'go.txt'), '');

    const result = await merging;
    expect(result.status).toBe('merged');
    if (result.status !== 'merged' || other.status !== 'merged') return;
    // a landed on top of b's merge, and its tests ran once (on the tip before b).
    const hubPath = paths.hub(fx.home, runId);
    expect((await userGit(hubPath, 'rev-parse', `${result.commit}^1`)).trim()).toBe(other.commit);
    expect((await fs.readFile(path.join(a.path, 'runs.log'), 'utf8')).trim().split('\n')).toEqual(['run']);
  });
});
