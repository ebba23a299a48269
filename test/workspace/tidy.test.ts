import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { paths } from '../../src/config';
import { createTidyActivities } from '../../src/activities/tidy';
import type { ChatMessage } from '../../src/core/types';
import { ArtifactStore, TranscriptArchive } from '../../src/store/artifacts';
import { envPaths } from '../../src/workspace/environment';
import { exists, fixture, userGit, type Fixture } from './fixtures';

const runId = 'run-tidy';
const HOUR = 3_600_000;

/** The hub's loose objects, from `git count-objects -v`. */
async function looseObjects(hubPath: string): Promise<number> {
  const out = await userGit(hubPath, 'count-objects', '-v');
  return Number(/^count: (\d+)$/m.exec(out)![1]);
}

const refsOf = async (hubPath: string) =>
  (await userGit(hubPath, 'for-each-ref', '--format=%(refname)')).split('\n').filter(Boolean);

describe('tidy between cycles', () => {
  let fx: Fixture;
  let hubPath: string;
  let store: ArtifactStore;
  let now: number;
  let tidy: ReturnType<typeof createTidyActivities>;

  beforeEach(async () => {
    fx = await fixture({ 'README.md': '# demo\n', 'src/a.ts': 'export const a = 1;\n' });
    hubPath = (await fx.acts.prepareHub({ runId, repo: fx.repo })).hubPath;
    store = new ArtifactStore(paths.artifacts(fx.home));
    now = Date.now();
    tidy = createTidyActivities({ config: fx.config, store, now: () => now });
  });
  afterEach(() => fx.cleanup());

  test('merged tasks leave the hub, unmerged stay, and a live workspace keeps working after the gc', async () => {
    // A live task opened before anything merged: its base is the old tip, and it has a checkpoint in the hub.
    const live = 'c1/planner/t2';
    const w = await fx.acts.openWorkspace({ runId, taskId: live });
    await fs.writeFile(path.join(w.path, 'src/live.ts'), 'export const live = 1;\n');
    expect((await fx.acts.checkpointWorkspace({ runId, taskId: live, message: 'wip' })).commit).toBeTruthy();

    // Two tasks merge; one's branch is left behind (its close kept it), as the observed leak.
    const merged = ['c1/planner/t0', 'c1/planner/t1'];
    for (const [i, taskId] of merged.entries()) {
      const m = await fx.acts.openWorkspace({ runId, taskId });
      await fs.writeFile(path.join(m.path, `m${i}.txt`), `merged ${i}\n`);
      expect((await fx.acts.integrateTask({ runId, taskId, title: `m${i}` })).status).toBe('merged');
    }
    await fx.acts.closeWorkspace({ runId, taskId: merged[0], keepBranch: true });
    // A failed task's branch, kept for a later cycle.
    const failed = 'c1/planner/t3';
    const f = await fx.acts.openWorkspace({ runId, taskId: failed });
    await fs.writeFile(path.join(f.path, 'half.txt'), 'half done\n');
    await fx.acts.checkpointWorkspace({ runId, taskId: failed, message: 'failed' });
    await fx.acts.closeWorkspace({ runId, taskId: failed, keepBranch: true });

    const before = await refsOf(hubPath);
    expect(before).toEqual(expect.arrayContaining(['refs/heads/task/c1_planner_t0', 'refs/heads/task/c1_planner_t1']));
    expect(await looseObjects(hubPath)).toBeGreaterThan(0);

    const result = await tidy.tidyRun({ runId, mergedTaskIds: merged, retentionHours: null });

    expect(result.deletedRefs.sort()).toEqual(['refs/heads/task/c1_planner_t0', 'refs/heads/task/c1_planner_t1']);
    const after = await refsOf(hubPath);
    expect(after).not.toContain('refs/heads/task/c1_planner_t0');
    expect(after).not.toContain('refs/heads/task/c1_planner_t1');
    expect(after).toEqual(
      expect.arrayContaining([
        'refs/heads/task/c1_planner_t2',
        'refs/heads/task/c1_planner_t3',
        'refs/heads/longrun/run-tidy',
      ]),
    );
    // The gc ran: every reachable loose object was packed.
    expect(await looseObjects(hubPath)).toBe(0);
    expect(await userGit(hubPath, 'fsck', '--connectivity-only', '--no-dangling', '--no-progress')).toBe('');

    // The live workspace still reads every object it borrows, commits, and merges the moved target.
    expect(await userGit(w.path, 'fsck', '--connectivity-only', '--no-dangling', '--no-progress')).toBe('');
    await fs.writeFile(path.join(w.path, 'src/live.ts'), 'export const live = 2;\n');
    const r = await fx.acts.integrateTask({ runId, taskId: live, title: 'live' });
    expect(r.status).toBe('merged');
    const tip = await fx.acts.targetTip({ runId });
    expect((await userGit(hubPath, 'ls-tree', '-r', '--name-only', tip)).split('\n')).toEqual(
      expect.arrayContaining(['m0.txt', 'm1.txt', 'src/live.ts']),
    );
    // A second tidy finds nothing more to delete.
    expect((await tidy.tidyRun({ runId, mergedTaskIds: merged, retentionHours: null })).deletedRefs).toEqual([]);
    // The failed task resumes from its kept branch.
    const resumed = await fx.acts.openWorkspace({ runId, taskId: failed });
    expect(await fs.readFile(path.join(resumed.path, 'half.txt'), 'utf8')).toBe('half done\n');
  });

  test("finished transcripts are archived, removed after the retention, and other runs' are untouched", async () => {
    const msgs = (n: number): ChatMessage[] =>
      Array.from({ length: n }, (_, i) => ({ role: 'user' as const, content: `message ${i} ${'x'.repeat(200)}` }));
    await store.append(`${runId}/c1/planner`, 0, msgs(5));
    await store.append(`${runId}/c1/planner/t0`, 0, msgs(40));
    await store.append('other-run/c1/planner', 0, msgs(3));
    const archive = new TranscriptArchive(store);

    const first = await tidy.tidyRun({ runId, mergedTaskIds: [], retentionHours: 24 });
    expect(first.archivedTranscripts).toBe(2);
    expect(first.removedTranscripts).toBe(0);
    expect(await archive.read(`${runId}/c1/planner/t0`)).toEqual(msgs(40));
    const listed = await archive.list(`${runId}_c`);
    expect(listed.map((t) => [t.name, t.archived]).sort()).toEqual([
      [`${runId}_c1_planner`, true],
      [`${runId}_c1_planner_t0`, true],
    ]);
    // Compressed: smaller than the entries were.
    expect(first.disk.transcriptsBytes).toBeGreaterThan(0);
    expect(first.disk.transcriptsBytes).toBeLessThan(40 * 200);
    expect(await store.read({ id: 'other-run/c1/planner', length: 3 })).toEqual(msgs(3));

    // A late write to an archived transcript (a retried activity) is merged into the archive, not lost.
    await store.writeEntry(`${runId}/c1/planner`, 5, { role: 'assistant', content: 'late' });
    expect((await tidy.tidyRun({ runId, mergedTaskIds: [], retentionHours: 24 })).archivedTranscripts).toBe(1);
    expect(await archive.read(`${runId}/c1/planner`)).toEqual([...msgs(5), { role: 'assistant', content: 'late' }]);

    // Within the retention nothing goes; past it, the run's archives are removed and other runs' stay.
    now += 23 * HOUR;
    expect((await tidy.tidyRun({ runId, mergedTaskIds: [], retentionHours: 24 })).removedTranscripts).toBe(0);
    now += 2 * HOUR;
    const expired = await tidy.tidyRun({ runId, mergedTaskIds: [], retentionHours: 24 });
    expect(expired.removedTranscripts).toBe(2);
    expect(expired.disk.transcriptsBytes).toBe(0);
    expect(await archive.list(`${runId}_c`)).toEqual([]);
    expect(await store.read({ id: 'other-run/c1/planner', length: 3 })).toEqual(msgs(3));
  });

  test('disk use counts the hub, workspaces, caches and transcripts, and sums them', async () => {
    await fx.acts.openWorkspace({ runId, taskId: 'c1/planner/t0' });
    await fs.mkdir(paths.caches(fx.home, runId), { recursive: true });
    await fs.writeFile(path.join(paths.caches(fx.home, runId), 'blob'), Buffer.alloc(64 * 1024, 1));
    await store.append(`${runId}/c1/judge`, 0, [{ role: 'user', content: 'judge this' }]);
    const { disk } = await tidy.tidyRun({ runId, mergedTaskIds: [], retentionHours: null });
    expect(disk.hubBytes).toBeGreaterThan(0);
    expect(disk.worktreesBytes).toBeGreaterThan(0);
    expect(disk.cachesBytes).toBeGreaterThanOrEqual(64 * 1024);
    expect(disk.transcriptsBytes).toBeGreaterThan(0);
    expect(disk.totalBytes).toBe(disk.hubBytes + disk.worktreesBytes + disk.cachesBytes + disk.transcriptsBytes);
    expect(disk.at).toBe(now);
  });

  test("a run's prepared environments count as its caches and go with removeRunCaches; another run's stay", async () => {
    const blob = Buffer.alloc(64 * 1024, 1);
    for (const id of [runId, 'run-other']) {
      await fs.mkdir(path.join(envPaths.key(fx.home, id, 'k1'), 'work', 'node_modules'), { recursive: true });
      await fs.writeFile(path.join(envPaths.key(fx.home, id, 'k1'), 'work', 'node_modules', 'dep.js'), blob);
      await fs.mkdir(path.dirname(envPaths.log(fx.home, id, 'k1')), { recursive: true });
      await fs.writeFile(envPaths.log(fx.home, id, 'k1'), '$ npm ci\n');
    }
    const { disk } = await tidy.tidyRun({ runId, mergedTaskIds: [], retentionHours: null });
    expect(disk.cachesBytes).toBeGreaterThanOrEqual(blob.length);

    const { freedBytes } = await tidy.removeRunCaches({ runId });
    expect(freedBytes).toBe(disk.cachesBytes);
    expect(await exists(envPaths.run(fx.home, runId))).toBe(false);
    expect(await exists(envPaths.log(fx.home, runId, 'k1'))).toBe(true); // the setup log is kept
    expect(await exists(path.join(envPaths.key(fx.home, 'run-other', 'k1'), 'work', 'node_modules', 'dep.js'))).toBe(
      true,
    );
    expect((await tidy.tidyRun({ runId, mergedTaskIds: [], retentionHours: null })).disk.cachesBytes).toBe(0);
    expect(await tidy.removeRunCaches({ runId })).toEqual({ freedBytes: 0 }); // idempotent
  });

  test("the run's workspaces directory goes with its last workspace", async () => {
    const runDir = paths.worktrees(fx.home, runId);
    await fx.acts.openWorkspace({ runId, taskId: 'a' });
    await fx.acts.openWorkspace({ runId, taskId: 'b', readOnly: true });
    await fx.acts.closeWorkspace({ runId, taskId: 'a' });
    expect(await fs.readdir(runDir)).toEqual(['b']);
    await fx.acts.closeWorkspace({ runId, taskId: 'b' });
    expect(await exists(runDir)).toBe(false);
    expect(await exists(path.dirname(runDir))).toBe(true); // other runs' directories live beside it
    // Closing again (a retried activity) is fine, and a new workspace makes the directory again.
    await fx.acts.closeWorkspace({ runId, taskId: 'b' });
    await fx.acts.openWorkspace({ runId, taskId: 'c' });
    expect(await fs.readdir(runDir)).toEqual(['c']);
  });
});
