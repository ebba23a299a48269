import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { paths, type LongrunConfig } from '../../src/config';
import { createWorkspaceActivities } from '../../src/activities/workspace';
import { ArtifactStore } from '../../src/store/artifacts';
import { readKnownRed } from '../../src/workspace/known-red';
import { bindRemote, readBinding, shownUrl } from '../../src/workspace/remote';
import { Integrator, type IntegratorOptions } from '../../src/workspace/integrator';
import { startGitDaemon, type GitDaemon } from '../helpers/git-daemon';
import { exists, firstParentLog, makeDir, makeUserRepo, userGit } from './fixtures';

/**
 * Two hosts sharing only a git remote (LONGRUN_HUB_URL): each has its own LONGRUN_HOME, so its own hub mirror,
 * workspaces and artifact store. The remote is a real `git daemon` on 127.0.0.1.
 */

interface Host {
  home: string;
  acts: ReturnType<typeof createWorkspaceActivities>;
  store: ArtifactStore;
  hub: (runId: string) => string;
}

function host(root: string, name: string, hubUrl: string, integrator?: IntegratorOptions): Host {
  const home = path.join(root, name);
  const config: LongrunConfig = { home, hubUrl, temporalAddress: 'unused:0', namespace: 'default', taskQueue: 'q' };
  const store = new ArtifactStore(paths.artifacts(home));
  const acts = createWorkspaceActivities({ config, store, integrator: new Integrator(integrator) });
  return { home, acts, store, hub: (runId) => paths.hub(home, runId) };
}

/** The run's refs on the remote: `name -> sha` under refs/longrun/runs/<runId>/. */
async function remoteRefs(url: string, runId: string, cwd: string): Promise<Map<string, string>> {
  const out = await userGit(cwd, 'ls-remote', url, `refs/longrun/runs/${runId}/*`);
  const prefix = `refs/longrun/runs/${runId}/`;
  return new Map(
    out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [sha, ref] = line.split('\t');
        return [ref.slice(prefix.length), sha] as [string, string];
      }),
  );
}

describe('remote hub over git://', () => {
  let daemon: GitDaemon;
  let root: string;
  let repo: string;

  beforeAll(async () => {
    daemon = await startGitDaemon();
  });
  afterAll(async () => {
    await daemon?.stop();
  });
  beforeEach(async () => {
    root = await makeDir('remote');
    repo = await makeUserRepo(root, { 'README.md': '# demo\n', 'shared.txt': 'one\n' });
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  test('a second host joins the run, resumes a task at the first host checkpoint, and both integrate', async () => {
    const url = await daemon.addRepo('join.git');
    const a = host(root, 'a', url);
    const b = host(root, 'b', url);
    const runId = 'run-join';

    const prepared = await a.acts.prepareHub({ runId, repo });
    const baseCommit = await userGit(repo, 'rev-parse', 'HEAD');
    expect(prepared.baseCommit).toBe(baseCommit);
    const onRemote = await remoteRefs(url, runId, root);
    expect(onRemote.get(`heads/longrun/${runId}`)).toBe(baseCommit);
    expect(onRemote.get(`meta/guard/heads/longrun/${runId}`)).toBe(baseCommit);
    expect(onRemote.get('meta/base')).toBe(baseCommit);

    // B has no mirror yet: its first entry point makes one from the remote.
    expect(await exists(b.hub(runId))).toBe(false);
    expect(await b.acts.targetTip({ runId })).toBe(baseCommit);
    expect(await exists(b.hub(runId))).toBe(true);
    // prepareHub again on B (a retried run activity) takes the remote's run as it is.
    expect((await b.acts.prepareHub({ runId, repo })).baseCommit).toBe(baseCommit);

    // A works on t1 and checkpoints; B (A lost) opens t1 and resumes there.
    const t1 = `${runId}/planner/t1`;
    const wsA = await a.acts.openWorkspace({ runId, taskId: t1 });
    await fs.writeFile(path.join(wsA.path, 'a.txt'), 'from host a\n');
    const { commit } = await a.acts.checkpointWorkspace({ runId, taskId: t1, message: 'wip on a' });
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect((await remoteRefs(url, runId, root)).get('heads/task/run-join_planner_t1')).toBe(commit);

    const wsB = await b.acts.openWorkspace({ runId, taskId: t1 });
    expect(wsB.resumedFrom).toBe(commit);
    expect(await fs.readFile(path.join(wsB.path, 'a.txt'), 'utf8')).toBe('from host a\n');

    // B finishes t1 while A does t2: both integrate at once, each from its own host.
    await fs.writeFile(path.join(wsB.path, 'b.txt'), 'finished on host b\n');
    const t2 = `${runId}/planner/t2`;
    const ws2 = await a.acts.openWorkspace({ runId, taskId: t2 });
    await fs.writeFile(path.join(ws2.path, 'c.txt'), 't2\n');
    const [r1, r2] = await Promise.all([
      b.acts.integrateTask({ runId, taskId: t1, title: 'one' }),
      a.acts.integrateTask({ runId, taskId: t2, title: 'two' }),
    ]);
    expect([r1.status, r2.status]).toEqual(['merged', 'merged']);

    // The remote's target is the truth, and both hosts read it.
    const tip = (await remoteRefs(url, runId, root)).get(`heads/longrun/${runId}`)!;
    expect(await a.acts.targetTip({ runId })).toBe(tip);
    expect(await b.acts.targetTip({ runId })).toBe(tip);
    const log = await firstParentLog(b.hub(runId), tip);
    expect(log.map((c) => c.trailer).sort()).toEqual(['', t1, t2].sort());
    expect(await userGit(b.hub(runId), 'show', `${tip}:a.txt`)).toBe('from host a');

    // Integrating again from the other host finds the task landed: exactly once.
    const again = await a.acts.integrateTask({ runId, taskId: t1, title: 'one' });
    expect(again.status).toBe('already-merged');
    expect((await remoteRefs(url, runId, root)).get(`heads/longrun/${runId}`)).toBe(tip);

    // Closing deletes the task branch on the remote, not only in the closing host's mirror.
    await b.acts.closeWorkspace({ runId, taskId: t1 });
    expect((await remoteRefs(url, runId, root)).has('heads/task/run-join_planner_t1')).toBe(false);
  });

  test('racing compare-and-swaps from two hosts: exactly one wins each round, both tasks land once', async () => {
    const url = await daemon.addRepo('race.git');
    // Both hosts' integrators merge onto the same tip, then wait for each other before the swap.
    const arrived: Array<() => void> = [];
    const barrier = new Promise<void>((resolve) => {
      let n = 0;
      arrived.push(
        () => ++n === 2 && resolve(),
        () => ++n === 2 && resolve(),
      );
    });
    const expectedSeen: string[] = [];
    const hook = (who: number): IntegratorOptions => ({
      beforeCas: async ({ attempt, expected }) => {
        if (attempt > 0) return;
        expectedSeen.push(expected);
        arrived[who]();
        await barrier;
      },
    });
    const a = host(root, 'a', url, hook(0));
    const b = host(root, 'b', url, hook(1));
    const runId = 'run-race';
    await a.acts.prepareHub({ runId, repo });

    const ta = `${runId}/planner/ta`;
    const tb = `${runId}/planner/tb`;
    const wa = await a.acts.openWorkspace({ runId, taskId: ta });
    const wb = await b.acts.openWorkspace({ runId, taskId: tb });
    await fs.writeFile(path.join(wa.path, 'ta.txt'), 'a\n');
    await fs.writeFile(path.join(wb.path, 'tb.txt'), 'b\n');
    const [ra, rb] = await Promise.all([
      a.acts.integrateTask({ runId, taskId: ta, title: 'a' }),
      b.acts.integrateTask({ runId, taskId: tb, title: 'b' }),
    ]);

    expect(expectedSeen).toHaveLength(2);
    expect(expectedSeen[0]).toBe(expectedSeen[1]); // both swapped from the same tip
    if (ra.status !== 'merged' || rb.status !== 'merged') throw new Error(`not merged: ${ra.status} ${rb.status}`);
    expect([ra.casRetries, rb.casRetries].sort()).toEqual([0, 1]); // one won, the other redid its merge once
    const tip = (await remoteRefs(url, runId, root)).get(`heads/longrun/${runId}`)!;
    const winner = ra.casRetries === 0 ? ra : rb;
    const loser = ra.casRetries === 0 ? rb : ra;
    expect(loser.targetTip).toBe(tip);
    expect(await a.acts.targetTip({ runId })).toBe(tip); // A's mirror synced: it may have been the winner
    expect(await userGit(a.hub(runId), 'rev-parse', `${tip}^1`)).toBe(winner.targetTip);
    const trailers = (await firstParentLog(a.hub(runId), tip)).map((c) => c.trailer);
    expect(trailers.filter((t) => t === ta)).toHaveLength(1);
    expect(trailers.filter((t) => t === tb)).toHaveLength(1);
    // The guard moved with the target on the remote.
    expect((await remoteRefs(url, runId, root)).get(`meta/guard/heads/longrun/${runId}`)).toBe(tip);
  });

  test('the known-red record and a checkpointed transcript written on one host are read on the other', async () => {
    const url = await daemon.addRepo('shared.git');
    const a = host(root, 'a', url);
    const b = host(root, 'b', url);
    const runId = 'run-shared';
    await a.acts.prepareHub({ runId, repo });

    const red = {
      id: 'deadbeef0123',
      command: 'npm test',
      outputTail: 'FAIL x.test.ts',
      suspects: ['t9'],
      fixer: null,
    };
    await a.acts.recordKnownRed({ runId, red });
    expect(await b.acts.claimKnownRed({ runId, id: red.id, fixer: { title: 'fix x', by: 'longrun' } })).toBe(true);
    await a.acts.targetTip({ runId }); // A syncs: it sees B's claim
    expect(await readKnownRed(a.hub(runId))).toEqual({ ...red, fixer: { title: 'fix x', by: 'longrun' as const } });
    await b.acts.recordKnownRed({ runId, red: null });
    expect(await a.acts.claimKnownRed({ runId, id: red.id, fixer: { title: 'late', by: 'longrun' } })).toBe(false);

    // A transcript saved at two checkpoints (the second adds entries), restored on B after A is gone.
    const taskId = `${runId}/planner/t1`;
    const transcriptId = `${runId}/c1/planner/t1`;
    await a.acts.openWorkspace({ runId, taskId });
    const entries = Array.from({ length: 5 }, (_, i) => ({ role: 'user' as const, content: `step ${i} ünïcode` }));
    await a.store.append(transcriptId, 0, entries.slice(0, 3));
    await a.acts.checkpointWorkspace({ runId, taskId, message: 'c1', transcript: { id: transcriptId, length: 3 } });
    await a.store.append(transcriptId, 3, entries.slice(3));
    await a.store.writeEntry(transcriptId, 5, { role: 'user', content: 'past the length: not saved' });
    await a.acts.checkpointWorkspace({ runId, taskId, message: 'c2', transcript: { id: transcriptId, length: 5 } });

    expect(await b.acts.restoreTranscript({ runId, taskId: 'nobody' })).toBeNull();
    // B already has entry 0 (say, from an earlier restore): it is left alone.
    await b.store.writeEntry(transcriptId, 0, entries[0]);
    const restored = await b.acts.restoreTranscript({ runId, taskId });
    expect(restored).toEqual({ id: transcriptId, length: 5 });
    expect(await b.store.read(restored!)).toEqual(entries);
    expect(b.store.hasEntry(transcriptId, 5)).toBe(false);
    for (let i = 0; i < 5; i++) {
      expect(await fs.readFile(b.store.entryFile(transcriptId, i), 'utf8')).toBe(
        await fs.readFile(a.store.entryFile(transcriptId, i), 'utf8'),
      );
    }

    // Compacted since: the conversation has a new transcript id, and the task's next checkpoint saves that one.
    const compacted = `${transcriptId}#1`;
    await a.store.append(compacted, 0, [entries[0], { role: 'user', content: 'summary of steps 1-4' }]);
    await a.acts.checkpointWorkspace({ runId, taskId, message: 'c3', transcript: { id: compacted, length: 2 } });
    expect(await b.acts.restoreTranscript({ runId, taskId })).toEqual({ id: compacted, length: 2 });
    expect((await b.store.read({ id: compacted, length: 2 }))[1].content).toBe('summary of steps 1-4');
  });
});

describe('remote hub at a plain path', () => {
  test('prepare, checkpoint and integrate on one host; the other reads the target and the branch', async () => {
    const root = await makeDir('remote-path');
    try {
      const repo = await makeUserRepo(root, { 'README.md': '# demo\n' });
      const remote = path.join(root, 'remote.git');
      const runId = 'run-path';
      // A remote that is not there yet (a typo, or not created): the fix is named, and nothing is left to undo.
      await expect(host(root, 'a', remote).acts.prepareHub({ runId, repo })).rejects.toMatchObject({
        type: 'InvalidHubUrl',
        nonRetryable: true,
        message: expect.stringContaining('create it (git init --bare) or point LONGRUN_HUB_URL at one'),
      });
      await expect(host(root, 'b', remote).acts.targetTip({ runId })).rejects.toMatchObject({ type: 'InvalidHubUrl' });
      await expect(fs.readdir(path.join(root, 'a', 'hubs'))).resolves.toEqual([]);
      await expect(fs.readdir(path.join(root, 'b', 'hubs'))).resolves.toEqual([]);
      await userGit(root, 'init', '--quiet', '--bare', remote);
      const a = host(root, 'a', remote);
      const b = host(root, 'b', remote);
      await a.acts.prepareHub({ runId, repo });
      const taskId = `${runId}/planner/t1`;
      const ws = await a.acts.openWorkspace({ runId, taskId });
      await fs.writeFile(path.join(ws.path, 'new.txt'), 'new\n');
      const result = await a.acts.integrateTask({ runId, taskId, title: 'new file' });
      if (result.status !== 'merged') throw new Error(`not merged: ${result.status}`);
      expect(await b.acts.targetTip({ runId })).toBe(result.targetTip);
      expect(await userGit(remote, 'rev-parse', `refs/longrun/runs/${runId}/heads/longrun/${runId}`)).toBe(
        result.targetTip,
      );
      expect(await b.acts.diffStat({ runId, from: 'refs/longrun/base' })).toContain('new.txt');

      // A worker of host B given another remote is told which one its mirror follows, before any git runs.
      const other = host(root, 'b', path.join(root, 'other.git'));
      await expect(other.acts.targetTip({ runId })).rejects.toMatchObject({
        type: 'InvalidHubUrl',
        message: expect.stringContaining(`mirrors ${remote}`),
      });
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  test('a mirror records its remote without the credentials in its URL (agents can read the hub)', async () => {
    expect(shownUrl('https://bot:s3cret@git.example.com/hub.git')).toBe('https://***@git.example.com/hub.git');
    expect(shownUrl('ssh://git@git.example.com/hub.git')).toBe('ssh://***@git.example.com/hub.git');
    expect(shownUrl('/srv/hub.git')).toBe('/srv/hub.git');
    const root = await makeDir('remote-bind');
    try {
      const hubPath = path.join(root, 'mirror.git');
      await userGit(root, 'init', '--quiet', '--bare', hubPath);
      await bindRemote(hubPath, { url: 'https://bot:s3cret@git.example.com/hub.git', runId: 'r' });
      const text = await fs.readFile(path.join(hubPath, 'longrun-remote.json'), 'utf8');
      expect(text).not.toContain('s3cret');
      expect(await readBinding(hubPath)).toEqual({ url: 'https://***@git.example.com/hub.git', runId: 'r' });
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
