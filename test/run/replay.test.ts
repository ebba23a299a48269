import * as fs from 'node:fs';
import { Worker } from '@temporalio/worker';
import { savedHistoryFiles } from '../helpers/histories';

/**
 * Determinism across releases: the histories recorded for every released version (test/replay/<version>/<scenario>,
 * committed, written only by `npm run replay:record`) must replay against today's workflow code. A failure here means
 * a workflow change needs `patched()` (see docs/upgrading.md) or a new workflow type.
 */
describe('replay of saved histories', () => {
  const saved = savedHistoryFiles();
  const versions = [...new Set(saved.map((s) => s.version))];

  it('has histories of released versions to replay', () => {
    expect(saved.length).toBeGreaterThan(0);
    // v0.1.0 and v0.2.0 at least: today's code must replay what both releases recorded.
    expect(versions).toEqual(expect.arrayContaining(['v0.1.0', 'v0.2.0']));
  });

  it.each(versions)('replays every saved history of %s without a determinism error', async (version) => {
    const files = saved.filter((s) => s.version === version);
    const histories = files.map(
      (s) => JSON.parse(fs.readFileSync(s.file, 'utf8')) as { workflowId: string; history: unknown },
    );
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: process.env.LONGRUN_TEST_WORKFLOW_BUNDLE! } },
      histories.map((h) => ({ workflowId: h.workflowId, history: h.history })),
    );
    const failures: string[] = [];
    let n = 0;
    for await (const r of results) {
      n++;
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(n).toBe(files.length);
  });
});
