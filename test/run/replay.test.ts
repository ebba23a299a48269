import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { REPLAY_DIR } from '../helpers/histories';

/**
 * Determinism: histories saved by the end-to-end tests (test/replay/<name>/*.json, committed) must replay against
 * today's workflow code. A failure here means a workflow change needs `patched()` or a new workflow type.
 */
describe('replay of saved histories', () => {
  const files = fs.existsSync(REPLAY_DIR)
    ? fs
        .readdirSync(REPLAY_DIR)
        .flatMap((d) => fs.readdirSync(path.join(REPLAY_DIR, d)).map((f) => path.join(REPLAY_DIR, d, f)))
    : [];

  it('has saved histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it('replays every saved history without a determinism error', async () => {
    const histories = files.map(
      (file) => JSON.parse(fs.readFileSync(file, 'utf8')) as { workflowId: string; history: unknown },
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
