import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalCli } from './temporal';

export const REPLAY_DIR = path.join(__dirname, '..', 'replay');

/**
 * Saves the histories of a run's tree under test/replay/<name>/ so replay.test.ts can check that today's workflow
 * code still replays them. Overwritten on each run; commit them when the workflows change on purpose.
 */
export async function saveHistories(
  env: TestWorkflowEnvironment,
  runId: string,
  name: string,
  limit = 12,
): Promise<number> {
  const dir = path.join(REPLAY_DIR, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  const seen = new Set<string>();
  for await (const wf of env.client.workflow.list({
    query: `WorkflowId = "${runId}" OR WorkflowId STARTS_WITH "${runId}/"`,
  })) {
    // One history per workflow type/kind is enough to cover the code paths; keep the set small.
    const kind = wf.workflowId === runId ? 'run' : wf.workflowId.replace(/\d+/g, 'N');
    const key = `${kind}:${wf.runId}`;
    if (seen.has(key) || n >= limit) continue;
    seen.add(key);
    const history = execFileSync(
      temporalCli(),
      ['workflow', 'show', '--address', env.address, '-w', wf.workflowId, '-r', wf.runId, '--output', 'json'],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
    );
    const file = path.join(
      dir,
      `${String(n++).padStart(2, '0')}-${wf.workflowId.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`,
    );
    fs.writeFileSync(file, JSON.stringify({ workflowId: wf.workflowId, history: JSON.parse(history) }));
  }
  return n;
}
